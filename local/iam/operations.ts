import { GET_ACCOUNT_AUTHORIZATION_DETAILS } from './authorization-details';
import { formatResponseDate } from './cloudtrail';
import { IamError } from './errors';
import { type Input, type InputSpec, type MemberSpec, SHAPES } from './grammar';
import {
  callerArn,
  ID_ELEMENT,
  NAME_ELEMENT,
  type OperationSpec,
  pageXml,
  paginate,
  policyXml,
  principalResponseElements,
  principalXml,
  versionXml,
} from './operation-kit';
import { IamState, type PolicyUsage, type PrincipalKind, type Tag } from './state';
import { encodePolicyDocument, type XmlValue } from './xml';

export type { OperationContext, OperationOutcome, OperationSpec } from './operation-kit';

const required = (shape: MemberSpec['shape']): MemberSpec => ({ shape, required: true });
const optional = (shape: MemberSpec['shape']): MemberSpec => ({ shape });
const PAGING: InputSpec = { Marker: optional(SHAPES.markerType), MaxItems: optional(SHAPES.maxItemsType) };

type Title = 'Role' | 'User' | 'Group';

/**
 * The name member of each kind of principal, per call family. Users differ: a call on an existing user accepts
 * names up to 128 characters, while CreateUser, the attachment calls and the boundary calls stop at 64.
 */
const PRINCIPAL_NAME: Readonly<Record<PrincipalKind, { existing: MemberSpec; strict: MemberSpec }>> = {
  role: { existing: required(SHAPES.roleNameType), strict: required(SHAPES.roleNameType) },
  user: { existing: required(SHAPES.existingUserNameType), strict: required(SHAPES.userNameType) },
  group: { existing: required(SHAPES.groupNameType), strict: required(SHAPES.groupNameType) },
};

/** The inline-policy, attachment, create and delete calls, which IAM spells the same way for the three kinds. */
function principalOperations(kind: PrincipalKind, title: Title): Record<string, OperationSpec> {
  const nameParam = NAME_ELEMENT[kind];
  const existing = { [nameParam]: PRINCIPAL_NAME[kind].existing };
  const strict = { [nameParam]: PRINCIPAL_NAME[kind].strict };
  const inline = { ...existing, PolicyName: required(SHAPES.policyNameType) };
  return {
    [`Put${title}Policy`]: {
      readOnly: false,
      input: { ...inline, PolicyDocument: required(SHAPES.policyDocumentType) },
      run: ({ input, state }) => {
        state.putInlinePolicy(
          kind,
          input.string(nameParam),
          input.string('PolicyName'),
          input.string('PolicyDocument'),
        );
        return { responseElements: null };
      },
    },
    [`Get${title}Policy`]: {
      readOnly: true,
      input: inline,
      run: ({ input, state, document }) => {
        const principalName = input.string(nameParam);
        const policyName = input.string('PolicyName');
        const text = state.getInlinePolicy(kind, principalName, policyName);
        return {
          result: {
            [nameParam]: state.getPrincipal(kind, principalName).name,
            PolicyName: policyName,
            PolicyDocument: document(text),
          },
          responseElements: null,
        };
      },
    },
    [`Delete${title}Policy`]: {
      readOnly: false,
      input: inline,
      run: ({ input, state }) => {
        state.deleteInlinePolicy(kind, input.string(nameParam), input.string('PolicyName'));
        return { responseElements: null };
      },
    },
    [`List${title}Policies`]: {
      readOnly: true,
      input: { ...existing, ...PAGING },
      run: ({ input, state }) => {
        const names = state.listInlinePolicies(kind, input.string(nameParam));
        return {
          result: pageXml('PolicyNames', paginate(names, input), (name) => name),
          responseElements: null,
        };
      },
    },
    [`Attach${title}Policy`]: {
      readOnly: false,
      input: { ...strict, PolicyArn: required(SHAPES.arnType) },
      run: ({ input, state }) => {
        state.attachPolicy(kind, input.string(nameParam), input.string('PolicyArn'));
        return { responseElements: null };
      },
    },
    [`Detach${title}Policy`]: {
      readOnly: false,
      input: { ...strict, PolicyArn: required(SHAPES.arnType) },
      run: ({ input, state }) => {
        state.detachPolicy(kind, input.string(nameParam), input.string('PolicyArn'));
        return { responseElements: null };
      },
    },
    [`ListAttached${title}Policies`]: {
      readOnly: true,
      input: { ...strict, PathPrefix: optional(SHAPES.policyPathType), ...PAGING },
      run: ({ input, state }) => {
        const prefix = input.optionalString('PathPrefix') ?? '/';
        const policies = state
          .listAttachedPolicies(kind, input.string(nameParam))
          .filter((policy) => policy.path.startsWith(prefix));
        return {
          result: pageXml('AttachedPolicies', paginate(policies, input), (policy) => ({
            PolicyName: policy.name,
            PolicyArn: policy.arn,
          })),
          responseElements: null,
        };
      },
    },
    [`Create${title}`]: {
      readOnly: false,
      input: CREATE_INPUT[kind],
      run: ({ input, state, document }) => {
        const principal = state.createPrincipal(kind, {
          name: input.string(nameParam),
          path: input.optionalString('Path') ?? '/',
          description: input.optionalString('Description'),
          tags: tagsOf(input),
          assumeRolePolicyDocument: input.optionalString('AssumeRolePolicyDocument'),
          maxSessionDuration: input.integer('MaxSessionDuration'),
          permissionsBoundary: input.optionalString('PermissionsBoundary'),
        });
        return {
          result: { [title]: principalXml(principal, 'create', document) },
          responseElements: principalResponseElements(principal, encodePolicyDocument),
        };
      },
    },
    [`Delete${title}`]: {
      readOnly: false,
      input: existing,
      run: ({ input, state }) => {
        state.deletePrincipal(kind, input.string(nameParam));
        return { responseElements: null };
      },
    },
    [`List${title}s`]: {
      readOnly: true,
      // ListRoles/ListUsers/ListGroups leave out PermissionsBoundary, Tags and RoleLastUsed, as IAM documents.
      input: { PathPrefix: optional(SHAPES.pathPrefixType), ...PAGING },
      run: ({ input, state, document }) => {
        const prefix = input.optionalString('PathPrefix') ?? '/';
        const principals = state.listPrincipals(kind).filter((p) => p.path.startsWith(prefix));
        return {
          result: pageXml(`${title}s`, paginate(principals, input), (p) => principalXml(p, 'list', document)),
          responseElements: null,
        };
      },
    },
  };
}

