import type { ApprovalStore } from '../adapters/approval-store';
import type { TaskCallback } from '../adapters/task-callback';
import type { ApprovalRecord, Decider, Decision, DecisionOutput } from '../domain/approval';
import { checkSelfApproval, type DeciderIdentity, type IdentityMap } from '../domain/approvers';
import type { Logger } from '../logger';
import type { ApprovalChannel } from './approval-channel';
import type { RecordSeals } from './record-seals';

/** What a channel's directory says about a would-be decider. */
export type DirectoryEntry =
  | { readonly approver: true; readonly identity: DeciderIdentity }
  | { readonly approver: false; readonly reason: string; readonly identity?: DeciderIdentity };

/**
 * A channel's view of its people: whether someone is a configured approver, and who they are (name and
 * verified e-mail, for the self-approval check). Slack's reads `users.info` and `usergroups.users.list`.
 */
export interface ApproverDirectory {
  lookUp(deciderId: string): Promise<DirectoryEntry>;
}

/** Who is trying to decide, as the channel received it (a Slack user id, an e-mail link's recipient). */
export interface DecisionRequest {
  readonly channel: Decider['channel'];
  readonly id: string;
  /**
   * The Slack message the click was made in. When given, it must be the message recorded for the
   * approval: a button value copied into another message, or a click naming another approval, decides
   * nothing.
   */
  readonly origin?: { readonly channel: string; readonly ts: string };
}

/** How a decision attempt ended; every channel (Slack, e-mail) turns this into its own reply. */
export type DecisionResult =
  | { status: 'recorded'; record: ApprovalRecord; output: DecisionOutput }
  | { status: 'already-decided'; record: ApprovalRecord }
  | { status: 'expired'; record: ApprovalRecord }
  | { status: 'not-ready'; record: ApprovalRecord }
  | { status: 'not-found' }
  /** The click did not come from the approval's own Slack message (or it has none). */
  | { status: 'wrong-message'; reason: string; record: ApprovalRecord }
  /** Stored, but the workflow could not be resumed: it keeps waiting and the change stays quarantined. */
  | { status: 'undelivered'; record: ApprovalRecord; output: DecisionOutput; reason: string }
  | { status: 'unauthorised'; reason: string; record: ApprovalRecord; decider?: DeciderIdentity }
  /** The record's seals do not verify: it was changed outside PolicyGate; nobody may decide on it. */
  | { status: 'tampered'; record: ApprovalRecord; reason: string }
  | { status: 'self-approval'; reason: string; record: ApprovalRecord; decider: DeciderIdentity };

export interface DecisionServiceOptions {
  /** One directory per channel; a channel without one cannot decide (fail closed). */
  readonly directories: Partial<Record<Decider['channel'], ApproverDirectory>>;
  /** The operator's IAM-to-Slack mapping for the self-approval check. */
  readonly identityMap: IdentityMap;
  /**
   * Where the request is shown (Slack), whatever channel the decision came through. The decision is
   * shown there after it is stored and before the workflow is resumed, so "Approved by …" always
   * precedes what the workflow's next step shows ("Restored"). Its failure never stops a decision.
   */
  readonly display?: ApprovalChannel;
  /** Checks the record's seals before anyone decides, and seals the decision taken. */
  readonly seals: RecordSeals;
  readonly now?: () => Date;
}

/**
 * Takes a decision exactly once, for every channel:
 * 1. the decider must be a configured approver of that channel (its {@link ApproverDirectory} says so);
 * 2. nobody approves their own change ({@link checkSelfApproval}; denying it is allowed: it only keeps the
 *    change quarantined);
 * 3. the record's seals must verify (what was shown is what AnalyseChange recorded); the decision is
 *    sealed with the deciding function's key, chained to them;
 * 4. a conditional write moves PENDING → APPROVED/DENIED, so of two concurrent clicks one wins and the
 *    other learns who decided first;
 * 5. the waiting workflow is resumed with `SendTaskSuccess`. A token the workflow no longer accepts
 *    (deadline passed) marks the approval EXPIRED: an expired request can never be approved.
 */
export class DecisionService {
  private readonly now: () => Date;

