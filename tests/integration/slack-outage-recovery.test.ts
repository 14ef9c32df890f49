/**
 * Slack outages recovered, through the real state machine, handlers, Slack delivery function and Slack
 * stand-in: a request that did not reach Slack is posted by the delivery worker once Slack answers again (and
 * can be decided there), a request message deleted in Slack is posted again and the old one decides
 * nothing, and a record changed outside PolicyGate is never shown to approvers.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decisions, type Sandbox, SLACK_CHANNEL, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { findButton, type SlackMessage } from '../../local/slack';
import { KmsSealKey } from '../../src/adapters/kms-seal-key';
import type { ApprovalRecord } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { RecordSeals } from '../../src/services/record-seals';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import fixture from '../fixtures/approvals/record.json';
import { mails, waitForPending } from '../support/approvals';
import { createSealed } from '../support/seals';

const RISKY = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};
const TABLE = 'policy-gate-local-approvals';

let sandbox: Sandbox;

afterEach(async () => {
  await sandbox?.close();
});

async function createPolicy(name: string): Promise<string> {
  const created = await sandbox.developer.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(RISKY) }),
  );
  return created.Policy?.Arn as string;
}

/** A risky change made while Slack is down: its approval waits, unposted, with the e-mail sent. */
async function requestWhileSlackDown(
  name = 'cleanup',
): Promise<{ policyArn: string; record: ApprovalRecord }> {
  sandbox.slack.setDown(true);
  const policyArn = await createPolicy(name);
  const [record] = await waitForPending(sandbox);
  if (!record) throw new Error('no pending approval');
  sandbox.slack.setDown(false);
  return { policyArn, record };
}

function requestMessages(): SlackMessage[] {
  return sandbox.slack.messages(SLACK_CHANNEL);
}

function thread(message: SlackMessage): string[] {
  return sandbox.slack.replies(message.channel, message.ts).map((reply) => reply.text);
}

function defaultDocument(policyArn: string): unknown {
  return sandbox.iam.getPolicy(policyArn)?.versions.find((v) => v.isDefaultVersion)?.document;
}

/** Someone with write access to the table (outside PolicyGate) changes a record's field. */
async function tamper(approvalId: string, field: string, value: unknown): Promise<void> {
  const table = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      credentials: { accessKeyId: 'attacker', secretAccessKey: 'local' },
    }),
  );
  await table.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { approvalId },
      UpdateExpression: 'SET #field = :value',
      ExpressionAttributeNames: { '#field': field },
      ExpressionAttributeValues: { ':value': value },
    }),
  );
  table.destroy();
}

