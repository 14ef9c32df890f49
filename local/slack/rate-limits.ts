/**
 * Slack's Web API rate limits, as the stand-in enforces them (https://docs.slack.dev/apis/web-api/rate-limits):
 * limits apply per method per workspace per app, in tiers of requests per minute, with bursts tolerated;
 * chat.postMessage is "special": about one message per second per channel, short bursts allowed. A call
 * over its limit is answered HTTP 429 with `Retry-After` (whole seconds) and `{ ok: false, error:
 * 'ratelimited' }`, and, as at Slack, a refused call does not count against the limit.
 *
 * Token buckets model "N per minute, bursts tolerated": a bucket holds at most `burst` calls and refills at
 * the tier's rate.
 */

/** Requests per minute of Slack's published tiers (the floor of each: "Tier 3: 50+ per minute"). */
export const SLACK_TIERS = { tier1: 1, tier2: 20, tier3: 50, tier4: 100 } as const;

/**
 * The tier of each method the stand-in serves, from each method's reference page. auth.test is "special:
 * hundreds of requests per minute"; conversations.history / replies are Tier 3 for internal (customer-built)
 * and Marketplace apps, as PolicyGate is; commercially distributed non-Marketplace apps get 1 per minute.
 */
export const METHOD_RATE_PER_MINUTE: Readonly<Record<string, number>> = {
  'auth.test': 300,
  'chat.update': SLACK_TIERS.tier3,
  'chat.postEphemeral': SLACK_TIERS.tier4,
  'conversations.history': SLACK_TIERS.tier3,
  'conversations.replies': SLACK_TIERS.tier3,
  'users.info': SLACK_TIERS.tier4,
  'usergroups.users.list': SLACK_TIERS.tier2,
};

/** chat.postMessage: one message per second per channel. */
export const POSTS_PER_SECOND_PER_CHANNEL = 1;

export interface SlackRateLimitOptions {
  /**
   * Multiplies every rate (not the bursts): 20 lets a test post 20 messages a second per channel. With a
   * scale above 1 the waits are mostly under a second, which Slack's whole-second `Retry-After` cannot say:
   * the stand-in then rounds down (often `0`), and the client's own pacing decides. Default 1.
   */
  scale?: number;
  /** How many chat.postMessage calls a channel takes at once before the per-second pacing applies; default 3. */
  postBurst?: number;
  /** Per-minute limits replacing {@link METHOD_RATE_PER_MINUTE} entries (e.g. to make one method scarce). */
  perMinute?: Readonly<Record<string, number>>;
}

/** What the limiter says about one call. */
export type RateDecision = { limited: false } | { limited: true; retryAfterSeconds: number; waitMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** The stand-in's limiter; `now` in milliseconds. */
export interface SlackRateLimiter {
  /** Takes one call of `method` (in `channel`, for chat.postMessage) or says how long to wait. */
  take(method: string, channel: string | undefined, now: number): RateDecision;
  /** Forgets all usage. */
  reset(): void;
}

/** Builds the limiter; `false`-ish options are handled by the caller (no limiter at all). */
export function createSlackRateLimiter(options: SlackRateLimitOptions = {}): SlackRateLimiter {
  const scale = options.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0))
    throw new RangeError(`rate limit scale must be > 0, got ${scale}`);
  const postBurst = options.postBurst ?? 3;
  if (!Number.isInteger(postBurst) || postBurst < 1) {
    throw new RangeError(`postBurst must be a whole number >= 1, got ${postBurst}`);
  }
  const perMinute = { ...METHOD_RATE_PER_MINUTE, ...options.perMinute };
  let buckets = new Map<string, Bucket>();

  const takeFrom = (key: string, burst: number, perSecond: number, now: number): RateDecision => {
    const bucket = buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { limited: false };
    }
    const waitMs = Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    return { limited: true, waitMs, retryAfterSeconds: retryAfterSeconds(waitMs, scale) };
  };

  return {
    take(method, channel, now) {
      if (method === 'chat.postMessage') {
        return takeFrom(`post#${channel ?? ''}`, postBurst, POSTS_PER_SECOND_PER_CHANNEL * scale, now);
      }
      const limit = Object.hasOwn(perMinute, method) ? perMinute[method] : undefined;
      if (limit === undefined) return { limited: false };
      // A tier tolerates bursts: a whole minute's calls at once, then the tier's pace.
      return takeFrom(`method#${method}`, Math.max(1, limit), (limit / 60) * scale, now);
    },
    reset() {
      buckets = new Map();
    },
  };
}

/**
 * The `Retry-After` Slack would send for a wait: whole seconds, at least 1, rounded up. A sped-up stand-in
 * (scale > 1) rounds down instead, so a sub-second wait reads `0` rather than a second that is 20 times
 * too long.
 */
export function retryAfterSeconds(waitMs: number, scale = 1): number {
  const seconds = waitMs / 1000;
  return scale > 1 ? Math.floor(seconds) : Math.max(1, Math.ceil(seconds));
}
