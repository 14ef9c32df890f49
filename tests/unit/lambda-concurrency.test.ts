import { withConcurrency } from '../../local/lambda-concurrency';

describe('the sandbox’s Lambda concurrency', () => {
  test('at most `limit` invocations run at once; the rest wait their turn, and each gets its own answer', async () => {
    // Prepare
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const handler = withConcurrency(async (n: number) => {
      started.push(n);
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return n * 2;
    }, 3);
    // Act
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => handler(n)));
    // Assess
    expect(most).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  test('a failing invocation frees its slot and its caller gets the error', async () => {
    // Prepare
    const handler = withConcurrency(async (fail: boolean) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (fail) throw new Error('boom');
      return 'ok';
    }, 1);
    // Act
    const outcomes = await Promise.allSettled([handler(true), handler(false), handler(true), handler(false)]);
    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
  });

  test('refuses a limit that is not a whole number of at least 1', () => {
    expect(() => withConcurrency(async () => undefined, 0)).toThrow(RangeError);
    expect(() => withConcurrency(async () => undefined, 1.5)).toThrow(RangeError);
  });
});
