import { slackDeliveryParts } from '../app/slack-delivery-dependencies';
import type { SlackRecoveryReport } from '../services/slack-recovery';

/**
 * The Slack delivery worker (its EventBridge schedule, every minute): posts the requests the request step
 * could not, the outcomes and thread lines Slack missed, and re-posts deleted request messages. Never
 * throws: a failed run is logged and the next one, a minute later, starts from the same backlog. Its input
 * is ignored: whoever may invoke it can only make it drain sooner.
 */
export async function handler(): Promise<SlackRecoveryReport | undefined> {
  const { worker, logger } = slackDeliveryParts();
  if (!worker) return undefined;
  try {
    return await worker.run();
  } catch (error) {
    logger.error('Slack delivery failed', { error });
    return undefined;
  }
}
