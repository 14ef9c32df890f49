import { formatResponseDate, type Identity } from './cloudtrail';
import { IamError, validationError } from './errors';
import {
  IamState,
  type ManagedPolicyRecord,
  type PolicyVersionRecord,
  type PrincipalKind,
  type PrincipalRecord,
  type Tag,
} from './state';
import { encodePolicyDocument, type XmlObject, type XmlValue } from './xml';

const NAME_PATTERN = /^[\w+=,.@-]+$/;
const PATH_PATTERN = /^(\/|\/[\u0021-\u007e]+\/)$/;
const VERSION_ID_PATTERN = /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/;

/** Typed access to the form parameters of one Query API request, failing with IAM's `ValidationError`. */
export class QueryParams {
  constructor(readonly raw: URLSearchParams) {}

  optional(name: string): string | undefined {
    return this.raw.get(name) ?? undefined;
  }

  required(name: string): string {
    const value = this.raw.get(name);
    if (value === null) throw validationError(lowerFirst(name), null, 'Member must not be null');
    return value;
  }

  /** A required IAM entity name with its length limit and `[\w+=,.@-]+` pattern. */
  name(name: string, maxLength: number): string {
    const value = this.required(name);
    checkName(lowerFirst(name), value, maxLength);
    return value;
  }

  path(name = 'Path'): string {
    const value = this.optional(name) ?? '/';
    if (value.length > 512 || !PATH_PATTERN.test(value)) {
      throw validationError(
        lowerFirst(name),
        value,
        'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
      );
    }
    return value;
  }

  policyArn(name = 'PolicyArn'): string {
    const value = this.required(name);
    if (value.length < 20 || value.length > 2048) {
      throw validationError(lowerFirst(name), value, 'Member must have length greater than or equal to 20');
    }
    IamState.assertPolicyArn(value);
    return value;
  }

