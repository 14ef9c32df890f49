// Bolt's App and Lambda receiver modules, not its index: the index also loads the Express, HTTP and Socket
// Mode receivers and OAuth (express, undici, jsonwebtoken, ...), which a Lambda receiver never uses and every
// cold start would pay for (scripts/lambda-esbuild.js keeps the two receivers App itself requires out too).
import App from '@slack/bolt/dist/App';
import AwsLambdaReceiver from '@slack/bolt/dist/receivers/AwsLambdaReceiver';
import type { SecretSource } from '../adapters/slack-credentials';
import type { SlackWorkspace } from '../config';
import { ConfigError, SlackApiError } from '../errors';
import type { Logger } from '../logger';
import type { AwsEvent, AwsHandler, AwsResponse } from './aws-types';
import { createSlackClient, slackCall, slackClientOptions, slackLogger, TOKEN_REFUSED } from './client';
import {
  type ActionKind,
  eventForBolt,
  type Refusal,
  readClick,
  readEnvelope,
  readPayload,
  verifySignature,
} from './interactivity-request';
import { registerListeners } from './listeners';
import type { ActionDependencies } from './listeners/actions/decision-action';
import { APPROVE_ACTION_ID, CONSOLE_ACTION_ID, DENY_ACTION_ID } from './messages/approval-message';
import { APPROVE_ALL_ACTION_ID, DENY_ALL_ACTION_ID, MAX_MEMBERS_PER_MESSAGE } from './messages/group-message';

export interface SlackAppOptions {
  /** The bot token's secret, read through its cache on every request (a rotation needs no new container). */
  readonly botToken: SecretSource;
  /** The signing secret's secret, likewise. */
  readonly signingSecret: SecretSource;
  /** The installed workspace and app: a click from anywhere else is refused, and the token must be theirs. */
  readonly workspace: SlackWorkspace;
  /** Bolt's `slackApiUrl`; Slack's own API unless set. */
  readonly slackApiUrl?: string;
  readonly logger: Logger;
  readonly dependencies: ActionDependencies;
  readonly nowSeconds?: () => number;
}

/** The buttons PolicyGate's messages hold; a click on anything else is refused before Bolt. */
export const ACTIONS: Readonly<Record<string, ActionKind>> = Object.freeze({
  [APPROVE_ACTION_ID]: 'decision',
  [DENY_ACTION_ID]: 'decision',
  [CONSOLE_ACTION_ID]: 'link',
  // A group message's buttons: each change's own, numbered exactly 1 to the most one message lists
  // (no leading zeros, nothing beyond), and the all-buttons, whose value is checked as a group's.
  ...Object.fromEntries(
    Array.from({ length: MAX_MEMBERS_PER_MESSAGE }, (_, i) => [
      [`${APPROVE_ACTION_ID}_m${i + 1}`, 'decision'],
      [`${DENY_ACTION_ID}_m${i + 1}`, 'decision'],
    ]).flat(),
  ),
  [APPROVE_ALL_ACTION_ID]: 'group',
  [DENY_ALL_ACTION_ID]: 'group',
});

/**
 * The Bolt app behind the interactivity Lambda, with PolicyGate's own gate in front of Bolt's receiver
 * (whose signature check is off: it can hold only the secret it was built with, refuses only old
 * timestamps, and answers a malformed body with an exception, so a 502). The gate
 * ({@link ./interactivity-request}) answers 405 to anything but POST, 400 to a malformed body, 401 to a
 * bad signature or a timestamp more than five minutes off (either way) and 403 to a click from another
 * workspace, enterprise or app, each with a warn-level log; only a checked click reaches Bolt, re-encoded.
 *
 * The signature is checked with the signing secret as cached; when it does not verify and the cached
 * value is old enough, the secret is read again once (bounded, see {@link SecretSource.refresh}), so a
 * rotation is picked up at once. Bolt answers Slack only after the listeners finish, so nothing is cut
 * short when Lambda freezes the container.
 *
 * At start (`start()`), and whenever the bot token changes, `auth.test` must report the configured team
 * (and enterprise): otherwise the app does not start, or the request answers 500 (fail closed), with an
 * error-level log.
 */
