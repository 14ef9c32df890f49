/**
 * PLACEHOLDER, replaced at merge by the cold-start work (issue 12, deliverable 1): each Lambda's bundle
 * size and cold initialisation as a ratio to `require('aws-sdk')` v2 and to `node -e 0`. It measures
 * nothing, so its row is a missed target and `npm run bench` cannot pass while it is in place.
 */
import type { BenchRow } from './table';

/** The cold init rows (placeholder: one row, not measured). */
export async function coldInitRows(_options?: { runs?: number }): Promise<BenchRow[]> {
  return [
    {
      section: 'cold init',
      metric: 'bundle size and init ratio to aws-sdk v2 / node -e 0, every handler',
      value: 'not measured',
      target: 'non-Slack ≤ 0.5×, interactivity ≤ 0.8×',
      met: false,
    },
  ];
}
