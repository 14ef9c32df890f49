import type { ApprovalWorkflow } from '../services/approval-workflow';
import { perContainer } from './container';
import { reportingWorkflow } from './parts/reporting-workflow';
import { approvalsWithSlack } from './parts/slack-stores';

/** HandleFailure: marks the approval FAILED, alerts by e-mail and in Slack; it changes nothing in IAM. */
export const failureWorkflow: () => ApprovalWorkflow = perContainer(() =>
  reportingWorkflow('handleFailure', approvalsWithSlack),
);
