import {
  AttachUserPolicyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  GetAccountAuthorizationDetailsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { MEMBER_EXTERNAL_ID, MEMBER_ROLES } from '../../local/organization-sandbox';
import {
  ACCOUNT,
  DECISION_EMAIL,
  decisions,
  POLICY_GATE_KEY,
  type Sandbox,
  SLACK_CHANNEL,
  SLACK_USERS,
  startSandbox,
} from '../../local/sandbox';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { eventually, mails, waitForPending } from '../support/approvals';
import { assumeRole } from '../support/iam';

const PAYMENTS = '111111111111';
const DATA = '222222222222';
const OUTSIDER = '999999999999';
const PAYMENTS_OU = 'ou-loca-payments1';
const DATA_OU = 'ou-loca-dataplat1';
const DATA_CHANNEL = 'C0DATAPLATFORM';

const riskyS3 = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});
const riskyEc2 = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'ec2:TerminateInstances', Resource: '*' }],
});

/** The parts of an EventBridge IAM event a forger edits. */
interface Forgeable {
  account: string;
  detail: { eventID: string; recipientAccountId: string; userIdentity: { accountId?: string } };
}

/** Two member accounts in two OUs; the data OU has its own restricted list and its own approver (Sam). */
function organizationSandbox(): Promise<Sandbox> {
  return startSandbox({
    organization: {
      units: [
        { id: PAYMENTS_OU, name: 'Payments' },
        { id: DATA_OU, name: 'Data platform' },
      ],
      accounts: [
        { id: PAYMENTS, name: 'payments-prod', parentId: PAYMENTS_OU },
        { id: DATA, name: 'data-prod', parentId: DATA_OU },
      ],
      accountSettings: JSON.stringify({
        version: 1,
        organizationalUnits: {
          [DATA_OU]: {
            restrictedActions: ['ec2:TerminateInstances'],
            approvers: { slackUserIds: [SLACK_USERS.sam.id] },
            slackChannelId: DATA_CHANNEL,
          },
        },
      }),
    },
  });
}

function member(sandbox: Sandbox, accountId: string) {
  const account = sandbox.organization?.members[accountId];
  if (!account) throw new Error(`no member account ${accountId}`);
  return account;
}

async function createPolicy(sandbox: Sandbox, accountId: string, name: string, document: string) {
  const created = await member(sandbox, accountId).developer.send(
    new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document }),
  );
  return created.Policy?.Arn as string;
}

/** A copy of the member account's last event, with `edit` applied: a forgery. */
function forged(sandbox: Sandbox, accountId: string, edit: (event: Forgeable) => void): unknown {
  const last = member(sandbox, accountId).iam.events.at(-1);
  const copy = structuredClone(last) as unknown as Forgeable;
  copy.detail.eventID = `forged-${Math.random().toString(16).slice(2)}`;
  edit(copy);
  return copy;
}

