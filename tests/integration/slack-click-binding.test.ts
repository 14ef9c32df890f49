/**
 * Clicks are bound to their workspace, app and message, and the interactivity endpoint refuses whatever
 * is not a sound, signed, current click: the real handlers and the Slack stand-in, clicks delivered
 * signed over HTTP to the local Function URL exactly as Slack would, each attack ending with nothing
 * decided (the record still PENDING, no SendTaskSuccess) and a warn-level log of the attempt.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { WebClient } from '@slack/web-api';
import { startLambdaUrlServer } from '../../local/lambda-url/server';
import {
  type Sandbox,
  SLACK_BOT_TOKEN,
  SLACK_BOT_TOKEN_SECRET,
  SLACK_CHANNEL,
  SLACK_SIGNING_SECRET,
  SLACK_SIGNING_SECRET_NAME,
  SLACK_USERS,
  startSandbox,
} from '../../local/sandbox';
import { type BlockActionsPayload, deliverSignedBody, findButton } from '../../local/slack';
import { BOT_TOKEN, SecretsManagerSecret, SIGNING_SECRET } from '../../src/adapters/slack-credentials';
import { dependencies, resetDependencies } from '../../src/app/dependencies';
import { createLogger } from '../../src/logger';
import { createSlackApp } from '../../src/slack/app';
import {
  APPROVE_ACTION_ID,
  DECISION_BLOCK_ID,
  DENY_ACTION_ID,
} from '../../src/slack/messages/approval-message';
import { captureLogs, type LogEntry, pendingApproval } from '../support/slack';

const risky = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};

async function createPolicy(sandbox: Sandbox, name: string): Promise<void> {
  await sandbox.developer.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(risky) }),
  );
}

const sendTaskSuccessCalls = (sandbox: Sandbox) =>
  sandbox.sfn.callbacks.filter((callback) => callback.operation === 'SendTaskSuccess').length;

const warnings = (entries: LogEntry[]) => entries.filter((entry) => entry.level === 'warn');
const errors = (entries: LogEntry[]) => entries.filter((entry) => entry.level === 'error');

/** Nothing was decided: the record is still PENDING, the workflow still waits, no SendTaskSuccess. */
async function expectNothingDecided(sandbox: Sandbox, approvalId: string): Promise<void> {
  expect(await sandbox.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  expect(sandbox.sfn.pendingTasks().length).toBeGreaterThanOrEqual(1);
  expect(sendTaskSuccessCalls(sandbox)).toBe(0);
}

/** The bot token's holder posts a copy of a request's blocks (Approve button included) somewhere. */
async function postCopy(sandbox: Sandbox, approvalId: string, channel: string): Promise<string> {
  const ref = (await sandbox.store.get(approvalId))?.slackMessage;
  const original = ref && sandbox.slack.message(ref.channel, ref.ts);
  if (!original) throw new Error('no request message');
  const client = new WebClient(SLACK_BOT_TOKEN, { slackApiUrl: sandbox.slack.url });
  const copy = await client.chat.postMessage({
    channel,
    text: original.text,
    blocks: original.blocks as never,
  });
  return copy.ts as string;
}

/** An operator's rotation: PutSecretValue through the SDK, as the README's steps do it. */
async function rotate(sandbox: Sandbox, name: string, value: string): Promise<void> {
  const client = new SecretsManagerClient({
    endpoint: sandbox.secrets.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDOPERATOR', secretAccessKey: 'local' },
  });
  try {
    await client.send(
      new PutSecretValueCommand({ SecretId: sandbox.secrets.arnOf(name), SecretString: value }),
    );
  } finally {
    client.destroy();
  }
}

describe('clicks are bound to their workspace and app', () => {
  let sandbox: Sandbox;
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(async () => {
    await sandbox?.close();
    logs.restore();
  });

  test.each<[string, (payload: BlockActionsPayload) => void, RegExp]>([
    [
      'another workspace (team id)',
      (p) => {
        if (p.team) p.team.id = 'T0ELSEWHERE';
      },
      /another workspace/,
    ],
    [
      'another Slack app (api_app_id)',
      (p) => Object.assign(p, { api_app_id: 'A0ROGUEAPP' }),
      /another Slack app/,
    ],
    [
      'an organisation-wide install with no team',
      (p) =>
        Object.assign(p, {
          team: null,
          is_enterprise_install: true,
          enterprise: { id: 'E0ORG', name: 'Org' },
        }),
      /organisation-wide install/,
    ],
    [
      'another workspace carrying an enterprise id (no SLACK_ENTERPRISE_ID set)',
      (p) =>
        Object.assign(p, {
          team: { id: 'T0OTHERGRID', domain: 'x', enterprise_id: 'E0OTHER' },
          enterprise: { id: 'E0OTHER', name: 'Other' },
        }),
      /another workspace/,
    ],
  ])('a click from %s is refused with 403 and decides nothing', async (_label, mutate, reason) => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, { mutate });
    // Assess
    expect(click.status).toBe(403);
    await expectNothingDecided(sandbox, approvalId);
    expect(sandbox.slack.ephemerals).toEqual([]);
    expect(warnings(logs.entries())).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: 'Slack request refused', reason: expect.stringMatching(reason) }),
      ]),
    );
  });

  test('without SLACK_ENTERPRISE_ID, a click carrying an enterprise id passes only because its team is ours', async () => {
    // Prepare: the workspace joined an Enterprise Grid; its team id stayed.
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, {
      mutate: (p) =>
        Object.assign(p, {
          team: { ...p.team, enterprise_id: 'E0GRID' },
          enterprise: { id: 'E0GRID', name: 'Grid' },
        }),
    });
    await sandbox.settle();
    // Assess
    expect(click.status).toBe(200);
    expect(await sandbox.store.get(approvalId)).toMatchObject({ decision: { decision: 'APPROVED' } });
  });

  test('with SLACK_ENTERPRISE_ID, a click from another enterprise or none is refused, from ours accepted', async () => {
    // Prepare
    sandbox = await startSandbox({ slackEnterpriseId: 'E0GRID' });
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const other = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, {
      mutate: (p) =>
        Object.assign(p, {
          team: { ...p.team, enterprise_id: 'E0OTHER' },
          enterprise: { id: 'E0OTHER', name: 'Other' },
        }),
    });
    const none = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, {
      mutate: (p) => Object.assign(p, { team: { id: p.team?.id, domain: 'x' }, enterprise: null }),
    });
    const stillPending = (await sandbox.store.get(approvalId))?.status;
    const decisionsBefore = sendTaskSuccessCalls(sandbox);
    const ours = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect([other.status, none.status]).toEqual([403, 403]);
    expect(stillPending).toBe('PENDING');
    expect(decisionsBefore).toBe(0);
    expect(ours.status).toBe(200);
    expect(await sandbox.store.get(approvalId)).toMatchObject({ decision: { decision: 'APPROVED' } });
    expect(warnings(logs.entries()).filter((e) => /another enterprise/.test(String(e.reason)))).toHaveLength(
      2,
    );
  });

  test('a bot token whose auth.test names another workspace: the app refuses to start (500), nothing decided', async () => {
    // Prepare: the request went out; then the token in the secret turns out to be another workspace's.
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    sandbox.slack.setAuthTest({ teamId: 'T0ELSEWHERE' });
    resetDependencies();
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    // Assess
    expect(click.status).toBe(500);
    await expectNothingDecided(sandbox, approvalId);
    const failure = errors(logs.entries()).find((e) => e.message === 'Slack interactivity unavailable');
    expect((failure?.error as { message?: string } | undefined)?.message).toMatch(
      /belongs to team "T0ELSEWHERE", not to SLACK_TEAM_ID T0POLICYGATE/,
    );
    expect(logs.text()).not.toContain(SLACK_BOT_TOKEN);
  });

  test('with SLACK_ENTERPRISE_ID, a token whose auth.test names another enterprise is refused too', async () => {
    // Prepare
    sandbox = await startSandbox({ slackEnterpriseId: 'E0GRID' });
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    sandbox.slack.setAuthTest({ enterpriseId: 'E0OTHER' });
    resetDependencies();
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    // Assess
    expect(click.status).toBe(500);
    await expectNothingDecided(sandbox, approvalId);
  });
});

