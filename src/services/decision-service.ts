import type { AlarmMetrics } from '../adapters/alarm-metrics';
import type { ApprovalStore } from '../adapters/approval-store';
import type { TaskCallback } from '../adapters/task-callback';
import {
  type ApprovalRecord,
  approvalsRequired,
  type Decider,
  type Decision,
  type DecisionOutput,
} from '../domain/approval';
import { checkSelfApproval, type DeciderIdentity, type IdentityMap } from '../domain/approvers';
import {
  type Attribution,
  type AttributionSettings,
  attributeFromEvent,
  NO_ATTRIBUTION_SETTINGS,
} from '../domain/attribution';
import type { Logger } from '../logger';
import { decisionHeadline } from '../slack/messages/approval-message';
import type { ApprovalChannel } from './approval-channel';
import type { AttributionService } from './attribution-service';
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
  /**
   * `record` is the approval being decided: a directory whose approvers depend on the change's account
   * (per-OU and per-account settings) looks at its account; others ignore it.
   */
  lookUp(deciderId: string, record?: ApprovalRecord): Promise<DirectoryEntry>;
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
  /**
   * The caller redraws the message itself once it is done (an "Approve all" click decides many changes
   * of one message, and redraws it once); the decision's thread line is still queued.
   */
  readonly deferDisplay?: boolean;
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
  | { status: 'self-approval'; reason: string; record: ApprovalRecord; decider: DeciderIdentity }
  /** An approval counted while more are needed ("1 of 2 approvals"); the change stays quarantined. */
  | { status: 'approval-counted'; record: ApprovalRecord; output: DecisionOutput; required: number }
  /** The same person approving again: a second approval must come from someone else. */
  | { status: 'duplicate-approval'; reason: string; record: ApprovalRecord; decider: DeciderIdentity };

/**
 * What a channel may approve: `deny-only` never approves; `single-approver` approves only a change that
 * needs one approver (a change that needs two people cannot be approved by one mailbox).
 */
export type ChannelLimit = 'deny-only' | 'single-approver';

export interface DecisionServiceOptions {
  /** Limits per channel beyond its directory; a channel without one decides as its directory allows. */
  readonly channelLimits?: Partial<Record<Decider['channel'], ChannelLimit>>;
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
  /** Checks the record's seals before anyone decides, and seals the approvals and decision taken. */
  readonly seals: RecordSeals;
  /** The metric the critical-alert alarm watches (a record changed outside PolicyGate). */
  readonly metrics?: AlarmMetrics;
  /**
   * The operator's role declarations, for a record that has no attribution yet (written before PolicyGate
   * attributed changes): it is then attributed from its event alone, conservatively.
   */
  readonly attribution?: AttributionSettings;
  /**
   * Asks the trail again, at an approval, about a change left unattributed because CloudTrail had not made
   * its `AssumeRole` searchable yet (it takes minutes); bounded by `reattributionTimeoutMs`. Absent = never.
   */
  readonly reattributor?: AttributionService;
  /** How long an approval click waits for that (default 1,500 ms, within Slack's 3 seconds). */
  readonly reattributionTimeoutMs?: number;
  readonly now?: () => Date;
}

/** A record's attribution, or for a record without one, what its event alone says (never a chain search). */
export function attributionOf(record: ApprovalRecord, settings: AttributionSettings): Attribution {
  return record.reattribution ?? record.attribution ?? attributeFromEvent(record.change.actor, settings);
}

/** Whether two deciders are the same person: the same channel id. */
function sameDecider(a: Decider, b: Decider): boolean {
  return a.channel === b.channel && a.id === b.id;
}

