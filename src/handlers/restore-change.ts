import { restoreWorkflow } from '../app/restore-change-dependencies';
import { requireString, stepInput } from './step-input';

/** Step `RestoreChange`: approved, so restore exactly, or report a conflict and overwrite nothing. */
export const handler = async (event: unknown): Promise<{ outcome: 'RESTORED' | 'CONFLICT' }> => {
  const input = stepInput(event, 'RestoreChange');
  return restoreWorkflow().restore(
    requireString(input, 'approvalId', 'RestoreChange'),
    requireString(input, 'executionId', 'RestoreChange'),
  );
};
