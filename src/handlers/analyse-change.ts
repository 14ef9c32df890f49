import { dependencies } from '../app/dependencies';
import type { AnalysisResult } from '../services/approval-workflow';
import { requireString, stepInput } from './step-input';

/** Step `AnalyseChange`: normalise, analyse and, for a risky change, record and quarantine at once. */
export const handler = async (event: unknown): Promise<AnalysisResult> => {
  const input = stepInput(event, 'AnalyseChange');
  return dependencies().workflow.analyse(input.event, requireString(input, 'executionId', 'AnalyseChange'));
};
