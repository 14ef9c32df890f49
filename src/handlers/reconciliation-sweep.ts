import { sweepService } from '../app/sweep-dependencies';
import type { SlackRecoveryReport } from '../services/slack-recovery';
import type { SweepReport } from '../services/sweep-service';

/**
 * The scheduled reconciliation sweep (EventBridge schedules): re-drive, check trails, compare grants; and,
 * on its own frequent schedule (input `{"task":"slack-recovery"}`), only post the requests Slack missed.
 * Any other input runs the whole sweep: whoever may invoke the function gets nothing more either way.
 */
export function handler(): Promise<SweepReport>;
export function handler(event: unknown): Promise<SweepReport | SlackRecoveryReport | undefined>;
export async function handler(event?: unknown): Promise<SweepReport | SlackRecoveryReport | undefined> {
  const task =
    typeof event === 'object' && event !== null ? (event as Record<string, unknown>).task : undefined;
  if (task === 'slack-recovery') return sweepService().recoverSlack();
  return sweepService().run();
}
