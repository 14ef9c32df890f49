import { outcomeWorkflow } from '../app/record-outcome-dependencies';
import type { DecisionOutput } from '../domain/approval';
import { requireString, StepInputError, stepInput } from './step-input';

/** Steps `RecordDenial` / `RecordExpiry`: the change stays quarantined; record and report it. */
export const handler = async (event: unknown): Promise<void> => {
  const input = stepInput(event, 'RecordOutcome');
  const outcome = input.outcome;
  if (outcome !== 'DENIED' && outcome !== 'EXPIRED') {
    throw new StepInputError(
      `RecordOutcome: outcome must be DENIED or EXPIRED, got ${JSON.stringify(outcome)}`,
    );
  }
  const decision = outcome === 'DENIED' ? (input.decision as DecisionOutput | undefined) : undefined;
  await outcomeWorkflow().recordOutcome(
    requireString(input, 'approvalId', 'RecordOutcome'),
    outcome,
    decision,
  );
};