  constructor(
    private readonly store: ApprovalStore,
    private readonly callback: TaskCallback,
    private readonly logger: Logger,
    private readonly options: DecisionServiceOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async decide(approvalId: string, decision: Decision, request: DecisionRequest): Promise<DecisionResult> {
    const record = await this.store.get(approvalId);
    if (!record) return { status: 'not-found' };
    const wrongMessage = request.origin && wrongOrigin(record, request.origin);
    if (wrongMessage) {
      this.logger.warn('decision refused: click not on the request’s own message', {
        approvalId,
        decider: request.id,
        channel: request.origin?.channel,
        messageTs: request.origin?.ts,
        reason: wrongMessage,
      });
      return { status: 'wrong-message', reason: wrongMessage, record };
    }

    const directory = Object.hasOwn(this.options.directories, request.channel)
      ? this.options.directories[request.channel]
      : undefined;
    const entry: DirectoryEntry = directory
      ? await directory.lookUp(request.id)
      : { approver: false, reason: `decisions through ${request.channel} are not enabled` };
    if (!entry.approver) {
      this.logger.warn('decision refused: not an approver', {
        approvalId,
        decider: request.id,
        channel: request.channel,
        reason: entry.reason,
      });
      return {
        status: 'unauthorised',
        reason: entry.reason,
        record,
        ...(entry.identity && { decider: entry.identity }),
      };
    }
    const identity = entry.identity;
    if (decision === 'APPROVED') {
      const self = checkSelfApproval(record.change.actor, identity, this.options.identityMap);
      if (self.verdict !== 'different-person') {
        this.logger.warn('decision refused: self-approval', {
          approvalId,
          decider: identity.id,
          verdict: self.verdict,
        });
        return { status: 'self-approval', reason: self.reason, record, decider: identity };
      }
    }
    if (record.status !== 'PENDING') {
      return record.status === 'EXPIRED'
        ? { status: 'expired', record }
        : { status: 'already-decided', record };
    }
    const now = this.now();
    if (now.getTime() >= new Date(record.deadline).getTime()) return { status: 'expired', record };
    if (!record.taskToken) return { status: 'not-ready', record };

    // What the decider was shown must be what AnalyseChange recorded: a record edited in the table is
    // never decided on (the change stays quarantined until it expires).
    const sealed = await this.options.seals.check(record, { quarantine: true });
    if (!sealed.ok) {
      this.logger.error('decision refused: the approval record was changed outside PolicyGate', {
        approvalId,
        problem: sealed.problem,
      });
      return { status: 'tampered', record, reason: sealed.problem };
    }
    const decider: Decider = { id: identity.id, name: identity.name, channel: request.channel };
    const output: DecisionOutput = { decision, decidedBy: decider, decidedAt: now.toISOString(), approvalId };
    const decisionSeal = await this.options.seals.sealDecision(record, output);
    const moved = await this.store.transition(
      approvalId,
      decision,
      { decision: output, decisionSeal },
      { from: ['PENDING'] },
    );
    if (!moved.ok) {
      if (!moved.current) return { status: 'not-found' };
      return moved.current.status === 'EXPIRED'
        ? { status: 'expired', record: moved.current }
        : { status: 'already-decided', record: moved.current };
    }
    if (this.options.display) {
      try {
        const shown = await this.options.display.showDecision(moved.record);
        // A request Slack never got (it was down) now has its message: later steps update that one.
        if (!moved.record.slackMessage) await this.store.setSlackMessage(approvalId, shown);
      } catch (error) {
        this.logger.warn('decision not shown in Slack', { approvalId, error });
      }
    }
    let rejection: Awaited<ReturnType<TaskCallback['sendSuccess']>>;
    try {
      rejection = await this.callback.sendSuccess(record.taskToken, output);
    } catch (error) {
      // The decision stands in the record, but the workflow never heard it: it keeps waiting and, at the
      // deadline, records an expiry. The change stays quarantined meanwhile (fail closed).
      this.logger.error('decision stored but the workflow could not be resumed', { approvalId, error });
      const reason = error instanceof Error ? error.message : String(error);
      return { status: 'undelivered', record: moved.record, output, reason };
    }
    if (rejection) {
      const expired = await this.store.transition(
        approvalId,
        'EXPIRED',
        {
          outcome: {
            result: 'EXPIRED',
            at: this.now().toISOString(),
            detail: `decision arrived too late (${rejection})`,
          },
        },
        { from: [decision] },
      );
      this.logger.warn('decision arrived after the workflow moved on', { approvalId, rejection });
      return { status: 'expired', record: expired.ok ? expired.record : (expired.current ?? moved.record) };
    }
    this.logger.info('decision recorded', {
      approvalId,
      decision,
      decider: decider.id,
      channel: decider.channel,
    });
    return { status: 'recorded', record: moved.record, output };
  }
}

/** Why a click's message is not the approval's recorded one; `undefined` when it is. */
function wrongOrigin(
  record: ApprovalRecord,
  origin: NonNullable<DecisionRequest['origin']>,
): string | undefined {
  const shown = record.slackMessage;
  if (!shown) return 'this request has no Slack message of its own to decide from';
  if (shown.channel !== origin.channel || shown.ts !== origin.ts) {
    return 'this button is not on the request’s own Slack message';
  }
  return undefined;
}
