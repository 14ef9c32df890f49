// What a failed Slack call means for a retry, apart from the Web API client: the workflow functions'
// delivery logic needs these, and importing them from client.ts would bundle @slack/web-api into every
// function that only decides whether to post again (analyseChange among them).
import { SlackApiError } from '../errors';

/** The code of a {@link SlackApiError} for an HTTP 429 (its `retryAfterSeconds` says how long to wait). */
export const RATE_LIMITED = 'ratelimited';

/**
 * Whether a failed call may still have taken effect at Slack: the answer was lost (timeout, reset
 * connection, no answer in time) or Slack failed part-way (5xx). An `{ ok: false }` answer or a 429 means
 * it did not; anything not known to be a Slack answer counts as unknown, the safe side for a post.
 */
export function outcomeUnknown(error: unknown): boolean {
  if (!(error instanceof SlackApiError)) return true;
  return error.code === 'request_failed' || /^http_(5\d\d|error)$/.test(error.code);
}

/** Longest wait a `Retry-After` is honoured with in one call; a longer one is the caller's to schedule. */
export const MAX_RETRY_AFTER_MS = 120_000;

/**
 * How long to wait before retrying a rate-limited call: Slack's `Retry-After` (seconds, as the SDK parsed
 * it), at least `minMs` (the caller's own pacing; also what a missing or nonsensical value gets) and at
 * most {@link MAX_RETRY_AFTER_MS}. `undefined` for an error that is no rate limit.
 */
export function rateLimitWaitMs(error: unknown, minMs = 1_000): number | undefined {
  if (!(error instanceof SlackApiError) || error.code !== RATE_LIMITED) return undefined;
  const seconds = error.retryAfterSeconds;
  const asked = typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 0;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(minMs, asked));
}
