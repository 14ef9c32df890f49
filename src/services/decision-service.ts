import type { ApprovalStore } from '../adapters/approval-store';
import type { TaskCallback } from '../adapters/task-callback';
import type { ApprovalRecord, Decider, Decision, DecisionOutput } from '../domain/approval';
import type { Logger } from '../logger';

/** How a decision attempt ended; every channel (Slack, e-mail) turns this into its own reply. */
export type DecisionResult =
  | { status: 'recorded'; record: ApprovalRecord; output: DecisionOutput }
  | { status: 'already-decided'; record: ApprovalRecord }
  | { status: 'expired'; record: ApprovalRecord }
  | { status: 'not-ready'; record: ApprovalRecord }
  | { status: 'not-found' };

/**
 * Takes a decision exactly once, for every channel: a conditional write moves PENDING → APPROVED/DENIED
 * (so of two concurrent clicks one wins and the other learns who decided first), then the waiting
 * workflow is resumed with `SendTaskSuccess`. A token the workflow no longer accepts (deadline passed)
 * marks the approval EXPIRED: an expired request can never be approved.
 * Authorising the decider is the caller's job (it knows the channel's identities).
 */
export class DecisionService {
  constructor(
    private readonly store: ApprovalStore,
    private readonly callback: TaskCallback,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async decide(approvalId: string, decision: Decision, decider: Decider): Promise<DecisionResult> {
    const record = await this.store.get(approvalId);
    if (!record) return { status: 'not-found' };
    if (record.status !== 'PENDING') {
      return record.status === 'EXPIRED'
        ? { status: 'expired', record }
        : { status: 'already-decided', record };
    }
    const now = this.now();
    if (now.getTime() >= new Date(record.deadline).getTime()) return { status: 'expired', record };
    if (!record.taskToken) return { status: 'not-ready', record };

    const output: DecisionOutput = { decision, decidedBy: decider, decidedAt: now.toISOString(), approvalId };
    const moved = await this.store.transition(
      approvalId,
      decision,
      { decision: output },
      { from: ['PENDING'] },
    );
    if (!moved.ok) {
      if (!moved.current) return { status: 'not-found' };
      return moved.current.status === 'EXPIRED'
        ? { status: 'expired', record: moved.current }
        : { status: 'already-decided', record: moved.current };
    }
    const rejection = await this.callback.sendSuccess(record.taskToken, output);
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
