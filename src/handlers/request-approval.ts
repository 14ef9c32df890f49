import { requestWorkflow } from '../app/request-approval-dependencies';
import { requireString, stepInput } from './step-input';

/** Step `RequestApproval` (waitForTaskToken): store the token server-side and ask for a decision. */
export const handler = async (event: unknown): Promise<void> => {
  const input = stepInput(event, 'RequestApproval');
  await requestWorkflow().requestApproval(
    requireString(input, 'approvalId', 'RequestApproval'),
    requireString(input, 'taskToken', 'RequestApproval'),
  );
};
