/**
 * A burst across an organization (issue 13): the sandbox with many local member accounts, one risky
 * `CreatePolicy` in every member account at once, then every request approved with a signed Slack click.
 * Targets: every change recorded (0 lost), each quarantined in its own account and none in the central
 * account, every request posted in Slack.
 *
 * It also counts what one change costs, for `docs/scaling.md`: the states each execution enters (Step
 * Functions bills each as a transition; a retry would add one, none happen here), Lambda invocations and
 * their local durations by function, DynamoDB requests (through a counting proxy in front of dynalite, so
 * the sandbox's own polling is not counted), KMS `GenerateMac`/`VerifyMac`, SNS publishes and Slack API
 * calls by method. Three kinds of change: a risky one approved (the burst), a harmless one, and a risky
 * one whose approval expires (a second, one-account sandbox with a short deadline). The executions that
 * PolicyGate's own quarantine and restore writes start (recognised as its own and ignored) are counted
 * with the change that caused them. Counts include each handler's first-call work (secrets, `auth.test`)
 * once per sandbox, spread over the changes.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import type { LocalAccountSpec } from '../local/organization-sandbox';
import {
  type Sandbox,
  type SandboxHandlers,
  SLACK_CHANNEL,
  SLACK_USERS,
  SOURCE_HANDLERS,
  startSandbox,
} from '../local/sandbox';
import { resetDependencies } from '../src/app/dependencies';
import { resetSweepService } from '../src/app/sweep-dependencies';
import { resetConfig } from '../src/config';
import { quarantineDocument } from '../src/domain/approval';
import { documentsEqual } from '../src/domain/document-equality';
import { APPROVE_ACTION_ID } from '../src/slack/messages/approval-message';
import type { SectionOptions } from './section';
import { formatMs, median } from './stats';
import type { BenchRow } from './table';

const SECTION = 'org-burst';
/** How long the burst may take to drain before the run counts as failed (far above any figure seen). */
const DRAIN_TIMEOUT_MS = 300_000;

const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});
const HARMLESS = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
});

/** `count` member accounts, ids 3000000000xx, in the root. */
function accounts(count: number): LocalAccountSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    id: String(300_000_000_000 + i + 1),
    name: `member-${i + 1}`,
  }));
}

/** What the counters hold at one moment; a phase's cost is the difference of two. */
export interface Counts {
  lambda: Record<string, number>;
  slack: Record<string, number>;
  dynamo: Record<string, number>;
  kms: number;
  sns: number;
}

/** Lambda handlers wrapped to count their invocations and time them. */
function countingHandlers(): {
  handlers: SandboxHandlers;
  invocations: Record<string, number>;
  durations: Record<string, number[]>;
} {
  const invocations: Record<string, number> = {};
  const durations: Record<string, number[]> = {};
  const wrap = <F extends (...args: never[]) => Promise<unknown>>(name: string, fn: F): F =>
    (async (...args: Parameters<F>) => {
      invocations[name] = (invocations[name] ?? 0) + 1;
      const started = performance.now();
      try {
        return await fn(...args);
      } finally {
        const list = durations[name] ?? [];
        list.push(performance.now() - started);
        durations[name] = list;
      }
    }) as F;
  const handlers = Object.fromEntries(
    Object.entries(SOURCE_HANDLERS).map(([name, fn]) => [name, wrap(name, fn as never)]),
  ) as unknown as SandboxHandlers;
  return { handlers, invocations, durations };
}

/** A proxy in front of dynalite counting requests by operation (`X-Amz-Target`). */
async function countingDynamoProxy(
  upstream: string,
): Promise<{ server: Server; url: string; counts: Record<string, number> }> {
  const counts: Record<string, number> = {};
  const target = new URL(upstream);
  const server = createServer((incoming, outgoing) => {
    const operation =
      String(incoming.headers['x-amz-target'] ?? 'unknown')
        .split('.')
        .pop() ?? 'unknown';
    counts[operation] = (counts[operation] ?? 0) + 1;
    const forwarded = request(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, counts };
}

interface Instrumented {
  sandbox: Sandbox;
  counts: () => Counts;
  durations: Record<string, number[]>;
  close: () => Promise<void>;
}

/** The organization sandbox with every counter on. */
async function instrumentedSandbox(memberCount: number, approvalTimeoutMs?: number): Promise<Instrumented> {
  const { handlers, invocations, durations } = countingHandlers();
  const sandbox = await startSandbox({
    organization: { accounts: accounts(memberCount) },
    handlers,
    ...(approvalTimeoutMs !== undefined && { approvalTimeoutMs }),
  });
  const proxy = await countingDynamoProxy(process.env.AWS_ENDPOINT_URL_DYNAMODB as string);
  // The handlers build their clients on first use from the environment: from now on they go through the proxy.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  resetConfig();
  resetDependencies();
  resetSweepService();
  const counts = (): Counts => {
    const slack: Record<string, number> = {};
    for (const call of sandbox.slack.calls) slack[call.method] = (slack[call.method] ?? 0) + 1;
    return {
      lambda: { ...invocations },
      slack,
      dynamo: { ...proxy.counts },
      kms: sandbox.kms.calls('GenerateMac') + sandbox.kms.calls('VerifyMac'),
      sns: sandbox.sns.messages.length,
    };
  };
  return {
    sandbox,
    counts,
    durations,
    close: async () => {
      await sandbox.close();
      await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    },
  };
}

const minus = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.keys(a)
      .map((key) => [key, (a[key] ?? 0) - (b[key] ?? 0)])
      .filter(([, n]) => n !== 0),
  );
const total = (r: Record<string, number>) => Object.values(r).reduce((sum, n) => sum + n, 0);
const per = (n: number, changes: number) => (n / changes).toFixed(2).replace(/\.?0+$/, '');
const breakdown = (r: Record<string, number>, changes: number) =>
  Object.entries(r)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, n]) => `${key} ${per(n, changes)}`)
    .join(', ');

