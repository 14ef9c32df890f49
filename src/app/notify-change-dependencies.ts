import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import type { ApprovalStore } from '../adapters/approval-store';
import { config } from '../config';
import { createLogger } from '../logger';
import type { ApprovalWorkflow } from '../services/approval-workflow';
import type { QuarantineService } from '../services/quarantine-service';
import type { RecordSeals } from '../services/record-seals';
import { absent, perContainer } from './container';
import { snsNotifier } from './parts/notifier';
import { slackAccess } from './parts/slack';
import { approvalWorkflow } from './parts/workflow';

/** NotifyChange: an e-mail and, for some notices, a Slack post; no record, no IAM (its role has neither). */
export const notifyWorkflow: () => ApprovalWorkflow = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const channel = slackAccess(cfg, logger).channel('workflow');
  return approvalWorkflow(cfg, logger, {
    store: absent<ApprovalStore>('approvals store', 'notifyChange'),
    seals: absent<RecordSeals>('seals', 'notifyChange'),
    quarantine: absent<QuarantineService>('quarantine', 'notifyChange'),
    notifier: snsNotifier(cfg),
    metrics: new EmfAlarmMetrics(cfg.stage),
    ...(channel && { channel }),
  });
});
