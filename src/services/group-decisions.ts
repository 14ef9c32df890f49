import type { Decision } from '../domain/approval';
import { inlineCode } from '../slack/messages/mrkdwn';
import type { DecisionRequest, DecisionResult, DecisionService } from './decision-service';

/** How one change of an "Approve all" / "Deny all" click ended, as its summary line says it. */
export type GroupMemberOutcome =
  | 'approved'
  | 'denied'
  | 'needs-second-approver'
  | 'self-approval'
  | 'already-decided'
  | 'refused'
  | 'failed';

export interface GroupMemberResult {
  readonly approvalId: string;
  readonly outcome: GroupMemberOutcome;
  /** The decision service's own result, for the caller's message updates and audit lines. */
  readonly result?: DecisionResult;
}

/** What one all-click did, change by change; changes shown in another message are left out. */
export interface GroupDecisionSummary {
  readonly results: readonly GroupMemberResult[];
}

function outcomeOf(result: DecisionResult, decision: Decision): GroupMemberOutcome {
  switch (result.status) {
    case 'recorded':
      return decision === 'APPROVED' ? 'approved' : 'denied';
    case 'approval-counted':
      return 'needs-second-approver';
    case 'self-approval':
      return 'self-approval';
    case 'already-decided':
    case 'expired':
      return 'already-decided';
    case 'undelivered':
      return 'failed';
    default:
      return 'refused';
  }
}

/**
 * Decides each of `memberIds` (the members a group message listed in the clicked version) one by one,
 * through the same {@link DecisionService.decide} as a click on the change's own buttons: the same
 * authorisation, seals, self-approval and two-approver rules and the same exactly-once write, per change.
 * A member whose recorded message is not the clicked one (`request.origin`) is another message's to
 * decide and is left out of the summary. A failure on one change never stops the others.
 */
export async function decideGroup(
  decisions: Pick<DecisionService, 'decide'>,
  memberIds: readonly string[],
  decision: Decision,
  request: DecisionRequest & { readonly origin: NonNullable<DecisionRequest['origin']> },
): Promise<GroupDecisionSummary> {
  const results: GroupMemberResult[] = [];
  for (const approvalId of new Set(memberIds)) {
    let result: DecisionResult;
    try {
      result = await decisions.decide(approvalId, decision, request);
    } catch {
      results.push({ approvalId, outcome: 'failed' });
      continue;
    }
    if (result.status === 'wrong-message' || result.status === 'not-found') continue;
    results.push({ approvalId, outcome: outcomeOf(result, decision), result });
  }
  return { results };
}

const OUTCOME_TEXT: Readonly<Record<GroupMemberOutcome, string>> = {
  approved: 'approved',
  denied: 'denied',
  'needs-second-approver': 'your approval is counted; a different approver must approve it too',
  'self-approval': 'refused: you made this change (another approver must approve it; you may deny it)',
  'already-decided': 'already decided, nothing changed',
  refused: 'refused, nothing changed',
  failed: 'not taken (PolicyGate could not complete it); try its own buttons',
};

/** The private reply to an all-click: one line per change, ≤ 3,000 characters. */
export function groupSummaryReply(summary: GroupDecisionSummary): string {
  if (summary.results.length === 0)
    return 'No change listed in this message could be decided. Nothing changed.';
  const lines = summary.results.map(
    (r, i) => `${i + 1}. approval ${inlineCode(r.approvalId, 130)}: ${OUTCOME_TEXT[r.outcome]}`,
  );
  let text = lines.join('\n');
  if (text.length > 3_000)
    text = `${text.slice(0, 2_950).replace(/\n[^\n]*$/, '')}\n… and more (see each change's thread).`;
  return text;
}
