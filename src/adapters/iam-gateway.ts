import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListEntitiesForPolicyCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  SetDefaultPolicyVersionCommand,
} from '@aws-sdk/client-iam';
import type { PrincipalRef } from '../domain/approval';
import type { PrincipalType } from '../domain/policy-change';
import { decodePolicyText } from '../domain/policy-text';
import { AwsOperationError, NotFoundError, PolicyGateError, TransientError } from '../errors';

/** What PolicyGate needs to know about a managed policy. */
export interface ManagedPolicyInfo {
  readonly policyArn: string;
  readonly defaultVersionId: string;
  readonly attachmentCount: number;
}

/** One version of a managed policy, without its document. */
export interface PolicyVersionInfo {
  readonly versionId: string;
  readonly isDefaultVersion: boolean;
  /** ISO 8601 time, when IAM reports it. */
  readonly createDate?: string;
}

/** One version of a managed policy with its document. */
export interface PolicyVersionWithDocument extends PolicyVersionInfo {
  /** The policy document as JSON text (IAM's URL encoding already removed). */
  readonly document: string;
}

/**
 * The IAM calls the quarantine service makes. Every method fails with {@link TransientError} when a retry
 * may help, {@link NotFoundError} when the target is gone (unless documented otherwise), and
 * {@link AwsOperationError} for everything else.
 */
export interface IamGateway {
  getPolicy(policyArn: string): Promise<ManagedPolicyInfo>;
  getPolicyVersion(policyArn: string, versionId: string): Promise<PolicyVersionWithDocument>;
  listPolicyVersions(policyArn: string): Promise<PolicyVersionInfo[]>;
  createPolicyVersion(policyArn: string, document: string, setAsDefault: boolean): Promise<string>;
  setDefaultPolicyVersion(policyArn: string, versionId: string): Promise<void>;
  deletePolicyVersion(policyArn: string, versionId: string): Promise<void>;
  getInlinePolicy(
    principalType: PrincipalType,
    principalName: string,
    policyName: string,
  ): Promise<string | undefined>;
  putInlinePolicy(
    principalType: PrincipalType,
    principalName: string,
    policyName: string,
    document: string,
  ): Promise<void>;
  listAttachedPolicyArns(principalType: PrincipalType, principalName: string): Promise<string[]>;
  attachPolicy(principalType: PrincipalType, principalName: string, policyArn: string): Promise<void>;
  detachPolicy(principalType: PrincipalType, principalName: string, policyArn: string): Promise<void>;
  /** Names of a principal's inline policies, all pages. A missing principal is a {@link NotFoundError}. */
  listInlinePolicyNames(principalType: PrincipalType, principalName: string): Promise<string[]>;
  /** The roles, users and groups a managed policy is attached to, all pages (`ListEntitiesForPolicy`). */
  listEntitiesForPolicy(policyArn: string): Promise<PrincipalRef[]>;
  /** User names of a group's members, all pages (`GetGroup`). A missing group is a {@link NotFoundError}. */
  listGroupMembers(groupName: string): Promise<string[]>;
  /** Names of the groups a user is in, all pages (`ListGroupsForUser`). */
  listGroupsForUser(userName: string): Promise<string[]>;
  addUserToGroup(groupName: string, userName: string): Promise<void>;
  /** Removes a user from a group; a user who is not a member is a {@link NotFoundError}. */
  removeUserFromGroup(groupName: string, userName: string): Promise<void>;
  /** A role's trust policy as JSON text (`GetRole`). */
  getRoleTrustPolicy(roleName: string): Promise<string>;
  /** The ARN of a role's or user's permissions boundary, or `undefined` when it has none. */
  getPermissionsBoundary(principalType: 'role' | 'user', principalName: string): Promise<string | undefined>;
}

// Error codes AWS uses for "slow down"; retrying later succeeds.
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
]);

// Server-side or concurrency failures IAM itself tells the caller to retry.
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ServiceFailure',
  'ServiceFailureException',
  'ServiceUnavailable',
  'InternalFailure',
  'ConcurrentModification',
  'ConcurrentModificationException',
]);

const TITLE: Readonly<Record<PrincipalType, 'Role' | 'User' | 'Group'>> = {
  role: 'Role',
  user: 'User',
  group: 'Group',
};