/** A count per change with its breakdown, or a plain `0` when nothing was counted. */
const counted = (r: Record<string, number>, changes: number) =>
  total(r) === 0 ? '0' : `${per(total(r), changes)} (${breakdown(r, changes)})`;

/** The per-change rows of one kind of change, from the counts before and after it and its executions' states. */
export function perChangeRows(
  kind: string,
  changes: number,
  before: Counts,
  after: Counts,
  states: number[],
  executions: number,
): BenchRow[] {
  const lambda = minus(after.lambda, before.lambda);
  const slack = minus(after.slack, before.slack);
  const dynamo = minus(after.dynamo, before.dynamo);
  const reads = ['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems'];
  const readCount = total(Object.fromEntries(Object.entries(dynamo).filter(([op]) => reads.includes(op))));
  const row = (metric: string, value: string): BenchRow => ({
    section: SECTION,
    metric: `per change, ${kind}: ${metric}`,
    value,
  });
  return [
    row(
      'Step Functions state transitions (states entered)',
      `${per(
        states.reduce((sum, n) => sum + n, 0),
        changes,
      )} over ${per(executions, changes)} executions (n ${changes})`,
    ),
    row('Lambda invocations', counted(lambda, changes)),
    row(
      'DynamoDB requests',
      `${per(total(dynamo), changes)}: ${per(readCount, changes)} reads, ${per(total(dynamo) - readCount, changes)} writes (${breakdown(dynamo, changes)})`,
    ),
    row('KMS GenerateMac + VerifyMac', per(after.kms - before.kms, changes)),
    row('SNS publishes', per(after.sns - before.sns, changes)),
    row('Slack API calls', counted(slack, changes)),
  ];
}

async function createIn(
  sandbox: Sandbox,
  accountId: string,
  name: string,
  document: string,
): Promise<{ arn: string; approvalId: string }> {
  const account = sandbox.organization?.members[accountId];
  if (!account) throw new Error(`no member account ${accountId}`);
  let approvalId: string | undefined;
  const stop = account.iam.onEvent((event) => {
    const parameters = event.detail.requestParameters as { policyName?: unknown } | null;
    if (event.detail.eventName === 'CreatePolicy' && parameters?.policyName === name)
      approvalId = event.detail.eventID;
  });
  const created = await account.developer.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document }),
  );
  stop();
  if (!approvalId || !created.Policy?.Arn)
    throw new Error(`${accountId}: the local IAM emitted no CreatePolicy event`);
  return { arn: created.Policy.Arn, approvalId };
}

/** True when `change` is quarantined in its own account and its request is stored with task token and message. */
async function drained(
  sandbox: Sandbox,
  accountId: string,
  change: { arn: string; approvalId: string },
): Promise<boolean> {
  const record = await sandbox.store.get(change.approvalId);
  if (!record?.taskToken || !record.slackMessage) return false;
  const inForce = sandbox.organization?.members[accountId]?.iam
    .getPolicy(change.arn)
    ?.versions.find((v) => v.isDefaultVersion);
  return documentsEqual(inForce?.document, quarantineDocument(change.approvalId));
}

/** The number of states each execution entered; the distinct paths go to the log. */
async function statesOf(executions: Sandbox['executions'], log: (line: string) => void): Promise<number[]> {
  const results = await Promise.all(executions.map((e) => e.execution.done));
  const paths = new Map<string, number>();
  for (const { history } of results)
    paths.set(history.join(' → '), (paths.get(history.join(' → ')) ?? 0) + 1);
  for (const [path, count] of paths) log(`org-burst: ${count} × ${path}`);
  return results.map((result) => result.history.length);
}