/** Create calls' inputs, in the model's member order. Groups take neither tags nor a boundary. */
const CREATE_INPUT: Readonly<Record<PrincipalKind, InputSpec>> = {
  role: {
    Path: optional(SHAPES.pathType),
    RoleName: required(SHAPES.roleNameType),
    AssumeRolePolicyDocument: required(SHAPES.policyDocumentType),
    Description: optional(SHAPES.roleDescriptionType),
    MaxSessionDuration: optional(SHAPES.roleMaxSessionDurationType),
    PermissionsBoundary: optional(SHAPES.arnType),
    Tags: optional(SHAPES.tagListType),
  },
  user: {
    Path: optional(SHAPES.pathType),
    UserName: required(SHAPES.userNameType),
    PermissionsBoundary: optional(SHAPES.arnType),
    Tags: optional(SHAPES.tagListType),
  },
  group: {
    Path: optional(SHAPES.pathType),
    GroupName: required(SHAPES.groupNameType),
  },
};

function boundaryOperations(kind: 'role' | 'user', title: 'Role' | 'User'): Record<string, OperationSpec> {
  const nameParam = NAME_ELEMENT[kind];
  const name = { [nameParam]: PRINCIPAL_NAME[kind].strict };
  return {
    [`Put${title}PermissionsBoundary`]: {
      readOnly: false,
      input: { ...name, PermissionsBoundary: required(SHAPES.arnType) },
      run: ({ input, state }) => {
        state.putPermissionsBoundary(kind, input.string(nameParam), input.string('PermissionsBoundary'));
        return { responseElements: null };
      },
    },
    [`Delete${title}PermissionsBoundary`]: {
      readOnly: false,
      input: name,
      run: ({ input, state }) => {
        state.deletePermissionsBoundary(kind, input.string(nameParam));
        return { responseElements: null };
      },
    },
  };
}

const POLICY_ARN: InputSpec = { PolicyArn: required(SHAPES.arnType) };
const POLICY_VERSION: InputSpec = { ...POLICY_ARN, VersionId: required(SHAPES.policyVersionIdType) };

/** A request's tags; IAM refuses two keys that differ only in case, after the grammar checks. */
function tagsOf(input: Input): Tag[] {
  const tags = input.tags();
  const keys = new Set(tags.map((tag) => tag.key.toLowerCase()));
  if (keys.size < tags.length) {
    throw new IamError(
      'InvalidInput',
      'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
    );
  }
  return tags;
}

