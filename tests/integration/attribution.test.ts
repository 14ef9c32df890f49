/**
 * Who really made the change, end to end: sessions issued by the STS stand-in make changes through the IAM
 * stand-in (their calls carry the session's CloudTrail identity), the real workflow attributes them (source
 * identity, or the AssumeRole event found with LookupEvents in the CloudTrail stand-in), and signed Slack
 * clicks reach the real interactivity handler. Every attack ends with nothing written to IAM that no approval
 * covers.
 */
import { CreatePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { ACCOUNT, type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/messages/approval-message';
import { waitForPending } from '../support/approvals';
import { assumeRole, createRole } from '../support/iam';

const risky = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};
const passRole = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Hand', Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }],
};
const OPS_ROLE = `arn:aws:iam::${ACCOUNT}:role/ops-admin`;
const CHAINED_ROLE = `arn:aws:iam::${ACCOUNT}:role/break-glass`;
const CI_ROLE = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;

const sendTaskSuccessCalls = (sandbox: Sandbox) =>
  sandbox.sfn.callbacks.filter((callback) => callback.operation === 'SendTaskSuccess').length;

async function messageText(sandbox: Sandbox, approvalId: string): Promise<string> {
  const ref = (await sandbox.store.get(approvalId))?.slackMessage;
  const message = ref && sandbox.slack.message(ref.channel, ref.ts);
  if (!message) throw new Error(`no Slack message for ${approvalId}`);
  return JSON.stringify(message.blocks);
}

function lastEphemeral(sandbox: Sandbox, userId: string): string {
  return sandbox.slack.ephemerals.filter((e) => e.user === userId).at(-1)?.text ?? '';
}

function inlineIsQuarantined(sandbox: Sandbox, role: string, name: string, approvalId: string): boolean {
  return documentsEqual(sandbox.iam.getInlinePolicy('role', role, name), quarantineDocument(approvalId));
}

