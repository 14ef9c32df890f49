import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteConflictException,
  DeleteGroupPolicyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  EntityAlreadyExistsException,
  GetGroupCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  type IAMClientConfig,
  IAMServiceException,
  LimitExceededException,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListGroupPoliciesCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  paginateListPolicyVersions,
  ServiceFailureException,
  SetDefaultPolicyVersionCommand,
} from '@aws-sdk/client-iam';
import { type CloudTrailEvent, type IamServer, type Identity, startIamServer } from '../../local/iam';
import { normaliseEvent } from '../../src/domain/cloudtrail';
import { withEnv } from '../support/env';

const ACCOUNT = '123456789012';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' };
const ALICE_KEY = 'ASIADEVALICEEXAMPLE';
const ALICE: Identity = {
  type: 'AssumedRole',
  principalId: 'AROADEVROLEEXAMPLE01:alice',
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Dev/alice`,
  sessionContext: {
    sessionIssuer: {
      type: 'Role',
      principalId: 'AROADEVROLEEXAMPLE01',
      arn: `arn:aws:iam::${ACCOUNT}:role/Dev`,
      userName: 'Dev',
    },
  },
};
const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** A policy document allowing `actions` on `resource`. */
function policy(actions: string | string[], resource = '*'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: resource }],
  });
}

/** A pretty-printed policy whose size without whitespace (what IAM counts) is exactly `size`. */
function policyOfSize(size: number): string {
  const shape = (padding: string) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::bucket/${padding}` }],
  });
  const padding = 'x'.repeat(size - JSON.stringify(shape('')).length);
  return JSON.stringify(shape(padding), null, 2);
}

function nonWhitespaceLength(text: string): number {
  return text.replace(/\s/g, '').length;
}

/** The document IAM returns, URL-decoded and parsed. */
function decode(document: string | undefined): unknown {
  return JSON.parse(decodeURIComponent(document ?? ''));
}

/** The IAM error a call fails with; fails the test if it succeeds or throws something else. */
async function failure(call: Promise<unknown>): Promise<IAMServiceException> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof IAMServiceException)) throw new Error(`expected an IAM error, got ${String(error)}`);
  return error;
}

