import { PolicyGateError } from '../errors';

/** A Task state's payload that does not have the shape the state machine promises. */
export class StepInputError extends PolicyGateError {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyGate.StepInputError';
  }
}

/** Reads a payload object, naming what is missing (a state-machine/handler mismatch is a bug to see). */
export function stepInput(event: unknown, step: string): Record<string, unknown> {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new StepInputError(`${step}: expected an object payload`);
  }
  return event as Record<string, unknown>;
}

/** A required string field of a payload. */
export function requireString(input: Record<string, unknown>, field: string, step: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') throw new StepInputError(`${step}: ${field} is missing`);
  return value;
}
