import { slackHandler } from '../app/slack-app';
import { createLogger } from '../logger';
import type { AwsEvent, AwsHandler, AwsResponse } from '../slack/aws-types';

const logger = createLogger('policy-gate');

/**
 * Slack interactivity endpoint (Lambda Function URL): Approve / Deny clicks. A two-argument async handler,
 * as Node 24 Lambda runtimes require. When PolicyGate cannot start (the Slack secret not filled yet) it
 * answers 500 and changes nothing; Slack shows the clicker an error.
 */
export const handler = async (event: AwsEvent, context: unknown): Promise<AwsResponse> => {
  let slack: AwsHandler;
  try {
    slack = await slackHandler();
  } catch (error) {
    logger.error('Slack interactivity unavailable', { error });
    return { statusCode: 500, body: '' };
  }
  return slack(event, context);
};
