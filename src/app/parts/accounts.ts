import { AccountRoutedChannel } from '../../adapters/account-channel';
import type { ApprovalStore } from '../../adapters/approval-store';
import type { Config } from '../../config';
import { riskTest } from '../../domain/change-analysis';
import { ConfigError } from '../../errors';
import type { Logger } from '../../logger';
import type { AccountRouting } from '../../services/account-routing';
import type { ApprovalChannel } from '../../services/approval-channel';
import type { RecordSeals } from '../../services/record-seals';
import type { SlackCallProfile } from '../../slack/client';
import { accountRouting } from '../account-dependencies';
import type { SlackAccess } from './slack';

/**
 * The account routing of a function that only routes requests and decides (request approval, the two
 * deciding functions): the settings and names of each account, and no IAM at all (the stack gives these
 * functions none), so nothing of IAM is in their bundles.
 */
export function accountContextPart(
  cfg: Config,
  logger: Logger,
  store: ApprovalStore,
  seals: RecordSeals,
): AccountRouting {
  const noIam = (): never => {
    throw new ConfigError('this function routes and decides; it acts in no account');
  };
  return accountRouting(cfg, {
    index: store,
    isRisky: riskTest(cfg.restricted),
    trusts: async (record) => (await seals.check(record, { decision: true })).ok,
    logger,
    iam: { iamFor: async () => noIam() },
    gatewayOf: noIam,
  });
}

/** The request channel of the change's account (its entry's or nearest OU's channel, else the stage's). */
export function routedChannel(
  cfg: Config,
  slack: SlackAccess,
  accounts: AccountRouting,
  profile: SlackCallProfile,
): ApprovalChannel | undefined {
  const stage = slack.channel(profile);
  if (!stage || !cfg.slackChannelId) return undefined;
  return new AccountRoutedChannel(
    stage,
    cfg.slackChannelId,
    (channelId) => slack.channelIn(profile, channelId),
    (accountId) => accounts.contextOf(accountId),
  );
}