/** The burst, the approvals and the harmless changes in one sandbox of `members` accounts. */
async function burst(members: number, log: (line: string) => void): Promise<BenchRow[]> {
  const lab = await instrumentedSandbox(members);
  const { sandbox } = lab;
  try {
    const ids = Object.keys(sandbox.organization?.members ?? {});
    const before = lab.counts();
    const started = performance.now();
    const changes = await Promise.all(
      ids.map(async (id) => ({ id, ...(await createIn(sandbox, id, 'burst', RISKY)) })),
    );
    const pending = new Set(changes);
    while (pending.size > 0) {
      if (performance.now() - started > DRAIN_TIMEOUT_MS)
        throw new Error(`${pending.size} changes not drained after ${DRAIN_TIMEOUT_MS} ms`);
      for (const change of [...pending])
        if (await drained(sandbox, change.id, change)) pending.delete(change);
      // Slack takes one post a second in the channel: what the request steps could not post, the delivery
      // worker posts, run back to back as its schedule (and reserved concurrency 1) would.
      if (pending.size > 0) await sandbox.recoverSlack();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const drainMs = performance.now() - started;
    log(`org-burst: ${members} accounts drained in ${formatMs(drainMs)}`);
    const records = (await Promise.all(changes.map((c) => sandbox.store.get(c.approvalId)))).filter(
      (r) => r !== undefined,
    );
    const ownAccount = records.filter((r, i) => r.change.accountId === changes[i]?.id).length;
    const posted = sandbox.slack.messages(SLACK_CHANNEL).map((m) => JSON.stringify(m));
    const visible = changes.filter((c) => posted.some((m) => m.includes(c.approvalId))).length;
    const centralPolicies = sandbox.iam.state.policies.length;

    const clicks = await Promise.all(
      changes.map((c) => sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, c.approvalId)),
    );
    await sandbox.settle();
    const restored = (await Promise.all(changes.map((c) => sandbox.store.get(c.approvalId)))).filter(
      (r) => r?.status === 'RESTORED',
    ).length;
    const approvedCounts = lab.counts();
    const approvedStates = await statesOf(sandbox.executions, log);
    const approvedExecutions = sandbox.executions.length;

    const harmlessBefore = lab.counts();
    const firstHarmless = sandbox.executions.length;
    await Promise.all(ids.map((id) => createIn(sandbox, id, 'harmless', HARMLESS)));
    await sandbox.settle();
    const harmlessExecutions = sandbox.executions.slice(firstHarmless);
    const harmlessStates = await statesOf(harmlessExecutions, log);
    const harmlessAfter = lab.counts();
    const acknowledged = clicks.filter((c) => c.status === 200).length;
    const n = String(members);
    return [
      {
        section: SECTION,
        metric: `${n} member accounts, 1 risky change each at once: approval records`,
        value: String(records.length),
        target: `${n} (0 lost)`,
        met: records.length === members,
      },
      {
        section: SECTION,
        metric: `${n} accounts: quarantined in their own account / policies created in the central account`,
        value: `${ownAccount} / ${centralPolicies}`,
        target: `${n} / 0`,
        met: ownAccount === members && centralPolicies === 0,
      },
      {
        section: SECTION,
        metric: `${n} accounts: approval requests visible in Slack`,
        value: String(visible),
        target: n,
        met: visible === members,
      },
      {
        section: SECTION,
        metric: `${n} accounts: time to drain (first CreatePolicy sent → all quarantined, requested and posted)`,
        value: formatMs(drainMs),
      },
      {
        section: SECTION,
        metric: `${n} accounts: clicks answered 200 / approvals restored`,
        value: `${acknowledged} / ${restored}`,
        target: `${n} / ${n}`,
        met: acknowledged === members && restored === members,
      },
      ...perChangeRows(
        'risky, approved',
        members,
        before,
        approvedCounts,
        approvedStates,
        approvedExecutions,
      ),
      ...perChangeRows(
        'harmless',
        members,
        harmlessBefore,
        harmlessAfter,
        harmlessStates,
        harmlessExecutions.length,
      ),
      {
        section: SECTION,
        metric: `Lambda duration per invocation, median (local: ${n} changes at once in one process, so queueing included)`,
        value: Object.entries(lab.durations)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, values]) => `${name} ${formatMs(median(values))}`)
          .join(', '),
      },
    ];
  } finally {
    await lab.close();
  }
}

/** Risky changes whose approval expires: a one-account sandbox with a short deadline. */
async function expiries(changes: number, log: (line: string) => void): Promise<BenchRow[]> {
  const lab = await instrumentedSandbox(1, 1_500);
  const { sandbox } = lab;
  try {
    const [id] = Object.keys(sandbox.organization?.members ?? {});
    const before = lab.counts();
    await Promise.all(
      Array.from({ length: changes }, (_, i) => createIn(sandbox, id as string, `expire-${i}`, RISKY)),
    );
    const results = await sandbox.settle();
    await statesOf(sandbox.executions, log);
    const after = lab.counts();
    const expired = results.filter((r) => r.history.includes('Expired')).length;
    return [
      {
        section: SECTION,
        metric: `risky changes left to expire: executions ending in Expired`,
        value: `${expired}/${changes}`,
        target: 'all',
        met: expired === changes,
      },
      ...perChangeRows(
        'risky, expired',
        changes,
        before,
        after,
        results.map((r) => r.history.length),
        results.length,
      ),
    ];
  } finally {
    await lab.close();
  }
}

/** The org-burst rows: 50 member accounts (5 with --quick), then 5 expiring changes (2 with --quick). */
export async function orgBurstRows({ quick, log }: SectionOptions): Promise<BenchRow[]> {
  const rows = await burst(quick ? 5 : 50, log);
  rows.push(...(await expiries(quick ? 2 : 5, log)));
  return rows;
}
