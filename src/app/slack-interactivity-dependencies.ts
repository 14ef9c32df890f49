import type { SecretSource } from '../adapters/slack-credentials';
import type { SlackGroupStore } from '../adapters/slack-group-store';
import { config, type SlackWorkspace } from '../config';
import { createLogger, type Logger } from '../logger';
import type { ApprovalChannel } from '../services/approval-channel';
import type { DecisionService } from '../services/decision-service';
import { perContainer } from './container';
import { decidingParts } from './deciding-parts';

/** What the Slack interactivity app is built from (see `slack-app.ts`, which alone loads Bolt). */
export interface SlackParts {
  /** The bot token's secret (every Slack-posting function). */
  readonly botToken?: SecretSource;
  /**
   * The signing secret's secret: only the interactivity function has it configured (and may read it);
   * building this source reads nothing, only the interactivity app does.
   */
  readonly signingSecret?: SecretSource;
  /** The installed workspace and app that clicks must come from. */
  readonly workspace?: SlackWorkspace;
  /** The request messages, with the interactive call profile (short timeouts, no sleeping on 429). */
  readonly channel?: ApprovalChannel;
  readonly slackApiUrl?: string;
  /** The Slack groups, for "Approve all" / "Deny all" (which members a message listed). */
  readonly groups?: Pick<SlackGroupStore, 'get'>;
  readonly logger: Logger;
}

/** The interactivity function's parts: the decision service and Slack. */
export interface InteractivityDependencies {
  readonly decisions: DecisionService;
  readonly slack: SlackParts;
}

/** Slack's parts as the interactivity app takes them. */
export function slackParts(
  cfg: ReturnType<typeof config>,
  logger: Logger,
  slack: ReturnType<typeof decidingParts>['slack'],
  groups?: Pick<SlackGroupStore, 'get'>,
): SlackParts {
  const channel = slack.channel('interactive');
  return {
    ...(slack.botToken && { botToken: slack.botToken }),
    ...(slack.signingSecret && { signingSecret: slack.signingSecret }),
    ...(cfg.slackWorkspace && { workspace: cfg.slackWorkspace }),
    ...(channel && { channel }),
    ...(cfg.slackApiUrl && { slackApiUrl: cfg.slackApiUrl }),
    ...(groups && { groups }),
    logger,
  };
}

/** The Slack interactivity function: decides clicks; no IAM, no SNS. */
export const interactivityDependencies: () => InteractivityDependencies = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const { decisions, slack, stores } = decidingParts(cfg, logger);
  return { decisions, slack: slackParts(cfg, logger, slack, stores.grouping.groups) };
});
