import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { config } from '../config';
import { createLogger } from '../logger';
import type { ApprovalWorkflow } from '../services/approval-workflow';
import type { QuarantineService } from '../services/quarantine-service';
import type { RecordSeals } from '../services/record-seals';
import { absent, perContainer } from './container';
import { approvalStore } from './parts/approval-store';
import { snsNotifier } from './parts/notifier';
import { slackAccess } from './parts/slack';
import { approvalWorkflow } from './parts/workflow';

/** RecordDenial / RecordExpiry: records the outcome, shows it in Slack and by e-mail; the quarantine stays. */
export const outcomeWorkflow: () => ApprovalWorkflow = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const channel = slackAccess(cfg, logger).channel('workflow');
  return approvalWorkflow(cfg, logger, {
    store: approvalStore(cfg),
    seals: absent<RecordSeals>('seals', 'recordOutcome'),
    quarantine: absent<QuarantineService>('quarantine', 'recordOutcome'),
    notifier: snsNotifier(cfg),
    metrics: new EmfAlarmMetrics(cfg.stage),
    ...(channel && { channel }),
  });
});