describe('clicks are bound to the request’s own message', () => {
  let sandbox: Sandbox;
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(async () => {
    await sandbox?.close();
    logs.restore();
  });

  test.each([
    ['another channel', 'C0ELSEWHERE'],
    ['the same channel', SLACK_CHANNEL],
  ])(
    'a button copied (by the bot token’s holder) into a message in %s decides nothing',
    async (_label, channel) => {
      // Prepare
      sandbox = await startSandbox();
      sandbox.slack.addChannel('C0ELSEWHERE', true);
      await createPolicy(sandbox, 'cleanup');
      const approvalId = await pendingApproval(sandbox);
      const copyTs = await postCopy(sandbox, approvalId, channel);
      // Act
      const click = await sandbox.slack.deliverBlockAction({
        url: sandbox.interactivity.url,
        signingSecret: SLACK_SIGNING_SECRET,
        user: { id: SLACK_USERS.ana.id },
        action: { actionId: APPROVE_ACTION_ID },
        message: { channel, ts: copyTs },
      });
      // Assess
      expect(click.status).toBe(200);
      await expectNothingDecided(sandbox, approvalId);
      expect(sandbox.slack.ephemerals).toEqual([
        expect.objectContaining({
          user: SLACK_USERS.ana.id,
          text: expect.stringMatching(/not on the request’s own Slack message.*Nothing changed/),
        }),
      ]);
      expect(warnings(logs.entries())).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            message: expect.stringMatching(/not on the request’s own message/),
            approvalId,
          }),
        ]),
      );
      const ref = (await sandbox.store.get(approvalId))?.slackMessage;
      // Queued by the click, put on record by the delivery worker.
      await sandbox.recoverSlack();
      expect(ref && sandbox.slack.replies(ref.channel, ref.ts).map((r) => r.text)).toEqual([
        expect.stringMatching(
          new RegExp(`<@${SLACK_USERS.ana.id}> tried to approve from another message: refused`),
        ),
      ]);
    },
  );

  test('a click on one request’s message naming another approval decides neither', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'first');
    const first = await pendingApproval(sandbox);
    await createPolicy(sandbox, 'second');
    const second = await pendingApproval(sandbox, { except: [first] });
    const firstMessage = (await sandbox.store.get(first))?.slackMessage;
    if (!firstMessage) throw new Error('no message');
    // Act: the value is forged (the signing secret's holder), the message is the first request's.
    const click = await sandbox.slack.deliverBlockAction({
      url: sandbox.interactivity.url,
      signingSecret: SLACK_SIGNING_SECRET,
      user: { id: SLACK_USERS.ana.id },
      action: { actionId: APPROVE_ACTION_ID, blockId: DECISION_BLOCK_ID, value: second },
      message: firstMessage,
    });
    // Assess
    expect(click.status).toBe(200);
    await expectNothingDecided(sandbox, first);
    await expectNothingDecided(sandbox, second);
    expect(sandbox.slack.ephemerals).toEqual([
      expect.objectContaining({ text: expect.stringMatching(/not on the request’s own Slack message/) }),
    ]);
    expect(warnings(logs.entries())).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          approvalId: second,
          reason: expect.stringMatching(/not on the request’s own/),
        }),
      ]),
    );
  });

  test('a request with no recorded Slack message refuses Slack clicks, with a clear reply', async () => {
    // Prepare: Slack was down when the request was made, so no message was recorded for it.
    sandbox = await startSandbox();
    sandbox.slack.setDown(true);
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox, { withMessage: false });
    // The e-mail goes out once the Slack post has failed for good: only then is Slack back.
    for (const until = Date.now() + 20_000; sandbox.sns.messages.length === 0 && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await sandbox.store.get(approvalId)).not.toHaveProperty('slackMessage');
    sandbox.slack.setDown(false);
    const client = new WebClient(SLACK_BOT_TOKEN, { slackApiUrl: sandbox.slack.url });
    const forged = await client.chat.postMessage({
      channel: SLACK_CHANNEL,
      text: 'Approve?',
      blocks: [
        {
          type: 'actions',
          block_id: DECISION_BLOCK_ID,
          elements: [
            {
              type: 'button',
              action_id: APPROVE_ACTION_ID,
              text: { type: 'plain_text', text: 'Approve' },
              value: approvalId,
            },
          ],
        },
      ],
    });
    // Act
    const click = await sandbox.slack.deliverBlockAction({
      url: sandbox.interactivity.url,
      signingSecret: SLACK_SIGNING_SECRET,
      user: { id: SLACK_USERS.ana.id },
      action: { actionId: APPROVE_ACTION_ID },
      message: { channel: SLACK_CHANNEL, ts: forged.ts as string },
    });
    // Assess
    expect(click.status).toBe(200);
    await expectNothingDecided(sandbox, approvalId);
    expect(sandbox.slack.ephemerals).toEqual([
      expect.objectContaining({
        user: SLACK_USERS.ana.id,
        text: expect.stringMatching(/no Slack message of its own.*Nothing changed/),
      }),
    ]);
    expect(warnings(logs.entries())).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ approvalId, reason: expect.stringMatching(/no Slack message/) }),
      ]),
    );
  });

  test.each<[string, (payload: BlockActionsPayload) => void]>([
    [
      'container channel differs from channel.id',
      (p) => Object.assign(p.container, { channel_id: 'C0ELSEWHERE' }),
    ],
    [
      'container ts differs from message.ts',
      (p) => Object.assign(p.container, { message_ts: '1700000000.000001' }),
    ],
    ['an ephemeral container', (p) => Object.assign(p.container, { is_ephemeral: true })],
    [
      'a ts that is no Slack ts',
      (p) => {
        p.container.message_ts = '1.2';
        p.message.ts = '1.2';
      },
    ],
    [
      'a channel id that is no Slack id',
      (p) => {
        p.container.channel_id = '#security';
        if (p.channel) p.channel.id = '#security';
      },
    ],
    ['two actions', (p) => p.actions.push(structuredClone(p.actions[0] as never))],
    [
      'an unknown action id',
      (p) => Object.assign(p.actions[0] as object, { action_id: 'policy_gate_other' }),
    ],
    ['an approval id with markup', (p) => Object.assign(p.actions[0] as object, { value: '<!channel>' })],
  ])('a forged payload with %s is refused with 400', async (_label, mutate) => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, { mutate });
    // Assess
    expect(click.status).toBe(400);
    await expectNothingDecided(sandbox, approvalId);
    expect(warnings(logs.entries())).toEqual(
      expect.arrayContaining([expect.objectContaining({ message: 'Slack request refused', status: 400 })]),
    );
  });

  test.each(['<!channel>', 'U0ANA>&', 'U0ANA|<!here>', '&lt;!channel&gt;', 'u0ana'])(
    'a user id carrying mrkdwn control text (%s) is refused and reaches no message',
    async (userId) => {
      // Prepare
      sandbox = await startSandbox();
      await createPolicy(sandbox, 'cleanup');
      const approvalId = await pendingApproval(sandbox);
      const ref = (await sandbox.store.get(approvalId))?.slackMessage;
      // Act
      const click = await sandbox.click(SLACK_USERS.ana.id, DENY_ACTION_ID, approvalId, {
        mutate: (p) => Object.assign(p.user, { id: userId }),
      });
      // Assess
      expect(click.status).toBe(400);
      await expectNothingDecided(sandbox, approvalId);
      expect(ref && sandbox.slack.replies(ref.channel, ref.ts)).toEqual([]);
      expect(sandbox.slack.ephemerals).toEqual([]);
      expect(JSON.stringify(sandbox.slack.calls.map((c) => c.params))).not.toContain(userId);
      expect(warnings(logs.entries())).toEqual(
        expect.arrayContaining([expect.objectContaining({ reason: 'payload has no valid user id' })]),
      );
    },
  );
});

