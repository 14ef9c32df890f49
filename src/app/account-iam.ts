import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { ApprovalStore } from '../adapters/approval-store';
import { AwsIamGateway, type IamGateway } from '../adapters/iam-gateway';
import { StsMemberIamClients } from '../adapters/member-iam-clients';
import type { Config } from '../config';
import { riskTest } from '../domain/change-analysis';
import { ConfigError } from '../errors';
import type { Logger } from '../logger';
import type { AccountRouting } from '../services/account-routing';
import {
  type IamClientForAccount,
  type MemberRoleUse,
  memberRoleNameFor,
} from '../services/iam-client-for-account';
import type { RecordSeals } from '../services/record-seals';
import { accountRouting, partitionOfRegion } from './account-dependencies';

/**
 * IAM for the account routing, in the functions that act in IAM (analyse, restore, the sweep); the ones
 * that only route and decide build the routing without this module, so their bundles hold no IAM client.
 */
/**
 * IAM per account: the function's own client centrally, elsewhere the member role for `use` (the
 * function's own: each member role trusts only its function's central role), with the external id.
 * Imported statically: a deferred `require` of STS measured slower at cold start than the import, because
 * the bundler can no longer trim the SDK modules it shares with the other clients.
 */
export function memberIamClients(cfg: Config, use: MemberRoleUse, central?: IAMClient): IamClientForAccount {
  const { organization } = cfg;
  let own = central;
  const centralClient = (): IAMClient => {
    own ??= new IAMClient({ region: cfg.region });
    return own;
  };
  if (!organization) {
    // Only the central account: the routing admits no other, and this refuses one all the same.
    return {
      iamFor: async (accountId) => {
        if (cfg.accountId !== undefined && accountId === cfg.accountId) return centralClient();
        throw new ConfigError(
          `account ${accountId} is not this stage's account, and it gates no organization`,
        );
      },
    };
  }
  return new StsMemberIamClients(new STSClient({ region: cfg.region }), {
    centralAccountId: cfg.accountId ?? '',
    partition: partitionOfRegion(cfg.region),
    region: cfg.region,
    memberRoleName: memberRoleNameFor(organization.memberRoleName, use),
    externalId: organization.memberRoleExternalId,
    ...(central && { centralClient: central }),
  });
}

/** The IAM gateway over an account's client. */
export function iamGateway(client: IAMClient): IamGateway {
  return new AwsIamGateway(client);
}

/**
 * Which account a change is in and what applies there (issue 13): the event's account checked against
 * the central account and the organization, IAM through the member role in a member account, the
 * per-account settings. Every function that admits, acts in an account, routes a request or decides gets it;
 * `use` names the member role the function acts as (analyseChange `quarantine`, restoreChange `restore`).
 */
export function accountsPart(
  cfg: Config,
  logger: Logger,
  store: ApprovalStore,
  seals: RecordSeals,
  use: MemberRoleUse,
): AccountRouting {
  return accountRouting(cfg, {
    index: store,
    isRisky: riskTest(cfg.restricted),
    trusts: async (record) => (await seals.check(record, { decision: true })).ok,
    logger,
    iam: memberIamClients(cfg, use),
    gatewayOf: iamGateway,
  });
}
