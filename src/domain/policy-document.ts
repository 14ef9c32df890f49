import { PolicyGateError, PolicyParseError } from '../errors';
import { type JsonValue, type MemberTally, parseStrictJsonAs, toJsonValue } from './json-strict';
import { decodePolicyText } from './policy-text';

/** The principal-map keys IAM's grammar allows (`principal_map_entry`). */
export type PrincipalKey = 'AWS' | 'Federated' | 'Service' | 'CanonicalUser';

/** A trust policy's `Principal` / `NotPrincipal`: `"*"` (everyone) or lists by principal kind. */
export type PolicyPrincipal = '*' | Readonly<Partial<Record<PrincipalKey, readonly string[]>>>;

/** One statement of a policy, normalised so every list element is a list. */
export interface PolicyStatement {
  /** Position in the document's `Statement` list (0 when `Statement` is a single object). */
  readonly index: number;
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  /** Exactly one of `action` / `notAction` is set. */
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  /** At most one of `resource` / `notResource` is set. */
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  readonly condition?: Readonly<Record<string, unknown>>;
  /** Trust policies only (see {@link ParsePolicyOptions.kind}); at most one of the two is set. */
  readonly principal?: PolicyPrincipal;
  readonly notPrincipal?: PolicyPrincipal;
}

/** A parsed policy document. */
export interface PolicyDocument {
  readonly version?: string;
  readonly id?: string;
  readonly statements: readonly PolicyStatement[];
}

/**
 * `identity`: a policy attached to a user, group or role (managed or inline), or a permissions
 * boundary; IAM refuses `Principal` in it. `trust`: a role's trust policy (`AssumeRolePolicyDocument`),
 * where `Principal` / `NotPrincipal` say who may assume the role.
 */
export type PolicyDocumentKind = 'identity' | 'trust';

export interface ParsePolicyOptions {
  /** Default `identity`. */
  readonly kind?: PolicyDocumentKind;
}

const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
  'Principal',
  'NotPrincipal',
]);
const DOCUMENT_KEYS = new Set(['Version', 'Id', 'Statement']);
/** The only values of the `Version` element (IAM's grammar: `version_block`). */
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const PRINCIPAL_KEYS = new Set<string>(['AWS', 'Federated', 'Service', 'CanonicalUser']);

/**
 * IAM's action grammar, restricted to what PolicyGate can read as IAM does: `*`, or a service prefix
 * (ASCII letters, digits, `-`; IAM refuses wildcards there: "Action vendors must not contain wildcards")
 * and an action name (ASCII letters, digits, `-`, and the wildcards `*` and `?`), one colon between
 * them.
 */
const ACTION_GRAMMAR = /^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?-]+)$/;

/** Printable ASCII (U+0020 to U+007E) with no space at either end; the empty string included. */
const PLAIN_ASCII = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

/** Whether `text` is {@link PLAIN_ASCII} (V8's regular expression reads it faster than a loop would). */
function isPlainAscii(text: string): boolean {
  return PLAIN_ASCII.test(text);
}

type JsonObject = { [key: string]: JsonValue };

