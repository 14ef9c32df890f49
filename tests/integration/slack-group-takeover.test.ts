/**
 * Taking over a group page whose poster cannot post (issue 12), over the real group store (dynalite, its
 * conditional writes) and a Slack Web API double that records every post: two members taking over at once
 * post one message; the old poster coming back updates it; a poster whose answer was lost is found in the
 * channel after the takeover bound, never posted again; a member whose record fails its seals is listed
 * without buttons.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SlackApprovalChannel } from '../../src/adapters/slack-approval-channel';
import { DynamoSlackGroupStore } from '../../src/adapters/slack-group-store';
import { DynamoSlackNoteOutbox } from '../../src/adapters/slack-note-outbox';
import type { ApprovalRecord } from '../../src/domain/approval';
import { groupIdOf } from '../../src/domain/slack-group';
import { GroupMessagePendingError, SlackApiError } from '../../src/errors';
import type { WebClient } from '../../src/slack/client';
import { UNTRUSTED_MEMBER_STATUS } from '../../src/slack/messages/group-message';
import fixture from '../fixtures/approvals/record.json';
import { createSealed, type LocalApprovals, startLocalApprovals } from '../support/seals';

const TABLE = 'policy-gate-slack-group-takeover-test';
const CHANNEL = 'C0TAKEOVER';
const BOT = 'B0POLICYGATE';
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
 * A Slack double: posts are kept (and listed by conversations.history, newest first, with the bot's id),
 * each call answers after `delayMs` so concurrent callers overlap; `loseNextPostAnswer` stores the next post
 * and then fails it as a lost answer would.
 */
function slackDouble(delayMs = 30) {
  const posts: Posted[] = [];
  const updates = { count: 0 };
  let loseNext = false;
  const wait = () => new Promise((resolve) => setTimeout(resolve, delayMs));
  const client = {
    auth: { test: async () => ({ ok: true, bot_id: BOT }) },
    conversations: {
      history: async () => {
        await wait();
        return {
          ok: true,
          has_more: false,
          messages: [...posts].reverse().map((p) => ({
            ts: p.ts,
            bot_id: BOT,
            metadata: { event_type: 'policy_gate_request', ...p.metadata },
          })),
        };
      },
    },
    chat: {
      postMessage: async (args: { metadata?: Posted['metadata']; blocks: unknown[] }) => {
        await wait();
        const ts = `1800000000.${String(posts.length + 1).padStart(6, '0')}`;
        posts.push({ ts, blocks: args.blocks, ...(args.metadata && { metadata: args.metadata }) });
        if (loseNext) {
          loseNext = false;
          throw new SlackApiError('chat.postMessage', 'request_failed', { hint: 'the answer was lost' });
        }
        return { ok: true, channel: CHANNEL, ts };
      },
      update: async (args: { ts: string; blocks: unknown[] }) => {
        updates.count += 1;
        await wait();
        const post = posts.find((p) => p.ts === args.ts);
        if (post) post.blocks = args.blocks;
        return { ok: true };
      },
    },
  };
  return {
    posts,
    updates,
    client: client as unknown as WebClient,
    loseNextPostAnswer: () => {
      loseNext = true;
    },
  };
}

/** Three sealed PENDING records by one actor at one time: one group. */
function threeRequests(): Promise<ApprovalRecord[]> {
  return requests(3);
}

/** `count` sealed PENDING records by one actor at one time: one group (per account). */
async function requests(count: number, accountId?: string): Promise<ApprovalRecord[]> {
  sequence += 1;
  const base = fixture as unknown as ApprovalRecord;
  const now = Date.now();
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      createSealed(local.store, local.seals, {
        ...base,
        approvalId: `takeover-${sequence}-${i}`,
        createdAt: new Date(now).toISOString(),
        updatedAt: new Date(now).toISOString(),
        deadline: new Date(now + 3_600_000).toISOString(),
        ttl: Math.floor(now / 1000) + 86_400,
        change: {
          ...base.change,
          eventId: `event-${sequence}-${i}`,
          eventTime: new Date(now).toISOString(),
          ...(accountId && { accountId }),
        },
      }),
    ),
  );
}

