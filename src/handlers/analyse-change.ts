import { analyseWorkflow } from '../app/analyse-change-dependencies';
import type { AnalysisResult } from '../services/approval-workflow';
import { requireString, StepInputError, stepInput } from './step-input';

/**
 * Steps `AnalyseChange` and `RecheckChange`: normalise, analyse and, for a risky change, record and
 * quarantine at once. `attempt` 2 is the re-check of a "not in force" verdict after a delay.
 */
export const handler = async (event: unknown): Promise<AnalysisResult> => {
  const input = stepInput(event, 'AnalyseChange');
  const attempt = input.attempt ?? 1;
  if (attempt !== 1 && attempt !== 2) {
    throw new StepInputError(`AnalyseChange: attempt must be 1 or 2, got ${JSON.stringify(attempt)}`);
  }
  return analyseWorkflow().analyse(
    input.event,
    requireString(input, 'executionId', 'AnalyseChange'),
    attempt,
  );
};
