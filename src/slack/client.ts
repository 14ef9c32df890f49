// The Web API client Bolt itself builds on, imported directly: the workflow functions post and update
// messages but must not pay for loading Bolt (its receivers pull in an HTTP server framework).
import {
  ErrorCode,
  LogLevel,
  type Logger as SlackLogger,
  WebClient,
  type WebClientOptions,
} from '@slack/web-api';
import { SlackApiError } from '../errors';
import type { Logger } from '../logger';
import { RATE_LIMITED } from './call-outcome';

export { MAX_RETRY_AFTER_MS, outcomeUnknown, RATE_LIMITED, rateLimitWaitMs } from './call-outcome';
export type { WebClient };

/**
 * How hard a Slack call may try. `workflow` steps have time (a Lambda step of up to 30 s) and must get
 * their message through, so they retry and honour `Retry-After`. `interactive` calls run inside Slack's
 * 3-second acknowledgement window, so they retry once, quickly, and never sleep on a rate limit.
 */
export type SlackCallProfile = 'workflow' | 'interactive';

const PROFILES: Record<
  SlackCallProfile,
  Pick<WebClientOptions, 'retryConfig' | 'timeout' | 'rejectRateLimitedCalls'>
> = {
  workflow: {
    retryConfig: { retries: 4, factor: 2, minTimeout: 250, maxTimeout: 4_000 },
    timeout: 5_000,
    rejectRateLimitedCalls: false,
  },
  interactive: {
    retryConfig: { retries: 1, factor: 1, minTimeout: 100, maxTimeout: 100 },
    timeout: 1_200,
    rejectRateLimitedCalls: true,
  },
};

/**
 * Routes the Slack SDK's own logging into PolicyGate's logger. Only warnings and errors pass: the SDK's
 * debug output would include request bodies.
 */
export function slackLogger(logger: Logger): SlackLogger {
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : String(m))).join(' ');
  return {
    debug: () => {},
    info: () => {},
    warn: (...msg: unknown[]) => logger.warn('slack sdk', { detail: text(msg) }),
    error: (...msg: unknown[]) => logger.error('slack sdk', { detail: text(msg) }),
    setLevel: () => {},
    getLevel: () => LogLevel.WARN,
    setName: () => {},
  };
}

/** WebClient options for a profile; `slackApiUrl` is Slack's own API unless configured. */
export function slackClientOptions(
  profile: SlackCallProfile,
  logger: Logger,
  slackApiUrl?: string,
): WebClientOptions {
  return {
    ...PROFILES[profile],
    logger: slackLogger(logger),
    ...(slackApiUrl && { slackApiUrl }),
  };
}

/** Builds a Web API client for the bot token. */
export function createSlackClient(
  botToken: string,
  profile: SlackCallProfile,
  logger: Logger,
  slackApiUrl?: string,
): WebClient {
  return new WebClient(botToken, slackClientOptions(profile, logger, slackApiUrl));
}

/** Slack's answers to a token that is no longer (or never was) good: the secret may have been rotated. */
export const TOKEN_REFUSED = new Set(['invalid_auth', 'token_revoked', 'account_inactive', 'not_authed']);

/** Where the bot token comes from (the cached secret, see `adapters/slack-credentials.ts`). */
export interface BotTokenSource {
  get(): Promise<string>;
  /** Re-reads the secret (bounded); the new token when it changed, else `undefined`. */
  refresh(): Promise<string | undefined>;
}

/**
 * Web API clients that always use the current bot token: one client per token and profile, and a call
 * Slack refuses for its token (`invalid_auth`, `token_revoked`, …) re-reads the secret once and, if the
 * token changed, is made again with the new one. So a rotation takes effect at once where Slack revokes
 * the old token, and within the cache time otherwise.
 */
export function slackClientFactory(
  tokens: BotTokenSource,
  logger: Logger,
  slackApiUrl?: string,
): (profile: SlackCallProfile) => Promise<WebClient> {
  const clients = new Map<SlackCallProfile, { token: string; client: WebClient }>();
  const clientFor = (profile: SlackCallProfile, token: string): WebClient => {
    const known = clients.get(profile);
    if (known?.token === token) return known.client;
    const client = new RefreshingWebClient(
      token,
      slackClientOptions(profile, logger, slackApiUrl),
      async () => {
        const fresh = await tokens.refresh();
        if (fresh === undefined) return undefined;
        logger.warn('Slack refused the bot token; using the rotated one from its secret');
        return clientFor(profile, fresh);
      },
    );
    clients.set(profile, { token, client });
    return client;
  };
  return async (profile) => clientFor(profile, await tokens.get());
}

