import { randomBytes } from 'node:crypto';
import { IamError } from './errors';
import { policySize, validatePolicyDocument } from './policy-document';

/** The three kinds of IAM principal that can hold inline and attached policies. */
export type PrincipalKind = 'role' | 'user' | 'group';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

export interface PolicyVersionRecord {
  readonly versionId: string;
  /** The document exactly as the caller sent it (IAM keeps the caller's formatting). */
  readonly document: string;
  readonly createDate: Date;
}

export interface ManagedPolicyRecord {
  readonly arn: string;
  readonly name: string;
  readonly path: string;
  readonly policyId: string;
  readonly description: string | undefined;
  readonly awsManaged: boolean;
  readonly createDate: Date;
  updateDate: Date;
  defaultVersionId: string;
  /** Oldest first. */
  readonly versions: PolicyVersionRecord[];
  /** Version numbers are never reused, even after a version is deleted. */
  nextVersion: number;
  readonly tags: Tag[];
}

export interface PrincipalRecord {
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly id: string;
  readonly arn: string;
  readonly path: string;
  readonly createDate: Date;
  readonly description: string | undefined;
  readonly tags: Tag[];
  /** Roles only; replaced by UpdateAssumeRolePolicy. */
  assumeRolePolicyDocument: string | undefined;
  readonly maxSessionDuration: number | undefined;
  /** Inline policy name -> document as sent. */
  readonly inlinePolicies: Map<string, string>;
  /** Attached managed policy ARNs in attach order. */
  readonly attached: string[];
  /** Roles and users: the ARN of the managed policy set as permissions boundary. */
  permissionsBoundary: string | undefined;
  /** Users only: lower-cased names of the groups the user belongs to, in the order it was added to them. */
  readonly groups: string[];
}

/** Decoded, detached copies of the stand-in's state, for test assertions. */
export interface PolicyVersionSnapshot {
  versionId: string;
  document: string;
  isDefaultVersion: boolean;
  createDate: Date;
}
export interface PolicySnapshot {
  arn: string;
  name: string;
  path: string;
  policyId: string;
  description: string | undefined;
  awsManaged: boolean;
  defaultVersionId: string;
  attachmentCount: number;
  /** Roles and users using the policy as their permissions boundary. */
  permissionsBoundaryUsageCount: number;
  createDate: Date;
  updateDate: Date;
  /** Oldest first. */
  versions: PolicyVersionSnapshot[];
  /** The default version's document as sent. */
  defaultDocument: string;
}
export interface PrincipalSnapshot {
  kind: PrincipalKind;
  name: string;
  id: string;
  arn: string;
  path: string;
  inlinePolicies: Record<string, string>;
  attachedPolicyArns: string[];
  /** Roles and users: the permissions boundary policy ARN, when one is set. */
  permissionsBoundaryArn?: string;
  /** Roles: the trust policy as sent. */
  assumeRolePolicyDocument?: string;
  /** Users: the names of their groups, in the order the user was added to them. */
  groups?: string[];
  /** Groups: the names of their members, in the order the users were created. */
  members?: string[];
}
export interface IamStateSnapshot {
  policies: PolicySnapshot[];
  roles: PrincipalSnapshot[];
  users: PrincipalSnapshot[];
  groups: PrincipalSnapshot[];
}

type Exported<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };

/** The account as {@link IamState.exportState} writes it: JSON only. */
export interface ExportedIamState {
  policies: (Exported<Omit<ManagedPolicyRecord, 'versions'>> & {
    versions: Exported<PolicyVersionRecord>[];
  })[];
  principals: Record<
    PrincipalKind,
    (Exported<Omit<PrincipalRecord, 'inlinePolicies'>> & { inlinePolicies: [string, string][] })[]
  >;
}

/** IAM's quotas that the stand-in enforces. */
export const IAM_LIMITS = {
  versionsPerPolicy: 5,
  managedPolicySize: 6144,
  inlinePolicySize: { role: 10240, user: 2048, group: 5120 } as Readonly<Record<PrincipalKind, number>>,
  attachedPoliciesPerPrincipal: 10,
  trustPolicySize: 2048,
  groupsPerUser: 10,
} as const;

