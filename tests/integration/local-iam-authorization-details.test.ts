import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  type EntityType,
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
  IAMServiceException,
  PutGroupPolicyCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  PutUserPermissionsBoundaryCommand,
  PutUserPolicyCommand,
  paginateGetAccountAuthorizationDetails,
} from '@aws-sdk/client-iam';
import { useLocalIam } from '../support/local-iam';

const ACCOUNT = '123456789012';
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
// Whitespace and RFC 3986 reserved characters, so the URL encoding is visible.
const INLINE = `{ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a&b/*" }] }`;

function policy(action: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  });
}

/** Everything a Marker loop collects, entity names per list, in order. */
interface Collected {
  users: string[];
  groups: string[];
  roles: string[];
  policies: string[];
  pages: number;
}

function collect(pages: readonly GetAccountAuthorizationDetailsCommandOutput[]): Collected {
  return {
    users: pages.flatMap((p) => (p.UserDetailList ?? []).map((u) => u.UserName ?? '')),
    groups: pages.flatMap((p) => (p.GroupDetailList ?? []).map((g) => g.GroupName ?? '')),
    roles: pages.flatMap((p) => (p.RoleDetailList ?? []).map((r) => r.RoleName ?? '')),
    policies: pages.flatMap((p) => (p.Policies ?? []).map((m) => m.PolicyName ?? '')),
    pages: pages.length,
  };
}

