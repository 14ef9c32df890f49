/**
 * One strict reading of JSON text, for documents an attacker may write: duplicate keys refused (never
 * resolved "last one wins" as `JSON.parse` alone does), only what ECMA-404 allows, and bounded work. The
 * reading is `JSON.parse`'s, checked member by member against the text; `@humanwhocodes/momoa`, whose AST
 * keeps every member of an object, names what is wrong when the check fails (see {@link parseStrictJson}).
 */
import { type DocumentNode, parse, type ValueNode } from '@humanwhocodes/momoa';
import { PolicyParseError } from '../errors';

/** A value read from JSON: plain data only, with no prototype tricks (`__proto__` is an own key). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Upper bounds on the work one document may cause. IAM's own limits are far lower (10,240 characters
 * without white space for the largest inline policy; real policies nest 6 levels deep), so the bounds
 * only stop abuse: a huge or deeply nested input from the CLI or a forged event.
 */
export interface JsonLimits {
  /** Characters of JSON text. */
  readonly maxLength: number;
  /** Nesting of objects and arrays. */
  readonly maxDepth: number;
}

/** 1 MiB of text (a pretty-printed 135,000-character AWS managed policy fits three times) and 32 levels. */
export const DEFAULT_JSON_LIMITS: JsonLimits = Object.freeze({ maxLength: 1_048_576, maxDepth: 32 });

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const BOM = 0xfeff;

/** JSON's white space: space, tab, line feed, carriage return, and nothing else. */
export function isJsonWhiteSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function lineAndColumn(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${offset - start + 1}`;
}

function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function invalid(subject: string, detail: string, cause?: unknown): PolicyParseError {
  return new PolicyParseError('', `${subject} is not valid JSON (${detail})`, { cause });
}

/**
 * Counts the members of valid JSON text (one name-separating `:` outside strings each) and its nesting
 * depth. Only string boundaries need tracking, and for text `JSON.parse` has accepted they are exact: a
 * string opens at a `"` outside strings and closes at the next `"` preceded by an even run of `\`.
 * Linear: each backslash run is walked once, by the quote that ends it.
 */
function shape(text: string): { members: number; depth: number } {
  let members = 0;
  let depth = 0;
  let maxDepth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        if (quote === -1) return { members, depth: maxDepth };
        let backslash = quote - 1;
        while (backslash > i && text.charCodeAt(backslash) === BACKSLASH) backslash--;
        if ((quote - 1 - backslash) % 2 === 0) {
          i = quote;
          break;
        }
        from = quote + 1;
      }
    } else if (code === COLON) {
      members++;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) maxDepth = depth;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return { members, depth: maxDepth };
}

const SURROGATE = /[\uD800-\uDFFF]/;
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `text` has an unpaired UTF-16 surrogate (raw, or written `\uD800` in JSON). UTF-8, in which
 * IAM receives documents, cannot carry one, so no reader agrees on what it stands for.
 */
function hasLoneSurrogate(text: string): boolean {
  return SURROGATE.test(text) && LONE_SURROGATE.test(text);
}

/** Renders a path in the style of the policy errors: `Statement[0].Condition.StringEquals`. */
function formatPath(segments: readonly (string | number)[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (/^[A-Za-z0-9_:/$-]+$/.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment.length > 40 ? `${segment.slice(0, 40)}…` : segment)}]`;
  }
  return path;
}

/** Sets `key` as an own data property, so `__proto__` is data and never reaches the prototype. */
function setMember(target: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function checkNumber(value: number, path: readonly (string | number)[]): number {
  // Readers that keep exact integers or decimals (IAM's is Java) and readers of doubles (JavaScript)
  // agree on a number only when a double holds it exactly enough: finite, and integers within 2^53.
  if (!Number.isFinite(value)) {
    throw new PolicyParseError(formatPath(path), 'number is too large to be read the same everywhere');
  }
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw new PolicyParseError(
      formatPath(path),
      'integer is beyond 2^53 and would be read differently by different JSON readers',
    );
  }
  return value;
}

