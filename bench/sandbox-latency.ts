/**
 * Latency through the whole sandbox (`local/sandbox.ts`): the real state machine definition, the real
 * Lambda handlers and the stand-ins on 127.0.0.1, with the definition's waits scaled down as the tests
 * scale them (the handlers themselves are not faked). One risky change at a time, so each figure is the
 * latency of one change and not a queue:
 *
 * - event → quarantined: from the developer's `CreatePolicy` call returning to the SDK client, to the
 *   local IAM applying the write that makes the quarantine document the policy's default version (seen
 *   through the stand-in's CloudTrail listener, which runs as the write is applied). CloudTrail's own
 *   delivery to EventBridge is not part of it: the sandbox delivers the event at once.
 * - click → restored: from a signed Approve click being sent to the interactivity endpoint, to the local
 *   IAM applying the write that makes the original document the default version again.
 * - Slack acknowledgement: from the signed click being sent to its HTTP 200 being read (Slack gives up
 *   after 3 s).
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { ACCOUNT, type Sandbox, SLACK_USERS, startSandbox } from '../local/sandbox';
import { isRestored, quarantineDocument } from '../src/domain/approval';
import { documentsEqual } from '../src/domain/document-equality';
import { APPROVE_ACTION_ID } from '../src/slack/messages/approval-message';
import type { SectionOptions } from './section';
import { formatMs, type Summary, summarise } from './stats';
import type { BenchRow } from './table';

export const QUARANTINE_MEDIAN_MS_TARGET = 200;
export const ACK_P99_MS_TARGET = 500;
/** How long one step may take before the sample counts as failed (far above any target). */
const STEP_TIMEOUT_MS = 60_000;

const RISKY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};

interface Sample {
  quarantineMs: number;
  restoreMs: number;
  ackMs: number;
  ackStatus: number;
  recordedRestored: boolean;
}

function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: nothing after ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with the moment the local IAM applies a write after which `arn`'s default version equals
 * `expected` (a document, or a function of the approval id, which is the `CreatePolicy` event's id).
 */
function whenDefaultBecomes(
  sandbox: Sandbox,
  arn: string,
  expected: (approvalId: string) => unknown,
  approvalId: () => string | undefined,
): Promise<number> {
  return new Promise((resolve) => {
    const stop = sandbox.iam.onEvent((event) => {
      const at = performance.now();
      if ((event.detail.requestParameters as { policyArn?: unknown } | null)?.policyArn !== arn) return;
      const id = approvalId();
      const current = sandbox.iam.getPolicy(arn)?.versions.find((v) => v.isDefaultVersion)?.document;
      if (id !== undefined && documentsEqual(current, expected(id))) {
        stop();
        resolve(at);
      }
    });
  });
}

async function pendingWithMessage(sandbox: Sandbox, approvalId: string): Promise<void> {
  const until = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < until) {
    const record = await sandbox.store.get(approvalId);
    if (record?.taskToken && record.slackMessage) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`approval ${approvalId} never got its Slack message`);
}

async function sample(sandbox: Sandbox, index: number): Promise<Sample> {
  const name = `bench-latency-${index}`;
  const arn = `arn:aws:iam::${ACCOUNT}:policy/${name}`;
  let approvalId: string | undefined;
  const stopWatchingCreate = sandbox.iam.onEvent((event) => {
    const parameters = event.detail.requestParameters as { policyName?: unknown } | null;
    if (event.detail.eventName === 'CreatePolicy' && parameters?.policyName === name) {
      approvalId = event.detail.eventID;
    }
  });
  const quarantined = whenDefaultBecomes(sandbox, arn, quarantineDocument, () => approvalId);
  await sandbox.developer.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(RISKY) }),
  );
  const returned = performance.now();
  stopWatchingCreate();
  if (approvalId === undefined) throw new Error(`${name}: the local IAM emitted no CreatePolicy event`);
  const quarantineMs = (await deadline(quarantined, `${name} quarantine`)) - returned;

  await pendingWithMessage(sandbox, approvalId);
  const restored = whenDefaultBecomes(
    sandbox,
    arn,
    () => RISKY,
    () => approvalId,
  );
  const clicked = performance.now();
  const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
  const restoreMs = (await deadline(restored, `${name} restore`)) - clicked;
  await deadline(sandbox.settle(), `${name} execution`);
  const record = await sandbox.store.get(approvalId);
  return {
    quarantineMs,
    restoreMs,
    ackMs: click.durationMs,
    ackStatus: click.status,
    recordedRestored: record !== undefined && isRestored(record),
  };
}

const spread = (s: Summary) => `p95 ${formatMs(s.p95)}, max ${formatMs(s.max)}, n ${s.n}`;

/** The sandbox latency rows: `samples` risky changes, each quarantined, approved and restored in turn. */
export async function sandboxLatencyRows({ quick, log }: SectionOptions): Promise<BenchRow[]> {
  const samples = quick ? 5 : 60;
  const sandbox = await startSandbox();
  const results: Sample[] = [];
  try {
    // One change first, unmeasured: the first handler calls build their clients and read the secrets.
    await sample(sandbox, -1);
    for (let i = 0; i < samples; i++) {
      results.push(await sample(sandbox, i));
      if ((i + 1) % 10 === 0) log(`sandbox latency: ${i + 1}/${samples} changes`);
    }
  } finally {
    await sandbox.close();
  }
  const quarantine = summarise(results.map((r) => r.quarantineMs));
  const restore = summarise(results.map((r) => r.restoreMs));
  const ack = summarise(results.map((r) => r.ackMs));
  const acknowledged = results.filter((r) => r.ackStatus === 200).length;
  const restoredRecords = results.filter((r) => r.recordedRestored).length;
  return [
    {
      section: 'sandbox latency',
      metric: 'event → quarantined (CreatePolicy returned → quarantine version default in IAM), median',
      value: `${formatMs(quarantine.median)} (${spread(quarantine)})`,
      target: `< ${QUARANTINE_MEDIAN_MS_TARGET} ms`,
      met: quarantine.median < QUARANTINE_MEDIAN_MS_TARGET,
    },
    {
      section: 'sandbox latency',
      metric: 'click → restored (Approve sent → original version default again in IAM), median',
      value: `${formatMs(restore.median)} (${spread(restore)})`,
    },
    {
      section: 'sandbox latency',
      metric: 'Slack acknowledgement (signed click sent → HTTP 200 read), p99',
      value: `${formatMs(ack.p99)} (median ${formatMs(ack.median)}, max ${formatMs(ack.max)}, n ${ack.n})`,
      target: `< ${ACK_P99_MS_TARGET} ms`,
      met: ack.p99 < ACK_P99_MS_TARGET && acknowledged === results.length,
    },
    {
      section: 'sandbox latency',
      metric: 'clicks answered 200 / approvals recorded restored',
      value: `${acknowledged}/${results.length} / ${restoredRecords}/${results.length}`,
      target: 'all',
      met: acknowledged === results.length && restoredRecords === results.length,
    },
  ];
}
