import type { AlarmMetrics } from '../adapters/alarm-metrics';
import type { Notifier } from '../adapters/notifier';
import { PolicyGateError } from '../errors';
import type { Logger } from '../logger';
import type { OrganizationDirectory } from './organization-directory';
import type { SweepReport, SweepService } from './sweep-service';

/**
 * Where the rotation through the member accounts stands: the last member account swept (the next run
 * starts after it; none = the start of a cycle), when the current cycle began, and whether its lateness was
 * already alerted (once per cycle; the alarm's metric is counted at every late run).
 */
export interface SweepCursorState {
  readonly after?: string;
  /** ISO 8601. */
  readonly cycleStartedAt?: string;
  readonly overdueAlerted?: boolean;
}

/** The persisted rotation (one item of the sweep's table). */
export interface SweepCursor {
  load(): Promise<SweepCursorState>;
  save(state: SweepCursorState): Promise<void>;
}

export interface OrganizationSweepDependencies {
  /** The central account's sweep (dead letters, trails, its own grants). */
  readonly central: SweepService;
  readonly directory: OrganizationDirectory;
  readonly centralAccountId: string;
  /** A member account's sweep, through the member role assumed there. */
  readonly memberSweep: (accountId: string) => Promise<SweepService>;
  readonly cursor: SweepCursor;
  /** At most this many member accounts per run; the next run carries on after the last one. */
  readonly maxAccountsPerRun: number;
  /**
   * A run stops starting member accounts once this much time has passed since it began (the central
   * sweep included), so it ends within the function's timeout with the cursor saved; at least one member
   * account is swept per run all the same, so every run makes progress.
   */
  readonly runBudgetMs: number;
  /** A cycle through every member account taking longer than this is alarmed (`SweepCycleOverdue`). */
  readonly cycleMaxSeconds: number;
  readonly metrics: AlarmMetrics;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Where the rotation through every member account stands after a run. */
export interface SweepCycleReport {
  /** When the cycle this run belonged to began (ISO 8601). */
  readonly startedAt: string;
  /** This run swept the last member account: every member account was swept since `startedAt`. */
  readonly completed: boolean;
  /** How long the cycle has taken (completed) or has been running so far. */
  readonly seconds: number;
  /** Longer than `cycleMaxSeconds`. */
  readonly overdue: boolean;
}

/** What the organization's part of a run did. */
export interface OrganizationSweepReport {
  readonly swept: readonly string[];
  readonly failed: ReadonlyArray<{ readonly accountId: string; readonly error: string }>;
  /** Member accounts left for the next runs of this cycle. */
  readonly remaining: number;
  /** Grants the workflow was started for, per account. */
  readonly started: Readonly<Record<string, readonly string[]>>;
  readonly cycle: SweepCycleReport;
}

/**
 * The reconciliation sweep of a whole organization: the central run, then ACTIVE member accounts, each
 * through its read role, in account order from where the last run stopped (a cursor persisted after every
 * account), up to `maxAccountsPerRun` and within `runBudgetMs`. A cycle ends when the last account in order
 * is swept; the next run starts the next cycle from the first. So every member account is swept once per
 * cycle, a cycle takes ⌈accounts / accounts per run⌉ runs, a run cut short (timeout, crash) loses at most
 * the account it was in, and a cycle longer than `cycleMaxSeconds` is alarmed and alerted. A member account
 * that fails (its role missing, IAM throttling) is reported and skipped; the others are still swept.
 */
export class OrganizationSweep {
  private readonly now: () => number;

  constructor(private readonly deps: OrganizationSweepDependencies) {
    this.now = deps.now ?? Date.now;
  }

