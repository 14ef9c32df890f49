/**
 * Slack delivery under Slack's rate limits, through the real state machine, handlers, delivery worker
 * (the slackDelivery function) and the Slack stand-in enforcing the limits: a burst leaves every
 * request in Slack exactly once, and a post whose answer was lost is found and adopted, never posted twice.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { burstRun, requestMessages } from '../../bench/burst';
import { type Sandbox, SLACK_BOT_TOKEN, SLACK_CHANNEL, SLACK_USERS, startSandbox } from '../../local/sandbox';
import type { SlackFailure } from '../../local/slack';
import { SlackApprovalChannel } from '../../src/adapters/slack-approval-channel';
import { handler as requestApproval } from '../../src/handlers/request-approval';
import { createLogger } from '../../src/logger';
import { RecordSeals } from '../../src/services/record-seals';
import { SlackRecovery } from '../../src/services/slack-recovery';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { mails, waitForPending } from '../support/approvals';

// Risky but not critical: one approver decides it.
const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});

let sandbox: Sandbox | undefined;

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

describe('Slack delivery under Slack rate limits', () => {
  test('a burst of 100 simultaneous risky changes: each quarantined, each request in Slack exactly once', async () => {
    // Act: Slack's limits sped up 20 times (20 posts a second per channel), so the drain takes seconds.
    const result = await burstRun({ changes: 100, actors: 1, rateLimit: true, scale: 20, timeoutMs: 90_000 });

    // Assess
    expect(result).toMatchObject({
      records: 100,
      quarantines: 100,
      slackMessages: 100,
      duplicates: 0,
      neverPosted: 0,
    });
  }, 180_000);

  test('the stand-in refused most of the burst: the requests got there through the paced worker, not luck', async () => {
    // Prepare
    let refused = 0;
    // Act
    const result = await burstRun({
      changes: 30,
      actors: 3,
      rateLimit: true,
      scale: 10,
      timeoutMs: 60_000,
      prepare: (s) => {
        s.slack.onCall((call) => {
          if (call.method === 'chat.postMessage' && call.status === 429) refused += 1;
        });
      },
    });
    // Assess
    expect(refused).toBeGreaterThan(0);
    expect(result).toMatchObject({ records: 30, slackMessages: 30, duplicates: 0, neverPosted: 0 });
  }, 120_000);

  test('a burst in which Slack loses the answers to some posts it stored: still exactly one message each', async () => {
    // Act
    const result = await burstRun({
      changes: 30,
      actors: 2,
      rateLimit: true,
      scale: 10,
      timeoutMs: 60_000,
      prepare: (s) => {
        s.slack.failNext('chat.postMessage', 4, { afterStore: 'reset' });
      },
    });
    // Assess
    expect(result).toMatchObject({ records: 30, slackMessages: 30, duplicates: 0, neverPosted: 0 });
  }, 120_000);

  describe.each<[string, SlackFailure]>([
    ['the answer never comes (client timeout)', { afterStore: 'hang' }],
    ['the connection resets', { afterStore: 'reset' }],
    ['Slack answers 503', { afterStore: { status: 503 } }],
  ])('Slack posts the request but %s', (_name, failure) => {
    test('the worker finds it by its metadata, adopts it after updating it, and never posts it twice', async () => {
      // Prepare
      sandbox = await startSandbox();
      const s = sandbox;
      s.slack.failNext('chat.postMessage', 1, failure);
      await createPolicy(s, 'lost-answer');
      const [record] = await waitForPending(s);
      if (!record) throw new Error('no pending approval');
      const before = requestMessages(s.slack.messages(SLACK_CHANNEL));

      // Act
      await s.recoverSlack();
      const after = await s.store.get(record.approvalId);

      // Assess
      expect(before).toHaveLength(1);
      expect(record.slackMessage).toBeUndefined();
      const messages = requestMessages(s.slack.messages(SLACK_CHANNEL));
      expect(messages).toHaveLength(1);
      expect(after?.slackMessage).toEqual({ channel: SLACK_CHANNEL, ts: messages[0]?.ts });
      // Adopted only after being overwritten with the request's own content.
      expect(messages[0]?.edits).toBeGreaterThanOrEqual(1);
      const history = s.slack.calls.filter((c) => c.method === 'conversations.history');
      expect(history.length).toBeGreaterThanOrEqual(1);
      expect(history.every((c) => c.params.include_all_metadata !== undefined)).toBe(true);
      // The adopted message decides.
      const click = await s.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, record.approvalId);
      expect(click.status).toBe(200);
      await s.settle();
      expect((await s.store.get(record.approvalId))?.status).toMatch(/APPROVED|RESTORED/);
    }, 60_000);
  });

  test('a retried request step after a lost answer posts nothing twice', async () => {
    // Prepare
    sandbox = await startSandbox();
    const s = sandbox;
    s.slack.failNext('chat.postMessage', 1, { afterStore: 'hang' });
    await createPolicy(s, 'retried-step');
    const [record] = await waitForPending(s);
    if (!record?.taskToken) throw new Error('no pending approval');

    // Act: Step Functions retries the step (same approval, same token).
    await requestApproval({ approvalId: record.approvalId, taskToken: record.taskToken });
    await requestApproval({ approvalId: record.approvalId, taskToken: record.taskToken });

    // Assess
    const messages = requestMessages(s.slack.messages(SLACK_CHANNEL));
    expect(messages).toHaveLength(1);
    expect((await s.store.get(record.approvalId))?.slackMessage?.ts).toBe(messages[0]?.ts);
  }, 60_000);

  test('a message planted with the bot token and the request metadata is overwritten with the real request before it is adopted', async () => {
    // Prepare: the request step's post fails before Slack stores it (a reset), so its outcome is unknown;
    // meanwhile someone holding the bot token posts a look-alike with the same metadata.
    sandbox = await startSandbox();
    const s = sandbox;
    s.slack.failNext('chat.postMessage', 1, 'reset');
    await createPolicy(s, 'planted');
    const [record] = await waitForPending(s);
    if (!record) throw new Error('no pending approval');
    const planted = await fetch(`${s.slack.url}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SLACK_BOT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        channel: SLACK_CHANNEL,
        text: 'Harmless change, approve please',
        metadata: { event_type: 'policy_gate_request', event_payload: { approval_id: record.approvalId } },
      }),
    }).then((res) => res.json() as Promise<{ ts: string }>);

    // Act
    await s.recoverSlack();

    // Assess
    const stored = await s.store.get(record.approvalId);
    const shown =
      stored?.slackMessage && s.slack.message(stored.slackMessage.channel, stored.slackMessage.ts);
    expect(shown).toBeDefined();
    expect(shown?.text).not.toMatch(/Harmless change/);
    expect(JSON.stringify(shown?.blocks)).toContain('planted');
    if (shown?.ts === planted.ts) expect(shown.edits).toBeGreaterThanOrEqual(1);
    expect(
      requestMessages(s.slack.messages(SLACK_CHANNEL)).every((m) => !/Harmless change/.test(m.text)),
    ).toBe(true);
  }, 60_000);

  test('a request still not in Slack at its deadline is alerted loudly, once, and taken off the backlog', async () => {
    // Prepare: Slack is down when the request is made; the delivery worker runs after its deadline.
    sandbox = await startSandbox();
    const s = sandbox;
    s.slack.setDown(true);
    await createPolicy(s, 'never-posted');
    const [record] = await waitForPending(s);
    if (!record) throw new Error('no pending approval');
    s.slack.setDown(false);
    const alerts: string[] = [];
    const counted: string[] = [];
    const worker = new SlackRecovery({
      store: s.store,
      channel: new SlackApprovalChannel(
        () => Promise.reject(new Error('no Slack call expected')),
        SLACK_CHANNEL,
      ),
      seals: new RecordSeals({}),
      notifier: { notify: async (message) => void alerts.push(`${message.subject}\n${message.message}`) },
      logger: createLogger('test', () => {}),
      metrics: { count: (name) => void counted.push(name) },
      now: () => new Date(Date.parse(record.deadline) + 1_000),
    });

    // Act
    const first = await worker.run();
    const second = await worker.run();

    // Assess
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatch(/was never shown in Slack/);
    expect(alerts[0]).toContain(record.approvalId);
    expect(counted).toEqual(['SlackNeverPosted']);
    expect(first.cleared).toBe(1);
    expect(second.cleared).toBe(0);
    expect((await s.store.unposted(100)).map((e) => e.approvalId)).not.toContain(record.approvalId);
  }, 60_000);

  test('a request refused by a short rate limit is posted by the request step itself, without an alert', async () => {
    // Prepare
    sandbox = await startSandbox();
    const s = sandbox;
    s.slack.rateLimit('chat.postMessage', 1, 1);
    // Act
    await createPolicy(s, 'short-limit');
    const [record] = await waitForPending(s);
    // Assess
    expect(record?.slackMessage).toBeDefined();
    expect(requestMessages(s.slack.messages(SLACK_CHANNEL))).toHaveLength(1);
    expect(mails(s, /Slack unavailable/)).toHaveLength(0);
  }, 60_000);
});

async function createPolicy(s: Sandbox, name: string): Promise<void> {
  await s.developer.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: RISKY }));
}
