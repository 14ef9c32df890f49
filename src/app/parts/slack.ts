import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AlarmMetrics } from '../../adapters/alarm-metrics';
import { SealedSlackNoteOutbox } from '../../adapters/sealed-note-outbox';
import {
  SlackApprovalChannel,
  type SlackApprovalChannelOptions,
} from '../../adapters/slack-approval-channel';
import {
  BOT_TOKEN,
  type SecretSource,
  SecretsManagerSecret,
  SIGNING_SECRET,
} from '../../adapters/slack-credentials';
import type { Config } from '../../config';
import { ConfigError } from '../../errors';
import type { Logger } from '../../logger';
import type { ApprovalChannel } from '../../services/approval-channel';
import { type SlackCallProfile, slackClientFactory, type WebClient } from '../../slack/client';
import type { PostPacer } from '../../slack/post-pacer';
import type { SlackStores } from './slack-stores';

/** Slack over the Web API (no Bolt): the secrets, a client per call profile, the request channel. */
export interface SlackAccess {
  /** The bot token's secret (every Slack-posting function). */
  readonly botToken?: SecretSource;
  /**
   * The signing secret's secret: only the interactivity function has it configured (and may read it);
   * building this source reads nothing, only the interactivity app does.
   */
  readonly signingSecret?: SecretSource;
  /** A Web API client with the current bot token; rejects when the stage has no bot token. */
  client(profile: SlackCallProfile): Promise<WebClient>;
  /** The request messages with that call profile (one per profile); `undefined` without a channel. */
  channel(profile: SlackCallProfile): ApprovalChannel | undefined;
  /** The request messages in another channel (an account's or OU's own, issue 13). */
  channelIn(profile: SlackCallProfile, channelId: string): ApprovalChannel;
}

/**
 * A click is answered within Slack's 3 s, so the interactive channel waits out one short rate limit at
 * most; the workflow functions leave longer waits to the delivery worker (issue 12).
 */
function channelOptions(
  profile: SlackCallProfile,
  stores: SlackStores | undefined,
  pacer: PostPacer | undefined,
): SlackApprovalChannelOptions {
  return {
    ...(profile === 'interactive' && { rateLimitBudgetMs: 1_000 }),
    ...(stores && {
      // A click never waits for another redraw of its message (Slack gives it 3 s): that redraw reads the
      // records again once it ends, and the click's own redraw is queued for the worker besides.
      grouping: profile === 'interactive' ? { ...stores.grouping, pageWaitMs: 0 } : stores.grouping,
      notes: stores.notes,
    }),
    ...(pacer && { pacer }),
  };
}

/**
 * The stage's Slack access; nothing is read until a message is posted or a click checked. With `stores`
 * (functions that have the approvals table), group messages are drawn as groups and thread lines can wait.
 */
export function slackAccess(
  cfg: Config,
  logger: Logger,
  stores?: SlackStores,
  posting: { readonly pacer?: PostPacer; readonly metrics?: AlarmMetrics } = {},
): SlackAccess {
  const secrets =
    cfg.slackBotTokenSecretArn || cfg.slackSigningSecretArn
      ? new SecretsManagerClient({ region: cfg.region })
      : undefined;
  const cache = { ttlSeconds: cfg.slackSecretCacheSeconds };
  const botToken =
    secrets && cfg.slackBotTokenSecretArn
      ? new SecretsManagerSecret(secrets, cfg.slackBotTokenSecretArn, BOT_TOKEN, cache)
      : undefined;
  const signingSecret =
    secrets && cfg.slackSigningSecretArn
      ? new SecretsManagerSecret(secrets, cfg.slackSigningSecretArn, SIGNING_SECRET, cache)
      : undefined;
  const client: (profile: SlackCallProfile) => Promise<WebClient> = botToken
    ? slackClientFactory(botToken, logger, cfg.slackApiUrl)
    : () =>
        Promise.reject(
          new ConfigError('Slack is not configured for this stage: SLACK_BOT_TOKEN_SECRET_ARN is not set'),
        );
  // Queued thread lines are sealed with a key from the bot token: a line written to the table by anyone
  // else is never posted in PolicyGate's name.
  const sealedStores: SlackStores | undefined =
    stores && botToken
      ? {
          ...stores,
          notes: new SealedSlackNoteOutbox(stores.notes, () => botToken.get(), {
            error: (message, fields) => {
              logger.error(message, fields);
              // As a record changed outside PolicyGate: the self-protection alarm, not only a log line.
              posting.metrics?.count('SelfProtectionAlerts');
            },
          }),
        }
      : stores;
  const { slackChannelId } = cfg;
  const channels = new Map<SlackCallProfile, ApprovalChannel>();
  const channel = (profile: SlackCallProfile): ApprovalChannel | undefined => {
    if (!slackChannelId) return undefined;
    let known = channels.get(profile);
    if (!known) {
      known = new SlackApprovalChannel(
        () => client(profile),
        slackChannelId,
        channelOptions(profile, sealedStores, posting.pacer),
      );
      channels.set(profile, known);
    }
    return known;
  };
  const channelIn = (profile: SlackCallProfile, channelId: string): ApprovalChannel =>
    new SlackApprovalChannel(
      () => client(profile),
      channelId,
      channelOptions(profile, sealedStores, posting.pacer),
    );
  return {
    ...(botToken && { botToken }),
    ...(signingSecret && { signingSecret }),
    client,
    channel,
    channelIn,
  };
}
