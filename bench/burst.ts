/**
 * PLACEHOLDER, replaced at merge by the Slack delivery work (issue 12, deliverables 2 to 4): a burst of
 * risky changes through the sandbox with the Slack stand-in's rate limits on. It runs nothing and returns
 * NaN for every figure, which the burst rows print as `not measured` and count as missed.
 */

/** The outcome of one burst. */
export interface BurstResult {
  records: number;
  quarantines: number;
  slackMessages: number;
  duplicates: number;
  neverPosted: number;
  drainMs: number;
}

/** Runs one burst (placeholder: measures nothing). */
export async function burstRun(_options: {
  changes: number;
  actors: number;
  rateLimit: boolean;
}): Promise<BurstResult> {
  return {
    records: Number.NaN,
    quarantines: Number.NaN,
    slackMessages: Number.NaN,
    duplicates: Number.NaN,
    neverPosted: Number.NaN,
    drainMs: Number.NaN,
  };
}