/** The policy ARN of a request, syntactically checked as IAM does after the grammar (`InvalidInput`). */
function policyArnOf(input: Input): string {
  const arn = input.string('PolicyArn');
  IamState.assertPolicyArn(arn);
  return arn;
}

const POLICY_OPERATIONS = {
  CreatePolicy: {
    readOnly: false,
    input: {
      PolicyName: required(SHAPES.policyNameType),
      Path: optional(SHAPES.policyPathType),
      PolicyDocument: required(SHAPES.policyDocumentType),
      Description: optional(SHAPES.policyDescriptionType),
      Tags: optional(SHAPES.tagListType),
    },
    run: ({ input, state }) => {
      const policy = state.createPolicy({
        name: input.string('PolicyName'),
        path: input.optionalString('Path') ?? '/',
        document: input.string('PolicyDocument'),
        description: input.optionalString('Description'),
        tags: tagsOf(input),
      });
      return {
        result: { Policy: policyXml(state, policy, true) },
        responseElements: {
          policy: {
            policyName: policy.name,
            policyId: policy.policyId,
            arn: policy.arn,
            path: policy.path,
            defaultVersionId: policy.defaultVersionId,
            attachmentCount: 0,
            permissionsBoundaryUsageCount: 0,
            isAttachable: true,
            createDate: formatResponseDate(policy.createDate),
            updateDate: formatResponseDate(policy.updateDate),
          },
        },
      };
    },
  },
  GetPolicy: {
    readOnly: true,
    input: POLICY_ARN,
    run: ({ input, state }) => ({
      result: { Policy: policyXml(state, state.getPolicy(policyArnOf(input)), true) },
      responseElements: null,
    }),
  },
  DeletePolicy: {
    readOnly: false,
    input: POLICY_ARN,
    run: ({ input, state, caller }) => {
      state.deletePolicy(policyArnOf(input), callerArn(caller));
      return { responseElements: null };
    },
  },
  ListPolicies: {
    readOnly: true,
    input: {
      Scope: optional(SHAPES.policyScopeType),
      OnlyAttached: optional(SHAPES.booleanType),
      PathPrefix: optional(SHAPES.policyPathType),
      PolicyUsageFilter: optional(SHAPES.PolicyUsageType),
      ...PAGING,
    },
    run: ({ input, state }) => {
      const scope = input.optionalString('Scope') ?? 'All';
      const onlyAttached = input.boolean('OnlyAttached') ?? false;
      const prefix = input.optionalString('PathPrefix') ?? '/';
      const usage = input.optionalString('PolicyUsageFilter');
      const policies = state
        .listPolicies()
        .filter((p) => scope === 'All' || (scope === 'AWS') === p.awsManaged)
        .filter((p) => !onlyAttached || state.attachmentCount(p.arn) > 0)
        .filter((p) => usage !== 'PermissionsBoundary' || state.boundaryUsageCount(p.arn) > 0)
        .filter((p) => p.path.startsWith(prefix));
      return {
        result: pageXml('Policies', paginate(policies, input), (p) => policyXml(state, p, false)),
        responseElements: null,
      };
    },
  },
  CreatePolicyVersion: {
    readOnly: false,
    input: {
      ...POLICY_ARN,
      PolicyDocument: required(SHAPES.policyDocumentType),
      SetAsDefault: optional(SHAPES.booleanType),
    },
    run: ({ input, state, caller }) => {
      const arn = policyArnOf(input);
      const setAsDefault = input.boolean('SetAsDefault') ?? false;
      const version = state.createPolicyVersion(
        arn,
        input.string('PolicyDocument'),
        setAsDefault,
        callerArn(caller),
      );
      const policy = state.getPolicy(arn);
      return {
        result: { PolicyVersion: versionXml(policy, version, undefined) },
        responseElements: {
          policyVersion: {
            versionId: version.versionId,
            isDefaultVersion: version.versionId === policy.defaultVersionId,
            createDate: formatResponseDate(version.createDate),
          },
        },
      };
    },
  },
  GetPolicyVersion: {
    readOnly: true,
    input: POLICY_VERSION,
    run: ({ input, state, document }) => {
      const arn = policyArnOf(input);
      const version = state.getPolicyVersion(arn, input.string('VersionId'));
      return {
        result: { PolicyVersion: versionXml(state.getPolicy(arn), version, document) },
        responseElements: null,
      };
    },
  },
  ListPolicyVersions: {
    readOnly: true,
    input: { ...POLICY_ARN, ...PAGING },
    run: ({ input, state }) => {
      const arn = policyArnOf(input);
      const policy = state.getPolicy(arn);
      const versions = state.listPolicyVersions(arn);
      return {
        result: pageXml('Versions', paginate(versions, input), (v) => versionXml(policy, v, undefined)),
        responseElements: null,
      };
    },
  },
  SetDefaultPolicyVersion: {
    readOnly: false,
    input: POLICY_VERSION,
    run: ({ input, state, caller }) => {
      state.setDefaultPolicyVersion(policyArnOf(input), input.string('VersionId'), callerArn(caller));
      return { responseElements: null };
    },
  },
  DeletePolicyVersion: {
    readOnly: false,
    input: POLICY_VERSION,
    run: ({ input, state, caller }) => {
      state.deletePolicyVersion(policyArnOf(input), input.string('VersionId'), callerArn(caller));
      return { responseElements: null };
    },
  },
  ListEntitiesForPolicy: {
    readOnly: true,
    input: {
      ...POLICY_ARN,
      EntityFilter: optional(SHAPES.EntityType),
      // The model gives this PathPrefix the principals' `pathType`, unlike the other policy calls.
      PathPrefix: optional(SHAPES.pathType),
      PolicyUsageFilter: optional(SHAPES.PolicyUsageType),
      ...PAGING,
    },
    run: ({ input, state }) => {
      const filter = input.optionalString('EntityFilter');
      const prefix = input.optionalString('PathPrefix') ?? '/';
      const usage = input.optionalString('PolicyUsageFilter') as PolicyUsage | undefined;
      const entities = state
        .entitiesForPolicy(policyArnOf(input), usage)
        .filter((p) => filter === undefined || filter.toLowerCase() === p.kind)
        .filter((p) => p.path.startsWith(prefix));
      const page = paginate(entities, input);
      const of = (kind: PrincipalKind): XmlValue =>
        page.items
          .filter((p) => p.kind === kind)
          .map((p) => ({ [NAME_ELEMENT[kind]]: p.name, [ID_ELEMENT[kind]]: p.id }));
      return {
        result: {
          PolicyGroups: of('group'),
          PolicyUsers: of('user'),
          PolicyRoles: of('role'),
          IsTruncated: page.isTruncated,
          Marker: page.marker,
        },
        responseElements: null,
      };
    },
  },
} satisfies Record<string, OperationSpec>;

