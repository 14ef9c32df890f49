import type http from 'node:http';
import { verifySlackRequest, webApi } from '@slack/bolt';
import { listenOnLoopback, readBody, send } from '../../local/http-util';

// Bolt's own Web API client (re-exported by Bolt), so the stand-in is tested against the very client Bolt builds.
const { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient } =
  webApi;
type WebClient = webApi.WebClient;
type WebClientOptions = webApi.WebClientOptions;
type WebAPIPlatformError = webApi.WebAPIPlatformError;
type WebAPIRateLimitedError = webApi.WebAPIRateLimitedError;
type WebAPIHTTPError = webApi.WebAPIHTTPError;

import {
  BLOCK_KIT_LIMITS,
  type LocalSlackServer,
  MAX_MESSAGE_TEXT_LENGTH,
  signSlackRequest,
  startSlackServer,
  validateBlocks,
} from '../../local/slack';
import { silentSlackLogger } from '../support/slack';

const TOKEN = 'xoxb-local-test-token';
const CHANNEL = 'C0POLICYGATE';
const ALICE = { id: 'U0ALICE', name: 'alice', realName: 'Alice Approver', email: 'alice@example.com' };
const BOB = { id: 'U0BOB', name: 'bob' };
const GONE = { id: 'U0GONE', name: 'gone', deleted: true };
const SIGNING_SECRET = 'local-signing-secret';

/** A WebClient on the stand-in; an empty token makes it send no Authorization header at all. */
function client(server: LocalSlackServer, token = TOKEN, extra: WebClientOptions = {}) {
  return new WebClient(token, {
    slackApiUrl: server.url,
    logger: silentSlackLogger,
    retryConfig: { retries: 0 },
    ...extra,
  });
}

const button = (actionId: string, value: string, extra: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text: actionId },
  value,
  ...extra,
});

const approvalBlocks = () => [
  { type: 'header', block_id: 'title', text: { type: 'plain_text', text: 'Risky IAM change' } },
  { type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: '*iam:PassRole* on `*`' } },
  {
    type: 'actions',
    block_id: 'decision',
    elements: [
      button('approve', 'approve:abc', { style: 'primary' }),
      button('deny', 'deny:abc', { style: 'danger' }),
    ],
  },
];