function channel(
  slack: ReturnType<typeof slackDouble>,
  options: { now?: () => number; takeoverAfterMs?: number } = {},
) {
  return new SlackApprovalChannel(async () => slack.client, CHANNEL, {
    grouping: {
      groups,
      records: local.store,
      windowSeconds: WINDOW_SECONDS,
      pageWaitMs: 3_000,
      ...(options.takeoverAfterMs !== undefined && { takeoverAfterMs: options.takeoverAfterMs }),
      trusts: async (record) => (await local.seals.check(record, { quarantine: true })).ok,
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    ...(options.now && { now: options.now }),
  });
}

/** Joins the records to their group and lays them out on one page, as the first request's attempt would. */
async function onOnePage(
  records: readonly ApprovalRecord[],
  extra: { attemptAt?: string } = {},
): Promise<string> {
  const groupId = groupIdOf(records[0] as ApprovalRecord, CHANNEL, WINDOW_SECONDS) as string;
  for (const r of records) await groups.join(groupId, r.approvalId, r.ttl);
  const group = await groups.get(groupId);
  const page = { members: records.map((r) => r.approvalId), laidOutAt: new Date().toISOString(), ...extra };
  expect(await groups.setPages(groupId, [page], group?.revision ?? 0)).toBe(true);
  return groupId;
}

async function tamper(approvalId: string): Promise<void> {
  await local.store.tableAccess().client.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { approvalId },
      UpdateExpression: 'SET requiredApprovals = :one',
      ExpressionAttributeValues: { ':one': 7 },
    }),
  );
}

function payloadOf(post: Posted | undefined): Record<string, unknown> | undefined {
  return post?.metadata?.event_payload;
}

describe('taking over a group page whose poster cannot post', () => {
  test('two members taking over at once from a poster that fails its seals: one wins, one message', async () => {
    // Prepare: the page's poster (its first request) is changed outside PolicyGate before it posted.
    const [poster, a, b] = (await threeRequests()) as [ApprovalRecord, ApprovalRecord, ApprovalRecord];
    const groupId = await onOnePage([poster, a, b]);
    await tamper(poster.approvalId);
    const slack = slackDouble();

    // Act: two deliveries (two functions: two channels, two clients of the store) at the same moment.
    const [refA, refB] = await Promise.all([channel(slack).postRequest(a), channel(slack).postRequest(b)]);

    // Assess: one post, made by the winner in its own name, and both shown on it.
    expect(slack.posts).toHaveLength(1);
    const [post] = slack.posts;
    expect(refA).toEqual({ channel: CHANNEL, ts: post?.ts, groupId });
    expect(refB).toEqual(refA);
    const winner = payloadOf(post)?.approval_id;
    expect([a.approvalId, b.approvalId]).toContain(winner);
    expect(payloadOf(post)?.group_id).toBe(groupId);
    const stored = await groups.get(groupId);
    expect(stored?.pages).toHaveLength(1);
    expect(stored?.pages[0]).toMatchObject({ poster: winner, message: { channel: CHANNEL, ts: post?.ts } });
    // The tampered request is listed, never decidable: its line has no buttons, the others' have theirs.
    const blocks = JSON.stringify(post?.blocks);
    expect(blocks).toContain(UNTRUSTED_MEMBER_STATUS);
    expect(blocks).not.toContain('policy_gate_decision_m1');
    expect(blocks).toContain('policy_gate_decision_m2');
    expect(blocks).toContain('policy_gate_decision_m3');
    // Nothing the tampered record claims is shown beyond its id.
    expect(blocks).toContain(`*1.* approval \`${poster.approvalId}\``);

    // Act: the old poster comes back (a retried step): it is no longer the poster.
    const again = await channel(slack).postRequest(poster);
    // Assess: it updates the message rather than posting.
    expect(slack.posts).toHaveLength(1);
    expect(again).toEqual(refA);
  });

  test('a poster that is not tampered but still inside the takeover bound is waited for, not taken over', async () => {
    // Prepare
    const [poster, a] = (await threeRequests()) as [ApprovalRecord, ApprovalRecord, ApprovalRecord];
    const groupId = await onOnePage([poster, a]);
    const slack = slackDouble(1);
    const member = new SlackApprovalChannel(async () => slack.client, CHANNEL, {
      grouping: { groups, records: local.store, windowSeconds: WINDOW_SECONDS, pageWaitMs: 0 },
    });

    // Act
    const attempt = member.postRequest(a);

    // Assess: nothing posted, the member is told to come back.
    await expect(attempt).rejects.toThrow(/not posted yet/);
    expect(slack.posts).toHaveLength(0);
    expect((await groups.get(groupId))?.pages[0]?.poster).toBeUndefined();
  });

  test('a slow poster whose answer was lost: after the bound the member finds its post and adopts it', async () => {
    // Prepare: the poster's post reaches Slack but its answer is lost; the poster does not come back.
    const [poster, a, b] = (await threeRequests()) as [ApprovalRecord, ApprovalRecord, ApprovalRecord];
    const groupId = await onOnePage([poster, a, b]);
    const slack = slackDouble(1);
    slack.loseNextPostAnswer();
    await expect(channel(slack).postRequest(poster)).rejects.toThrow(SlackApiError);
    expect(slack.posts).toHaveLength(1);
    const later = Date.now() + 121_000;

    // Act: within the bound the member waits; after it, it takes over.
    const early = channel(slack, { takeoverAfterMs: 120_000 }).postRequest(a);
    await expect(early).rejects.toThrow(/not posted yet/);
    const ref = await channel(slack, { now: () => later, takeoverAfterMs: 120_000 }).postRequest(b);

    // Assess: the poster's post is the page's message, found, not posted again.
    expect(slack.posts).toHaveLength(1);
    expect(payloadOf(slack.posts[0])?.approval_id).toBe(poster.approvalId);
    expect(ref).toEqual({ channel: CHANNEL, ts: slack.posts[0]?.ts, groupId });
    expect((await groups.get(groupId))?.pages[0]?.message?.ts).toBe(slack.posts[0]?.ts);
  });

  test('after the bound with no post in the channel, the member posts once in its own name', async () => {
    // Prepare: the poster's attempt began long ago and Slack never stored its post.
    const [poster, a] = (await threeRequests()) as [ApprovalRecord, ApprovalRecord, ApprovalRecord];
    const groupId = await onOnePage([poster, a], { attemptAt: new Date(Date.now() - 200_000).toISOString() });
    const slack = slackDouble(1);

    // Act
    const ref = await channel(slack, { takeoverAfterMs: 120_000 }).postRequest(a);

    // Assess: one post, in the member's name (so its own lost-answer search finds it), listing both.
    expect(slack.posts).toHaveLength(1);
    expect(payloadOf(slack.posts[0])).toEqual({ approval_id: a.approvalId, group_id: groupId });
    expect(ref.ts).toBe(slack.posts[0]?.ts);
    expect(JSON.stringify(slack.posts[0]?.blocks)).toContain(poster.approvalId);
    expect((await groups.get(groupId))?.pages[0]?.poster).toBe(a.approvalId);
  });
});

