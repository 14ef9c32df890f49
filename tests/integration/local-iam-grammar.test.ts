import {
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  type CreateRoleCommandInput,
  CreateUserCommand,
  EntityAlreadyExistsException,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMServiceException,
  ListPoliciesCommand,
  ListRolesCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { useLocalIam } from '../support/local-iam';

const ACCOUNT = '123456789012';
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
});
const NAME_PATTERN = 'Member must satisfy regular expression pattern: [\\w+=,.@-]+';
const PATH_PATTERN =
  'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)';
const POLICY_PATH_PATTERN = 'Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/';

/** What a call ended in: success, or the IAM error's name and message. */
async function outcome(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await call;
    return { name: 'ok', message: '' };
  } catch (error) {
    if (!(error instanceof IAMServiceException)) throw error;
    return { name: error.name, message: error.message };
  }
}

/** IAM's wording for one violation. */
function violation(value: string, field: string, constraint: string): string {
  return `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`;
}

describe('local IAM stand-in: IAM’s documented input grammar', () => {
  const iam = useLocalIam({ accountId: ACCOUNT });

  const createRole = (input: Partial<CreateRoleCommandInput>) =>
    iam.client.send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: TRUST, ...input }));

  describe.each([
    {
      what: 'role names (CreateRole)',
      field: 'roleName',
      max: 64,
      act: (name: string) => createRole({ RoleName: name }),
    },
    {
      what: 'user names (CreateUser)',
      field: 'userName',
      max: 64,
      act: (name: string) => iam.client.send(new CreateUserCommand({ UserName: name })),
    },
    {
      what: 'group names (CreateGroup)',
      field: 'groupName',
      max: 128,
      act: (name: string) => iam.client.send(new CreateGroupCommand({ GroupName: name })),
    },
    {
      what: 'policy names (CreatePolicy)',
      field: 'policyName',
      max: 128,
      act: (name: string) =>
        iam.client.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument: DOCUMENT })),
    },
  ])('$what', ({ field, max, act }) => {
    it.each([
      ['the longest allowed', 'n'.repeat(max)],
      ['every allowed punctuation mark', 'a+b=c,d.e@f_g-h'],
      ['a single character', 'x'],
    ])('accepts %s', async (_label, name) => {
      // Act / Assess
      expect(await outcome(act(name))).toEqual({ name: 'ok', message: '' });
    });

    it.each([
      [
        'one character too long',
        'n'.repeat(max + 1),
        [`Member must have length less than or equal to ${max}`],
      ],
      ['a space', 'has space', [NAME_PATTERN]],
      ['a slash', 'a/b', [NAME_PATTERN]],
      ['a letter outside ASCII', 'café', [NAME_PATTERN]],
      ['the empty string', '', ['Member must have length greater than or equal to 1', NAME_PATTERN]],
    ])('refuses %s, in IAM’s words', async (_label, name, constraints) => {
      // Act
      const result = await outcome(act(name));

      // Assess
      const parts = constraints.map(
        (c) => `Value '${name}' at '${field}' failed to satisfy constraint: ${c}`,
      );
      const count =
        constraints.length === 1 ? '1 validation error' : `${constraints.length} validation errors`;
      expect(result).toEqual({ name: 'ValidationError', message: `${count} detected: ${parts.join('; ')}` });
      expect(iam.server.state).toEqual({ policies: [], roles: [], users: [], groups: [] });
    });
  });

  it('gives calls on an existing user 128 characters but the attachment calls only 64', async () => {
    // Prepare
    const long = 'u'.repeat(100);

    // Act
    const get = await outcome(iam.client.send(new GetUserCommand({ UserName: long })));
    const put = await outcome(
      iam.client.send(
        new PutUserPolicyCommand({ UserName: long, PolicyName: 'p', PolicyDocument: DOCUMENT }),
      ),
    );
    const attach = await outcome(
      iam.client.send(
        new AttachUserPolicyCommand({ UserName: long, PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/p` }),
      ),
    );

    // Assess
    expect(get).toEqual({
      name: 'NoSuchEntityException',
      message: `The user with name ${long} cannot be found.`,
    });
    expect(put.name).toBe('NoSuchEntityException');
    expect(attach).toEqual({
      name: 'ValidationError',
      message: violation(long, 'userName', 'Member must have length less than or equal to 64'),
    });
  });

  it.each(['/', '/a/', '/a//b/', '/x:y/', '/no_space~punct!*/', `/${'p'.repeat(510)}/`])(
    'accepts the principal path %s',
    async (path) => {
      // Act / Assess
      expect(await outcome(createRole({ Path: path }))).toEqual({ name: 'ok', message: '' });
      expect(iam.server.state.roles[0]?.arn).toBe(`arn:aws:iam::${ACCOUNT}:role${path}r`);
    },
  );

  it.each([
    ['/a', [PATH_PATTERN]],
    ['a/', [PATH_PATTERN]],
    ['//', [PATH_PATTERN]],
    ['/a b/', [PATH_PATTERN]],
    ['/\u007F/', [PATH_PATTERN]],
    [`/${'p'.repeat(511)}/`, ['Member must have length less than or equal to 512']],
  ])('refuses the principal path %j', async (path, constraints) => {
    // Act
    const result = await outcome(createRole({ Path: path }));

    // Assess
    expect(result).toEqual({
      name: 'ValidationError',
      message: `1 validation error detected: ${constraints.map((c) => `Value '${path}' at 'path' failed to satisfy constraint: ${c}`).join('; ')}`,
    });
  });

  it('holds managed policy paths to the stricter policy path grammar', async () => {
    // Act
    const nested = await outcome(
      iam.client.send(
        new CreatePolicyCommand({ PolicyName: 'a', Path: '/team/sub-1/', PolicyDocument: DOCUMENT }),
      ),
    );
    const emptySegment = await outcome(
      iam.client.send(new CreatePolicyCommand({ PolicyName: 'b', Path: '/a//b/', PolicyDocument: DOCUMENT })),
    );
    const colon = await outcome(
      iam.client.send(new CreatePolicyCommand({ PolicyName: 'c', Path: '/x:y/', PolicyDocument: DOCUMENT })),
    );
    const prefix = await outcome(iam.client.send(new ListPoliciesCommand({ PathPrefix: '/team' })));

    // Assess
    expect(nested.name).toBe('ok');
    expect(emptySegment).toEqual({
      name: 'ValidationError',
      message: violation('/a//b/', 'path', POLICY_PATH_PATTERN),
    });
    expect(colon).toEqual({
      name: 'ValidationError',
      message: violation('/x:y/', 'path', POLICY_PATH_PATTERN),
    });
    expect(prefix).toEqual({
      name: 'ValidationError',
      message: violation('/team', 'pathPrefix', POLICY_PATH_PATTERN),
    });
  });

  it('lets ListRoles take a path prefix without a trailing slash, and nothing not starting with one', async () => {
    // Prepare
    await createRole({ RoleName: 'a', Path: '/svc/a/' });

    // Act
    const partial = await iam.client.send(new ListRolesCommand({ PathPrefix: '/sv' }));
    const del = await outcome(iam.client.send(new ListRolesCommand({ PathPrefix: '/\u007F' })));
    const relative = await outcome(iam.client.send(new ListRolesCommand({ PathPrefix: 'svc' })));

    // Assess
    expect(partial.Roles?.map((r) => r.RoleName)).toEqual(['a']);
    expect(del.name).toBe('ok');
    expect(relative).toEqual({
      name: 'ValidationError',
      message: violation(
        'svc',
        'pathPrefix',
        'Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*',
      ),
    });
  });

  it.each([
    [
      `arn:aws:iam::${ACCOUNT}:policy/team/sub/p`,
      'NoSuchEntityException',
      `Policy arn:aws:iam::${ACCOUNT}:policy/team/sub/p was not found.`,
    ],
    [
      'arn:aws:iam::aws:policy/service-role/X',
      'NoSuchEntityException',
      'Policy arn:aws:iam::aws:policy/service-role/X was not found.',
    ],
    [
      'x'.repeat(19),
      'ValidationError',
      violation('x'.repeat(19), 'policyArn', 'Member must have length greater than or equal to 20'),
    ],
    [`arn:aws:iam::${ACCOUNT}:policy/${'p'.repeat(2048)}`, 'ValidationError', undefined],
    [
      'not-an-arn-but-twenty-chars-long',
      'InvalidInputException',
      'ARN not-an-arn-but-twenty-chars-long is not valid.',
    ],
  ])('checks the policy ARN %s', async (arn, name, message) => {
    // Act
    const result = await outcome(iam.client.send(new GetPolicyCommand({ PolicyArn: arn })));

    // Assess
    expect(result.name).toBe(name);
    expect(result.message).toBe(
      message ?? violation(arn, 'policyArn', 'Member must have length less than or equal to 2048'),
    );
  });

  it.each([
    ['v1', 'NoSuchEntityException'],
    ['v12', 'NoSuchEntityException'],
    ['v3.beta-1', 'NoSuchEntityException'],
    ['v1.', 'NoSuchEntityException'],
    ['v0', 'ValidationError'],
    ['v01', 'ValidationError'],
    ['V1', 'ValidationError'],
    ['1', 'ValidationError'],
    ['v1.a_b', 'ValidationError'],
  ])('checks the version id %s', async (versionId, name) => {
    // Act
    const result = await outcome(
      iam.client.send(
        new GetPolicyVersionCommand({ PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/p`, VersionId: versionId }),
      ),
    );

    // Assess
    expect(result.name).toBe(name);
    if (name === 'ValidationError') {
      expect(result.message).toBe(
        violation(
          versionId,
          'versionId',
          'Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?',
        ),
      );
    }
  });

  it('reports every violation of a request at once, in member order', async () => {
    // Prepare
    const name = 'bad name'.repeat(9);

    // Act
    const result = await outcome(createRole({ Path: 'x', RoleName: name, MaxSessionDuration: 60 }));

    // Assess
    expect(result).toEqual({
      name: 'ValidationError',
      message:
        `4 validation errors detected: Value 'x' at 'path' failed to satisfy constraint: ${PATH_PATTERN}; ` +
        `Value '${name}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64; ` +
        `Value '${name}' at 'roleName' failed to satisfy constraint: ${NAME_PATTERN}; ` +
        "Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600",
    });
  });

  it('names a missing required member', async () => {
    // Act
    const result = await outcome(
      iam.client.send(new CreateRoleCommand({ RoleName: 'r' } as CreateRoleCommandInput)),
    );

    // Assess
    expect(result).toEqual({
      name: 'ValidationError',
      message:
        "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
    });
  });

  it('allows Latin-1 in documents but nothing above U+00FF', async () => {
    // Prepare
    const latin1 = DOCUMENT.replace('s3:GetObject', 's3:GetObject').replace(
      '"*"',
      '"arn:aws:s3:::caf\u00e9/*"',
    );
    const euro = DOCUMENT.replace('"*"', '"arn:aws:s3:::\u20ac/*"');

    // Act
    const accepted = await outcome(
      iam.client.send(new CreatePolicyCommand({ PolicyName: 'latin', PolicyDocument: latin1 })),
    );
    const refused = await outcome(
      iam.client.send(new CreatePolicyCommand({ PolicyName: 'euro', PolicyDocument: euro })),
    );

    // Assess
    expect(accepted.name).toBe('ok');
    expect(refused).toEqual({
      name: 'ValidationError',
      message: violation(
        euro,
        'policyDocument',
        'Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
      ),
    });
  });

  it('checks tags, descriptions and numbers against their limits', async () => {
    // Act
    const badKey = await outcome(createRole({ Tags: [{ Key: 'a<b', Value: '' }] }));
    const tooMany = await outcome(
      createRole({ Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }),
    );
    const longDescription = await outcome(createRole({ Description: 'd'.repeat(1001) }));
    const maxItems = await outcome(iam.client.send(new ListRolesCommand({ MaxItems: 1001 })));
    const emptyValue = await outcome(
      createRole({ RoleName: 'tagged', Tags: [{ Key: 'team:x/y', Value: '' }] }),
    );
    const duplicateKeys = await outcome(
      createRole({
        RoleName: 'twice',
        Tags: [
          { Key: 'Team', Value: 'a' },
          { Key: 'team', Value: 'b' },
        ],
      }),
    );

    // Assess
    expect(badKey).toEqual({
      name: 'ValidationError',
      message: violation(
        'a<b',
        'tags.1.member.key',
        'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+',
      ),
    });
    expect(tooMany.message).toMatch(
      /at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50$/,
    );
    expect(longDescription.message).toBe(
      violation('d'.repeat(1001), 'description', 'Member must have length less than or equal to 1000'),
    );
    expect(maxItems.message).toBe(
      violation('1001', 'maxItems', 'Member must have value less than or equal to 1000'),
    );
    expect(emptyValue.name).toBe('ok');
    expect(duplicateKeys).toEqual({
      name: 'InvalidInputException',
      message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
    });
  });

  it.each([
    {
      kind: 'role',
      create: (name: string) => createRole({ RoleName: name }),
      get: (name: string) => iam.client.send(new GetRoleCommand({ RoleName: name })),
    },
    {
      kind: 'user',
      create: (name: string) => iam.client.send(new CreateUserCommand({ UserName: name })),
      get: (name: string) => iam.client.send(new GetUserCommand({ UserName: name })),
    },
  ])('treats $kind names case-insensitively for uniqueness and lookups', async ({ create, get }) => {
    // Prepare
    await create('Build-Bot');

    // Act
    const duplicate = await outcome(create('build-bot'));
    const found = (await get('BUILD-BOT')) as { Role?: { RoleName?: string }; User?: { UserName?: string } };

    // Assess
    expect(duplicate.name).toBe('EntityAlreadyExistsException');
    expect(found.Role?.RoleName ?? found.User?.UserName).toBe('Build-Bot');
  });

  it('refuses a group name differing only in case', async () => {
    // Prepare
    await iam.client.send(new CreateGroupCommand({ GroupName: 'Ops' }));

    // Act
    const error = await iam.client.send(new CreateGroupCommand({ GroupName: 'OPS' })).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(EntityAlreadyExistsException);
    expect((error as Error).message).toBe('Group with name OPS already exists.');
  });
});
