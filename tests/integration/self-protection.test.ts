/**
 * Changes PolicyGate must never quarantine but always raise (its own roles), changes it reports without
 * containing (boundaries and trust policies of other principals), and group membership, which it gates:
 * through the real state machine, handlers and stand-ins.
 */
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateUserCommand,
  DeleteRolePolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  ACCOUNT,
  DEVELOPER_KEY,
  decisions,
  type Sandbox,
  SLACK_USERS,
  startSandbox,
} from '../../local/sandbox';
import { approveFully, eventually, mails, waitForPending } from '../support/approvals';
import { createRole } from '../support/iam';

const OWN_ROLE = 'policy-gate-local-workflow';
const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const ADMIN = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const approver = { channel: 'slack' as const, id: SLACK_USERS.ana.id };

/** The embedded-metric-format lines the handlers wrote to stdout while `act` ran. */
async function metricLines(act: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("PolicyGate's own roles: never quarantined, always raised", () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('a grant put on a PolicyGate role stays in force and raises a critical alert naming the actor', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, OWN_ROLE);
    // Act
    const metrics = await metricLines(async () => {
      await sandbox.developer.send(
        new PutRolePolicyCommand({
          RoleName: OWN_ROLE,
          PolicyName: 'backdoor',
          PolicyDocument: JSON.stringify(ADMIN),
        }),
      );
      await sandbox.settle();
    });
    // Assess
    const [result] = await sandbox.settle();
    expect(result?.history).toEqual(['AnalyseChange', 'RouteVerdict', 'NotifyChange', 'Notified']);
    expect(sandbox.iam.getInlinePolicy('role', OWN_ROLE, 'backdoor')).toBe(JSON.stringify(ADMIN));
    const alert = mails(sandbox, /CRITICAL/)[0];
    expect(alert?.subject).toMatch(/^PolicyGate CRITICAL: PutRolePolicy on PolicyGate's own role/);
    expect(alert?.message).toContain(`arn:aws:iam::${ACCOUNT}:user/alice made PutRolePolicy`);
    expect(alert?.message).toMatch(/never quarantines its own roles/);
    expect(sandbox.sns.messages.find((m) => m === alert)?.messageAttributes?.severity?.stringValue).toBe(
      'alert',
    );
    expect(JSON.stringify(sandbox.slack.messages())).toMatch(/CRITICAL: PutRolePolicy on PolicyGate/);
    expect(metrics).toEqual([
      expect.objectContaining({ SelfProtectionAlerts: 1, service: 'policy-gate-local' }),
    ]);
  });

  test('a Deny-only policy on a PolicyGate role (grants nothing, disables the gate) is critical too', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, OWN_ROLE.toUpperCase());
    const deny = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'iam:*', Resource: '*' }] };
    // Act
    await sandbox.developer.send(
      new PutRolePolicyCommand({
        RoleName: OWN_ROLE.toUpperCase(),
        PolicyName: 'off',
        PolicyDocument: JSON.stringify(deny),
      }),
    );
    await sandbox.settle();
    // Assess
    expect(mails(sandbox, /CRITICAL/)).toHaveLength(1);
    expect(await sandbox.store.byPrincipal('role', OWN_ROLE)).toEqual([]);
  });

  test('removing a permission from a PolicyGate role is raised; removing one from any other role is not', async () => {
    // Prepare
    sandbox = await startSandbox();
    for (const name of [OWN_ROLE, 'app']) {
      await createRole(sandbox, name);
    }
    sandbox.route((event) => (event.detail.eventName === 'DeleteRolePolicy' ? 'deliver' : 'lose'));
    for (const name of [OWN_ROLE, 'app']) {
      await sandbox.developer.send(
        new PutRolePolicyCommand({ RoleName: name, PolicyName: 'p', PolicyDocument: JSON.stringify(ADMIN) }),
      );
    }
    // Act
    for (const name of [OWN_ROLE, 'app']) {
      await sandbox.developer.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: 'p' }));
    }
    const results = await sandbox.settle();
    // Assess
    expect(results.map((r) => r.history.at(-1))).toEqual(['Notified', 'Ignored']);
    expect(mails(sandbox, /CRITICAL: DeleteRolePolicy/)).toHaveLength(1);
  });

  test("the stack's own deployer changing a PolicyGate role is a notice, not an alert", async () => {
    // Prepare
    const deployerRoleArn = `arn:aws:iam::${ACCOUNT}:role/cfn-deployer`;
    sandbox = await startSandbox({ deployerRoleArn });
    sandbox.iam.setIdentity(DEVELOPER_KEY, {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/cfn-deployer/AWSCloudFormation`,
      sessionContext: { sessionIssuer: { type: 'Role', arn: deployerRoleArn, userName: 'cfn-deployer' } },
      invokedBy: 'cloudformation.amazonaws.com',
    });
    await createRole(sandbox, OWN_ROLE);
    // Act
    const metrics = await metricLines(async () => {
      await sandbox.developer.send(
        new PutRolePolicyCommand({
          RoleName: OWN_ROLE,
          PolicyName: 'analyse-change',
          PolicyDocument: JSON.stringify(ADMIN),
        }),
      );
      await sandbox.settle();
    });
    // Assess
    expect(mails(sandbox, /CRITICAL/)).toEqual([]);
    expect(mails(sandbox, /PolicyGate deploy changed its role/)).toHaveLength(1);
    expect(metrics).toEqual([]);
  });
});

describe('boundaries and trust policies of other principals: reported, not contained', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('a new permissions boundary is reported with what it permits, read from IAM', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    // The boundary policy's own creation is gated too (it holds s3:*); its event is lost here.
    sandbox.route((event) => (event.detail.eventName === 'CreatePolicy' ? 'lose' : 'deliver'));
    const boundary = await sandbox.developer.send(
      new CreatePolicyCommand({
        PolicyName: 'wide-boundary',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
        }),
      }),
    );
    await sandbox.settle();
    // Act
    await sandbox.developer.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: 'app', PermissionsBoundary: boundary.Policy?.Arn }),
    );
    const results = await sandbox.settle();
    // Assess
    expect(results.at(-1)?.history).toEqual(['AnalyseChange', 'RouteVerdict', 'NotifyChange', 'Notified']);
    const report = mails(sandbox, /PutRolePermissionsBoundary/)[0];
    expect(report?.message).toMatch(/Reported, not contained/);
    expect(report?.message).toMatch(/s3:DeleteBucket/);
    expect(JSON.stringify(sandbox.slack.messages())).toMatch(/permissions boundary of role/);
  });

  test('a trust policy opened to anyone is reported as a warning, and nothing is changed', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    const open = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
    };
    // Act
    await sandbox.developer.send(
      new UpdateAssumeRolePolicyCommand({ RoleName: 'app', PolicyDocument: JSON.stringify(open) }),
    );
    await sandbox.settle();
    // Assess
    const report = mails(sandbox, /UpdateAssumeRolePolicy/)[0];
    expect(report?.message).toMatch(/ANYONE may assume this role without a condition/);
    expect(sandbox.sns.messages.find((m) => m === report)?.messageAttributes?.severity?.stringValue).toBe(
      'warning',
    );
  });
});

describe('AddUserToGroup is gated', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  async function adminGroup(): Promise<void> {
    sandbox.iam.addAwsManagedPolicy('AdministratorAccess', ADMIN);
    await sandbox.developer.send(new CreateGroupCommand({ GroupName: 'Admins' }));
    await sandbox.developer.send(new AttachGroupPolicyCommand({ GroupName: 'Admins', PolicyArn: ADMIN_ARN }));
    await sandbox.developer.send(new CreateUserCommand({ UserName: 'eve' }));
    await eventually(async () => (await sandbox.store.byPrincipal('group', 'Admins')).length > 0);
    const [attach] = await waitForPending(sandbox);
    // AdministratorAccess grants critical actions: two approvers.
    await approveFully(attach?.approvalId ?? '');
    await eventually(async () => (await sandbox.store.get(attach?.approvalId ?? ''))?.outcome);
  }

  test('joining a group that grants restricted actions is quarantined (removed), approving adds the user back', async () => {
    // Prepare
    sandbox = await startSandbox();
    await adminGroup();
    // Act
    await sandbox.developer.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'eve' }));
    const [record] = await waitForPending(sandbox);
    const whileWaiting = sandbox.iam.getGroupMembers('Admins');
    await approveFully(record?.approvalId ?? '');
    await sandbox.settle();
    // Assess
    expect(record?.change.target).toEqual({ kind: 'group-membership', groupName: 'Admins', userName: 'eve' });
    expect(record?.findings.length).toBeGreaterThan(0);
    // Each finding names the group's policy it comes from.
    const request = mails(sandbox, /approval needed/).find((m) =>
      m.message.includes(record?.approvalId ?? '?'),
    );
    expect(request?.message).toContain(`of ${ADMIN_ARN} v1 via *`);
    expect(whileWaiting).toEqual([]);
    expect(sandbox.iam.getGroupMembers('Admins')).toEqual(['eve']);
    expect((await sandbox.store.get(record?.approvalId ?? ''))?.outcome?.result).toBe('RESTORED');
  });

  test('denied: the user stays out of the group', async () => {
    // Prepare
    sandbox = await startSandbox();
    await adminGroup();
    await sandbox.developer.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'eve' }));
    const [record] = await waitForPending(sandbox);
    // Act
    await decisions().decide(record?.approvalId ?? '', 'DENIED', approver);
    await sandbox.settle();
    // Assess
    expect(sandbox.iam.getGroupMembers('Admins')).toEqual([]);
    expect((await sandbox.store.get(record?.approvalId ?? ''))?.status).toBe('DENIED');
  });

  test('joining a group that grants nothing restricted is only notified', async () => {
    // Prepare
    sandbox = await startSandbox();
    await sandbox.developer.send(new CreateGroupCommand({ GroupName: 'Readers' }));
    await sandbox.developer.send(new CreateUserCommand({ UserName: 'rex' }));
    // Act
    await sandbox.developer.send(new AddUserToGroupCommand({ GroupName: 'Readers', UserName: 'rex' }));
    const results = await sandbox.settle();
    // Assess
    expect(results.at(-1)?.history).toEqual(['AnalyseChange', 'RouteVerdict', 'NotifyChange', 'Notified']);
    expect(sandbox.iam.getGroupMembers('Readers')).toEqual(['rex']);
  });
});

describe('a managed policy attached to a PolicyGate role', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  async function attachedToOwnRole(): Promise<string> {
    await createRole(sandbox, OWN_ROLE);
    await createRole(sandbox, 'app');
    const read = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
    };
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({ PolicyName: 'shared', PolicyDocument: JSON.stringify(read) }),
    );
    const arn = created.Policy?.Arn as string;
    for (const role of [OWN_ROLE, 'app']) {
      await sandbox.developer.send(new AttachRolePolicyCommand({ RoleName: role, PolicyArn: arn }));
    }
    await sandbox.settle();
    return arn;
  }

  test('a Deny version of it (harmless, disables the gate) is raised as critical', async () => {
    // Prepare
    sandbox = await startSandbox();
    const arn = await attachedToOwnRole();
    const before = mails(sandbox, /CRITICAL/).length;
    const deny = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'iam:*', Resource: '*' }] };
    // Act
    await sandbox.developer.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        PolicyDocument: JSON.stringify(deny),
        SetAsDefault: true,
      }),
    );
    await sandbox.settle();
    // Assess
    const alerts = mails(sandbox, /CRITICAL/).slice(before);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.message).toMatch(
      /which is attached to PolicyGate's own role policy-gate-local-workflow/,
    );
  });

  test('a risky version of it is still quarantined (attaching it to PolicyGate is no way around the gate)', async () => {
    // Prepare
    sandbox = await startSandbox();
    const arn = await attachedToOwnRole();
    // Act
    await sandbox.developer.send(
      new CreatePolicyVersionCommand({
        PolicyArn: arn,
        PolicyDocument: JSON.stringify(ADMIN),
        SetAsDefault: true,
      }),
    );
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.quarantine).toBeDefined();
    expect(record?.concerns?.join()).toMatch(/attached to PolicyGate's own role/);
  });
});