export function createSlackApp(options: SlackAppOptions): {
  app: App;
  handler: AwsHandler;
  /** Checks the bot token's workspace (`auth.test`); rejects when it is not the configured one. */
  start(): Promise<void>;
} {
  const { botToken, signingSecret, workspace, slackApiUrl, logger, dependencies } = options;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const receiver = new AwsLambdaReceiver({
    // Never used: the gate in `handler` verifies every request with the current secret first.
    signingSecret: '',
    signatureVerification: false,
    logger: slackLogger(logger),
  });
  const app = new App({
    receiver,
    // A single-workspace app: the token is the current value of its secret, checked by `verifiedToken`.
    authorize: async () => ({ botToken: await botToken.get() }),
    logger: slackLogger(logger),
    clientOptions: slackClientOptions('interactive', logger, slackApiUrl),
  });
  registerListeners(app, dependencies);
  app.error(async (error) => {
    logger.error('Slack listener error', { error });
  });
  const bolt = receiver.toHandler();

  // The token auth.test last confirmed; a rotated token is checked again before it is used.
  let confirmed: string | undefined;
  const verifiedToken = async (): Promise<void> => {
    let token = await botToken.get();
    if (token === confirmed) return;
    try {
      await checkWorkspace(token, workspace, logger, slackApiUrl);
    } catch (error) {
      // A token Slack refuses may have just been rotated: re-read its secret once (bounded) and check that.
      const fresh =
        error instanceof SlackApiError && TOKEN_REFUSED.has(error.code)
          ? await botToken.refresh()
          : undefined;
      if (fresh === undefined) throw error;
      token = fresh;
      await checkWorkspace(token, workspace, logger, slackApiUrl);
    }
    confirmed = token;
  };

  const refused = (refusal: Refusal): AwsResponse => {
    logger.warn('Slack request refused', {
      status: refusal.status,
      reason: refusal.reason,
      ...refusal.details,
    });
    return {
      statusCode: refusal.status,
      ...(refusal.status === 405 && { headers: { Allow: 'POST' } }),
      body: '',
    };
  };

  const handler = async (event: AwsEvent, context: unknown): Promise<AwsResponse> => {
    const envelope = readEnvelope(event, nowSeconds());
    if (!envelope.ok) return refused(envelope);
    try {
      let verified = verifySignature(envelope, await signingSecret.get());
      if (!verified) {
        const rotated = await signingSecret.refresh();
        verified = rotated !== undefined && verifySignature(envelope, rotated);
      }
      if (!verified) return refused({ ok: false, status: 401, reason: 'bad signature' });
      const parsed = readPayload(envelope.rawBody);
      if (!parsed.ok) return refused(parsed);
      const click = readClick(parsed.payload, workspace, ACTIONS);
      if (!click.ok) return refused(click);
      await verifiedToken();
      return await bolt(eventForBolt(event, click), context);
    } catch (error) {
      // Secrets Manager or auth.test failed, or the token is another workspace's: fail closed.
      logger.error('Slack interactivity unavailable', { error });
      return { statusCode: 500, body: '' };
    }
  };
  return { app, handler: handler as AwsHandler, start: verifiedToken };
}

/**
 * `auth.test` with the bot token must name the configured workspace (and enterprise): a token for
 * another workspace would post to, and look approvers up in, the wrong place.
 */
export async function checkWorkspace(
  token: string,
  workspace: SlackWorkspace,
  logger: Logger,
  slackApiUrl?: string,
): Promise<void> {
  const client = createSlackClient(token, 'interactive', logger, slackApiUrl);
  const auth = await slackCall('auth.test', () => client.auth.test());
  const teamId = auth.team_id;
  const enterpriseId = auth.enterprise_id || undefined;
  // Without SLACK_ENTERPRISE_ID a workspace that joined an Enterprise Grid still passes: its team id stays.
  const otherEnterprise = workspace.enterpriseId !== undefined && enterpriseId !== workspace.enterpriseId;
  if (teamId !== workspace.teamId || otherEnterprise) {
    throw new ConfigError(
      `the Slack bot token belongs to team ${JSON.stringify(teamId ?? null)}` +
        `${enterpriseId ? ` (enterprise ${JSON.stringify(enterpriseId)})` : ''}, not to SLACK_TEAM_ID ` +
        `${workspace.teamId}${workspace.enterpriseId ? ` / SLACK_ENTERPRISE_ID ${workspace.enterpriseId}` : ''}`,
    );
  }
}
