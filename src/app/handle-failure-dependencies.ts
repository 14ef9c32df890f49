import type { ApprovalWorkflow } from '../services/approval-workflow';
import { perContainer } from './container';
import { approvalStore } from './parts/approval-store';
import { reportingWorkflow } from './parts/reporting-workflow';

/** HandleFailure: marks the approval FAILED, alerts by e-mail and in Slack; it changes nothing in IAM. */
export const failureWorkflow: () => ApprovalWorkflow = perContainer(() =>
  reportingWorkflow('handleFailure', approvalStore),
);
