import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import type { Notifier } from '../adapters/notifier';
import { config } from '../config';
import { createLogger } from '../logger';
import type { ApprovalWorkflow } from '../services/approval-workflow';
import { accountsPart } from './account-iam';
import { absent, perContainer } from './container';
import { approvalStore } from './parts/approval-store';
import { workflowAttributor } from './parts/attribution';
import { kmsClient, recordSeals } from './parts/keys';
import { quarantineService } from './parts/quarantine';
import { slackAccess } from './parts/slack';
import { slackStores } from './parts/slack-stores';
import { approvalWorkflow } from './parts/workflow';

/**
 * AnalyseChange (and RecheckChange): reads and quarantines in IAM, records and seals the approval, follows
 * the session in CloudTrail. It mails nothing (NotifyChange and RequestApproval do), so it loads no SNS.
 * Its one Slack call says in the disputed request's thread that a forged event id froze it; the stack
 * gives this function no bot token, so there that call fails and is logged (a warning) as before.
 */
export const analyseWorkflow: () => ApprovalWorkflow = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const store = approvalStore(cfg);
  const seals = recordSeals(cfg, kmsClient(cfg));
  const channel = slackAccess(cfg, logger, slackStores(cfg, store, seals)).channel('workflow');
  return approvalWorkflow(cfg, logger, {
    store,
    seals,
    quarantine: quarantineService(cfg, store, seals),
    accounts: accountsPart(cfg, logger, store, seals, 'quarantine'),
    notifier: absent<Notifier>('notifier', 'analyseChange'),
    metrics: new EmfAlarmMetrics(cfg.stage),
    attributor: workflowAttributor(cfg, logger),
    ...(channel && { channel }),
  });
});
