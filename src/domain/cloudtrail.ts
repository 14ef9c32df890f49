/**
 * Turns a CloudTrail record of an IAM policy change, bare or wrapped in the EventBridge "AWS API Call via
 * CloudTrail" envelope, into a typed {@link PolicyChange}, or says explicitly why the event is ignored.
 *
 * Strictness is deliberate and uneven: everything the workflow decides on (event identity, account, the
 * change target, the policy text, `setAsDefault`, the actor ARNs used to recognise PolicyGate's own roles)
 * must be present and well typed, or the event is rejected with an {@link EventNormalisationError} naming
 * the field. Purely informational fields (source IP, user agent, MFA flag, ...) are dropped when odd, so a
 * quirk in one of them never stops a risky change from being gated.
 */
import { EventNormalisationError } from '../errors';
import {
  type Actor,
  isPolicyChangeEventName,
  type NormalisedEvent,
  type PolicyChange,
  type PolicyChangeEventName,
  type PrincipalType,
} from './policy-change';

export interface NormaliseOptions {
  /** ARNs of PolicyGate's own IAM roles; events whose actor ARN or session-issuer ARN equals one are ignored */
  ownRoleArns: readonly string[];
}

const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
const IAM_EVENT_SOURCE = 'iam.amazonaws.com';
const ACCOUNT_ID = /^\d{12}$/;
// The account part is `aws` for AWS managed policies; the path may hold several segments.
const POLICY_ARN = /^arn:[a-z][a-z0-9-]*:iam::(?:\d{12}|aws):policy\/(?:[^/\s]+\/)*([^/\s]+)$/;
const ARN_PARTITION = /^arn:([a-z][a-z0-9-]*):/;
// Role and session names cannot contain `/`, so the session is exactly the third resource segment.
const ASSUMED_ROLE_ARN = /^arn:[^:]+:sts::[^:]*:assumed-role\/[^/]+\/([^/]+)$/;
const IAM_PATH = /^\/(?:.*\/)?$/s;

