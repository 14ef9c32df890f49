/**
 * IAM names are attacker-chosen, and `constructor`, `__proto__`, `toString`... are all valid IAM names. Used
 * as keys of plain objects they read inherited members instead of data (a fail-open, or a crash, in the
 * gate). Every risky change on such names must be contained, and restored on approval, like any other.
 */
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { decisions, type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { waitForPending } from '../support/approvals';
import { createRole } from '../support/iam';

const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});
const approver = { channel: 'slack' as const, id: SLACK_USERS.ana.id };
const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe.each(NAMES)('a principal or policy named %s is gated like any other', (name) => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterEach(async () => {
    await sandbox.settle();
    sandbox.iam.reset();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  /** Approves the only pending approval and returns its final record. */
  async function approveOnly() {
    const [record] = await waitForPending(sandbox);
    const approvalId = record?.approvalId ?? '';
    await decisions().decide(approvalId, 'APPROVED', approver);
    await sandbox.settle();
    return { pending: record, done: await sandbox.store.get(approvalId) };
  }

  test.each(['role', 'user', 'group'] as const)(
    'an inline policy on a %s, its members included',
    async (kind) => {
      // Prepare: for groups, a member with the same kind of name, so the reach has a prototype key.
      if (kind === 'role') await createRole(sandbox, name);
      else if (kind === 'user') await sandbox.developer.send(new CreateUserCommand({ UserName: name }));
      else {
        await sandbox.developer.send(new CreateGroupCommand({ GroupName: name }));
        await sandbox.developer.send(new CreateUserCommand({ UserName: name }));
        await sandbox.developer.send(new AddUserToGroupCommand({ GroupName: name, UserName: name }));
        await sandbox.settle();
      }
      // Act
      const input = { PolicyName: name, PolicyDocument: RISKY };
      if (kind === 'role')
        await sandbox.developer.send(new PutRolePolicyCommand({ RoleName: name, ...input }));
      else if (kind === 'user')
        await sandbox.developer.send(new PutUserPolicyCommand({ UserName: name, ...input }));
      else await sandbox.developer.send(new PutGroupPolicyCommand({ GroupName: name, ...input }));
      const [record] = await waitForPending(sandbox);
      // Assess: contained while pending, the original back once approved.
      expect(record?.change.target).toEqual({
        kind: 'inline-policy',
        principalType: kind,
        principalName: name,
        policyName: name,
      });
      expect(sandbox.iam.getInlinePolicy(kind, name, name)).toBe(
        quarantineDocument(record?.approvalId ?? ''),
      );
      const { done } = await approveOnly();
      expect(done?.outcome?.result).toBe('RESTORED');
      expect(documentsEqual(sandbox.iam.getInlinePolicy(kind, name, name), RISKY)).toBe(true);
    },
  );

  test('a risky managed policy attached to a group with a member, all of the same name', async () => {
    // Prepare
    await sandbox.developer.send(new CreateGroupCommand({ GroupName: name }));
    await sandbox.developer.send(new CreateUserCommand({ UserName: name }));
    await sandbox.developer.send(new AddUserToGroupCommand({ GroupName: name, UserName: name }));
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({ PolicyName: name, PolicyDocument: RISKY, Path: `/${name}/` }),
    );
    const arn = created.Policy?.Arn as string;
    const [creation] = await waitForPending(sandbox);
    await decisions().decide(creation?.approvalId ?? '', 'APPROVED', approver);
    await sandbox.settle();
    // Act
    await sandbox.developer.send(new AttachGroupPolicyCommand({ GroupName: name, PolicyArn: arn }));
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.change.target).toMatchObject({
      kind: 'attachment',
      principalType: 'group',
      principalName: name,
    });
    expect(sandbox.iam.getAttachedPolicyArns('group', name)).toEqual([]);
    const { done } = await approveOnly();
    expect(done?.outcome?.result).toBe('RESTORED');
    expect(sandbox.iam.getAttachedPolicyArns('group', name)).toEqual([arn]);
  });

  test('a user added to a group of that name holding a risky policy', async () => {
    // Prepare
    await sandbox.developer.send(new CreateGroupCommand({ GroupName: name }));
    await sandbox.developer.send(new CreateUserCommand({ UserName: name }));
    await sandbox.developer.send(
      new PutGroupPolicyCommand({ GroupName: name, PolicyName: name, PolicyDocument: RISKY }),
    );
    const [first] = await waitForPending(sandbox);
    await decisions().decide(first?.approvalId ?? '', 'APPROVED', approver);
    await sandbox.settle();
    expect(documentsEqual(sandbox.iam.getInlinePolicy('group', name, name), RISKY)).toBe(true);
    // Act
    await sandbox.developer.send(new AddUserToGroupCommand({ GroupName: name, UserName: name }));
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(record?.original).toMatchObject({ kind: 'group-membership', groupName: name, userName: name });
    expect(sandbox.iam.state.users.find((u) => u.name === name)?.groups ?? []).toEqual([]);
    const { done } = await approveOnly();
    expect(done?.outcome?.result).toBe('RESTORED');
    expect(sandbox.iam.state.users.find((u) => u.name === name)?.groups).toEqual([name]);
  });
});
