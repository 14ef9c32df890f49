import type { ApprovalWorkflow } from '../services/approval-workflow';
import { perContainer } from './container';
import { approvalStore } from './parts/approval-store';
import { reportingWorkflow } from './parts/reporting-workflow';

/** RecordDenial / RecordExpiry: records the outcome, shows it in Slack and by e-mail; the quarantine stays. */
export const outcomeWorkflow: () => ApprovalWorkflow = perContainer(() =>
  reportingWorkflow('recordOutcome', approvalStore),
);