describe('local IAM stand-in through @aws-sdk/client-iam', () => {
  let server: IamServer;
  let client: IAMClient;
  let alice: IAMClient;
  const clients: IAMClient[] = [];

  function iamClient(extra: Partial<IAMClientConfig> = {}): IAMClient {
    const created = new IAMClient({
      region: 'us-east-1',
      endpoint: server.endpoint,
      credentials: CREDENTIALS,
      maxAttempts: 1,
      ...extra,
    });
    clients.push(created);
    return created;
  }

  async function createPolicy(name: string, document = policy('s3:GetObject')): Promise<string> {
    const output = await client.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document }));
    return output.Policy?.Arn ?? '';
  }

  beforeAll(async () => {
    server = await startIamServer({ accountId: ACCOUNT, identities: { [ALICE_KEY]: ALICE } });
    client = iamClient();
    alice = iamClient({ credentials: { accessKeyId: ALICE_KEY, secretAccessKey: 'x' } });
  });

  afterAll(async () => {
    for (const created of clients) created.destroy();
    await server.close();
  });

  beforeEach(() => server.reset());

  it('listens on loopback only', () => {
    // Assess
    expect(new URL(server.endpoint).hostname).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
  });

  describe('managed policies and versions', () => {
    // Whitespace, RFC 3986 reserved characters and `!'()*` (which encodeURIComponent leaves alone).
    const DOC_V1 = `{
  "Version": "2012-10-17",
  "Statement": [{ "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::reports/q1 & q2+(draft)*!'/*" }]
}`;
    const DOC_V2 = policy(['s3:GetObject', 's3:PutObject'], 'arn:aws:s3:::reports/*');
    const DOC_V3 = policy('iam:PassRole');

    it('creates a policy as v1 and returns each version URL-encoded (RFC 3986) with the caller formatting', async () => {
      // Act
      const created = await client.send(
        new CreatePolicyCommand({ PolicyName: 'lifecycle', Path: '/team/', PolicyDocument: DOC_V1 }),
      );
      const arn = created.Policy?.Arn ?? '';
      const fetched = await client.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));

      // Assess
      expect(created.Policy).toMatchObject({
        PolicyName: 'lifecycle',
        Path: '/team/',
        Arn: `arn:aws:iam::${ACCOUNT}:policy/team/lifecycle`,
        DefaultVersionId: 'v1',
        AttachmentCount: 0,
        IsAttachable: true,
      });
      expect(created.Policy?.PolicyId).toMatch(/^ANPA[A-Z2-7]{17}$/);
      expect(created.Policy?.CreateDate).toBeInstanceOf(Date);
      const document = fetched.PolicyVersion?.Document ?? '';
      expect(document).not.toMatch(/[{}":\s!'()*&+]/);
      expect(decodeURIComponent(document)).toBe(DOC_V1);
      expect(decode(document)).toEqual(JSON.parse(DOC_V1));
      expect(fetched.PolicyVersion).toMatchObject({ VersionId: 'v1', IsDefaultVersion: true });
    });

    it('adds versions, moves the default, deletes versions and never reuses a version id', async () => {
      // Prepare
      const arn = await createPolicy('lifecycle', DOC_V1);

      // Act
      const v2 = await client.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: DOC_V2, SetAsDefault: true }),
      );
      const v3 = await client.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: DOC_V3 }),
      );
      const afterCreates = await client.send(new GetPolicyCommand({ PolicyArn: arn }));
      const listed = await client.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
      const fetchedV2 = await client.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }));
      await client.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v3' }));
      await client.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }));
      const v4 = await client.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: DOC_V2 }),
      );
      const afterChanges = await client.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
      const finalPolicy = await client.send(new GetPolicyCommand({ PolicyArn: arn }));

      // Assess
      expect(v2.PolicyVersion).toMatchObject({ VersionId: 'v2', IsDefaultVersion: true });
      expect(v2.PolicyVersion?.Document).toBeUndefined();
      expect(v3.PolicyVersion).toMatchObject({ VersionId: 'v3', IsDefaultVersion: false });
      expect(afterCreates.Policy?.DefaultVersionId).toBe('v2');
      expect(listed.IsTruncated).toBe(false);
      expect(listed.Versions?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
        ['v3', false],
        ['v2', true],
        ['v1', false],
      ]);
      expect(decode(fetchedV2.PolicyVersion?.Document)).toEqual(JSON.parse(DOC_V2));
      expect(v4.PolicyVersion?.VersionId).toBe('v4');
      expect(afterChanges.Versions?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
        ['v4', false],
        ['v3', true],
        ['v1', false],
      ]);
      expect(finalPolicy.Policy?.DefaultVersionId).toBe('v3');
      expect(server.getPolicy(arn)?.defaultDocument).toBe(DOC_V3);
      expect(server.getPolicy(arn)?.versions.map((v) => v.document)).toEqual([DOC_V1, DOC_V3, DOC_V2]);
    });

    it('deletes a policy once only the default version is left', async () => {
      // Prepare
      const arn = await createPolicy('short-lived');
      await client.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: DOC_V2, SetAsDefault: true }),
      );
      await client.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));

      // Act
      await client.send(new DeletePolicyCommand({ PolicyArn: arn }));
      const error = await failure(client.send(new GetPolicyCommand({ PolicyArn: arn })));

      // Assess
      expect(error).toBeInstanceOf(NoSuchEntityException);
      expect(server.getPolicy(arn)).toBeUndefined();
    });

    it('refuses a sixth version with LimitExceeded and keeps the five', async () => {
      // Prepare
      const arn = await createPolicy('five-versions');
      for (let i = 2; i <= 5; i += 1) {
        await client.send(
          new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: policy(`s3:Get${i}`) }),
        );
      }

      // Act
      const error = await failure(
        client.send(
          new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: DOC_V2, SetAsDefault: true }),
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(LimitExceededException);
      expect(error.$metadata.httpStatusCode).toBe(409);
      expect(error.message).toBe(
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
      );
      expect(server.getPolicy(arn)?.versions.map((v) => v.versionId)).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
      expect(server.getPolicy(arn)?.defaultVersionId).toBe('v1');
    });

    it('pages ListPolicyVersions with MaxItems and Marker, newest first', async () => {
      // Prepare
      const arn = await createPolicy('paged');
      for (let i = 2; i <= 4; i += 1) {
        await client.send(
          new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: policy(`s3:Get${i}`) }),
        );
      }

      // Act
      const first = await client.send(new ListPolicyVersionsCommand({ PolicyArn: arn, MaxItems: 3 }));
      const second = await client.send(
        new ListPolicyVersionsCommand({ PolicyArn: arn, MaxItems: 3, Marker: first.Marker }),
      );
      const viaPaginator: string[] = [];
      for await (const page of paginateListPolicyVersions({ client, pageSize: 1 }, { PolicyArn: arn })) {
        viaPaginator.push(...(page.Versions ?? []).map((v) => v.VersionId ?? ''));
      }

      // Assess
      expect(first.IsTruncated).toBe(true);
      expect(first.Marker).toEqual(expect.any(String));
      expect(first.Versions?.map((v) => v.VersionId)).toEqual(['v4', 'v3', 'v2']);
      expect(second.IsTruncated).toBe(false);
      expect(second.Versions?.map((v) => v.VersionId)).toEqual(['v1']);
      expect(viaPaginator).toEqual(['v4', 'v3', 'v2', 'v1']);
    });

    it('refuses a duplicate policy name regardless of case', async () => {
      // Prepare
      await createPolicy('Duplicate');

      // Act
      const error = await failure(
        client.send(
          new CreatePolicyCommand({ PolicyName: 'duplicate', PolicyDocument: DOC_V2, Path: '/other/' }),
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(EntityAlreadyExistsException);
      expect(error.$metadata.httpStatusCode).toBe(409);
      expect(error.message).toBe(
        'A policy called duplicate already exists. Duplicate names are not allowed.',
      );
    });
  });

  describe('DeleteConflict', () => {
    it.each([
      {
        label: 'the default version of a policy',
        message: 'Cannot delete the default version of a policy.',
        act: (arn: string) =>
          client.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' })),
      },
      {
        label: 'a policy that is attached',
        message: 'Cannot delete a policy attached to entities.',
        prepare: async (arn: string) => {
          await client.send(
            new CreateRoleCommand({ RoleName: 'holder', AssumeRolePolicyDocument: TRUST_POLICY }),
          );
          await client.send(new AttachRolePolicyCommand({ RoleName: 'holder', PolicyArn: arn }));
        },
        act: (arn: string) => client.send(new DeletePolicyCommand({ PolicyArn: arn })),
      },
      {
        label: 'a policy with non-default versions',
        message:
          "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        prepare: async (arn: string) => {
          await client.send(
            new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: policy('s3:PutObject') }),
          );
        },
        act: (arn: string) => client.send(new DeletePolicyCommand({ PolicyArn: arn })),
      },
      {
        label: 'a role with inline policies',
        message: 'Cannot delete entity, must delete policies first.',
        prepare: async () => {
          await client.send(
            new CreateRoleCommand({ RoleName: 'holder', AssumeRolePolicyDocument: TRUST_POLICY }),
          );
          await client.send(
            new PutRolePolicyCommand({
              RoleName: 'holder',
              PolicyName: 'inline',
              PolicyDocument: policy('s3:*'),
            }),
          );
        },
        act: () => client.send(new DeleteRoleCommand({ RoleName: 'holder' })),
      },
    ])('refuses to delete $label', async ({ message, prepare, act }) => {
      // Prepare
      const arn = await createPolicy('contested');
      await prepare?.(arn);
      const before = server.state;

      // Act
      const error = await failure(act(arn));

      // Assess
      expect(error).toBeInstanceOf(DeleteConflictException);
      expect(error.$metadata.httpStatusCode).toBe(409);
      expect(error.message).toBe(message);
      expect(server.state).toEqual(before);
    });
  });

  describe('NoSuchEntity', () => {
    const missingArn = `arn:aws:iam::${ACCOUNT}:policy/missing`;
    const presentArn = `arn:aws:iam::${ACCOUNT}:policy/present`;

    beforeEach(async () => {
      await createPolicy('present');
      await client.send(
        new CreateRoleCommand({ RoleName: 'present-role', AssumeRolePolicyDocument: TRUST_POLICY }),
      );
    });

    it.each([
      {
        label: 'GetPolicy of an unknown policy',
        act: () => client.send(new GetPolicyCommand({ PolicyArn: missingArn })),
        message: `Policy ${missingArn} was not found.`,
      },
      {
        label: 'CreatePolicyVersion on an unknown policy',
        act: () =>
          client.send(
            new CreatePolicyVersionCommand({ PolicyArn: missingArn, PolicyDocument: policy('s3:*') }),
          ),
        message: `Policy ${missingArn} was not found.`,
      },
      {
        label: 'GetPolicyVersion of an unknown version',
        act: () => client.send(new GetPolicyVersionCommand({ PolicyArn: presentArn, VersionId: 'v9' })),
        message: `Policy ${presentArn} version v9 does not exist or is not attachable.`,
      },
      {
        label: 'SetDefaultPolicyVersion to an unknown version',
        act: () =>
          client.send(new SetDefaultPolicyVersionCommand({ PolicyArn: presentArn, VersionId: 'v9' })),
        message: `Policy ${presentArn} version v9 does not exist or is not attachable.`,
      },
      {
        label: 'DeletePolicyVersion of an unknown version',
        act: () => client.send(new DeletePolicyVersionCommand({ PolicyArn: presentArn, VersionId: 'v9' })),
        message: `Policy ${presentArn} version v9 does not exist or is not attachable.`,
      },
      {
        label: 'GetRole of an unknown role',
        act: () => client.send(new GetRoleCommand({ RoleName: 'ghost' })),
        message: 'The role with name ghost cannot be found.',
      },
      {
        label: 'GetUser of an unknown user',
        act: () => client.send(new GetUserCommand({ UserName: 'ghost' })),
        message: 'The user with name ghost cannot be found.',
      },
      {
        label: 'GetGroup of an unknown group',
        act: () => client.send(new GetGroupCommand({ GroupName: 'ghost' })),
        message: 'The group with name ghost cannot be found.',
      },
      {
        label: 'PutRolePolicy on an unknown role',
        act: () =>
          client.send(
            new PutRolePolicyCommand({ RoleName: 'ghost', PolicyName: 'p', PolicyDocument: policy('s3:*') }),
          ),
        message: 'The role with name ghost cannot be found.',
      },
      {
        label: 'GetRolePolicy of an unknown inline policy',
        act: () => client.send(new GetRolePolicyCommand({ RoleName: 'present-role', PolicyName: 'nope' })),
        message: 'The role policy with name nope cannot be found.',
      },
      {
        label: 'AttachRolePolicy of an unknown policy',
        act: () =>
          client.send(new AttachRolePolicyCommand({ RoleName: 'present-role', PolicyArn: missingArn })),
        message: `Policy ${missingArn} does not exist or is not attachable.`,
      },
      {
        label: 'DetachRolePolicy of a policy that is not attached',
        act: () =>
          client.send(new DetachRolePolicyCommand({ RoleName: 'present-role', PolicyArn: presentArn })),
        message: `Policy ${presentArn} was not found.`,
      },
    ])('$label', async ({ act, message }) => {
      // Prepare
      const before = server.state;

      // Act
      const error = await failure(act());

      // Assess
      expect(error).toBeInstanceOf(NoSuchEntityException);
      expect(error.$metadata.httpStatusCode).toBe(404);
      expect(error.message).toBe(message);
      expect(server.state).toEqual(before);
    });
  });

  describe('policy document validation', () => {
    const statement = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
    const withStatement = (changes: Record<string, unknown>, drop: string[] = []) => {
      const changed: Record<string, unknown> = { ...statement, ...changes };
      for (const key of drop) delete changed[key];
      return JSON.stringify({ Version: '2012-10-17', Statement: [changed] });
    };

    it.each([
      {
        label: 'text that is not JSON',
        document: '{"Version": "2012-10-17", ',
        message: 'Syntax errors in policy.',
      },
      { label: 'a JSON array', document: '[]', message: 'Syntax errors in policy.' },
      {
        label: 'a document without Statement',
        document: '{"Version":"2012-10-17"}',
        message: 'Missing required field Statement',
      },
      {
        label: 'a statement without Effect',
        document: withStatement({}, ['Effect']),
        message: 'Missing required field Effect',
      },
      {
        label: 'an unknown Effect',
        document: withStatement({ Effect: 'Permit' }),
        message: 'Syntax errors in policy.',
      },
      {
        label: 'a statement without actions',
        document: withStatement({}, ['Action']),
        message: 'Policy statement must contain actions.',
      },
      {
        label: 'a statement without resources',
        document: withStatement({}, ['Resource']),
        message: 'Policy statement must contain resources.',
      },
      {
        label: 'a Principal in an identity policy',
        document: withStatement({ Principal: '*' }),
        message: 'Policy document should not specify a principal.',
      },
      {
        label: 'an action without a service prefix',
        document: withStatement({ Action: 'GetObject' }),
        message: 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.',
      },
      {
        label: 'an unknown policy language version',
        document: JSON.stringify({ Version: '2020-01-01', Statement: [statement] }),
        message: 'The policy failed legacy parsing',
      },
    ])('CreatePolicy rejects $label with MalformedPolicyDocument', async ({ document, message }) => {
      // Act
      const error = await failure(
        client.send(new CreatePolicyCommand({ PolicyName: 'bad', PolicyDocument: document })),
      );

      // Assess
      expect(error).toBeInstanceOf(MalformedPolicyDocumentException);
      expect(error.$metadata.httpStatusCode).toBe(400);
      expect(error.message).toBe(message);
      expect(server.state.policies).toEqual([]);
    });

    it('rejects malformed documents in CreatePolicyVersion and inline puts without storing them', async () => {
      // Prepare
      const arn = await createPolicy('kept');
      await client.send(new CreateUserCommand({ UserName: 'bob' }));
      const before = server.state;

      // Act
      const versionError = await failure(
        client.send(
          new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: 'nope', SetAsDefault: true }),
        ),
      );
      const inlineError = await failure(
        client.send(new PutUserPolicyCommand({ UserName: 'bob', PolicyName: 'p', PolicyDocument: '{}' })),
      );

      // Assess
      expect(versionError).toBeInstanceOf(MalformedPolicyDocumentException);
      expect(inlineError).toBeInstanceOf(MalformedPolicyDocumentException);
      expect(server.state).toEqual(before);
    });

    it('counts the managed policy size limit of 6,144 characters without whitespace', async () => {
      // Prepare
      const atLimit = policyOfSize(6144);
      const overLimit = policyOfSize(6145);
      expect(nonWhitespaceLength(atLimit)).toBe(6144);
      expect(atLimit.length).toBeGreaterThan(6144);
      expect(nonWhitespaceLength(overLimit)).toBe(6145);

      // Act
      const created = await client.send(
        new CreatePolicyCommand({ PolicyName: 'big', PolicyDocument: atLimit }),
      );
      const createError = await failure(
        client.send(new CreatePolicyCommand({ PolicyName: 'too-big', PolicyDocument: overLimit })),
      );
      const versionError = await failure(
        client.send(
          new CreatePolicyVersionCommand({ PolicyArn: created.Policy?.Arn, PolicyDocument: overLimit }),
        ),
      );

      // Assess
      for (const error of [createError, versionError]) {
        expect(error).toBeInstanceOf(LimitExceededException);
        expect(error.$metadata.httpStatusCode).toBe(409);
        expect(error.message).toBe('Cannot exceed quota for PolicySize: 6144');
      }
      expect(server.state.policies.map((p) => [p.name, p.versions.length])).toEqual([['big', 1]]);
    });

    it('rejects a malformed name with ValidationError', async () => {
      // Act
      const error = await failure(
        client.send(new CreatePolicyCommand({ PolicyName: 'has space', PolicyDocument: policy('s3:*') })),
      );

      // Assess
      expect(error.name).toBe('ValidationError');
      expect(error.$metadata.httpStatusCode).toBe(400);
      expect(error.message).toContain("Value 'has space' at 'policyName' failed to satisfy constraint");
    });
  });

  describe.each([
    {
      kind: 'role' as const,
      limit: 10240,
      create: (name: string) =>
        client.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST_POLICY })),
      put: (name: string, policyName: string, document: string) =>
        client.send(
          new PutRolePolicyCommand({ RoleName: name, PolicyName: policyName, PolicyDocument: document }),
        ),
      get: async (name: string, policyName: string) =>
        (await client.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policyName })))
          .PolicyDocument,
      list: async (name: string) =>
        (await client.send(new ListRolePoliciesCommand({ RoleName: name }))).PolicyNames,
      remove: (name: string, policyName: string) =>
        client.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policyName })),
      attach: (name: string, arn: string) =>
        client.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn })),
      detach: (name: string, arn: string) =>
        client.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn })),
      listAttached: async (name: string) =>
        (await client.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies,
    },
    {
      kind: 'user' as const,
      limit: 2048,
      create: (name: string) => client.send(new CreateUserCommand({ UserName: name })),
      put: (name: string, policyName: string, document: string) =>
        client.send(
          new PutUserPolicyCommand({ UserName: name, PolicyName: policyName, PolicyDocument: document }),
        ),
      get: async (name: string, policyName: string) =>
        (await client.send(new GetUserPolicyCommand({ UserName: name, PolicyName: policyName })))
          .PolicyDocument,
      list: async (name: string) =>
        (await client.send(new ListUserPoliciesCommand({ UserName: name }))).PolicyNames,
      remove: (name: string, policyName: string) =>
        client.send(new DeleteUserPolicyCommand({ UserName: name, PolicyName: policyName })),
      attach: (name: string, arn: string) =>
        client.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: arn })),
      detach: (name: string, arn: string) =>
        client.send(new DetachUserPolicyCommand({ UserName: name, PolicyArn: arn })),
      listAttached: async (name: string) =>
        (await client.send(new ListAttachedUserPoliciesCommand({ UserName: name }))).AttachedPolicies,
    },
    {
      kind: 'group' as const,
      limit: 5120,
      create: (name: string) => client.send(new CreateGroupCommand({ GroupName: name })),
      put: (name: string, policyName: string, document: string) =>
        client.send(
          new PutGroupPolicyCommand({ GroupName: name, PolicyName: policyName, PolicyDocument: document }),
        ),
      get: async (name: string, policyName: string) =>
        (await client.send(new GetGroupPolicyCommand({ GroupName: name, PolicyName: policyName })))
          .PolicyDocument,
      list: async (name: string) =>
        (await client.send(new ListGroupPoliciesCommand({ GroupName: name }))).PolicyNames,
      remove: (name: string, policyName: string) =>
        client.send(new DeleteGroupPolicyCommand({ GroupName: name, PolicyName: policyName })),
      attach: (name: string, arn: string) =>
        client.send(new AttachGroupPolicyCommand({ GroupName: name, PolicyArn: arn })),
      detach: (name: string, arn: string) =>
        client.send(new DetachGroupPolicyCommand({ GroupName: name, PolicyArn: arn })),
      listAttached: async (name: string) =>
        (await client.send(new ListAttachedGroupPoliciesCommand({ GroupName: name }))).AttachedPolicies,
    },
  ])('$kind policies', (api) => {
    const principal = `team-${api.kind}`;

    beforeEach(async () => {
      await api.create(principal);
    });

    it('puts, replaces, gets (URL-encoded), lists and deletes inline policies', async () => {
      // Prepare
      const first = `{ "Version": "2012-10-17", "Statement": { "Effect": "Deny", "Action": "iam:*", "Resource": "*" } }`;
      const replacement = policy(['s3:GetObject', 'kms:Decrypt']);

      // Act
      await api.put(principal, 'b-inline', first);
      await api.put(principal, 'a-inline', first);
      await api.put(principal, 'b-inline', replacement);
      const fetched = await api.get(principal, 'b-inline');
      const listed = await api.list(principal);
      await api.remove(principal, 'b-inline');
      const listedAfterDelete = await api.list(principal);
      const error = await failure(api.get(principal, 'b-inline'));

      // Assess
      expect(fetched).not.toMatch(/[{}"\s]/);
      expect(decodeURIComponent(fetched ?? '')).toBe(replacement);
      expect(listed).toEqual(['a-inline', 'b-inline']);
      expect(listedAfterDelete).toEqual(['a-inline']);
      expect(error).toBeInstanceOf(NoSuchEntityException);
      expect(error.message).toBe(`The ${api.kind} policy with name b-inline cannot be found.`);
      expect(server.getInlinePolicy(api.kind, principal, 'a-inline')).toBe(first);
    });

    it('enforces the inline policy size limit per principal, aggregated over its policies', async () => {
      // Prepare
      const overLimit = policyOfSize(api.limit + 1);
      const atLimit = policyOfSize(api.limit);
      const message = `Maximum policy size of ${api.limit} bytes exceeded for ${api.kind} ${principal}`;

      // Act
      const singleError = await failure(api.put(principal, 'huge', overLimit));
      await api.put(principal, 'full', atLimit);
      const aggregateError = await failure(api.put(principal, 'one-more', policy('s3:GetObject')));
      await api.put(principal, 'full', policy('s3:GetObject'));
      await api.put(principal, 'one-more', policy('s3:PutObject'));

      // Assess
      for (const error of [singleError, aggregateError]) {
        expect(error).toBeInstanceOf(LimitExceededException);
        expect(error.$metadata.httpStatusCode).toBe(409);
        expect(error.message).toBe(message);
      }
      expect(await api.list(principal)).toEqual(['full', 'one-more']);
    });

    it('attaches, lists and detaches managed policies and keeps AttachmentCount in step', async () => {
      // Prepare
      const customer = await createPolicy(`for-${api.kind}`);
      const admin = server.addAwsManagedPolicy('AdministratorAccess', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
      });

      // Act
      await api.attach(principal, customer);
      await api.attach(principal, admin.arn);
      await api.attach(principal, customer);
      const attached = await api.listAttached(principal);
      const countWhileAttached = (await client.send(new GetPolicyCommand({ PolicyArn: customer }))).Policy
        ?.AttachmentCount;
      const entities = await client.send(new ListEntitiesForPolicyCommand({ PolicyArn: customer }));
      await api.detach(principal, customer);
      const attachedAfterDetach = await api.listAttached(principal);
      const countAfterDetach = (await client.send(new GetPolicyCommand({ PolicyArn: customer }))).Policy
        ?.AttachmentCount;

      // Assess
      expect(attached).toEqual([
        { PolicyName: `for-${api.kind}`, PolicyArn: customer },
        { PolicyName: 'AdministratorAccess', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      ]);
      expect(countWhileAttached).toBe(1);
      const entityNames = [
        ...(entities.PolicyRoles ?? []).map((e) => e.RoleName),
        ...(entities.PolicyUsers ?? []).map((e) => e.UserName),
        ...(entities.PolicyGroups ?? []).map((e) => e.GroupName),
      ];
      expect(entityNames).toEqual([principal]);
      expect(attachedAfterDetach?.map((p) => p.PolicyArn)).toEqual([admin.arn]);
      expect(countAfterDetach).toBe(0);
      expect(server.getAttachedPolicyArns(api.kind, principal)).toEqual([admin.arn]);
    });
  });

  describe('AWS managed policies', () => {
    const ADMIN_DOCUMENT = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
    };
    const ADMIN_ARN = 'arn:aws:iam::aws:policy/AdministratorAccess';

    it('serves a seeded AWS managed policy and lists it under Scope AWS only', async () => {
      // Prepare
      server.addAwsManagedPolicy('AdministratorAccess', ADMIN_DOCUMENT);
      const local = await createPolicy('local-one');

      // Act
      const fetched = await client.send(new GetPolicyCommand({ PolicyArn: ADMIN_ARN }));
      const version = await client.send(
        new GetPolicyVersionCommand({ PolicyArn: ADMIN_ARN, VersionId: 'v1' }),
      );
      const awsScope = await client.send(new ListPoliciesCommand({ Scope: 'AWS' }));
      const localScope = await client.send(new ListPoliciesCommand({ Scope: 'Local' }));

      // Assess
      expect(fetched.Policy).toMatchObject({
        PolicyName: 'AdministratorAccess',
        Arn: ADMIN_ARN,
        DefaultVersionId: 'v1',
      });
      expect(decode(version.PolicyVersion?.Document)).toEqual(ADMIN_DOCUMENT);
      expect(awsScope.Policies?.map((p) => p.Arn)).toEqual([ADMIN_ARN]);
      expect(localScope.Policies?.map((p) => p.Arn)).toEqual([local]);
    });

    it.each([
      {
        action: 'CreatePolicyVersion',
        act: () =>
          client.send(
            new CreatePolicyVersionCommand({
              PolicyArn: ADMIN_ARN,
              PolicyDocument: policy('s3:*'),
              SetAsDefault: true,
            }),
          ),
      },
      {
        action: 'SetDefaultPolicyVersion',
        act: () => client.send(new SetDefaultPolicyVersionCommand({ PolicyArn: ADMIN_ARN, VersionId: 'v1' })),
      },
      {
        action: 'DeletePolicyVersion',
        act: () => client.send(new DeletePolicyVersionCommand({ PolicyArn: ADMIN_ARN, VersionId: 'v1' })),
      },
      { action: 'DeletePolicy', act: () => client.send(new DeletePolicyCommand({ PolicyArn: ADMIN_ARN })) },
    ])('refuses $action on it as IAM does (AccessDenied)', async ({ action, act }) => {
      // Prepare
      server.addAwsManagedPolicy('AdministratorAccess', ADMIN_DOCUMENT);
      const before = server.state;

      // Act
      const error = await failure(act());

      // Assess
      expect(error.name).toBe('AccessDenied');
      expect(error.$metadata.httpStatusCode).toBe(403);
      expect(error.message).toBe(
        `User: arn:aws:iam::${ACCOUNT}:user/local-iam-user is not authorized to perform: iam:${action} on resource: policy ${ADMIN_ARN}`,
      );
      expect(server.state).toEqual(before);
    });
  });

  describe('CloudTrail events', () => {
    it('emits one AWS API Call via CloudTrail event per successful write, with the caller identity', async () => {
      // Prepare
      const document = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`;
      const broader = `{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "*", "Resource": "*" } ] }`;
      await client.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST_POLICY }));
      const seeded = server.events.length;
      const received: CloudTrailEvent[] = [];
      const unsubscribe = server.onEvent((event) => received.push(event));

      // Act
      const created = await alice.send(
        new CreatePolicyCommand({
          PolicyName: 'audited',
          PolicyDocument: document,
          Description: 'team policy',
        }),
      );
      const arn = created.Policy?.Arn ?? '';
      await alice.send(new GetPolicyCommand({ PolicyArn: arn }));
      const version = await alice.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: broader, SetAsDefault: true }),
      );
      await alice.send(new SetDefaultPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' }));
      await alice.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }));
      await alice.send(
        new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline', PolicyDocument: broader }),
      );
      await alice.send(new DeleteRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline' }));
      await alice.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: arn }));
      await alice.send(new ListAttachedRolePoliciesCommand({ RoleName: 'app' }));
      const detached = await alice.send(new DetachRolePolicyCommand({ RoleName: 'app', PolicyArn: arn }));
      unsubscribe();
      await alice.send(new DeletePolicyCommand({ PolicyArn: arn }));

      // Assess
      const events = server.events.slice(seeded);
      expect(events.map((e) => [e.detail.eventName, e.detail.requestParameters])).toEqual([
        ['CreatePolicy', { policyName: 'audited', policyDocument: document, description: 'team policy' }],
        ['CreatePolicyVersion', { policyArn: arn, policyDocument: broader, setAsDefault: true }],
        ['SetDefaultPolicyVersion', { policyArn: arn, versionId: 'v1' }],
        ['DeletePolicyVersion', { policyArn: arn, versionId: 'v2' }],
        ['PutRolePolicy', { roleName: 'app', policyName: 'inline', policyDocument: broader }],
        ['DeleteRolePolicy', { roleName: 'app', policyName: 'inline' }],
        ['AttachRolePolicy', { roleName: 'app', policyArn: arn }],
        ['DetachRolePolicy', { roleName: 'app', policyArn: arn }],
        ['DeletePolicy', { policyArn: arn }],
      ]);
      for (const event of events) {
        expect(event).toMatchObject({
          version: '0',
          'detail-type': 'AWS API Call via CloudTrail',
          source: 'aws.iam',
          account: ACCOUNT,
          region: 'us-east-1',
          resources: [],
          detail: {
            eventVersion: '1.08',
            eventSource: 'iam.amazonaws.com',
            awsRegion: 'us-east-1',
            sourceIPAddress: '127.0.0.1',
            readOnly: false,
            eventType: 'AwsApiCall',
            managementEvent: true,
            recipientAccountId: ACCOUNT,
            eventCategory: 'Management',
            userIdentity: {
              type: 'AssumedRole',
              arn: ALICE.arn,
              accountId: ACCOUNT,
              accessKeyId: ALICE_KEY,
              sessionContext: {
                sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${ACCOUNT}:role/Dev`, userName: 'Dev' },
              },
            },
          },
        });
        expect(event.detail.userAgent).toContain('aws-sdk-js');
        expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(event.detail.eventTime).toBe(event.time);
        expect(event.detail.errorCode).toBeUndefined();
      }
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(new Set(events.map((e) => e.detail.eventID)).size).toBe(events.length);
      const [createEvent, versionEvent, ...others] = events;
      expect(createEvent?.detail.requestID).toBe(created.$metadata.requestId);
      expect(createEvent?.detail.responseElements).toEqual({
        policy: {
          policyName: 'audited',
          policyId: created.Policy?.PolicyId,
          arn,
          path: '/',
          defaultVersionId: 'v1',
          attachmentCount: 0,
          permissionsBoundaryUsageCount: 0,
          isAttachable: true,
          createDate: expect.stringMatching(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M$/),
          updateDate: expect.stringMatching(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M$/),
        },
      });
      expect(versionEvent?.detail.responseElements).toEqual({
        policyVersion: {
          versionId: version.PolicyVersion?.VersionId,
          isDefaultVersion: true,
          createDate: expect.any(String),
        },
      });
      expect(others.map((e) => e.detail.responseElements)).toEqual(others.map(() => null));
      expect(others.at(-2)?.detail.requestID).toBe(detached.$metadata.requestId);
      expect(received).toEqual(events.slice(0, -1));
    });

    it('records the default IAM user identity for access keys without a configured one', async () => {
      // Act
      await client.send(new CreateUserCommand({ UserName: 'carol' }));

      // Assess
      expect(server.events).toHaveLength(1);
      expect(server.events[0]?.detail.userIdentity).toEqual({
        type: 'IAMUser',
        principalId: expect.stringMatching(/^AIDA/),
        arn: `arn:aws:iam::${ACCOUNT}:user/local-iam-user`,
        accountId: ACCOUNT,
        accessKeyId: CREDENTIALS.accessKeyId,
        userName: 'local-iam-user',
      });
      expect(server.events[0]?.detail.responseElements).toEqual({
        user: {
          path: '/',
          userName: 'carol',
          userId: expect.stringMatching(/^AIDA/),
          arn: `arn:aws:iam::${ACCOUNT}:user/carol`,
          createDate: expect.any(String),
        },
      });
    });

    it('records a failed write with errorCode and errorMessage, and no event for failed reads', async () => {
      // Prepare
      const arn = await createPolicy('guarded');
      const seeded = server.events.length;

      // Act
      const error = await failure(
        alice.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v1' })),
      );
      await failure(alice.send(new GetPolicyCommand({ PolicyArn: `${arn}-missing` })));

      // Assess
      const events = server.events.slice(seeded);
      expect(events).toHaveLength(1);
      expect(events[0]?.detail).toMatchObject({
        eventName: 'DeletePolicyVersion',
        errorCode: 'DeleteConflictException',
        errorMessage: error.message,
        requestParameters: { policyArn: arn, versionId: 'v1' },
        responseElements: null,
        requestID: error.$metadata.requestId,
        userIdentity: { arn: ALICE.arn },
      });
    });

    it('leaves failed calls out when recordFailedCalls is false', async () => {
      // Prepare
      const quiet = await startIamServer({ recordFailedCalls: false });
      const quietClient = new IAMClient({
        region: 'us-east-1',
        endpoint: quiet.endpoint,
        credentials: CREDENTIALS,
        maxAttempts: 1,
      });
      try {
        // Act
        await quietClient.send(new CreateUserCommand({ UserName: 'dave' }));
        await failure(quietClient.send(new CreateUserCommand({ UserName: 'dave' })));

        // Assess
        expect(quiet.events.map((e) => [e.detail.eventName, e.detail.errorCode])).toEqual([
          ['CreateUser', undefined],
        ]);
      } finally {
        quietClient.destroy();
        await quiet.close();
      }
    });

    it('produces events that PolicyGate normalises to the right change', async () => {
      // Prepare
      const document = policy('iam:PassRole');
      await client.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST_POLICY }));
      const seeded = server.events.length;

      // Act
      const created = await alice.send(
        new CreatePolicyCommand({ PolicyName: 'normalised', PolicyDocument: document }),
      );
      const arn = created.Policy?.Arn ?? '';
      await alice.send(
        new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: document, SetAsDefault: true }),
      );
      await alice.send(
        new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'inline', PolicyDocument: document }),
      );
      await alice.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: arn }));
      await failure(alice.send(new AttachRolePolicyCommand({ RoleName: 'ghost', PolicyArn: arn })));
      const events = server.events.slice(seeded);
      const normalised = events.map((event) => normaliseEvent(event, { ownRoleArns: [] }));
      const asOwnRole = normaliseEvent(events[0], { ownRoleArns: [`arn:aws:iam::${ACCOUNT}:role/Dev`] });

      // Assess
      expect(normalised).toEqual([
        {
          kind: 'change',
          change: expect.objectContaining({
            eventName: 'CreatePolicy',
            target: { kind: 'managed-policy', policyArn: arn, policyName: 'normalised' },
            document,
            versionId: 'v1',
          }),
        },
        {
          kind: 'change',
          change: expect.objectContaining({
            eventName: 'CreatePolicyVersion',
            target: { kind: 'managed-policy', policyArn: arn, policyName: 'normalised' },
            document,
            versionId: 'v2',
            setAsDefault: true,
          }),
        },
        {
          kind: 'change',
          change: expect.objectContaining({
            eventName: 'PutRolePolicy',
            target: {
              kind: 'inline-policy',
              principalType: 'role',
              principalName: 'app',
              policyName: 'inline',
            },
            document,
          }),
        },
        {
          kind: 'change',
          change: expect.objectContaining({
            eventName: 'AttachRolePolicy',
            target: { kind: 'attachment', principalType: 'role', principalName: 'app', policyArn: arn },
          }),
        },
        expect.objectContaining({ kind: 'ignored', reason: 'failed-call', eventName: 'AttachRolePolicy' }),
      ]);
      for (const result of normalised.slice(0, 4)) {
        expect(result.kind === 'change' && result.change.actor).toMatchObject({
          type: 'AssumedRole',
          arn: ALICE.arn,
          sessionName: 'alice',
          sessionIssuer: { arn: `arn:aws:iam::${ACCOUNT}:role/Dev` },
          accessKeyId: ALICE_KEY,
        });
        expect(result.kind === 'change' && result.change.accountId).toBe(ACCOUNT);
      }
      expect(asOwnRole).toMatchObject({
        kind: 'change',
        change: { madeByOwnRole: expect.stringContaining(':role/') },
      });
    });
  });

  describe('fault injection', () => {
    it('fails the next call of an operation with ServiceFailure without changing state', async () => {
      // Prepare
      const arn = await createPolicy('flaky');
      server.failNext('CreatePolicyVersion');

      // Act
      const error = await failure(
        client.send(
          new CreatePolicyVersionCommand({
            PolicyArn: arn,
            PolicyDocument: policy('s3:*'),
            SetAsDefault: true,
          }),
        ),
      );
      const versionsAfterFault = server.getPolicy(arn)?.versions.length;
      const retried = await client.send(
        new CreatePolicyVersionCommand({
          PolicyArn: arn,
          PolicyDocument: policy('s3:*'),
          SetAsDefault: true,
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(ServiceFailureException);
      expect(error.$metadata.httpStatusCode).toBe(500);
      expect(error.$fault).toBe('server');
      expect(versionsAfterFault).toBe(1);
      expect(retried.PolicyVersion?.VersionId).toBe('v2');
    });

    it('throttles the next calls with Throttling (400) as many times as asked', async () => {
      // Prepare
      const arn = await createPolicy('busy');
      server.failNext('GetPolicy', 2, 'Throttling');

      // Act
      const first = await failure(client.send(new GetPolicyCommand({ PolicyArn: arn })));
      const second = await failure(client.send(new GetPolicyCommand({ PolicyArn: arn })));
      const third = await client.send(new GetPolicyCommand({ PolicyArn: arn }));

      // Assess
      for (const error of [first, second]) {
        expect(error.name).toBe('Throttling');
        expect(error.$metadata.httpStatusCode).toBe(400);
        expect(error.message).toBe('Rate exceeded');
      }
      expect(third.Policy?.Arn).toBe(arn);
    });

    it('lets the SDK retry an injected fault like a real one', async () => {
      // Prepare
      const retrying = iamClient({ maxAttempts: 3 });
      await client.send(new CreateGroupCommand({ GroupName: 'ops' }));
      server.failNext('PutGroupPolicy', 1, 'ServiceFailure');

      // Act
      const output = await retrying.send(
        new PutGroupPolicyCommand({ GroupName: 'ops', PolicyName: 'p', PolicyDocument: policy('s3:*') }),
      );

      // Assess
      expect(output.$metadata.attempts).toBe(2);
      expect(server.getInlinePolicy('group', 'ops', 'p')).toBe(policy('s3:*'));
      expect(server.events.map((e) => [e.detail.eventName, e.detail.errorCode])).toEqual([
        ['CreateGroup', undefined],
        ['PutGroupPolicy', 'ServiceFailureException'],
        ['PutGroupPolicy', undefined],
      ]);
    });

    it('rejects an unknown operation name', () => {
      // Act / Assess
      expect(() => server.failNext('UpdatePolicy' as never)).toThrow('unknown IAM operation UpdatePolicy');
    });
  });

  describe('protocol edges', () => {
    const body = 'Action=ListPolicies&Version=2010-05-08';

    it('rejects a request without an Authorization header with 403 MissingAuthenticationToken', async () => {
      // Act
      const response = await fetch(server.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const text = await response.text();

      // Assess
      expect(response.status).toBe(403);
      expect(text).toMatch(/^<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">/);
      expect(text).toContain('<Type>Sender</Type><Code>MissingAuthenticationToken</Code>');
      expect(text).toContain(`<RequestId>${response.headers.get('x-amzn-requestid')}</RequestId>`);
    });

    it('answers an unknown action with 400 InvalidAction', async () => {
      // Act
      const response = await fetch(server.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: 'Action=UpdatePolicy&Version=2010-05-08',
      });

      // Assess
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('<Code>InvalidAction</Code>');
      expect(server.events).toEqual([]);
    });

    it('is reachable through AWS_ENDPOINT_URL_IAM alone', async () => {
      // Act
      const roleName = await withEnv(
        {
          AWS_ENDPOINT_URL_IAM: server.endpoint,
          AWS_ENDPOINT_URL: undefined,
          AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
        },
        async () => {
          const envClient = new IAMClient({ region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
          try {
            await envClient.send(
              new CreateRoleCommand({ RoleName: 'from-env', AssumeRolePolicyDocument: TRUST_POLICY }),
            );
            return (await envClient.send(new GetRoleCommand({ RoleName: 'from-env' }))).Role?.RoleName;
          } finally {
            envClient.destroy();
          }
        },
      );

      // Assess
      expect(roleName).toBe('from-env');
      expect(server.state.roles.map((r) => r.name)).toEqual(['from-env']);
    });
  });
});
