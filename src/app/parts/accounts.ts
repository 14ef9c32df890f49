import { AccountRoutedChannel } from '../../adapters/account-channel';
import type { ApprovalStore } from '../../adapters/approval-store';
import type { Config } from '../../config';
import { riskTest } from '../../domain/change-analysis';
import type { Logger } from '../../logger';
import type { AccountRouting } from '../../services/account-routing';
import type { ApprovalChannel } from '../../services/approval-channel';
import type { RecordSeals } from '../../services/record-seals';
import type { SlackCallProfile } from '../../slack/client';
import { accountRouting } from '../account-dependencies';
import type { SlackAccess } from './slack';

/**
 * Which account a change is in and what applies there (issue 13): the event's account checked against
 * the central account and the organization, IAM through the member role in a member account, the
 * per-account settings. Every function that admits, acts in an account, routes a request or decides gets it.
 */
export function accountsPart(
  cfg: Config,
  logger: Logger,
  store: ApprovalStore,
  seals: RecordSeals,
): AccountRouting {
  return accountRouting(cfg, {
    index: store,
    isRisky: riskTest(cfg.restricted),
    trusts: async (record) => (await seals.check(record, { decision: true })).ok,
    logger,
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