const PRINCIPAL_READS = {
  GetRole: {
    readOnly: true,
    input: { RoleName: required(SHAPES.roleNameType) },
    run: ({ input, state, document }) => ({
      result: { Role: principalXml(state.getPrincipal('role', input.string('RoleName')), 'get', document) },
      responseElements: null,
    }),
  },
  GetUser: {
    readOnly: true,
    input: { UserName: optional(SHAPES.existingUserNameType) },
    run: ({ input, state, caller, document }) => {
      // Without UserName, IAM answers for the calling user, which only works with user credentials.
      const name =
        input.optionalString('UserName') ?? (caller.type === 'IAMUser' ? caller.userName : undefined);
      if (name === undefined) {
        throw new IamError('ValidationError', 'Must specify userName when calling with non-User credentials');
      }
      return {
        result: { User: principalXml(state.getPrincipal('user', name), 'get', document) },
        responseElements: null,
      };
    },
  },
  GetGroup: {
    readOnly: true,
    input: { GroupName: required(SHAPES.groupNameType), ...PAGING },
    run: ({ input, state, document }) => {
      const group = state.getPrincipal('group', input.string('GroupName'));
      const page = paginate(state.groupMembers(group.name), input);
      return {
        result: {
          Group: principalXml(group, 'list', document),
          Users: page.items.map((user) => principalXml(user, 'list', document)),
          IsTruncated: page.isTruncated,
          Marker: page.marker,
        },
        responseElements: null,
      };
    },
  },
} satisfies Record<string, OperationSpec>;

