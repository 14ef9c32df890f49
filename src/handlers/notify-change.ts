import { notifyWorkflow } from '../app/notify-change-dependencies';
import type { AnalysisResult } from '../services/approval-workflow';
import { stepInput } from './step-input';

/** Step `NotifyChange`: harmless or no-longer-in-force changes are only reported. */
export const handler = async (event: unknown): Promise<void> => {
  const input = stepInput(event, 'NotifyChange');
  await notifyWorkflow().notify(stepInput(input.analysis, 'NotifyChange.analysis') as AnalysisResult);
};
