import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { ACCOUNT, decisions, type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { approveFully } from '../support/approvals';

const risky = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};
const harmless = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' }],
};
const trust = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};
// A configured approver (by Slack user id) of the sandbox's Slack workspace.
const approver = { channel: 'slack' as const, id: SLACK_USERS.ana.id };

/** Waits until the approval is registered (task token stored) so a decision can be taken. */
async function waitForPendingApproval(sandbox: Sandbox): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const pending = sandbox.sfn.pendingTasks();
    if (pending.length > 0) {
      const first = sandbox.executions.find((e) => e.execution.executionArn === pending[0]?.executionArn);
      const input = (first ? sandbox.sfn.describeExecution(first.execution.executionArn).input : undefined) as
        | { detail?: { eventID?: string } }
        | undefined;
      const approvalId = input?.detail?.eventID;
      if (approvalId && (await sandbox.store.get(approvalId))?.taskToken) return approvalId;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no approval became pending');
}

/** The CloudTrail event id that started an execution, which is also its approval id. */
function eventIdOf(result: { input: unknown } | undefined): string {
  const id = (result?.input as { detail?: { eventID?: unknown } } | undefined)?.detail?.eventID;
  if (typeof id !== 'string') throw new Error('execution input has no eventID');
  return id;
}

async function createRiskyPolicy(sandbox: Sandbox, name = 'cleanup'): Promise<string> {
  const created = await sandbox.developer.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: JSON.stringify(risky) }),
  );
  return created.Policy?.Arn as string;
}

