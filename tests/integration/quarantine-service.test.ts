import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteGroupPolicyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  IAMClient,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  SetDefaultPolicyVersionCommand,
} from '@aws-sdk/client-iam';
import { type IamServer, type PolicySnapshot, startIamServer } from '../../local/iam';
import { AwsIamGateway } from '../../src/adapters/iam-gateway';
import { type DeletedVersion, type OriginalState, quarantineDocument } from '../../src/domain/approval';
import type {
  ChangeTarget,
  PolicyChange,
  PolicyChangeEventName,
  PrincipalType,
} from '../../src/domain/policy-change';
import { AwsOperationError, TransientError } from '../../src/errors';
import { QuarantineService } from '../../src/services/quarantine-service';

const APPROVAL_ID = 'apr-0001';
const ACCOUNT_ID = '123456789012';

const RISKY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['iam:PassRole', 's3:DeleteBucket'], Resource: '*' }],
};
// As a person would send it: pretty-printed, so text and parsed comparisons differ.
const RISKY_TEXT = JSON.stringify(RISKY, null, 2);
const safe = (n: number) => ({
  Version: '2012-10-17',
  Statement: [{ Sid: `Read${n}`, Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
});
const safeText = (n: number) => JSON.stringify(safe(n));
const ADMIN = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const QUARANTINE = JSON.parse(quarantineDocument(APPROVAL_ID));

let server: IamServer;
let client: IAMClient;
let service: QuarantineService;
const noHooks = { beforeDeleteVersion: jest.fn(async (_version: DeletedVersion) => {}) };

function defined<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`test setup: no ${what}`);
  return value;
}

function parsed(text: string | undefined): unknown {
  return JSON.parse(defined(text, 'document'));
}

function policy(arn: string): PolicySnapshot {
  return defined(server.getPolicy(arn), `policy ${arn}`);
}

/** Names of the write calls the stand-in saw since `from` (it records writes only, as CloudTrail does). */
function writesSince(from: number): string[] {
  return server.events.slice(from).map((event) => event.detail.eventName);
}

/** A person changing IAM through the SDK, as a user of the account would. */
const someone = {
  async createPolicy(name: string, document: string): Promise<string> {
    const out = await client.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document }));
    return defined(out.Policy?.Arn, 'policy ARN');
  },
  async createVersion(policyArn: string, document: string, setAsDefault: boolean): Promise<string> {
    const out = await client.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn,
        PolicyDocument: document,
        SetAsDefault: setAsDefault,
      }),
    );
    return defined(out.PolicyVersion?.VersionId, 'version id');
  },
  async setDefault(policyArn: string, versionId: string): Promise<void> {
    await client.send(new SetDefaultPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }));
  },
  async deleteVersion(policyArn: string, versionId: string): Promise<void> {
    await client.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId }));
  },
  async deletePolicy(policyArn: string): Promise<void> {
    await client.send(new DeletePolicyCommand({ PolicyArn: policyArn }));
  },
  async createPrincipal(type: PrincipalType, name: string): Promise<void> {
    if (type === 'role')
      await client.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }));
    if (type === 'user') await client.send(new CreateUserCommand({ UserName: name }));
    if (type === 'group') await client.send(new CreateGroupCommand({ GroupName: name }));
  },
  async putInline(type: PrincipalType, name: string, policyName: string, document: string): Promise<void> {
    const input = { PolicyName: policyName, PolicyDocument: document };
    if (type === 'role') await client.send(new PutRolePolicyCommand({ ...input, RoleName: name }));
    if (type === 'user') await client.send(new PutUserPolicyCommand({ ...input, UserName: name }));
    if (type === 'group') await client.send(new PutGroupPolicyCommand({ ...input, GroupName: name }));
  },
  async deleteInline(type: PrincipalType, name: string, policyName: string): Promise<void> {
    if (type === 'role')
      await client.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policyName }));
    if (type === 'user')
      await client.send(new DeleteUserPolicyCommand({ UserName: name, PolicyName: policyName }));
    if (type === 'group') {
      await client.send(new DeleteGroupPolicyCommand({ GroupName: name, PolicyName: policyName }));
    }
  },
  async attach(type: PrincipalType, name: string, policyArn: string): Promise<void> {
    if (type === 'role')
      await client.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn }));
    if (type === 'user')
      await client.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: policyArn }));
    if (type === 'group')
      await client.send(new AttachGroupPolicyCommand({ GroupName: name, PolicyArn: policyArn }));
  },
  async detach(type: PrincipalType, name: string, policyArn: string): Promise<void> {
    if (type === 'role')
      await client.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn }));
    if (type === 'user')
      await client.send(new DetachUserPolicyCommand({ UserName: name, PolicyArn: policyArn }));
    if (type === 'group')
      await client.send(new DetachGroupPolicyCommand({ GroupName: name, PolicyArn: policyArn }));
  },
};

