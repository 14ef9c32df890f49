/**
 * The organization sweep's rotation as a pure service (fake clock, cursor, directory and member sweeps):
 * the run budget stops it between accounts but never before the first, the cursor is saved after every
 * account so a run cut short (a Lambda timeout) goes on from where it was, and accounts that leave the
 * organization past the cursor end the cycle.
 */
import type { AlarmMetricName } from '../../src/adapters/alarm-metrics';
import type { Notification } from '../../src/adapters/notifier';
import { createLogger } from '../../src/logger';
import {
  OrganizationSweep,
  type OrganizationSweepDependencies,
  type SweepCursorState,
} from '../../src/services/organization-sweep';
import type { SweepReport, SweepService } from '../../src/services/sweep-service';

const CENTRAL = '000000000001';
const report: SweepReport = {
  baselineTaken: false,
  riskyGrants: 0,
  started: [],
  inProgress: [],
  redriven: 0,
  discarded: [],
  deliveringTrails: [],
} as unknown as SweepReport;

function fixture(accounts: string[], overrides: Partial<OrganizationSweepDependencies> = {}) {
  let clock = Date.parse('2026-12-01T00:00:00Z');
  let state: SweepCursorState = {};
  const saves: SweepCursorState[] = [];
  const swept: string[] = [];
  const alarms: AlarmMetricName[] = [];
  const notices: Notification[] = [];
  /** Each member sweep takes this long on the fake clock. */
  const perAccountMs = { value: 10_000 };
  let members = [...accounts];
  const deps: OrganizationSweepDependencies = {
    central: { run: async () => report, recoverSlack: async () => undefined } as unknown as SweepService,
    directory: {
      activeAccounts: async () => [CENTRAL, ...members].map((id) => ({ id }) as never),
      describeAccount: async () => ({}) as never,
    },
    centralAccountId: CENTRAL,
    memberSweep: async (accountId) =>
      ({
        run: async () => {
          clock += perAccountMs.value;
          swept.push(accountId);
          return report;
        },
      }) as unknown as SweepService,
    cursor: {
      load: async () => state,
      save: async (next) => {
        state = next;
        saves.push(next);
      },
    },
    maxAccountsPerRun: 50,
    runBudgetMs: 240_000,
    cycleMaxSeconds: 6 * 3600,
    metrics: { count: (name) => alarms.push(name) },
    notifier: { notify: async (notice) => void notices.push(notice) },
    logger: createLogger('test', () => undefined),
    now: () => clock,
    ...overrides,
  };
  return {
    deps,
    swept,
    saves,
    alarms,
    notices,
    perAccountMs,
    advance: (ms: number) => {
      clock += ms;
    },
    setMembers: (ids: string[]) => {
      members = ids;
    },
    state: () => state,
  };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => String(100000000000 + i));

describe('OrganizationSweep rotation', () => {
  test('the run budget stops it between accounts; 1,000 accounts at 10 s each take ⌈1000/24⌉ = 42 runs, each account once', async () => {
    // Prepare: 240 s of budget, 10 s an account: 24 per run (the 25th would start past the budget)
    const f = fixture(ids(1000), { maxAccountsPerRun: 1000, cycleMaxSeconds: 86_400 });
    const sweep = new OrganizationSweep(f.deps);
    // Act
    const runs = [];
    for (let run = 0; run < 42; run++) {
      runs.push((await sweep.run()).organization);
      f.advance(15 * 60_000);
    }
    // Assess
    expect(runs[0]?.swept).toHaveLength(24);
    expect(runs.slice(0, 41).every((run) => !run.cycle.completed)).toBe(true);
    expect(runs[41]?.cycle.completed).toBe(true);
    expect(f.swept).toEqual(ids(1000));
    expect(f.alarms).toEqual([]);
  });

  test('a run past its budget before the first account still sweeps one: every run makes progress', async () => {
    // Prepare
    const f = fixture(ids(3), { runBudgetMs: 0 });
    const sweep = new OrganizationSweep(f.deps);
    // Act
    const runs = [(await sweep.run()).organization, (await sweep.run()).organization];
    // Assess
    expect(runs.map((run) => run.swept)).toEqual([[ids(3)[0]], [ids(3)[1]]]);
  });

  test('a run cut short (a timeout mid-account) goes on from the last account saved, not its batch’s start', async () => {
    // Prepare: the fourth account's sweep never returns, as a run that times out in it
    const f = fixture(ids(6));
    const hang = ids(6)[3] as string;
    const inner = f.deps.memberSweep;
    const cut = new OrganizationSweep({
      ...f.deps,
      memberSweep: async (accountId) =>
        accountId === hang
          ? ({ run: () => new Promise<never>(() => undefined) } as unknown as SweepService)
          : inner(accountId),
    });
    // Act
    void cut.run();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = (await new OrganizationSweep(f.deps).run()).organization;
    // Assess: accounts 0–2 are not swept again; 3 (lost with the run) and the rest are
    expect(next.swept).toEqual(ids(6).slice(3));
    expect(f.swept).toEqual([...ids(6).slice(0, 3), ...ids(6).slice(3)]);
    expect(next.cycle.completed).toBe(true);
  });

  test('an overdue cycle counts the alarm metric at every late run and alerts once; the next cycle starts afresh', async () => {
    // Prepare: 2 accounts a run, a bound of one hour, runs an hour apart
    const f = fixture(ids(5), { maxAccountsPerRun: 2, cycleMaxSeconds: 3600 });
    const sweep = new OrganizationSweep(f.deps);
    // Act
    const runs = [];
    for (let run = 0; run < 4; run++) {
      runs.push((await sweep.run()).organization);
      f.advance(3600_000);
    }
    // Assess
    expect(runs.map((run) => run.cycle.overdue)).toEqual([false, true, true, false]);
    expect(runs.map((run) => run.cycle.completed)).toEqual([false, false, true, false]);
    expect(f.alarms).toEqual(['SweepCycleOverdue', 'SweepCycleOverdue']);
    expect(f.notices.map((n) => n.subject)).toEqual([
      expect.stringMatching(/cycle through the member accounts is overdue/),
    ]);
  });

  test('accounts past the cursor that left the organization end the cycle; the run starts the next from the first', async () => {
    // Prepare
    const f = fixture(ids(4), { maxAccountsPerRun: 2 });
    const sweep = new OrganizationSweep(f.deps);
    await sweep.run();
    f.setMembers(ids(2));
    // Act
    const next = (await sweep.run()).organization;
    // Assess
    expect(next.swept).toEqual(ids(2));
    expect(next.cycle.completed).toBe(true);
  });
});
