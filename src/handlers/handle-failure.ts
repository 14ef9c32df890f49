import { failureWorkflow } from '../app/handle-failure-dependencies';
import { requireString, stepInput } from './step-input';

/** Step `HandleFailure`: mark the approval FAILED and alert loudly; the execution then fails. */
export const handler = async (event: unknown): Promise<void> => {
  const input = stepInput(event, 'HandleFailure');
  await failureWorkflow().handleFailure(
    stepInput(input.input, 'HandleFailure.input'),
    requireString(input, 'executionId', 'HandleFailure'),
  );
};