function changeOf(
  eventName: PolicyChangeEventName,
  target: ChangeTarget,
  extra: Partial<PolicyChange> = {},
): PolicyChange {
  return {
    eventId: 'evt-0001',
    eventName,
    eventTime: '2026-03-01T10:00:00Z',
    accountId: ACCOUNT_ID,
    region: 'us-east-1',
    actor: { type: 'IAMUser', userName: 'mallory', accountId: ACCOUNT_ID },
    target,
    ...extra,
  };
}

function managedChange(
  eventName: 'CreatePolicy' | 'CreatePolicyVersion' | 'SetDefaultPolicyVersion',
  policyArn: string,
  extra: Partial<PolicyChange> = {},
): PolicyChange {
  return changeOf(eventName, { kind: 'managed-policy', policyArn }, extra);
}

async function captureInForce(change: PolicyChange): Promise<OriginalState> {
  const captured = await service.captureOriginal(change);
  if (!captured.inForce) throw new Error(`test setup: change not in force: ${captured.reason}`);
  return captured.original;
}

beforeAll(async () => {
  server = await startIamServer({ accountId: ACCOUNT_ID });
  client = new IAMClient({
    region: 'us-east-1',
    endpoint: server.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  service = new QuarantineService(new AwsIamGateway(client));
});

afterAll(async () => {
  client.destroy();
  await server.close();
});

beforeEach(() => {
  server.reset();
  noHooks.beforeDeleteVersion.mockClear();
});

describe('managed policy', () => {
  interface Scenario {
    label: string;
    arrange(): Promise<{ policyArn: string; change: PolicyChange; offendingVersionId: string }>;
  }
  const scenarios: Scenario[] = [
    {
      label: 'CreatePolicy',
      arrange: async () => {
        const policyArn = await someone.createPolicy('created-risky', RISKY_TEXT);
        const change = managedChange('CreatePolicy', policyArn, { versionId: 'v1', document: RISKY_TEXT });
        return { policyArn, change, offendingVersionId: 'v1' };
      },
    },
    {
      label: 'CreatePolicy whose event carries no versionId',
      arrange: async () => {
        const policyArn = await someone.createPolicy('created-risky', RISKY_TEXT);
        return { policyArn, change: managedChange('CreatePolicy', policyArn), offendingVersionId: 'v1' };
      },
    },
    {
      label: 'CreatePolicyVersion with setAsDefault',
      arrange: async () => {
        const policyArn = await someone.createPolicy('app', safeText(1));
        const versionId = await someone.createVersion(policyArn, RISKY_TEXT, true);
        const change = managedChange('CreatePolicyVersion', policyArn, { versionId, setAsDefault: true });
        return { policyArn, change, offendingVersionId: versionId };
      },
    },
    {
      label: 'SetDefaultPolicyVersion back to an old risky version',
      arrange: async () => {
        const policyArn = await someone.createPolicy('app', RISKY_TEXT);
        await someone.createVersion(policyArn, safeText(2), true);
        await someone.setDefault(policyArn, 'v1');
        const change = managedChange('SetDefaultPolicyVersion', policyArn, { versionId: 'v1' });
        return { policyArn, change, offendingVersionId: 'v1' };
      },
    },
  ];

  test.each(scenarios)('$label: capture, quarantine, restore', async ({ arrange }) => {
    // Prepare
    const { policyArn, change, offendingVersionId } = await arrange();
    const before = policy(policyArn);

    // Act (capture)
    const captured = await service.captureOriginal(change);

    // Assess
    expect(captured).toEqual({
      inForce: true,
      original: { kind: 'managed-policy', policyArn, offendingVersionId, document: expect.any(String) },
    });
    const original = (captured as { original: OriginalState }).original;
    expect(parsed(original.document)).toEqual(RISKY);

    // Act (quarantine)
    const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);

    // Assess: the quarantine document is in force, the offending version kept as it was, non-default
    const during = policy(policyArn);
    expect(quarantine.quarantineVersionId).toBeDefined();
    expect(during.defaultVersionId).toBe(quarantine.quarantineVersionId);
    expect(parsed(during.defaultDocument)).toEqual(QUARANTINE);
    const offending = during.versions.find((v) => v.versionId === offendingVersionId);
    expect(offending?.isDefaultVersion).toBe(false);
    expect(parsed(offending?.document)).toEqual(RISKY);
    expect(during.versions).toHaveLength(before.versions.length + 1);
    expect(quarantine.deletedVersions).toBeUndefined();
    expect(noHooks.beforeDeleteVersion).not.toHaveBeenCalled();
    expect(new Date(quarantine.appliedAt).toISOString()).toBe(quarantine.appliedAt);

    // Act (restore)
    const result = await service.restore(APPROVAL_ID, original, quarantine);

    // Assess: the reviewed document is in force again and the quarantine version is gone
    expect(result).toEqual({ outcome: 'RESTORED' });
    const after = policy(policyArn);
    expect(after.defaultVersionId).toBe(offendingVersionId);
    expect(parsed(after.defaultDocument)).toEqual(RISKY);
    expect(after.versions.map((v) => v.versionId)).toEqual(before.versions.map((v) => v.versionId));
  });

  describe('a policy that already has 5 versions', () => {
    async function fiveVersions(): Promise<string> {
      const policyArn = await someone.createPolicy('full', safeText(1));
      for (const n of [2, 3, 4]) await someone.createVersion(policyArn, safeText(n), false);
      await someone.createVersion(policyArn, RISKY_TEXT, true);
      return policyArn;
    }

    test('deletes the oldest non-default version only after the hook saved it', async () => {
      // Prepare
      const policyArn = await fiveVersions();
      const original = await captureInForce(
        managedChange('CreatePolicyVersion', policyArn, { versionId: 'v5', setAsDefault: true }),
      );
      const seen: { version: DeletedVersion; stillThere: boolean; writesBefore: number }[] = [];
      const hooks = {
        beforeDeleteVersion: async (version: DeletedVersion) => {
          const stillThere = policy(policyArn).versions.some((v) => v.versionId === version.versionId);
          seen.push({ version, stillThere, writesBefore: server.events.length });
        },
      };
      const writesAtStart = server.events.length;

      // Act
      const quarantine = await service.quarantine(APPROVAL_ID, original, hooks);

      // Assess
      expect(seen).toHaveLength(1);
      const [call] = seen;
      expect(call?.version).toEqual({
        versionId: 'v1',
        document: safeText(1),
        createDate: expect.any(String),
      });
      expect(call?.stillThere).toBe(true);
      expect(call?.writesBefore).toBe(writesAtStart);
      expect(writesSince(writesAtStart)).toEqual(['DeletePolicyVersion', 'CreatePolicyVersion']);
      expect(quarantine.deletedVersions).toEqual([call?.version]);
      const after = policy(policyArn);
      expect(after.versions.map((v) => v.versionId)).toEqual([
        'v2',
        'v3',
        'v4',
        'v5',
        quarantine.quarantineVersionId,
      ]);
      expect(after.defaultVersionId).toBe(quarantine.quarantineVersionId);
      expect(parsed(after.versions.find((v) => v.versionId === 'v5')?.document)).toEqual(RISKY);
    });

    test('keeps the offending version, even when it is the oldest', async () => {
      // Prepare
      const policyArn = await someone.createPolicy('full', RISKY_TEXT);
      for (const n of [2, 3, 4, 5]) await someone.createVersion(policyArn, safeText(n), true);
      await someone.setDefault(policyArn, 'v1');
      const original = await captureInForce(
        managedChange('SetDefaultPolicyVersion', policyArn, { versionId: 'v1' }),
      );
      const hook = jest.fn(async (_version: DeletedVersion) => {});

      // Act
      const quarantine = await service.quarantine(APPROVAL_ID, original, { beforeDeleteVersion: hook });

      // Assess
      expect(hook).toHaveBeenCalledTimes(1);
      expect(hook.mock.calls[0]?.[0]).toMatchObject({ versionId: 'v2', document: safeText(2) });
      expect(policy(policyArn).versions.map((v) => v.versionId)).toEqual([
        'v1',
        'v3',
        'v4',
        'v5',
        quarantine.quarantineVersionId,
      ]);
    });

    test('a hook that fails prevents the deletion and the quarantine', async () => {
      // Prepare
      const policyArn = await fiveVersions();
      const original = await captureInForce(
        managedChange('CreatePolicyVersion', policyArn, { versionId: 'v5', setAsDefault: true }),
      );
      const before = policy(policyArn);
      const writesAtStart = server.events.length;
      const failure = new Error('approvals store unavailable');

      // Act
      const result = service.quarantine(APPROVAL_ID, original, {
        beforeDeleteVersion: () => Promise.reject(failure),
      });

      // Assess
      await expect(result).rejects.toBe(failure);
      expect(policy(policyArn)).toEqual(before);
      expect(writesSince(writesAtStart)).toEqual([]);
    });

    test('restore after a deletion brings the reviewed version back into force', async () => {
      // Prepare
      const policyArn = await fiveVersions();
      const original = await captureInForce(
        managedChange('CreatePolicyVersion', policyArn, { versionId: 'v5', setAsDefault: true }),
      );
      const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);

      // Act
      const result = await service.restore(APPROVAL_ID, original, quarantine);

      // Assess
      expect(result).toEqual({ outcome: 'RESTORED' });
      const after = policy(policyArn);
      expect(after.defaultVersionId).toBe('v5');
      expect(after.versions.map((v) => v.versionId)).toEqual(['v2', 'v3', 'v4', 'v5']);
    });
  });

  describe('changes no longer in force', () => {
    test('a version created without setAsDefault', async () => {
      // Prepare
      const policyArn = await someone.createPolicy('app', safeText(1));
      const versionId = await someone.createVersion(policyArn, RISKY_TEXT, false);
      const change = managedChange('CreatePolicyVersion', policyArn, { versionId, setAsDefault: false });

      // Act
      const captured = await service.captureOriginal(change);

      // Assess
      expect(captured).toEqual({
        inForce: false,
        reason: 'the new version v2 was not made the default version',
      });
    });

    test('a default version that has moved on', async () => {
      // Prepare
      const policyArn = await someone.createPolicy('app', safeText(1));
      const versionId = await someone.createVersion(policyArn, RISKY_TEXT, true);
      await someone.createVersion(policyArn, safeText(3), true);

      // Act
      const captured = await service.captureOriginal(
        managedChange('CreatePolicyVersion', policyArn, { versionId, setAsDefault: true }),
      );

      // Assess
      expect(captured).toEqual({ inForce: false, reason: 'v2 is no longer the default version (v3 is)' });
    });

    test('a policy deleted since', async () => {
      // Prepare
      const policyArn = await someone.createPolicy('short-lived', RISKY_TEXT);
      await someone.deletePolicy(policyArn);

      // Act
      const captured = await service.captureOriginal(
        managedChange('CreatePolicy', policyArn, { versionId: 'v1' }),
      );

      // Assess
      expect(captured).toEqual({ inForce: false, reason: 'the policy no longer exists' });
    });
  });

  describe('someone changed the policy while waiting for approval', () => {
    test.each<[string, (policyArn: string) => Promise<void>, string]>([
      [
        'set another default version',
        (arn) => someone.setDefault(arn, 'v1'),
        'the default version is now v1',
      ],
      [
        'created a new default version',
        (arn) => someone.createVersion(arn, safeText(9), true).then(() => undefined),
        'the default version is now v4',
      ],
      [
        'deleted the version under review',
        (arn) => someone.deleteVersion(arn, 'v2'),
        'v2, the version under review',
      ],
    ])('%s: CONFLICT, nothing changed', async (_label, interfere, detail) => {
      // Prepare
      const policyArn = await someone.createPolicy('app', safeText(1));
      await someone.createVersion(policyArn, RISKY_TEXT, true);
      const original = await captureInForce(
        managedChange('CreatePolicyVersion', policyArn, { versionId: 'v2', setAsDefault: true }),
      );
      const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
      await interfere(policyArn);
      const before = policy(policyArn);
      const writesAtStart = server.events.length;

      // Act
      const result = await service.restore(APPROVAL_ID, original, quarantine);

      // Assess
      expect(result).toEqual({ outcome: 'CONFLICT', detail: expect.stringContaining(detail) });
      expect(policy(policyArn)).toEqual(before);
      expect(writesSince(writesAtStart)).toEqual([]);
    });
  });

  describe('re-runs', () => {
    async function quarantinedPolicy() {
      const policyArn = await someone.createPolicy('app', safeText(1));
      await someone.createVersion(policyArn, RISKY_TEXT, true);
      const original = await captureInForce(
        managedChange('CreatePolicyVersion', policyArn, { versionId: 'v2', setAsDefault: true }),
      );
      return { policyArn, original };
    }

    test('a second quarantine creates no second version', async () => {
      // Prepare
      const { policyArn, original } = await quarantinedPolicy();
      const first = await service.quarantine(APPROVAL_ID, original, noHooks);
      const before = policy(policyArn);
      const writesAtStart = server.events.length;

      // Act
      const second = await service.quarantine(APPROVAL_ID, original, noHooks);

      // Assess
      expect(second.quarantineVersionId).toBe(first.quarantineVersionId);
      expect(policy(policyArn)).toEqual(before);
      expect(writesSince(writesAtStart)).toEqual([]);
    });

    test('a second restore changes nothing and reports RESTORED', async () => {
      // Prepare
      const { policyArn, original } = await quarantinedPolicy();
      const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
      await service.restore(APPROVAL_ID, original, quarantine);
      const before = policy(policyArn);
      const writesAtStart = server.events.length;

      // Act
      const result = await service.restore(APPROVAL_ID, original, quarantine);

      // Assess
      expect(result).toEqual({ outcome: 'RESTORED' });
      expect(policy(policyArn)).toEqual(before);
      expect(writesSince(writesAtStart)).toEqual([]);
    });

    test('a restore interrupted after setting the default finishes by removing the quarantine version', async () => {
      // Prepare
      const { policyArn, original } = await quarantinedPolicy();
      const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
      await someone.setDefault(policyArn, 'v2');

      // Act
      const result = await service.restore(APPROVAL_ID, original, quarantine);

      // Assess
      expect(result).toEqual({ outcome: 'RESTORED' });
      expect(policy(policyArn).versions.map((v) => v.versionId)).toEqual(['v1', 'v2']);
      expect(policy(policyArn).defaultVersionId).toBe('v2');
    });

    test('quarantine refuses, changing nothing, when a newer version became default after the capture', async () => {
      // Prepare
      const { policyArn, original } = await quarantinedPolicy();
      await someone.createVersion(policyArn, safeText(3), true);
      const before = policy(policyArn);
      const writesAtStart = server.events.length;

      // Act
      const result = service.quarantine(APPROVAL_ID, original, noHooks);

      // Assess
      await expect(result).rejects.toMatchObject({
        name: 'PolicyGate.AwsOperationError',
        code: 'TargetChanged',
      });
      expect(policy(policyArn)).toEqual(before);
      expect(writesSince(writesAtStart)).toEqual([]);
    });
  });

  describe('transient IAM failures', () => {
    test('a failed CreatePolicyVersion surfaces as TransientError, and the retry quarantines once', async () => {
      // Prepare
      const policyArn = await someone.createPolicy('app', safeText(1));
      await someone.createVersion(policyArn, RISKY_TEXT, true);
      const original = await captureInForce(
        managedChange('CreatePolicyVersion', policyArn, { versionId: 'v2', setAsDefault: true }),
      );
      server.failNext('CreatePolicyVersion', 1, 'ServiceFailure');

      // Act
      const failed = await service.quarantine(APPROVAL_ID, original, noHooks).catch((e: unknown) => e);
      const retried = await service.quarantine(APPROVAL_ID, original, noHooks);

      // Assess
      expect(failed).toBeInstanceOf(TransientError);
      expect(policy(policyArn).versions.map((v) => v.versionId)).toEqual([
        'v1',
        'v2',
        retried.quarantineVersionId,
      ]);
      expect(policy(policyArn).defaultVersionId).toBe(retried.quarantineVersionId);
    });

    test('throttling during capture surfaces as TransientError', async () => {
      // Prepare
      const policyArn = await someone.createPolicy('app', RISKY_TEXT);
      server.failNext('GetPolicy', 1, 'Throttling');

      // Act
      const result = service.captureOriginal(managedChange('CreatePolicy', policyArn, { versionId: 'v1' }));

      // Assess
      await expect(result).rejects.toBeInstanceOf(TransientError);
    });

    test('a failed SetDefaultPolicyVersion during restore is retryable and the retry restores', async () => {
      // Prepare
      const policyArn = await someone.createPolicy('app', safeText(1));
      await someone.createVersion(policyArn, RISKY_TEXT, true);
      const original = await captureInForce(
        managedChange('CreatePolicyVersion', policyArn, { versionId: 'v2', setAsDefault: true }),
      );
      const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
      server.failNext('SetDefaultPolicyVersion', 1, 'ServiceFailure');

      // Act
      const failed = await service.restore(APPROVAL_ID, original, quarantine).catch((e: unknown) => e);
      const retried = await service.restore(APPROVAL_ID, original, quarantine);

      // Assess
      expect(failed).toBeInstanceOf(TransientError);
      expect(retried).toEqual({ outcome: 'RESTORED' });
      expect(policy(policyArn).defaultVersionId).toBe('v2');
    });
  });
});

