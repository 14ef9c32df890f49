import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { config } from '../config';
import { createLogger } from '../logger';
import type { ApprovalWorkflow } from '../services/approval-workflow';
import type { QuarantineService } from '../services/quarantine-service';
import { absent, perContainer } from './container';
import { accountContextPart, routedChannel } from './parts/accounts';
import { approvalStore } from './parts/approval-store';
import { decisionLinks, emailLinks, kmsClient, recordSeals } from './parts/keys';
import { snsNotifier } from './parts/notifier';
import { slackAccess } from './parts/slack';
import { slackStores } from './parts/slack-stores';
import { approvalWorkflow } from './parts/workflow';

/**
 * RequestApproval: keeps the task token in the record, posts the request to Slack, and e-mails it with
 * links signed by the link key. It never touches IAM.
 */
export const requestWorkflow: () => ApprovalWorkflow = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const store = approvalStore(cfg);
  const kms = kmsClient(cfg);
  const seals = recordSeals(cfg, kms);
  const metrics = new EmfAlarmMetrics(cfg.stage);
  // Posted in the change's account's channel (its entry's or nearest OU's, else the stage's).
  const channel = routedChannel(
    cfg,
    slackAccess(cfg, logger, slackStores(cfg, store, seals), { metrics }),
    accountContextPart(cfg, logger, store, seals),
    'workflow',
  );
  return approvalWorkflow(cfg, logger, {
    store,
    seals,
    quarantine: absent<QuarantineService>('quarantine', 'requestApproval'),
    notifier: snsNotifier(cfg),
    metrics,
    ...(channel && { channel }),
    emailLinks: emailLinks(cfg, decisionLinks(cfg, kms, store)),
  });
});
