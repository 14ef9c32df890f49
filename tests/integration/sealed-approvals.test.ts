/**
 * PolicyGate cannot be turned into a way up: the attacks of an account user who can edit the approvals
 * table, start the workflow, call SendTaskSuccess with a stolen token, or run code as one of PolicyGate's
 * roles, each through the real state machine, handlers and stand-ins (KMS seals included). Each ends with
 * nothing written to IAM that no sealed approval covers, and the attempt visible.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CloudTrailEvent } from '../../local/iam';
import { POLICY_GATE_KEY, type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { handler as restoreChange } from '../../src/handlers/restore-change';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { eventually, mails, waitForPending } from '../support/approvals';

const ADMIN = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const RISKY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:DeleteBucket', Resource: '*' }],
};
const TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};
const TABLE = 'policy-gate-local-approvals';

let sandbox: Sandbox;
let table: DynamoDBDocumentClient;
let asPolicyGate: IAMClient;

beforeEach(async () => {
  sandbox = await startSandbox();
  table = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB as string,
      credentials: { accessKeyId: 'attacker', secretAccessKey: 'local' },
    }),
  );
  // Code running as PolicyGate's role (a PowerUser who replaced a function's code).
  asPolicyGate = new IAMClient({
    region: 'us-east-1',
    endpoint: sandbox.iam.endpoint,
    credentials: { accessKeyId: POLICY_GATE_KEY, secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  table.destroy();
  asPolicyGate.destroy();
  await sandbox.close();
});

async function createRole(name: string): Promise<void> {
  await sandbox.developer.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(TRUST) }),
  );
}

async function riskyInlinePolicy(role: string, name = 'cleanup', document: object = RISKY): Promise<string> {
  await sandbox.developer.send(
    new PutRolePolicyCommand({ RoleName: role, PolicyName: name, PolicyDocument: JSON.stringify(document) }),
  );
  const [record] = await waitForPending(sandbox);
  if (!record) throw new Error('no pending approval');
  return record.approvalId;
}

function inlineDocument(role: string, name: string): string | undefined {
  return sandbox.iam.getInlinePolicy('role', role, name);
}

/** Steals the task token from the table and hands Step Functions an APPROVED decision, as an attacker would. */
async function forgeApproval(approvalId: string, tamper: Record<string, unknown> = {}): Promise<void> {
  const record = await sandbox.store.get(approvalId);
  const decision = {
    decision: 'APPROVED',
    decidedBy: { id: SLACK_USERS.ana.id, name: 'Ana Approver', channel: 'slack' },
    decidedAt: new Date().toISOString(),
    approvalId,
  };
  const names: Record<string, string> = { '#status': 'status', '#decision': 'decision' };
  const values: Record<string, unknown> = { ':approved': 'APPROVED', ':decision': decision };
  const sets = ['#status = :approved', '#decision = :decision'];
  Object.entries(tamper).forEach(([field, value], i) => {
    names[`#t${i}`] = field;
    values[`:t${i}`] = value;
    sets.push(`#t${i} = :t${i}`);
  });
  await table.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { approvalId },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
  const sfn = new SFNClient({
    region: 'us-east-1',
    endpoint: sandbox.sfn.endpoint,
    credentials: { accessKeyId: 'attacker', secretAccessKey: 'local' },
  });
  await sfn.send(
    new SendTaskSuccessCommand({ taskToken: record?.taskToken as string, output: JSON.stringify(decision) }),
  );
  sfn.destroy();
}