describe('redrawing a group message under a burst', () => {
  test('a burst of requests joining one message: each shown, in a few updates rather than one each', async () => {
    // Prepare: the first request of a group of its own (another account) posted its message.
    const records = await requests(11, '444455556666');
    const [first, ...rest] = records as [ApprovalRecord, ...ApprovalRecord[]];
    const slack = slackDouble();
    const posted = await channel(slack).postRequest(first);
    const groupId = groupIdOf(first, CHANNEL, WINDOW_SECONDS) as string;

    // Act: the other ten at once, each as its own function would (its own channel and store client).
    const refs = await Promise.all(rest.map((r) => channel(slack).postRequest(r)));

    // Assess: all on the one message, which lists every request.
    expect(slack.posts).toHaveLength(1);
    for (const ref of refs) expect(ref).toEqual(posted);
    const blocks = JSON.stringify(slack.posts[0]?.blocks);
    for (const r of records) expect(blocks).toContain(`approval \`${r.approvalId}\``);
    expect((await groups.get(groupId))?.pages[0]?.drawn).toBe(records.length);
    // One redraw at a time, each showing what arrived meanwhile: not one update per request.
    expect(slack.updates.count).toBeGreaterThan(0);
    expect(slack.updates.count).toBeLessThanOrEqual(rest.length / 2);
  });

  test('a click while another redraw holds the message does not wait for it: its redraw is queued, then done', async () => {
    // Prepare: a posted group message whose redraw another function holds.
    const records = await requests(3, '777788889999');
    const slack = slackDouble();
    const refs = [];
    for (const r of records) refs.push(await channel(slack).postRequest(r));
    const ref = refs[0] as NonNullable<ApprovalRecord['slackMessage']>;
    const groupId = ref.groupId as string;
    const held = new Date(Date.now() + 20_000).toISOString();
    expect(await groups.claimDraw(groupId, 0, new Date().toISOString(), held)).toBe(true);
    const notes = new DynamoSlackNoteOutbox(local.store.tableAccess().client, TABLE);
    const clicked = new SlackApprovalChannel(async () => slack.client, CHANNEL, {
      grouping: { groups, records: local.store, windowSeconds: WINDOW_SECONDS, pageWaitMs: 0 },
      notes,
    });
    const first = records[0] as ApprovalRecord;
    const denied: ApprovalRecord = { ...first, status: 'DENIED', slackMessage: ref };
    const updatesBefore = slack.updates.count;
    // Act: the click's redraw.
    const started = Date.now();
    const shown = clicked.showState(denied);
    // Assess: refused at once (no update), its redraw waiting in the outbox.
    await expect(shown).rejects.toBeInstanceOf(GroupMessagePendingError);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(slack.updates.count).toBe(updatesBefore);
    expect(await notes.get(first.approvalId)).toEqual([{ text: '', redraw: true }]);
    // Act: the other redraw ends; the delivery worker posts what waits.
    await groups.releaseDraw(groupId, 0, held);
    await clicked.flushNotes(denied);
    // Assess: the message was drawn again, and nothing waits.
    expect(slack.updates.count).toBe(updatesBefore + 1);
    expect(await notes.get(first.approvalId)).toEqual([]);
  });
});