function checkString(value: string, path: readonly (string | number)[]): string {
  if (hasLoneSurrogate(value)) {
    throw new PolicyParseError(formatPath(path), 'string holds an unpaired UTF-16 surrogate');
  }
  return value;
}

/** Builds plain data from the AST, refusing a second member of the same name (compared unescaped). */
function build(node: ValueNode, path: (string | number)[]): JsonValue {
  switch (node.type) {
    case 'String':
      return checkString(node.value, path);
    case 'Number':
      return checkNumber(node.value, path);
    case 'Boolean':
      return node.value;
    case 'Null':
      return null;
    case 'Array': {
      const elements = node.elements;
      const result: JsonValue[] = new Array(elements.length);
      for (let i = 0; i < elements.length; i++) {
        path.push(i);
        result[i] = build((elements[i] as (typeof elements)[number]).value, path);
        path.pop();
      }
      return result;
    }
    case 'Object': {
      const result: { [key: string]: JsonValue } = {};
      const seen = new Set<string>();
      for (const member of node.members) {
        // Strict JSON mode only yields string names; anything else would be a parser change to refuse.
        if (member.name.type !== 'String')
          throw new PolicyParseError(formatPath(path), 'member name is not a string');
        const key = checkString(member.name.value, path);
        path.push(key);
        if (seen.has(key)) {
          throw new PolicyParseError(
            formatPath(path),
            'duplicate key: IAM and PolicyGate could read different values, so the document cannot be analysed',
          );
        }
        seen.add(key);
        setMember(result, key, build(member.value, path));
        path.pop();
      }
      return result;
    }
    default:
      // NaN, Infinity and identifiers exist only in momoa's JSON5 mode.
      throw new PolicyParseError(formatPath(path), `unexpected ${node.type} in strict JSON`);
  }
}

/** `false` for a string or number {@link checkString} / {@link checkNumber} would refuse. */
function acceptable(value: string | number): boolean {
  return typeof value === 'string'
    ? !hasLoneSurrogate(value)
    : Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value));
}

/**
 * The number of object members in a value from `JSON.parse`, or -1 when a string or number in it would
 * be refused. No paths are built here: this runs on every document, the precise error only on a bad one.
 */
function countMembers(value: JsonValue, strings: boolean): number {
  if (value === null || typeof value === 'boolean') return 0;
  if (typeof value === 'string') return strings && hasLoneSurrogate(value) ? -1 : 0;
  if (typeof value !== 'object') return acceptable(value) ? 0 : -1;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      const n = countMembers(item, strings);
      if (n < 0) return -1;
      count += n;
    }
    return count;
  }
  const keys = Object.keys(value);
  for (const key of keys) {
    if (strings && hasLoneSurrogate(key)) return -1;
    const n = countMembers(value[key] as JsonValue, strings);
    if (n < 0) return -1;
    count += n;
  }
  return count + keys.length;
}

/** The raw control character inside a string that `JSON.parse` refused and momoa let through, if any. */
function rawControlCharacter(text: string): string | undefined {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!inString) inString = code === QUOTE;
    else if (code === QUOTE) inString = false;
    else if (code === BACKSLASH) i++;
    else if (code < 0x20)
      return `unescaped control character ${codePoint(code)} in a string at ${lineAndColumn(text, i)}`;
  }
  return undefined;
}

/** Runs momoa, turning whatever it throws into a {@link PolicyParseError}. */
function momoa(text: string, subject: string, limits: JsonLimits): DocumentNode {
  // Its parser recurses once per level; invalid text is only read up to its first error, which the
  // depth counted over the whole text bounds.
  const { depth } = shape(text);
  if (depth > limits.maxDepth) throw tooDeep(subject, limits);
  try {
    return parse(text, { mode: 'json', ranges: false, tokens: false, allowTrailingCommas: false });
  } catch (cause) {
    throw invalid(subject, syntaxDetail(text, cause), cause);
  }
}

