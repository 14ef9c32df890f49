import type { ApprovalWorkflow } from '../services/approval-workflow';
import { perContainer } from './container';
import { reportingWorkflow } from './parts/reporting-workflow';

/** NotifyChange: an e-mail and, for some notices, a Slack post; no record, no IAM (its role has neither). */
export const notifyWorkflow: () => ApprovalWorkflow = perContainer(() => reportingWorkflow('notifyChange'));