describe('attribution and the two-approver rule, through the real workflow and stand-ins', () => {
  let sandbox: Sandbox | undefined;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  test('an approver who assumes a role under a session name of her choosing cannot approve her own change', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'worker');
    const session = await assumeRole(sandbox, OPS_ROLE, 'deploy-bot');
    // Act
    await session.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    const own = await sandbox.click(SLACK_USERS.alice.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.click(SLACK_USERS.ana.id, DENY_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(own.status).toBe(200);
    expect(pending?.change.actor.sessionName).toBe('deploy-bot');
    const record = await sandbox.store.get(approvalId);
    expect(record?.attribution).toMatchObject({
      method: 'assume-role-chain',
      person: 'alice',
      via: 'iam-user',
    });
    expect(record?.attribution?.chain?.[0]?.calledBy).toBe(`arn:aws:iam::${ACCOUNT}:user/alice`);
    expect(lastEphemeral(sandbox, SLACK_USERS.alice.id)).toMatch(/cannot approve/);
    expect(record?.status).toBe('DENIED');
    expect(record?.decision?.decidedBy.id).toBe(SLACK_USERS.ana.id);
    expect(inlineIsQuarantined(sandbox, 'worker', 'ops', approvalId)).toBe(true);
    expect(await messageText(sandbox, approvalId)).toMatch(/Attributed to:\*.*alice/);
  });

  test('a source identity names the person through a role chain, whatever the session names say', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'worker');
    const first = await assumeRole(sandbox, OPS_ROLE, 'sam', { sourceIdentity: 'alice' });
    // Act: the chained session may not change the source identity, and inherits it when it asks for none.
    const changed = assumeRole(sandbox, CHAINED_ROLE, 'sam@example.com', {
      as: first.credentials,
      sourceIdentity: 'sam',
    });
    await expect(changed).rejects.toMatchObject({ name: 'AccessDenied' });
    const chained = await assumeRole(sandbox, CHAINED_ROLE, 'sam@example.com', { as: first.credentials });
    await chained.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    await sandbox.click(SLACK_USERS.alice.id, APPROVE_ACTION_ID, approvalId);
    const refused = await sandbox.store.get(approvalId);
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(pending?.attribution).toMatchObject({ method: 'source-identity', person: 'alice' });
    expect(pending?.requiredApprovals).toBe(1);
    expect(refused?.status).toBe('PENDING');
    const record = await sandbox.store.get(approvalId);
    expect(record?.status).toBe('RESTORED');
    expect(record?.decision?.decidedBy.id).toBe(SLACK_USERS.ana.id);
    expect(documentsEqual(sandbox.iam.getInlinePolicy('role', 'worker', 'ops'), risky)).toBe(true);
  });

  test('an AssumeRole that becomes searchable by the first approval attributes the change then', async () => {
    // Prepare: CloudTrail has not made the AssumeRole searchable when the change is analysed.
    sandbox = await startSandbox();
    await createRole(sandbox, 'worker');
    const session = await assumeRole(sandbox, OPS_ROLE, 'deploy-bot');
    sandbox.cloudtrail.clearEvents();
    for (const event of sandbox.sts.events) sandbox.cloudtrail.recordEvent(event, { searchable: false });
    await session.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    // Act
    sandbox.cloudtrail.makeSearchable();
    await sandbox.click(SLACK_USERS.alice.id, APPROVE_ACTION_ID, approvalId);
    const afterOwn = await sandbox.store.get(approvalId);
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(pending?.attribution).toMatchObject({ method: 'unattributed', retryable: true });
    expect(pending?.requiredApprovals).toBe(2);
    // Alice's refused click wrote nothing; Ana's click found the same attribution and stored it, sealed, with
    // her decision, which one approver was then enough for.
    expect(afterOwn).toMatchObject({ status: 'PENDING', attribution: { method: 'unattributed' } });
    expect(afterOwn?.approvals).toBeUndefined();
    expect(lastEphemeral(sandbox, SLACK_USERS.alice.id)).toMatch(/cannot approve/);
    const decided = await sandbox.store.get(approvalId);
    expect(decided?.decision?.decidedBy.id).toBe(SLACK_USERS.ana.id);
    expect(decided?.reattribution).toMatchObject({ method: 'assume-role-chain', person: 'alice' });
    expect(decided?.status).toBe('RESTORED');
    expect(documentsEqual(sandbox.iam.getInlinePolicy('role', 'worker', 'ops'), risky)).toBe(true);
  });

  test('a source identity of her choosing does not let an approver approve her own change', async () => {
    // Prepare: the trust policy does not constrain the source identity, so Alice sets "sam".
    sandbox = await startSandbox();
    await createRole(sandbox, 'worker');
    const session = await assumeRole(sandbox, OPS_ROLE, 'deploy-bot', { sourceIdentity: 'sam' });
    await session.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    // Act
    await sandbox.click(SLACK_USERS.alice.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.click(SLACK_USERS.sam.id, APPROVE_ACTION_ID, approvalId);
    const refused = await sandbox.store.get(approvalId);
    await sandbox.click(SLACK_USERS.ana.id, DENY_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(pending?.attribution).toMatchObject({
      method: 'assume-role-chain',
      person: 'alice',
      sourceIdentity: 'sam',
    });
    expect(refused?.status).toBe('PENDING');
    expect(refused?.approvals).toBeUndefined();
    expect(sendTaskSuccessCalls(sandbox)).toBe(1);
    expect((await sandbox.store.get(approvalId))?.status).toBe('DENIED');
    expect(inlineIsQuarantined(sandbox, 'worker', 'ops', approvalId)).toBe(true);
  });

  test('an unattributed change needs two different approvers, and one Deny ends it', async () => {
    // Prepare: the AssumeRole event is not searchable yet (CloudTrail takes minutes), so nobody is named.
    sandbox = await startSandbox();
    await createRole(sandbox, 'worker');
    const session = await assumeRole(sandbox, OPS_ROLE, 'deploy-bot');
    sandbox.cloudtrail.clearEvents();
    await session.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    // Act
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const afterFirst = await sandbox.store.get(approvalId);
    const shownAfterFirst = await messageText(sandbox, approvalId);
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const afterTwice = await sandbox.store.get(approvalId);
    await sandbox.click(SLACK_USERS.sam.id, DENY_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(pending?.attribution?.method).toBe('unattributed');
    expect(pending?.attribution?.reason).toMatch(/chosen by whoever assumed the role/);
    expect(pending?.requiredApprovals).toBe(2);
    expect(afterFirst?.status).toBe('PENDING');
    expect(afterFirst?.approvals?.map((a) => a.decidedBy.id)).toEqual([SLACK_USERS.ana.id]);
    expect(shownAfterFirst).toContain('1 of 2 approvals');
    expect(afterTwice?.approvals).toHaveLength(1);
    expect(lastEphemeral(sandbox, SLACK_USERS.ana.id)).toMatch(/cannot approve this change again/);
    const record = await sandbox.store.get(approvalId);
    expect(record?.status).toBe('DENIED');
    expect(inlineIsQuarantined(sandbox, 'worker', 'ops', approvalId)).toBe(true);
  });

  test('the second approval of an unattributed change counts once, however many click at once', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'worker');
    const session = await assumeRole(sandbox, OPS_ROLE, 'deploy-bot');
    sandbox.cloudtrail.clearEvents();
    await session.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const waiting = inlineIsQuarantined(sandbox, 'worker', 'ops', approvalId);
    const successesBefore = sendTaskSuccessCalls(sandbox);
    // Act
    await Promise.all([
      sandbox.click(SLACK_USERS.sam.id, APPROVE_ACTION_ID, approvalId),
      sandbox.click(SLACK_USERS.alice.id, APPROVE_ACTION_ID, approvalId),
    ]);
    await sandbox.settle();
    // Assess
    expect(waiting).toBe(true);
    expect(successesBefore).toBe(0);
    expect(sendTaskSuccessCalls(sandbox)).toBe(1);
    const record = await sandbox.store.get(approvalId);
    expect(record?.status).toBe('RESTORED');
    expect(record?.approvals?.map((a) => a.decidedBy.id)).toEqual([SLACK_USERS.ana.id]);
    expect([SLACK_USERS.sam.id, SLACK_USERS.alice.id]).toContain(record?.decision?.decidedBy.id);
    expect(documentsEqual(sandbox.iam.getInlinePolicy('role', 'worker', 'ops'), risky)).toBe(true);
  });

  test('a grant of a critical restricted action needs two approvers, even from a named person', async () => {
    // Prepare
    sandbox = await startSandbox();
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({ PolicyName: 'hand-roles', PolicyDocument: JSON.stringify(passRole) }),
    );
    const policyArn = created.Policy?.Arn as string;
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    // Act
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const afterFirst = await sandbox.store.get(approvalId);
    const stillQuarantined = documentsEqual(
      sandbox.iam.getPolicy(policyArn)?.versions.find((v) => v.isDefaultVersion)?.document,
      quarantineDocument(approvalId),
    );
    await sandbox.click(SLACK_USERS.sam.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(pending?.attribution).toMatchObject({ method: 'iam-user', person: 'alice' });
    expect(pending?.criticalActions).toEqual(['iam:PassRole']);
    expect(afterFirst?.status).toBe('PENDING');
    expect(stillQuarantined).toBe(true);
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
    const inForce = sandbox.iam.getPolicy(policyArn)?.versions.find((v) => v.isDefaultVersion)?.document;
    expect(documentsEqual(inForce, passRole)).toBe(true);
  });

  test('a declared service identity needs one approver when no person is behind its session', async () => {
    // Prepare: an AWS service (not a person) assumes the CI role.
    sandbox = await startSandbox({
      identityMap: JSON.stringify({ [CI_ROLE]: { service: 'the CI pipeline (CodeBuild)' } }),
    });
    sandbox.sts.setCaller('AKIDCODEBUILDSERVICE', {
      type: 'AWSService',
      invokedBy: 'codebuild.amazonaws.com',
    });
    await createRole(sandbox, 'worker');
    const session = await assumeRole(sandbox, CI_ROLE, 'build-1234', {
      as: { accessKeyId: 'AKIDCODEBUILDSERVICE', secretAccessKey: 'local' },
    });
    await session.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'worker',
        PolicyName: 'ops',
        PolicyDocument: JSON.stringify(risky),
      }),
    );
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    // Act
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await sandbox.settle();
    // Assess
    expect(pending?.attribution).toMatchObject({ method: 'service-identity', serviceRole: CI_ROLE });
    expect(pending?.requiredApprovals).toBe(1);
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
    expect(documentsEqual(sandbox.iam.getInlinePolicy('role', 'worker', 'ops'), risky)).toBe(true);
  });
});
