import {
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { decodePolicyText } from '../domain/policy-text';
import type { AccountInventory, PolicyInForce, PrincipalGrants } from '../domain/sweep';
import { AwsOperationError } from '../errors';
import { mapIamError } from './iam-gateway';

/** Reads everything the sweep compares: every principal's grants and every managed policy in force. */
export interface InventorySource {
  read(): Promise<AccountInventory>;
}

// 1,000 items a page; an account with half a million principals and policies is far past IAM's quotas.
const MAX_PAGES = 500;

/**
 * {@link InventorySource} over IAM's `GetAccountAuthorizationDetails` (all pages). Documents are decoded as
 * the IAM adapter decodes them (URL-encoded from IAM, raw from some emulators). A policy attached somewhere
 * but missing from the answer's `Policies` (AWS managed policies are listed only when attached, and a
 * policy may be attached between pages) is read with `GetPolicy`/`GetPolicyVersion`.
 */
export class IamInventorySource implements InventorySource {
  constructor(private readonly client: IAMClient) {}

  async read(): Promise<AccountInventory> {
    const principals: PrincipalGrants[] = [];
    const policies = new Map<string, PolicyInForce>();
    let marker: string | undefined;
    for (let page = 0; ; page += 1) {
      if (page >= MAX_PAGES) {
        throw new AwsOperationError(
          'iam:GetAccountAuthorizationDetails',
          'InvalidPagination',
          `more than ${MAX_PAGES} pages`,
        );
      }
      const output = await this.call<GetAccountAuthorizationDetailsCommandOutput>(
        'iam:GetAccountAuthorizationDetails',
        () =>
          this.client.send(
            new GetAccountAuthorizationDetailsCommand({
              Filter: ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'],
              MaxItems: 1000,
              Marker: marker,
            }),
          ),
      );
      for (const user of output.UserDetailList ?? []) {
        principals.push({
          type: 'user',
          name: required(user.UserName, 'UserName'),
          inline: (user.UserPolicyList ?? []).map(inlineOf),
          attached: (user.AttachedManagedPolicies ?? []).map((p) => required(p.PolicyArn, 'PolicyArn')),
          groups: user.GroupList ?? [],
        });
      }
      for (const group of output.GroupDetailList ?? []) {
        principals.push({
          type: 'group',
          name: required(group.GroupName, 'GroupName'),
          inline: (group.GroupPolicyList ?? []).map(inlineOf),
          attached: (group.AttachedManagedPolicies ?? []).map((p) => required(p.PolicyArn, 'PolicyArn')),
        });
      }
      for (const role of output.RoleDetailList ?? []) {
        principals.push({
          type: 'role',
          name: required(role.RoleName, 'RoleName'),
          inline: (role.RolePolicyList ?? []).map(inlineOf),
          attached: (role.AttachedManagedPolicies ?? []).map((p) => required(p.PolicyArn, 'PolicyArn')),
        });
      }
      for (const policy of output.Policies ?? []) {
        const arn = required(policy.Arn, 'Arn');
        const defaultVersionId = required(policy.DefaultVersionId, 'DefaultVersionId');
        const version = (policy.PolicyVersionList ?? []).find((v) => v.VersionId === defaultVersionId);
        if (version?.Document === undefined) continue;
        policies.set(arn.toLowerCase(), {
          arn,
          defaultVersionId,
          document: decode(version.Document),
          awsManaged: isAwsManaged(arn),
        });
      }
      if (output.IsTruncated !== true) break;
      if (!output.Marker || output.Marker === marker) {
        throw new AwsOperationError(
          'iam:GetAccountAuthorizationDetails',
          'InvalidPagination',
          'IAM said truncated but gave no new marker',
        );
      }
      marker = output.Marker;
    }
    for (const arn of new Set(principals.flatMap((p) => p.attached))) {
      if (policies.has(arn.toLowerCase())) continue;
      const policy = await this.readPolicy(arn);
      if (policy) policies.set(arn.toLowerCase(), policy);
    }
    return { principals, policies };
  }

  private async readPolicy(arn: string): Promise<PolicyInForce | undefined> {
    const output = await this.call('iam:GetPolicy', () =>
      this.client.send(new GetPolicyCommand({ PolicyArn: arn })),
    );
    const defaultVersionId = output.Policy?.DefaultVersionId;
    if (!defaultVersionId) return undefined;
    const version = await this.call('iam:GetPolicyVersion', () =>
      this.client.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: defaultVersionId })),
    );
    const document = version.PolicyVersion?.Document;
    return document === undefined
      ? undefined
      : { arn, defaultVersionId, document: decode(document), awsManaged: isAwsManaged(arn) };
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw mapIamError(operation, error);
    }
  }
}

function isAwsManaged(arn: string): boolean {
  return /^arn:[^:]+:iam::aws:policy\//.test(arn);
}

function required<T>(value: T | undefined | null, field: string): T {
  if (value === undefined || value === null) {
    throw new AwsOperationError(
      'iam:GetAccountAuthorizationDetails',
      'IncompleteResponse',
      `IAM's answer has no ${field}`,
    );
  }
  return value;
}

function decode(document: string): string {
  try {
    return decodePolicyText(document);
  } catch (error) {
    throw new AwsOperationError(
      'iam:GetAccountAuthorizationDetails',
      'InvalidDocumentEncoding',
      'IAM returned a policy document that is not valid URL encoding',
      { cause: error },
    );
  }
}

function inlineOf(policy: { PolicyName?: string; PolicyDocument?: string }): {
  name: string;
  document: string;
} {
  return {
    name: required(policy.PolicyName, 'PolicyName'),
    document: decode(required(policy.PolicyDocument, 'PolicyDocument')),
  };
}