describe.each<PrincipalType>(['role', 'user', 'group'])('inline policy of a %s', (type) => {
  const principalName = `app-${type}`;
  const policyName = 'inline-risky';
  const eventName = ({ role: 'PutRolePolicy', user: 'PutUserPolicy', group: 'PutGroupPolicy' } as const)[
    type
  ];
  const change = () =>
    changeOf(
      eventName,
      { kind: 'inline-policy', principalType: type, principalName, policyName },
      { document: RISKY_TEXT },
    );
  const inForce = () => server.getInlinePolicy(type, principalName, policyName);

  beforeEach(async () => {
    await someone.createPrincipal(type, principalName);
    await someone.putInline(type, principalName, policyName, RISKY_TEXT);
  });

  test('capture, quarantine, restore', async () => {
    // Act (capture)
    const captured = await service.captureOriginal(change());

    // Assess
    expect(captured).toEqual({
      inForce: true,
      original: {
        kind: 'inline-policy',
        principalType: type,
        principalName,
        policyName,
        document: RISKY_TEXT,
      },
    });
    const original = (captured as { original: OriginalState }).original;

    // Act (quarantine)
    const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);

    // Assess
    expect(parsed(inForce())).toEqual(QUARANTINE);
    expect(quarantine.quarantineVersionId).toBeUndefined();

    // Act (restore)
    const result = await service.restore(APPROVAL_ID, original, quarantine);

    // Assess
    expect(result).toEqual({ outcome: 'RESTORED' });
    expect(parsed(inForce())).toEqual(RISKY);
  });

  test('not in force once the inline policy is deleted', async () => {
    // Prepare
    await someone.deleteInline(type, principalName, policyName);

    // Act
    const captured = await service.captureOriginal(change());

    // Assess
    expect(captured).toEqual({ inForce: false, reason: 'the inline policy no longer exists' });
  });

  test.each<[string, () => Promise<void>, string | undefined]>([
    [
      'put another document',
      () => someone.putInline(type, principalName, policyName, safeText(7)),
      "no longer holds PolicyGate's quarantine document",
    ],
    ['deleted the policy', () => someone.deleteInline(type, principalName, policyName), 'no longer exists'],
  ])('someone %s while waiting: CONFLICT, nothing overwritten', async (_label, interfere, detail) => {
    // Prepare
    const original = await captureInForce(change());
    const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
    await interfere();
    const before = inForce();
    const writesAtStart = server.events.length;

    // Act
    const result = await service.restore(APPROVAL_ID, original, quarantine);

    // Assess
    expect(result).toEqual({ outcome: 'CONFLICT', detail: expect.stringContaining(detail ?? '') });
    expect(inForce()).toBe(before);
    expect(writesSince(writesAtStart)).toEqual([]);
  });

  test('a second quarantine writes nothing', async () => {
    // Prepare
    const original = await captureInForce(change());
    await service.quarantine(APPROVAL_ID, original, noHooks);
    const writesAtStart = server.events.length;

    // Act
    await service.quarantine(APPROVAL_ID, original, noHooks);

    // Assess
    expect(writesSince(writesAtStart)).toEqual([]);
    expect(parsed(inForce())).toEqual(QUARANTINE);
  });

  test('quarantine refuses, changing nothing, when the document was replaced after the capture', async () => {
    // Prepare
    const original = await captureInForce(change());
    await someone.putInline(type, principalName, policyName, safeText(8));
    const writesAtStart = server.events.length;

    // Act
    const result = service.quarantine(APPROVAL_ID, original, noHooks);

    // Assess
    await expect(result).rejects.toMatchObject({ code: 'TargetChanged' });
    expect(inForce()).toBe(safeText(8));
    expect(writesSince(writesAtStart)).toEqual([]);
  });
});