const ID_PREFIX: Readonly<Record<PrincipalKind | 'policy', string>> = {
  policy: 'ANPA',
  role: 'AROA',
  user: 'AIDA',
  group: 'AGPA',
};
const KIND_TITLE: Readonly<Record<PrincipalKind, string>> = { role: 'Role', user: 'User', group: 'Group' };
const QUOTA_NAME: Readonly<Record<PrincipalKind, string>> = {
  role: 'PoliciesPerRole',
  user: 'PoliciesPerUser',
  group: 'PoliciesPerGroup',
};
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const POLICY_ARN = /^arn:aws:iam::(\d{12}|aws):policy((?:\/[\u0021-\u007e]*)?\/)([\w+=,.@-]+)$/;

function newId(prefix: string): string {
  const bytes = randomBytes(17);
  let id = prefix;
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

function versionNumber(versionId: string): number {
  return Number(versionId.slice(1));
}

export interface CreatePolicyInput {
  name: string;
  path: string;
  document: string;
  description: string | undefined;
  tags: Tag[];
}

export interface CreatePrincipalInput {
  name: string;
  path: string;
  description: string | undefined;
  tags: Tag[];
  assumeRolePolicyDocument: string | undefined;
  maxSessionDuration: number | undefined;
  /** Roles and users: a managed policy ARN to set as permissions boundary. */
  permissionsBoundary?: string | undefined;
}

/** The kinds of principal that can have a permissions boundary. */
export type BoundedKind = 'role' | 'user';

/** How a principal uses a managed policy, as ListEntitiesForPolicy's `PolicyUsageFilter` names it. */
export type PolicyUsage = 'PermissionsPolicy' | 'PermissionsBoundary';

/**
 * In-memory IAM account: managed policies with versions, roles, users and groups with inline and attached
 * policies. Every rule failure throws an {@link IamError} carrying IAM's code and wording; nothing is changed
 * before all checks of an operation have passed.
 */
export class IamState {
  private readonly policies = new Map<string, ManagedPolicyRecord>();
  private readonly principals: Record<PrincipalKind, Map<string, PrincipalRecord>> = {
    role: new Map(),
    user: new Map(),
    group: new Map(),
  };

  constructor(
    readonly accountId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Forgets every policy and principal. */
  reset(): void {
    this.policies.clear();
    for (const map of Object.values(this.principals)) map.clear();
  }

  /** A deep, independent copy: what the account looked like at this moment, for stale reads. */
  clone(): IamState {
    const copy = new IamState(this.accountId, this.now);
    for (const [arn, policy] of this.policies) {
      copy.policies.set(arn, {
        ...policy,
        versions: policy.versions.map((version) => ({ ...version })),
        tags: policy.tags.map((tag) => ({ ...tag })),
      });
    }
    for (const kind of ['role', 'user', 'group'] as const) {
      for (const [key, principal] of this.principals[kind]) {
        copy.principals[kind].set(key, {
          ...principal,
          tags: principal.tags.map((tag) => ({ ...tag })),
          inlinePolicies: new Map(principal.inlinePolicies),
          attached: [...principal.attached],
          groups: [...principal.groups],
        });
      }
    }
    return copy;
  }

  /**
   * Every policy and principal as JSON (dates as ISO strings, inline policies as entries), for
   * {@link importState} in a later process.
   */
  exportState(): ExportedIamState {
    return JSON.parse(
      JSON.stringify({
        policies: [...this.policies.values()],
        principals: Object.fromEntries(
          (['role', 'user', 'group'] as const).map((kind) => [
            kind,
            [...this.principals[kind].values()].map((principal) => ({
              ...principal,
              inlinePolicies: [...principal.inlinePolicies],
            })),
          ]),
        ),
      }),
    ) as ExportedIamState;
  }

  /** Replaces the whole account with one {@link exportState} wrote. @throws Error when it is not such a state. */
  importState(state: ExportedIamState): void {
    if (
      !Array.isArray(state?.policies) ||
      typeof state.principals !== 'object' ||
      state.principals === null
    ) {
      throw new Error('not an exported IAM state');
    }
    const date = (value: unknown) => {
      const parsed = new Date(String(value));
      if (Number.isNaN(parsed.getTime())) throw new Error(`not a date: ${JSON.stringify(value)}`);
      return parsed;
    };
    const policies = state.policies.map((policy) => ({
      ...policy,
      createDate: date(policy.createDate),
      updateDate: date(policy.updateDate),
      versions: policy.versions.map((version) => ({ ...version, createDate: date(version.createDate) })),
    }));
    const principals = (['role', 'user', 'group'] as const).map((kind) => {
      const list = state.principals[kind];
      if (!Array.isArray(list)) throw new Error(`exported IAM state has no ${kind} list`);
      return list.map(
        (principal): PrincipalRecord => ({
          ...principal,
          kind,
          createDate: date(principal.createDate),
          inlinePolicies: new Map(principal.inlinePolicies),
        }),
      );
    });
    this.reset();
    for (const policy of policies) this.policies.set(policy.arn, policy);
    principals.forEach((list, index) => {
      const kind = (['role', 'user', 'group'] as const)[index] as PrincipalKind;
      for (const principal of list) this.principals[kind].set(principal.name.toLowerCase(), principal);
    });
  }

  // ---- managed policies -------------------------------------------------------------------------------

  /** Fails with `InvalidInput` unless `arn` is syntactically a policy ARN. */
  static assertPolicyArn(arn: string): void {
    if (!POLICY_ARN.test(arn)) throw new IamError('InvalidInput', `ARN ${arn} is not valid.`);
  }

  createPolicy(input: CreatePolicyInput): ManagedPolicyRecord {
    const lower = input.name.toLowerCase();
    for (const policy of this.policies.values()) {
      if (!policy.awsManaged && policy.name.toLowerCase() === lower) {
        throw new IamError(
          'EntityAlreadyExists',
          `A policy called ${input.name} already exists. Duplicate names are not allowed.`,
        );
      }
    }
    validatePolicyDocument(input.document);
    this.assertManagedPolicySize(input.document);
    const now = this.now();
    const policy: ManagedPolicyRecord = {
      arn: `arn:aws:iam::${this.accountId}:policy${input.path}${input.name}`,
      name: input.name,
      path: input.path,
      policyId: newId(ID_PREFIX.policy),
      description: input.description,
      awsManaged: false,
      createDate: now,
      updateDate: now,
      defaultVersionId: 'v1',
      versions: [{ versionId: 'v1', document: input.document, createDate: now }],
      nextVersion: 2,
      tags: input.tags,
    };
    this.policies.set(policy.arn, policy);
    return policy;
  }

  /**
   * Seeds an AWS managed policy (`arn:aws:iam::aws:policy<path><name>`). Such policies can be read and attached
   * but never changed by the account.
   */
  addAwsManagedPolicy(name: string, document: string, path = '/'): ManagedPolicyRecord {
    const arn = `arn:aws:iam::aws:policy${path}${name}`;
    IamState.assertPolicyArn(arn);
    if (this.policies.has(arn)) throw new Error(`AWS managed policy ${arn} is already seeded`);
    validatePolicyDocument(document);
    const now = this.now();
    const policy: ManagedPolicyRecord = {
      arn,
      name,
      path,
      policyId: newId(ID_PREFIX.policy),
      description: undefined,
      awsManaged: true,
      createDate: now,
      updateDate: now,
      defaultVersionId: 'v1',
      versions: [{ versionId: 'v1', document, createDate: now }],
      nextVersion: 2,
      tags: [],
    };
    this.policies.set(arn, policy);
    return policy;
  }

  /** The policy, or `NoSuchEntity` "Policy … was not found." */
  getPolicy(arn: string): ManagedPolicyRecord {
    IamState.assertPolicyArn(arn);
    const policy = this.policies.get(arn);
    if (policy === undefined) throw new IamError('NoSuchEntity', `Policy ${arn} was not found.`);
    return policy;
  }

  /** Every managed policy, customer and AWS managed, in creation order. */
  listPolicies(): ManagedPolicyRecord[] {
    return [...this.policies.values()];
  }

  deletePolicy(arn: string, callerArn: string): void {
    const policy = this.getPolicy(arn);
    this.assertCustomerManaged(policy, 'DeletePolicy', callerArn);
    // A policy in use as a permissions boundary counts as attached for deletion, though not in AttachmentCount.
    if (this.attachmentCount(arn) > 0 || this.boundaryUsageCount(arn) > 0) {
      throw new IamError('DeleteConflict', 'Cannot delete a policy attached to entities.');
    }
    if (policy.versions.length > 1) {
      throw new IamError(
        'DeleteConflict',
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
      );
    }
    this.policies.delete(arn);
  }

  createPolicyVersion(
    arn: string,
    document: string,
    setAsDefault: boolean,
    callerArn: string,
  ): PolicyVersionRecord {
    const policy = this.getPolicy(arn);
    this.assertCustomerManaged(policy, 'CreatePolicyVersion', callerArn);
    validatePolicyDocument(document);
    this.assertManagedPolicySize(document);
    if (policy.versions.length >= IAM_LIMITS.versionsPerPolicy) {
      throw new IamError(
        'LimitExceeded',
        'A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.',
      );
    }
    const now = this.now();
    const version: PolicyVersionRecord = { versionId: `v${policy.nextVersion}`, document, createDate: now };
    policy.nextVersion += 1;
    policy.versions.push(version);
    // IAM's UpdateDate is the creation time of the newest version, default or not.
    policy.updateDate = now;
    if (setAsDefault) policy.defaultVersionId = version.versionId;
    return version;
  }

  /** The version, or `NoSuchEntity` in IAM's wording. */
  getPolicyVersion(arn: string, versionId: string): PolicyVersionRecord {
    const policy = this.getPolicy(arn);
    const version = policy.versions.find((v) => v.versionId === versionId);
    if (version === undefined) {
      throw new IamError(
        'NoSuchEntity',
        `Policy ${arn} version ${versionId} does not exist or is not attachable.`,
      );
    }
    return version;
  }

  /** Newest first, as IAM lists them. */
  listPolicyVersions(arn: string): PolicyVersionRecord[] {
    return [...this.getPolicy(arn).versions].sort(
      (a, b) => versionNumber(b.versionId) - versionNumber(a.versionId),
    );
  }

  setDefaultPolicyVersion(arn: string, versionId: string, callerArn: string): void {
    const policy = this.getPolicy(arn);
    this.assertCustomerManaged(policy, 'SetDefaultPolicyVersion', callerArn);
    this.getPolicyVersion(arn, versionId);
    policy.defaultVersionId = versionId;
  }

  deletePolicyVersion(arn: string, versionId: string, callerArn: string): void {
    const policy = this.getPolicy(arn);
    this.assertCustomerManaged(policy, 'DeletePolicyVersion', callerArn);
    this.getPolicyVersion(arn, versionId);
    if (policy.defaultVersionId === versionId) {
      throw new IamError('DeleteConflict', 'Cannot delete the default version of a policy.');
    }
    policy.versions.splice(
      policy.versions.findIndex((v) => v.versionId === versionId),
      1,
    );
  }

  /** Number of roles, users and groups the policy is attached to. */
  attachmentCount(arn: string): number {
    let count = 0;
    for (const map of Object.values(this.principals)) {
      for (const principal of map.values()) if (principal.attached.includes(arn)) count += 1;
    }
    return count;
  }

  /** Number of roles and users using the policy as their permissions boundary. */
  boundaryUsageCount(arn: string): number {
    let count = 0;
    for (const map of [this.principals.role, this.principals.user]) {
      for (const principal of map.values()) if (principal.permissionsBoundary === arn) count += 1;
    }
    return count;
  }

  /** Principals using the policy: attached to them, as their boundary, or both when `usage` is absent. */
  entitiesForPolicy(arn: string, usage?: PolicyUsage): PrincipalRecord[] {
    this.getPolicy(arn);
    const result: PrincipalRecord[] = [];
    for (const map of Object.values(this.principals)) {
      for (const principal of map.values()) {
        const attached = principal.attached.includes(arn);
        const boundary = principal.permissionsBoundary === arn;
        if (
          usage === 'PermissionsPolicy'
            ? attached
            : usage === 'PermissionsBoundary'
              ? boundary
              : attached || boundary
        ) {
          result.push(principal);
        }
      }
    }
    return result;
  }

  // ---- principals -------------------------------------------------------------------------------------

  createPrincipal(kind: PrincipalKind, input: CreatePrincipalInput): PrincipalRecord {
    const map = this.principals[kind];
    if (map.has(input.name.toLowerCase())) {
      throw new IamError(
        'EntityAlreadyExists',
        `${KIND_TITLE[kind]} with name ${input.name} already exists.`,
      );
    }
    if (input.assumeRolePolicyDocument !== undefined)
      IamState.assertTrustPolicy(input.assumeRolePolicyDocument);
    if (input.permissionsBoundary !== undefined) this.assertBoundaryPolicy(input.permissionsBoundary);
    const principal: PrincipalRecord = {
      kind,
      name: input.name,
      id: newId(ID_PREFIX[kind]),
      arn: `arn:aws:iam::${this.accountId}:${kind}${input.path}${input.name}`,
      path: input.path,
      createDate: this.now(),
      description: input.description,
      tags: input.tags,
      assumeRolePolicyDocument: input.assumeRolePolicyDocument,
      maxSessionDuration: kind === 'role' ? (input.maxSessionDuration ?? 3600) : undefined,
      inlinePolicies: new Map(),
      attached: [],
      permissionsBoundary: input.permissionsBoundary,
      groups: [],
    };
    map.set(input.name.toLowerCase(), principal);
    return principal;
  }

  /** The principal (names are case-insensitive, as in IAM), or `NoSuchEntity`. */
  getPrincipal(kind: PrincipalKind, name: string): PrincipalRecord {
    const principal = this.principals[kind].get(name.toLowerCase());
    if (principal === undefined) {
      throw new IamError('NoSuchEntity', `The ${kind} with name ${name} cannot be found.`);
    }
    return principal;
  }

  listPrincipals(kind: PrincipalKind): PrincipalRecord[] {
    return [...this.principals[kind].values()];
  }

  deletePrincipal(kind: PrincipalKind, name: string): void {
    const principal = this.getPrincipal(kind, name);
    if (principal.inlinePolicies.size > 0) {
      throw new IamError('DeleteConflict', 'Cannot delete entity, must delete policies first.');
    }
    if (principal.attached.length > 0) {
      throw new IamError('DeleteConflict', 'Cannot delete entity, must detach all policies first.');
    }
    // IAM words both sides of a membership the same way, for DeleteUser as for DeleteGroup.
    if (principal.groups.length > 0 || (kind === 'group' && this.groupMembers(name).length > 0)) {
      throw new IamError('DeleteConflict', 'Cannot delete entity, must remove users from group first.');
    }
    this.principals[kind].delete(name.toLowerCase());
  }

  /** Replaces a role's trust policy, with CreateRole's checks. */
  updateAssumeRolePolicy(roleName: string, document: string): void {
    const role = this.getPrincipal('role', roleName);
    IamState.assertTrustPolicy(document);
    role.assumeRolePolicyDocument = document;
  }

  // ---- permissions boundaries -------------------------------------------------------------------------

  /** Sets (or replaces) the permissions boundary of a role or user. */
  putPermissionsBoundary(kind: BoundedKind, principalName: string, policyArn: string): void {
    const principal = this.getPrincipal(kind, principalName);
    this.assertBoundaryPolicy(policyArn);
    principal.permissionsBoundary = policyArn;
  }

  /**
   * Removes the permissions boundary of a role or user. Removing an absent boundary succeeds: the model lists
   * no error for it beyond NoSuchEntity for the principal itself.
   */
  deletePermissionsBoundary(kind: BoundedKind, principalName: string): void {
    this.getPrincipal(kind, principalName).permissionsBoundary = undefined;
  }

  // ---- group membership -------------------------------------------------------------------------------

  /** Adds a user to a group; adding a member again is a successful no-op, as in IAM. */
  addUserToGroup(groupName: string, userName: string): void {
    const group = this.getPrincipal('group', groupName);
    const user = this.getPrincipal('user', userName);
    const key = group.name.toLowerCase();
    if (user.groups.includes(key)) return;
    if (user.groups.length >= IAM_LIMITS.groupsPerUser) {
      throw new IamError(
        'LimitExceeded',
        `Cannot exceed quota for GroupsPerUser: ${IAM_LIMITS.groupsPerUser}`,
      );
    }
    user.groups.push(key);
  }

  /**
   * Removes a user from a group. Both must exist (`NoSuchEntity` otherwise). Removing a user that is not a
   * member succeeds without change, as the real API answers: cloud-custodian/cloud-custodian pull request
   * #4730 found that neither adding a member again nor removing a non-member returns an error.
   */
  removeUserFromGroup(groupName: string, userName: string): void {
    const group = this.getPrincipal('group', groupName);
    const user = this.getPrincipal('user', userName);
    const index = user.groups.indexOf(group.name.toLowerCase());
    if (index >= 0) user.groups.splice(index, 1);
  }

  /** The users in a group, in creation order. */
  groupMembers(groupName: string): PrincipalRecord[] {
    const key = this.getPrincipal('group', groupName).name.toLowerCase();
    return this.listPrincipals('user').filter((user) => user.groups.includes(key));
  }

  /** The groups a user belongs to, in the order it was added to them. */
  groupsForUser(userName: string): PrincipalRecord[] {
    return this.getPrincipal('user', userName)
      .groups.map((key) => this.principals.group.get(key))
      .filter((group): group is PrincipalRecord => group !== undefined);
  }

  // ---- inline policies --------------------------------------------------------------------------------

  putInlinePolicy(kind: PrincipalKind, principalName: string, policyName: string, document: string): void {
    const principal = this.getPrincipal(kind, principalName);
    validatePolicyDocument(document);
    // The quota is on the aggregate of all inline policies of the principal; a put replaces a same-named one.
    let aggregate = policySize(document);
    for (const [name, existing] of principal.inlinePolicies) {
      if (name !== policyName) aggregate += policySize(existing);
    }
    const limit = IAM_LIMITS.inlinePolicySize[kind];
    if (aggregate > limit) {
      throw new IamError(
        'LimitExceeded',
        `Maximum policy size of ${limit} bytes exceeded for ${kind} ${principal.name}`,
      );
    }
    principal.inlinePolicies.set(policyName, document);
  }

  getInlinePolicy(kind: PrincipalKind, principalName: string, policyName: string): string {
    const principal = this.getPrincipal(kind, principalName);
    const document = principal.inlinePolicies.get(policyName);
    if (document === undefined) {
      throw new IamError('NoSuchEntity', `The ${kind} policy with name ${policyName} cannot be found.`);
    }
    return document;
  }

  deleteInlinePolicy(kind: PrincipalKind, principalName: string, policyName: string): void {
    this.getInlinePolicy(kind, principalName, policyName);
    this.getPrincipal(kind, principalName).inlinePolicies.delete(policyName);
  }

  /** Inline policy names, sorted. */
  listInlinePolicies(kind: PrincipalKind, principalName: string): string[] {
    return [...this.getPrincipal(kind, principalName).inlinePolicies.keys()].sort();
  }

  // ---- attachments ------------------------------------------------------------------------------------

  attachPolicy(kind: PrincipalKind, principalName: string, policyArn: string): void {
    const principal = this.getPrincipal(kind, principalName);
    IamState.assertPolicyArn(policyArn);
    if (!this.policies.has(policyArn)) {
      throw new IamError('NoSuchEntity', `Policy ${policyArn} does not exist or is not attachable.`);
    }
    // Attaching an already attached policy is a successful no-op in IAM.
    if (principal.attached.includes(policyArn)) return;
    if (principal.attached.length >= IAM_LIMITS.attachedPoliciesPerPrincipal) {
      throw new IamError(
        'LimitExceeded',
        `Cannot exceed quota for ${QUOTA_NAME[kind]}: ${IAM_LIMITS.attachedPoliciesPerPrincipal}`,
      );
    }
    principal.attached.push(policyArn);
  }

  detachPolicy(kind: PrincipalKind, principalName: string, policyArn: string): void {
    const principal = this.getPrincipal(kind, principalName);
    IamState.assertPolicyArn(policyArn);
    const index = principal.attached.indexOf(policyArn);
    if (index < 0) throw new IamError('NoSuchEntity', `Policy ${policyArn} was not found.`);
    principal.attached.splice(index, 1);
  }

  listAttachedPolicies(kind: PrincipalKind, principalName: string): ManagedPolicyRecord[] {
    return this.getPrincipal(kind, principalName)
      .attached.map((arn) => this.policies.get(arn))
      .filter((policy): policy is ManagedPolicyRecord => policy !== undefined);
  }

  // ---- inspection -------------------------------------------------------------------------------------

  snapshotPolicy(policy: ManagedPolicyRecord): PolicySnapshot {
    const defaultVersion = policy.versions.find((v) => v.versionId === policy.defaultVersionId);
    return {
      arn: policy.arn,
      name: policy.name,
      path: policy.path,
      policyId: policy.policyId,
      description: policy.description,
      awsManaged: policy.awsManaged,
      defaultVersionId: policy.defaultVersionId,
      attachmentCount: this.attachmentCount(policy.arn),
      permissionsBoundaryUsageCount: this.boundaryUsageCount(policy.arn),
      createDate: new Date(policy.createDate),
      updateDate: new Date(policy.updateDate),
      versions: policy.versions.map((v) => ({
        versionId: v.versionId,
        document: v.document,
        isDefaultVersion: v.versionId === policy.defaultVersionId,
        createDate: new Date(v.createDate),
      })),
      defaultDocument: defaultVersion?.document ?? '',
    };
  }

  snapshotPrincipal(principal: PrincipalRecord): PrincipalSnapshot {
    return {
      kind: principal.kind,
      name: principal.name,
      id: principal.id,
      arn: principal.arn,
      path: principal.path,
      inlinePolicies: Object.fromEntries(principal.inlinePolicies),
      attachedPolicyArns: [...principal.attached],
      ...(principal.permissionsBoundary === undefined
        ? {}
        : { permissionsBoundaryArn: principal.permissionsBoundary }),
      ...(principal.assumeRolePolicyDocument === undefined
        ? {}
        : { assumeRolePolicyDocument: principal.assumeRolePolicyDocument }),
      ...(principal.kind === 'user'
        ? { groups: this.groupsForUser(principal.name).map((group) => group.name) }
        : {}),
      ...(principal.kind === 'group'
        ? { members: this.groupMembers(principal.name).map((user) => user.name) }
        : {}),
    };
  }

  /** A detached copy of everything, for assertions. */
  snapshot(): IamStateSnapshot {
    return {
      policies: this.listPolicies().map((p) => this.snapshotPolicy(p)),
      roles: this.listPrincipals('role').map((p) => this.snapshotPrincipal(p)),
      users: this.listPrincipals('user').map((p) => this.snapshotPrincipal(p)),
      groups: this.listPrincipals('group').map((p) => this.snapshotPrincipal(p)),
    };
  }

  // ---- rules ------------------------------------------------------------------------------------------

  /** A trust policy must parse as one (a `Principal` in every statement) and fit the ACLSizePerRole quota. */
  private static assertTrustPolicy(document: string): void {
    validatePolicyDocument(document, 'trust');
    if (policySize(document) > IAM_LIMITS.trustPolicySize) {
      throw new IamError(
        'LimitExceeded',
        `Cannot exceed quota for ACLSizePerRole: ${IAM_LIMITS.trustPolicySize}`,
      );
    }
  }

  /** A boundary must be an existing managed policy, customer or AWS managed. */
  private assertBoundaryPolicy(policyArn: string): void {
    IamState.assertPolicyArn(policyArn);
    if (!this.policies.has(policyArn)) {
      throw new IamError('NoSuchEntity', `Scope ARN: ${policyArn} does not exist or is not attachable.`);
    }
  }

  private assertManagedPolicySize(document: string): void {
    if (policySize(document) > IAM_LIMITS.managedPolicySize) {
      throw new IamError(
        'LimitExceeded',
        `Cannot exceed quota for PolicySize: ${IAM_LIMITS.managedPolicySize}`,
      );
    }
  }

  /**
   * AWS managed policies live in AWS's account, so IAM refuses every write to them as an authorisation
   * failure, whoever the caller is.
   */
  private assertCustomerManaged(policy: ManagedPolicyRecord, action: string, callerArn: string): void {
    if (policy.awsManaged) {
      throw new IamError(
        'AccessDenied',
        `User: ${callerArn} is not authorized to perform: iam:${action} on resource: policy ${policy.arn}`,
      );
    }
  }
}
