import fc from 'fast-check';
import { SlackApiError } from '../../src/errors';
import { MAX_RETRY_AFTER_MS, outcomeUnknown, RATE_LIMITED, rateLimitWaitMs } from '../../src/slack/client';

describe('rateLimitWaitMs: how long a 429 is waited out', () => {
  it('is always a finite wait between the pacing floor and the cap, whatever Retry-After said', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.integer(),
          fc.constant(Number.NaN),
          fc.constant(Number.POSITIVE_INFINITY),
          fc.constant(undefined),
        ),
        fc.integer({ min: 0, max: 10_000 }),
        (seconds, floor) => {
          // Prepare
          const error = new SlackApiError('chat.postMessage', RATE_LIMITED, {
            ...(seconds !== undefined && { retryAfterSeconds: seconds }),
          });
          // Act
          const wait = rateLimitWaitMs(error, floor);
          // Assess
          expect(wait).toBeDefined();
          expect(Number.isFinite(wait)).toBe(true);
          expect(wait).toBeGreaterThanOrEqual(Math.min(floor, MAX_RETRY_AFTER_MS));
          expect(wait).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS);
        },
      ),
    );
  });

  it('honours a sane Retry-After in full', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), (seconds) => {
        // Act
        const wait = rateLimitWaitMs(
          new SlackApiError('chat.update', RATE_LIMITED, { retryAfterSeconds: seconds }),
          0,
        );
        // Assess
        expect(wait).toBe(seconds * 1000);
      }),
    );
  });

  it('is no wait for anything but a rate limit, and a rate limit is a known outcome while a lost answer is not', () => {
    // Prepare
    const refused = new SlackApiError('chat.postMessage', 'not_in_channel');
    const limited = new SlackApiError('chat.postMessage', RATE_LIMITED, { retryAfterSeconds: 1 });
    const lost = [
      new SlackApiError('chat.postMessage', 'request_failed'),
      new SlackApiError('chat.postMessage', 'http_503'),
      new Error('Slack did not answer in time'),
    ];
    // Act / Assess
    expect(rateLimitWaitMs(refused)).toBeUndefined();
    expect(rateLimitWaitMs(new Error('ratelimited'))).toBeUndefined();
    expect(outcomeUnknown(refused)).toBe(false);
    expect(outcomeUnknown(limited)).toBe(false);
    expect(lost.every(outcomeUnknown)).toBe(true);
  });
});