/** Momoa's message, made exact where it is vague: an invisible character, or the end of the input. */
function syntaxDetail(text: string, cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (message.startsWith('Unexpected end of input')) return 'unexpected end of input';
  const offset = (cause as { offset?: unknown } | null)?.offset;
  if (typeof offset !== 'number' || offset < 0 || offset >= text.length) return message;
  const code = text.charCodeAt(offset);
  if (code >= 0x20 && code <= 0x7e) return message;
  const space = /\s/.test(text.charAt(offset))
    ? ': JSON white space is only space, tab, line feed and carriage return'
    : '';
  return `unexpected character ${codePoint(code)} at ${lineAndColumn(text, offset)}${space}`;
}

function tooDeep(subject: string, limits: JsonLimits): PolicyParseError {
  return new PolicyParseError(
    '',
    `${subject} nests objects and lists more than ${limits.maxDepth} levels deep`,
  );
}

/**
 * Parses JSON text strictly: exactly ECMA-404 (no byte order mark, no white space but JSON's four
 * characters, no raw control characters in strings), no duplicate key in any object at any depth
 * (compared after unescaping), no unpaired surrogates, no number a double cannot hold faithfully, and
 * within `limits`. Objects are plain objects whose keys (`__proto__` and `constructor` included) are
 * own data properties.
 *
 * How: `JSON.parse` reads the text (native, linear, ECMA-404 exact, and it defines every key as an own
 * data property), but it keeps only the last of duplicate members. So the members of the text are
 * counted too (one `:` outside strings each) and compared with the members of the result: they are
 * equal exactly when no object had a duplicate, since a duplicate loses a key and drops the overwritten
 * value's members. When they differ, momoa, whose AST keeps every member, names the duplicate's path.
 * Momoa also words syntax errors (with line and column). This keeps the reading as fast as the old
 * `JSON.parse` path while refusing what it silently resolved.
 *
 * Throws {@link PolicyParseError} for every failure, the parsers' own included, with the path of the
 * offending member (e.g. `Statement[0].Effect`) or the line and column of a syntax error. Work is linear
 * in the text, which `limits` bounds.
 *
 * @param subject what the text is, for messages ("policy document").
 */
export function parseStrictJson(
  text: string,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
  subject = 'policy document',
): JsonValue {
  const reading = read(text, limits, subject);
  verify(reading);
  return reading.value;
}

/** What {@link read} found: the value, and what {@link verify} compares it with. */
interface Reading {
  readonly text: string;
  readonly value: JsonValue;
  /** Members in the text (one `:` outside strings each). */
  readonly members: number;
  /** Whether a string may hold a surrogate, so every string must be checked. */
  readonly surrogates: boolean;
  readonly limits: JsonLimits;
  readonly subject: string;
}

/** Everything {@link parseStrictJson} checks but the members of the value (see {@link verify}). */
function read(text: string, limits: JsonLimits, subject: string): Reading {
  if (text.length > limits.maxLength) {
    throw new PolicyParseError(
      '',
      `${subject} is too large (${text.length} characters; at most ${limits.maxLength})`,
    );
  }
  if (text.charCodeAt(0) === BOM) {
    throw invalid(subject, 'it starts with a byte order mark (U+FEFF), which JSON does not allow');
  }
  let onlyWhiteSpace = true;
  for (let i = 0; i < text.length && onlyWhiteSpace; i++)
    onlyWhiteSpace = isJsonWhiteSpace(text.charCodeAt(i));
  if (onlyWhiteSpace) throw new PolicyParseError('', `${subject} is empty`);
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (cause) {
    momoa(text, subject, limits);
    throw invalid(
      subject,
      rawControlCharacter(text) ?? (cause instanceof Error ? cause.message : String(cause)),
      cause,
    );
  }
  const { members, depth } = shape(text);
  if (depth > limits.maxDepth) throw tooDeep(subject, limits);
  // A string can hold a surrogate only if the text does, raw or as a `\uD8..`-`\uDF..` escape; most
  // documents have neither, and one scan of the text then spares a check of every string.
  const surrogates = SURROGATE.test(text) || (text.includes('\\u') && ESCAPED_SURROGATE.test(text));
  return { text, value, members, surrogates, limits, subject };
}