describe('sealed approvals', () => {
  test('a pending record edited in the table cannot be approved: the click is refused, nothing restored', async () => {
    // Prepare
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    const original = (await sandbox.store.get(approvalId))?.original;
    await table.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { approvalId },
        UpdateExpression: 'SET #original = :original',
        ExpressionAttributeNames: { '#original': 'original' },
        ExpressionAttributeValues: { ':original': { ...original, document: JSON.stringify(ADMIN) } },
      }),
    );
    // Act
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    // Assess
    expect(click.status).toBe(200);
    expect((await sandbox.store.get(approvalId))?.status).toBe('PENDING');
    expect(sandbox.sfn.callbacks.filter((c) => c.operation === 'SendTaskSuccess')).toHaveLength(0);
    expect(sandbox.slack.ephemerals).toEqual([
      expect.objectContaining({ text: expect.stringMatching(/changed outside PolicyGate/) }),
    ]);
    expect(documentsEqual(inlineDocument('app', 'cleanup'), quarantineDocument(approvalId))).toBe(true);
  });

  test('a stolen task token with a forged APPROVED record restores nothing: the restore fails closed', async () => {
    // Prepare
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    // Act
    await forgeApproval(approvalId);
    const results = await sandbox.settle();
    // Assess
    const run = results.find((r) => r.history.includes('RestoreChange'));
    expect(run?.history).toEqual(expect.arrayContaining(['RestoreChange', 'HandleFailure']));
    expect(run?.history).not.toContain('Restored');
    const record = await sandbox.store.get(approvalId);
    expect(record?.status).toBe('FAILED');
    expect(record?.failure?.error).toBe('PolicyGate.SealError');
    expect(documentsEqual(inlineDocument('app', 'cleanup'), quarantineDocument(approvalId))).toBe(true);
    expect(mails(sandbox, /ALERT: workflow failed \(PolicyGate\.SealError\)/)).toHaveLength(1);
  });

  test('a forged approval that also rewrites the original to an admin grant writes nothing of it', async () => {
    // Prepare
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    const original = (await sandbox.store.get(approvalId))?.original;
    // Act
    await forgeApproval(approvalId, { original: { ...original, document: JSON.stringify(ADMIN) } });
    await sandbox.settle();
    // Assess
    const record = await sandbox.store.get(approvalId);
    expect(record?.status).toBe('FAILED');
    expect(record?.failure?.cause).toMatch(/record seal/);
    expect(documentsEqual(inlineDocument('app', 'cleanup'), ADMIN)).toBe(false);
    expect(documentsEqual(inlineDocument('app', 'cleanup'), quarantineDocument(approvalId))).toBe(true);
  });

  test('RestoreChange invoked again after a restore re-grants nothing security removed since', async () => {
    // Prepare
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    const record = await sandbox.store.get(approvalId);
    expect(record?.status).toBe('RESTORED');
    expect(documentsEqual(inlineDocument('app', 'cleanup'), RISKY)).toBe(true);
    await sandbox.developer.send(new DeleteRolePolicyCommand({ RoleName: 'app', PolicyName: 'cleanup' }));
    // Act
    const again = await restoreChange({ approvalId, executionId: record?.executionId });
    // Assess
    expect(again).toEqual({ outcome: 'RESTORED' });
    expect(inlineDocument('app', 'cleanup')).toBeUndefined();
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
  });

  test('RestoreChange for another execution’s approval is refused before anything is written', async () => {
    // Prepare
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    // Act
    const attempt = restoreChange({
      approvalId,
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:x:y',
    });
    // Assess
    await expect(attempt).rejects.toThrow(/is PENDING, not APPROVED/);
    expect(documentsEqual(inlineDocument('app', 'cleanup'), quarantineDocument(approvalId))).toBe(true);
  });
});

