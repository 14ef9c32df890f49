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

/** HandleFailure: marks the approval FAILED, alerts by e-mail and in Slack; it changes nothing in IAM. */
export const failureWorkflow: () => ApprovalWorkflow = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const channel = slackAccess(cfg, logger).channel('workflow');
  return approvalWorkflow(cfg, logger, {
    store: approvalStore(cfg),
    seals: absent<RecordSeals>('seals', 'handleFailure'),
    quarantine: absent<QuarantineService>('quarantine', 'handleFailure'),
    notifier: snsNotifier(cfg),
    metrics: new EmfAlarmMetrics(cfg.stage),
    ...(channel && { channel }),
  });
});
