import { EmfAlarmMetrics } from '../../adapters/alarm-metrics';
import type { ApprovalStore } from '../../adapters/approval-store';
import { type Config, config } from '../../config';
import { createLogger } from '../../logger';
import type { ApprovalWorkflow } from '../../services/approval-workflow';
import type { QuarantineService } from '../../services/quarantine-service';
import type { RecordSeals } from '../../services/record-seals';
import { absent } from '../container';
import { snsNotifier } from './notifier';
import { slackAccess } from './slack';
import type { SlackStores } from './slack-stores';
import { approvalWorkflow } from './workflow';

/**
 * The workflow of a function that only reports (HandleFailure, RecordOutcome, NotifyChange): e-mail, the
 * Slack channel and, when `records` builds it, the approvals store (passed in, so a function without one
 * does not bundle it). It seals nothing and touches no IAM, and its role has neither, so those parts are
 * absent and fail loudly if ever reached.
 */
export function reportingWorkflow(
  functionName: string,
  records?: (cfg: Config) => { readonly store: ApprovalStore; readonly slack: SlackStores },
): ApprovalWorkflow {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const built = records?.(cfg);
  const metrics = new EmfAlarmMetrics(cfg.stage);
  const channel = slackAccess(cfg, logger, built?.slack, { metrics }).channel('workflow');
  return approvalWorkflow(cfg, logger, {
    store: built?.store ?? absent<ApprovalStore>('approvals store', functionName),
    seals: absent<RecordSeals>('seals', functionName),
    quarantine: absent<QuarantineService>('quarantine', functionName),
    notifier: snsNotifier(cfg),
    metrics,
    ...(channel && { channel }),
  });
}
