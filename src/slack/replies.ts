import type { ApprovalRecord, Decision } from '../domain/approval';
import { SLACK_USER_ID } from '../domain/approvers';
import { PolicyGateError, SlackApiError } from '../errors';
import type { DecisionResult } from '../services/decision-service';
import { decisionHeadline } from './messages/approval-message';
import { plainText } from './messages/mrkdwn';

/**
 * The one place that turns a decision attempt (or its failure) into what Slack users read: the private
 * reply to the person who clicked, and the audit line for the request's thread. Nothing here may carry a
 * token or secret; error details are PolicyGate's own messages only.
 */

const VERB: Record<Decision, string> = { APPROVED: 'approve', DENIED: 'deny' };

/** The private reply for a decision attempt; `undefined` when the updated message says it all. */
export function replyFor(result: DecisionResult, approvalId: string): string | undefined {
  switch (result.status) {
    case 'recorded':
      return undefined;
    case 'already-decided':
      return `${alreadyDecided(result.record)} Nothing changed.`;
    case 'expired':
      return `This request expired (deadline ${result.record.deadline}): the change stays quarantined and can no longer be approved. Nothing changed.`;
    case 'not-ready':
      return 'This request is still being set up. Try again in a few seconds; nothing changed.';
    case 'not-found':
      return `PolicyGate has no approval ${plainText(approvalId)}. Nothing changed.`;
    case 'wrong-message':
      return `You cannot decide here: ${plainText(result.reason)}. Use the buttons on the request's own message. Nothing changed.`;
    case 'undelivered':
      return `Your decision was recorded, but PolicyGate could not hand it to the workflow (${plainText(result.reason)}). The change stays quarantined; tell the PolicyGate operators.`;
    case 'unauthorised':
      return `You cannot decide on this request: ${plainText(result.reason)}. Nothing changed.`;
    case 'self-approval':
      return `You cannot approve this change: ${plainText(result.reason)}. Another approver must approve it (you may deny it). Nothing changed.`;
    case 'tampered':
      return 'PolicyGate cannot take a decision on this request: its record was changed outside PolicyGate. The change stays quarantined; the PolicyGate operators have been alerted. Nothing changed.';
    case 'approval-counted':
      return `Your approval is counted: ${result.record.approvals?.length ?? 1} of ${result.required} approvals. The change stays quarantined until a different approver approves it too.`;
    case 'duplicate-approval':
      return `You cannot approve this change again: ${plainText(result.reason)}. Nothing changed.`;
  }
}

/**
 * The thread's audit line for an attempt that changed nothing but should be on record. `userId` is only
 * ever mentioned when it is a Slack user id: nothing else from a payload reaches mrkdwn.
 */
export function auditFor(result: DecisionResult, userId: string, decision: Decision): string | undefined {
  const who = SLACK_USER_ID.test(userId) && userId.length <= 32 ? `<@${userId}>` : 'Someone';
  switch (result.status) {
    case 'unauthorised':
    case 'self-approval':
      return `${who} tried to ${VERB[decision]}: refused (${plainText(result.reason)}).`;
    case 'wrong-message':
      return `${who} tried to ${VERB[decision]} from another message: refused (${plainText(result.reason)}).`;
    case 'duplicate-approval':
      return `${who} tried to ${VERB[decision]}: refused (${plainText(result.reason)}).`;
    case 'undelivered':
      return `${decisionHeadline(result.output)}, but the workflow could not be resumed (${plainText(result.reason)}).`;
    case 'tampered':
      return `${who} tried to ${VERB[decision]}: refused, because the approval record was changed outside PolicyGate. The change stays quarantined.`;
    default:
      return undefined;
  }
}

/** The private reply when the attempt failed before anything was stored. */
export function replyForError(error: unknown): string {
  if (error instanceof SlackApiError) {
    return `PolicyGate could not check your Slack account (${plainText(error.code)}). Nothing changed; try again.`;
  }
  if (error instanceof PolicyGateError) {
    return `PolicyGate could not take your decision (${plainText(error.message)}). Nothing changed; try again.`;
  }
  return 'PolicyGate could not take your decision (an internal error; it is logged). Nothing changed; try again.';
}

/** "Already approved by @x at …" for the loser of a race, or the status when nobody decided. */
function alreadyDecided(record: ApprovalRecord): string {
  if (record.decision) return `Already decided: ${decisionHeadline(record.decision)}.`;
  return `This request is already ${record.status.toLowerCase()}.`;
}
