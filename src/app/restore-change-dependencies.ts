import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { config } from '../config';
import { createLogger } from '../logger';
import type { ApprovalWorkflow } from '../services/approval-workflow';
import { accountsPart } from './account-iam';
import { perContainer } from './container';
import { approvalStore } from './parts/approval-store';
import { kmsClient, recordSeals } from './parts/keys';
import { snsNotifier } from './parts/notifier';
import { quarantineService } from './parts/quarantine';
import { slackAccess } from './parts/slack';
import { slackStores } from './parts/slack-stores';
import { approvalWorkflow } from './parts/workflow';

/** RestoreChange: checks the seals, restores in IAM, shows the outcome in Slack and by e-mail. */
export const restoreWorkflow: () => ApprovalWorkflow = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const store = approvalStore(cfg);
  const seals = recordSeals(cfg, kmsClient(cfg));
  const metrics = new EmfAlarmMetrics(cfg.stage);
  const channel = slackAccess(cfg, logger, slackStores(cfg, store, seals), { metrics }).channel('workflow');
  return approvalWorkflow(cfg, logger, {
    store,
    seals,
    quarantine: quarantineService(cfg, store, seals),
    accounts: accountsPart(cfg, logger, store, seals, 'restore'),
    notifier: snsNotifier(cfg),
    metrics,
    ...(channel && { channel }),
  });
});