describe('one PolicyGate for an organization', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('a risky change in a member account is quarantined there and restored after approval in the central channel', async () => {
    // Prepare
    sandbox = await organizationSandbox();
    // Act
    const policyArn = await createPolicy(sandbox, PAYMENTS, 'cleanup', riskyS3);
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    const whileWaiting = member(sandbox, PAYMENTS).iam.getPolicy(policyArn);
    const record = await eventually(async () => {
      const r = await sandbox.store.get(approvalId);
      return r?.slackMessage && r;
    });
    const click = await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const results = await sandbox.settle();
    // Assess: contained in the member account, nothing in the central one
    expect(policyArn).toContain(`:${PAYMENTS}:`);
    const quarantined = whileWaiting?.versions.find((v) => v.isDefaultVersion);
    expect(documentsEqual(quarantined?.document, quarantineDocument(approvalId))).toBe(true);
    expect(sandbox.iam.state.policies).toHaveLength(0);
    expect(record.slackMessage?.channel).toBe(SLACK_CHANNEL);
    expect(record.account).toEqual({ name: 'payments-prod', organizationalUnits: ['Payments', 'Root'] });
    expect(
      JSON.stringify(sandbox.slack.message(SLACK_CHANNEL, record.slackMessage?.ts ?? '')?.blocks),
    ).toContain('payments-prod');
    expect(mails(sandbox, /approval needed/)[0]?.message).toMatch(
      /Account name: payments-prod \(OU Payments < Root\)/,
    );
    expect(click.status).toBe(200);
    const after = member(sandbox, PAYMENTS).iam.getPolicy(policyArn);
    expect(after?.versions.find((v) => v.isDefaultVersion)?.versionId).toBe('v1');
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
    // The quarantine role quarantined and the restore role restored, each in a session naming the approval
    const roleIn = (use: keyof typeof MEMBER_ROLES) => `arn:aws:iam::${PAYMENTS}:role/${MEMBER_ROLES[use]}`;
    const sessions = sandbox.sts.sessions().filter((s) => s.roleArn.includes(':role/policy-gate-member'));
    expect(new Set(sessions.map((s) => `${s.roleArn} ${s.sessionName}`))).toEqual(
      new Set([
        `${roleIn('quarantine')} policy-gate-${approvalId}`,
        `${roleIn('restore')} policy-gate-${approvalId}`,
      ]),
    );
    const writer = (eventName: string) =>
      member(sandbox, PAYMENTS)
        .iam.events.filter((e) => e.detail.eventName === eventName)
        .map((e) => e.detail.userIdentity.sessionContext?.sessionIssuer?.arn);
    expect(writer('CreatePolicyVersion')).toEqual([roleIn('quarantine')]);
    expect(writer('SetDefaultPolicyVersion')).toEqual([roleIn('restore')]);
    // ...and PolicyGate recognised them as its own in that account: no approval, no alert
    for (const run of results.slice(1))
      expect(run.history).toEqual(['AnalyseChange', 'RouteVerdict', 'Ignored']);
    expect(mails(sandbox, /ALERT|refused/i)).toHaveLength(0);
  });

  test('when Organizations cannot answer, the step is retried and the change is contained, never refused', async () => {
    // Prepare: the first two reads of the account list fail (a lost delegation, throttling)
    sandbox = await organizationSandbox();
    const organizations = sandbox.organization?.organizations;
    if (!organizations) throw new Error('no Organizations stand-in');
    organizations.failNext(2);
    // Act
    const policyArn = await createPolicy(sandbox, PAYMENTS, 'cleanup', riskyS3);
    const [pending] = await waitForPending(sandbox);
    // Assess
    const policy = member(sandbox, PAYMENTS).iam.getPolicy(policyArn);
    const inForce = policy?.versions.find((v) => v.isDefaultVersion);
    expect(documentsEqual(inForce?.document, quarantineDocument(pending?.approvalId ?? ''))).toBe(true);
    expect(organizations.calls.filter((c) => c === 'ListAccounts').length).toBeGreaterThanOrEqual(3);
    expect(mails(sandbox, /refused/i)).toHaveLength(0);
  });

  test.each([
    [
      'an envelope account that disagrees with recipientAccountId',
      (e: Forgeable) => {
        e.account = DATA;
      },
    ],
    [
      'an account outside the organization',
      (e: Forgeable) => {
        e.account = OUTSIDER;
        e.detail.recipientAccountId = OUTSIDER;
        e.detail.userIdentity.accountId = OUTSIDER;
      },
    ],
  ])('an event with %s changes nothing and raises the alert', async (_, edit) => {
    // Prepare
    sandbox = await organizationSandbox();
    const policyArn = await createPolicy(sandbox, PAYMENTS, 'cleanup', riskyS3);
    await waitForPending(sandbox);
    const event = forged(sandbox, PAYMENTS, edit);
    const before = {
      payments: member(sandbox, PAYMENTS).iam.events.length,
      data: member(sandbox, DATA).iam.events.length,
      central: sandbox.iam.events.length,
    };
    const assumed = sandbox.sts.sessions().length;
    const notices = sandbox.slack.messages(SLACK_CHANNEL).length;
    // Act
    const result = await sandbox.sfn.startExecution(event).done;
    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.history).toEqual(expect.arrayContaining(['AnalyseChange', 'NotifyChange']));
    expect(member(sandbox, PAYMENTS).iam.events.length).toBe(before.payments);
    expect(member(sandbox, DATA).iam.events.length).toBe(before.data);
    expect(sandbox.iam.events.length).toBe(before.central);
    expect(sandbox.sts.sessions().length).toBe(assumed);
    expect(member(sandbox, PAYMENTS).iam.getPolicy(policyArn)?.versions).toHaveLength(2);
    const alert = mails(sandbox, /refused/i);
    expect(alert).toHaveLength(1);
    expect(alert[0]?.message).toMatch(/Nothing was read, quarantined or changed/);
    expect(sandbox.slack.messages(SLACK_CHANNEL).length).toBe(notices + 1);
  });

  test('per-OU settings: the data OU restricts its own list, asks in its own channel, and only its own approver may approve', async () => {
    // Prepare
    sandbox = await organizationSandbox();
    sandbox.slack.addChannel(DATA_CHANNEL);
    // Act: s3:* is restricted for the stage but not for the data OU; ec2:TerminateInstances is restricted there
    const s3Arn = await createPolicy(sandbox, DATA, 'cleanup', riskyS3);
    await sandbox.settle();
    const ec2Arn = await createPolicy(sandbox, DATA, 'terminate', riskyEc2);
    const [pending] = await waitForPending(sandbox);
    const approvalId = pending?.approvalId as string;
    const posted = await eventually(async () => (await sandbox.store.get(approvalId))?.slackMessage);
    const byAna = await decisions().decide(approvalId, 'APPROVED', {
      channel: 'slack',
      id: SLACK_USERS.ana.id,
    });
    const byMail = await decisions().decide(approvalId, 'APPROVED', { channel: 'email', id: DECISION_EMAIL });
    const bySam = await decisions().decide(approvalId, 'APPROVED', {
      channel: 'slack',
      id: SLACK_USERS.sam.id,
    });
    await sandbox.settle();
    // Assess
    expect(member(sandbox, DATA).iam.getPolicy(s3Arn)?.versions).toHaveLength(1);
    expect(pending?.change.accountId).toBe(DATA);
    expect(
      member(sandbox, DATA)
        .iam.getPolicy(ec2Arn)
        ?.versions.find((v) => v.isDefaultVersion)?.versionId,
    ).toBe('v1');
    expect(byAna).toMatchObject({
      status: 'unauthorised',
      reason: expect.stringMatching(/approvers of account 222222222222/),
    });
    expect(byMail).toMatchObject({
      status: 'unauthorised',
      reason: expect.stringMatching(/has its own approvers/),
    });
    expect(bySam.status).toBe('recorded');
    expect(posted.channel).toBe(DATA_CHANNEL);
    expect(sandbox.slack.messages(SLACK_CHANNEL).some((m) => JSON.stringify(m).includes(approvalId))).toBe(
      false,
    );
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
  });

  test("in a member account the member roles are PolicyGate's own: a change to one is alerted, a write by one that no approval expects is contained", async () => {
    // Prepare
    sandbox = await organizationSandbox();
    const account = member(sandbox, PAYMENTS);
    const quarantineRole = MEMBER_ROLES.quarantine;
    await account.developer.send(new CreateUserCommand({ UserName: 'dev' }));
    // Act: someone in the member account changes the quarantine role...
    await account.developer.send(
      new PutRolePolicyCommand({ RoleName: quarantineRole, PolicyName: 'extra', PolicyDocument: riskyS3 }),
    );
    const [onRole] = await sandbox.settle();
    // ...and someone holding the quarantine role writes what no approval expects
    const { iam } = await assumeRole(
      sandbox,
      `arn:aws:iam::${PAYMENTS}:role/${quarantineRole}`,
      'policy-gate-rogue',
      {
        as: { accessKeyId: POLICY_GATE_KEY, secretAccessKey: 'local' },
        externalId: MEMBER_EXTERNAL_ID,
        iamEndpoint: sandbox.organization?.router.endpoint as string,
      },
    );
    await iam.send(
      new PutUserPolicyCommand({ UserName: 'dev', PolicyName: 'rogue', PolicyDocument: riskyS3 }),
    );
    const [pending] = await waitForPending(sandbox);
    iam.destroy();
    // Assess
    expect(onRole?.history).toEqual(expect.arrayContaining(['NotifyChange']));
    expect(documentsEqual(account.iam.getInlinePolicy('role', quarantineRole, 'extra'), riskyS3)).toBe(true);
    expect(mails(sandbox, new RegExp(`PolicyGate's own role ${quarantineRole}`))).toHaveLength(1);
    expect(pending?.change.accountId).toBe(PAYMENTS);
    expect(pending?.concerns).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          `made by PolicyGate's own role arn:aws:iam::${PAYMENTS}:role/${quarantineRole}`,
        ),
      ]),
    );
    const inForce = account.iam.getInlinePolicy('user', 'dev', 'rogue');
    expect(documentsEqual(inForce, quarantineDocument(pending?.approvalId as string))).toBe(true);
  });

  test('each member role does only what the member template gives it, and the read role only for the sweep', async () => {
    // Prepare
    sandbox = await organizationSandbox();
    const as = {
      as: { accessKeyId: POLICY_GATE_KEY, secretAccessKey: 'local' },
      externalId: MEMBER_EXTERNAL_ID,
      iamEndpoint: sandbox.organization?.router.endpoint as string,
    };
    const role = (use: keyof typeof MEMBER_ROLES) => `arn:aws:iam::${PAYMENTS}:role/${MEMBER_ROLES[use]}`;
    await member(sandbox, PAYMENTS).developer.send(new CreateUserCommand({ UserName: 'dev' }));
    const attach = new AttachUserPolicyCommand({
      UserName: 'dev',
      PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
    });
    const put = new PutUserPolicyCommand({ UserName: 'dev', PolicyName: 'x', PolicyDocument: riskyS3 });
    // Act
    const reader = await assumeRole(sandbox, role('read'), 'policy-gate-sweep', as);
    const quarantiner = await assumeRole(sandbox, role('quarantine'), 'policy-gate-approval-1', as);
    const readDenied = await reader.iam.send(put).catch((error: Error) => error.name);
    const inventory = await reader.iam.send(new GetAccountAuthorizationDetailsCommand({}));
    const attachDenied = await quarantiner.iam.send(attach).catch((error: Error) => error.name);
    const readAsApproval = await assumeRole(sandbox, role('read'), 'policy-gate-approval-1', as).catch(
      (error: Error) => error.name,
    );
    const quarantineAsSweep = await assumeRole(sandbox, role('quarantine'), 'policy-gate-sweep', as).catch(
      (error: Error) => error.name,
    );
    const oldRole = await assumeRole(
      sandbox,
      `arn:aws:iam::${PAYMENTS}:role/policy-gate-member`,
      'policy-gate-x',
      as,
    ).catch((error: Error) => error.name);
    reader.iam.destroy();
    quarantiner.iam.destroy();
    // Assess
    expect(readDenied).toBe('AccessDenied');
    expect(inventory.UserDetailList?.map((u) => u.UserName)).toContain('dev');
    expect(attachDenied).toBe('AccessDenied');
    expect(readAsApproval).toBe('AccessDenied');
    expect(quarantineAsSweep).toBe('AccessDenied');
    expect(oldRole).toBe('AccessDenied');
    expect(member(sandbox, PAYMENTS).iam.getAttachedPolicyArns('user', 'dev')).toEqual([]);
    expect(member(sandbox, PAYMENTS).iam.getInlinePolicy('user', 'dev', 'x')).toBeUndefined();
  });

  test('the sweep finds a change in a member account whose event was lost, and a failing account does not stop the others', async () => {
    // Prepare
    sandbox = await organizationSandbox();
    await sandbox.sweep();
    sandbox.route(() => 'lose');
    const policyArn = await createPolicy(sandbox, PAYMENTS, 'lost', riskyS3);
    sandbox.route(() => 'deliver');
    member(sandbox, DATA).iam.failNext('GetAccountAuthorizationDetails', 10, 'ServiceFailure');
    // Act
    const report = (await sandbox.sweep()) as Awaited<ReturnType<Sandbox['sweep']>> & {
      organization?: { swept: string[]; failed: { accountId: string }[] };
    };
    const [pending] = await waitForPending(sandbox);
    // Assess
    expect(report.organization?.swept).toEqual([PAYMENTS]);
    expect(report.organization?.failed.map((f) => f.accountId)).toEqual([DATA]);
    expect(mails(sandbox, /could not examine 1 member account/)).toHaveLength(1);
    expect(pending?.change).toMatchObject({ accountId: PAYMENTS, origin: 'sweep' });
    const inForce = member(sandbox, PAYMENTS)
      .iam.getPolicy(policyArn)
      ?.versions.find((v) => v.isDefaultVersion);
    expect(documentsEqual(inForce?.document, quarantineDocument(pending?.approvalId as string))).toBe(true);
  });

  test('a single-account stage refuses an event for another account', async () => {
    // Prepare
    sandbox = await startSandbox();
    await sandbox.developer.send(
      new CreatePolicyCommand({
        PolicyName: 'read',
        PolicyDocument: riskyEc2.replace('ec2:TerminateInstances', 's3:GetObject'),
      }),
    );
    await sandbox.settle();
    const event = structuredClone(sandbox.iam.events.at(-1)) as unknown as Forgeable;
    event.detail.eventID = 'forged-single-account';
    event.account = PAYMENTS;
    event.detail.recipientAccountId = PAYMENTS;
    event.detail.userIdentity.accountId = PAYMENTS;
    const before = sandbox.iam.events.length;
    // Act
    const result = await sandbox.sfn.startExecution(event).done;
    // Assess
    expect(result.history).toEqual(expect.arrayContaining(['NotifyChange']));
    expect(sandbox.iam.events.length).toBe(before);
    expect(mails(sandbox, /refused/i)[0]?.message).toMatch(
      new RegExp(`gates only its own account ${ACCOUNT}`),
    );
  });
});