/** Code of a rejected WebClient call, or a failure when it resolved. */
async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof WebAPIPlatformError) return err.data.error;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('local Slack Web API stand-in through @slack/web-api WebClient', () => {
  let server: LocalSlackServer;
  let slack: WebClient;

  beforeAll(async () => {
    server = await startSlackServer({
      botToken: TOKEN,
      users: [ALICE, BOB, GONE],
      usergroups: { S0APPROVERS: [ALICE.id, BOB.id] },
      otherChannels: ['C0ELSEWHERE'],
      // Its own suite (local-slack-rate-limits) covers them; here they would only slow the posts down.
      rateLimits: false,
    });
    slack = client(server);
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => server.clear());

  it('listens on loopback and exposes a slackApiUrl ending in /api/', () => {
    // Assess
    const url = new URL(server.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/api/');
  });

  it('answers auth.test with the bot identity', async () => {
    // Act
    const result = await slack.auth.test();

    // Assess
    expect(result).toMatchObject({
      ok: true,
      user_id: server.botUserId,
      bot_id: server.botId,
      team_id: server.teamId,
    });
    expect(result.url).toMatch(/^https:\/\/.+\.slack\.com\/$/);
    expect(typeof result.team).toBe('string');
    expect(typeof result.user).toBe('string');
  });

  it('posts a message with blocks, stores it and answers channel, ts and message', async () => {
    // Prepare
    const blocks = approvalBlocks();

    // Act
    const result = await slack.chat.postMessage({ channel: CHANNEL, text: 'Approval needed', blocks });

    // Assess
    expect(result.ok).toBe(true);
    expect(result.channel).toBe(CHANNEL);
    expect(result.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(result.message).toMatchObject({ text: 'Approval needed', user: server.botUserId, ts: result.ts });
    expect(result.message?.blocks).toEqual(blocks);
    const stored = server.messages(CHANNEL);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ channel: CHANNEL, ts: result.ts, text: 'Approval needed', edits: 0 });
    expect(stored[0]?.blocks).toEqual(blocks);
    // WebClient sends blocks as JSON text inside a form body.
    const call = server.calls.find((c) => c.method === 'chat.postMessage');
    expect(call?.transport).toBe('form');
    expect(JSON.parse(call?.params.blocks as string)).toEqual(blocks);
  });

  it('gives every message a distinct, increasing ts', async () => {
    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => slack.chat.postMessage({ channel: CHANNEL, text: `m${i}` })),
    );

    // Assess
    const stamps = results.map((r) => r.ts as string);
    expect(new Set(stamps).size).toBe(20);
    const sorted = [...stamps].sort((a, b) => Number(a) - Number(b));
    expect(server.messages(CHANNEL).map((m) => m.ts)).toEqual(sorted);
  });

  it('fills in block_id and action_id where Slack would generate them', async () => {
    // Prepare
    const blocks = [
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Go' } }] },
    ];

    // Act
    const result = await slack.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: blocks as never });

    // Assess
    const stored = result.message?.blocks?.[0] as {
      block_id?: string;
      elements: Array<{ action_id?: string }>;
    };
    expect(stored.block_id).toEqual(expect.any(String));
    expect(stored.elements[0]?.action_id).toEqual(expect.any(String));
  });

  it('posts thread replies under an existing top-level message only', async () => {
    // Prepare
    const parent = await slack.chat.postMessage({ channel: CHANNEL, text: 'parent' });
    const parentTs = parent.ts as string;

    // Act
    const reply = await slack.chat.postMessage({ channel: CHANNEL, text: 'reply', thread_ts: parentTs });
    const unknownThread = await slackError(
      slack.chat.postMessage({ channel: CHANNEL, text: 'x', thread_ts: '1600000000.000100' }),
    );
    const replyAsParent = await slackError(
      slack.chat.postMessage({ channel: CHANNEL, text: 'x', thread_ts: reply.ts as string }),
    );

    // Assess
    expect(reply.message?.thread_ts).toBe(parentTs);
    expect(server.messages(CHANNEL).map((m) => m.text)).toEqual(['parent']);
    expect(server.messages(CHANNEL)[0]).toMatchObject({ threadTs: parentTs, replyCount: 1 });
    const replies = server.replies(CHANNEL, parentTs);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ text: 'reply', threadTs: parentTs, ts: reply.ts });
    expect(unknownThread).toBe('thread_not_found');
    expect(replyAsParent).toBe('thread_not_found');
  });

  it('posts to a user id through the DM channel with that user', async () => {
    // Act
    const result = await slack.chat.postMessage({ channel: ALICE.id, text: 'DM' });

    // Assess
    expect(result.channel).toMatch(/^D/);
    expect(server.messages(result.channel as string).map((m) => m.text)).toEqual(['DM']);
  });

  it.each([
    ['an unknown channel', { channel: 'C0NOWHERE', text: 'x' }, 'channel_not_found'],
    ['a channel the bot is not in', { channel: 'C0ELSEWHERE', text: 'x' }, 'not_in_channel'],
    ['neither text nor blocks', { channel: CHANNEL }, 'no_text'],
    ['empty blocks and no text', { channel: CHANNEL, blocks: [] }, 'no_text'],
    [
      'text over 40,000 characters',
      { channel: CHANNEL, text: 'x'.repeat(MAX_MESSAGE_TEXT_LENGTH + 1) },
      'msg_too_long',
    ],
    [
      'blocks that are not an array',
      { channel: CHANNEL, text: 'x', blocks: '{"type":"divider"}' },
      'invalid_blocks_format',
    ],
  ])('rejects chat.postMessage with %s', async (_name, args, expected) => {
    // Act
    const error = await slackError(slack.chat.postMessage(args as never));

    // Assess
    expect(error).toBe(expected);
    expect(server.messages()).toHaveLength(0);
    expect(server.calls.at(-1)).toMatchObject({ method: 'chat.postMessage', ok: false, error: expected });
  });

  it('accepts text of exactly 40,000 characters', async () => {
    // Act
    const result = await slack.chat.postMessage({
      channel: CHANNEL,
      text: 'x'.repeat(MAX_MESSAGE_TEXT_LENGTH),
    });

    // Assess
    expect(result.ok).toBe(true);
  });

  it('rejects invalid blocks on post, update and ephemeral with [ERROR] messages naming the field', async () => {
    // Prepare
    const posted = await slack.chat.postMessage({ channel: CHANNEL, text: 'ok' });
    const bad = [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }];

    // Act
    const attempts = [
      slack.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: bad as never }),
      slack.chat.update({ channel: CHANNEL, ts: posted.ts as string, text: 'x', blocks: bad as never }),
      slack.chat.postEphemeral({ channel: CHANNEL, user: ALICE.id, text: 'x', blocks: bad as never }),
    ];
    const errors = await Promise.all(
      attempts.map((p) =>
        p.then(
          () => undefined,
          (err: unknown) => err,
        ),
      ),
    );

    // Assess
    for (const err of errors) {
      expect(err).toBeInstanceOf(WebAPIPlatformError);
      const data = (err as WebAPIPlatformError).data;
      expect(data.error).toBe('invalid_blocks');
      expect(data.response_metadata?.messages).toEqual([
        expect.stringMatching(
          /^\[ERROR\] must be less than 151 characters \[json-pointer:\/blocks\/0\/text\/text\]$/,
        ),
      ]);
    }
    expect(server.message(CHANNEL, posted.ts as string)).toMatchObject({ text: 'ok', edits: 0 });
    expect(server.ephemerals).toHaveLength(0);
  });

  it('updates a bot message, keeping its edit history', async () => {
    // Prepare
    const posted = await slack.chat.postMessage({
      channel: CHANNEL,
      text: 'pending',
      blocks: approvalBlocks(),
    });
    const ts = posted.ts as string;
    const decided = [{ type: 'section', text: { type: 'mrkdwn', text: 'Approved by <@U0ALICE>' } }];

    // Act
    const first = await slack.chat.update({ channel: CHANNEL, ts, text: 'approved', blocks: decided });
    const second = await slack.chat.update({ channel: CHANNEL, ts, text: 'restored' });

    // Assess
    expect(first).toMatchObject({ ok: true, channel: CHANNEL, ts, text: 'approved' });
    expect(second.message?.text).toBe('restored');
    const stored = server.message(CHANNEL, ts);
    expect(stored?.edits).toBe(2);
    expect(stored?.text).toBe('restored');
    // Text without blocks drops the old blocks, as Slack documents.
    expect(stored?.blocks).toBeUndefined();
    expect(stored?.history.map((v) => v.text)).toEqual(['pending', 'approved']);
    expect(stored?.history[0]?.blocks).toEqual(approvalBlocks());
    expect(stored?.history[1]?.blocks).toEqual([expect.objectContaining({ type: 'section' })]);
  });

  it('refuses updates to missing messages, other users’ messages and unknown channels', async () => {
    // Prepare
    const humanTs = server.injectMessage({ channel: CHANNEL, user: ALICE.id, text: 'written by Alice' });
    const botTs = (await slack.chat.postMessage({ channel: CHANNEL, text: 'bot' })).ts as string;

    // Act
    const missing = await slackError(
      slack.chat.update({ channel: CHANNEL, ts: '1600000000.000100', text: 'x' }),
    );
    const foreign = await slackError(slack.chat.update({ channel: CHANNEL, ts: humanTs, text: 'x' }));
    const noChannel = await slackError(slack.chat.update({ channel: 'C0NOWHERE', ts: botTs, text: 'x' }));
    const empty = await slackError(slack.chat.update({ channel: CHANNEL, ts: botTs } as never));

    // Assess
    expect([missing, foreign, noChannel, empty]).toEqual([
      'message_not_found',
      'cant_update_message',
      'channel_not_found',
      'no_text',
    ]);
    expect(server.message(CHANNEL, humanTs)).toMatchObject({ text: 'written by Alice', edits: 0 });
  });

  it('records ephemeral messages and refuses unknown or deactivated users', async () => {
    // Act
    const result = await slack.chat.postEphemeral({ channel: CHANNEL, user: ALICE.id, text: 'only for you' });
    const unknown = await slackError(
      slack.chat.postEphemeral({ channel: CHANNEL, user: 'U0NOBODY', text: 'x' }),
    );
    const deleted = await slackError(
      slack.chat.postEphemeral({ channel: CHANNEL, user: GONE.id, text: 'x' }),
    );

    // Assess
    expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(server.ephemerals).toEqual([
      {
        channel: CHANNEL,
        user: ALICE.id,
        text: 'only for you',
        blocks: undefined,
        messageTs: result.message_ts,
      },
    ]);
    expect(server.messages()).toHaveLength(0);
    expect([unknown, deleted]).toEqual(['user_not_in_channel', 'user_not_in_channel']);
  });

  it('answers users.info with profile and email, and user_not_found for strangers', async () => {
    // Act
    const alice = await slack.users.info({ user: ALICE.id });
    const bob = await slack.users.info({ user: BOB.id });
    const gone = await slack.users.info({ user: GONE.id });
    const stranger = await slackError(slack.users.info({ user: 'U0NOBODY' }));

    // Assess
    expect(alice.user).toMatchObject({
      id: ALICE.id,
      team_id: server.teamId,
      name: 'alice',
      deleted: false,
      real_name: 'Alice Approver',
      is_bot: false,
      profile: { email: 'alice@example.com', real_name: 'Alice Approver', display_name: 'alice' },
    });
    expect(bob.user?.profile).not.toHaveProperty('email');
    expect(gone.user?.deleted).toBe(true);
    expect(stranger).toBe('user_not_found');
  });

  it('lists usergroup members and follows setUsergroup', async () => {
    // Act
    const before = await slack.usergroups.users.list({ usergroup: 'S0APPROVERS' });
    server.setUsergroup('S0APPROVERS', [BOB.id]);
    const after = await slack.usergroups.users.list({ usergroup: 'S0APPROVERS' });
    const unknown = await slackError(slack.usergroups.users.list({ usergroup: 'S0NOSUCH' }));
    server.setUsergroup('S0APPROVERS', [ALICE.id, BOB.id]);

    // Assess
    expect(before.users).toEqual([ALICE.id, BOB.id]);
    expect(after.users).toEqual([BOB.id]);
    expect(unknown).toBe('no_such_subteam');
  });

  it('answers unknown methods with unknown_method', async () => {
    // Act
    const error = await slackError(slack.apiCall('chat.teleport', { channel: CHANNEL }));

    // Assess
    expect(error).toBe('unknown_method');
  });

  it('rejects a missing token with not_authed and a wrong one with invalid_auth', async () => {
    // Prepare
    const anonymous = client(server, '');
    const impostor = client(server, 'xoxb-wrong');

    // Act
    const missing = await slackError(anonymous.chat.postMessage({ channel: CHANNEL, text: 'x' }));
    const wrong = await slackError(impostor.auth.test());

    // Assess
    expect(missing).toBe('not_authed');
    expect(wrong).toBe('invalid_auth');
    expect(server.messages()).toHaveLength(0);
  });

  it('accepts a token in a form body and Bearer-authenticated JSON bodies, but no token inside JSON', async () => {
    // Act
    const form = await fetch(`${server.url}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    }).then((r) => r.json());
    const json = await fetch(`${server.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ channel: CHANNEL, text: 'from JSON', blocks: approvalBlocks() }),
    }).then((r) => r.json());
    const tokenInJson = await fetch(`${server.url}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ token: TOKEN }),
    }).then((r) => r.json());

    // Assess
    expect(form).toMatchObject({ ok: true, user_id: server.botUserId });
    expect(json).toMatchObject({ ok: true, channel: CHANNEL });
    expect(server.messages(CHANNEL)[0]?.blocks).toEqual(approvalBlocks());
    expect(tokenInJson).toEqual({ ok: false, error: 'not_authed' });
  });

  it('never keeps the token in recorded calls', async () => {
    // Prepare
    await slack.auth.test();
    await fetch(`${server.url}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }).toString(),
    });

    // Act
    const recorded = JSON.stringify(server.calls);

    // Assess
    expect(server.calls).toHaveLength(2);
    expect(recorded).not.toContain(TOKEN);
  });

  it('omits emails when the token lacks users:read.email, and answers missing_scope', async () => {
    // Prepare
    const narrow = await startSlackServer({ botToken: TOKEN, users: [ALICE], scopes: ['users:read'] });
    try {
      const narrowClient = client(narrow);

      // Act
      const info = await narrowClient.users.info({ user: ALICE.id });
      const post = await slackError(narrowClient.chat.postMessage({ channel: CHANNEL, text: 'x' }));

      // Assess
      expect(info.user?.profile).not.toHaveProperty('email');
      expect(info.response_metadata?.scopes).toEqual(['users:read']);
      expect(post).toBe('missing_scope');
    } finally {
      await narrow.close();
    }
  });

  describe('injected faults', () => {
    it('answers 429 with Retry-After and WebClient waits and retries', async () => {
      // Prepare
      server.rateLimit('chat.postMessage', 1, 1);
      const retrying = client(server, TOKEN, { retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 } });
      const started = Date.now();

      // Act
      const result = await retrying.chat.postMessage({ channel: CHANNEL, text: 'after the limit' });

      // Assess
      expect(result.ok).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      const attempts = server.calls.filter((c) => c.method === 'chat.postMessage');
      expect(attempts.map((c) => [c.status, c.error])).toEqual([
        [429, 'ratelimited'],
        [200, undefined],
      ]);
      expect(server.messages(CHANNEL)).toHaveLength(1);
    });

    it('surfaces the Retry-After value to clients that reject rate-limited calls', async () => {
      // Prepare
      server.rateLimit('users.info', 1, 7);
      const impatient = client(server, TOKEN, { rejectRateLimitedCalls: true });

      // Act
      const error = await impatient.users.info({ user: ALICE.id }).catch((err: unknown) => err);

      // Assess
      expect(error).toBeInstanceOf(WebAPIRateLimitedError);
      expect((error as WebAPIRateLimitedError).retryAfter).toBe(7);
    });

    it('fails the next calls with an HTTP status, retried by WebClient until it runs out', async () => {
      // Prepare
      const retrying = client(server, TOKEN, { retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 } });
      server.failNext('chat.postMessage', 1, { status: 503 });

      // Act
      const recovered = await retrying.chat.postMessage({ channel: CHANNEL, text: 'second attempt' });
      server.failNext('chat.postMessage', 3, { status: 500 });
      const exhausted = await retrying.chat
        .postMessage({ channel: CHANNEL, text: 'never' })
        .catch((e: unknown) => e);

      // Assess
      expect(recovered.ok).toBe(true);
      expect(exhausted).toBeInstanceOf(WebAPIHTTPError);
      expect((exhausted as WebAPIHTTPError).statusCode).toBe(500);
      expect(server.messages(CHANNEL).map((m) => m.text)).toEqual(['second attempt']);
      expect(server.calls.map((c) => c.status)).toEqual([503, 200, 500, 500, 500]);
    });

    it('fails the next call with an { ok: false } body, which WebClient does not retry', async () => {
      // Prepare
      server.failNext('chat.update', 1, { error: 'internal_error' });
      const retrying = client(server, TOKEN, { retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 } });
      const ts = (await retrying.chat.postMessage({ channel: CHANNEL, text: 'v1' })).ts as string;

      // Act
      const error = await slackError(retrying.chat.update({ channel: CHANNEL, ts, text: 'v2' }));
      const next = await retrying.chat.update({ channel: CHANNEL, ts, text: 'v2' });

      // Assess
      expect(error).toBe('internal_error');
      expect(next.ok).toBe(true);
      expect(server.calls.filter((c) => c.method === 'chat.update')).toHaveLength(2);
    });

    it('resets the connection, which WebClient reports as a request error', async () => {
      // Prepare
      server.failNext('*', 1, 'reset');

      // Act
      const error = await slack.auth.test().catch((err: unknown) => err);
      const after = await slack.auth.test();

      // Assess
      expect(error).toBeInstanceOf(WebAPIRequestError);
      expect(after.ok).toBe(true);
      expect(server.calls.map((c) => c.status)).toEqual([0, 200]);
    });

    it('answers 503 to everything while down', async () => {
      // Prepare
      server.setDown(true);

      // Act
      const during = await slack.users.info({ user: ALICE.id }).catch((err: unknown) => err);
      server.setDown(false);
      const after = await slack.users.info({ user: ALICE.id });

      // Assess
      expect(during).toBeInstanceOf(WebAPIHTTPError);
      expect((during as WebAPIHTTPError).statusCode).toBe(503);
      expect(after.ok).toBe(true);
    });
  });

  describe('observing calls', () => {
    it('waitFor resolves once a matching message arrives and onCall sees each call', async () => {
      // Prepare
      const seen: string[] = [];
      const unsubscribe = server.onCall((call) => seen.push(call.method));
      const waiting = server.waitFor(() => server.messages(CHANNEL).find((m) => m.text === 'late'), 2000);

      // Act
      await slack.auth.test();
      await slack.chat.postMessage({ channel: CHANNEL, text: 'late' });
      const found = await waiting;
      unsubscribe();
      await slack.auth.test();

      // Assess
      expect(found.text).toBe('late');
      expect(seen).toEqual(['auth.test', 'chat.postMessage']);
    });

    it('waitFor rejects after its timeout', async () => {
      // Act
      const outcome = server.waitFor(() => server.messages().length > 0, 50);

      // Assess
      await expect(outcome).rejects.toThrow('within 50 ms');
    });
  });
});