describe('Slack outage recovery', () => {
  test('Slack down at request time, then back: the recovery posts the request, noting the delay, and a click there decides it', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { policyArn, record } = await requestWhileSlackDown();
    const nothingPosted = requestMessages().length;
    // Act
    const report = await sandbox.recoverSlack();
    const recorded = await sandbox.store.get(record.approvalId);
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, record.approvalId);
    const [result] = await sandbox.settle();
    // Assess
    expect(nothingPosted).toBe(0);
    expect(mails(sandbox, /Slack unavailable/)).toHaveLength(1);
    expect(report).toMatchObject({ posted: [record.approvalId], tampered: [], slackDown: false });
    const [message] = requestMessages();
    expect(requestMessages()).toHaveLength(1);
    expect(recorded?.slackMessage).toEqual({ channel: message?.channel, ts: message?.ts });
    expect(thread(message as SlackMessage)[0]).toMatch(
      /Posted late: Slack could not be reached at .*; this request was first sent by e-mail/,
    );
    expect(click.status).toBe(200);
    expect(result?.status).toBe('SUCCEEDED');
    expect((await sandbox.store.get(record.approvalId))?.status).toBe('RESTORED');
    expect(documentsEqual(defaultDocument(policyArn), RISKY)).toBe(true);
    const after = requestMessages()[0];
    expect(findButton(after?.blocks, APPROVE_ACTION_ID)).toBeUndefined();
    expect(thread(after as SlackMessage)).toEqual([
      expect.stringMatching(/Posted late/),
      expect.stringMatching(/Approved by/),
      expect.stringMatching(/Restored/),
    ]);
  });

  test('while Slack stays down the backlog is kept; the next run after it is back posts the request once', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { record } = await requestWhileSlackDown();
    sandbox.slack.setDown(true);
    // Act
    const whileDown = await sandbox.recoverSlack();
    sandbox.slack.setDown(false);
    const back = await sandbox.recoverSlack();
    const again = await sandbox.recoverSlack();
    // Assess
    expect(whileDown).toMatchObject({ posted: [], slackDown: true });
    expect(back).toMatchObject({ posted: [record.approvalId], slackDown: false });
    expect(again).toMatchObject({ posted: [], reposted: [], checked: 1, cleared: 0 });
    expect(requestMessages()).toHaveLength(1);
    await decisions().decide(record.approvalId, 'DENIED', { channel: 'slack', id: SLACK_USERS.ana.id });
    await sandbox.settle();
  });

  test('the sweep posts nothing to Slack (it holds no bot token): the delivery function does', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { record } = await requestWhileSlackDown();
    // Act
    const report = await sandbox.sweep();
    const afterSweep = requestMessages().length;
    const delivery = await sandbox.recoverSlack();
    // Assess
    expect(report).not.toHaveProperty('slack');
    expect(afterSweep).toBe(0);
    expect(delivery).toMatchObject({ posted: [record.approvalId], slackDown: false });
    expect(requestMessages()).toHaveLength(1);
    await decisions().decide(record.approvalId, 'DENIED', { channel: 'slack', id: SLACK_USERS.ana.id });
    await sandbox.settle();
  });

  test('a request decided before Slack is back is posted with its outcome, without buttons, and the delay noted', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { record } = await requestWhileSlackDown();
    // Slack answers the decider's look-up, but takes no message: the decision and its outcome are not shown.
    sandbox.slack.failNext('chat.postMessage', 20, { status: 503 });
    await decisions().decide(record.approvalId, 'DENIED', { channel: 'slack', id: SLACK_USERS.ana.id });
    await sandbox.settle();
    sandbox.slack.clear();
    // Act
    const report = await sandbox.recoverSlack();
    // Assess
    expect(report).toMatchObject({ posted: [record.approvalId], cleared: 0 });
    expect(requestMessages().filter((m) => findButton(m.blocks, APPROVE_ACTION_ID))).toEqual([]);
    const [message] = requestMessages();
    expect(JSON.stringify(message?.blocks)).toMatch(/Denied by/);
    expect(thread(message as SlackMessage)).toEqual([
      expect.stringMatching(/ended before Slack answered again/),
    ]);
    expect((await sandbox.store.get(record.approvalId))?.slackMessage).toEqual({
      channel: message?.channel,
      ts: message?.ts,
    });
    // Once shown, it is off the backlog: the next run posts nothing.
    expect(await sandbox.recoverSlack()).toMatchObject({ posted: [] });
  });

  test('an unposted record changed outside PolicyGate is not posted but alerted', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { record } = await requestWhileSlackDown();
    await tamper(record.approvalId, 'requiredApprovals', 1);
    await tamper(record.approvalId, 'findings', []);
    // Act
    const report = await sandbox.recoverSlack();
    const again = await sandbox.recoverSlack();
    // Assess
    expect(report).toMatchObject({ posted: [], tampered: [record.approvalId] });
    expect(again).toMatchObject({ posted: [], tampered: [] });
    expect(requestMessages()).toEqual([]);
    const [alert] = mails(sandbox, /ALERT: approval .* changed outside PolicyGate/);
    expect(alert?.message).toContain(record.approvalId);
    expect(mails(sandbox, /ALERT: approval .* changed outside PolicyGate/)).toHaveLength(1);
  });

  test('a request message deleted in Slack is posted again when the workflow next updates it; the old one no longer decides', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy('cleanup');
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    const old = (await sandbox.store.get(approvalId))?.slackMessage;
    if (!old) throw new Error('the request was not posted');
    sandbox.slack.deleteMessage(old.channel, old.ts);
    // Act: decided from the e-mail side (no Slack message to click), the restore step updates Slack.
    const decided = await decisions().decide(approvalId, 'APPROVED', {
      channel: 'slack',
      id: SLACK_USERS.ana.id,
    });
    const [result] = await sandbox.settle();
    const record = await sandbox.store.get(approvalId);
    // A click from the deleted message, as a client that still shows it would send.
    const stale = await decisions().decide(approvalId, 'DENIED', {
      channel: 'slack',
      id: SLACK_USERS.sam.id,
      origin: old,
    });
    // Assess
    expect(decided.status).toBe('recorded');
    expect(result?.status).toBe('SUCCEEDED');
    expect(record?.status).toBe('RESTORED');
    expect(record?.slackMessage).toBeDefined();
    expect(record?.slackMessage?.ts).not.toBe(old.ts);
    const [message] = requestMessages();
    expect(requestMessages()).toHaveLength(1);
    expect(message?.ts).toBe(record?.slackMessage?.ts);
    expect(JSON.stringify(message?.blocks)).toMatch(/Restored/);
    expect(thread(message as SlackMessage)).toEqual([
      expect.stringMatching(/Restored/),
      expect.stringMatching(/Posted again: the request message was deleted in Slack/),
    ]);
    expect(stale.status).toBe('wrong-message');
  });

  test('a pending request whose message was deleted in Slack is posted again by the recovery; only the new message decides', async () => {
    // Prepare
    sandbox = await startSandbox();
    const policyArn = await createPolicy('cleanup');
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    const old = (await sandbox.store.get(approvalId))?.slackMessage;
    if (!old) throw new Error('the request was not posted');
    const untouched = await sandbox.recoverSlack();
    sandbox.slack.deleteMessage(old.channel, old.ts);
    // Act
    const report = await sandbox.recoverSlack();
    const record = await sandbox.store.get(approvalId);
    const stale = await decisions().decide(approvalId, 'APPROVED', {
      channel: 'slack',
      id: SLACK_USERS.ana.id,
      origin: old,
    });
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const [result] = await sandbox.settle();
    // Assess
    expect(untouched).toMatchObject({ posted: [], reposted: [], checked: 1 });
    expect(report).toMatchObject({ posted: [], reposted: [approvalId], slackDown: false });
    expect(record?.slackMessage?.ts).not.toBe(old.ts);
    const [message] = requestMessages();
    expect(requestMessages()).toHaveLength(1);
    expect(message?.ts).toBe(record?.slackMessage?.ts);
    expect(stale.status).toBe('wrong-message');
    expect(click.status).toBe(200);
    expect(result?.status).toBe('SUCCEEDED');
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
    expect(documentsEqual(defaultDocument(policyArn), RISKY)).toBe(true);
    expect(thread(requestMessages()[0] as SlackMessage)).toEqual([
      expect.stringMatching(/Posted again: the request message was deleted in Slack/),
      expect.stringMatching(/Approved by/),
      expect.stringMatching(/Restored/),
    ]);
    // Decided: off the list, so later runs leave the message alone.
    expect(await sandbox.recoverSlack()).toMatchObject({ checked: 0, cleared: 1 });
  });

  test('a click bound to a replaced message is refused as not the request’s own', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy('cleanup');
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    const old = (await sandbox.store.get(approvalId))?.slackMessage;
    if (!old) throw new Error('the request was not posted');
    const replaced = await sandbox.store.replaceSlackMessage(approvalId, old, {
      channel: old.channel,
      ts: '9.9',
    });
    const second = await sandbox.store.replaceSlackMessage(approvalId, old, {
      channel: old.channel,
      ts: '8.8',
    });
    // Act
    const click = await decisions().decide(approvalId, 'APPROVED', {
      channel: 'slack',
      id: SLACK_USERS.ana.id,
      origin: old,
    });
    // Assess
    expect(replaced?.slackMessage).toEqual({ channel: old.channel, ts: '9.9' });
    expect(second).toBeUndefined();
    expect(click.status).toBe('wrong-message');
    expect((await sandbox.store.get(approvalId))?.status).toBe('PENDING');
    await decisions().decide(approvalId, 'DENIED', { channel: 'slack', id: SLACK_USERS.ana.id });
    await sandbox.settle();
  });

  test('bounded work: a backlog larger than one run is posted over several runs, oldest first', async () => {
    // Prepare: Slack's rate limit is not the subject here (slack-delivery.test.ts paces under it).
    sandbox = await startSandbox({ slackRateLimits: false });
    const kms = new KMSClient({ region: 'us-east-1' });
    const seals = new RecordSeals({
      record: new KmsSealKey(kms, sandbox.sealKeys.record.arn),
      decision: new KmsSealKey(kms, sandbox.sealKeys.decision.arn),
    });
    const base = fixture as unknown as ApprovalRecord;
    const start = Date.now() - 60_000;
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const at = new Date(start + i * 10).toISOString();
      const approvalId = `backlog-${String(i).padStart(2, '0')}`;
      const {
        slackMessage: _m,
        taskToken: _t,
        decision: _d,
        decisionSeal: _ds,
        outcome: _o,
        ...fresh
      } = base;
      await createSealed(sandbox.store, seals, {
        ...fresh,
        approvalId,
        status: 'PENDING',
        createdAt: at,
        updatedAt: at,
        deadline: new Date(Date.now() + 3_600_000).toISOString(),
        change: { ...base.change, eventId: approvalId },
      });
      await sandbox.store.setTaskToken(approvalId, `token-${i}`);
      await sandbox.store.markUnposted(approvalId, at);
      ids.push(approvalId);
    }
    kms.destroy();
    // Act
    const first = await sandbox.recoverSlack();
    const firstPosts = requestMessages().length;
    const second = await sandbox.recoverSlack();
    // Assess
    expect(first?.posted).toEqual(ids.slice(0, 25));
    expect(firstPosts).toBe(25);
    expect(second?.posted).toEqual(ids.slice(25));
    expect(requestMessages()).toHaveLength(30);
    for (const id of ids) expect((await sandbox.store.get(id))?.slackMessage).toBeDefined();
  });
});
