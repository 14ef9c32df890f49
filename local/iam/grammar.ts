import { IamError } from './errors';
import type { Tag } from './state';

/**
 * IAM's input grammar, transcribed from the IAM API model (botocore `iam/2010-05-08/service-2.json`, the same
 * constraints the API reference prints per parameter). IAM checks these before anything else and answers every
 * violation at once in one `ValidationError`, in the Coral wording
 * `N validation error(s) detected: Value '…' at '…' failed to satisfy constraint: …`.
 *
 * Patterns are kept as the model spells them, because IAM quotes them verbatim in its messages; they are matched
 * against the whole value, as Java's `Pattern.matches` does.
 */

export interface StringShape {
  readonly type: 'string';
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
}
export interface IntegerShape {
  readonly type: 'integer';
  readonly min: number;
  readonly max: number;
}
export interface BooleanShape {
  readonly type: 'boolean';
}
export interface StringListShape {
  readonly type: 'list';
  readonly member: StringShape;
}
/** `tagListType`: up to 50 `{Key, Value}` structures, both members required. */
export interface TagListShape {
  readonly type: 'tags';
}
export type Shape = StringShape | IntegerShape | BooleanShape | StringListShape | TagListShape;

/** One request member: its shape and whether the model marks it required. */
export interface MemberSpec {
  readonly shape: Shape;
  readonly required?: boolean;
}
/** An operation's input members, by Query API name, in the model's member order (which is the report order). */
export type InputSpec = Readonly<Record<string, MemberSpec>>;

const ENTITY_NAME = '[\\w+=,.@-]+';

function text(min: number | undefined, max: number | undefined, pattern?: string): StringShape {
  return { type: 'string', min, max, pattern };
}

/** The model's shapes the stand-in's operations use, under the model's own names. */
export const SHAPES = {
  roleNameType: text(1, 64, ENTITY_NAME),
  /** CreateUser, Attach/Detach/ListAttachedUserPolicies and the user boundary calls. */
  userNameType: text(1, 64, ENTITY_NAME),
  /** Calls on an existing user (GetUser, DeleteUser, the inline-policy and group calls) accept up to 128. */
  existingUserNameType: text(1, 128, ENTITY_NAME),
  groupNameType: text(1, 128, ENTITY_NAME),
  policyNameType: text(1, 128, ENTITY_NAME),
  /** Paths of roles, users and groups: `/a//b/` and `/x:y/` are valid. */
  pathType: text(1, 512, '(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)'),
  /** Paths of managed policies are stricter than principals' paths: no empty segment, no `:`. */
  policyPathType: text(1, 512, '((/[A-Za-z0-9\\.,\\+@=_-]+)*)/'),
  /** `PathPrefix` of ListRoles/ListUsers/ListGroups (note `\u007F`, one more than `pathType`). */
  pathPrefixType: text(1, 512, '\\u002F[\\u0021-\\u007F]*'),
  arnType: text(20, 2048),
  policyDocumentType: text(1, 131072, '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+'),
  roleDescriptionType: text(undefined, 1000, '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*'),
  policyDescriptionType: text(undefined, 1000),
  policyVersionIdType: text(undefined, undefined, 'v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?'),
  markerType: text(1, 320, '[\\u0020-\\u00FF]+'),
  maxItemsType: { type: 'integer', min: 1, max: 1000 },
  roleMaxSessionDurationType: { type: 'integer', min: 3600, max: 43200 },
  booleanType: { type: 'boolean' },
  policyScopeType: { type: 'string', enum: ['All', 'AWS', 'Local'] },
  PolicyUsageType: { type: 'string', enum: ['PermissionsPolicy', 'PermissionsBoundary'] },
  EntityType: {
    type: 'string',
    enum: ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'],
  },
  entityListType: {
    type: 'list',
    member: {
      type: 'string',
      enum: ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'],
    },
  },
  tagListType: { type: 'tags' },
} as const satisfies Record<string, Shape>;

const TAG_KEY: StringShape = text(1, 128, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+');
const TAG_VALUE: StringShape = text(0, 256, '[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*');
const MAX_TAGS = 50;

const compiled = new Map<string, RegExp>();

function matchesWhole(pattern: string, value: string): boolean {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    // The `u` flag is needed for `\p{…}` but rejects identity escapes such as `\,` that Java accepts.
    regex = new RegExp(`^(?:${pattern})$`, pattern.includes('\\p{') ? 'u' : '');
    compiled.set(pattern, regex);
  }
  return regex.test(value);
}

/** One Coral constraint violation. */
interface Violation {
  readonly shown: string;
  readonly field: string;
  readonly constraint: string;
}

function quoted(value: string | null): string {
  return value === null ? 'null' : `'${value}'`;
}

function stringConstraints(shape: StringShape, value: string): string[] {
  const failed: string[] = [];
  if (shape.min !== undefined && value.length < shape.min) {
    failed.push(`Member must have length greater than or equal to ${shape.min}`);
  }
  if (shape.max !== undefined && value.length > shape.max) {
    failed.push(`Member must have length less than or equal to ${shape.max}`);
  }
  if (shape.pattern !== undefined && !matchesWhole(shape.pattern, value)) {
    failed.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
  }
  if (shape.enum !== undefined && !shape.enum.includes(value)) {
    failed.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
  }
  return failed;
}

