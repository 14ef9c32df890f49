/**
 * Small, total helpers for reading untrusted JSON: none of them throws for any input, so the normaliser's
 * own errors are the only ones that can escape it.
 */
import { createHash } from 'node:crypto';

export type JsonObject = Record<string, unknown>;

/** Whether `value` is a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `object[key]` when `object` is a JSON object that has `key` as its own property, else undefined: inherited
 * names (`constructor`, `__proto__`) never pass as data.
 */
export function own(object: unknown, key: string): unknown {
  return isJsonObject(object) && Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A non-empty (not only white space) string, or undefined. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** `value` cut to at most `max` characters, with an ellipsis when cut. */
export function shorten(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** JSON-quoted and shortened, so junk input cannot flood a message. */
export function quote(value: string): string {
  const quoted = JSON.stringify(value);
  return quoted.length > 80 ? `${quoted.slice(0, 76)}..."` : quoted;
}

/** What a value is, in words, for a problem message: `null`, `an array`, `number 42`, `string "x"`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `string ${quote(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${shorten(String(value), 40)}`;
  }
  return typeof value;
}

const MAX_DEPTH = 64;

/**
 * A canonical JSON rendering (object keys sorted, recursively), so the same content always gives the same
 * text whatever its key order. Total: cycles, excessive depth and non-JSON values render as markers instead
 * of throwing.
 */
export function canonicalJson(value: unknown): string {
  const ancestors = new Set<object>();
  const walk = (node: unknown, depth: number): string => {
    if (node === null || node === undefined) return 'null';
    switch (typeof node) {
      case 'string':
        return JSON.stringify(node);
      case 'number':
        return Number.isFinite(node) ? String(node) : JSON.stringify(String(node));
      case 'boolean':
        return String(node);
      case 'bigint':
        return JSON.stringify(`${node}n`);
      case 'object':
        break;
      default:
        return 'null';
    }
    const object = node as object;
    if (depth >= MAX_DEPTH || ancestors.has(object)) return '"[…]"';
    ancestors.add(object);
    try {
      if (Array.isArray(object)) return `[${object.map((item) => walk(item, depth + 1)).join(',')}]`;
      const entries = Object.keys(object)
        .sort()
        .flatMap((key) => {
          const item = (object as JsonObject)[key];
          return item === undefined ? [] : [`${JSON.stringify(key)}:${walk(item, depth + 1)}`];
        });
      return `{${entries.join(',')}}`;
    } finally {
      ancestors.delete(object);
    }
  };
  return walk(value, 0);
}

/** A SHA-256 prefix (hex) of the canonical JSON of `value`: the same content always gives the same digest. */
export function contentDigest(value: unknown, hexLength = 32): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, hexLength);
}

/** `JSON.stringify`, or undefined when the value cannot be serialised (cycles, BigInt). */
export function stringifyOrUndefined(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
