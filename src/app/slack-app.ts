import { ConfigError } from '../errors';
import { createSlackApp } from '../slack/app';
import type { AwsHandler } from '../slack/aws-types';
import {
  type InteractivityDependencies,
  interactivityDependencies,
} from './slack-interactivity-dependencies';

/*
 * The Slack interactivity app's composition: only the interactivity function loads Bolt, and it loads no
 * client it does not use (no IAM, no SNS).
 */
const handlers = new WeakMap<InteractivityDependencies, Promise<AwsHandler>>();

async function build(deps: InteractivityDependencies): Promise<AwsHandler> {
  const { botToken, signingSecret, workspace, channel, slackApiUrl, groups, logger } = deps.slack;
  if (!botToken || !signingSecret || !workspace || !channel) {
    throw new ConfigError(
      'Slack is not configured for this stage: SLACK_BOT_TOKEN_SECRET_ARN, SLACK_SIGNING_SECRET_ARN, ' +
        'SLACK_TEAM_ID, SLACK_APP_ID and SLACK_CHANNEL_ID are required',
    );
  }
  const { handler, start } = createSlackApp({
    botToken,
    signingSecret,
    workspace,
    ...(slackApiUrl && { slackApiUrl }),
    logger,
    dependencies: { decisions: deps.decisions, channel, logger, ...(groups && { groups }) },
  });
  // Fail closed at start: a bot token that is not the configured workspace's never serves a click.
  await start();
  return handler;
}

/**
 * The interactivity handler for this container, built on first use. A failed start (secret not filled
 * yet, Secrets Manager throttled, the token another workspace's) is forgotten, so the next request tries
 * again. The secrets are read through their caches on every request, so a rotation needs no new
 * container.
 */
export function slackHandler(): Promise<AwsHandler> {
  const deps = interactivityDependencies();
  let handler = handlers.get(deps);
  if (!handler) {
    handler = build(deps);
    handlers.set(deps, handler);
    handler.catch(() => handlers.delete(deps));
  }
  return handler;
}