const MAX_MESSAGE_CHARS = 200;
// IAM pages hold up to 100 items by default; 100 pages is far beyond any real policy or principal.
const MAX_PAGES = 100;

interface AwsErrorShape {
  readonly name?: unknown;
  readonly Code?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

/**
 * The AWS error code of an SDK error: the Query API `Code` when present (`LimitExceeded`), else the
 * exception name without its `Exception` suffix (`LimitExceededException` → `LimitExceeded`), so modelled
 * and unmodelled errors read the same.
 */
function errorCode(error: AwsErrorShape): string {
  if (typeof error.Code === 'string' && error.Code !== '') return error.Code;
  const name = typeof error.name === 'string' && error.name !== '' ? error.name : 'UnknownError';
  return name.endsWith('Exception') && name !== 'Exception' ? name.slice(0, -'Exception'.length) : name;
}

/**
 * Maps any error an `IAMClient.send` raised to PolicyGate's error classes: throttling, service failures,
 * 5xx and network errors (no HTTP status at all) become {@link TransientError}; `NoSuchEntity` becomes
 * {@link NotFoundError}; everything else {@link AwsOperationError} with the AWS code. The original error is
 * kept as `cause`; AWS's message is cut to 200 characters so a document it may echo cannot leak into logs.
 */
export function mapIamError(operation: string, error: unknown): PolicyGateError {
  // Already classified (e.g. an incomplete answer detected after the call): keep it as it is.
  if (error instanceof PolicyGateError) return error;
  const shape: AwsErrorShape = typeof error === 'object' && error !== null ? (error as AwsErrorShape) : {};
  const code = errorCode(shape);
  const rawName = typeof shape.name === 'string' ? shape.name : '';
  const message = truncate(typeof shape.message === 'string' ? shape.message : String(error));
  const status = shape.$metadata?.httpStatusCode;
  const hasStatus = typeof status === 'number';

  if (
    !hasStatus ||
    status >= 500 ||
    status === 429 ||
    THROTTLING_CODES.has(code) ||
    THROTTLING_CODES.has(rawName) ||
    TRANSIENT_CODES.has(code)
  ) {
    const what = hasStatus ? code : typeof shape.code === 'string' ? shape.code : rawName || 'NetworkError';
    return new TransientError(`${operation} failed (retryable): ${what}: ${message}`, { cause: error });
  }
  if (code === 'NoSuchEntity') {
    return new NotFoundError(`${operation}: ${message}`, { cause: error });
  }
  return new AwsOperationError(operation, code, message, { cause: error });
}

function isoDate(date: Date | undefined): string | undefined {
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

function required<T>(value: T | undefined, operation: string, field: string): T {
  if (value === undefined || value === null) {
    throw new AwsOperationError(operation, 'IncompleteResponse', `IAM's answer has no ${field}`);
  }
  return value;
}

/**
 * IAM returns documents URL-encoded (RFC 3986); the decoded text is the JSON the caller sent. Some
 * emulators (moto, LocalStack) return raw JSON instead: that is kept exactly as it is, since decoding it
 * would alter a document holding `%`.
 */
function decodeDocument(encoded: string | undefined, operation: string): string {
  const text = required(encoded, operation, 'policy document');
  try {
    return decodePolicyText(text);
  } catch (error) {
    throw new AwsOperationError(
      operation,
      'InvalidDocumentEncoding',
      'IAM returned a policy document that is not valid URL encoding',
      { cause: error },
    );
  }
}

/** {@link IamGateway} over the AWS SDK v3 IAM client. */
export class AwsIamGateway implements IamGateway {
  constructor(private readonly client: IAMClient) {}

  /** The policy's default version id and attachment count (`GetPolicy`). */
  async getPolicy(policyArn: string): Promise<ManagedPolicyInfo> {
    const operation = 'iam:GetPolicy';
    const output = await this.call(operation, () =>
      this.client.send(new GetPolicyCommand({ PolicyArn: policyArn })),
    );
    const policy = required(output.Policy, operation, 'Policy');
    return {
      policyArn: policy.Arn ?? policyArn,
      defaultVersionId: required(policy.DefaultVersionId, operation, 'DefaultVersionId'),
      attachmentCount: policy.AttachmentCount ?? 0,
    };
  }

  /** One version with its document, URL-decoded to JSON text (`GetPolicyVersion`). */
  async getPolicyVersion(policyArn: string, versionId: string): Promise<PolicyVersionWithDocument> {
    const operation = 'iam:GetPolicyVersion';
    const output = await this.call(operation, () =>
      this.client.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
    );
    const version = required(output.PolicyVersion, operation, 'PolicyVersion');
    const createDate = isoDate(version.CreateDate);
    return {
      versionId: version.VersionId ?? versionId,
      document: decodeDocument(version.Document, operation),
      isDefaultVersion: version.IsDefaultVersion === true,
      ...(createDate === undefined ? {} : { createDate }),
    };
  }

  /** Every version of the policy, all pages (`ListPolicyVersions`), in IAM's order (newest first). */
  async listPolicyVersions(policyArn: string): Promise<PolicyVersionInfo[]> {
    const operation = 'iam:ListPolicyVersions';
    return this.paginate(operation, async (marker) => {
      const output = await this.client.send(
        new ListPolicyVersionsCommand({ PolicyArn: policyArn, Marker: marker }),
      );
      return {
        items: (output.Versions ?? []).map((version) => {
          const createDate = isoDate(version.CreateDate);
          return {
            versionId: required(version.VersionId, operation, 'VersionId'),
            isDefaultVersion: version.IsDefaultVersion === true,
            ...(createDate === undefined ? {} : { createDate }),
          };
        }),
        isTruncated: output.IsTruncated === true,
        marker: output.Marker,
      };
    });
  }

  /** Adds a version holding `document` (JSON text); returns its version id (`CreatePolicyVersion`). */
  async createPolicyVersion(policyArn: string, document: string, setAsDefault: boolean): Promise<string> {
    const operation = 'iam:CreatePolicyVersion';
    const output = await this.call(operation, () =>
      this.client.send(
        new CreatePolicyVersionCommand({
          PolicyArn: policyArn,
          PolicyDocument: document,
          SetAsDefault: setAsDefault,
        }),
      ),
    );
    return required(output.PolicyVersion?.VersionId, operation, 'PolicyVersion.VersionId');
  }

  /** Makes `versionId` the version in force (`SetDefaultPolicyVersion`). */
  async setDefaultPolicyVersion(policyArn: string, versionId: string): Promise<void> {
    await this.call('iam:SetDefaultPolicyVersion', () =>
      this.client.send(new SetDefaultPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
    );
  }

  /** Deletes a non-default version (`DeletePolicyVersion`); IAM refuses the default one. */
  async deletePolicyVersion(policyArn: string, versionId: string): Promise<void> {
    await this.call('iam:DeletePolicyVersion', () =>
      this.client.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
    );
  }

  /**
   * An inline policy's document as JSON text (`GetRolePolicy` / `GetUserPolicy` / `GetGroupPolicy`), or
   * `undefined` when the policy or the principal does not exist.
   */
  async getInlinePolicy(
    principalType: PrincipalType,
    principalName: string,
    policyName: string,
  ): Promise<string | undefined> {
    const operation = `iam:Get${TITLE[principalType]}Policy`;
    try {
      const output = await this.call<{ PolicyDocument?: string }>(operation, () => {
        switch (principalType) {
          case 'role':
            return this.client.send(
              new GetRolePolicyCommand({ RoleName: principalName, PolicyName: policyName }),
            );
          case 'user':
            return this.client.send(
              new GetUserPolicyCommand({ UserName: principalName, PolicyName: policyName }),
            );
          case 'group':
            return this.client.send(
              new GetGroupPolicyCommand({ GroupName: principalName, PolicyName: policyName }),
            );
        }
      });
      return decodeDocument(output.PolicyDocument, operation);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** Creates or replaces an inline policy (`PutRolePolicy` / `PutUserPolicy` / `PutGroupPolicy`). */
  async putInlinePolicy(
    principalType: PrincipalType,
    principalName: string,
    policyName: string,
    document: string,
  ): Promise<void> {
    await this.call(`iam:Put${TITLE[principalType]}Policy`, () => {
      const input = { PolicyName: policyName, PolicyDocument: document };
      switch (principalType) {
        case 'role':
          return this.client.send(new PutRolePolicyCommand({ ...input, RoleName: principalName }));
        case 'user':
          return this.client.send(new PutUserPolicyCommand({ ...input, UserName: principalName }));
        case 'group':
          return this.client.send(new PutGroupPolicyCommand({ ...input, GroupName: principalName }));
      }
    });
  }

  /**
   * ARNs of the managed policies attached to a principal, all pages (`ListAttachedRolePolicies` /
   * `ListAttachedUserPolicies` / `ListAttachedGroupPolicies`). A missing principal is a {@link NotFoundError}.
   */
  async listAttachedPolicyArns(principalType: PrincipalType, principalName: string): Promise<string[]> {
    const operation = `iam:ListAttached${TITLE[principalType]}Policies`;
    return this.paginate(operation, async (marker) => {
      const output = await (() => {
        switch (principalType) {
          case 'role':
            return this.client.send(
              new ListAttachedRolePoliciesCommand({ RoleName: principalName, Marker: marker }),
            );
          case 'user':
            return this.client.send(
              new ListAttachedUserPoliciesCommand({ UserName: principalName, Marker: marker }),
            );
          case 'group':
            return this.client.send(
              new ListAttachedGroupPoliciesCommand({ GroupName: principalName, Marker: marker }),
            );
        }
      })();
      return {
        items: (output.AttachedPolicies ?? []).map((policy) =>
          required(policy.PolicyArn, operation, 'PolicyArn'),
        ),
        isTruncated: output.IsTruncated === true,
        marker: output.Marker,
      };
    });
  }

  /** Attaches a managed policy (`AttachRolePolicy` / `AttachUserPolicy` / `AttachGroupPolicy`). */
  async attachPolicy(principalType: PrincipalType, principalName: string, policyArn: string): Promise<void> {
    await this.call(`iam:Attach${TITLE[principalType]}Policy`, () => {
      switch (principalType) {
        case 'role':
          return this.client.send(
            new AttachRolePolicyCommand({ RoleName: principalName, PolicyArn: policyArn }),
          );
        case 'user':
          return this.client.send(
            new AttachUserPolicyCommand({ UserName: principalName, PolicyArn: policyArn }),
          );
        case 'group':
          return this.client.send(
            new AttachGroupPolicyCommand({ GroupName: principalName, PolicyArn: policyArn }),
          );
      }
    });
  }

  /**
   * Detaches a managed policy (`DetachRolePolicy` / `DetachUserPolicy` / `DetachGroupPolicy`); a policy
   * that is not attached is a {@link NotFoundError}.
   */
  async detachPolicy(principalType: PrincipalType, principalName: string, policyArn: string): Promise<void> {
    await this.call(`iam:Detach${TITLE[principalType]}Policy`, () => {
      switch (principalType) {
        case 'role':
          return this.client.send(
            new DetachRolePolicyCommand({ RoleName: principalName, PolicyArn: policyArn }),
          );
        case 'user':
          return this.client.send(
            new DetachUserPolicyCommand({ UserName: principalName, PolicyArn: policyArn }),
          );
        case 'group':
          return this.client.send(
            new DetachGroupPolicyCommand({ GroupName: principalName, PolicyArn: policyArn }),
          );
      }
    });
  }

  /** Inline policy names (`ListRolePolicies` / `ListUserPolicies` / `ListGroupPolicies`), all pages. */
  async listInlinePolicyNames(principalType: PrincipalType, principalName: string): Promise<string[]> {
    const operation = `iam:List${TITLE[principalType]}Policies`;
    return this.paginate(operation, async (marker) => {
      const output = await (() => {
        switch (principalType) {
          case 'role':
            return this.client.send(new ListRolePoliciesCommand({ RoleName: principalName, Marker: marker }));
          case 'user':
            return this.client.send(new ListUserPoliciesCommand({ UserName: principalName, Marker: marker }));
          case 'group':
            return this.client.send(
              new ListGroupPoliciesCommand({ GroupName: principalName, Marker: marker }),
            );
        }
      })();
      return {
        items: output.PolicyNames ?? [],
        isTruncated: output.IsTruncated === true,
        marker: output.Marker,
      };
    });
  }

  /** The principals a managed policy is attached to (`ListEntitiesForPolicy`), all pages. */
  async listEntitiesForPolicy(policyArn: string): Promise<PrincipalRef[]> {
    const operation = 'iam:ListEntitiesForPolicy';
    return this.paginate(operation, async (marker) => {
      const output = await this.client.send(
        new ListEntitiesForPolicyCommand({ PolicyArn: policyArn, Marker: marker }),
      );
      const items: PrincipalRef[] = [
        ...(output.PolicyRoles ?? []).map((r) => ({
          type: 'role' as const,
          name: required(r.RoleName, operation, 'RoleName'),
        })),
        ...(output.PolicyUsers ?? []).map((u) => ({
          type: 'user' as const,
          name: required(u.UserName, operation, 'UserName'),
        })),
        ...(output.PolicyGroups ?? []).map((g) => ({
          type: 'group' as const,
          name: required(g.GroupName, operation, 'GroupName'),
        })),
      ];
      return { items, isTruncated: output.IsTruncated === true, marker: output.Marker };
    });
  }

  /** A group's members (`GetGroup`), all pages. */
  async listGroupMembers(groupName: string): Promise<string[]> {
    const operation = 'iam:GetGroup';
    return this.paginate(operation, async (marker) => {
      const output = await this.client.send(new GetGroupCommand({ GroupName: groupName, Marker: marker }));
      return {
        items: (output.Users ?? []).map((u) => required(u.UserName, operation, 'UserName')),
        isTruncated: output.IsTruncated === true,
        marker: output.Marker,
      };
    });
  }

  /** The groups a user is in (`ListGroupsForUser`), all pages. */
  async listGroupsForUser(userName: string): Promise<string[]> {
    const operation = 'iam:ListGroupsForUser';
    return this.paginate(operation, async (marker) => {
      const output = await this.client.send(
        new ListGroupsForUserCommand({ UserName: userName, Marker: marker }),
      );
      return {
        items: (output.Groups ?? []).map((g) => required(g.GroupName, operation, 'GroupName')),
        isTruncated: output.IsTruncated === true,
        marker: output.Marker,
      };
    });
  }

  /** Adds a user to a group (`AddUserToGroup`). */
  async addUserToGroup(groupName: string, userName: string): Promise<void> {
    await this.call('iam:AddUserToGroup', () =>
      this.client.send(new AddUserToGroupCommand({ GroupName: groupName, UserName: userName })),
    );
  }

  /** Removes a user from a group (`RemoveUserFromGroup`). */
  async removeUserFromGroup(groupName: string, userName: string): Promise<void> {
    await this.call('iam:RemoveUserFromGroup', () =>
      this.client.send(new RemoveUserFromGroupCommand({ GroupName: groupName, UserName: userName })),
    );
  }

  /** A role's trust policy, decoded (`GetRole`). */
  async getRoleTrustPolicy(roleName: string): Promise<string> {
    const operation = 'iam:GetRole';
    const output = await this.call(operation, () =>
      this.client.send(new GetRoleCommand({ RoleName: roleName })),
    );
    return decodeDocument(output.Role?.AssumeRolePolicyDocument, operation);
  }

  /** The permissions boundary of a role or user (`GetRole` / `GetUser`). */
  async getPermissionsBoundary(
    principalType: 'role' | 'user',
    principalName: string,
  ): Promise<string | undefined> {
    if (principalType === 'role') {
      const output = await this.call('iam:GetRole', () =>
        this.client.send(new GetRoleCommand({ RoleName: principalName })),
      );
      return output.Role?.PermissionsBoundary?.PermissionsBoundaryArn || undefined;
    }
    const output = await this.call('iam:GetUser', () =>
      this.client.send(new GetUserCommand({ UserName: principalName })),
    );
    return output.User?.PermissionsBoundary?.PermissionsBoundaryArn || undefined;
  }

  /** Runs one SDK call, mapping its failure in the one place that knows AWS's error shapes. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw mapIamError(operation, error);
    }
  }

  /** Follows IAM's `Marker` / `IsTruncated` paging until the last page. */
  private async paginate<T>(
    operation: string,
    fetchPage: (marker: string | undefined) => Promise<{ items: T[]; isTruncated: boolean; marker?: string }>,
  ): Promise<T[]> {
    const items: T[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const current = marker;
      const result = await this.call(operation, () => fetchPage(current));
      items.push(...result.items);
      if (!result.isTruncated) return items;
      if (result.marker === undefined || result.marker === '' || result.marker === current) {
        // Without a new marker the next request would repeat the same page forever.
        throw new AwsOperationError(
          operation,
          'InvalidPagination',
          'IAM said truncated but gave no new marker',
        );
      }
      marker = result.marker;
    }
    throw new AwsOperationError(operation, 'InvalidPagination', `more than ${MAX_PAGES} pages`);
  }
}