  versionId(): string {
    const value = this.required('VersionId');
    if (!VERSION_ID_PATTERN.test(value)) {
      throw validationError(
        'versionId',
        value,
        'Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?',
      );
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') {
      throw validationError(lowerFirst(name), value, 'Member must be a boolean');
    }
    return value === 'true';
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) {
      throw validationError(
        lowerFirst(name),
        value,
        `Member must have value greater than or equal to ${min}`,
      );
    }
    if (parsed > max) {
      throw validationError(lowerFirst(name), value, `Member must have value less than or equal to ${max}`);
    }
    return parsed;
  }

  tags(): Tag[] {
    const tags: Tag[] = [];
    for (let index = 1; this.raw.has(`Tags.member.${index}.Key`); index += 1) {
      tags.push({
        key: this.raw.get(`Tags.member.${index}.Key`) ?? '',
        value: this.raw.get(`Tags.member.${index}.Value`) ?? '',
      });
    }
    return tags;
  }
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function checkName(field: string, value: string, maxLength: number): void {
  if (value.length < 1)
    throw validationError(field, value, 'Member must have length greater than or equal to 1');
  if (value.length > maxLength) {
    throw validationError(field, value, `Member must have length less than or equal to ${maxLength}`);
  }
  if (!NAME_PATTERN.test(value)) {
    throw validationError(field, value, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
  }
}

/** What an operation needs: the parsed parameters, the account state and who is calling. */
export interface OperationContext {
  params: QueryParams;
  state: IamState;
  caller: Identity;
}

export interface OperationOutcome {
  /** Body of `<ActionResult>`; absent for operations IAM answers with metadata only. */
  result?: XmlObject;
  /** CloudTrail `responseElements`; `null` when IAM records none. */
  responseElements: Record<string, unknown> | null;
}

export interface OperationSpec {
  readOnly: boolean;
  run(context: OperationContext): OperationOutcome;
}

// ---- rendering --------------------------------------------------------------------------------------------

function tagsXml(tags: readonly Tag[]): XmlValue {
  return tags.length === 0 ? undefined : tags.map((tag) => ({ Key: tag.key, Value: tag.value }));
}

function policyXml(state: IamState, policy: ManagedPolicyRecord, withDescription: boolean): XmlObject {
  return {
    PolicyName: policy.name,
    PolicyId: policy.policyId,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: state.attachmentCount(policy.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: withDescription ? policy.description : undefined,
    CreateDate: policy.createDate,
    UpdateDate: policy.updateDate,
    Tags: withDescription ? tagsXml(policy.tags) : undefined,
  };
}

function versionXml(
  policy: ManagedPolicyRecord,
  version: PolicyVersionRecord,
  withDocument: boolean,
): XmlObject {
  return {
    Document: withDocument ? encodePolicyDocument(version.document) : undefined,
    VersionId: version.versionId,
    IsDefaultVersion: version.versionId === policy.defaultVersionId,
    CreateDate: version.createDate,
  };
}

const NAME_ELEMENT: Readonly<Record<PrincipalKind, string>> = {
  role: 'RoleName',
  user: 'UserName',
  group: 'GroupName',
};
const ID_ELEMENT: Readonly<Record<PrincipalKind, string>> = {
  role: 'RoleId',
  user: 'UserId',
  group: 'GroupId',
};
const NAME_MAX_LENGTH: Readonly<Record<PrincipalKind, number>> = { role: 64, user: 64, group: 128 };

function principalXml(principal: PrincipalRecord, full: boolean): XmlObject {
  return {
    Path: principal.path,
    [NAME_ELEMENT[principal.kind]]: principal.name,
    [ID_ELEMENT[principal.kind]]: principal.id,
    Arn: principal.arn,
    CreateDate: principal.createDate,
    AssumeRolePolicyDocument:
      principal.assumeRolePolicyDocument === undefined
        ? undefined
        : encodePolicyDocument(principal.assumeRolePolicyDocument),
    Description: principal.description,
    MaxSessionDuration: full ? principal.maxSessionDuration : undefined,
    Tags: full ? tagsXml(principal.tags) : undefined,
  };
}

function principalResponseElements(principal: PrincipalRecord): Record<string, unknown> {
  const lower = principal.kind;
  return {
    [lower]: {
      path: principal.path,
      [`${lower}Name`]: principal.name,
      [`${lower}Id`]: principal.id,
      arn: principal.arn,
      createDate: formatResponseDate(principal.createDate),
      ...(principal.assumeRolePolicyDocument === undefined
        ? {}
        : { assumeRolePolicyDocument: encodePolicyDocument(principal.assumeRolePolicyDocument) }),
    },
  };
}

// ---- pagination -------------------------------------------------------------------------------------------

interface Page<T> {
  items: T[];
  isTruncated: boolean;
  marker: string | undefined;
}

/** IAM-style `MaxItems`/`Marker` paging; the marker is opaque to callers. */
function paginate<T>(items: readonly T[], params: QueryParams): Page<T> {
  const maxItems = params.integer('MaxItems', 1, 1000) ?? 100;
  const marker = params.optional('Marker');
  let start = 0;
  if (marker !== undefined) {
    const decoded = /^offset:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
    if (decoded === null) throw new IamError('ValidationError', 'Invalid Marker.');
    start = Number(decoded[1]);
  }
  const end = start + maxItems;
  const isTruncated = end < items.length;
  return {
    items: items.slice(start, end),
    isTruncated,
    marker: isTruncated ? Buffer.from(`offset:${end}`, 'utf8').toString('base64url') : undefined,
  };
}

function pageXml<T>(element: string, page: Page<T>, render: (item: T) => XmlValue): XmlObject {
  return { [element]: page.items.map(render), IsTruncated: page.isTruncated, Marker: page.marker };
}

function callerArn(caller: Identity): string {
  return caller.arn ?? `arn:aws:iam::${caller.accountId ?? 'unknown'}:unknown`;
}

// ---- operations -------------------------------------------------------------------------------------------

function principalOperations(
  kind: PrincipalKind,
  title: 'Role' | 'User' | 'Group',
): Record<string, OperationSpec> {
  const nameParam = NAME_ELEMENT[kind];
  const maxLength = NAME_MAX_LENGTH[kind];
  return {
    [`Put${title}Policy`]: {
      readOnly: false,
      run: ({ params, state }) => {
        const principalName = params.name(nameParam, maxLength);
        const policyName = params.name('PolicyName', 128);
        const document = params.required('PolicyDocument');
        state.putInlinePolicy(kind, principalName, policyName, document);
        return { responseElements: null };
      },
    },
    [`Get${title}Policy`]: {
      readOnly: true,
      run: ({ params, state }) => {
        const principalName = params.name(nameParam, maxLength);
        const policyName = params.name('PolicyName', 128);
        const document = state.getInlinePolicy(kind, principalName, policyName);
        const principal = state.getPrincipal(kind, principalName);
        return {
          result: {
            [nameParam]: principal.name,
            PolicyName: policyName,
            PolicyDocument: encodePolicyDocument(document),
          },
          responseElements: null,
        };
      },
    },
    [`Delete${title}Policy`]: {
      readOnly: false,
      run: ({ params, state }) => {
        const principalName = params.name(nameParam, maxLength);
        const policyName = params.name('PolicyName', 128);
        state.deleteInlinePolicy(kind, principalName, policyName);
        return { responseElements: null };
      },
    },
    [`List${title}Policies`]: {
      readOnly: true,
      run: ({ params, state }) => {
        const names = state.listInlinePolicies(kind, params.name(nameParam, maxLength));
        return {
          result: pageXml('PolicyNames', paginate(names, params), (name) => name),
          responseElements: null,
        };
      },
    },
    [`Attach${title}Policy`]: {
      readOnly: false,
      run: ({ params, state }) => {
        const principalName = params.name(nameParam, maxLength);
        state.attachPolicy(kind, principalName, params.policyArn());
        return { responseElements: null };
      },
    },
    [`Detach${title}Policy`]: {
      readOnly: false,
      run: ({ params, state }) => {
        const principalName = params.name(nameParam, maxLength);
        state.detachPolicy(kind, principalName, params.policyArn());
        return { responseElements: null };
      },
    },
    [`ListAttached${title}Policies`]: {
      readOnly: true,
      run: ({ params, state }) => {
        const prefix = params.optional('PathPrefix') ?? '/';
        const policies = state
          .listAttachedPolicies(kind, params.name(nameParam, maxLength))
          .filter((policy) => policy.path.startsWith(prefix));
        return {
          result: pageXml('AttachedPolicies', paginate(policies, params), (policy) => ({
            PolicyName: policy.name,
            PolicyArn: policy.arn,
          })),
          responseElements: null,
        };
      },
    },
    [`Create${title}`]: {
      readOnly: false,
      run: ({ params, state }) => {
        const principal = state.createPrincipal(kind, {
          name: params.name(nameParam, maxLength),
          path: params.path(),
          description: kind === 'role' ? params.optional('Description') : undefined,
          tags: kind === 'group' ? [] : params.tags(),
          assumeRolePolicyDocument: kind === 'role' ? params.required('AssumeRolePolicyDocument') : undefined,
          maxSessionDuration: kind === 'role' ? params.integer('MaxSessionDuration', 3600, 43200) : undefined,
        });
        return {
          result: { [title]: principalXml(principal, false) },
          responseElements: principalResponseElements(principal),
        };
      },
    },
    [`Delete${title}`]: {
      readOnly: false,
      run: ({ params, state }) => {
        state.deletePrincipal(kind, params.name(nameParam, maxLength));
        return { responseElements: null };
      },
    },
  };
}

const POLICY_OPERATIONS = {
  CreatePolicy: {
    readOnly: false,
    run: ({ params, state }) => {
      const policy = state.createPolicy({
        name: params.name('PolicyName', 128),
        path: params.path(),
        document: params.required('PolicyDocument'),
        description: params.optional('Description'),
        tags: params.tags(),
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
    run: ({ params, state }) => ({
      result: { Policy: policyXml(state, state.getPolicy(params.policyArn()), true) },
      responseElements: null,
    }),
  },
  DeletePolicy: {
    readOnly: false,
    run: ({ params, state, caller }) => {
      state.deletePolicy(params.policyArn(), callerArn(caller));
      return { responseElements: null };
    },
  },
  ListPolicies: {
    readOnly: true,
    run: ({ params, state }) => {
      const scope = params.optional('Scope') ?? 'All';
      if (!['All', 'AWS', 'Local'].includes(scope)) {
        throw validationError('scope', scope, 'Member must satisfy enum value set: [All, AWS, Local]');
      }
      const onlyAttached = params.boolean('OnlyAttached') ?? false;
      const prefix = params.optional('PathPrefix') ?? '/';
      const policies = state
        .listPolicies()
        .filter((p) => scope === 'All' || (scope === 'AWS') === p.awsManaged)
        .filter((p) => !onlyAttached || state.attachmentCount(p.arn) > 0)
        .filter((p) => p.path.startsWith(prefix));
      return {
        result: pageXml('Policies', paginate(policies, params), (p) => policyXml(state, p, false)),
        responseElements: null,
      };
    },
  },
  CreatePolicyVersion: {
    readOnly: false,
    run: ({ params, state, caller }) => {
      const arn = params.policyArn();
      const document = params.required('PolicyDocument');
      const setAsDefault = params.boolean('SetAsDefault') ?? false;
      const version = state.createPolicyVersion(arn, document, setAsDefault, callerArn(caller));
      const policy = state.getPolicy(arn);
      return {
        result: { PolicyVersion: versionXml(policy, version, false) },
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
    run: ({ params, state }) => {
      const arn = params.policyArn();
      const version = state.getPolicyVersion(arn, params.versionId());
      return {
        result: { PolicyVersion: versionXml(state.getPolicy(arn), version, true) },
        responseElements: null,
      };
    },
  },
  ListPolicyVersions: {
    readOnly: true,
    run: ({ params, state }) => {
      const arn = params.policyArn();
      const policy = state.getPolicy(arn);
      const versions = state.listPolicyVersions(arn);
      return {
        result: pageXml('Versions', paginate(versions, params), (v) => versionXml(policy, v, false)),
        responseElements: null,
      };
    },
  },
  SetDefaultPolicyVersion: {
    readOnly: false,
    run: ({ params, state, caller }) => {
      state.setDefaultPolicyVersion(params.policyArn(), params.versionId(), callerArn(caller));
      return { responseElements: null };
    },
  },
  DeletePolicyVersion: {
    readOnly: false,
    run: ({ params, state, caller }) => {
      state.deletePolicyVersion(params.policyArn(), params.versionId(), callerArn(caller));
      return { responseElements: null };
    },
  },
  ListEntitiesForPolicy: {
    readOnly: true,
    run: ({ params, state }) => {
      const filter = params.optional('EntityFilter');
      const entities = state
        .entitiesForPolicy(params.policyArn())
        .filter((p) => filter === undefined || filter.toLowerCase() === p.kind);
      const page = paginate(entities, params);
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
    run: ({ params, state }) => ({
      result: { Role: principalXml(state.getPrincipal('role', params.name('RoleName', 64)), true) },
      responseElements: null,
    }),
  },
  GetUser: {
    readOnly: true,
    run: ({ params, state, caller }) => {
      // Without UserName, IAM answers for the calling user, which only works with user credentials.
      const name = params.optional('UserName') ?? (caller.type === 'IAMUser' ? caller.userName : undefined);
      if (name === undefined) {
        throw new IamError('ValidationError', 'Must specify userName when calling with non-User credentials');
      }
      checkName('userName', name, 64);
      return {
        result: { User: principalXml(state.getPrincipal('user', name), true) },
        responseElements: null,
      };
    },
  },
  GetGroup: {
    readOnly: true,
    run: ({ params, state }) => ({
      // Group membership is not modelled, so the member list is always empty.
      result: {
        Group: principalXml(state.getPrincipal('group', params.name('GroupName', 128)), false),
        Users: [],
        IsTruncated: false,
      },
      responseElements: null,
    }),
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
  'CreateUser',
  'GetUser',
  'DeleteUser',
  'CreateGroup',
  'GetGroup',
  'DeleteGroup',
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
] as const;

export type IamOperationName = (typeof IAM_OPERATION_NAMES)[number];

function buildOperations(): ReadonlyMap<IamOperationName, OperationSpec> {
  const specs: Record<string, OperationSpec> = {
    ...POLICY_OPERATIONS,
    ...PRINCIPAL_READS,
    ...principalOperations('role', 'Role'),
    ...principalOperations('user', 'User'),
    ...principalOperations('group', 'Group'),
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
