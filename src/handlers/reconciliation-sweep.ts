import { sweepService } from '../app/sweep-dependencies';
import type { SweepReport } from '../services/sweep-service';

/**
 * The scheduled reconciliation sweep (its EventBridge schedule): re-drive, check trails, compare grants.
 * Its input is ignored: whoever may invoke the function can only make it sweep sooner. Posting what Slack
 * missed is the slackDelivery function's (src/handlers/slack-delivery.ts).
 */
export async function handler(): Promise<SweepReport> {
  return sweepService().run();
}
