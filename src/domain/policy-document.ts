import { PolicyParseError } from '../errors';

/** One statement of an identity-based policy, normalised so every list element is a list. */
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
}

/** A parsed identity-based policy document. */
export interface PolicyDocument {
  readonly version?: string;
  readonly id?: string;
  readonly statements: readonly PolicyStatement[];
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/**
 * Decodes the textual forms a policy arrives in: plain JSON, or JSON URL-encoded as IAM's
 * `GetPolicyVersion` and some CloudTrail fields return it.
 */
function decodeText(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') throw new PolicyParseError('', 'policy document is empty');
  let json = trimmed;
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[') && /%[0-9a-f]{2}/i.test(trimmed)) {
    try {
      json = decodeURIComponent(trimmed).trim();
    } catch (cause) {
      throw new PolicyParseError('', 'policy document looks URL-encoded but has an invalid escape sequence', {
        cause,
      });
    }
  }
  try {
    return JSON.parse(json);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new PolicyParseError('', `policy document is not valid JSON (${detail})`, { cause });
  }
}

function stringList(value: unknown, path: string, allowEmpty: boolean): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value))
    throw new PolicyParseError(path, `expected a string or a list of strings, got ${describe(value)}`);
  if (value.length === 0 && !allowEmpty) throw new PolicyParseError(path, 'must not be an empty list');
  value.forEach((item, i) => {
    if (typeof item !== 'string')
      throw new PolicyParseError(`${path}[${i}]`, `expected a string, got ${describe(item)}`);
  });
  return value as string[];
}

function parseStatement(raw: unknown, index: number, path: string): PolicyStatement {
  if (!isRecord(raw)) throw new PolicyParseError(path, `expected a statement object, got ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!STATEMENT_KEYS.has(key)) throw new PolicyParseError(`${path}.${key}`, 'unknown statement element');
  }
  const { Sid, Effect, Action, NotAction, Resource, NotResource, Condition } = raw;
  if (Sid !== undefined && typeof Sid !== 'string') {
    throw new PolicyParseError(`${path}.Sid`, `expected a string, got ${describe(Sid)}`);
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
  if (Condition !== undefined && !isRecord(Condition)) {
    throw new PolicyParseError(`${path}.Condition`, `expected an object, got ${describe(Condition)}`);
  }
  return {
    index,
    ...(Sid !== undefined && { sid: Sid }),
    effect: Effect,
    ...(Action !== undefined && { action: stringList(Action, `${path}.Action`, true) }),
    ...(NotAction !== undefined && { notAction: stringList(NotAction, `${path}.NotAction`, true) }),
    ...(Resource !== undefined && { resource: stringList(Resource, `${path}.Resource`, true) }),
    ...(NotResource !== undefined && { notResource: stringList(NotResource, `${path}.NotResource`, true) }),
    // An empty Condition block constrains nothing, so it is not a condition.
    ...(Condition !== undefined && Object.keys(Condition).length > 0 && { condition: Condition }),
  };
}

/**
 * Parses an IAM identity-based policy document given as an object, a JSON string, or a URL-encoded
 * JSON string. Throws {@link PolicyParseError} naming the offending element (e.g. `Statement[2].Effect`).
 */
export function parsePolicyDocument(input: unknown): PolicyDocument {
  const raw = typeof input === 'string' ? decodeText(input) : input;
  if (!isRecord(raw))
    throw new PolicyParseError('', `policy document must be a JSON object, got ${describe(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!DOCUMENT_KEYS.has(key)) throw new PolicyParseError(key, 'unknown policy element');
  }
  const { Version, Id, Statement } = raw;
  if (Version !== undefined && typeof Version !== 'string') {
    throw new PolicyParseError('Version', `expected a string, got ${describe(Version)}`);
  }
  if (Id !== undefined && typeof Id !== 'string')
    throw new PolicyParseError('Id', `expected a string, got ${describe(Id)}`);
  if (Statement === undefined) throw new PolicyParseError('Statement', 'missing');
  const statements = Array.isArray(Statement)
    ? Statement.map((s, i) => parseStatement(s, i, `Statement[${i}]`))
    : [parseStatement(Statement, 0, 'Statement')];
  return {
    ...(Version !== undefined && { version: Version }),
    ...(Id !== undefined && { id: Id }),
    statements,
  };
}
