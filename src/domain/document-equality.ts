/**
 * Compares two policy documents as parsed JSON (key order and white space do not matter; array order
 * does, as in IAM). Either side may be an object, JSON text, or URL-encoded JSON text as IAM returns it.
 * Unparseable input is never equal to anything.
 */
export function documentsEqual(a: unknown, b: unknown): boolean {
  const left = toValue(a);
  const right = toValue(b);
  return left !== INVALID && right !== INVALID && deepEqual(left, right);
}

const INVALID = Symbol('invalid');

function toValue(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  const text = input.trim();
  try {
    return JSON.parse(text.startsWith('{') || text.startsWith('[') ? text : decodeURIComponent(text));
  } catch {
    return INVALID;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length &&
    keys.every((key) => Object.hasOwn(right, key) && deepEqual(left[key], right[key]))
  );
}