/**
 * chat.postMessage is the one call PolicyGate makes that is not idempotent: after a timeout, a reset
 * connection or a 5xx, Slack may have posted, and a blind retry posts the message twice. So the SDK never
 * retries it; the caller gets the failure and decides (a 429 is safe to retry: Slack did not post).
 */
const NOT_IDEMPOTENT = new Set(['chat.postMessage']);

class RefreshingWebClient extends WebClient {
  readonly #singleAttempt: WebClient;

  constructor(
    token: string,
    options: WebClientOptions,
    private readonly rotated: () => Promise<WebClient | undefined>,
  ) {
    super(token, options);
    this.#singleAttempt = new WebClient(token, {
      ...options,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
  }

  override async apiCall(method: string, options?: Record<string, unknown>) {
    try {
      if (NOT_IDEMPOTENT.has(method)) return await this.#singleAttempt.apiCall(method, options);
      return await super.apiCall(method, options);
    } catch (error) {
      const e = error as { code?: string; data?: { error?: string } };
      if (e.code !== ErrorCode.PlatformError || !TOKEN_REFUSED.has(e.data?.error ?? '')) throw error;
      const next = await this.rotated();
      if (!next) throw error;
      return next.apiCall(method, options);
    }
  }
}

// What an operator should do about the errors a set-up mistake causes; they reach the alert e-mail.
const HINTS: Record<string, string> = {
  not_in_channel: 'invite the PolicyGate bot to the channel',
  channel_not_found: 'check slackChannelId, and invite the bot if the channel is private',
  is_archived: 'the channel is archived: set another slackChannelId',
  not_authed: 'check the bot token secret (SLACK_BOT_TOKEN_SECRET_ARN)',
  invalid_auth: 'check the bot token secret (SLACK_BOT_TOKEN_SECRET_ARN)',
  account_inactive: 'the app was uninstalled or the token revoked: reinstall it and update the secret',
  token_revoked: 'the app was uninstalled or the token revoked: reinstall it and update the secret',
  missing_scope: 'reinstall the app from the manifest of `npm run slack:manifest`',
};

/** The message @slack/web-api retries a 429 with (WebClient.makeRequest), and the seconds it names. */
const SDK_RATE_LIMIT = /^A rate limit was exceeded \(url: [^\s)]*, retry-after: (\d{1,6})\)$/;

/** Turns whatever the SDK threw into a {@link SlackApiError} naming Slack's error code. */
export function toSlackApiError(method: string, error: unknown): SlackApiError {
  if (error instanceof SlackApiError) return error;
  const e = error as { code?: string; data?: { error?: string }; statusCode?: number; retryAfter?: number };
  switch (e.code) {
    case ErrorCode.PlatformError: {
      const code = e.data?.error ?? 'unknown_error';
      // The code is Slack's (or whoever answers on its URL): only our own hints, never inherited members.
      const hint = Object.hasOwn(HINTS, code) ? HINTS[code] : undefined;
      return new SlackApiError(method, code, { cause: error, ...(hint && { hint }) });
    }
    case ErrorCode.HTTPError:
      return new SlackApiError(method, `http_${e.statusCode ?? 'error'}`, { cause: error });
    case ErrorCode.RateLimitedError:
      return new SlackApiError(method, RATE_LIMITED, {
        cause: error,
        ...(typeof e.retryAfter === 'number' && { retryAfterSeconds: e.retryAfter }),
      });
    case ErrorCode.RequestError: {
      // With the SDK's own retries, a call still rate-limited on its last attempt ends as a request error
      // wrapping the SDK's "A rate limit was exceeded" error: Slack answered 429 every time, so nothing
      // was done. Calling it a lost answer would make a post look possibly posted and an update alarming.
      const original = (e as { original?: { message?: unknown } }).original?.message;
      const limited = typeof original === 'string' ? SDK_RATE_LIMIT.exec(original) : null;
      if (limited) {
        return new SlackApiError(method, RATE_LIMITED, {
          cause: error,
          retryAfterSeconds: Number(limited[1]),
        });
      }
      return new SlackApiError(method, 'request_failed', { cause: error });
    }
    default:
      return new SlackApiError(method, (error as Error)?.name ?? 'unknown_error', { cause: error });
  }
}

/** Calls a Slack method and maps its failure to {@link SlackApiError}. */
export async function slackCall<T>(method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toSlackApiError(method, error);
  }
}
