import type { ApprovalWorkflow } from '../services/approval-workflow';
import { perContainer } from './container';
import { reportingWorkflow } from './parts/reporting-workflow';
import { approvalsWithSlack } from './parts/slack-stores';

/** RecordDenial / RecordExpiry: records the outcome, shows it in Slack and by e-mail; the quarantine stays. */
export const outcomeWorkflow: () => ApprovalWorkflow = perContainer(() =>
  reportingWorkflow('recordOutcome', approvalsWithSlack),
);
