/**
 * The Slack path end to end: the real state machine and handlers post the request through the Slack
 * stand-in, and signed clicks reach the real interactivity handler (Bolt's AwsLambdaReceiver) through a
 * local Function URL, exactly as Slack would deliver them.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import {
  decisions,
  type Sandbox,
  SLACK_BOT_TOKEN,
  SLACK_BOT_TOKEN_SECRET,
  SLACK_CHANNEL,
  SLACK_SIGNING_SECRET,
  SLACK_SIGNING_SECRET_NAME,
  SLACK_USERS,
  startSandbox,
} from '../../local/sandbox';
import { findButton, type SlackMessage, validateBlocks } from '../../local/slack';
import { resetDependencies } from '../../src/app/dependencies';
import { quarantineDocument, totalFindings } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/messages/approval-message';
import { pendingApproval as pendingExcept } from '../support/slack';

const risky = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};

async function createPolicy(sandbox: Sandbox, name: string, document: object = risky): Promise<string> {
  const created = await sandbox.developer.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(document) }),
  );
  return created.Policy?.Arn as string;
}

/** Waits until an approval has its task token and its Slack message, and returns its id. */
async function pendingApproval(sandbox: Sandbox, withMessage = true): Promise<string> {
  // Generous: the full suite runs in parallel on CI machines.
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    for (const { execution } of sandbox.executions) {
      const input = sandbox.sfn.describeExecution(execution.executionArn).input as {
        detail?: { eventID?: string };
      };
      const id = input?.detail?.eventID;
      const record = id ? await sandbox.store.get(id) : undefined;
      if (id && record?.taskToken && (!withMessage || record.slackMessage)) return id;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no approval became pending');
}

async function requestMessage(sandbox: Sandbox, approvalId: string): Promise<SlackMessage> {
  const ref = (await sandbox.store.get(approvalId))?.slackMessage;
  const message = ref && sandbox.slack.message(ref.channel, ref.ts);
  if (!message) throw new Error(`no Slack message for ${approvalId}`);
  return message;
}

async function waitFor<T>(check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function thread(sandbox: Sandbox, message: SlackMessage): string[] {
  return sandbox.slack.replies(message.channel, message.ts).map((reply) => reply.text);
}

function defaultDocument(sandbox: Sandbox, policyArn: string): unknown {
  return sandbox.iam.getPolicy(policyArn)?.versions.find((v) => v.isDefaultVersion)?.document;
}

const sendTaskSuccessCalls = (sandbox: Sandbox) =>
  sandbox.sfn.callbacks.filter((callback) => callback.operation === 'SendTaskSuccess').length;

describe('Slack approvals through the real handlers and the Slack stand-in', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('the request is a valid Block Kit message whose buttons carry only the approval id', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    // Act
    const approvalId = await pendingApproval(sandbox);
    const message = await requestMessage(sandbox, approvalId);
    // Assess
    expect(message.channel).toBe(SLACK_CHANNEL);
    expect(validateBlocks(message.blocks)).toEqual([]);
    expect(findButton(message.blocks, APPROVE_ACTION_ID)?.button).toMatchObject({
      value: approvalId,
      style: 'primary',
      confirm: expect.any(Object),
    });
    expect(findButton(message.blocks, DENY_ACTION_ID)?.button).toMatchObject({
      value: approvalId,
      style: 'danger',
      confirm: expect.any(Object),
    });
    const record = await sandbox.store.get(approvalId);
    expect(JSON.stringify(sandbox.slack.calls)).not.toContain(record?.taskToken);
    // The e-mail goes out after the message is recorded (and its links are signed): wait for it.
    const subjects = await waitFor(() =>
      sandbox.sns.messages.length > 0 ? sandbox.sns.messages.map((m) => m.subject) : undefined,
    );
    expect(subjects).toEqual([expect.stringMatching(/approval needed/)]);
  });

  test('an approver’s click resumes the workflow once, restores the policy and updates the message', async () => {
    // Prepare
    sandbox = await startSandbox();
    const policyArn = await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const [result] = await sandbox.settle();
    // Assess
    expect(click.status).toBe(200);
    expect(click.durationMs).toBeLessThan(3_000);
    expect(sendTaskSuccessCalls(sandbox)).toBe(1);
    expect(result?.status).toBe('SUCCEEDED');
    expect(result?.history).toEqual(expect.arrayContaining(['RestoreChange', 'Restored']));
    expect(documentsEqual(defaultDocument(sandbox, policyArn), risky)).toBe(true);
    const record = await sandbox.store.get(approvalId);
    expect(record).toMatchObject({
      status: 'RESTORED',
      decision: { decidedBy: { id: SLACK_USERS.ana.id, name: 'Ana Approver', channel: 'slack' } },
      outcome: { result: 'RESTORED' },
    });
    const message = await requestMessage(sandbox, approvalId);
    expect(findButton(message.blocks, APPROVE_ACTION_ID)).toBeUndefined();
    expect(findButton(message.blocks, DENY_ACTION_ID)).toBeUndefined();
    expect(JSON.stringify(message.blocks)).toMatch(/Restored/);
    expect(validateBlocks(message.blocks)).toEqual([]);
    const audit = thread(sandbox, message);
    expect(audit).toEqual([
      expect.stringMatching(new RegExp(`Approved by <@${SLACK_USERS.ana.id}>`)),
      expect.stringMatching(/Restored/),
    ]);
    expect(sandbox.slack.ephemerals).toEqual([]);
  });

  test('deny keeps the change quarantined and says so in the message and thread', async () => {
    // Prepare
    sandbox = await startSandbox();
    const policyArn = await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.sam.id, DENY_ACTION_ID, approvalId);
    const [result] = await sandbox.settle();
    // Assess
    expect(click.status).toBe(200);
    expect(result?.history).toEqual(expect.arrayContaining(['RecordDenial', 'Denied']));
    expect(documentsEqual(defaultDocument(sandbox, policyArn), quarantineDocument(approvalId))).toBe(true);
    expect(await sandbox.store.get(approvalId)).toMatchObject({
      status: 'DENIED',
      decision: { decidedBy: { id: SLACK_USERS.sam.id } },
      outcome: { result: 'KEPT_QUARANTINED' },
    });
    const message = await requestMessage(sandbox, approvalId);
    expect(findButton(message.blocks, APPROVE_ACTION_ID)).toBeUndefined();
    expect(JSON.stringify(message.blocks)).toMatch(/Denied by/);
    expect(thread(sandbox, message)).toEqual([
      expect.stringMatching(/Denied by/),
      expect.stringMatching(/stays quarantined/),
    ]);
  });

  test.each([
    ['a tampered signature', { tamper: 'signature' as const }],
    ['a tampered body', { tamper: 'body' as const }],
    ['a timestamp six minutes old', { timestampOffsetSeconds: -360 }],
  ])('%s gets 401 and changes nothing', async (_label, options) => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    const before = await requestMessage(sandbox, approvalId);
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, options);
    // Assess
    expect(click.status).toBe(401);
    expect(await sandbox.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
    expect(sandbox.sfn.pendingTasks()).toHaveLength(1);
    expect((await requestMessage(sandbox, approvalId)).edits).toBe(before.edits);
    expect(sandbox.slack.ephemerals).toEqual([]);
  });

  test('a cold start whose Slack secret is unusable answers 500 and changes nothing', async () => {
    // Prepare: the request went out, then the operator broke the secret and a new container starts.
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    sandbox.secrets.putSecret(SLACK_BOT_TOKEN_SECRET, 'not-a-bot-token');
    resetDependencies();
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    // Assess
    expect(click.status).toBe(500);
    expect(await sandbox.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
    expect(sandbox.sfn.pendingTasks()).toHaveLength(1);
  });

  test('someone who is no approver gets a private refusal; nothing changes but the audit trail', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    const edits = (await requestMessage(sandbox, approvalId)).edits;
    // Act
    const click = await sandbox.click(SLACK_USERS.mallory.id, APPROVE_ACTION_ID, approvalId);
    // Assess
    expect(click.status).toBe(200);
    expect(await sandbox.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
    expect(sandbox.sfn.pendingTasks()).toHaveLength(1);
    expect(sandbox.slack.ephemerals).toEqual([
      expect.objectContaining({
        user: SLACK_USERS.mallory.id,
        channel: SLACK_CHANNEL,
        text: expect.stringMatching(/not one of the approvers.*Nothing changed/),
      }),
    ]);
    const message = await requestMessage(sandbox, approvalId);
    expect(findButton(message.blocks, APPROVE_ACTION_ID)).toBeDefined();
    expect(message.edits).toBe(edits);
    // The refusal is queued, not posted in the click (which never waits on the channel's posting
    // limit): the delivery worker puts it on record.
    expect(thread(sandbox, message)).toEqual([]);
    await sandbox.recoverSlack();
    expect(thread(sandbox, message)).toEqual([
      expect.stringMatching(new RegExp(`<@${SLACK_USERS.mallory.id}> tried to approve: refused`)),
    ]);
  });

  test('the author of the change cannot approve it, even as an approver, but another approver can', async () => {
    // Prepare: Alice (IAM user alice) is in the approvers' user group.
    sandbox = await startSandbox();
    const policyArn = await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const own = await sandbox.click(SLACK_USERS.alice.id, APPROVE_ACTION_ID, approvalId);
    const pendingAfterOwn = (await sandbox.store.get(approvalId))?.status;
    await sandbox.click(SLACK_USERS.sam.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(own.status).toBe(200);
    expect(pendingAfterOwn).toBe('PENDING');
    expect(sandbox.slack.ephemerals).toEqual([
      expect.objectContaining({
        user: SLACK_USERS.alice.id,
        text: expect.stringMatching(/cannot approve this change: .*alice.*alice@example\.com/),
      }),
    ]);
    expect(await sandbox.store.get(approvalId)).toMatchObject({
      status: 'RESTORED',
      decision: { decidedBy: { id: SLACK_USERS.sam.id } },
    });
    expect(documentsEqual(defaultDocument(sandbox, policyArn), risky)).toBe(true);
  });

  test('the author may deny their own change: it only keeps it quarantined', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const click = await sandbox.click(SLACK_USERS.alice.id, DENY_ACTION_ID, approvalId);
    const [result] = await sandbox.settle();
    // Assess
    expect(click.status).toBe(200);
    expect(result?.history).toEqual(expect.arrayContaining(['RecordDenial', 'Denied']));
    expect(await sandbox.store.get(approvalId)).toMatchObject({
      status: 'DENIED',
      decision: { decidedBy: { id: SLACK_USERS.alice.id } },
    });
  });

  test('two approvers clicking at once: one decision, and the other is told who decided first', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Act
    const clicks = await Promise.all([
      sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId),
      sandbox.click(SLACK_USERS.sam.id, DENY_ACTION_ID, approvalId),
    ]);
    const results = await sandbox.settle();
    // Assess
    expect(clicks.map((c) => c.status)).toEqual([200, 200]);
    // (PolicyGate's own quarantine and restore calls start executions too; they end as Ignored.)
    const approvals = results.filter((result) => result.history.includes('RequestApproval'));
    expect(approvals).toHaveLength(1);
    expect(sendTaskSuccessCalls(sandbox)).toBe(1);
    const record = await sandbox.store.get(approvalId);
    const winner = record?.decision?.decidedBy.id;
    const loser = winner === SLACK_USERS.ana.id ? SLACK_USERS.sam.id : SLACK_USERS.ana.id;
    expect([SLACK_USERS.ana.id, SLACK_USERS.sam.id]).toContain(winner);
    expect(approvals[0]?.history).toEqual(
      expect.arrayContaining([record?.status === 'RESTORED' ? 'Restored' : 'Denied']),
    );
    expect(sandbox.slack.ephemerals).toEqual([
      expect.objectContaining({
        user: loser,
        text: expect.stringMatching(new RegExp(`Already decided: .* by <@${winner}>.*Nothing changed`)),
      }),
    ]);
  });

  test('a click after the deadline is told "expired" and changes nothing', async () => {
    // Prepare
    sandbox = await startSandbox({ approvalTimeoutMs: 400 });
    const policyArn = await createPolicy(sandbox, 'cleanup');
    const [result] = await sandbox.settle();
    const approvalId = (result?.input as { detail: { eventID: string } } | undefined)?.detail.eventID ?? '';
    const expiredMessage = await requestMessage(sandbox, approvalId);
    // Act: a client still showing the old buttons (Slack clients can lag behind chat.update)
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId, { stale: true });
    // Assess
    expect(result?.history).toEqual(expect.arrayContaining(['RecordExpiry', 'Expired']));
    expect(findButton(expiredMessage.blocks, APPROVE_ACTION_ID)).toBeUndefined();
    expect(JSON.stringify(expiredMessage.blocks)).toMatch(/Expired/);
    expect(click.status).toBe(200);
    expect(sandbox.slack.ephemerals).toEqual([
      expect.objectContaining({
        user: SLACK_USERS.ana.id,
        text: expect.stringMatching(/expired.*Nothing changed/),
      }),
    ]);
    expect(await sandbox.store.get(approvalId)).toMatchObject({ status: 'EXPIRED' });
    expect(documentsEqual(defaultDocument(sandbox, policyArn), quarantineDocument(approvalId))).toBe(true);
  });

  test('a huge policy still yields a valid message that says what was cut', async () => {
    // Prepare: a policy at IAM's size limit, analysed against a wide list (over a thousand findings).
    sandbox = await startSandbox({ restrictedActions: 'iam:*,s3:*,ec2:*,kms:*' });
    const statement = (i: number) => ({
      Sid: `S${i}`,
      Effect: 'Allow',
      Action: ['s3:*', 'iam:*', 'kms:*', 'ec2:*'],
      Resource: `arn:aws:s3:::bucket-${'x'.repeat(30)}-${i}/*`,
    });
    const statements = [];
    while (
      JSON.stringify({ Version: '2012-10-17', Statement: [...statements, statement(statements.length)] })
        .length < 6_000
    ) {
      statements.push(statement(statements.length));
    }
    await createPolicy(sandbox, `huge-${'p'.repeat(100)}`, { Version: '2012-10-17', Statement: statements });
    // Act
    const approvalId = await pendingApproval(sandbox);
    const message = await requestMessage(sandbox, approvalId);
    const record = await sandbox.store.get(approvalId);
    // Assess: the record keeps what fits in a DynamoDB item and counts the rest
    expect(record && totalFindings(record)).toBeGreaterThan(1_000);
    expect(record?.findingsOmitted).toBeGreaterThan(0);
    expect(validateBlocks(message.blocks)).toEqual([]);
    expect(message.blocks?.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(message.blocks)).toMatch(/more characters\) cut/);
    expect(JSON.stringify(message.blocks)).toMatch(/and [\d,]+ more restricted actions/);
    expect(findButton(message.blocks, APPROVE_ACTION_ID)?.button).toMatchObject({ value: approvalId });
  });

  test('Slack answering 429 is retried after Retry-After and the request is posted', async () => {
    // Prepare
    sandbox = await startSandbox();
    sandbox.slack.rateLimit('chat.postMessage', 1, 1);
    // Act
    await createPolicy(sandbox, 'cleanup');
    const approvalId = await pendingApproval(sandbox);
    // Assess
    const posts = sandbox.slack.calls.filter((call) => call.method === 'chat.postMessage');
    expect(posts.map((call) => call.status)).toEqual([429, 200]);
    expect(await requestMessage(sandbox, approvalId)).toBeDefined();
    const subjects = await waitFor(() =>
      sandbox.sns.messages.length > 0 ? sandbox.sns.messages.map((m) => m.subject) : undefined,
    );
    expect(subjects).toEqual([expect.not.stringMatching(/Slack unavailable/)]);
  });

  test('Slack down: the e-mail still goes out, the workflow waits, and the outcome reaches Slack later', async () => {
    // Prepare
    sandbox = await startSandbox();
    sandbox.slack.setDown(true);
    const policyArn = await createPolicy(sandbox, 'cleanup');
    // Act
    const approvalId = await pendingApproval(sandbox, false);
    const email = await waitFor(() => sandbox.sns.messages[0]);
    const stillWaiting = sandbox.sfn.pendingTasks().length;
    sandbox.slack.setDown(false);
    const decided = await decisions().decide(approvalId, 'APPROVED', {
      channel: 'slack',
      id: SLACK_USERS.ana.id,
    });
    await sandbox.settle();
    // Assess
    expect(stillWaiting).toBe(1);
    expect(email?.subject).toMatch(/approval needed.*Slack unavailable/);
    expect(email?.message).toMatch(/Slack request could NOT be posted/);
    expect(decided.status).toBe('recorded');
    expect(documentsEqual(defaultDocument(sandbox, policyArn), risky)).toBe(true);
    const posted = sandbox.slack.messages(SLACK_CHANNEL);
    expect(posted).toHaveLength(1);
    expect(JSON.stringify(posted[0]?.blocks)).toMatch(/Restored/);
    expect(findButton(posted[0]?.blocks, APPROVE_ACTION_ID)).toBeUndefined();
    expect(posted[0] && thread(sandbox, posted[0])).toEqual([
      expect.stringMatching(/Approved by/),
      expect.stringMatching(/Restored/),
    ]);
  });

  test('each Slack secret is read once within its cache time, and no token or secret reaches the logs', async () => {
    // Prepare
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      sandbox = await startSandbox();
      await createPolicy(sandbox, 'first');
      const first = await pendingApproval(sandbox);
      await sandbox.click(SLACK_USERS.mallory.id, APPROVE_ACTION_ID, first);
      await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, first, { tamper: 'signature' });
      await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, first);
      await sandbox.settle();
      const readSecrets = () =>
        [SLACK_BOT_TOKEN_SECRET, SLACK_SIGNING_SECRET_NAME].map((name) => sandbox.secrets.callCount(name));
      const afterFirst = readSecrets();
      // Act: the same functions again, within the cache time.
      await createPolicy(sandbox, 'second');
      const second = await pendingExcept(sandbox, { except: [first] });
      await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, second);
      await sandbox.settle();
      const reads = readSecrets();
      const token = (await sandbox.store.get(first))?.taskToken;
      const logs = lines.join('');
      // Assess: as on Lambda, each function keeps its own cache. The bot token is read once by each of the
      // three that used it (RequestApproval posts, the interactivity function checks it and replies,
      // RestoreChange updates the message), the signing secret once by the interactivity function alone;
      // the second round reads neither again.
      expect(afterFirst).toEqual([3, 1]);
      expect(reads).toEqual([3, 1]);
      expect(logs.length).toBeGreaterThan(0);
      expect(token).toBeDefined();
      for (const secret of [SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, token as string]) {
        expect(logs).not.toContain(secret);
      }
    } finally {
      write.mockRestore();
    }
  });
});
