import { ConfigError } from '../errors';
import { createSlackApp } from '../slack/app';
import type { AwsHandler } from '../slack/aws-types';
import { type Dependencies, dependencies } from './dependencies';

/*
 * The Slack interactivity app's composition, apart from `dependencies.ts` so that only the interactivity
 * function loads Bolt: the workflow functions (AnalyseChange quarantines while a risky change is in
 * force) do not pay for it at cold start.
 */
const handlers = new WeakMap<Dependencies, Promise<AwsHandler>>();

async function build(deps: Dependencies): Promise<AwsHandler> {
  const { credentials, channel, slackApiUrl, logger } = deps.slack;
  if (!credentials || !channel) {
    throw new ConfigError(
      'Slack is not configured for this stage: SLACK_SECRET_ARN and SLACK_CHANNEL_ID are required',
    );
  }
  const { handler } = createSlackApp({
    credentials: await credentials.get(),
    ...(slackApiUrl && { slackApiUrl }),
    logger,
    dependencies: { decisions: deps.decisions, channel, logger },
  });
  return handler;
}

/**
 * The Bolt handler for this container, built on first use (it needs the secret). A failed start (secret
 * not filled yet, Secrets Manager throttled) is forgotten, so the next request tries again.
 */
export function slackHandler(): Promise<AwsHandler> {
  const deps = dependencies();
  let handler = handlers.get(deps);
  if (!handler) {
    handler = build(deps);
    handlers.set(deps, handler);
    handler.catch(() => handlers.delete(deps));
  }
  return handler;
}
