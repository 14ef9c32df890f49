import fc from 'fast-check';

/**
 * The names of Object.prototype's members (`constructor`, `__proto__`, `toString`, ...), read from the
 * runtime so none is forgotten. All are valid IAM names, so an attacker can name a role, user, group or
 * policy after one, and any plain object keyed by that name reads the member instead of data.
 */
export const PROTOTYPE_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype);

/**
 * An IAM name: more than half of the time the name of an Object.prototype member (as it is, or in any
 * letter case, since IAM names are case-insensitive and PolicyGate lower-cases them into keys), otherwise
 * any name `grammar` matches. Random names alone hit `constructor` about never.
 */
export function iamNameArbitrary(grammar: RegExp): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
    { weight: 1, arbitrary: fc.mixedCase(fc.constantFrom(...PROTOTYPE_NAMES)) },
    { weight: 2, arbitrary: fc.stringMatching(grammar) },
  );
}

/**
 * The names that broke PolicyGate before, for fast-check's `examples`: run first in every run, so the
 * case never depends on the seed.
 */
export const KNOWN_BAD_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty'] as const;
