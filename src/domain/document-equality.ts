import { type JsonValue, parseStrictJson, toJsonValue } from './json-strict';
import { decodePolicyText } from './policy-text';

/**
 * Compares two policy documents as parsed JSON (key order and white space do not matter; array order
 * does, as in IAM). Either side may be an object, JSON text, or URL-encoded JSON text as IAM returns it.
 *
 * Text is read exactly as `parsePolicyDocument` reads it ({@link decodePolicyText}, then
 * {@link parseStrictJson}): a side that is not strict JSON (a duplicate key anywhere, a byte order mark,
 * an invalid escape, beyond the size or depth limits, ...) is never equal to anything, itself included,
 * because which of its readings IAM holds is unknown.
 */
export function documentsEqual(a: unknown, b: unknown): boolean {
  const left = toValue(a);
  if (left === INVALID) return false;
  const right = toValue(b);
  return right !== INVALID && deepEqual(left, right);
}

/**
 * Whether two documents are the same for a quarantine or restore check: the same text exactly, or equal
 * as {@link documentsEqual} reads them. A document PolicyGate cannot read (duplicate keys) is the same as
 * its own exact text, so it can still be quarantined and restored byte for byte; it is never "equal" to a
 * different text, however alike.
 */
export function sameDocument(a: string, b: string): boolean {
  return a === b || documentsEqual(a, b);
}

const INVALID = Symbol('invalid');

function toValue(input: unknown): JsonValue | typeof INVALID {
  try {
    return typeof input === 'string' ? parseStrictJson(decodePolicyText(input)) : toJsonValue(input);
  } catch {
    return INVALID;
  }
}

function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i] as JsonValue));
  }
  const left = a as { [key: string]: JsonValue };
  const right = b as { [key: string]: JsonValue };
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every(
      (key) => Object.hasOwn(right, key) && deepEqual(left[key] as JsonValue, right[key] as JsonValue),
    )
  );
}