/** Lower camel case, the way Coral names a member in its messages (`RoleName` -> `roleName`). */
export function fieldName(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

type Value = string | number | boolean | string[] | Tag[];

/** Members of a `Foo.member.N` list in index order, stopping at the first gap as the Query protocol does. */
function listMembers(params: URLSearchParams, name: string): string[] | undefined {
  if (!params.has(`${name}.member.1`)) return params.has(name) && params.get(name) === '' ? [] : undefined;
  const values: string[] = [];
  for (let index = 1; params.has(`${name}.member.${index}`); index += 1) {
    values.push(params.get(`${name}.member.${index}`) ?? '');
  }
  return values;
}

function readTags(params: URLSearchParams, violations: Violation[]): Tag[] | undefined {
  const tags: Tag[] = [];
  for (
    let index = 1;
    params.has(`Tags.member.${index}.Key`) || params.has(`Tags.member.${index}.Value`);
    index += 1
  ) {
    const key = params.get(`Tags.member.${index}.Key`);
    const value = params.get(`Tags.member.${index}.Value`);
    for (const [part, shape, member] of [
      ['key', TAG_KEY, key],
      ['value', TAG_VALUE, value],
    ] as const) {
      const field = `tags.${index}.member.${part}`;
      if (member === null) {
        violations.push({ shown: 'null', field, constraint: 'Member must not be null' });
        continue;
      }
      for (const constraint of stringConstraints(shape, member)) {
        violations.push({ shown: quoted(member), field, constraint });
      }
    }
    tags.push({ key: key ?? '', value: value ?? '' });
  }
  if (tags.length === 0) return params.has('Tags') ? [] : undefined;
  if (tags.length > MAX_TAGS) {
    violations.push({
      shown: `'[${tags.map((tag) => `Tag(Key=${tag.key}, Value=${tag.value})`).join(', ')}]'`,
      field: 'tags',
      constraint: `Member must have length less than or equal to ${MAX_TAGS}`,
    });
  }
  return tags;
}

function readMember(
  params: URLSearchParams,
  name: string,
  spec: MemberSpec,
  violations: Violation[],
): Value | undefined {
  const field = fieldName(name);
  const { shape } = spec;
  if (shape.type === 'tags') return readTags(params, violations);
  if (shape.type === 'list') {
    const values = listMembers(params, name);
    if (values === undefined) return undefined;
    const failing = values.flatMap((value) => stringConstraints(shape.member, value));
    if (failing.length > 0) {
      violations.push({
        shown: `'[${values.join(', ')}]'`,
        field,
        constraint: `Member must satisfy constraint: [${[...new Set(failing)].join(', ')}]`,
      });
    }
    return values;
  }
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (shape.type === 'boolean') {
    if (raw !== 'true' && raw !== 'false') {
      violations.push({ shown: quoted(raw), field, constraint: 'Member must be a boolean' });
      return undefined;
    }
    return raw === 'true';
  }
  if (shape.type === 'integer') {
    const parsed = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(parsed)) {
      violations.push({ shown: quoted(raw), field, constraint: 'Member must be an integer' });
      return undefined;
    }
    if (parsed < shape.min) {
      violations.push({
        shown: quoted(raw),
        field,
        constraint: `Member must have value greater than or equal to ${shape.min}`,
      });
    }
    if (parsed > shape.max) {
      violations.push({
        shown: quoted(raw),
        field,
        constraint: `Member must have value less than or equal to ${shape.max}`,
      });
    }
    return parsed;
  }
  for (const constraint of stringConstraints(shape, raw))
    violations.push({ shown: quoted(raw), field, constraint });
  return raw;
}

/** IAM's message for a list of violations: all of them, `; `-separated, with their count. */
export function validationMessage(violations: readonly Violation[]): string {
  const count = violations.length;
  const parts = violations.map(
    (v) => `Value ${v.shown} at '${v.field}' failed to satisfy constraint: ${v.constraint}`,
  );
  return `${count} validation error${count === 1 ? '' : 's'} detected: ${parts.join('; ')}`;
}

/**
 * Checks a request against an operation's input grammar and returns its typed members; throws one
 * `ValidationError` listing every violation, as IAM does, when anything is wrong.
 */
export function validateInput(spec: InputSpec, params: URLSearchParams): Input {
  const violations: Violation[] = [];
  const values = new Map<string, Value>();
  for (const [name, member] of Object.entries(spec)) {
    const value = readMember(params, name, member, violations);
    if (value === undefined) {
      if (member.required) {
        violations.push({ shown: 'null', field: fieldName(name), constraint: 'Member must not be null' });
      }
      continue;
    }
    values.set(name, value);
  }
  if (violations.length > 0) throw new IamError('ValidationError', validationMessage(violations));
  return new Input(values);
}

/** The validated members of one request. Reading a member the operation did not declare is a stand-in bug. */
export class Input {
  constructor(private readonly values: ReadonlyMap<string, Value>) {}

  /** A string member; for a required one, validation has already guaranteed its presence. */
  string(name: string): string {
    const value = this.values.get(name);
    if (typeof value !== 'string') throw new Error(`local IAM: member ${name} is absent or not a string`);
    return value;
  }

  optionalString(name: string): string | undefined {
    const value = this.values.get(name);
    return typeof value === 'string' ? value : undefined;
  }

  integer(name: string): number | undefined {
    const value = this.values.get(name);
    return typeof value === 'number' ? value : undefined;
  }

  boolean(name: string): boolean | undefined {
    const value = this.values.get(name);
    return typeof value === 'boolean' ? value : undefined;
  }

  strings(name: string): string[] | undefined {
    const value = this.values.get(name);
    return Array.isArray(value) && value.every((item) => typeof item === 'string')
      ? (value as string[])
      : undefined;
  }

  tags(): Tag[] {
    const value = this.values.get('Tags');
    return Array.isArray(value) ? (value as unknown[]).filter(isTag) : [];
  }
}

function isTag(value: unknown): value is Tag {
  return typeof value === 'object' && value !== null && 'key' in value && 'value' in value;
}
