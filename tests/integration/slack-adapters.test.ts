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
import { parseSlackSecret, SecretsManagerSlackCredentials } from '../../src/adapters/slack-credentials';
import { SlackApproverDirectory } from '../../src/adapters/slack-directory';
import type { ApprovalRecord } from '../../src/domain/approval';
import { ConfigError, SlackApiError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { createSlackClient } from '../../src/slack/client';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import record from '../fixtures/approvals/record.json';

const TOKEN = 'xoxb-adapter-test-token';
const SIGNING = 'adapter-test-signing-secret';
const silent = createLogger('test', () => {});

describe('SecretsManagerSlackCredentials', () => {
  let server: LocalSecretsManagerServer;
  let client: SecretsManagerClient;
  beforeEach(async () => {
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

  test('reads the secret once and caches it', async () => {
    // Prepare
    server.putSecret('policy-gate/t/slack', JSON.stringify({ botToken: TOKEN, signingSecret: SIGNING }));
    const source = new SecretsManagerSlackCredentials(client, 'policy-gate/t/slack');
    // Act
    const [first, second] = await Promise.all([source.get(), source.get()]);
    const third = await source.get();
    // Assess
    expect(first).toEqual({ botToken: TOKEN, signingSecret: SIGNING });
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(server.callCount('policy-gate/t/slack')).toBe(1);
  });

  test('a secret not filled yet is a clear ConfigError, and a later call reads again', async () => {
    // Prepare
    const source = new SecretsManagerSlackCredentials(client, 'policy-gate/t/slack');
    // Act
    const missing = source.get();
    await expect(missing).rejects.toThrow(ConfigError);
    await expect(missing).rejects.toThrow(/not found or has no value yet.*botToken.*signingSecret/);
    server.putSecret('policy-gate/t/slack', JSON.stringify({ botToken: TOKEN, signingSecret: SIGNING }));
    // Assess
    await expect(source.get()).resolves.toEqual({ botToken: TOKEN, signingSecret: SIGNING });
  });

  test.each([
    ['empty', '', /is empty/],
    ['not JSON', 'xoxb-123', /is not JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['a user token', JSON.stringify({ botToken: 'xoxp-1', signingSecret: SIGNING }), /botToken must be/],
    ['no signing secret', JSON.stringify({ botToken: TOKEN }), /signingSecret must be/],
  ])('a secret that is %s is refused without echoing its value', (_label, text, problem) => {
    // Act
    const parse = () => parseSlackSecret(text, 'policy-gate/t/slack');
    // Assess
    expect(parse).toThrow(problem);
    try {
      parse();
    } catch (error) {
      if (text) expect((error as Error).message).not.toContain(text);
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
    ['the token is wrong', 'C0POLICYGATE', 'xoxb-wrong', /invalid_auth \(check botToken/],
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