describe('restore verification', () => {
  /** A gateway whose inline writes are overtaken at once by another writer, as a race in IAM would. */
  class OvertakenGateway extends AwsIamGateway {
    override async putInlinePolicy(
      principalType: PrincipalType,
      principalName: string,
      policyName: string,
      document: string,
    ): Promise<void> {
      await super.putInlinePolicy(principalType, principalName, policyName, document);
      await someone.putInline(principalType, principalName, policyName, safeText(5));
    }
  }

  test('a document in force that differs from the original after restore is RestoreVerificationFailed', async () => {
    // Prepare
    await someone.createPrincipal('role', 'raced');
    await someone.putInline('role', 'raced', 'inline', RISKY_TEXT);
    const original = await captureInForce(
      changeOf('PutRolePolicy', {
        kind: 'inline-policy',
        principalType: 'role',
        principalName: 'raced',
        policyName: 'inline',
      }),
    );
    const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
    const racing = new QuarantineService(new OvertakenGateway(client));

    // Act
    const result = racing.restore(APPROVAL_ID, original, quarantine);

    // Assess
    await expect(result).rejects.toBeInstanceOf(AwsOperationError);
    await expect(result).rejects.toMatchObject({ code: 'RestoreVerificationFailed' });
  });
});

describe.each<[PrincipalType, 'a customer managed' | 'an AWS managed']>([
  ['role', 'a customer managed'],
  ['user', 'a customer managed'],
  ['group', 'a customer managed'],
  ['role', 'an AWS managed'],
  ['user', 'an AWS managed'],
  ['group', 'an AWS managed'],
])('attachment to a %s of %s policy', (type, policyKind) => {
  const principalName = `app-${type}`;
  const eventName = (
    { role: 'AttachRolePolicy', user: 'AttachUserPolicy', group: 'AttachGroupPolicy' } as const
  )[type];
  const policyDocument = policyKind === 'an AWS managed' ? ADMIN : RISKY;
  let policyArn: string;
  const change = () =>
    changeOf(eventName, { kind: 'attachment', principalType: type, principalName, policyArn });
  const attached = () => server.getAttachedPolicyArns(type, principalName);

  beforeEach(async () => {
    await someone.createPrincipal(type, principalName);
    if (policyKind === 'an AWS managed') {
      policyArn = server.addAwsManagedPolicy('AdministratorAccess', ADMIN).arn;
      expect(policyArn).toBe(ADMIN_ARN);
    } else {
      policyArn = await someone.createPolicy('risky-managed', safeText(1));
      await someone.createVersion(policyArn, RISKY_TEXT, true);
    }
    await someone.attach(type, principalName, policyArn);
  });

  test('capture, quarantine, restore', async () => {
    // Act (capture)
    const captured = await service.captureOriginal(change());

    // Assess
    const versionId = policy(policyArn).defaultVersionId;
    expect(captured).toEqual({
      inForce: true,
      original: {
        kind: 'attachment',
        principalType: type,
        principalName,
        policyArn,
        versionId,
        document: expect.any(String),
      },
    });
    const original = (captured as { original: OriginalState }).original;
    expect(parsed(original.document)).toEqual(policyDocument);

    // Act (quarantine)
    const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);

    // Assess
    expect(attached()).not.toContain(policyArn);
    expect(quarantine.quarantineVersionId).toBeUndefined();
    expect(policy(policyArn).defaultVersionId).toBe(versionId);

    // Act (restore)
    const result = await service.restore(APPROVAL_ID, original, quarantine);

    // Assess
    expect(result).toEqual({ outcome: 'RESTORED' });
    expect(attached()).toEqual([policyArn]);
    expect(parsed(policy(policyArn).defaultDocument)).toEqual(policyDocument);
  });

  test('not in force once detached', async () => {
    // Prepare
    await someone.detach(type, principalName, policyArn);

    // Act
    const captured = await service.captureOriginal(change());

    // Assess
    expect(captured).toEqual({
      inForce: false,
      reason: `the policy is no longer attached to ${type} ${principalName}`,
    });
  });

  test('someone attached it again while waiting: CONFLICT, nothing changed', async () => {
    // Prepare
    const original = await captureInForce(change());
    const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
    await someone.attach(type, principalName, policyArn);
    const writesAtStart = server.events.length;

    // Act
    const result = await service.restore(APPROVAL_ID, original, quarantine);

    // Assess
    expect(result).toEqual({ outcome: 'CONFLICT', detail: expect.stringContaining('attached') });
    expect(attached()).toEqual([policyArn]);
    expect(writesSince(writesAtStart)).toEqual([]);
  });

  test('a second quarantine writes nothing', async () => {
    // Prepare
    const original = await captureInForce(change());
    await service.quarantine(APPROVAL_ID, original, noHooks);
    const writesAtStart = server.events.length;

    // Act
    await service.quarantine(APPROVAL_ID, original, noHooks);

    // Assess
    expect(writesSince(writesAtStart)).toEqual([]);
    expect(attached()).toEqual([]);
  });

  if (policyKind === 'a customer managed') {
    test('the policy got a new default version while waiting: CONFLICT, still detached', async () => {
      // Prepare
      const original = await captureInForce(change());
      const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
      await someone.createVersion(policyArn, safeText(6), true);
      const writesAtStart = server.events.length;

      // Act
      const result = await service.restore(APPROVAL_ID, original, quarantine);

      // Assess
      expect(result).toEqual({
        outcome: 'CONFLICT',
        detail: expect.stringContaining('default version is now v3'),
      });
      expect(attached()).toEqual([]);
      expect(writesSince(writesAtStart)).toEqual([]);
    });
  }
});

