import type { Notifier } from '../adapters/notifier';
import { PolicyGateError } from '../errors';
import type { Logger } from '../logger';
import type { OrganizationDirectory } from './organization-directory';
import type { SweepReport, SweepService } from './sweep-service';

/** Where the last run stopped: the last member account swept (the next run starts after it). */
export interface SweepCursor {
  load(): Promise<string | undefined>;
  save(after: string | undefined): Promise<void>;
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
  readonly notifier: Notifier;
  readonly logger: Logger;
}

/** What the organization's part of a run did. */
export interface OrganizationSweepReport {
  readonly swept: readonly string[];
  readonly failed: ReadonlyArray<{ readonly accountId: string; readonly error: string }>;
  /** Member accounts left for the next runs. */
  readonly remaining: number;
  /** Grants the workflow was started for, per account. */
  readonly started: Readonly<Record<string, readonly string[]>>;
}

/**
 * The reconciliation sweep of a whole organization: the central run, then up to `maxAccountsPerRun`
 * ACTIVE member accounts, each through its member role, in account order from where the last run stopped,
 * so every account is swept within ⌈accounts / maxAccountsPerRun⌉ runs and one run's work stays bounded.
 * A member account that fails (its member role missing, IAM throttling) is reported and skipped; the
 * others are still swept.
 */
export class OrganizationSweep {
  constructor(private readonly deps: OrganizationSweepDependencies) {}

  async run(): Promise<SweepReport & { organization: OrganizationSweepReport }> {
    const { central, directory, centralAccountId, cursor, logger } = this.deps;
    const report = await central.run();
    const members = (await directory.activeAccounts())
      .map((a) => a.id)
      .filter((id) => id !== centralAccountId)
      .sort();
    const after = await cursor.load();
    const start = after === undefined ? 0 : members.findIndex((id) => id > after);
    const from = Math.max(start, 0);
    const batch = [...members.slice(from), ...members.slice(0, from)].slice(0, this.deps.maxAccountsPerRun);
    const swept: string[] = [];
    const failed: Array<{ accountId: string; error: string }> = [];
    const started: Record<string, readonly string[]> = {};
    for (const accountId of batch) {
      try {
        const result = await (await this.deps.memberSweep(accountId)).run();
        swept.push(accountId);
        if (result.started.length > 0) started[accountId] = result.started;
      } catch (error) {
        const message = error instanceof PolicyGateError ? error.message : 'unexpected error';
        logger.error('member account not swept', { accountId, error });
        failed.push({ accountId, error: message.slice(0, 300) });
      }
    }
    await cursor.save(batch.at(-1));
    const organization = {
      swept,
      failed,
      remaining: Math.max(0, members.length - batch.length),
      started,
    };
    if (failed.length > 0) {
      await this.deps.notifier.notify({
        subject: `PolicyGate ALERT: the sweep could not examine ${failed.length} member account(s)`,
        message: [
          `The reconciliation sweep could not examine ${failed.length} of the ${batch.length} member accounts of this run; restricted grants there that no CloudTrail event reported stay unnoticed until it can.`,
          'Check that the member stack (its policy-gate-member role) is deployed there and trusts this stage.',
          ...failed.slice(0, 50).map((f) => `  - ${f.accountId}: ${f.error}`),
        ].join('\n'),
        severity: 'alert',
      });
    }
    logger.info('organization swept', {
      swept: swept.length,
      failed: failed.length,
      remaining: organization.remaining,
    });
    return { ...report, organization };
  }
}