describe('the interactivity endpoint refuses what is not a sound, current request', () => {
  let sandbox: Sandbox;
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(async () => {
    await sandbox?.close();
    logs.restore();
  });

  test.each([
    ['six minutes in the future', 360, /in the future/],
    ['six minutes old', -360, /stale/],
  ])('a correctly signed click with a timestamp %s gets 401', async (_label, offset, reason) => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, {
      timestampOffsetSeconds: offset,
    });
    // Assess
    expect(click.status).toBe(401);
    await expectNothingDecided(sandbox, approvalId);
    expect(warnings(logs.entries())).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: expect.stringMatching(reason) })]),
    );
  });

  test('a click four minutes in the future (clock skew) is still accepted', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, {
      timestampOffsetSeconds: 240,
    });
    await sandbox.settle();
    // Assess
    expect(click.status).toBe(200);
    expect(await sandbox.store.get(approvalId)).toMatchObject({ decision: { decision: 'APPROVED' } });
  });

  test.each(['GET', 'PUT', 'DELETE', 'PATCH'])('%s gets 405 with Allow: POST', async (method) => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    const ref = (await sandbox.store.get(approvalId))?.slackMessage;
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', container: ref }))}`;
    // Act
    const answer = await deliverSignedBody({
      url: sandbox.interactivity.url,
      signingSecret: SLACK_SIGNING_SECRET,
      method,
      body: method === 'GET' ? '' : body,
    });
    // Assess
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
    await expectNothingDecided(sandbox, approvalId);
    expect(warnings(logs.entries())).toEqual(
      expect.arrayContaining([expect.objectContaining({ reason: 'method not allowed', method })]),
    );
  });

  test('malformed bodies, correctly signed, get 400 and a warn-level log, never 5xx or an error log', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    const genuine = (await sandbox.click(SLACK_USERS.mallory.id, APPROVE_ACTION_ID, approvalId)).payload;
    const json = JSON.stringify(genuine);
    const bodies: [string, string | Buffer, string | null][] = [
      ['bad percent-encoding', 'payload=%E0%A4%A', 'application/x-www-form-urlencoded'],
      ['no payload field', 'foo=bar', 'application/x-www-form-urlencoded'],
      [
        'two payload fields',
        `payload=${encodeURIComponent(json)}&payload=x`,
        'application/x-www-form-urlencoded',
      ],
      ['payload not JSON', 'payload=%7Bnot%20json', 'application/x-www-form-urlencoded'],
      [
        'payload a JSON string',
        `payload=${encodeURIComponent('"block_actions"')}`,
        'application/x-www-form-urlencoded',
      ],
      [
        'payload with a duplicate key',
        `payload=${encodeURIComponent(`{"type":"block_actions",${json.slice(1)}`)}`,
        'application/x-www-form-urlencoded',
      ],
      ['an empty body', '', 'application/x-www-form-urlencoded'],
      ['JSON content type', json, 'application/json'],
      ['no content type', `payload=${encodeURIComponent(json)}`, null],
      ['raw non-ASCII bytes', Buffer.from(`payload=${json}`, 'utf8'), 'application/x-www-form-urlencoded'],
      ['an oversized body', `payload=${'x'.repeat(1024 * 1024 + 1)}`, 'application/x-www-form-urlencoded'],
      [
        'a view submission',
        `payload=${encodeURIComponent(JSON.stringify({ ...genuine, type: 'view_submission' }))}`,
        'application/x-www-form-urlencoded',
      ],
      ['an ssl_check', 'ssl_check=1&token=x', 'application/x-www-form-urlencoded'],
      [
        'a url_verification',
        JSON.stringify({ type: 'url_verification', challenge: 'x' }),
        'application/json',
      ],
    ];
    const before = logs.entries().length;
    // Act
    const answers = [];
    for (const [label, body, contentType] of bodies) {
      const answer = await deliverSignedBody({
        url: sandbox.interactivity.url,
        signingSecret: SLACK_SIGNING_SECRET,
        body,
        contentType,
      });
      answers.push([label, answer.status]);
    }
    // Assess
    expect(answers).toEqual(bodies.map(([label]) => [label, 400]));
    await expectNothingDecided(sandbox, approvalId);
    const entries = logs.entries().slice(before);
    expect(errors(entries)).toEqual([]);
    expect(
      warnings(entries).filter((e) => e.message === 'Slack request refused' && e.status === 400),
    ).toHaveLength(bodies.length);
  });

  test('an unsigned or badly signed request gets 401 with a warn-level log', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const unsigned = await deliverSignedBody({ url: sandbox.interactivity.url, body: 'payload=%7B%7D' });
    const wrongSecret = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, {
      signingSecret: 'not-the-signing-secret-0123456789',
    });
    // Assess
    expect([unsigned.status, wrongSecret.status]).toEqual([401, 401]);
    await expectNothingDecided(sandbox, approvalId);
    expect(warnings(logs.entries()).map((e) => e.reason)).toEqual(
      expect.arrayContaining(['no valid request timestamp', 'bad signature']),
    );
  });
});

