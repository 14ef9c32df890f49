/**
 * The Slack adapters against the stand-ins: the credentials source over the local Secrets Manager, the
 * approver directory and the approval channel over the local Slack Web API, each with the real SDK client.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type LocalSecretsManagerServer,
  startSecretsManagerServer,
} from '../../local/secrets-manager/server';
import { type LocalSlackServer, startSlackServer, validateBlocks } from '../../local/slack';
import { SlackApprovalChannel } from '../../src/adapters/slack-approval-channel';
import {
  BOT_TOKEN,
  parseSecretText,
  SecretsManagerSecret,
  SIGNING_SECRET,
} from '../../src/adapters/slack-credentials';
import { SlackApproverDirectory } from '../../src/adapters/slack-directory';
import type { ApprovalRecord } from '../../src/domain/approval';
import { ConfigError, SlackApiError, TransientError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { createSlackClient, slackClientFactory } from '../../src/slack/client';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import record from '../fixtures/approvals/record.json';

const TOKEN = 'xoxb-adapter-test-token';
const SIGNING = '0123456789abcdef0123456789abcdef';
const silent = createLogger('test', () => {});

describe('SecretsManagerSecret: the two Slack secrets, cached with a time-to-live', () => {
  let server: LocalSecretsManagerServer;
  let client: SecretsManagerClient;
  let clock: number;
  const now = () => clock;
  const tokenSource = (ttlSeconds = 300) =>
    new SecretsManagerSecret(client, 'policy-gate/t/bot-token', BOT_TOKEN, { ttlSeconds, now });
  const signingSource = (ttlSeconds = 300) =>
    new SecretsManagerSecret(client, 'policy-gate/t/signing', SIGNING_SECRET, { ttlSeconds, now });
  beforeEach(async () => {
    clock = 1_000_000;
    server = await startSecretsManagerServer();
    client = new SecretsManagerClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterEach(async () => {
    client.destroy();
    await server.close();
  });

  test('reads each secret once while its value is younger than the TTL', async () => {
    // Prepare
    server.putSecret('policy-gate/t/bot-token', TOKEN);
    server.putSecret('policy-gate/t/signing', SIGNING);
    const token = tokenSource();
    const signing = signingSource();
    // Act
    const [first, second] = await Promise.all([token.get(), token.get()]);
    clock += 299_000;
    const third = await token.get();
    const secret = await signing.get();
    // Assess
    expect([first, second, third]).toEqual([TOKEN, TOKEN, TOKEN]);
    expect(secret).toBe(SIGNING);
    expect(server.callCount('policy-gate/t/bot-token')).toBe(1);
    expect(server.callCount('policy-gate/t/signing')).toBe(1);
  });

  test('a rotation (PutSecretValue) is picked up once the TTL has passed, without a new container', async () => {
    // Prepare
    server.putSecret('policy-gate/t/signing', SIGNING);
    const signing = signingSource(60);
    await signing.get();
    server.putSecret('policy-gate/t/signing', `${SIGNING}-rotated`);
    // Act
    const before = await signing.get();
    clock += 60_000;
    const after = await signing.get();
    // Assess
    expect(before).toBe(SIGNING);
    expect(after).toBe(`${SIGNING}-rotated`);
    expect(server.callCount('policy-gate/t/signing')).toBe(2);
  });

  test('refresh re-reads only a value older than 30 s, so a flood of bad requests costs one read', async () => {
    // Prepare
    server.putSecret('policy-gate/t/signing', SIGNING);
    const signing = signingSource();
    await signing.get();
    server.putSecret('policy-gate/t/signing', `${SIGNING}-rotated`);
    // Act
    const tooSoon = await Promise.all(Array.from({ length: 20 }, () => signing.refresh()));
    const readsTooSoon = server.callCount('policy-gate/t/signing');
    clock += 30_000;
    const flood = await Promise.all(Array.from({ length: 20 }, () => signing.refresh()));
    const later = await Promise.all([signing.refresh(), signing.get()]);
    // Assess
    expect(tooSoon.every((value) => value === undefined)).toBe(true);
    expect(readsTooSoon).toBe(1);
    expect(flood).toContain(`${SIGNING}-rotated`);
    expect(later).toEqual([undefined, `${SIGNING}-rotated`]);
    expect(server.callCount('policy-gate/t/signing')).toBe(2);
  });

  test('a secret not filled yet is a clear ConfigError, not cached: a later call reads again', async () => {
    // Prepare
    const token = tokenSource();
    // Act
    const missing = token.get();
    await expect(missing).rejects.toThrow(ConfigError);
    await expect(missing).rejects.toThrow(/Slack bot token secret .* not found or has no value yet.*xoxb-/);
    server.putSecret('policy-gate/t/bot-token', TOKEN);
    // Assess
    await expect(token.get()).resolves.toBe(TOKEN);
  });

  test('a failed read is not cached and the expired value is not used in its place', async () => {
    // Prepare
    server.putSecret('policy-gate/t/bot-token', TOKEN);
    const token = tokenSource(10);
    await token.get();
    clock += 10_000;
    server.failNext(1);
    // Act
    const failed = token.get();
    // Assess
    await expect(failed).rejects.toThrow(TransientError);
    await expect(token.get()).resolves.toBe(TOKEN);
  });

  test.each([
    ['empty', BOT_TOKEN, '', /is empty/],
    [
      'the old combined JSON',
      BOT_TOKEN,
      JSON.stringify({ botToken: TOKEN, signingSecret: SIGNING }),
      /holds JSON/,
    ],
    ['a user token', BOT_TOKEN, 'xoxp-1234567890-abcdef', /is not a bot token/],
    ['padded with a newline', BOT_TOKEN, `${TOKEN}\n`, /white space around it/],
    ['a bot token in the signing secret', SIGNING_SECRET, TOKEN, /holds a Slack token/],
    ['too short a signing secret', SIGNING_SECRET, 'abc123', /is not a signing secret/],
    ['a signing secret with spaces', SIGNING_SECRET, 'abc 123 def 456 ghi 789', /is not a signing secret/],
  ])('a secret that is %s is refused without echoing its value', (_label, kind, text, problem) => {
    // Act
    const parse = () => parseSecretText(text, kind, 'policy-gate/t/secret');
    // Assess
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(problem);
    try {
      parse();
    } catch (error) {
      if (text.trim()) expect((error as Error).message).not.toContain(text.trim());
    }
  });

  test('a bot token Slack refuses (token_revoked) is re-read once and the call made with the new one', async () => {
    // Prepare: the token was rotated in Slack and in the secret; this container still caches the old one.
    server.putSecret('policy-gate/t/bot-token', TOKEN);
    const slack = await startSlackServer({ botToken: TOKEN });
    const token = tokenSource();
    const clients = slackClientFactory(token, silent, slack.url);
    try {
      await (await clients('interactive')).auth.test();
      slack.rotateBotToken(`${TOKEN}-rotated`);
      server.putSecret('policy-gate/t/bot-token', `${TOKEN}-rotated`);
      clock += 30_000;
      // Act
      const answer = await (await clients('interactive')).auth.test();
      const next = await (await clients('interactive')).auth.test();
      // Assess
      expect(answer.ok).toBe(true);
      expect(next.ok).toBe(true);
      expect(server.callCount('policy-gate/t/bot-token')).toBe(2);
      expect(slack.calls.map((call) => call.error ?? 'ok')).toEqual(['ok', 'token_revoked', 'ok', 'ok']);
    } finally {
      await slack.close();
    }
  });

  test('a revoked token that was not rotated fails, and does not make every call read the secret', async () => {
    // Prepare
    server.putSecret('policy-gate/t/bot-token', TOKEN);
    const slack = await startSlackServer({ botToken: TOKEN });
    const clients = slackClientFactory(tokenSource(), silent, slack.url);
    try {
      await (await clients('interactive')).auth.test();
      slack.rotateBotToken(`${TOKEN}-elsewhere`);
      clock += 30_000;
      // Act
      const calls = await Promise.allSettled(
        Array.from({ length: 5 }, async () => (await clients('interactive')).auth.test()),
      );
      // Assess
      expect(calls.every((call) => call.status === 'rejected')).toBe(true);
      expect(server.callCount('policy-gate/t/bot-token')).toBe(2);
    } finally {
      await slack.close();
    }
  });
});

describe('SlackApproverDirectory and SlackApprovalChannel over the Slack stand-in', () => {
  let slack: LocalSlackServer;
  beforeEach(async () => {
    slack = await startSlackServer({
      botToken: TOKEN,
      users: [
        { id: 'U0ANA', name: 'ana', realName: 'Ana Approver', email: 'ana@example.com' },
        { id: 'U0SAM', name: 'sam', realName: 'Sam Secops', email: 'sam@example.com' },
        { id: 'U0GONE', name: 'gone', realName: 'Gone', email: 'gone@example.com', deleted: true },
        { id: 'U0BOT', name: 'bot', realName: 'A Bot', isBot: true },
      ],
      usergroups: { S0SECOPS: ['U0SAM', 'U0GONE', 'U0BOT'] },
    });
  });
  afterEach(async () => {
    await slack.close();
  });

  const client = () => Promise.resolve(createSlackClient(TOKEN, 'interactive', silent, slack.url));
  const directory = (
    settings: Partial<ConstructorParameters<typeof SlackApproverDirectory>[1]> = {},
    now = Date.now,
  ) =>
    new SlackApproverDirectory(
      client,
      { userIds: ['U0ANA'], usergroupIds: ['S0SECOPS'], cacheSeconds: 60, ...settings },
      now,
    );

  test.each([
    ['a listed user', 'U0ANA', true, undefined],
    ['a user-group member', 'U0SAM', true, undefined],
    ['a deactivated member', 'U0GONE', false, /deactivated/],
    ['a bot in the group', 'U0BOT', false, /bots/],
    ['an unknown user', 'U0NOBODY', false, /could not be found/],
  ])('%s: approver %s', async (_label, userId, approver, reason) => {
    // Act
    const entry = await directory().lookUp(userId);
    // Assess
    expect(entry.approver).toBe(approver);
    if (reason) expect(entry).toHaveProperty('reason', expect.stringMatching(reason));
  });

  test('the identity comes from users.info: real name and verified e-mail', async () => {
    expect(await directory().lookUp('U0SAM')).toEqual({
      approver: true,
      identity: { id: 'U0SAM', name: 'Sam Secops', email: 'sam@example.com' },
    });
  });

  test('user-group membership is cached for the configured time, then read again', async () => {
    // Prepare
    let now = 1_000_000;
    const dir = directory({}, () => now);
    await dir.lookUp('U0SAM');
    slack.setUsergroup('S0SECOPS', []);
    // Act
    const cached = await dir.lookUp('U0SAM');
    now += 61_000;
    const refreshed = await dir.lookUp('U0SAM');
    // Assess
    expect(cached.approver).toBe(true);
    expect(refreshed.approver).toBe(false);
    expect(slack.calls.filter((c) => c.method === 'usergroups.users.list')).toHaveLength(2);
  });

  test('with no approvers configured everyone is refused, without asking Slack', async () => {
    // Act
    const entry = await directory({ userIds: [], usergroupIds: [] }).lookUp('U0ANA');
    // Assess
    expect(entry).toMatchObject({
      approver: false,
      reason: expect.stringMatching(/no approvers are configured/),
    });
    expect(slack.calls).toEqual([]);
  });

  test('Slack failing makes the look-up throw SlackApiError: nobody is let through unverified', async () => {
    // Prepare
    slack.failNext('usergroups.users.list', 5, { status: 500 });
    // Act
    const lookUp = directory().lookUp('U0SAM');
    // Assess
    await expect(lookUp).rejects.toThrow(SlackApiError);
  });

  test('the channel posts the request, then replaces its buttons and writes the thread', async () => {
    // Prepare
    const channel = new SlackApprovalChannel(
      () => Promise.resolve(createSlackClient(TOKEN, 'workflow', silent, slack.url)),
      'C0POLICYGATE',
    );
    const pending = record as unknown as ApprovalRecord;
    // Act
    const ref = await channel.postRequest(pending);
    const decided: ApprovalRecord = {
      ...pending,
      status: 'DENIED',
      slackMessage: ref,
      decision: {
        decision: 'DENIED',
        decidedBy: { id: 'U0ANA', name: 'Ana Approver', channel: 'slack' },
        decidedAt: '2025-03-11T10:00:00.000Z',
        approvalId: pending.approvalId,
      },
    };
    await channel.showState(decided, 'Denied: the change stays quarantined.');
    await channel.tell('U0SAM', 'Already decided.', decided);
    // Assess
    const message = slack.message(ref.channel, ref.ts);
    expect(message?.edits).toBe(1);
    expect(validateBlocks(message?.blocks)).toEqual([]);
    expect(JSON.stringify(message?.blocks)).not.toContain(APPROVE_ACTION_ID);
    expect(JSON.stringify(message?.blocks)).toContain('Denied by <@U0ANA>');
    expect(slack.replies(ref.channel, ref.ts).map((r) => r.text)).toEqual([
      expect.stringContaining('Denied: the change stays quarantined.'),
    ]);
    expect(slack.ephemerals).toEqual([expect.objectContaining({ user: 'U0SAM', channel: ref.channel })]);
  });
});

describe('Slack set-up mistakes explain themselves', () => {
  test.each([
    ['the bot is not in the channel', 'C0ELSEWHERE', TOKEN, /not_in_channel \(invite the PolicyGate bot/],
    ['the channel does not exist', 'C0NOWHERE', TOKEN, /channel_not_found \(check slackChannelId/],
    ['the token is wrong', 'C0POLICYGATE', 'xoxb-wrong', /invalid_auth \(check the bot token secret/],
  ])('%s', async (_label, channelId, token, message) => {
    // Prepare
    const slack = await startSlackServer({ botToken: TOKEN, otherChannels: ['C0ELSEWHERE'] });
    const channel = new SlackApprovalChannel(
      () => Promise.resolve(createSlackClient(token, 'interactive', silent, slack.url)),
      channelId,
    );
    try {
      // Act
      const posting = channel.postRequest(record as unknown as ApprovalRecord);
      // Assess
      await expect(posting).rejects.toThrow(SlackApiError);
      await expect(posting).rejects.toThrow(message);
    } finally {
      await slack.close();
    }
  });
});

describe('audit lines from the workflow are plain text', () => {
  test('an IAM name with Slack markup in a workflow event is shown, not acted on', async () => {
    // Prepare
    const slack = await startSlackServer({ botToken: TOKEN });
    const channel = new SlackApprovalChannel(
      () => Promise.resolve(createSlackClient(TOKEN, 'interactive', silent, slack.url)),
      'C0POLICYGATE',
    );
    try {
      const ref = await channel.postRequest(record as unknown as ApprovalRecord);
      // Act
      await channel.showState(
        { ...(record as unknown as ApprovalRecord), status: 'CONFLICT', slackMessage: ref },
        'Approved, but NOT restored: policy <https://evil.example|click me> changed <!channel>',
      );
      // Assess
      const [reply] = slack.replies(ref.channel, ref.ts);
      expect(reply?.text).toContain('&lt;https://evil.example|click me&gt;');
      expect(reply?.text).not.toMatch(/<https:|<!channel>/);
    } finally {
      await slack.close();
    }
  });
});
