/**
 * A group message deleted in Slack, posted again (issue 12), over the real group and approvals stores
 * (dynalite, their conditional writes) and a Slack Web API double whose messages can be deleted: a worker's
 * check and a decision's redraw that see the deletion at once post one new message; every record moves to
 * it; a record whose move was missed is moved by its next redraw, nothing posted again.
 */
import { GROUP_REPOSTED_NOTE, SlackApprovalChannel } from '../../src/adapters/slack-approval-channel';
import { DynamoSlackGroupStore } from '../../src/adapters/slack-group-store';
import type { ApprovalRecord, MessageRef } from '../../src/domain/approval';
import { groupIdOf } from '../../src/domain/slack-group';
import { SlackApiError } from '../../src/errors';
import type { WebClient } from '../../src/slack/client';
import fixture from '../fixtures/approvals/record.json';
import { createSealed, type LocalApprovals, startLocalApprovals } from '../support/seals';

const TABLE = 'policy-gate-slack-group-repost-test';
// The group is the actor's, per channel: each test gets its own channel, so its own group.
let CHANNEL = 'C0REPOST';
const WINDOW_SECONDS = 3600;
let local: LocalApprovals;
let groups: DynamoSlackGroupStore;
let sequence = 0;

beforeAll(async () => {
  local = await startLocalApprovals(TABLE);
  groups = new DynamoSlackGroupStore(local.store.tableAccess().client, TABLE);
});

afterAll(() => local.close());

interface Posted {
  readonly ts: string;
  readonly metadata?: { event_payload?: Record<string, unknown> };
  blocks: unknown[];
}

/**
 * A Slack double: top-level posts and thread replies kept apart; `chat.update` of a deleted message says
 * `message_not_found`, as Slack does; each call answers after `delayMs` so concurrent callers overlap.
 */
function slackDouble(delayMs = 30) {
  sequence += 1;
  CHANNEL = `C0REPOST${sequence}`;
  const posts: Posted[] = [];
  const replies: { thread: string; text: string }[] = [];
  const deleted = new Set<string>();
  let count = 0;
  let failNext = false;
  const wait = () => new Promise((resolve) => setTimeout(resolve, delayMs));
  const client = {
    auth: { test: async () => ({ ok: true, bot_id: 'B0POLICYGATE' }) },
    conversations: { history: async () => ({ ok: true, has_more: false, messages: [] }) },
    chat: {
      postMessage: async (args: {
        metadata?: Posted['metadata'];
        blocks: unknown[];
        thread_ts?: string;
        text: string;
      }) => {
        await wait();
        if (failNext && !args.thread_ts) {
          failNext = false;
          throw new SlackApiError('chat.postMessage', 'internal_error');
        }
        count += 1;
        const ts = `1800000000.${String(count).padStart(6, '0')}`;
        if (args.thread_ts) replies.push({ thread: args.thread_ts, text: args.text });
        else posts.push({ ts, blocks: args.blocks, ...(args.metadata && { metadata: args.metadata }) });
        return { ok: true, channel: CHANNEL, ts };
      },
      update: async (args: { ts: string; blocks: unknown[] }) => {
        await wait();
        const post = posts.find((p) => p.ts === args.ts);
        if (!post || deleted.has(args.ts)) throw new SlackApiError('chat.update', 'message_not_found');
        post.blocks = args.blocks;
        return { ok: true };
      },
    },
  };
  return {
    posts,
    replies,
    /** The messages still in the channel. */
    live: () => posts.filter((p) => !deleted.has(p.ts)),
    remove: (ts: string) => deleted.add(ts),
    /** The next top-level post is refused (Slack said it did not post). */
    failNextPost: () => {
      failNext = true;
    },
    client: client as unknown as WebClient,
  };
}

