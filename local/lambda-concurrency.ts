/**
 * A Lambda function's concurrency, in the sandbox. In AWS each workflow function has a reserved concurrency
 * (serverless.yml `workflowReservedConcurrency`, 10 by default): past it Lambda throttles the invocation and
 * the state machine retries it (`Lambda.TooManyRequestsException`, backing off) until a slot frees. The
 * sandbox runs every handler in one process, so without a cap a burst of 500 changes runs 500 handlers
 * at once and piles their requests on the stand-ins, which AWS would never see. Here an invocation past the
 * cap waits for a free slot instead: what the retries achieve, without depending on the (time-scaled)
 * retry intervals.
 */

/** A handler as the local Step Functions runner calls it. */
type Handler<A extends unknown[], R> = (...args: A) => R;

/** At most `limit` calls of `handler` run at once; the others wait, first come first served. */
export function withConcurrency<A extends unknown[], R>(
  handler: Handler<A, R>,
  limit: number,
): (...args: A) => Promise<Awaited<R>> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a whole number >= 1');
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    running -= 1;
    const next = waiting.shift();
    if (next) {
      running += 1;
      next();
    }
  };
  return async (...args: A): Promise<Awaited<R>> => {
    if (running < limit) running += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return (await handler(...args)) as Awaited<R>;
    } finally {
      release();
    }
  };
}