const MEMBERSHIP_OPERATIONS = {
  AddUserToGroup: {
    readOnly: false,
    input: { GroupName: required(SHAPES.groupNameType), UserName: required(SHAPES.existingUserNameType) },
    run: ({ input, state }) => {
      state.addUserToGroup(input.string('GroupName'), input.string('UserName'));
      return { responseElements: null };
    },
  },
  RemoveUserFromGroup: {
    readOnly: false,
    input: { GroupName: required(SHAPES.groupNameType), UserName: required(SHAPES.existingUserNameType) },
    run: ({ input, state }) => {
      state.removeUserFromGroup(input.string('GroupName'), input.string('UserName'));
      return { responseElements: null };
    },
  },
  ListGroupsForUser: {
    readOnly: true,
    input: { UserName: required(SHAPES.existingUserNameType), ...PAGING },
    run: ({ input, state, document }) => {
      const groups = state.groupsForUser(input.string('UserName'));
      return {
        result: pageXml('Groups', paginate(groups, input), (g) => principalXml(g, 'list', document)),
        responseElements: null,
      };
    },
  },
  UpdateAssumeRolePolicy: {
    readOnly: false,
    input: { RoleName: required(SHAPES.roleNameType), PolicyDocument: required(SHAPES.policyDocumentType) },
    run: ({ input, state }) => {
      state.updateAssumeRolePolicy(input.string('RoleName'), input.string('PolicyDocument'));
      return { responseElements: null };
    },
  },
} satisfies Record<string, OperationSpec>;

/** Names of the IAM actions the stand-in implements. */
export const IAM_OPERATION_NAMES = [
  'CreatePolicy',
  'GetPolicy',
  'DeletePolicy',
  'ListPolicies',
  'CreatePolicyVersion',
  'GetPolicyVersion',
  'ListPolicyVersions',
  'SetDefaultPolicyVersion',
  'DeletePolicyVersion',
  'ListEntitiesForPolicy',
  'CreateRole',
  'GetRole',
  'DeleteRole',
  'ListRoles',
  'UpdateAssumeRolePolicy',
  'CreateUser',
  'GetUser',
  'DeleteUser',
  'ListUsers',
  'CreateGroup',
  'GetGroup',
  'DeleteGroup',
  'ListGroups',
  'AddUserToGroup',
  'RemoveUserFromGroup',
  'ListGroupsForUser',
  'PutRolePermissionsBoundary',
  'DeleteRolePermissionsBoundary',
  'PutUserPermissionsBoundary',
  'DeleteUserPermissionsBoundary',
  'PutRolePolicy',
  'GetRolePolicy',
  'DeleteRolePolicy',
  'ListRolePolicies',
  'PutUserPolicy',
  'GetUserPolicy',
  'DeleteUserPolicy',
  'ListUserPolicies',
  'PutGroupPolicy',
  'GetGroupPolicy',
  'DeleteGroupPolicy',
  'ListGroupPolicies',
  'AttachRolePolicy',
  'DetachRolePolicy',
  'ListAttachedRolePolicies',
  'AttachUserPolicy',
  'DetachUserPolicy',
  'ListAttachedUserPolicies',
  'AttachGroupPolicy',
  'DetachGroupPolicy',
  'ListAttachedGroupPolicies',
  'GetAccountAuthorizationDetails',
] as const;

export type IamOperationName = (typeof IAM_OPERATION_NAMES)[number];

function buildOperations(): ReadonlyMap<IamOperationName, OperationSpec> {
  const specs: Record<string, OperationSpec> = {
    ...POLICY_OPERATIONS,
    ...PRINCIPAL_READS,
    ...MEMBERSHIP_OPERATIONS,
    ...principalOperations('role', 'Role'),
    ...principalOperations('user', 'User'),
    ...principalOperations('group', 'Group'),
    ...boundaryOperations('role', 'Role'),
    ...boundaryOperations('user', 'User'),
    GetAccountAuthorizationDetails: GET_ACCOUNT_AUTHORIZATION_DETAILS,
  };
  const operations = new Map<IamOperationName, OperationSpec>();
  for (const name of IAM_OPERATION_NAMES) {
    const spec = specs[name];
    if (spec === undefined) throw new Error(`local IAM: operation ${name} has no implementation`);
    operations.set(name, spec);
  }
  const extra = Object.keys(specs).filter((name) => !operations.has(name as IamOperationName));
  if (extra.length > 0) throw new Error(`local IAM: operations missing from IAM_OPERATION_NAMES: ${extra}`);
  return operations;
}

/** Every IAM action the stand-in answers, by Query API `Action` name. */
export const OPERATIONS: ReadonlyMap<IamOperationName, OperationSpec> = buildOperations();

/** Narrows a request's `Action` to an implemented operation. */
export function isIamOperationName(name: string): name is IamOperationName {
  return (IAM_OPERATION_NAMES as readonly string[]).includes(name);
}