describe('local IAM stand-in: GetAccountAuthorizationDetails', () => {
  const iam = useLocalIam({ accountId: ACCOUNT });
  let customer: string;
  let unusedCustomer: string;
  const admin = 'arn:aws:iam::aws:policy/AdministratorAccess';
  const readOnly = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
  const boundaryOnly = 'arn:aws:iam::aws:policy/PowerUserAccess';

  beforeEach(async () => {
    iam.server.addAwsManagedPolicy('AdministratorAccess', policy('*'));
    iam.server.addAwsManagedPolicy('ReadOnlyAccess', policy('s3:Get*'));
    iam.server.addAwsManagedPolicy('PowerUserAccess', policy('ec2:*'));
    customer = (
      await iam.client.send(
        new CreatePolicyCommand({ PolicyName: 'team', Path: '/t/', PolicyDocument: policy('s3:*') }),
      )
    ).Policy?.Arn as string;
    await iam.client.send(
      new CreatePolicyVersionCommand({ PolicyArn: customer, PolicyDocument: INLINE, SetAsDefault: true }),
    );
    unusedCustomer = (
      await iam.client.send(
        new CreatePolicyCommand({ PolicyName: 'unused', PolicyDocument: policy('sqs:*') }),
      )
    ).Policy?.Arn as string;

    await iam.client.send(new CreateUserCommand({ UserName: 'ana', Tags: [{ Key: 'team', Value: 'sec' }] }));
    await iam.client.send(new CreateUserCommand({ UserName: 'bo' }));
    await iam.client.send(new CreateGroupCommand({ GroupName: 'ops' }));
    await iam.client.send(new AddUserToGroupCommand({ GroupName: 'ops', UserName: 'ana' }));
    await iam.client.send(
      new PutUserPolicyCommand({ UserName: 'ana', PolicyName: 'mine', PolicyDocument: INLINE }),
    );
    await iam.client.send(new AttachUserPolicyCommand({ UserName: 'ana', PolicyArn: customer }));
    await iam.client.send(
      new PutUserPermissionsBoundaryCommand({ UserName: 'bo', PermissionsBoundary: boundaryOnly }),
    );
    await iam.client.send(
      new PutGroupPolicyCommand({ GroupName: 'ops', PolicyName: 'ops-inline', PolicyDocument: INLINE }),
    );
    await iam.client.send(new AttachGroupPolicyCommand({ GroupName: 'ops', PolicyArn: readOnly }));
    await iam.client.send(
      new CreateRoleCommand({ RoleName: 'app', Path: '/svc/', AssumeRolePolicyDocument: TRUST }),
    );
    await iam.client.send(
      new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'role-inline', PolicyDocument: INLINE }),
    );
    await iam.client.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: admin }));
    await iam.client.send(
      new PutRolePermissionsBoundaryCommand({ RoleName: 'app', PermissionsBoundary: customer }),
    );
  });

  it('returns users, groups, roles and policies with their relationships, documents URL-encoded', async () => {
    // Act
    const details = await iam.client.send(new GetAccountAuthorizationDetailsCommand({}));

    // Assess
    expect(details.IsTruncated).toBe(false);
    const [ana, bo] = details.UserDetailList ?? [];
    expect(ana).toMatchObject({
      Path: '/',
      UserName: 'ana',
      UserId: expect.stringMatching(/^AIDA/),
      Arn: `arn:aws:iam::${ACCOUNT}:user/ana`,
      CreateDate: expect.any(Date),
      GroupList: ['ops'],
      AttachedManagedPolicies: [{ PolicyName: 'team', PolicyArn: customer }],
      Tags: [{ Key: 'team', Value: 'sec' }],
    });
    expect(ana?.UserPolicyList).toEqual([
      { PolicyName: 'mine', PolicyDocument: expect.stringMatching(/^%7B/) },
    ]);
    expect(decodeURIComponent(ana?.UserPolicyList?.[0]?.PolicyDocument ?? '')).toBe(INLINE);
    expect(ana?.PermissionsBoundary).toBeUndefined();
    expect(bo?.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
      PermissionsBoundaryArn: boundaryOnly,
    });
    expect(details.GroupDetailList).toEqual([
      expect.objectContaining({
        GroupName: 'ops',
        GroupPolicyList: [{ PolicyName: 'ops-inline', PolicyDocument: expect.any(String) }],
        AttachedManagedPolicies: [{ PolicyName: 'ReadOnlyAccess', PolicyArn: readOnly }],
      }),
    ]);
    const [app] = details.RoleDetailList ?? [];
    expect(app).toMatchObject({
      Path: '/svc/',
      RoleName: 'app',
      Arn: `arn:aws:iam::${ACCOUNT}:role/svc/app`,
      InstanceProfileList: [],
      RolePolicyList: [{ PolicyName: 'role-inline', PolicyDocument: expect.any(String) }],
      AttachedManagedPolicies: [{ PolicyName: 'AdministratorAccess', PolicyArn: admin }],
      PermissionsBoundary: {
        PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
        PermissionsBoundaryArn: customer,
      },
    });
    expect(decodeURIComponent(app?.AssumeRolePolicyDocument ?? '')).toBe(TRUST);
    const team = details.Policies?.find((p) => p.Arn === customer);
    expect(team).toMatchObject({
      PolicyName: 'team',
      Path: '/t/',
      DefaultVersionId: 'v2',
      AttachmentCount: 1,
      PermissionsBoundaryUsageCount: 1,
      IsAttachable: true,
    });
    expect(team?.PolicyVersionList?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
      ['v2', true],
      ['v1', false],
    ]);
    expect(decodeURIComponent(team?.PolicyVersionList?.[0]?.Document ?? '')).toBe(INLINE);
  });

  it('includes every customer managed policy but only the AWS managed policies in use in the account', async () => {
    // Prepare
    iam.server.addAwsManagedPolicy('ViewOnlyAccess', policy('ec2:Describe*'));

    // Act
    const details = await iam.client.send(new GetAccountAuthorizationDetailsCommand({}));
    const awsOnly = await iam.client.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ['AWSManagedPolicy'] }),
    );

    // Assess
    expect(details.Policies?.map((p) => p.Arn)).toEqual([
      admin,
      readOnly,
      boundaryOnly,
      customer,
      unusedCustomer,
    ]);
    expect(awsOnly.Policies?.map((p) => p.PolicyName)).toEqual([
      'AdministratorAccess',
      'ReadOnlyAccess',
      'PowerUserAccess',
    ]);
  });

  it.each([
    { filter: ['User'], expected: { users: ['ana', 'bo'], groups: [], roles: [], policies: [] } },
    { filter: ['Group', 'Role'], expected: { users: [], groups: ['ops'], roles: ['app'], policies: [] } },
    {
      filter: ['LocalManagedPolicy'],
      expected: { users: [], groups: [], roles: [], policies: ['team', 'unused'] },
    },
    {
      filter: ['AWSManagedPolicy', 'LocalManagedPolicy'],
      expected: {
        users: [],
        groups: [],
        roles: [],
        policies: ['AdministratorAccess', 'ReadOnlyAccess', 'PowerUserAccess', 'team', 'unused'],
      },
    },
  ])('filters by $filter', async ({ filter, expected }) => {
    // Act
    const details = await iam.client.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: filter as EntityType[] }),
    );

    // Assess
    const { pages: _, ...lists } = collect([details]);
    expect(lists).toEqual(expected);
  });

  it.each([1, 2, 3, 4, 7])(
    'pages across the four lists with MaxItems %i: a Marker loop sees every entity exactly once',
    async (maxItems) => {
      // Act
      const pages: GetAccountAuthorizationDetailsCommandOutput[] = [];
      let marker: string | undefined;
      do {
        const page = await iam.client.send(
          new GetAccountAuthorizationDetailsCommand({ MaxItems: maxItems, Marker: marker }),
        );
        pages.push(page);
        if (page.IsTruncated) expect(page.Marker).toEqual(expect.any(String));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker !== undefined);
      const all = collect([await iam.client.send(new GetAccountAuthorizationDetailsCommand({}))]);

      // Assess
      const paged = collect(pages);
      expect({ ...paged, pages: 0 }).toEqual({ ...all, pages: 0 });
      expect(paged.pages).toBe(Math.ceil(9 / maxItems));
      for (const page of pages.slice(0, -1)) {
        const size =
          (page.UserDetailList?.length ?? 0) +
          (page.GroupDetailList?.length ?? 0) +
          (page.RoleDetailList?.length ?? 0) +
          (page.Policies?.length ?? 0);
        expect(size).toBe(maxItems);
      }
    },
  );

  it('works with the SDK paginator', async () => {
    // Act
    const pages: GetAccountAuthorizationDetailsCommandOutput[] = [];
    for await (const page of paginateGetAccountAuthorizationDetails({ client: iam.client, pageSize: 3 }, {}))
      pages.push(page);

    // Assess
    expect(collect(pages)).toEqual({
      users: ['ana', 'bo'],
      groups: ['ops'],
      roles: ['app'],
      policies: ['AdministratorAccess', 'ReadOnlyAccess', 'PowerUserAccess', 'team', 'unused'],
      pages: 3,
    });
  });

  it('refuses an unknown entity type with IAM’s list-constraint wording, and is not a recorded write', async () => {
    // Prepare
    const events = iam.server.events.length;

    // Act
    const error = await iam.client
      .send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Users' as EntityType] }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );

    // Assess
    expect(error).toBeInstanceOf(IAMServiceException);
    expect((error as IAMServiceException).name).toBe('ValidationError');
    expect((error as IAMServiceException).message).toBe(
      "1 validation error detected: Value '[Users]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]]",
    );
    expect(iam.server.events).toHaveLength(events);
  });
});