describe('records covering grants', () => {
  test('a restored record edited to cover another grant covers nothing: the sweep gates the grant', async () => {
    // Prepare: an approved, restored change, then the baseline.
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    await sandbox.sweep();
    // The attacker swaps in an admin grant whose event is lost, and edits the record to match it.
    sandbox.route((event) => (event.detail.eventName === 'PutRolePolicy' ? 'lose' : 'deliver'));
    await sandbox.developer.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: 'cleanup',
        PolicyDocument: JSON.stringify(ADMIN),
      }),
    );
    const original = (await sandbox.store.get(approvalId))?.original;
    await table.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { approvalId },
        UpdateExpression: 'SET #original = :original',
        ExpressionAttributeNames: { '#original': 'original' },
        ExpressionAttributeValues: { ':original': { ...original, document: JSON.stringify(ADMIN) } },
      }),
    );
    // Act
    const report = await sandbox.sweep();
    const [pending] = await waitForPending(sandbox);
    // Assess
    expect(report.started).toEqual(['inline policy cleanup on role app']);
    expect(
      documentsEqual(inlineDocument('app', 'cleanup'), quarantineDocument(pending?.approvalId ?? '')),
    ).toBe(true);
  });
});

describe("PolicyGate's own writes are recognised by content", () => {
  test('its quarantine and restore writes are its own: each ends Ignored, nothing is quarantined twice', async () => {
    // Prepare
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    // Act
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const results = await sandbox.settle();
    // Assess
    expect(documentsEqual(inlineDocument('app', 'cleanup'), RISKY)).toBe(true);
    // The developer's change, PolicyGate's quarantine write and its restore write.
    expect(results).toHaveLength(3);
    const own = results.filter((r) => !r.history.includes('RequestApproval'));
    expect(own).toHaveLength(2);
    for (const run of own) expect(run.history).toEqual(['AnalyseChange', 'RouteVerdict', 'Ignored']);
    expect(mails(sandbox, /approval needed/)).toHaveLength(1);
  });

  test('an admin grant written by code running as a PolicyGate role is quarantined and alerted', async () => {
    // Prepare
    await createRole('app');
    // Act
    await asPolicyGate.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: 'backdoor',
        PolicyDocument: JSON.stringify(ADMIN),
      }),
    );
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.concerns).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/PolicyGate's own role .* no approval expects this write/),
      ]),
    );
    expect(
      documentsEqual(inlineDocument('app', 'backdoor'), quarantineDocument(record?.approvalId ?? '')),
    ).toBe(true);
  });

  test('a harmless-looking grant by a PolicyGate role is contained too: no approval expects it', async () => {
    // Prepare
    await createRole('app');
    const harmless = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    };
    // Act
    await asPolicyGate.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: 'reader',
        PolicyDocument: JSON.stringify(harmless),
      }),
    );
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.findings).toEqual([]);
    expect(
      documentsEqual(inlineDocument('app', 'reader'), quarantineDocument(record?.approvalId ?? '')),
    ).toBe(true);
  });

  test('re-writing an approved original outside its restore is gated, not taken as a restore', async () => {
    // Prepare
    await createRole('app');
    const approvalId = await riskyInlinePolicy('app');
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    await sandbox.developer.send(new DeleteRolePolicyCommand({ RoleName: 'app', PolicyName: 'cleanup' }));
    await sandbox.settle();
    // The restore's window is over: move its recorded end well into the past.
    await table.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { approvalId },
        UpdateExpression: 'SET #restore.#finishedAt = :past',
        ExpressionAttributeNames: { '#restore': 'restore', '#finishedAt': 'finishedAt' },
        ExpressionAttributeValues: { ':past': '2020-01-01T00:00:00.000Z' },
      }),
    );
    // Act
    await asPolicyGate.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: 'cleanup',
        PolicyDocument: JSON.stringify(RISKY),
      }),
    );
    const pending = await eventually(async () => {
      const records = await sandbox.store.byPrincipal('role', 'app');
      return records.find((r) => r.approvalId !== approvalId && r.status === 'PENDING' && r.quarantineSeal);
    });
    // Assess
    expect(pending.concerns).toEqual(expect.arrayContaining([expect.stringMatching(/no approval expects/)]));
    expect(documentsEqual(inlineDocument('app', 'cleanup'), quarantineDocument(pending.approvalId))).toBe(
      true,
    );
  });

  test('a detach by a PolicyGate role that no approval expects is a critical alert', async () => {
    // Prepare
    await createRole('app');
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({
        PolicyName: 'readers',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    const policyArn = created.Policy?.Arn as string;
    await sandbox.developer.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: policyArn }));
    await sandbox.settle();
    // Act
    await asPolicyGate.send(new DetachRolePolicyCommand({ RoleName: 'app', PolicyArn: policyArn }));
    await sandbox.settle();
    // Assess
    const alerts = mails(sandbox, /CRITICAL: DetachRolePolicy on .*readers/);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.message).toMatch(
      /PolicyGate's own role .* made DetachRolePolicy .* no approval expects that write/,
    );
    expect(sandbox.slack.messages().some((m) => /no approval expects/.test(JSON.stringify(m.blocks)))).toBe(
      true,
    );
  });
});

