/**
 * A burst of simultaneous risky IAM changes through the whole sandbox (real state machine, handlers and
 * Slack stand-in, with Slack's rate limits on unless told otherwise), then the Slack delivery worker run
 * back to back as its schedule would, until every request is in Slack or the time runs out. What counts
 * is what a person sees: each approval in the channel exactly once, as its own request message or as a
 * listed member of a group message (one actor's changes within the grouping window share one), read from
 * the messages' metadata and blocks, not from the records.
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
  /**
   * SLACK_GROUP_WINDOW_SECONDS: one actor's changes within it share a Slack message; default 0 (each
   * change its own message).
   */
  groupWindowSeconds?: number;
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
  /** Top-level messages in the channel that show at least one of the burst's approvals. */
  slackMessages: number;
  /** Approvals shown by more than one message: each message beyond the first counts once. */
  duplicates: number;
  /** Approvals no message in the channel shows when the drain ended. */
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
    ...(options.groupWindowSeconds !== undefined && { slackGroupWindowSeconds: options.groupWindowSeconds }),
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
    const shown = () => shownApprovals(sandbox.slack.messages(SLACK_CHANNEL), ids);
    // The delivery worker, run back to back as its schedule (and reserved concurrency 1) would, until the
    // channel shows every approval (read from the stand-in's own state: no load on the stand-ins).
    while (shown().hidden.length > 0 && Date.now() < deadline) await sandbox.recoverSlack();
    const drainMs = Date.now() - started;
    const records = await readRecords(sandbox, ids);
    const { messages, duplicates, hidden } = shown();
    return {
      records: records.length,
      quarantines: records.filter((r) => r.quarantine !== undefined).length,
      slackMessages: messages,
      duplicates,
      neverPosted: hidden.length,
      drainMs,
    };
  } finally {
    for (const client of clients) client.destroy();
    await sandbox.close();
  }
}

/**
 * The approval ids once `count` executions wait for a decision with their task token stored. The task
 * list is the runner's own state; the records are read only once every execution waits (a harness that
 * read 500 records every 50 ms would be most of the load on the local DynamoDB).
 */
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
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// The harness's own reads, a few at a time: as one more client, not a flood beside the functions'.
const READ_CONCURRENCY = 10;

async function readRecords(
  sandbox: Awaited<ReturnType<typeof startSandbox>>,
  ids: readonly string[],
): Promise<ApprovalRecord[]> {
  const records: ApprovalRecord[] = [];
  for (let at = 0; at < ids.length; at += READ_CONCURRENCY) {
    const batch = await Promise.all(ids.slice(at, at + READ_CONCURRENCY).map((id) => sandbox.store.get(id)));
    records.push(...batch.filter((r): r is ApprovalRecord => r !== undefined));
  }
  return records;
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

/** The approval ids one top-level message shows: its metadata's, its buttons', its listed members'. */
export function approvalIdsShown(message: SlackMessage): Set<string> {
  const ids = new Set<string>();
  const metadata = message.metadata as
    | { event_type?: unknown; event_payload?: { approval_id?: unknown; approval_ids?: unknown } }
    | undefined;
  if (typeof metadata?.event_type === 'string' && metadata.event_type.startsWith('policy_gate_')) {
    const payload = metadata.event_payload;
    if (typeof payload?.approval_id === 'string') ids.add(payload.approval_id);
    const listed = payload?.approval_ids;
    const many = typeof listed === 'string' ? listed.split(',') : Array.isArray(listed) ? listed : [];
    for (const id of many) if (typeof id === 'string' && id !== '') ids.add(id);
  }
  for (const block of (message.blocks ?? []) as Array<Record<string, unknown>>) {
    // A group message's member line names its approval (decided members keep the line, lose the buttons).
    const text = (block.text as { text?: unknown } | undefined)?.text;
    if (typeof block.block_id === 'string' && /^policy_gate_member_m\d+$/.test(block.block_id)) {
      const id = typeof text === 'string' ? /approval `([^`]+)`/.exec(text)?.[1] : undefined;
      if (id) ids.add(id);
    }
    // A pending request's Approve / Deny buttons carry its approval id (in a group, one pair per member).
    if (block.type === 'actions' && Array.isArray(block.elements)) {
      for (const element of block.elements as Array<Record<string, unknown>>) {
        const action = element.action_id;
        if (
          typeof action === 'string' &&
          /^policy_gate_(approve|deny)(_m\d+)?$/.test(action) &&
          typeof element.value === 'string'
        ) {
          ids.add(element.value);
        }
      }
    }
  }
  return ids;
}

/**
 * How the channel shows `ids`: the top-level messages that show any of them, the messages beyond the
 * first per approval (duplicates), and the approvals no message shows.
 */
export function shownApprovals(
  messages: readonly SlackMessage[],
  ids: readonly string[],
): { messages: number; duplicates: number; hidden: string[] } {
  const wanted = new Set(ids);
  const shownBy = new Map<string, number>();
  let showing = 0;
  for (const message of messages) {
    if (message.threadTs !== undefined && message.threadTs !== message.ts) continue;
    const shown = [...approvalIdsShown(message)].filter((id) => wanted.has(id));
    if (shown.length === 0) continue;
    showing += 1;
    for (const id of shown) shownBy.set(id, (shownBy.get(id) ?? 0) + 1);
  }
  let duplicates = 0;
  for (const count of shownBy.values()) duplicates += count - 1;
  return { messages: showing, duplicates, hidden: ids.filter((id) => !shownBy.has(id)) };
}