function isRecord(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function codePoint(text: string): string {
  const code = text.codePointAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Refuses `text` unless it is {@link isPlainAscii}, saying why it could be read differently by
 * PolicyGate (JavaScript) and IAM: a character outside printable ASCII (Unicode white space that `trim`
 * removes, case folding that differs between languages, e.g. `"ſ".toUpperCase()` is `S` and the Kelvin
 * sign lower-cases to `k`; look-alike letters), or a leading / trailing space (`" *"` is not `"*"`).
 */
function requireAscii(text: string, path: string): void {
  if (isPlainAscii(text)) return;
  const outside = /[^\x20-\x7e]/u.exec(text)?.[0];
  const problem =
    outside === undefined
      ? 'has leading or trailing white space,'
      : `holds ${codePoint(outside)}, a character outside printable ASCII,`;
  throw new PolicyParseError(
    path,
    `${describe(text)} ${problem} which IAM and PolicyGate could read differently`,
  );
}

function stringList(value: JsonValue, path: string): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value))
    throw new PolicyParseError(path, `expected a string or a list of strings, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string')
      throw new PolicyParseError(`${path}[${i}]`, `expected a string, got ${describe(value[i])}`);
  }
  return value as string[];
}

function itemPath(path: string, value: JsonValue, i: number): string {
  return Array.isArray(value) ? `${path}[${i}]` : path;
}

function actionList(value: JsonValue, path: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) return stringList(value, path); // throws: neither a string nor a list
  for (let i = 0; i < list.length; i++) {
    const action = list[i];
    if (typeof action === 'string' && ACTION_GRAMMAR.test(action)) continue;
    // A list holding something other than a string is refused as such first, wherever that is.
    stringList(value, path);
    const at = itemPath(path, value, i);
    requireAscii(action as string, at);
    throw new PolicyParseError(
      at,
      `${describe(action as string)} is not an IAM action: expected "*" or service:action (the service made of letters, digits and "-", the action of letters, digits, "-", "*" and "?")`,
    );
  }
  return list as string[];
}

function resourceList(value: JsonValue, path: string): string[] {
  const list = stringList(value, path);
  for (let i = 0; i < list.length; i++) {
    const resource = list[i] as string;
    if (!isPlainAscii(resource)) requireAscii(resource, itemPath(path, value, i));
  }
  return list;
}

function conditionBlock(value: JsonValue, path: string, tally: MemberTally): JsonObject {
  if (!isRecord(value)) throw new PolicyParseError(path, `expected an object, got ${describe(value)}`);
  // Context key names are case-insensitive in IAM, so `aws:username` and `AWS:UserName` in one block are
  // the same key given twice; operator names get the same treatment, as IAM's reading of a case variant
  // is not documented. Blocks are small: a list beats a Set here, and paths are built only for errors.
  const foldedOperators: string[] = [];
  const operators = Object.keys(value);
  tally.members += operators.length;
  for (const operator of operators) {
    if (operator === '' || !isPlainAscii(operator)) {
      requireAscii(operator, `${path}.${operator}`);
      throw new PolicyParseError(`${path}.${operator}`, 'condition operator is empty');
    }
    const folded = operator.toLowerCase();
    if (foldedOperators.includes(folded)) {
      throw new PolicyParseError(
        `${path}.${operator}`,
        'condition operator given twice (names differ only in case)',
      );
    }
    foldedOperators.push(folded);
    const keys = value[operator] as JsonValue;
    if (!isRecord(keys)) {
      throw new PolicyParseError(
        `${path}.${operator}`,
        `expected an object of condition keys, got ${describe(keys)}`,
      );
    }
    const names = Object.keys(keys);
    tally.members += names.length;
    if (names.length === 0) {
      throw new PolicyParseError(
        `${path}.${operator}`,
        'condition operator with no condition key: IAM does not document what it means, and PolicyGate would call the statement conditional',
      );
    }
    const foldedKeys: string[] = [];
    for (const key of names) {
      if (key === '' || !isPlainAscii(key)) {
        requireAscii(key, `${path}.${operator}.${key}`);
        throw new PolicyParseError(`${path}.${operator}.${key}`, 'condition key is empty');
      }
      const foldedKey = key.toLowerCase();
      if (foldedKeys.includes(foldedKey)) {
        throw new PolicyParseError(
          `${path}.${operator}.${key}`,
          'condition key given twice (context keys are case-insensitive)',
        );
      }
      foldedKeys.push(foldedKey);
      const values = keys[key] as JsonValue;
      if (!Array.isArray(values)) {
        if (values === null || typeof values === 'object') {
          throw badConditionValue(`${path}.${operator}.${key}`, values);
        }
        // The strict JSON reader checks numbers (finite, exact integers); this walk does not.
        if (typeof values === 'number') tally.complete = false;
        continue;
      }
      for (let i = 0; i < values.length; i++) {
        const item = values[i] as JsonValue;
        if (item === null || typeof item === 'object') {
          throw badConditionValue(`${path}.${operator}.${key}[${i}]`, item);
        }
        if (typeof item === 'number') tally.complete = false;
      }
    }
  }
  return value;
}

function badConditionValue(path: string, value: JsonValue): PolicyParseError {
  return new PolicyParseError(
    path,
    `expected a string, number or boolean condition value, got ${describe(value)}`,
  );
}

function principal(value: JsonValue, path: string, tally: MemberTally): PolicyPrincipal {
  if (value === '*') return '*';
  if (!isRecord(value)) {
    throw new PolicyParseError(path, `expected "*" or an object of principals, got ${describe(value)}`);
  }
  const entries = Object.entries(value);
  tally.members += entries.length;
  if (entries.length === 0) throw new PolicyParseError(path, 'names no principal');
  const result: Partial<Record<PrincipalKey, readonly string[]>> = {};
  for (const [key, ids] of entries) {
    const keyPath = `${path}.${key}`;
    if (!PRINCIPAL_KEYS.has(key)) {
      throw new PolicyParseError(
        keyPath,
        'unknown principal type (expected AWS, Federated, Service or CanonicalUser)',
      );
    }
    const list = resourceList(ids, keyPath);
    if (list.length === 0) throw new PolicyParseError(keyPath, 'must not be an empty list');
    result[key as PrincipalKey] = list;
  }
  return result;
}

function parseStatement(
  raw: JsonValue | undefined,
  index: number,
  path: string,
  kind: PolicyDocumentKind,
  tally: MemberTally,
): PolicyStatement {
  if (!isRecord(raw)) throw new PolicyParseError(path, `expected a statement object, got ${describe(raw)}`);
  const keys = Object.keys(raw);
  tally.members += keys.length;
  for (const key of keys) {
    if (!STATEMENT_KEYS.has(key)) throw new PolicyParseError(`${path}.${key}`, 'unknown statement element');
  }
  const { Sid, Effect, Action, NotAction, Resource, NotResource, Condition, Principal, NotPrincipal } = raw;
  if (kind === 'identity' && (Principal !== undefined || NotPrincipal !== undefined)) {
    throw new PolicyParseError(
      `${path}.${Principal !== undefined ? 'Principal' : 'NotPrincipal'}`,
      'not allowed in an identity-based policy (IAM refuses it there; a trust policy is parsed as kind "trust")',
    );
  }
  if (Sid !== undefined) {
    if (typeof Sid !== 'string')
      throw new PolicyParseError(`${path}.Sid`, `expected a string, got ${describe(Sid)}`);
    requireAscii(Sid, `${path}.Sid`);
  }
  if (Effect !== 'Allow' && Effect !== 'Deny') {
    throw new PolicyParseError(
      `${path}.Effect`,
      Effect === undefined
        ? 'missing (must be "Allow" or "Deny")'
        : `must be "Allow" or "Deny", got ${describe(Effect)}`,
    );
  }
  if ((Action === undefined) === (NotAction === undefined)) {
    throw new PolicyParseError(
      path,
      Action === undefined ? 'needs either Action or NotAction' : 'has both Action and NotAction; use one',
    );
  }
  if (Resource !== undefined && NotResource !== undefined) {
    throw new PolicyParseError(path, 'has both Resource and NotResource; use one');
  }
  if (Principal !== undefined && NotPrincipal !== undefined) {
    throw new PolicyParseError(path, 'has both Principal and NotPrincipal; use one');
  }
  // Built field by field rather than with spreads: this runs for every statement of every document.
  const statement: { -readonly [K in keyof PolicyStatement]: PolicyStatement[K] } = { index, effect: Effect };
  if (Sid !== undefined) statement.sid = Sid;
  if (Action !== undefined) statement.action = actionList(Action, `${path}.Action`);
  else statement.notAction = actionList(NotAction as JsonValue, `${path}.NotAction`);
  if (Resource !== undefined) statement.resource = resourceList(Resource, `${path}.Resource`);
  if (NotResource !== undefined) statement.notResource = resourceList(NotResource, `${path}.NotResource`);
  if (Condition !== undefined) {
    const condition = conditionBlock(Condition, `${path}.Condition`, tally);
    // An empty Condition block constrains nothing, so it is not a condition.
    if (Object.keys(condition).length > 0) statement.condition = condition;
  }
  if (Principal !== undefined) statement.principal = principal(Principal, `${path}.Principal`, tally);
  if (NotPrincipal !== undefined)
    statement.notPrincipal = principal(NotPrincipal, `${path}.NotPrincipal`, tally);
  return statement;
}

const PARSER = Symbol('parsePolicyDocument');

/**
 * What {@link parsePolicyDocument} returns, so a consumer can rely on its guarantees without checking
 * every string again (the analysis skips re-reading each action's service part). Only this class's
 * constructor can give an object its private field, so no other document, however it is built (a copy,
 * a literal, `Object.create` of this prototype), passes {@link isParsedPolicyDocument}; it gets every
 * check. The constructor is reachable from any document (`document.constructor`), so it makes one only
 * when given a key this module keeps. (A private field costs a document no more than a property; a
 * `WeakSet` of parsed documents cost 3 % of a whole check over the managed policies, measured.)
 */
class ParsedPolicyDocument implements PolicyDocument {
  readonly #parsed = true;
  declare readonly version?: string;
  declare readonly id?: string;
  declare readonly statements: readonly PolicyStatement[];

  constructor(
    key: symbol,
    version: string | undefined,
    id: string | undefined,
    statements: readonly PolicyStatement[],
  ) {
    if (key !== PARSER) throw new PolicyGateError('only parsePolicyDocument makes a parsed policy document');
    // Set only when present and in this order, so the document has the keys of the literal it replaces.
    const self = this as { version?: string; id?: string; statements: readonly PolicyStatement[] };
    if (version !== undefined) self.version = version;
    if (id !== undefined) self.id = id;
    self.statements = statements;
  }

  static made(document: PolicyDocument): boolean {
    return #parsed in document;
  }
}

/** Whether {@link parsePolicyDocument} made `document` (so its guarantees hold for every string in it). */
export function isParsedPolicyDocument(document: PolicyDocument): boolean {
  return ParsedPolicyDocument.made(document);
}

/**
 * Parses an IAM policy document given as an object, a JSON string, or a URL-encoded JSON string (see
 * {@link decodePolicyText}), reading it exactly as IAM would or not at all: a document PolicyGate could
 * read differently from IAM is unanalysable, and throws {@link PolicyParseError} naming the offending
 * element (e.g. `Statement[2].Effect`) and why. Unanalysable includes: JSON that is not strictly
 * ECMA-404 or has a duplicate key anywhere (see {@link parseStrictJson}), a `Version` other than
 * `2012-10-17` / `2008-10-17`, an action outside IAM's action grammar, `Principal` / `NotPrincipal` in
 * an identity-based policy, and non-ASCII or space-padded text where IAM compares strings.
 *
 * Guarantee on success: every `action`, `notAction`, `resource`, `notResource` string (and `sid`,
 * principal ids, condition operator and key names) is printable ASCII (U+0020 to U+007E) with no
 * leading or trailing white space, so consumers need no `trim()` and no Unicode-aware case folding;
 * every action is `*` or `service:action`, the service of ASCII letters, digits and `-`, the action of
 * ASCII letters, digits, `-`, `*` and `?`.
 *
 * An object input is copied as JSON data (its duplicate keys, if it had any, were lost when it was
 * made: prefer passing the text).
 */
export function parsePolicyDocument(input: unknown, options: ParsePolicyOptions = {}): PolicyDocument {
  const kind = options.kind ?? 'identity';
  // From text, the walk below counts the members it visits for the strict reader's duplicate-key check
  // (see parseStrictJsonAs); an object was copied as JSON data, with nothing left to count.
  return typeof input === 'string'
    ? parseStrictJsonAs(decodePolicyText(input), (raw, tally) => readDocument(raw, kind, tally))
    : readDocument(toJsonValue(input), kind, { members: 0, complete: false });
}

function readDocument(raw: JsonValue, kind: PolicyDocumentKind, tally: MemberTally): PolicyDocument {
  if (!isRecord(raw))
    throw new PolicyParseError('', `policy document must be a JSON object, got ${describe(raw)}`);
  const keys = Object.keys(raw);
  tally.members += keys.length;
  for (const key of keys) {
    if (!DOCUMENT_KEYS.has(key)) throw new PolicyParseError(key, 'unknown policy element');
  }
  const { Version, Id, Statement } = raw;
  if (Version !== undefined) {
    if (typeof Version !== 'string') {
      throw new PolicyParseError('Version', `expected a string, got ${describe(Version)}`);
    }
    if (!VERSIONS.has(Version)) {
      throw new PolicyParseError(
        'Version',
        `must be "2012-10-17" or "2008-10-17" (IAM knows no other), got ${describe(Version)}`,
      );
    }
  }
  if (Id !== undefined && typeof Id !== 'string')
    throw new PolicyParseError('Id', `expected a string, got ${describe(Id)}`);
  if (Statement === undefined) throw new PolicyParseError('Statement', 'missing');
  const statements = Array.isArray(Statement)
    ? Statement.map((s, i) => parseStatement(s, i, `Statement[${i}]`, kind, tally))
    : [parseStatement(Statement, 0, 'Statement', kind, tally)];
  return new ParsedPolicyDocument(PARSER, Version, Id, statements);
}
