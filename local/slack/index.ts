/**
 * Local Slack: a Web API stand-in for `@slack/web-api`'s WebClient, a Block Kit validator, and signed
 * delivery of interactivity payloads to an app's Request URL.
 *
 * ```ts
 * const slack = await startSlackServer({ botToken: 'xoxb-local', users: [{ id: 'U0ALICE', name: 'alice' }] });
 * const client = new WebClient('xoxb-local', { slackApiUrl: slack.url });
 * // … the product posts an approval message; then a user clicks Approve:
 * const res = await slack.deliverBlockAction({ url, signingSecret, user: { id: 'U0ALICE' }, action: { actionId: 'approve' } });
 * await slack.close();
 * ```
 */
export { BLOCK_KIT_LIMITS, type FoundButton, findButton, validateBlocks } from './block-kit';
export {
  type ActionMessage,
  type BlockAction,
  type BlockActionsPayload,
  type BuildBlockActionsOptions,
  buildBlockActionsPayload,
  type DeliverBlockActionOptions,
  type DeliverSignedBodyOptions,
  type DeliveryResult,
  deliverBlockAction,
  deliverPayload,
  deliverSignedBody,
  SLACK_USER_AGENT,
  signSlackRequest,
  type Tamper,
} from './deliver';
export {
  createSlackRateLimiter,
  METHOD_RATE_PER_MINUTE,
  POSTS_PER_SECOND_PER_CHANNEL,
  type RateDecision,
  retryAfterSeconds,
  SLACK_TIERS,
  type SlackRateLimiter,
  type SlackRateLimitOptions,
} from './rate-limits';
export {
  DEFAULT_SCOPES,
  type ExportedSlackState,
  type LocalSlackServer,
  MAX_MESSAGE_TEXT_LENGTH,
  type ResponseUrlPost,
  type ServerDeliverBlockActionOptions,
  type SlackCall,
  type SlackChannelSpec,
  type SlackEphemeral,
  type SlackFailure,
  type SlackMessage,
  type SlackMessageVersion,
  type SlackUserSpec,
  type StartSlackServerOptions,
  startSlackServer,
} from './server';
