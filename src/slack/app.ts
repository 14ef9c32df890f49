import { App, AwsLambdaReceiver } from '@slack/bolt';
import type { SlackCredentials } from '../adapters/slack-credentials';
import type { Logger } from '../logger';
import type { AwsHandler } from './aws-types';
import { slackClientOptions, slackLogger } from './client';
import { registerListeners } from './listeners';
import type { ActionDependencies } from './listeners/actions/decision-action';

export interface SlackAppOptions {
  readonly credentials: SlackCredentials;
  /** Bolt's `slackApiUrl`; Slack's own API unless set. */
  readonly slackApiUrl?: string;
  readonly logger: Logger;
  readonly dependencies: ActionDependencies;
}

/**
 * The Bolt app behind the interactivity Lambda. `AwsLambdaReceiver` verifies every request's signature and
 * rejects timestamps older than five minutes with 401 before any listener runs; it answers Slack only
 * after the listeners finish, so nothing is cut short when Lambda freezes the container.
 */
export function createSlackApp(options: SlackAppOptions): { app: App; handler: AwsHandler } {
  const { credentials, slackApiUrl, logger, dependencies } = options;
  const receiver = new AwsLambdaReceiver({
    signingSecret: credentials.signingSecret,
    logger: slackLogger(logger),
    // Bolt's default handler logs the signature header; the timestamp is all an investigation needs.
    invalidRequestSignatureHandler: ({ ts }) => {
      logger.warn('Slack request rejected: bad signature or stale timestamp', { requestTimestamp: ts });
    },
  });
  const app = new App({
    receiver,
    // A single-workspace app: the token is fixed, so no auth.test is needed per request or at start-up.
    authorize: async () => ({ botToken: credentials.botToken }),
    logger: slackLogger(logger),
    clientOptions: slackClientOptions('interactive', logger, slackApiUrl),
  });
  registerListeners(app, dependencies);
  app.error(async (error) => {
    logger.error('Slack listener error', { error });
  });
  return { app, handler: receiver.toHandler() };
}
