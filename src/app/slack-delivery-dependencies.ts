import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { config } from '../config';
import { createLogger, type Logger } from '../logger';
import { SlackRecovery } from '../services/slack-recovery';
import { PostPacer } from '../slack/post-pacer';
import { perContainer } from './container';
import { accountContextPart, routedChannel } from './parts/accounts';
import { approvalStore } from './parts/approval-store';
import { kmsClient, recordSeals } from './parts/keys';
import { snsNotifier } from './parts/notifier';
import { slackAccess } from './parts/slack';
import { slackStores } from './parts/slack-stores';

/** The delivery worker's parts: the worker itself, absent on a stage with no Slack to deliver to. */
export interface SlackDeliveryParts {
  readonly worker?: SlackRecovery;
  readonly logger: Logger;
}

/**
 * SlackDelivery (issue 12): the one poster that drains the Slack backlog, paced to Slack's per-channel
 * limit, on its own schedule and with reserved concurrency 1. It holds the bot token and the approvals
 * store, verifies seals and alerts; it never touches IAM, so the sweep that does holds no Slack secret.
 */
export const slackDeliveryParts: () => SlackDeliveryParts = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate-slack-delivery');
  const store = approvalStore(cfg);
  const seals = recordSeals(cfg, kmsClient(cfg));
  const metrics = new EmfAlarmMetrics(cfg.stage);
  // A request missed in Slack is posted in its account's channel, as the workflow would have (issue 13).
  // The group and thread-line stores: the worker grows group messages and posts queued thread lines.
  const stores = slackStores(cfg, store, seals);
  // One pacer for every post the worker makes (requests, group messages, thread lines), in any channel.
  const pacer = new PostPacer(cfg.slackPostIntervalMs);
  const channel = routedChannel(
    cfg,
    slackAccess(cfg, logger, stores, { pacer, metrics }),
    accountContextPart(cfg, logger, store, seals),
    'workflow',
  );
  if (!channel || !cfg.slackBotTokenSecretArn) return { logger };
  const worker = new SlackRecovery({
    store,
    channel,
    notes: stores.notes,
    seals,
    notifier: snsNotifier(cfg),
    logger,
    // Paced, draining for its budget, alarmed when a request is never posted.
    pacer,
    drainBudgetMs: cfg.slackDeliveryBudgetSeconds * 1000,
    metrics,
  });
  return { worker, logger };
});