describe('rotating the Slack secrets takes effect without a deploy', () => {
  let sandbox: Sandbox;
  let logs: ReturnType<typeof captureLogs>;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(async () => {
    await sandbox?.close();
    logs.restore();
  });

  test('after the cache time, a click signed with the new signing secret is accepted and the old one refused', async () => {
    // Prepare
    sandbox = await startSandbox({ slackSecretCacheSeconds: 1 });
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    await sandbox.click(SLACK_USERS.mallory.id, APPROVE_ACTION_ID, approvalId); // warms the cache
    const rotated = 'rotated-signing-secret-fedcba9876543210';
    await rotate(sandbox, SLACK_SIGNING_SECRET_NAME, rotated);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // Act
    const old = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const oldDecided = sendTaskSuccessCalls(sandbox);
    const fresh = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, {
      signingSecret: rotated,
    });
    await sandbox.settle();
    // Assess
    expect(old.status).toBe(401);
    expect(oldDecided).toBe(0);
    expect(fresh.status).toBe(200);
    expect(await sandbox.store.get(approvalId)).toMatchObject({
      decision: { decision: 'APPROVED', decidedBy: { id: SLACK_USERS.ana.id } },
    });
    for (const secret of [SLACK_SIGNING_SECRET, rotated, SLACK_BOT_TOKEN])
      expect(logs.text()).not.toContain(secret);
  });

  test('a rotated bot token is picked up: Slack revokes the old one and the decision still shows', async () => {
    // Prepare
    sandbox = await startSandbox({ slackSecretCacheSeconds: 1 });
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    await sandbox.click(SLACK_USERS.mallory.id, APPROVE_ACTION_ID, approvalId); // warms the caches
    const rotated = 'xoxb-rotated-policy-gate-bot-token';
    sandbox.slack.rotateBotToken(rotated);
    await rotate(sandbox, SLACK_BOT_TOKEN_SECRET, rotated);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(click.status).toBe(200);
    const ref = (await sandbox.store.get(approvalId))?.slackMessage;
    const message = ref && sandbox.slack.message(ref.channel, ref.ts);
    expect(findButton(message?.blocks, APPROVE_ACTION_ID)).toBeUndefined();
    expect(JSON.stringify(message?.blocks)).toMatch(/Restored/);
    expect(sandbox.slack.calls.filter((c) => c.error === 'token_revoked')).toEqual([]);
    for (const secret of [SLACK_BOT_TOKEN, rotated, SLACK_SIGNING_SECRET])
      expect(logs.text()).not.toContain(secret);
  });

  test('a click signed with a just-rotated secret is checked again once the cache is 30 s old, at most once per 30 s', async () => {
    // Prepare: the interactivity app over a signing secret whose clock the test moves.
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    let clock = Date.now();
    const client = new SecretsManagerClient({
      endpoint: sandbox.secrets.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const signing = new SecretsManagerSecret(
      client,
      sandbox.secrets.arnOf(SLACK_SIGNING_SECRET_NAME),
      SIGNING_SECRET,
      { ttlSeconds: 300, now: () => clock },
    );
    const deps = dependencies();
    const { botToken, channel, workspace, slackApiUrl } = deps.slack;
    if (!botToken || !channel || !workspace) throw new Error('sandbox Slack settings missing');
    const logger = createLogger('policy-gate');
    const { handler, start } = createSlackApp({
      botToken,
      signingSecret: signing,
      workspace,
      ...(slackApiUrl && { slackApiUrl }),
      logger,
      dependencies: { decisions: deps.decisions, channel, logger },
    });
    await start();
    const endpoint = await startLambdaUrlServer(handler);
    const reads = () => sandbox.secrets.callCount(SLACK_SIGNING_SECRET_NAME);
    const click = (signingSecret: string, user: string = SLACK_USERS.ana.id) =>
      sandbox.slack.deliverBlockAction({
        url: endpoint.url,
        signingSecret,
        user: { id: user },
        action: { actionId: APPROVE_ACTION_ID },
      });
    const warmUp = await click(SLACK_SIGNING_SECRET, SLACK_USERS.mallory.id); // no approver: decides nothing
    // Act
    const readsBefore = reads();
    const rotated = 'rotated-signing-secret-00112233445566778899';
    await rotate(sandbox, SLACK_SIGNING_SECRET_NAME, rotated);
    const tooSoon = await Promise.all(Array.from({ length: 10 }, () => click(rotated)));
    const readsTooSoon = reads() - readsBefore;
    clock += 31_000;
    const flood = await Promise.all(
      Array.from({ length: 10 }, () => click('attacker-guess-0123456789abcdef')),
    );
    const readsFlood = reads() - readsBefore;
    const undecided = (await sandbox.store.get(approvalId))?.status;
    const oldOne = await click(SLACK_SIGNING_SECRET);
    const accepted = await click(rotated);
    await sandbox.settle();
    await endpoint.close();
    client.destroy();
    // Assess
    expect(warmUp.status).toBe(200);
    expect(tooSoon.map((a) => a.status)).toEqual(Array(10).fill(401));
    expect(readsTooSoon).toBe(0);
    expect(flood.map((a) => a.status)).toEqual(Array(10).fill(401));
    expect(readsFlood).toBe(1);
    expect(accepted.status).toBe(200);
    expect(oldOne.status).toBe(401);
    expect(reads() - readsBefore).toBe(1);
    expect(undecided).toBe('PENDING');
    expect(await sandbox.store.get(approvalId)).toMatchObject({
      decision: { decision: 'APPROVED', decidedBy: { id: SLACK_USERS.ana.id } },
    });
    expect(logs.text()).not.toContain(rotated);
  });

  test('a bot token Slack refuses at start is re-read once its cache is 30 s old, and the app then starts', async () => {
    // Prepare: Slack revoked the token before the operator put the new one into the secret.
    sandbox = await startSandbox();
    let clock = Date.now();
    const client = new SecretsManagerClient({
      endpoint: sandbox.secrets.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const botToken = new SecretsManagerSecret(
      client,
      sandbox.secrets.arnOf(SLACK_BOT_TOKEN_SECRET),
      BOT_TOKEN,
      {
        ttlSeconds: 300,
        now: () => clock,
      },
    );
    const deps = dependencies();
    const { signingSecret, channel, workspace, slackApiUrl } = deps.slack;
    if (!signingSecret || !channel || !workspace) throw new Error('sandbox Slack settings missing');
    const logger = createLogger('policy-gate');
    const app = () =>
      createSlackApp({
        botToken,
        signingSecret,
        workspace,
        ...(slackApiUrl && { slackApiUrl }),
        logger,
        dependencies: { decisions: deps.decisions, channel, logger },
      });
    const rotated = 'xoxb-rotated-before-the-secret-was';
    sandbox.slack.rotateBotToken(rotated);
    // Act
    const refused = app().start();
    await expect(refused).rejects.toThrow(/token_revoked/);
    await rotate(sandbox, SLACK_BOT_TOKEN_SECRET, rotated);
    const tooSoon = app().start();
    await expect(tooSoon).rejects.toThrow(/token_revoked/);
    clock += 31_000;
    const started = app().start();
    // Assess
    await expect(started).resolves.toBeUndefined();
    expect(sandbox.secrets.callCount(SLACK_BOT_TOKEN_SECRET)).toBeLessThanOrEqual(3);
    client.destroy();
    expect(logs.text()).not.toContain(rotated);
  });
});
