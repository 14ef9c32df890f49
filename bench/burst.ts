/**
 * A burst of simultaneous risky IAM changes through the whole sandbox (real state machine, handlers and
 * Slack stand-in, with Slack's rate limits on unless told otherwise), then the Slack delivery worker run
 * back to back as its schedule would, until every request is in Slack or the time runs out. What counts
 * is what a person sees: each approval's request message in the channel exactly once.
 */
import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { ACCOUNT, type SandboxOptions, SLACK_CHANNEL, startSandbox } from '../local/sandbox';
import type { SlackMessage } from '../local/slack';
import type { ApprovalRecord } from '../src/domain/approval';

export interface BurstOptions {
  /** How many risky changes are made at once. */
  changes: number;
  /** How many IAM users make them, round robin. */
  actors: number;
  /** Whether the Slack stand-in enforces Slack's rate limits. */
  rateLimit: boolean;
  /**
   * Speeds Slack's limits (and the delivery worker's pacing) up by this factor, for tests; default 1,
   * Slack's own figures, as the benchmark runs it.
   */
  scale?: number;
  /** Gives up waiting for the drain after this long; default 10 minutes plus a second per change. */
  timeoutMs?: number;
  /** Extra sandbox options (tests inject faults through the returned sandbox hook instead). */
  sandbox?: SandboxOptions;
  /** Called once the sandbox is up, before the burst (e.g. to make Slack lose answers). */
  prepare?: (sandbox: Awaited<ReturnType<typeof startSandbox>>) => void | Promise<void>;
}

export interface BurstResult {
  /** Approval records created (one per risky change, if none was lost). */
  records: number;
  /** Records whose quarantine is recorded. */
  quarantines: number;
  /** PolicyGate request messages in the channel (top-level, by their metadata). */
  slackMessages: number;
  /** Request messages beyond the first for the same approval. */
  duplicates: number;
  /** Records with no Slack message when the drain ended. */
  neverPosted: number;
  /** From the first change to the last request in Slack (or to the timeout). */
  drainMs: number;
}

const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }],
});

/** Runs one burst and reports what reached Slack. */
export async function burstRun(options: BurstOptions): Promise<BurstResult> {
  const { changes, actors } = options;
  if (!Number.isInteger(changes) || changes < 1) throw new RangeError('changes must be a whole number >= 1');
  if (!Number.isInteger(actors) || actors < 1) throw new RangeError('actors must be a whole number >= 1');
  const scale = options.scale ?? 1;
  const timeoutMs = options.timeoutMs ?? 600_000 + changes * 1000;
  const sandbox = await startSandbox({
    // Long enough that no approval times out while the channel drains at one post a second.
    approvalTimeoutMs: timeoutMs * 2,
    ...options.sandbox,
    slackRateLimits: options.rateLimit ? { scale } : false,
  });
  const clients: IAMClient[] = [];
  try {
    for (let i = 0; i < actors; i += 1) {
      const key = `AKIDBURST${String(i).padStart(4, '0')}`;
      const userName = `burst-${i}`;
      sandbox.iam.setIdentity(key, {
        type: 'IAMUser',
        arn: `arn:aws:iam::${ACCOUNT}:user/${userName}`,
        userName,
      });
      clients.push(
        new IAMClient({
          region: 'us-east-1',
          endpoint: process.env.AWS_ENDPOINT_URL_IAM as string,
          credentials: { accessKeyId: key, secretAccessKey: 'local' },
        }),
      );
    }
    await options.prepare?.(sandbox);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: changes }, (_, i) =>
        (clients[i % actors] as IAMClient).send(
          new CreatePolicyCommand({ PolicyName: `burst-${i}`, PolicyDocument: RISKY }),
        ),
      ),
    );
    const deadline = started + timeoutMs;
    const ids = await waitForRequests(sandbox, changes, deadline);
    let records = await readRecords(sandbox, ids);
    // The delivery worker, run back to back as its schedule (and reserved concurrency 1) would.
    while (records.some((r) => !r.slackMessage) && Date.now() < deadline) {
      await sandbox.recoverSlack();
      records = await readRecords(sandbox, ids);
    }
    const drainMs = Date.now() - started;
    const messages = requestMessages(sandbox.slack.messages(SLACK_CHANNEL));
    const distinct = new Set(messages.map((m) => m.approvalId));
    return {
      records: records.length,
      quarantines: records.filter((r) => r.quarantine !== undefined).length,
      slackMessages: messages.length,
      duplicates: messages.length - distinct.size,
      neverPosted: records.filter((r) => !r.slackMessage).length,
      drainMs,
    };
  } finally {
    for (const client of clients) client.destroy();
    await sandbox.close();
  }
}

/** The approval ids once `count` executions wait for a decision with their task token stored. */
async function waitForRequests(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  count: number,
  deadline: number,
): Promise<string[]> {
  for (;;) {
    const ids = sandbox.sfn
      .pendingTasks()
      .map((task) => approvalIdOf(sandbox.sfn.describeExecution(task.executionArn).input))
      .filter((id): id is string => id !== undefined);
    if (ids.length >= count || Date.now() > deadline) {
      const records = await readRecords(sandbox, ids);
      if (records.every((r) => r.taskToken !== undefined) || Date.now() > deadline) return ids;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function readRecords(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  ids: readonly string[],
): Promise<ApprovalRecord[]> {
  const records = await Promise.all(ids.map((id) => sandbox.store.get(id)));
  return records.filter((r): r is ApprovalRecord => r !== undefined);
}

function approvalIdOf(input: unknown): string | undefined {
  const id = (input as { detail?: { eventID?: unknown } } | undefined)?.detail?.eventID;
  return typeof id === 'string' ? id : undefined;
}

/** PolicyGate's request messages among `messages`, with the approval id their metadata names. */
export function requestMessages(
  messages: readonly SlackMessage[],
): Array<SlackMessage & { approvalId: string }> {
  return messages.flatMap((m) => {
    const metadata = m.metadata as
      | { event_type?: unknown; event_payload?: { approval_id?: unknown } }
      | undefined;
    const id = metadata?.event_payload?.approval_id;
    return metadata?.event_type === 'policy_gate_request' && typeof id === 'string'
      ? [{ ...m, approvalId: id }]
      : [];
  });
}