describe('Block Kit validation', () => {
  const text = (n: number) => 'x'.repeat(n);
  const plain = (n: number) => ({ type: 'plain_text', text: text(n) });
  const confirm = (overrides: Record<string, unknown> = {}) => ({
    title: plain(10),
    text: plain(10),
    confirm: plain(5),
    deny: plain(5),
    ...overrides,
  });
  const actions = (...elements: unknown[]) => [{ type: 'actions', elements }];
  const L = BLOCK_KIT_LIMITS;

  // Each case: blocks at the limit (accepted) and just past it (rejected at the given pointer).
  it.each([
    [
      'block count',
      Array.from({ length: L.maxBlocks }, () => ({ type: 'divider' })),
      Array.from({ length: L.maxBlocks + 1 }, () => ({ type: 'divider' })),
      '/blocks',
    ],
    [
      'section text',
      [{ type: 'section', text: { type: 'mrkdwn', text: text(L.sectionTextLength) } }],
      [{ type: 'section', text: { type: 'mrkdwn', text: text(L.sectionTextLength + 1) } }],
      '/blocks/0/text/text',
    ],
    [
      'section field count',
      [{ type: 'section', fields: Array.from({ length: L.sectionFields }, () => plain(1)) }],
      [{ type: 'section', fields: Array.from({ length: L.sectionFields + 1 }, () => plain(1)) }],
      '/blocks/0/fields',
    ],
    [
      'section field length',
      [{ type: 'section', fields: [plain(L.sectionFieldLength)] }],
      [{ type: 'section', fields: [plain(L.sectionFieldLength + 1)] }],
      '/blocks/0/fields/0/text',
    ],
    [
      'header text',
      [{ type: 'header', text: plain(L.headerTextLength) }],
      [{ type: 'header', text: plain(L.headerTextLength + 1) }],
      '/blocks/0/text/text',
    ],
    [
      'context elements',
      [{ type: 'context', elements: Array.from({ length: L.contextElements }, () => plain(1)) }],
      [{ type: 'context', elements: Array.from({ length: L.contextElements + 1 }, () => plain(1)) }],
      '/blocks/0/elements',
    ],
    [
      'actions elements',
      actions(...Array.from({ length: L.actionsElements }, (_, i) => button(`a${i}`, 'v'))),
      actions(...Array.from({ length: L.actionsElements + 1 }, (_, i) => button(`a${i}`, 'v'))),
      '/blocks/0/elements',
    ],
    [
      'block_id length',
      [{ type: 'divider', block_id: text(L.blockIdLength) }],
      [{ type: 'divider', block_id: text(L.blockIdLength + 1) }],
      '/blocks/0/block_id',
    ],
    [
      'button action_id length',
      actions({ ...button('a', 'v'), action_id: text(L.actionIdLength) }),
      actions({ ...button('a', 'v'), action_id: text(L.actionIdLength + 1) }),
      '/blocks/0/elements/0/action_id',
    ],
    [
      'button text length',
      actions({ ...button('a', 'v'), text: plain(L.buttonTextLength) }),
      actions({ ...button('a', 'v'), text: plain(L.buttonTextLength + 1) }),
      '/blocks/0/elements/0/text/text',
    ],
    [
      'button value length',
      actions(button('a', text(L.buttonValueLength))),
      actions(button('a', text(L.buttonValueLength + 1))),
      '/blocks/0/elements/0/value',
    ],
    [
      'button url length',
      actions(button('a', 'v', { url: `https://e.x/${text(L.buttonUrlLength - 12)}` })),
      actions(button('a', 'v', { url: `https://e.x/${text(L.buttonUrlLength - 11)}` })),
      '/blocks/0/elements/0/url',
    ],
    [
      'confirm title length',
      actions(button('a', 'v', { confirm: confirm({ title: plain(L.confirmTitleLength) }) })),
      actions(button('a', 'v', { confirm: confirm({ title: plain(L.confirmTitleLength + 1) }) })),
      '/blocks/0/elements/0/confirm/title/text',
    ],
    [
      'confirm text length',
      actions(
        button('a', 'v', { confirm: confirm({ text: { type: 'mrkdwn', text: text(L.confirmTextLength) } }) }),
      ),
      actions(
        button('a', 'v', {
          confirm: confirm({ text: { type: 'mrkdwn', text: text(L.confirmTextLength + 1) } }),
        }),
      ),
      '/blocks/0/elements/0/confirm/text/text',
    ],
    [
      'confirm button length',
      actions(button('a', 'v', { confirm: confirm({ confirm: plain(L.confirmButtonLength) }) })),
      actions(button('a', 'v', { confirm: confirm({ confirm: plain(L.confirmButtonLength + 1) }) })),
      '/blocks/0/elements/0/confirm/confirm/text',
    ],
    [
      'confirm deny length',
      actions(button('a', 'v', { confirm: confirm({ deny: plain(L.confirmButtonLength) }) })),
      actions(button('a', 'v', { confirm: confirm({ deny: plain(L.confirmButtonLength + 1) }) })),
      '/blocks/0/elements/0/confirm/deny/text',
    ],
  ])('enforces the %s limit', (_name, atLimit, overLimit, pointer) => {
    // Act
    const accepted = validateBlocks(atLimit);
    const rejected = validateBlocks(overLimit);

    // Assess
    expect(accepted).toEqual([]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toContain(`[json-pointer:${pointer}]`);
  });

  it.each([
    [
      'a duplicate block_id',
      [
        { type: 'divider', block_id: 'b' },
        { type: 'divider', block_id: 'b' },
      ],
      '/blocks/1/block_id',
    ],
    [
      'a duplicate action_id in a block',
      actions(button('a', '1'), button('a', '2')),
      '/blocks/0/elements/1/action_id',
    ],
    [
      'a button style other than primary or danger',
      actions(button('a', 'v', { style: 'warning' })),
      '/blocks/0/elements/0/style',
    ],
    [
      'a confirm style other than primary or danger',
      actions(button('a', 'v', { confirm: confirm({ style: 'loud' }) })),
      '/blocks/0/elements/0/confirm/style',
    ],
    [
      'a confirm without deny',
      actions(button('a', 'v', { confirm: confirm({ deny: undefined }) })),
      '/blocks/0/elements/0/confirm/deny',
    ],
    [
      'mrkdwn button text',
      actions({ ...button('a', 'v'), text: { type: 'mrkdwn', text: 'Go' } }),
      '/blocks/0/elements/0/text/type',
    ],
    ['mrkdwn header text', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }], '/blocks/0/text/type'],
    ['an unknown text type', [{ type: 'section', text: { type: 'html', text: 'h' } }], '/blocks/0/text/type'],
    ['empty text', [{ type: 'section', text: { type: 'mrkdwn', text: '' } }], '/blocks/0/text/text'],
    ['a section with neither text nor fields', [{ type: 'section' }], '/blocks/0'],
    ['an unknown block type', [{ type: 'carousel' }], '/blocks/0/type'],
    ['an unknown element type', actions({ type: 'slider', action_id: 's' }), '/blocks/0/elements/0/type'],
    ['a button without text', actions({ type: 'button', action_id: 'a' }), '/blocks/0/elements/0/text'],
  ])('rejects %s', (_name, blocks, pointer) => {
    // Act
    const problems = validateBlocks(blocks);

    // Assess
    expect(problems).toEqual([expect.stringContaining(`[json-pointer:${pointer}]`)]);
  });

  it('accepts the same action_id in different blocks and a full approval message', () => {
    // Prepare
    const blocks = [...approvalBlocks(), { type: 'actions', elements: [button('approve', 'other')] }];

    // Act
    const problems = validateBlocks(blocks);

    // Assess
    expect(problems).toEqual([]);
  });

  it('rejects blocks that are not an array', () => {
    // Act
    const problems = validateBlocks({ type: 'divider' });

    // Assess
    expect(problems).toEqual(['must provide an array [json-pointer:/blocks]']);
  });
});