describe('who a grant reaches', () => {
  /** A gateway that may not list a policy's entities, as an SCP or a boundary on PolicyGate's role would. */
  class NoListingGateway extends AwsIamGateway {
    override async listEntitiesForPolicy(): Promise<never> {
      throw new AwsOperationError('iam:ListEntitiesForPolicy', 'AccessDenied', 'not authorized');
    }
  }

  async function attachedPolicy(): Promise<{ original: OriginalState; policyArn: string }> {
    const created = await client.send(
      new CreatePolicyCommand({ PolicyName: 'reach', PolicyDocument: safeText(1) }),
    );
    const policyArn = defined(created.Policy?.Arn, 'policy ARN');
    await someone.createPrincipal('role', 'holder');
    await client.send(new AttachRolePolicyCommand({ RoleName: 'holder', PolicyArn: policyArn }));
    await client.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn,
        PolicyDocument: RISKY_TEXT,
        SetAsDefault: true,
      }),
    );
    const original = await captureInForce(
      managedChange('CreatePolicyVersion', policyArn, { versionId: 'v2', setAsDefault: true }),
    );
    return { original, policyArn };
  }

  test('is recorded at quarantine: the principals and the members of attached groups, with a digest', async () => {
    // Prepare
    const { original } = await attachedPolicy();
    // Act
    const reach = await service.captureReach(original);
    // Assess
    expect(reach).toMatchObject({
      attachedTo: [{ type: 'role', name: 'holder' }],
      groupMembers: [],
      count: 1,
    });
    expect(reach?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  test('that cannot be read is recorded as such, and the restore then refuses with a CONFLICT', async () => {
    // Prepare
    const { original } = await attachedPolicy();
    const blind = new QuarantineService(new NoListingGateway(client));
    const quarantine = await blind.quarantine(APPROVAL_ID, original, noHooks);
    // Act
    const reach = await blind.captureReach(original);
    const result = await blind.restore(APPROVAL_ID, original, quarantine, reach);
    // Assess
    expect(reach?.unreadable).toBe('AccessDenied');
    expect(result).toEqual({
      outcome: 'CONFLICT',
      detail: expect.stringMatching(/could not be read \(AccessDenied\)/),
    });
  });

  test('a restore with no index to consult refuses a grant that reaches someone new', async () => {
    // Prepare
    const { original } = await attachedPolicy();
    const quarantine = await service.quarantine(APPROVAL_ID, original, noHooks);
    const reach = await service.captureReach(original);
    await someone.createPrincipal('role', 'newcomer');
    await client.send(
      new AttachRolePolicyCommand({
        RoleName: 'newcomer',
        PolicyArn: (original as { policyArn: string }).policyArn,
      }),
    );
    // Act
    const result = await service.restore(APPROVAL_ID, original, quarantine, reach);
    // Assess
    expect(result).toEqual({
      outcome: 'CONFLICT',
      detail: expect.stringMatching(/role newcomer, which no approval covers/),
    });
  });
});