function channel(slack: ReturnType<typeof slackDouble>) {
  return new SlackApprovalChannel(async () => slack.client, CHANNEL, {
    grouping: {
      groups,
      records: local.store,
      windowSeconds: WINDOW_SECONDS,
      pageWaitMs: 3_000,
      trusts: async (record) => (await local.seals.check(record, { quarantine: true })).ok,
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
  });
}

/** Three sealed PENDING records by one actor at one time, posted on one group message and recorded. */
async function postedGroup(
  slack: ReturnType<typeof slackDouble>,
): Promise<{ records: ApprovalRecord[]; ref: MessageRef }> {
  const base = fixture as unknown as ApprovalRecord;
  const now = Date.now();
  const made = await Promise.all(
    [0, 1, 2].map((i) =>
      createSealed(local.store, local.seals, {
        ...base,
        approvalId: `repost-${sequence}-${i}`,
        createdAt: new Date(now).toISOString(),
        updatedAt: new Date(now).toISOString(),
        deadline: new Date(now + 3_600_000).toISOString(),
        ttl: Math.floor(now / 1000) + 86_400,
        change: { ...base.change, eventId: `event-${sequence}-${i}`, eventTime: new Date(now).toISOString() },
      }),
    ),
  );
  let ref: MessageRef | undefined;
  // One after the other, as the request steps would: the first posts, the others join its message.
  for (const record of made) {
    ref = await channel(slack).postRequest(record);
    await local.store.setSlackMessage(record.approvalId, ref);
  }
  const records = (await Promise.all(made.map((r) => local.store.get(r.approvalId)))) as ApprovalRecord[];
  return { records, ref: ref as MessageRef };
}

describe('a group message deleted in Slack, posted again', () => {
  test('a worker check and a decision redraw at once: one new message, every record moved to it', async () => {
    // Prepare
    const slack = slackDouble();
    const { records, ref: old } = await postedGroup(slack);
    const [a, b, c] = records as [ApprovalRecord, ApprovalRecord, ApprovalRecord];
    expect(slack.posts).toHaveLength(1);
    slack.remove(old.ts);

    // Act: two functions (two channels) redraw two members of the deleted message at the same moment.
    const [refA, refB] = await Promise.all([channel(slack).showState(a), channel(slack).showState(b)]);

    // Assess: one new message, both shown on it, every record (the third too) now names it.
    expect(slack.live()).toHaveLength(1);
    const [post] = slack.live();
    expect(post?.ts).not.toBe(old.ts);
    expect(refA).toEqual({ channel: CHANNEL, ts: post?.ts, groupId: old.groupId });
    expect(refB).toEqual(refA);
    const winner = post?.metadata?.event_payload?.approval_id;
    expect([a.approvalId, b.approvalId]).toContain(winner);
    expect(post?.metadata?.event_payload?.group_id).toBe(old.groupId);
    for (const r of [a, b, c]) {
      expect(JSON.stringify(post?.blocks)).toContain(`approval \`${r.approvalId}\``);
      expect((await local.store.get(r.approvalId))?.slackMessage).toEqual(refA);
    }
    const groupId = groupIdOf(a, CHANNEL, WINDOW_SECONDS) as string;
    expect((await groups.get(groupId))?.pages).toEqual([
      expect.objectContaining({
        message: { channel: CHANNEL, ts: post?.ts },
        deleted: [old.ts],
        poster: winner,
      }),
    ]);
    expect(slack.replies).toEqual([{ thread: post?.ts, text: GROUP_REPOSTED_NOTE }]);
  });

  test('a record whose move was missed is moved by its next redraw, nothing posted again', async () => {
    // Prepare: the page posted again, then one record put back on the deleted message (its move missed).
    const slack = slackDouble(1);
    const { records, ref: old } = await postedGroup(slack);
    const [a, , c] = records as [ApprovalRecord, ApprovalRecord, ApprovalRecord];
    slack.remove(old.ts);
    const fresh = await channel(slack).showState(a);
    expect(await local.store.replaceSlackMessage(c.approvalId, fresh, old)).toBeDefined();
    const stale = (await local.store.get(c.approvalId)) as ApprovalRecord;
    expect(stale.slackMessage?.ts).toBe(old.ts);

    // Act
    const shown = await channel(slack).showState(stale);

    // Assess
    expect(shown).toEqual(fresh);
    expect(slack.posts).toHaveLength(2);
    expect((await local.store.get(c.approvalId))?.slackMessage).toEqual(fresh);
  });

  test('a repost Slack refused is posted by the next attempt, once, and still moves every record', async () => {
    // Prepare
    const slack = slackDouble(1);
    const { records, ref: old } = await postedGroup(slack);
    const [a, b, c] = records as [ApprovalRecord, ApprovalRecord, ApprovalRecord];
    slack.remove(old.ts);
    slack.failNextPost();

    // Act: the worker's check fails on the repost; its next run tries again.
    await expect(channel(slack).showState(a)).rejects.toThrow(/internal_error/);
    const ref = await channel(slack).showState(a);

    // Assess
    expect(slack.live()).toHaveLength(1);
    expect(slack.live()[0]?.ts).toBe(ref.ts);
    for (const r of [a, b, c]) expect((await local.store.get(r.approvalId))?.slackMessage).toEqual(ref);
    expect(slack.replies).toEqual([{ thread: ref.ts, text: GROUP_REPOSTED_NOTE }]);
  });
});
