/**
 * The organization sweep's rotation (issue 13) in the sandbox, with more member accounts than one run may
 * sweep: every account is swept once per cycle of ⌈accounts / per run⌉ runs, through its read role only;
 * a change whose event was lost in the last account in order is found within the cycle; the next run
 * starts the next cycle; a cycle longer than its bound is alerted once.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { MEMBER_ROLES } from '../../local/organization-sandbox';
import { type Sandbox, startSandbox } from '../../local/sandbox';
import type { OrganizationSweepReport } from '../../src/services/organization-sweep';
import { mails, waitForPending } from '../support/approvals';

/** Seven member accounts, three swept per run: a cycle is three runs (3, 3, 1). */
const ACCOUNTS = Array.from({ length: 7 }, (_, i) => String(111111111111 * (i + 1)).slice(0, 12));
const PER_RUN = 3;
const riskyS3 = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});

function rotationSandbox(cycleMaxSeconds?: number): Promise<Sandbox> {
  return startSandbox({
    organization: { accounts: ACCOUNTS.map((id, i) => ({ id, name: `member-${i + 1}` })) },
    sweepRotation: { maxAccountsPerRun: PER_RUN, ...(cycleMaxSeconds !== undefined && { cycleMaxSeconds }) },
  });
}

async function sweep(sandbox: Sandbox): Promise<OrganizationSweepReport> {
  const report = (await sandbox.sweep()) as { organization?: OrganizationSweepReport };
  if (!report.organization) throw new Error('not an organization sweep');
  return report.organization;
}

describe('the organization sweep with more member accounts than one run sweeps', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('sweeps every member account once per cycle, in order, through the read role only, and starts the next cycle after', async () => {
    // Prepare
    sandbox = await rotationSandbox();
    const sorted = [...ACCOUNTS].sort();
    // Act
    const cycle = [await sweep(sandbox), await sweep(sandbox), await sweep(sandbox)];
    const next = await sweep(sandbox);
    // Assess
    expect(cycle.map((run) => run.swept)).toEqual([sorted.slice(0, 3), sorted.slice(3, 6), sorted.slice(6)]);
    expect(cycle.map((run) => run.remaining)).toEqual([4, 1, 0]);
    expect(cycle.map((run) => run.cycle.completed)).toEqual([false, false, true]);
    expect(new Set(cycle.map((run) => run.cycle.startedAt)).size).toBe(1);
    expect(next.swept).toEqual(sorted.slice(0, 3));
    expect(next.cycle.completed).toBe(false);
    expect(Date.parse(next.cycle.startedAt)).toBeGreaterThan(Date.parse(cycle[0]?.cycle.startedAt ?? ''));
    const memberSessions = sandbox.sts
      .sessions()
      .filter((s) => ACCOUNTS.some((id) => s.roleArn.includes(`::${id}:`)));
    expect(new Set(memberSessions.map((s) => `${s.roleArn.split('/').at(-1)} ${s.sessionName}`))).toEqual(
      new Set([`${MEMBER_ROLES.read} policy-gate-sweep`]),
    );
    expect(mails(sandbox, /overdue|could not examine/)).toHaveLength(0);
  });

  test('a change whose event was lost in the last account in order is found within one cycle', async () => {
    // Prepare: a first cycle takes every account's baseline
    sandbox = await rotationSandbox();
    for (let run = 0; run < 3; run++) await sweep(sandbox);
    const last = [...ACCOUNTS].sort().at(-1) as string;
    sandbox.route(() => 'lose');
    await sandbox.organization?.members[last]?.developer.send(
      new CreatePolicyCommand({ PolicyName: 'lost', PolicyDocument: riskyS3 }),
    );
    sandbox.route(() => 'deliver');
    // Act
    const runs = [await sweep(sandbox), await sweep(sandbox), await sweep(sandbox)];
    const [pending] = await waitForPending(sandbox);
    // Assess
    expect(runs.map((run) => Object.keys(run.started))).toEqual([[], [], [last]]);
    expect(pending?.change).toMatchObject({ accountId: last, origin: 'sweep' });
  });

  test('a cycle longer than its bound is alerted once, while it runs', async () => {
    // Prepare: a bound of 0 s, so a cycle that spans more than a second is overdue
    sandbox = await rotationSandbox(0);
    // Act
    const first = await sweep(sandbox);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await sweep(sandbox);
    const third = await sweep(sandbox);
    // Assess
    expect(first.cycle.overdue).toBe(false);
    expect([second.cycle.overdue, third.cycle.overdue]).toEqual([true, true]);
    expect(third.cycle.completed).toBe(true);
    const alerts = mails(sandbox, /cycle through the member accounts is overdue/);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.message).toMatch(/7 member accounts .* 1 are still to be swept in this cycle/);
  });
});