describe('approval workflow on the real state machine, handlers and stand-ins', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('approve: a risky new policy is quarantined at once, then restored exactly', async () => {
    // Prepare
    sandbox = await startSandbox();
    // Act
    const policyArn = await createRiskyPolicy(sandbox);
    const approvalId = await waitForPendingApproval(sandbox);
    const whileWaiting = sandbox.iam.getPolicy(policyArn);
    const result = await decisions().decide(approvalId, 'APPROVED', approver);
    const [first] = await sandbox.settle();
    // Assess
    expect(result.status).toBe('recorded');
    const quarantined = whileWaiting?.versions.find((v) => v.isDefaultVersion);
    expect(documentsEqual(quarantined?.document, quarantineDocument(approvalId))).toBe(true);
    expect(whileWaiting?.versions.find((v) => v.versionId === 'v1')?.isDefaultVersion).toBe(false);
    expect(first?.status).toBe('SUCCEEDED');
    expect(first?.history).toEqual(
      expect.arrayContaining(['AnalyseChange', 'RequestApproval', 'RestoreChange', 'Restored']),
    );
    const after = sandbox.iam.getPolicy(policyArn);
    const inForce = after?.versions.find((v) => v.isDefaultVersion);
    expect(inForce?.versionId).toBe('v1');
    expect(documentsEqual(inForce?.document, risky)).toBe(true);
    expect(after?.versions.map((v) => v.versionId)).toEqual(['v1']);
    const record = await sandbox.store.get(approvalId);
    expect(record).toMatchObject({
      status: 'RESTORED',
      decision: { decision: 'APPROVED', decidedBy: approver },
      outcome: { result: 'RESTORED' },
    });
    expect(sandbox.sns.messages.map((m) => m.subject)).toEqual(
      expect.arrayContaining([expect.stringMatching(/approval needed/), expect.stringMatching(/restored/i)]),
    );
    expect(sandbox.sns.messages.some((m) => record?.taskToken && m.message.includes(record.taskToken))).toBe(
      false,
    );
  });

  test("loop prevention: PolicyGate's own quarantine and restore calls start no new approval", async () => {
    // Prepare
    sandbox = await startSandbox();
    // Act
    await createRiskyPolicy(sandbox);
    const approvalId = await waitForPendingApproval(sandbox);
    await decisions().decide(approvalId, 'APPROVED', approver);
    const results = await sandbox.settle();
    // Assess: the quarantine (CreatePolicyVersion) and restore (SetDefaultPolicyVersion) also emitted events
    expect(sandbox.executions.map((e) => e.eventName)).toEqual(
      expect.arrayContaining(['CreatePolicy', 'CreatePolicyVersion', 'SetDefaultPolicyVersion']),
    );
    const own = results.slice(1);
    expect(own.length).toBeGreaterThanOrEqual(2);
    for (const execution of own) {
      expect(execution.status).toBe('SUCCEEDED');
      expect(execution.history).toEqual(['AnalyseChange', 'RouteVerdict', 'Ignored']);
    }
  });

  test('deny: the change stays quarantined, the original version kept', async () => {
    // Prepare
    sandbox = await startSandbox();
    const policyArn = await createRiskyPolicy(sandbox);
    const approvalId = await waitForPendingApproval(sandbox);
    // Act
    await decisions().decide(approvalId, 'DENIED', approver);
    const [first] = await sandbox.settle();
    // Assess
    expect(first?.status).toBe('SUCCEEDED');
    expect(first?.history).toEqual(expect.arrayContaining(['RecordDenial', 'Denied']));
    const policy = sandbox.iam.getPolicy(policyArn);
    expect(
      documentsEqual(
        policy?.versions.find((v) => v.isDefaultVersion)?.document,
        quarantineDocument(approvalId),
      ),
    ).toBe(true);
    expect(documentsEqual(policy?.versions.find((v) => v.versionId === 'v1')?.document, risky)).toBe(true);
    expect(await sandbox.store.get(approvalId)).toMatchObject({
      status: 'DENIED',
      outcome: { result: 'KEPT_QUARANTINED' },
    });
  });

  test('no decision before the deadline: expired, still quarantined, and a late approval is refused', async () => {
    // Prepare
    sandbox = await startSandbox({ approvalTimeoutMs: 300 });
    const policyArn = await createRiskyPolicy(sandbox);
    // Act
    const [first] = await sandbox.settle();
    const approvalId = eventIdOf(first);
    const late = await decisions().decide(approvalId, 'APPROVED', approver);
    // Assess
    expect(first?.status).toBe('SUCCEEDED');
    expect(first?.history).toEqual(expect.arrayContaining(['RecordExpiry', 'Expired']));
    expect(late.status).toBe('expired');
    expect(await sandbox.store.get(approvalId)).toMatchObject({ status: 'EXPIRED' });
    const inForce = sandbox.iam.getPolicy(policyArn)?.versions.find((v) => v.isDefaultVersion);
    expect(documentsEqual(inForce?.document, quarantineDocument(approvalId))).toBe(true);
  });

  test('harmless change: notified only, nothing quarantined, no approval record', async () => {
    // Prepare
    sandbox = await startSandbox();
    // Act
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({ PolicyName: 'reader', PolicyDocument: JSON.stringify(harmless) }),
    );
    const [first] = await sandbox.settle();
    // Assess
    expect(first?.history).toEqual(['AnalyseChange', 'RouteVerdict', 'NotifyChange', 'Notified']);
    expect(sandbox.iam.getPolicy(created.Policy?.Arn as string)?.versions).toHaveLength(1);
    expect(await sandbox.store.get(eventIdOf(first))).toBeUndefined();
    expect(sandbox.sns.messages).toHaveLength(1);
  });

  test('IAM failing during the quarantine: retried, then the failure path alerts and the execution fails', async () => {
    // Prepare
    sandbox = await startSandbox();
    sandbox.iam.failNext('CreatePolicyVersion', 100, 'ServiceFailure');
    // Act
    await createRiskyPolicy(sandbox);
    const [first] = await sandbox.settle();
    // Assess
    expect(first?.status).toBe('FAILED');
    expect(first?.history).toEqual(expect.arrayContaining(['AnalyseChange', 'HandleFailure', 'Failed']));
    const retries =
      first?.events.filter((e) => e.stateName === 'AnalyseChange' && e.retryAttempt !== undefined) ?? [];
    expect(retries.length).toBeGreaterThan(0);
    const alert = sandbox.sns.messages.find((m) => /ALERT/.test(m.subject ?? ''));
    expect(alert?.message).toMatch(/NOT contained/);
    const approvalId = eventIdOf(first);
    const record = await sandbox.store.get(approvalId);
    expect(record).toMatchObject({ status: 'FAILED' });
    // No request was ever posted; the failure is, with no buttons, and its thread says why.
    const ref = record?.slackMessage;
    const message = ref && sandbox.slack.message(ref.channel, ref.ts);
    expect(JSON.stringify(message?.blocks)).toMatch(/workflow failed.*NOT confirmed/i);
    expect(JSON.stringify(message?.blocks)).not.toContain(APPROVE_ACTION_ID);
    expect(ref && sandbox.slack.replies(ref.channel, ref.ts).map((r) => r.text)).toEqual([
      expect.stringMatching(/Workflow failed/),
    ]);
  });

  test('a malformed event: clear failure, alert, no retry loop', async () => {
    // Prepare
    sandbox = await startSandbox();
    // Act
    const started = sandbox.sfn.startExecution({
      'detail-type': 'AWS API Call via CloudTrail',
      detail: { eventSource: 'iam.amazonaws.com' },
    });
    const result = await started.done;
    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.history).toEqual(['AnalyseChange', 'HandleFailure', 'Failed']);
    expect(sandbox.sns.messages[0]?.message).toMatch(/EventNormalisationError|eventID|eventName/);
  });

  test('policy changed during the wait: conflict, nothing overwritten', async () => {
    // Prepare
    sandbox = await startSandbox();
    const policyArn = await createRiskyPolicy(sandbox);
    const approvalId = await waitForPendingApproval(sandbox);
    await sandbox.developer.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn,
        PolicyDocument: JSON.stringify(harmless),
        SetAsDefault: true,
      }),
    );
    // Act
    await decisions().decide(approvalId, 'APPROVED', approver);
    const [first] = await sandbox.settle();
    // Assess
    expect(first?.status).toBe('FAILED');
    expect(first?.history).toEqual(expect.arrayContaining(['RestoreChange', 'RestoreConflict']));
    const inForce = sandbox.iam.getPolicy(policyArn)?.versions.find((v) => v.isDefaultVersion);
    expect(documentsEqual(inForce?.document, harmless)).toBe(true);
    const record = await sandbox.store.get(approvalId);
    expect(record).toMatchObject({ status: 'CONFLICT', outcome: { result: 'CONFLICT' } });
    const ref = record?.slackMessage;
    const message = ref && sandbox.slack.message(ref.channel, ref.ts);
    expect(JSON.stringify(message?.blocks)).toMatch(/NOT restored/);
    expect(ref && sandbox.slack.replies(ref.channel, ref.ts).map((r) => r.text)).toEqual([
      expect.stringMatching(/Approved by/),
      expect.stringMatching(/NOT restored/),
    ]);
  });

  test('inline policy: quarantined by replacement, restored exactly on approve', async () => {
    // Prepare
    sandbox = await startSandbox();
    await sandbox.developer.send(
      new CreateRoleCommand({ RoleName: 'worker', AssumeRolePolicyDocument: JSON.stringify(trust) }),
    );
    // Act
    await sandbox.developer.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const approvalId = await waitForPendingApproval(sandbox);
    const whileWaiting = sandbox.iam.getInlinePolicy('role', 'worker', 'ops');
    await decisions().decide(approvalId, 'APPROVED', approver);
    await sandbox.settle();
    // Assess
    expect(documentsEqual(whileWaiting, quarantineDocument(approvalId))).toBe(true);
    expect(documentsEqual(sandbox.iam.getInlinePolicy('role', 'worker', 'ops'), risky)).toBe(true);
  });

  test('attachment of AdministratorAccess: detached at once, attached again on approve', async () => {
    // Prepare
    sandbox = await startSandbox();
    sandbox.iam.addAwsManagedPolicy('AdministratorAccess', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    });
    await sandbox.developer.send(
      new CreateRoleCommand({ RoleName: 'worker', AssumeRolePolicyDocument: JSON.stringify(trust) }),
    );
    const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
    // Act
    await sandbox.developer.send(new AttachRolePolicyCommand({ RoleName: 'worker', PolicyArn: admin }));
    const approvalId = await waitForPendingApproval(sandbox);
    const whileWaiting = sandbox.iam.getAttachedPolicyArns('role', 'worker');
    // AdministratorAccess grants critical actions: two approvers.
    await approveFully(approvalId);
    await sandbox.settle();
    // Assess
    expect(whileWaiting).toEqual([]);
    expect(sandbox.iam.getAttachedPolicyArns('role', 'worker')).toEqual([admin]);
  });

  test('a policy already at 5 versions: still quarantined, the deleted version saved first', async () => {
    // Prepare
    sandbox = await startSandbox();
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({ PolicyName: 'busy', PolicyDocument: JSON.stringify(harmless) }),
    );
    const policyArn = created.Policy?.Arn as string;
    for (let i = 0; i < 3; i++) {
      await sandbox.developer.send(
        new CreatePolicyVersionCommand({
          PolicyArn: policyArn,
          PolicyDocument: JSON.stringify({
            ...harmless,
            Statement: [{ ...harmless.Statement[0], Sid: `Old${i}` }],
          }),
        }),
      );
    }
    await sandbox.settle();
    const oldest = sandbox.iam.getPolicy(policyArn)?.versions.find((v) => v.versionId === 'v1')?.document;
    // Act: the fifth version, risky and made default
    await sandbox.developer.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn,
        PolicyDocument: JSON.stringify(risky),
        SetAsDefault: true,
      }),
    );
    const approvalId = await waitForPendingApproval(sandbox);
    // Assess
    const policy = sandbox.iam.getPolicy(policyArn);
    expect(policy?.versions).toHaveLength(5);
    expect(policy?.versions.some((v) => v.versionId === 'v1')).toBe(false);
    expect(documentsEqual(policy?.versions.find((v) => v.versionId === 'v5')?.document, risky)).toBe(true);
    const record = await sandbox.store.get(approvalId);
    expect(record?.quarantine?.deletedVersions?.map((v) => v.versionId)).toEqual(['v1']);
    expect(documentsEqual(record?.quarantine?.deletedVersions?.[0]?.document, oldest)).toBe(true);
    await decisions().decide(approvalId, 'DENIED', approver);
    await sandbox.settle();
  });

  test('account and region come from the event', async () => {
    sandbox = await startSandbox();
    await createRiskyPolicy(sandbox);
    const approvalId = await waitForPendingApproval(sandbox);
    expect((await sandbox.store.get(approvalId))?.change.accountId).toBe(ACCOUNT);
    await decisions().decide(approvalId, 'DENIED', approver);
    await sandbox.settle();
  });
});
