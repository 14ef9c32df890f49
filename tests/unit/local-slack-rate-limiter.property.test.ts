import fc from 'fast-check';
import { createSlackRateLimiter, retryAfterSeconds } from '../../local/slack';

describe('the Slack stand-in rate limiter', () => {
  it('never lets a channel post more than its burst plus one per second, and every refusal names a wait', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (burst, gaps) => {
          // Prepare
          const limiter = createSlackRateLimiter({ postBurst: burst });
          let now = 1_000_000;
          let passed = 0;

          // Act
          for (const gap of gaps) {
            now += gap;
            const decision = limiter.take('chat.postMessage', 'C1', now);
            if (decision.limited) {
              expect(decision.waitMs).toBeGreaterThan(0);
              expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
            } else passed += 1;
          }

          // Assess
          const elapsedSeconds = (now - 1_000_000) / 1000;
          expect(passed).toBeLessThanOrEqual(burst + Math.floor(elapsedSeconds) + 1);
        },
      ),
    );
  });

  it('lets the call through once the wait it named has passed', () => {
    fc.assert(
      fc.property(fc.constantFrom('chat.postMessage', 'chat.update', 'usergroups.users.list'), (method) => {
        // Prepare
        const limiter = createSlackRateLimiter();
        let now = 5_000;
        let decision = limiter.take(method, 'C1', now);
        while (!decision.limited) decision = limiter.take(method, 'C1', now);

        // Act
        now += decision.waitMs;
        const after = limiter.take(method, 'C1', now);

        // Assess
        expect(after.limited).toBe(false);
      }),
    );
  });

  it('says Retry-After in whole seconds, never less than the wait unless sped up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120_000 }),
        fc.double({ min: 1.5, max: 1000, noNaN: true }),
        (ms, scale) => {
          // Act
          const real = retryAfterSeconds(ms);
          const fast = retryAfterSeconds(ms, scale);

          // Assess
          expect(Number.isInteger(real) && Number.isInteger(fast)).toBe(true);
          expect(real * 1000).toBeGreaterThanOrEqual(ms);
          expect(fast * 1000).toBeLessThanOrEqual(ms);
        },
      ),
    );
  });

  it('keeps channels apart and leaves methods without a tier alone', () => {
    // Prepare
    const limiter = createSlackRateLimiter({ postBurst: 1 });

    // Act
    const first = limiter.take('chat.postMessage', 'C1', 0);
    const again = limiter.take('chat.postMessage', 'C1', 0);
    const other = limiter.take('chat.postMessage', 'C2', 0);
    const unknown = Array.from({ length: 500 }, () => limiter.take('api.test', undefined, 0));

    // Assess
    expect(first.limited).toBe(false);
    expect(again.limited).toBe(true);
    expect(other.limited).toBe(false);
    expect(unknown.every((d) => !d.limited)).toBe(true);
  });
});
