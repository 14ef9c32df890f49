import {
  AddUserToGroupCommand,
  AttachRolePolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteConflictException,
  DeleteGroupCommand,
  DeletePolicyCommand,
  DeleteRolePermissionsBoundaryCommand,
  DeleteUserCommand,
  DeleteUserPermissionsBoundaryCommand,
  GetGroupCommand,
  GetPolicyCommand,
  GetRoleCommand,
  GetUserCommand,
  IAMServiceException,
  InvalidInputException,
  LimitExceededException,
  ListEntitiesForPolicyCommand,
  ListGroupsCommand,
  ListGroupsForUserCommand,
  ListRolesCommand,
  ListUsersCommand,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
  PutRolePermissionsBoundaryCommand,
  PutUserPermissionsBoundaryCommand,
  paginateGetGroup,
  RemoveUserFromGroupCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { useLocalIam } from '../support/local-iam';

const ACCOUNT = '123456789012';
const BOUNDARY_DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:*', 'logs:*'], Resource: '*' }],
});

function trustPolicy(service = 'lambda.amazonaws.com'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });
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

describe('local IAM stand-in: groups, permissions boundaries, trust policies and listings', () => {
  const iam = useLocalIam({ accountId: ACCOUNT });

  async function createPolicy(name: string): Promise<string> {
    const output = await iam.client.send(
      new CreatePolicyCommand({ PolicyName: name, PolicyDocument: BOUNDARY_DOCUMENT }),
    );
    return output.Policy?.Arn ?? '';
  }

  describe('group membership', () => {
    beforeEach(async () => {
      await iam.client.send(new CreateGroupCommand({ GroupName: 'Admins', Path: '/ops/' }));
      await iam.client.send(new CreateGroupCommand({ GroupName: 'readers' }));
      for (const user of ['ana', 'bo', 'cy'])
        await iam.client.send(new CreateUserCommand({ UserName: user }));
    });

    it('adds users to groups (case-insensitively, idempotently) and lists both sides', async () => {
      // Act
      await iam.client.send(new AddUserToGroupCommand({ GroupName: 'admins', UserName: 'ANA' }));
      await iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'ana' }));
      await iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'cy' }));
      await iam.client.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'ana' }));
      const group = await iam.client.send(new GetGroupCommand({ GroupName: 'ADMINS' }));
      const anaGroups = await iam.client.send(new ListGroupsForUserCommand({ UserName: 'ana' }));
      const boGroups = await iam.client.send(new ListGroupsForUserCommand({ UserName: 'bo' }));

      // Assess
      expect(group.Group).toMatchObject({
        GroupName: 'Admins',
        Path: '/ops/',
        Arn: `arn:aws:iam::${ACCOUNT}:group/ops/Admins`,
      });
      expect(group.Users?.map((u) => u.UserName)).toEqual(['ana', 'cy']);
      expect(group.Users?.[0]).toMatchObject({
        Arn: `arn:aws:iam::${ACCOUNT}:user/ana`,
        UserId: expect.any(String),
      });
      expect(group.IsTruncated).toBe(false);
      expect(anaGroups.Groups?.map((g) => g.GroupName)).toEqual(['Admins', 'readers']);
      expect(boGroups.Groups).toEqual([]);
      expect(iam.server.getGroupMembers('admins')).toEqual(['ana', 'cy']);
      expect(iam.server.state.users.find((u) => u.name === 'ana')?.groups).toEqual(['Admins', 'readers']);
      expect(iam.server.state.groups.find((g) => g.name === 'Admins')?.members).toEqual(['ana', 'cy']);
    });

    it('pages the members of GetGroup with MaxItems/Marker and the SDK paginator', async () => {
      // Prepare
      for (const user of ['ana', 'bo', 'cy']) {
        await iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: user }));
      }

      // Act
      const first = await iam.client.send(new GetGroupCommand({ GroupName: 'Admins', MaxItems: 2 }));
      const second = await iam.client.send(
        new GetGroupCommand({ GroupName: 'Admins', MaxItems: 2, Marker: first.Marker }),
      );
      const viaPaginator: string[] = [];
      for await (const page of paginateGetGroup(
        { client: iam.client, pageSize: 1 },
        { GroupName: 'Admins' },
      )) {
        viaPaginator.push(...(page.Users ?? []).map((u) => u.UserName ?? ''));
      }

      // Assess
      expect(first.Users?.map((u) => u.UserName)).toEqual(['ana', 'bo']);
      expect(first.IsTruncated).toBe(true);
      expect(second.Users?.map((u) => u.UserName)).toEqual(['cy']);
      expect(second.IsTruncated).toBe(false);
      expect(viaPaginator).toEqual(['ana', 'bo', 'cy']);
    });

    it('removes users from groups; removing a non-member succeeds without change, as IAM answers', async () => {
      // Prepare
      await iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'ana' }));

      // Act
      await iam.client.send(new RemoveUserFromGroupCommand({ GroupName: 'Admins', UserName: 'ana' }));
      await iam.client.send(new RemoveUserFromGroupCommand({ GroupName: 'Admins', UserName: 'bo' }));

      // Assess
      expect(iam.server.getGroupMembers('Admins')).toEqual([]);
      expect(iam.server.getGroupsForUser('ana')).toEqual([]);
    });

    it.each([
      {
        label: 'AddUserToGroup of an unknown user',
        act: () => iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'ghost' })),
        message: 'The user with name ghost cannot be found.',
      },
      {
        label: 'AddUserToGroup to an unknown group',
        act: () => iam.client.send(new AddUserToGroupCommand({ GroupName: 'ghosts', UserName: 'ana' })),
        message: 'The group with name ghosts cannot be found.',
      },
      {
        label: 'RemoveUserFromGroup of an unknown user',
        act: () =>
          iam.client.send(new RemoveUserFromGroupCommand({ GroupName: 'Admins', UserName: 'ghost' })),
        message: 'The user with name ghost cannot be found.',
      },
      {
        label: 'ListGroupsForUser of an unknown user',
        act: () => iam.client.send(new ListGroupsForUserCommand({ UserName: 'ghost' })),
        message: 'The user with name ghost cannot be found.',
      },
    ])('$label fails with NoSuchEntity', async ({ act, message }) => {
      // Act
      const error = await failure(act());

      // Assess
      expect(error).toBeInstanceOf(NoSuchEntityException);
      expect(error.message).toBe(message);
    });

    it('refuses to delete a group with members or a user in a group (DeleteConflict), then deletes both', async () => {
      // Prepare
      await iam.client.send(new AddUserToGroupCommand({ GroupName: 'readers', UserName: 'bo' }));
      const before = iam.server.state;

      // Act
      const groupError = await failure(iam.client.send(new DeleteGroupCommand({ GroupName: 'readers' })));
      const userError = await failure(iam.client.send(new DeleteUserCommand({ UserName: 'bo' })));
      const unchanged = iam.server.state;
      await iam.client.send(new RemoveUserFromGroupCommand({ GroupName: 'readers', UserName: 'bo' }));
      await iam.client.send(new DeleteGroupCommand({ GroupName: 'readers' }));
      await iam.client.send(new DeleteUserCommand({ UserName: 'bo' }));

      // Assess
      for (const error of [groupError, userError]) {
        expect(error).toBeInstanceOf(DeleteConflictException);
        expect(error.$metadata.httpStatusCode).toBe(409);
        expect(error.message).toBe('Cannot delete entity, must remove users from group first.');
      }
      expect(unchanged).toEqual(before);
      expect(iam.server.state.groups.map((g) => g.name)).toEqual(['Admins']);
      expect(iam.server.state.users.map((u) => u.name)).toEqual(['ana', 'cy']);
    });

    it('limits a user to 10 groups', async () => {
      // Prepare
      for (let i = 1; i <= 10; i += 1) {
        await iam.client.send(new CreateGroupCommand({ GroupName: `g${i}` }));
        await iam.client.send(new AddUserToGroupCommand({ GroupName: `g${i}`, UserName: 'cy' }));
      }

      // Act
      const error = await failure(
        iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'cy' })),
      );

      // Assess
      expect(error).toBeInstanceOf(LimitExceededException);
      expect(error.message).toBe('Cannot exceed quota for GroupsPerUser: 10');
      expect(iam.server.getGroupsForUser('cy')).toHaveLength(10);
    });

    it('records each membership write as CloudTrail does, failed ones with errorCode', async () => {
      // Prepare
      const seeded = iam.server.events.length;

      // Act
      await iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'ana' }));
      await iam.client.send(new RemoveUserFromGroupCommand({ GroupName: 'Admins', UserName: 'ana' }));
      await failure(iam.client.send(new AddUserToGroupCommand({ GroupName: 'Admins', UserName: 'ghost' })));
      await iam.client.send(new GetGroupCommand({ GroupName: 'Admins' }));

      // Assess
      expect(
        iam.server.events
          .slice(seeded)
          .map((e) => [
            e.detail.eventName,
            e.detail.requestParameters,
            e.detail.errorCode,
            e.detail.responseElements,
          ]),
      ).toEqual([
        ['AddUserToGroup', { groupName: 'Admins', userName: 'ana' }, undefined, null],
        ['RemoveUserFromGroup', { groupName: 'Admins', userName: 'ana' }, undefined, null],
        ['AddUserToGroup', { groupName: 'Admins', userName: 'ghost' }, 'NoSuchEntityException', null],
      ]);
    });
  });

  describe('permissions boundaries', () => {
    let boundary: string;

    beforeEach(async () => {
      boundary = await createPolicy('boundary');
      await iam.client.send(
        new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: trustPolicy() }),
      );
      await iam.client.send(new CreateUserCommand({ UserName: 'dev' }));
    });

    it('puts, shows, counts and deletes boundaries on roles and users', async () => {
      // Act
      await iam.client.send(
        new PutRolePermissionsBoundaryCommand({ RoleName: 'APP', PermissionsBoundary: boundary }),
      );
      await iam.client.send(
        new PutUserPermissionsBoundaryCommand({ UserName: 'dev', PermissionsBoundary: boundary }),
      );
      const role = await iam.client.send(new GetRoleCommand({ RoleName: 'app' }));
      const user = await iam.client.send(new GetUserCommand({ UserName: 'dev' }));
      const policy = await iam.client.send(new GetPolicyCommand({ PolicyArn: boundary }));
      const listedRoles = await iam.client.send(new ListRolesCommand({}));
      await iam.client.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'app' }));
      await iam.client.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'dev' }));
      const roleAfter = await iam.client.send(new GetRoleCommand({ RoleName: 'app' }));
      const policyAfter = await iam.client.send(new GetPolicyCommand({ PolicyArn: boundary }));

      // Assess
      const expected = {
        PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
        PermissionsBoundaryArn: boundary,
      };
      expect(role.Role?.PermissionsBoundary).toEqual(expected);
      expect(user.User?.PermissionsBoundary).toEqual(expected);
      expect(policy.Policy).toMatchObject({ AttachmentCount: 0, PermissionsBoundaryUsageCount: 2 });
      // ListRoles does not return boundaries, as IAM documents.
      expect(listedRoles.Roles?.[0]?.PermissionsBoundary).toBeUndefined();
      expect(roleAfter.Role?.PermissionsBoundary).toBeUndefined();
      expect(policyAfter.Policy?.PermissionsBoundaryUsageCount).toBe(0);
      expect(iam.server.getPermissionsBoundary('role', 'app')).toBeUndefined();
    });

    it('accepts an AWS managed policy as boundary, and one at creation', async () => {
      // Prepare
      const aws = iam.server.addAwsManagedPolicy('PowerUserAccess', BOUNDARY_DOCUMENT);

      // Act
      await iam.client.send(
        new CreateRoleCommand({
          RoleName: 'bounded',
          AssumeRolePolicyDocument: trustPolicy(),
          PermissionsBoundary: aws.arn,
        }),
      );
      await iam.client.send(new CreateUserCommand({ UserName: 'intern', PermissionsBoundary: boundary }));

      // Assess
      expect(iam.server.getPermissionsBoundary('role', 'bounded')).toBe(aws.arn);
      expect(iam.server.state.users.find((u) => u.name === 'intern')?.permissionsBoundaryArn).toBe(boundary);
      expect(iam.server.getPolicy(aws.arn)?.permissionsBoundaryUsageCount).toBe(1);
      expect(iam.server.events.at(-2)?.detail.responseElements).toMatchObject({
        role: {
          permissionsBoundary: {
            permissionsBoundaryType: 'PermissionsBoundaryPolicy',
            permissionsBoundaryArn: aws.arn,
          },
        },
      });
    });

    it('refuses a boundary that is not an existing policy, and a policy in use as a boundary cannot be deleted', async () => {
      // Prepare
      const missing = `arn:aws:iam::${ACCOUNT}:policy/missing`;
      await iam.client.send(
        new PutRolePermissionsBoundaryCommand({ RoleName: 'app', PermissionsBoundary: boundary }),
      );

      // Act
      const unknown = await failure(
        iam.client.send(
          new PutUserPermissionsBoundaryCommand({ UserName: 'dev', PermissionsBoundary: missing }),
        ),
      );
      const notArn = await failure(
        iam.client.send(
          new PutRolePermissionsBoundaryCommand({
            RoleName: 'app',
            PermissionsBoundary: 'policy/not-an-arn-but-long-enough',
          }),
        ),
      );
      const atCreation = await failure(
        iam.client.send(
          new CreateRoleCommand({
            RoleName: 'x',
            AssumeRolePolicyDocument: trustPolicy(),
            PermissionsBoundary: missing,
          }),
        ),
      );
      const noRole = await failure(
        iam.client.send(
          new PutRolePermissionsBoundaryCommand({ RoleName: 'ghost', PermissionsBoundary: boundary }),
        ),
      );
      const inUse = await failure(iam.client.send(new DeletePolicyCommand({ PolicyArn: boundary })));

      // Assess
      expect(unknown).toBeInstanceOf(NoSuchEntityException);
      expect(unknown.message).toBe(`Scope ARN: ${missing} does not exist or is not attachable.`);
      expect(atCreation).toBeInstanceOf(NoSuchEntityException);
      expect(notArn).toBeInstanceOf(InvalidInputException);
      expect(notArn.message).toBe('ARN policy/not-an-arn-but-long-enough is not valid.');
      expect(noRole.message).toBe('The role with name ghost cannot be found.');
      expect(inUse).toBeInstanceOf(DeleteConflictException);
      expect(inUse.message).toBe('Cannot delete a policy attached to entities.');
      expect(iam.server.state.roles.map((r) => r.name)).toEqual(['app']);
      expect(iam.server.getPermissionsBoundary('user', 'dev')).toBeUndefined();
    });

    it('lists the entities of a policy by usage', async () => {
      // Prepare
      await iam.client.send(
        new PutRolePermissionsBoundaryCommand({ RoleName: 'app', PermissionsBoundary: boundary }),
      );
      await iam.client.send(
        new CreateRoleCommand({ RoleName: 'worker', AssumeRolePolicyDocument: trustPolicy() }),
      );
      await iam.client.send(new AttachRolePolicyCommand({ RoleName: 'worker', PolicyArn: boundary }));

      // Act
      const asBoundary = await iam.client.send(
        new ListEntitiesForPolicyCommand({ PolicyArn: boundary, PolicyUsageFilter: 'PermissionsBoundary' }),
      );
      const asPolicy = await iam.client.send(
        new ListEntitiesForPolicyCommand({ PolicyArn: boundary, PolicyUsageFilter: 'PermissionsPolicy' }),
      );
      const any = await iam.client.send(new ListEntitiesForPolicyCommand({ PolicyArn: boundary }));

      // Assess
      expect(asBoundary.PolicyRoles?.map((r) => r.RoleName)).toEqual(['app']);
      expect(asPolicy.PolicyRoles?.map((r) => r.RoleName)).toEqual(['worker']);
      expect(any.PolicyRoles?.map((r) => r.RoleName)).toEqual(['app', 'worker']);
    });

    it('records boundary writes with CloudTrail’s requestParameters', async () => {
      // Prepare
      const seeded = iam.server.events.length;

      // Act
      await iam.client.send(
        new PutRolePermissionsBoundaryCommand({ RoleName: 'app', PermissionsBoundary: boundary }),
      );
      await iam.client.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: 'app' }));
      await iam.client.send(
        new PutUserPermissionsBoundaryCommand({ UserName: 'dev', PermissionsBoundary: boundary }),
      );
      await iam.client.send(new DeleteUserPermissionsBoundaryCommand({ UserName: 'dev' }));

      // Assess
      expect(
        iam.server.events.slice(seeded).map((e) => [e.detail.eventName, e.detail.requestParameters]),
      ).toEqual([
        ['PutRolePermissionsBoundary', { roleName: 'app', permissionsBoundary: boundary }],
        ['DeleteRolePermissionsBoundary', { roleName: 'app' }],
        ['PutUserPermissionsBoundary', { userName: 'dev', permissionsBoundary: boundary }],
        ['DeleteUserPermissionsBoundary', { userName: 'dev' }],
      ]);
    });
  });

  describe('UpdateAssumeRolePolicy', () => {
    beforeEach(async () => {
      await iam.client.send(
        new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: trustPolicy() }),
      );
    });

    it('replaces the trust policy and records the call', async () => {
      // Prepare
      const replacement = trustPolicy('states.amazonaws.com');

      // Act
      await iam.client.send(
        new UpdateAssumeRolePolicyCommand({ RoleName: 'App', PolicyDocument: replacement }),
      );
      const role = await iam.client.send(new GetRoleCommand({ RoleName: 'app' }));

      // Assess
      expect(decodeURIComponent(role.Role?.AssumeRolePolicyDocument ?? '')).toBe(replacement);
      expect(iam.server.state.roles[0]?.assumeRolePolicyDocument).toBe(replacement);
      expect(iam.server.events.at(-1)?.detail).toMatchObject({
        eventName: 'UpdateAssumeRolePolicy',
        requestParameters: { roleName: 'App', policyDocument: replacement },
        responseElements: null,
      });
    });

    it.each([
      {
        label: 'a document without a principal (an identity policy)',
        document: BOUNDARY_DOCUMENT,
        error: MalformedPolicyDocumentException,
        message: 'AssumeRolepolicy contained an invalid principal.',
        errorCode: 'MalformedPolicyDocumentException',
      },
      {
        label: 'text that is not JSON',
        document: '{',
        error: MalformedPolicyDocumentException,
        message: 'Syntax errors in policy.',
        errorCode: 'MalformedPolicyDocumentException',
      },
      {
        label: 'a trust policy over 2,048 characters',
        document: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: {
                AWS: Array.from({ length: 60 }, (_, i) => `arn:aws:iam::${String(i).padStart(12, '0')}:root`),
              },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
        error: LimitExceededException,
        message: 'Cannot exceed quota for ACLSizePerRole: 2048',
        errorCode: 'LimitExceededException',
      },
    ])('refuses $label', async ({ document, error, message, errorCode }) => {
      // Prepare
      const before = iam.server.state;

      // Act
      const thrown = await failure(
        iam.client.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'app', PolicyDocument: document })),
      );

      // Assess
      expect(thrown).toBeInstanceOf(error);
      expect(thrown.message).toBe(message);
      expect(iam.server.state).toEqual(before);
      expect(iam.server.events.at(-1)?.detail.errorCode).toBe(errorCode);
    });

    it('fails with NoSuchEntity for an unknown role', async () => {
      // Act
      const error = await failure(
        iam.client.send(
          new UpdateAssumeRolePolicyCommand({ RoleName: 'ghost', PolicyDocument: trustPolicy() }),
        ),
      );

      // Assess
      expect(error).toBeInstanceOf(NoSuchEntityException);
    });
  });

  describe('ListRoles, ListUsers, ListGroups', () => {
    it('lists by path prefix, pages, and leaves out what IAM leaves out', async () => {
      // Prepare
      await iam.client.send(
        new CreateRoleCommand({
          RoleName: 'a',
          Path: '/svc/',
          AssumeRolePolicyDocument: trustPolicy(),
          Description: 'first',
          Tags: [{ Key: 'team', Value: 'sec' }],
        }),
      );
      await iam.client.send(
        new CreateRoleCommand({ RoleName: 'b', AssumeRolePolicyDocument: trustPolicy() }),
      );
      await iam.client.send(
        new CreateUserCommand({ UserName: 'u1', Path: '/people/', Tags: [{ Key: 'k', Value: 'v' }] }),
      );
      await iam.client.send(new CreateUserCommand({ UserName: 'u2' }));
      await iam.client.send(new CreateGroupCommand({ GroupName: 'g1', Path: '/people/' }));

      // Act
      const roles = await iam.client.send(new ListRolesCommand({}));
      const svcRoles = await iam.client.send(new ListRolesCommand({ PathPrefix: '/svc' }));
      const firstUsers = await iam.client.send(new ListUsersCommand({ MaxItems: 1 }));
      const moreUsers = await iam.client.send(
        new ListUsersCommand({ MaxItems: 1, Marker: firstUsers.Marker }),
      );
      const people = await iam.client.send(new ListGroupsCommand({ PathPrefix: '/people/' }));

      // Assess
      expect(roles.Roles?.map((r) => r.RoleName)).toEqual(['a', 'b']);
      expect(roles.Roles?.[0]).toMatchObject({
        Path: '/svc/',
        Description: 'first',
        MaxSessionDuration: 3600,
      });
      expect(decodeURIComponent(roles.Roles?.[0]?.AssumeRolePolicyDocument ?? '')).toBe(trustPolicy());
      expect(roles.Roles?.[0]?.Tags).toBeUndefined();
      expect(svcRoles.Roles?.map((r) => r.RoleName)).toEqual(['a']);
      expect(firstUsers.Users?.map((u) => u.UserName)).toEqual(['u1']);
      expect(firstUsers.Users?.[0]?.Tags).toBeUndefined();
      expect(firstUsers.IsTruncated).toBe(true);
      expect(moreUsers.Users?.map((u) => u.UserName)).toEqual(['u2']);
      expect(people.Groups?.map((g) => g.GroupName)).toEqual(['g1']);
    });
  });
});
