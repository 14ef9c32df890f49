import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import type { ApprovalIndex } from '../adapters/approval-store';
import { AwsIamGateway } from '../adapters/iam-gateway';
import { StsMemberIamClients } from '../adapters/member-iam-clients';
import { OrganizationsDirectory } from '../adapters/organizations-directory';
import type { Config } from '../config';
import type { StageSettings } from '../domain/account-settings';
import type { ApprovalRecord } from '../domain/approval';
import type { Logger } from '../logger';
import { AccountRouting } from '../services/account-routing';

/** `aws`, `aws-cn` or `aws-us-gov`, from the region the functions run in. */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The stage's own settings, every account's last fallback. */
export function stageSettings(cfg: Config): StageSettings {
  return {
    restricted: cfg.restricted,
    approvers: { slackUserIds: cfg.approverSlackUserIds, slackUsergroupIds: cfg.approverSlackUsergroupIds },
    ...(cfg.slackChannelId && { slackChannelId: cfg.slackChannelId }),
    approvalTimeoutSeconds: cfg.approvalTimeoutSeconds,
  };
}

/** IAM per account: the function's own client centrally, the member role (with the external id) elsewhere. */
export function memberIamClients(cfg: Config, central?: IAMClient): StsMemberIamClients {
  const { organization } = cfg;
  return new StsMemberIamClients(new STSClient({ region: cfg.region }), {
    centralAccountId: cfg.accountId ?? '',
    partition: partitionOfRegion(cfg.region),
    region: cfg.region,
    memberRoleName: organization?.memberRoleName ?? 'policy-gate-member',
    externalId: organization?.memberRoleExternalId ?? '',
    centralClient: central ?? new IAMClient({ region: cfg.region }),
  });
}

/** The organization's accounts and OUs, cached as the stage says. */
export function organizationDirectory(
  cfg: Config,
  organization: NonNullable<Config['organization']>,
): OrganizationsDirectory {
  // Organizations answers from us-east-1 in the commercial partition, from the partition's own region elsewhere.
  const partition = partitionOfRegion(cfg.region);
  return new OrganizationsDirectory(
    new OrganizationsClient({ region: partition === 'aws' ? 'us-east-1' : cfg.region }),
    { accountsTtlSeconds: organization.accountsCacheSeconds },
  );
}

/**
 * The account routing (issue 13): the event's account checked against the central account and the
 * organization, IAM through the member role in member accounts, the per-account settings. Built once
 * per container next to the other clients; Organizations and STS are reached through their
 * `AWS_ENDPOINT_URL_*` variables like every other service.
 */
export function accountRouting(
  cfg: Config,
  parts: {
    readonly index: ApprovalIndex;
    readonly isRisky: (document: string) => boolean;
    readonly trusts: (record: ApprovalRecord) => Promise<boolean>;
    readonly logger: Logger;
    /** The central account's IAM client (the function's own credentials); one is built if absent. */
    readonly iam?: IAMClient;
  },
): AccountRouting {
  const partition = partitionOfRegion(cfg.region);
  const { organization } = cfg;
  const iam = memberIamClients(cfg, parts.iam);
  return new AccountRouting({
    ...(cfg.accountId && { centralAccountId: cfg.accountId }),
    ...(organization && {
      organization: {
        organizationId: organization.organizationId,
        memberRoleName: organization.memberRoleName,
        partition,
      },
      // Organizations answers from us-east-1 in the commercial partition, from the partition's own region elsewhere.
      directory: organizationDirectory(cfg, organization),
    }),
    iam,
    gatewayOf: (client) => new AwsIamGateway(client),
    quarantine: { index: parts.index, isRisky: parts.isRisky, trusts: parts.trusts },
    settings: cfg.accountSettings,
    stage: stageSettings(cfg),
    logger: parts.logger,
  });
}