describe('signed block_actions delivery', () => {
  let server: LocalSlackServer;
  let slack: WebClient;
  let endpoint: { close(): Promise<void>; url: string };
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    server = await startSlackServer({ botToken: TOKEN, users: [ALICE, BOB] });
    slack = client(server);
    const started = await listenOnLoopback(async (req, res) => {
      const body = (await readBody(req, 1024 * 1024)).toString('utf8');
      received.push({ headers: req.headers, body });
      send(res, 200, 'text/plain', '');
    });
    endpoint = { close: started.close, url: `${started.endpoint}/slack/events` };
  });

  afterAll(async () => {
    await endpoint.close();
    await server.close();
  });

  beforeEach(() => {
    received.length = 0;
    server.clear();
  });

  /** Runs Bolt's own verification over what the endpoint received. */
  const boltVerifies = (request: { headers: http.IncomingHttpHeaders; body: string }): boolean => {
    try {
      verifySlackRequest({
        signingSecret: SIGNING_SECRET,
        body: request.body,
        headers: {
          'x-slack-signature': String(request.headers['x-slack-signature']),
          'x-slack-request-timestamp': Number(request.headers['x-slack-request-timestamp']),
        },
      });
      return true;
    } catch {
      return false;
    }
  };

  it('signSlackRequest matches the documented HMAC of v0:timestamp:body', () => {
    // Act
    const signature = signSlackRequest(SIGNING_SECRET, 1_700_000_000, 'payload=%7B%7D');

    // Assess
    expect(signature).toMatch(/^v0=[0-9a-f]{64}$/);
    expect(
      verifySlackRequest({
        signingSecret: SIGNING_SECRET,
        body: 'payload=%7B%7D',
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': 1_700_000_000 },
        nowMilliseconds: 1_700_000_000_000,
      }),
    ).toBeUndefined();
  });

  it('posts a Slack-shaped, correctly signed payload for a click on a stored message', async () => {
    // Prepare
    const posted = await slack.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: approvalBlocks(),
    });

    // Act
    const result = await server.deliverBlockAction({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      user: { id: ALICE.id },
      action: { actionId: 'approve' },
    });

    // Assess
    expect(result.status).toBe(200);
    expect(received).toHaveLength(1);
    const request = received[0] as { headers: http.IncomingHttpHeaders; body: string };
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.headers['user-agent']).toBe('Slackbot 1.0 (+https://api.slack.com/robots)');
    expect(boltVerifies(request)).toBe(true);
    const payload = JSON.parse(new URLSearchParams(request.body).get('payload') as string);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: ALICE.id, username: 'alice', name: 'alice', team_id: server.teamId },
      container: { type: 'message', message_ts: posted.ts, channel_id: CHANNEL, is_ephemeral: false },
      team: { id: server.teamId },
      channel: { id: CHANNEL },
      message: { ts: posted.ts, text: 'Approve?', blocks: approvalBlocks() },
      state: { values: {} },
      actions: [
        {
          action_id: 'approve',
          block_id: 'decision',
          value: 'approve:abc',
          style: 'primary',
          type: 'button',
          text: { type: 'plain_text', text: 'approve' },
        },
      ],
    });
    expect(payload.actions[0].action_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(typeof payload.trigger_id).toBe('string');
    expect(typeof payload.token).toBe('string');
    expect(payload.response_url.startsWith(`${server.origin}/actions/`)).toBe(true);
  });

  it.each([
    ['a flipped signature digit', { tamper: 'signature' as const }],
    ['a body changed after signing', { tamper: 'body' as const }],
    ['a timestamp header other than the signed one', { tamper: 'timestamp' as const }],
    ['a request six minutes old', { timestampOffsetSeconds: -360 }],
  ])('produces requests Bolt rejects for %s', async (_name, spoil) => {
    // Prepare
    await slack.chat.postMessage({ channel: CHANNEL, text: 'Approve?', blocks: approvalBlocks() });

    // Act
    await server.deliverBlockAction({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      user: { id: BOB.id },
      action: { actionId: 'deny' },
      ...spoil,
    });

    // Assess
    expect(received).toHaveLength(1);
    expect(boltVerifies(received[0] as { headers: http.IncomingHttpHeaders; body: string })).toBe(false);
  });

  it('applies response_url answers: replace the original, or an ephemeral to the clicking user', async () => {
    // Prepare
    const posted = await slack.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: approvalBlocks(),
    });
    const ts = posted.ts as string;
    const delivery = await server.deliverBlockAction({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      user: { id: ALICE.id },
      action: { actionId: 'approve' },
      message: { channel: CHANNEL, ts },
    });
    const responseUrl = delivery.payload.response_url;

    // Act
    const replaced = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'Approved by Alice' }),
    });
    const ephemeral = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Thanks' }),
    });
    const unknown = await fetch(`${server.origin}/actions/T0/1/nope`, { method: 'POST', body: '{}' });

    // Assess
    expect([replaced.status, ephemeral.status, unknown.status]).toEqual([200, 200, 404]);
    expect(await replaced.json()).toEqual({ ok: true });
    expect(server.message(CHANNEL, ts)).toMatchObject({ text: 'Approved by Alice', edits: 1 });
    expect(server.ephemerals).toEqual([expect.objectContaining({ user: ALICE.id, text: 'Thanks' })]);
    expect(server.responseUrlPosts.map((p) => [p.messageTs, p.userId, p.status])).toEqual([
      [ts, ALICE.id, 200],
      [ts, ALICE.id, 200],
    ]);
  });

  it('delivers a stale click on a button a later update removed, with the current message', async () => {
    // Prepare
    const posted = await slack.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: approvalBlocks(),
    });
    const ts = posted.ts as string;
    await slack.chat.update({ channel: CHANNEL, ts, text: 'Expired' });

    // Act
    const result = await server.deliverBlockAction({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      user: { id: BOB.id },
      action: { actionId: 'approve' },
    });

    // Assess
    expect(result.payload.actions[0]).toMatchObject({
      action_id: 'approve',
      block_id: 'decision',
      value: 'approve:abc',
    });
    expect(result.payload.message).toMatchObject({ ts, text: 'Expired' });
    expect(result.payload.message).not.toHaveProperty('blocks');
    expect(boltVerifies(received[0] as { headers: http.IncomingHttpHeaders; body: string })).toBe(true);
  });

  it('refuses to deliver a click on a button no stored message has', async () => {
    // Act
    const attempt = server.deliverBlockAction({
      url: endpoint.url,
      signingSecret: SIGNING_SECRET,
      user: { id: ALICE.id },
      action: { actionId: 'approve' },
    });

    // Assess
    await expect(attempt).rejects.toThrow("no stored message has a button with action_id 'approve'");
    expect(received).toHaveLength(0);
  });
});