  async run(): Promise<SweepReport & { organization: OrganizationSweepReport }> {
    const { central, directory, centralAccountId, cursor, logger } = this.deps;
    const began = this.now();
    const report = await central.run();
    const members = (await directory.activeAccounts())
      .map((a) => a.id)
      .filter((id) => id !== centralAccountId)
      .sort();
    const state = await cursor.load();
    let cycleStartedAt = state.cycleStartedAt ?? new Date(began).toISOString();
    let overdueAlerted = state.overdueAlerted === true;
    const { after } = state;
    let from = after === undefined ? 0 : members.findIndex((id) => id > after);
    if (from < 0) {
      // Every account after the cursor left the organization: that cycle is over; this run starts the next.
      this.cycleEnded(cycleStartedAt, began);
      cycleStartedAt = new Date(began).toISOString();
      overdueAlerted = false;
      from = 0;
    }
    const swept: string[] = [];
    const failed: Array<{ accountId: string; error: string }> = [];
    const started: Record<string, readonly string[]> = {};
    let next = from;
    while (
      next < members.length &&
      next - from < this.deps.maxAccountsPerRun &&
      (next === from || this.now() - began < this.deps.runBudgetMs)
    ) {
      const accountId = members[next] as string;
      try {
        const result = await (await this.deps.memberSweep(accountId)).run();
        swept.push(accountId);
        if (result.started.length > 0) started[accountId] = result.started;
      } catch (error) {
        const message = error instanceof PolicyGateError ? error.message : 'unexpected error';
        logger.error('member account not swept', { accountId, error });
        failed.push({ accountId, error: message.slice(0, 300) });
      }
      next += 1;
      // Saved after every account: a run cut short goes on from here, never from the start of its batch.
      if (next < members.length) await cursor.save({ after: accountId, cycleStartedAt, overdueAlerted });
    }
    const ended = this.now();
    const completed = next >= members.length;
    const seconds = Math.round((ended - Date.parse(cycleStartedAt)) / 1000);
    const overdue = seconds > this.deps.cycleMaxSeconds;
    if (overdue) this.deps.metrics.count('SweepCycleOverdue');
    if (completed) {
      this.cycleEnded(cycleStartedAt, ended);
      // The next cycle starts with the run that begins it.
      await cursor.save({});
    } else if (overdue && !overdueAlerted) {
      await this.alertOverdue(seconds, members.length - next, members.length);
      await cursor.save({ after: members[next - 1] as string, cycleStartedAt, overdueAlerted: true });
    }
    const organization: OrganizationSweepReport = {
      swept,
      failed,
      remaining: members.length - next,
      started,
      cycle: { startedAt: cycleStartedAt, completed, seconds, overdue },
    };
    if (failed.length > 0) {
      await this.deps.notifier.notify({
        subject: `PolicyGate ALERT: the sweep could not examine ${failed.length} member account(s)`,
        message: [
          `The reconciliation sweep could not examine ${failed.length} of the ${next - from} member accounts of this run; restricted grants there that no CloudTrail event reported stay unnoticed until it can.`,
          'Check that the member stack (its policy-gate-member-read role) is deployed there and trusts this stage.',
          ...failed.slice(0, 50).map((f) => `  - ${f.accountId}: ${f.error}`),
        ].join('\n'),
        severity: 'alert',
      });
    }
    logger.info('organization swept', {
      swept: swept.length,
      failed: failed.length,
      remaining: organization.remaining,
      cycleSeconds: seconds,
      cycleCompleted: completed,
    });
    return { ...report, organization };
  }

  private cycleEnded(startedAt: string, at: number): void {
    const seconds = Math.round((at - Date.parse(startedAt)) / 1000);
    this.deps.logger.info('organization sweep cycle completed', { startedAt, seconds });
  }

  private async alertOverdue(seconds: number, remaining: number, total: number): Promise<void> {
    const hours = (seconds / 3600).toFixed(1);
    await this.deps.notifier.notify({
      subject: `PolicyGate ALERT: the sweep's cycle through the member accounts is overdue (${hours} h)`,
      message: [
        `The reconciliation sweep has been going through the organization's ${total} member accounts for ${hours} hours, longer than the ${(this.deps.cycleMaxSeconds / 3600).toFixed(1)} hours it may take; ${remaining} are still to be swept in this cycle.`,
        'Until it comes round, a restricted grant in those accounts whose CloudTrail event was lost stays unnoticed.',
        'Check that the sweep runs (its schedule, its errors), or sweep more accounts per run (SWEEP_MAX_ACCOUNTS_PER_RUN) or more often (sweepSchedule): see docs/scaling.md.',
      ].join('\n'),
      severity: 'alert',
    });
  }
}