/** How many times a decision re-reads the record after losing a race on its conditional write. */
const MAX_DECISION_ATTEMPTS = 3;

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
    let record = await this.store.get(approvalId);
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
      ? await directory.lookUp(request.id, record)
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
    // What the decider was shown must be what AnalyseChange recorded (and what earlier clicks counted): a
    // record edited in the table is never decided on; the change stays quarantined until it expires.
    const tampered = await this.tampered(record);
    if (tampered) return tampered;
    // An attribution found now is kept in memory and stored, sealed, only with what this click writes.
    const fresh = decision === 'APPROVED' ? await this.reattributed(record) : undefined;
    if (fresh) record = { ...record, reattribution: fresh };
    const attribution = attributionOf(record, this.options.attribution ?? NO_ATTRIBUTION_SETTINGS);
    if (decision === 'APPROVED') {
      const self = checkSelfApproval(record.change.actor, identity, this.options.identityMap, attribution);
      if (self.verdict !== 'different-person') {
        this.logger.warn('decision refused: self-approval', {
          approvalId,
          decider: identity.id,
          verdict: self.verdict,
        });
        return { status: 'self-approval', reason: self.reason, record, decider: identity };
      }
    }
    const decider: Decider = { id: identity.id, name: identity.name, channel: request.channel };
    const required = approvalsRequired({ ...record, attribution });
    const limit = Object.hasOwn(this.options.channelLimits ?? {}, request.channel)
      ? this.options.channelLimits?.[request.channel]
      : undefined;
    const limited =
      decision === 'APPROVED' &&
      (limit === 'deny-only'
        ? `approving through ${request.channel} is switched off for this stage; deny here, or approve in Slack`
        : limit === 'single-approver' && required > 1
          ? `this change needs ${required} different approvers, so it cannot be approved through ${request.channel}; approve it in Slack (denying here is allowed)`
          : undefined);
    if (limited) {
      this.logger.warn('decision refused: channel limit', { approvalId, channel: request.channel, limit });
      return { status: 'unauthorised', reason: limited, record, decider: identity };
    }
    let current = record;
    let moved: Awaited<ReturnType<ApprovalStore['transition']>> | undefined;
    let output: DecisionOutput | undefined;
    for (let attempt = 1; attempt <= MAX_DECISION_ATTEMPTS && !moved?.ok; attempt++) {
      if (attempt > 1 && current.status === 'PENDING') {
        // Another click wrote first: what it wrote counts only under its seal.
        const changed = await this.tampered(current);
        if (changed) return changed;
        if (fresh && current.reattribution === undefined) current = { ...current, reattribution: fresh };
      }
      if (current.status !== 'PENDING') {
        return current.status === 'EXPIRED'
          ? { status: 'expired', record: current }
          : { status: 'already-decided', record: current };
      }
      const now = this.now();
      if (now.getTime() >= new Date(current.deadline).getTime())
        return { status: 'expired', record: current };
      if (!current.taskToken) return { status: 'not-ready', record: current };
      output = { decision, decidedBy: decider, decidedAt: now.toISOString(), approvalId };
      const approvals = current.approvals ?? [];
      if (decision === 'APPROVED' && approvals.some((a) => sameDecider(a.decidedBy, decider))) {
        this.logger.warn('decision refused: second approval by the same approver', {
          approvalId,
          decider: identity.id,
        });
        return {
          status: 'duplicate-approval',
          reason: `you already approved this change, and it needs ${required} different approvers`,
          record: current,
          decider: identity,
        };
      }
      if (decision === 'APPROVED' && approvals.length + 1 < required) {
        // Not enough yet: the approval is counted (conditionally on the count read) and the workflow waits.
        const reattribution = current.reattribution;
        const approvalsSeal = await this.options.seals.sealApprovals(
          current,
          [...approvals, output],
          reattribution,
        );
        const counted = await this.store.addApproval(approvalId, output, approvals.length, {
          approvalsSeal,
          ...(reattribution && { reattribution }),
        });
        if (!counted.ok) {
          if (!counted.current) return { status: 'not-found' };
          current = counted.current;
          continue;
        }
        this.logger.info('approval counted', {
          approvalId,
          decider: decider.id,
          approvals: approvals.length + 1,
          required,
        });
        await this.showCount(counted.record, approvals.length + 1, required, request.deferDisplay);
        return { status: 'approval-counted', record: counted.record, output, required };
      }
      // A Deny ends it at once; the last approval is one conditional write on the count read, so two
      // concurrent second approvals cannot both count.
      const decisionSeal = await this.options.seals.sealDecision(current, output);
      moved = await this.store.transition(
        approvalId,
        decision,
        {
          decision: output,
          decisionSeal,
          ...(current.reattribution && { reattribution: current.reattribution }),
        },
        {
          from: ['PENDING'],
          // On the count read, whatever the rule: the decision seal covers the approvals before it.
          approvalsBefore: approvals.length,
        },
      );
      if (!moved.ok) {
        if (!moved.current) return { status: 'not-found' };
        current = moved.current;
      }
    }
    if (!moved?.ok || !output) {
      return current.status === 'EXPIRED'
        ? { status: 'expired', record: current }
        : { status: 'already-decided', record: current };
    }
    const { display } = this.options;
    if (display && request.deferDisplay && display.queueNote && moved.record.slackMessage) {
      try {
        if (moved.record.decision)
          await display.queueNote(moved.record, decisionHeadline(moved.record.decision), true);
      } catch (error) {
        this.logger.warn('decision not queued for the Slack thread', { approvalId, error });
      }
    } else if (display) {
      try {
        const shown = await display.showDecision(moved.record);
        // A request Slack never got (it was down) now has its message: later steps update that one.
        if (!moved.record.slackMessage) await this.store.setSlackMessage(approvalId, shown);
      } catch (error) {
        this.logger.warn('decision not shown in Slack', { approvalId, error });
      }
    }
    let rejection: Awaited<ReturnType<TaskCallback['sendSuccess']>>;
    const taskToken = moved.record.taskToken ?? current.taskToken;
    try {
      if (!taskToken) throw new Error('the approval lost its task token');
      rejection = await this.callback.sendSuccess(taskToken, output);
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

  /**
   * A fresh attribution when the change was left unattributed only because the trail had not answered,
   * nobody has approved it yet, and the trail now names someone; else `undefined`.
   * Never throws and never waits longer than its timeout: the change then simply stays unattributed.
   */
  private async reattributed(record: ApprovalRecord): Promise<Attribution | undefined> {
    const { reattributor } = this.options;
    const current = record.reattribution ?? record.attribution;
    if (!reattributor || current?.method !== 'unattributed' || !current.retryable) return undefined;
    if (record.status !== 'PENDING' || (record.approvals?.length ?? 0) > 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.options.reattributionTimeoutMs ?? 1_500);
      });
      const fresh = await Promise.race([reattributor.attribute(record.change), timeout]);
      if (!fresh || fresh.method === 'unattributed') return undefined;
      this.logger.info('change attributed at approval', {
        approvalId: record.approvalId,
        method: fresh.method,
      });
      return fresh;
    } catch (error) {
      this.logger.warn('re-attribution failed; the change stays unattributed', {
        approvalId: record.approvalId,
        error,
      });
      return undefined;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** `tampered` (logged as an error) unless the record's seals verify as a decision needs them. */
  private async tampered(record: ApprovalRecord): Promise<DecisionResult | undefined> {
    const sealed = await this.options.seals.check(record, { quarantine: true });
    if (sealed.ok) return undefined;
    this.logger.error('decision refused: the approval record was changed outside PolicyGate', {
      approvalId: record.approvalId,
      problem: sealed.problem,
    });
    this.options.metrics?.count('SelfProtectionAlerts');
    return { status: 'tampered', record, reason: sealed.problem };
  }

  /**
   * Shows "n of m approvals" in Slack; its failure never stops a decision. The message is updated at once
   * (unless the caller redraws it, `deferred`); the thread line is queued where the channel can, so the
   * click never waits on the channel's posting limit.
   */
  private async showCount(
    record: ApprovalRecord,
    count: number,
    required: number,
    deferred = false,
  ): Promise<void> {
    const { display } = this.options;
    if (!display) return;
    const last = record.approvals?.at(-1);
    const by = last ? `${last.decidedBy.name} (${last.decidedBy.id})` : 'an approver';
    const line = `Approved by ${by}: ${count} of ${required} approvals. The change stays quarantined until a different approver approves it too; one Deny ends it.`;
    try {
      if (display.queueNote && record.slackMessage) {
        if (!deferred) await display.showState(record);
        await display.queueNote(record, line);
      } else {
        await display.showState(record, line);
      }
    } catch (error) {
      this.logger.warn('approval count not shown in Slack', { approvalId: record.approvalId, error });
    }
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