describe('forged events', () => {
  test('a forged event with a real event id, started first, freezes both: neither can be approved', async () => {
    // Prepare: hold back Alice's real event and forge one with its id that names someone else as the actor,
    // so that Alice could approve her own change.
    await createRole('app');
    const held: CloudTrailEvent[] = [];
    sandbox.route((event) => {
      if (event.detail.eventName !== 'PutRolePolicy') return 'deliver';
      held.push(event);
      return 'lose';
    });
    await sandbox.developer.send(
      new PutRolePolicyCommand({
        RoleName: 'app',
        PolicyName: 'cleanup',
        PolicyDocument: JSON.stringify(RISKY),
      }),
    );
    const real = held[0] as CloudTrailEvent;
    const forged = structuredClone(real);
    forged.detail.userIdentity = {
      type: 'IAMUser',
      arn: 'arn:aws:iam::123456789012:user/bob',
      userName: 'bob',
      accountId: '123456789012',
    };
    sandbox.route(() => 'deliver');
    // Act
    sandbox.sfn.startExecution(forged);
    const [first] = await waitForPending(sandbox);
    sandbox.sfn.startExecution(real);
    await eventually(async () =>
      (await sandbox.store.get(real.detail.eventID))?.status === 'FAILED' ? true : undefined,
    );
    const click = await sandbox.click(SLACK_USERS.alice.id, APPROVE_ACTION_ID, real.detail.eventID);
    const threadOf = async () => {
      const message = (await sandbox.store.get(real.detail.eventID))?.slackMessage;
      return message ? sandbox.slack.replies(message.channel, message.ts).map((r) => r.text) : [];
    };
    // AnalyseChange holds no bot token: the line waits for the delivery worker, which holds it.
    const beforeWorker = await threadOf();
    const delivery = await sandbox.recoverSlack();
    const again = await sandbox.recoverSlack();
    // Assess
    expect(first?.change.actor.userName).toBe('bob');
    expect(beforeWorker.filter((text) => /Frozen/.test(text))).toEqual([]);
    expect(delivery).toMatchObject({ noted: [real.detail.eventID], tampered: [] });
    expect(again).toMatchObject({ noted: [] });
    const frozen = await sandbox.store.get(real.detail.eventID);
    expect(frozen).toMatchObject({ status: 'FAILED', failure: { error: 'PolicyGate.EventIdReused' } });
    expect(click.status).toBe(200);
    expect(sandbox.sfn.callbacks.filter((c) => c.operation === 'SendTaskSuccess')).toHaveLength(0);
    expect(documentsEqual(inlineDocument('app', 'cleanup'), RISKY)).toBe(false);
    const replies = await threadOf();
    expect(replies.filter((text) => /^Frozen: another event claimed/.test(text))).toHaveLength(1);
    // It names the other event's approval: the real one, contained under its own id.
    const other = /\(approval ([\w-]+)\)/.exec(replies.join('\n'))?.[1] ?? '';
    expect(await sandbox.store.get(other)).toMatchObject({ change: { actor: { userName: 'alice' } } });
  });
});