/**
 * Refuses the reading unless its value kept every member of the text (no duplicate key lost one) and
 * holds no string or number to refuse, naming the path of what is wrong.
 */
function verify({ text, value, members, surrogates, limits, subject }: Reading): void {
  const counted = countMembers(value, surrogates);
  if (counted < 0) copy(value, [], limits.maxDepth); // throws, naming the path
  if (counted !== members) {
    build(momoa(text, subject, limits).body, []); // throws, naming the duplicate's path
    throw new PolicyParseError('', `${subject} has a duplicate key`);
  }
}

/**
 * What a reader given to {@link parseStrictJsonAs} tells of the value it walked: `members`, the
 * object members it saw, and `complete`, cleared when it cannot vouch for every member and number.
 */
export interface MemberTally {
  members: number;
  complete: boolean;
}

/**
 * {@link parseStrictJson}, then `reader` on the value, for a reader that walks the whole value anyway
 * (a policy document's parser visits every member, as it refuses unknown ones): it counts the members
 * in `tally`, which spares a second walk. Whenever the tally does not prove the value sound (the count
 * differs from the text's, the reader cleared `complete`, or a string may hold a surrogate), and whenever
 * the reader throws a {@link PolicyParseError}, the full check of {@link parseStrictJson} runs first, so
 * the same documents are refused with the same errors as by `parseStrictJson` and then `reader`. A
 * duplicate key loses a member, so a reader that counts only what it sees can never hide one; the
 * reader must count each member once and clear `complete` on meeting a number (which `parseStrictJson`
 * checks too).
 */
export function parseStrictJsonAs<T>(
  text: string,
  reader: (value: JsonValue, tally: MemberTally) => T,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
  subject = 'policy document',
): T {
  const reading = read(text, limits, subject);
  if (reading.surrogates) {
    verify(reading);
    return reader(reading.value, { members: 0, complete: false });
  }
  const tally: MemberTally = { members: 0, complete: true };
  let result: T;
  try {
    result = reader(reading.value, tally);
  } catch (error) {
    if (error instanceof PolicyParseError) verify(reading);
    throw error;
  }
  if (!tally.complete || tally.members !== reading.members) verify(reading);
  return result;
}

/**
 * Copies a JavaScript value that claims to be JSON data (e.g. from `JSON.parse` or an SDK) into the
 * same plain form {@link parseStrictJson} returns, refusing anything JSON cannot express: `undefined`,
 * functions, symbols, class instances, sparse lists, non-finite numbers, cycles (through `maxDepth`),
 * accessors that throw. Duplicate keys cannot be detected here: they were lost when the object was made.
 */
export function toJsonValue(value: unknown, limits: JsonLimits = DEFAULT_JSON_LIMITS): JsonValue {
  try {
    return copy(value, [], limits.maxDepth);
  } catch (error) {
    if (error instanceof PolicyParseError) throw error;
    throw new PolicyParseError('', 'the document could not be read as JSON data', { cause: error });
  }
}

function copy(value: unknown, path: (string | number)[], depthLeft: number): JsonValue {
  switch (typeof value) {
    case 'string':
      return checkString(value, path);
    case 'number':
      return checkNumber(value, path);
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      throw new PolicyParseError(formatPath(path), `${typeof value} is not JSON data`);
  }
  if (value === null) return null;
  if (depthLeft === 0) {
    throw new PolicyParseError(formatPath(path), 'nests objects and lists too deeply (or refers to itself)');
  }
  if (Array.isArray(value)) {
    const result: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      if (!Object.hasOwn(value, i)) throw new PolicyParseError(formatPath(path), 'list has a hole');
      result[i] = copy(value[i], path, depthLeft - 1);
      path.pop();
    }
    return result;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new PolicyParseError(formatPath(path), 'is an instance of a class, not JSON data');
  }
  const result: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(value)) {
    path.push(key);
    setMember(
      result,
      checkString(key, path),
      copy((value as Record<string, unknown>)[key], path, depthLeft - 1),
    );
    path.pop();
  }
  return result;
}