type JsonObject = Record<string, unknown>;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON-quoted and shortened, so junk input cannot flood a message. */
function quote(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.length > 80 ? `${quoted.slice(0, 76)}..."` : quoted;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${typeof value === 'string' ? quote(value) : String(value)}`;
}

function fail(path: string, problem: string): never {
  throw new EventNormalisationError(`${path}: ${problem}`);
}

/**
 * Reads the fields of one JSON object and names every problem by its full path (`detail.userIdentity.arn`).
 * Only own properties are read, so inherited names (`constructor`, `__proto__`) never pass as data.
 */
class Fields {
  constructor(
    private readonly object: JsonObject,
    readonly path: string,
  ) {}

  pathOf(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  raw(key: string): unknown {
    return Object.hasOwn(this.object, key) ? this.object[key] : undefined;
  }

  /** A non-empty string, or an error naming the field. */
  requiredString(key: string): string {
    const value = this.raw(key);
    if (value === undefined || value === null) fail(this.pathOf(key), 'missing');
    if (typeof value !== 'string') fail(this.pathOf(key), `expected a string, got ${describe(value)}`);
    if (value.trim() === '') fail(this.pathOf(key), 'empty');
    return value;
  }

  /** Absent (undefined, null) is fine; present must be a non-empty string. */
  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null) return undefined;
    return this.requiredString(key);
  }

  /** Informational: anything but a non-empty string reads as absent. */
  looseString(key: string): string | undefined {
    const value = this.raw(key);
    return typeof value === 'string' && value.trim() !== '' ? value : undefined;
  }

  requiredObject(key: string): Fields {
    const value = this.raw(key);
    if (value === undefined || value === null) fail(this.pathOf(key), 'missing');
    if (!isJsonObject(value)) fail(this.pathOf(key), `expected an object, got ${describe(value)}`);
    return new Fields(value, this.pathOf(key));
  }

  optionalObject(key: string): Fields | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null) return undefined;
    return this.requiredObject(key);
  }
}

/** The CloudTrail record plus what only the EventBridge envelope knows. */
interface Located {
  record: Fields;
  envelopeAccount?: { value: unknown; path: string };
  envelopeRegion?: unknown;
}

function locateRecord(input: unknown): Located {
  if (!isJsonObject(input)) fail('event', `expected a JSON object, got ${describe(input)}`);
  const top = new Fields(input, '');
  const isEnvelope = Object.hasOwn(input, 'detail-type') || Object.hasOwn(input, 'detail');
  let located: Located;
  if (isEnvelope) {
    const detailType = top.requiredString('detail-type');
    if (detailType !== CLOUDTRAIL_DETAIL_TYPE) {
      fail(
        'detail-type',
        `${quote(detailType)} is not a CloudTrail API call (expected "${CLOUDTRAIL_DETAIL_TYPE}")`,
      );
    }
    const account = top.raw('account');
    located = {
      record: top.requiredObject('detail'),
      envelopeAccount:
        account === undefined || account === null ? undefined : { value: account, path: 'account' },
      envelopeRegion: top.raw('region'),
    };
  } else {
    located = { record: top };
  }
  const eventSource = located.record.requiredString('eventSource');
  if (eventSource !== IAM_EVENT_SOURCE) {
    fail(
      located.record.pathOf('eventSource'),
      `${quote(eventSource)} is not IAM (expected "${IAM_EVENT_SOURCE}")`,
    );
  }
  return located;
}

/** A boolean that CloudTrail may render as `true` or `"true"`; absent reads as `fallback`. */
function flag(fields: Fields, key: string, fallback: boolean): boolean {
  const value = fields.raw(key);
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false') return false;
  }
  return fail(fields.pathOf(key), `expected true or false, got ${describe(value)}`);
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function parseActor(record: Fields): Actor {
  const identity = record.requiredObject('userIdentity');
  const type = identity.requiredString('type');
  // The ARNs decide whether PolicyGate ignores its own changes, so they are never guessed at.
  const arn = identity.optionalString('arn');
  const principalId = identity.looseString('principalId');
  const session = identity.optionalObject('sessionContext');

  let sessionIssuer: Actor['sessionIssuer'];
  let mfaAuthenticated: boolean | undefined;
  if (session) {
    // Root and IAM-user sessions carry an empty `sessionIssuer: {}`; only an issuer with an ARN counts.
    const issuer = session.optionalObject('sessionIssuer');
    const issuerArn = issuer?.optionalString('arn');
    if (issuer && issuerArn !== undefined) {
      sessionIssuer = compact({
        type: issuer.requiredString('type'),
        arn: issuerArn,
        userName: issuer.looseString('userName'),
      });
    }
    const attributes = session.raw('attributes');
    if (isJsonObject(attributes)) {
      const mfa = attributes.mfaAuthenticated;
      if (typeof mfa === 'boolean') mfaAuthenticated = mfa;
      else if (mfa === 'true' || mfa === 'false') mfaAuthenticated = mfa === 'true';
    }
  }

  let sessionName: string | undefined;
  if (type === 'AssumedRole') {
    sessionName = arn?.match(ASSUMED_ROLE_ARN)?.[1];
    if (sessionName === undefined && principalId?.includes(':')) {
      sessionName = principalId.slice(principalId.indexOf(':') + 1) || undefined;
    }
  }

  return compact({
    type,
    arn,
    principalId,
    accountId: identity.looseString('accountId'),
    userName: identity.looseString('userName'),
    sessionName,
    sessionIssuer,
    accessKeyId: identity.looseString('accessKeyId'),
    invokedBy: identity.looseString('invokedBy'),
    mfaAuthenticated,
  });
}

function ownRoleMatch(actor: Actor, ownRoleArns: readonly string[]): string | undefined {
  const own = new Set<string>();
  for (const arn of ownRoleArns) {
    if (typeof arn === 'string' && arn.trim() !== '') own.add(arn.trim());
  }
  for (const candidate of [actor.arn, actor.sessionIssuer?.arn]) {
    if (candidate !== undefined && own.has(candidate.trim())) return candidate.trim();
  }
  return undefined;
}

function resolveAccount(located: Located, record: Fields): string {
  const identity = record.requiredObject('userIdentity');
  const candidates = [
    located.envelopeAccount,
    { value: record.raw('recipientAccountId'), path: record.pathOf('recipientAccountId') },
    { value: identity.raw('accountId'), path: identity.pathOf('accountId') },
  ];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate.value === undefined || candidate.value === null) continue;
    if (typeof candidate.value !== 'string' || !ACCOUNT_ID.test(candidate.value)) {
      fail(candidate.path, `expected a 12-digit AWS account ID, got ${describe(candidate.value)}`);
    }
    return candidate.value;
  }
  const looked = candidates.flatMap((c) => (c ? [c.path] : [])).join(', ');
  return fail(
    located.envelopeAccount ? 'account' : record.pathOf('recipientAccountId'),
    `missing (looked at ${looked})`,
  );
}

function resolveRegion(located: Located, record: Fields): string {
  const awsRegion = record.optionalString('awsRegion');
  if (awsRegion !== undefined) return awsRegion;
  const region = located.envelopeRegion;
  if (typeof region === 'string' && region.trim() !== '') return region;
  return fail(record.pathOf('awsRegion'), 'missing');
}

function eventTime(record: Fields): string {
  const time = record.requiredString('eventTime');
  if (Number.isNaN(Date.parse(time))) fail(record.pathOf('eventTime'), `not a timestamp: ${describe(time)}`);
  return time;
}

function policyArn(fields: Fields, key: string): { policyArn: string; policyName: string } {
  const arn = fields.requiredString(key);
  const name = arn.match(POLICY_ARN)?.[1];
  if (name === undefined) fail(fields.pathOf(key), `not an IAM policy ARN: ${describe(arn)}`);
  return { policyArn: arn, policyName: name };
}

function policyDocument(params: Fields): string {
  const value = params.raw('policyDocument');
  // Some producers (and hand-made test events) inline the document as JSON rather than as text.
  if (isJsonObject(value)) return JSON.stringify(value);
  return params.requiredString('policyDocument');
}

interface BuildContext {
  params: Fields;
  response: Fields | undefined;
  accountId: string;
  partition: string;
}

type ChangeBody = Pick<PolicyChange, 'target' | 'document' | 'versionId' | 'setAsDefault'>;

const PRINCIPAL_NAME_KEY: Readonly<Record<PrincipalType, string>> = {
  role: 'roleName',
  user: 'userName',
  group: 'groupName',
};

function inlinePolicy(principalType: PrincipalType) {
  return ({ params }: BuildContext): ChangeBody => ({
    target: {
      kind: 'inline-policy',
      principalType,
      principalName: params.requiredString(PRINCIPAL_NAME_KEY[principalType]),
      policyName: params.requiredString('policyName'),
    },
    document: policyDocument(params),
  });
}

function attachment(principalType: PrincipalType) {
  return ({ params }: BuildContext): ChangeBody => ({
    target: {
      kind: 'attachment',
      principalType,
      principalName: params.requiredString(PRINCIPAL_NAME_KEY[principalType]),
      policyArn: policyArn(params, 'policyArn').policyArn,
    },
  });
}

const BUILDERS: Readonly<Record<PolicyChangeEventName, (context: BuildContext) => ChangeBody>> = {
  CreatePolicy: ({ params, response, accountId, partition }) => {
    const policyName = params.requiredString('policyName');
    const document = policyDocument(params);
    const created = response?.optionalObject('policy');
    let arn: string;
    if (created?.optionalString('arn') !== undefined) {
      arn = policyArn(created, 'arn').policyArn;
    } else {
      // Without the response, IAM's own rule rebuilds the ARN: the account, the path, then the name.
      const path = params.optionalString('path') ?? '/';
      if (!IAM_PATH.test(path)) fail(params.pathOf('path'), 'expected a path that starts and ends with "/"');
      arn = `arn:${partition}:iam::${accountId}:policy${path}${policyName}`;
    }
    return {
      target: { kind: 'managed-policy', policyArn: arn, policyName },
      document,
      versionId: created?.optionalString('defaultVersionId') ?? 'v1',
    };
  },
  CreatePolicyVersion: ({ params, response }) => {
    const target = { kind: 'managed-policy' as const, ...policyArn(params, 'policyArn') };
    const document = policyDocument(params);
    const setAsDefault = flag(params, 'setAsDefault', false);
    const versionId = response?.optionalObject('policyVersion')?.optionalString('versionId');
    return compact({ target, document, versionId, setAsDefault });
  },
  SetDefaultPolicyVersion: ({ params }) => ({
    target: { kind: 'managed-policy', ...policyArn(params, 'policyArn') },
    versionId: params.requiredString('versionId'),
  }),
  PutRolePolicy: inlinePolicy('role'),
  PutUserPolicy: inlinePolicy('user'),
  PutGroupPolicy: inlinePolicy('group'),
  AttachRolePolicy: attachment('role'),
  AttachUserPolicy: attachment('user'),
  AttachGroupPolicy: attachment('group'),
};

/**
 * Normalises one IAM CloudTrail event into a {@link PolicyChange}, or an explicit `ignored` result for a
 * failed call (any `errorCode`), a call made by one of PolicyGate's own roles, or an IAM event that is not
 * a gated policy change. Checks run in that order, after the envelope and `eventSource` are validated.
 *
 * @param input An EventBridge "AWS API Call via CloudTrail" event, or a bare CloudTrail record, parsed from
 *   JSON. Anything may be passed in; nothing is mutated.
 * @param options `ownRoleArns` are compared, trimmed and exactly, with the actor ARN and session-issuer ARN.
 * @throws EventNormalisationError for input that is not an IAM CloudTrail event, or that lacks (or mistypes)
 *   a field the change needs; the message starts with the field path, e.g.
 *   `detail.requestParameters.policyArn: missing`. No other error type escapes for any input.
 */
export function normaliseEvent(input: unknown, options: NormaliseOptions): NormalisedEvent {
  const located = locateRecord(input);
  const { record } = located;
  const eventId = record.looseString('eventID');
  const eventName = record.looseString('eventName');
  const ignored = (
    reason: 'failed-call' | 'own-role' | 'unsupported-event',
    detail: string,
  ): NormalisedEvent => compact({ kind: 'ignored', reason, detail, eventId, eventName });

  const errorCode = record.raw('errorCode');
  if (errorCode !== undefined && errorCode !== null) {
    // A success wrongly read as a failure would go ungated, so an odd errorCode is rejected, not trusted.
    const code = record.requiredString('errorCode');
    const message = record.looseString('errorMessage');
    return ignored(
      'failed-call',
      `${eventName ?? 'the call'} failed with ${code}${message ? `: ${message}` : ''}`,
    );
  }

  const name = record.requiredString('eventName');
  const actor = parseActor(record);
  const own = ownRoleMatch(actor, options.ownRoleArns);
  if (own !== undefined) return ignored('own-role', `${name} was made by PolicyGate's own role ${own}`);
  if (!isPolicyChangeEventName(name)) {
    return ignored('unsupported-event', `${name} is not an IAM policy change PolicyGate gates`);
  }

  const accountId = resolveAccount(located, record);
  const change: PolicyChange = {
    eventId: record.requiredString('eventID'),
    eventName: name,
    eventTime: eventTime(record),
    accountId,
    region: resolveRegion(located, record),
    actor,
    ...compact({
      sourceIp: record.looseString('sourceIPAddress'),
      userAgent: record.looseString('userAgent'),
      requestId: record.looseString('requestID'),
    }),
    ...BUILDERS[name]({
      params: record.requiredObject('requestParameters'),
      response: record.optionalObject('responseElements'),
      accountId,
      partition: actor.arn?.match(ARN_PARTITION)?.[1] ?? 'aws',
    }),
  };
  return { kind: 'change', change };
}

/**
 * Whether `input` looks like a CloudTrail event rather than, say, a policy document: an EventBridge event
 * with detail-type "AWS API Call via CloudTrail", or a bare record with string `eventName` and
 * `eventSource` (any service; {@link normaliseEvent} explains why a non-IAM record is unusable).
 */
export function isCloudTrailShaped(input: unknown): boolean {
  if (!isJsonObject(input)) return false;
  // Any EventBridge envelope counts, so normaliseEvent can explain a wrong detail-type instead of the
  // envelope being misread as a policy document.
  if (Object.hasOwn(input, 'detail-type') && Object.hasOwn(input, 'detail')) return true;
  return (
    Object.hasOwn(input, 'eventName') &&
    Object.hasOwn(input, 'eventSource') &&
    typeof input.eventName === 'string' &&
    typeof input.eventSource === 'string'
  );
}
