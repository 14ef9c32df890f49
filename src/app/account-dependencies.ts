import type { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import type { ApprovalIndex } from '../adapters/approval-store';
import type { IamGateway } from '../adapters/iam-gateway';
import { OrganizationsDirectory } from '../adapters/organizations-directory';
import type { Config } from '../config';
import type { StageSettings } from '../domain/account-settings';
import type { ApprovalRecord } from '../domain/approval';
import type { Logger } from '../logger';
import { AccountRouting } from '../services/account-routing';
import type { IamClientForAccount } from '../services/iam-client-for-account';

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

/** The organization's accounts and OUs, cached as the stage says. */
export function organizationDirectory(
  cfg: Config,
  organization: NonNullable<Config['organization']>,
): OrganizationsDirectory {
  // Organizations answers from us-east-1 in the commercial partition, from the partition's own region elsewhere.
  const partition = partitionOfRegion(cfg.region);
  return new OrganizationsDirectory(
    new OrganizationsClient({ region: partition === 'aws' ? 'us-east-1' : cfg.region }),
    {
      accountsTtlSeconds: organization.accountsCacheSeconds,
    },
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
    /** IAM in each account (see `account-iam.ts`); a function that only routes and decides passes none. */
    readonly iam: IamClientForAccount;
    readonly gatewayOf: (client: IAMClient) => IamGateway;
  },
): AccountRouting {
  const partition = partitionOfRegion(cfg.region);
  const { organization } = cfg;
  const { iam, gatewayOf } = parts;
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
    gatewayOf,
    quarantine: { index: parts.index, isRisky: parts.isRisky, trusts: parts.trusts },
    settings: cfg.accountSettings,
    stage: stageSettings(cfg),
    logger: parts.logger,
  });
}
