/**
 * Turns a CloudTrail record of an IAM change, bare or wrapped in the EventBridge "AWS API Call via
 * CloudTrail" envelope (or PolicyGate's own sweep finding, see `cloudtrail-sweep.ts`), into a typed
 * {@link PolicyChange}, or says explicitly why the event is ignored.
 *
 * It never fails open. A watched event yields a change as long as its target can be located at all; what it
 * could not read is listed in `change.problems` and stand-ins are used (a content-derived id, the envelope's
 * time, an unknown actor), so an odd field never lets a change walk around the gate. Names are passed on as
 * the event gives them: IAM decides whether they exist. Only an event whose target cannot be located throws
 * {@link EventNormalisationError}, carrying the raw identifiers the event did hold so the alert can say what
 * is NOT contained. Purely informational fields (source IP, user agent, MFA flag, ...) are dropped quietly
 * when odd.
 */
import { EventNormalisationError } from '../errors';
import {
  contentDigest,
  describe,
  isJsonObject,
  type JsonObject,
  own,
  quote,
  shorten,
  stringifyOrUndefined,
  text,
} from './cloudtrail-reader';
import { SWEEP_EVENT_ID, SWEEP_FINDING_DETAIL_TYPE, SWEEP_FINDING_SOURCE } from './cloudtrail-sweep';
import {
  describeNameShape,
  type IamNameShape,
  isAccountId,
  isIamName,
  isIamPath,
  isPolicyVersionId,
  managedPolicyArn,
  parsePolicyArn,
  partitionOfArn,
  partitionOfRegion,
  policyNameOfArn,
} from './iam-grammar';
import {
  type Actor,
  type ChangeOrigin,
  type ChangeTarget,
  isPolicyChangeEventName,
  type NormalisedEvent,
  type PolicyChange,
  type PolicyChangeEventName,
  type PrincipalType,
} from './policy-change';

export {
  SWEEP_FINDING_DETAIL_TYPE,
  SWEEP_FINDING_SOURCE,
  type SweepFinding,
  type SweepFindingEvent,
  sweepFindingEvent,
} from './cloudtrail-sweep';

export interface NormaliseOptions {
  /**
   * ARNs of PolicyGate's own IAM roles: a change whose actor ARN or session-issuer ARN equals one is marked
   * `madeByOwnRole` (never ignored: the workflow decides whether it is PolicyGate's own write)
   */
  ownRoleArns: readonly string[];
  /** The clock used when neither the record nor its envelope has a readable time; default: the system's. */
  now?: () => Date;
}

const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
const IAM_EVENT_SOURCE = 'iam.amazonaws.com';
// CloudTrail's eventID is a UUID; anything else is not trusted as an approval id (a DynamoDB key, a button value).
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Role and session names cannot contain `/`, so the session is exactly the third resource segment.
const ASSUMED_ROLE_ARN = /^arn:[^:]+:sts::[^:]*:assumed-role\/[^/]+\/([^/]+)$/;
// requestParameters keys whose string values identify what a call changed (not the document it carries).
const IDENTIFIER_KEY = /(?:name|arn|boundary|path|versionid)$/i;
const MAX_IDENTIFIER_LENGTH = 200;
const MAX_PARAMETER_IDENTIFIERS = 20;

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The raw identifiers an event carries, shortened, for the alert of an event that cannot be normalised or
 * whose change could not be contained: the reader must be able to find the change by hand from the alert
 * alone. Total: it reads only own properties and never throws.
 */
export function eventIdentifiers(input: unknown): Record<string, string> {
  const identifiers: Record<string, string> = {};
  try {
    const put = (key: string, value: unknown): void => {
      if (typeof value === 'string' && value.trim() !== '') {
        identifiers[key] = shorten(value, MAX_IDENTIFIER_LENGTH);
      } else if (typeof value === 'number' || typeof value === 'boolean') {
        identifiers[key] = String(value);
      }
    };
    if (!isJsonObject(input)) return identifiers;
    const isEnvelope = Object.hasOwn(input, 'detail-type') || Object.hasOwn(input, 'detail');
    const record = isEnvelope ? own(input, 'detail') : input;
    const identity = own(record, 'userIdentity');
    put('eventName', own(record, 'eventName'));
    put('eventID', own(record, 'eventID'));
    put('actor', own(identity, 'arn'));
    put('sessionIssuer', own(own(own(identity, 'sessionContext'), 'sessionIssuer'), 'arn'));
    put(
      'account',
      text(own(input, 'account')) ?? text(own(record, 'recipientAccountId')) ?? own(identity, 'accountId'),
    );
    if (isEnvelope) put('eventBridgeId', own(input, 'id'));
    const params = own(record, 'requestParameters');
    if (isJsonObject(params)) {
      let count = 0;
      for (const key of Object.keys(params)) {
        if (count >= MAX_PARAMETER_IDENTIFIERS) break;
        const value = params[key];
        const arnLike = typeof value === 'string' && value.startsWith('arn:');
        if (key === 'policyDocument' || !(IDENTIFIER_KEY.test(key) || arnLike)) continue;
        const before = Object.keys(identifiers).length;
        put(`requestParameters.${shorten(key, 60)}`, value);
        if (Object.keys(identifiers).length > before) count += 1;
      }
    }
  } catch {
    // Best effort: an input that fights being read still gets whatever was collected so far.
  }
  return identifiers;
}

/** Collects the problems of one event, each named by its full path (`detail.userIdentity.arn`). */
class Problems {
  readonly list: string[] = [];
  constructor(private readonly prefix: string) {}

  path(...keys: string[]): string {
    return `${this.prefix}${keys.join('.')}`;
  }

  note(path: string, problem: string): void {
    this.list.push(`${path}: ${problem}`);
  }
}

/** The CloudTrail record plus what only its EventBridge envelope knows. */
interface Located {
  record: JsonObject;
  envelope?: JsonObject;
  origin: ChangeOrigin;
  problems: Problems;
}

/** A string quoted as is, anything else described: `"s3.amazonaws.com"`, `number 7`. */
function shown(value: unknown): string {
  return typeof value === 'string' ? quote(value) : describe(value);
}

function refuse(input: unknown, path: string, problem: string): never {
  throw new EventNormalisationError(`${path}: ${problem}`, { identifiers: eventIdentifiers(input) });
}

function locateRecord(input: unknown): Located {
  if (!isJsonObject(input)) refuse(input, 'event', `expected a JSON object, got ${describe(input)}`);
  const isEnvelope = Object.hasOwn(input, 'detail-type') || Object.hasOwn(input, 'detail');
  let located: Located;
  if (isEnvelope) {
    const detailType = own(input, 'detail-type');
    if (typeof detailType !== 'string') {
      refuse(
        input,
        'detail-type',
        detailType === undefined || detailType === null
          ? 'missing'
          : `expected a string, got ${describe(detailType)}`,
      );
    }
    let origin: ChangeOrigin;
    if (detailType === CLOUDTRAIL_DETAIL_TYPE) {
      origin = 'cloudtrail';
    } else if (detailType === SWEEP_FINDING_DETAIL_TYPE) {
      const source = own(input, 'source');
      if (source !== SWEEP_FINDING_SOURCE) {
        refuse(
          input,
          'source',
          `${shown(source)} is not PolicyGate's sweep (expected "${SWEEP_FINDING_SOURCE}")`,
        );
      }
      origin = 'sweep';
    } else {
      refuse(
        input,
        'detail-type',
        `${quote(detailType)} is not a CloudTrail API call (expected "${CLOUDTRAIL_DETAIL_TYPE}")`,
      );
    }
    const detail = own(input, 'detail');
    if (!isJsonObject(detail)) {
      refuse(
        input,
        'detail',
        detail === undefined || detail === null ? 'missing' : `expected an object, got ${describe(detail)}`,
      );
    }
    located = { record: detail, envelope: input, origin, problems: new Problems('detail.') };
  } else {
    located = { record: input, origin: 'cloudtrail', problems: new Problems('') };
  }
  const eventSource = own(located.record, 'eventSource');
  const sourcePath = located.problems.path('eventSource');
  if (eventSource === undefined || eventSource === null) refuse(input, sourcePath, 'missing');
  if (eventSource !== IAM_EVENT_SOURCE) {
    refuse(input, sourcePath, `${shown(eventSource)} is not IAM (expected "${IAM_EVENT_SOURCE}")`);
  }
  return located;
}

function parseActor(located: Located): Actor {
  const { record, problems } = located;
  const path = (...keys: string[]) => problems.path('userIdentity', ...keys);
  const identity = own(record, 'userIdentity');
  if (!isJsonObject(identity)) {
    const found =
      identity === undefined || identity === null
        ? 'missing'
        : `expected an object, got ${describe(identity)}`;
    problems.note(path(), `${found}; the actor is unknown`);
    return { type: 'Unknown' };
  }

  let type = text(own(identity, 'type'));
  if (type === undefined) {
    problems.note(
      path('type'),
      `${describe(own(identity, 'type'))} is not an identity type; "Unknown" is used`,
    );
    type = 'Unknown';
  }
  // The ARNs decide whether PolicyGate ignores its own changes: one that cannot be read is dropped, so the
  // change is gated rather than taken for PolicyGate's own.
  const readArn = (value: unknown, at: string): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (text(value) !== undefined) return value as string;
    problems.note(at, `${describe(value)} is not an ARN; dropped`);
    return undefined;
  };
  const arn = readArn(own(identity, 'arn'), path('arn'));
  const principalId = text(own(identity, 'principalId'));

  let sessionIssuer: Actor['sessionIssuer'];
  let mfaAuthenticated: boolean | undefined;
  let sourceIdentity: string | undefined;
  let sessionCreatedAt: string | undefined;
  const session = own(identity, 'sessionContext');
  if (isJsonObject(session)) {
    // Root and IAM-user sessions carry an empty `sessionIssuer: {}`; only an issuer with an ARN counts.
    const issuer = own(session, 'sessionIssuer');
    if (isJsonObject(issuer)) {
      const issuerArn = readArn(own(issuer, 'arn'), path('sessionContext', 'sessionIssuer', 'arn'));
      if (issuerArn !== undefined) {
        let issuerType = text(own(issuer, 'type'));
        if (issuerType === undefined) {
          problems.note(
            path('sessionContext', 'sessionIssuer', 'type'),
            `${describe(own(issuer, 'type'))} is not an issuer type; "Unknown" is used`,
          );
          issuerType = 'Unknown';
        }
        sessionIssuer = compact({
          type: issuerType,
          arn: issuerArn,
          userName: text(own(issuer, 'userName')),
        });
      }
    } else if (issuer !== undefined && issuer !== null) {
      problems.note(
        path('sessionContext', 'sessionIssuer'),
        `expected an object, got ${describe(issuer)}; dropped`,
      );
    }
    const mfa = own(own(session, 'attributes'), 'mfaAuthenticated');
    if (typeof mfa === 'boolean') mfaAuthenticated = mfa;
    else if (mfa === 'true' || mfa === 'false') mfaAuthenticated = mfa === 'true';
    // AWS puts the source identity here (and only here) on every call of a session that has one; a session
    // name that merely looks like one is not read as one.
    const source = own(session, 'sourceIdentity');
    if (source !== undefined && source !== null) {
      if (typeof source === 'string' && SOURCE_IDENTITY.test(source)) sourceIdentity = source;
      else {
        problems.note(
          path('sessionContext', 'sourceIdentity'),
          `${describe(source)} is not a source identity; dropped`,
        );
      }
    }
    const created = own(own(session, 'attributes'), 'creationDate');
    if (typeof created === 'string' && !Number.isNaN(Date.parse(created))) {
      sessionCreatedAt = new Date(created).toISOString();
    }
  } else if (session !== undefined && session !== null) {
    problems.note(path('sessionContext'), `expected an object, got ${describe(session)}; dropped`);
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
    accountId: text(own(identity, 'accountId')),
    userName: text(own(identity, 'userName')),
    sessionName,
    sessionIssuer,
    accessKeyId: text(own(identity, 'accessKeyId')),
    invokedBy: text(own(identity, 'invokedBy')),
    mfaAuthenticated,
    sourceIdentity,
    sessionCreatedAt,
  });
}

/** STS's source-identity grammar: 2 to 64 of letters, digits and `_+=,.@-`, never starting with `aws:`. */
const SOURCE_IDENTITY = /^(?!aws:)[\w+=,.@-]{2,64}$/i;

/**
 * Reads a CloudTrail `userIdentity` on its own (e.g. the caller of an `AssumeRole` event) exactly as the
 * actor of a change is read; what cannot be read is dropped, never guessed.
 */
export function parseUserIdentity(identity: unknown): Actor {
  const record: JsonObject = { userIdentity: identity as JsonObject[string] };
  return parseActor({ record, origin: 'cloudtrail', problems: new Problems('') });
}

function ownRoleMatch(actor: Actor, ownRoleArns: readonly string[]): string | undefined {
  const ownArns = new Set<string>();
  for (const arn of ownRoleArns) {
    if (typeof arn === 'string' && arn.trim() !== '') ownArns.add(arn.trim());
  }
  for (const candidate of [actor.arn, actor.sessionIssuer?.arn]) {
    if (candidate !== undefined && ownArns.has(candidate.trim())) return candidate.trim();
  }
  return undefined;
}

/** The account: the envelope's, then `recipientAccountId`, then the actor's; `undefined` when none is readable. */
function resolveAccount(located: Located): string | undefined {
  const { record, envelope, problems } = located;
  const candidates: Array<[unknown, string]> = [
    [own(record, 'recipientAccountId'), problems.path('recipientAccountId')],
  ];
  if (envelope) candidates.unshift([own(envelope, 'account'), 'account']);
  let found: string | undefined;
  for (const [value, path] of candidates) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' && isAccountId(value)) found ??= value;
    else problems.note(path, `expected a 12-digit AWS account ID, got ${describe(value)}`);
  }
  if (found !== undefined) return found;
  const identityAccount = own(own(record, 'userIdentity'), 'accountId');
  if (typeof identityAccount === 'string' && isAccountId(identityAccount)) return identityAccount;
  const looked = [...candidates.map(([, path]) => path), problems.path('userIdentity', 'accountId')];
  problems.note(
    candidates[0]?.[1] ?? 'account',
    `no account found (looked at ${looked.join(', ')}); shown as unknown`,
  );
  return undefined;
}

function resolveRegion(located: Located): string {
  const { record, envelope, problems } = located;
  const awsRegion = own(record, 'awsRegion');
  if (text(awsRegion) !== undefined) return awsRegion as string;
  if (awsRegion !== undefined && awsRegion !== null) {
    problems.note(problems.path('awsRegion'), `expected a region, got ${describe(awsRegion)}`);
  }
  const region = text(own(envelope, 'region'));
  if (region !== undefined) return region;
  if (awsRegion === undefined || awsRegion === null) problems.note(problems.path('awsRegion'), 'missing');
  return 'unknown';
}

function isTimestamp(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function resolveTime(located: Located, now: () => Date): string {
  const { record, envelope, problems } = located;
  const eventTime = own(record, 'eventTime');
  if (isTimestamp(eventTime)) return eventTime;
  const found =
    eventTime === undefined || eventTime === null ? 'missing' : `not a timestamp: ${describe(eventTime)}`;
  const envelopeTime = own(envelope, 'time');
  if (isTimestamp(envelopeTime)) {
    problems.note(problems.path('eventTime'), `${found}; the envelope's time is used`);
    return envelopeTime;
  }
  problems.note(problems.path('eventTime'), `${found}; the time PolicyGate read the event is used`);
  const date = now();
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

/** CloudTrail's eventID (or a sweep finding's id), else a stand-in derived from the record's content. */
function resolveEventId(located: Located): string {
  const { record, problems, origin } = located;
  const eventId = own(record, 'eventID');
  if (
    typeof eventId === 'string' &&
    (EVENT_ID.test(eventId) || (origin === 'sweep' && SWEEP_EVENT_ID.test(eventId)))
  ) {
    return eventId;
  }
  // Derived from the whole record, so a duplicate delivery of the same event gets the same id.
  const standIn = `evt-${contentDigest(record)}`;
  const found =
    eventId === undefined || eventId === null
      ? 'missing'
      : `not a ${origin === 'sweep' ? 'sweep finding' : 'CloudTrail event'} ID: ${describe(eventId)}`;
  problems.note(problems.path('eventID'), `${found}; stand-in id ${standIn} is used`);
  return standIn;
}

interface BuildContext {
  eventName: PolicyChangeEventName;
  params: JsonObject;
  response: JsonObject | undefined;
  problems: Problems;
  origin: ChangeOrigin;
  accountId: string | undefined;
  /** The partition and whether it had to be assumed. */
  partition: { name: string; assumed: boolean };
  input: unknown;
}

type ChangeBody = Pick<PolicyChange, 'target' | 'document' | 'versionId' | 'setAsDefault'>;

const PRINCIPAL_KEY: Readonly<Record<PrincipalType, string>> = {
  role: 'roleName',
  user: 'userName',
  group: 'groupName',
};

/** Throws for a target that cannot be located, with the identifiers the event did carry. */
function unlocatable(context: BuildContext, path: string, found: string, what: string): never {
  throw new EventNormalisationError(
    `${path}: ${found}, so the ${what} this ${context.eventName} changed cannot be located`,
    { identifiers: eventIdentifiers(context.input) },
  );
}

function missingOrWrong(value: unknown, expected: string): string {
  if (value === undefined || value === null) return 'missing';
  if (typeof value === 'string') return 'empty';
  return `expected ${expected}, got ${describe(value)}`;
}

/** A name that locates the target: required, passed on exactly as given; off-grammar names are reported. */
function locateName(context: BuildContext, key: string, shape: IamNameShape, what: string): string {
  const value = own(context.params, key);
  const path = context.problems.path('requestParameters', key);
  if (text(value) === undefined) unlocatable(context, path, missingOrWrong(value, 'a name'), what);
  const name = value as string;
  if (!isIamName(shape, name)) {
    context.problems.note(
      path,
      `${quote(name)} is not a valid IAM name (${describeNameShape(shape)}); passed on as given`,
    );
  }
  return name;
}

/** A policy ARN as given; off-grammar ARNs are reported. `policyName` is the part after its last `/`. */
function checkPolicyArn(
  context: BuildContext,
  path: string,
  arn: string,
): { arn: string; policyName?: string } {
  const parsed = parsePolicyArn(arn);
  if (!parsed.ok) context.problems.note(path, `${parsed.reason}: ${quote(arn)}; passed on as given`);
  return compact({ arn, policyName: parsed.ok ? parsed.parts.policyName : policyNameOfArn(arn) });
}

function locatePolicyArn(
  context: BuildContext,
  key: string,
  what: string,
): { arn: string; policyName?: string } {
  const value = own(context.params, key);
  const path = context.problems.path('requestParameters', key);
  if (text(value) === undefined) unlocatable(context, path, missingOrWrong(value, 'an ARN'), what);
  return checkPolicyArn(context, path, value as string);
}

/** The document as the event carries it; absent (and reported, for CloudTrail) when unreadable or missing. */
function readDocument(context: BuildContext, key: string): string | undefined {
  const value = own(context.params, key);
  const path = context.problems.path('requestParameters', key);
  if (typeof value === 'string' && value !== '') return value;
  // Some producers (and hand-made test events) inline the document as JSON rather than as text.
  if (isJsonObject(value)) {
    const serialised = stringifyOrUndefined(value);
    if (serialised !== undefined) return serialised;
    context.problems.note(path, 'an object that cannot be serialised; IAM is read instead');
    return undefined;
  }
  if (value === undefined || value === null) {
    if (context.origin === 'cloudtrail') context.problems.note(path, 'missing; IAM is read instead');
    return undefined;
  }
  context.problems.note(
    path,
    `${value === '' ? 'empty' : `expected a document, got ${describe(value)}`}; IAM is read instead`,
  );
  return undefined;
}

/**
 * `container[key]` as a version id; reported when off-grammar or unreadable, and when missing if the call's
 * success always carries one (CloudTrail only: a sweep finding may leave it to IAM).
 */
function readVersionId(
  context: BuildContext,
  container: unknown,
  key: string,
  path: string,
  reportMissing: boolean,
): string | undefined {
  const value = own(container, key);
  if (typeof value === 'string' && value !== '') {
    if (!isPolicyVersionId(value)) {
      context.problems.note(path, `${quote(value)} is not a policy version id; passed on as given`);
    }
    return value;
  }
  if (value === undefined || value === null) {
    if (reportMissing && context.origin === 'cloudtrail') {
      context.problems.note(path, "missing; IAM's default version is examined");
    }
    return undefined;
  }
  const found = value === '' ? 'empty' : `expected a version id, got ${describe(value)}`;
  context.problems.note(path, `${found}; IAM's default version is examined`);
  return undefined;
}

/** An object inside responseElements; an odd one is reported and read as absent. */
function responseObject(context: BuildContext, key: string): JsonObject | undefined {
  const value = own(context.response, key);
  if (value === undefined || value === null) return undefined;
  if (isJsonObject(value)) return value;
  context.problems.note(
    context.problems.path('responseElements', key),
    `expected an object, got ${describe(value)}; ignored`,
  );
  return undefined;
}

/** A boolean that CloudTrail may render as `true` or `"true"`; absent reads as false, junk as undefined. */
function setAsDefault(context: BuildContext): boolean | undefined {
  const value = own(context.params, 'setAsDefault');
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const flag = value.trim().toLowerCase();
    if (flag === 'true') return true;
    if (flag === 'false') return false;
  }
  context.problems.note(
    context.problems.path('requestParameters', 'setAsDefault'),
    `expected true or false, got ${describe(value)}; IAM decides whether the version is in force`,
  );
  return undefined;
}

/** CreatePolicy's `path`: `/` when absent, undefined when unreadable (then the ARN cannot be rebuilt). */
function createPolicyPath(context: BuildContext): string | undefined {
  const value = own(context.params, 'path');
  const path = context.problems.path('requestParameters', 'path');
  if (value === undefined || value === null) return '/';
  if (typeof value === 'string') {
    if (!isIamPath(value))
      context.problems.note(path, `${quote(value)} is not an IAM path; passed on as given`);
    return value;
  }
  context.problems.note(path, `expected a path, got ${describe(value)}`);
  return undefined;
}

function createPolicy(context: BuildContext): ChangeBody {
  const { params, problems } = context;
  const namePath = problems.path('requestParameters', 'policyName');
  const arnPath = problems.path('responseElements', 'policy', 'arn');
  const rawName = own(params, 'policyName');
  const requestedName = text(rawName);
  if (requestedName === undefined) {
    problems.note(namePath, missingOrWrong(rawName, 'a name'));
  } else if (!isIamName('policyNameType', requestedName)) {
    problems.note(
      namePath,
      `${quote(requestedName)} is not a valid IAM name (${describeNameShape('policyNameType')})`,
    );
  }
  const path = createPolicyPath(context);

  const created = responseObject(context, 'policy');
  const rawArn = own(created, 'arn');
  const responseArn = text(rawArn);
  let located: { arn: string; policyName?: string } | undefined;
  if (responseArn !== undefined) {
    const parsed = parsePolicyArn(responseArn);
    if (parsed.ok) located = { arn: responseArn, policyName: parsed.parts.policyName };
    else problems.note(arnPath, `${parsed.reason}: ${quote(responseArn)}`);
  } else if (rawArn !== undefined && rawArn !== null) {
    problems.note(arnPath, missingOrWrong(rawArn, 'an ARN'));
  }
  if (located === undefined && requestedName !== undefined && path !== undefined && context.accountId) {
    // IAM's own rule: the partition, the account, the path, then the name.
    if (context.partition.assumed) {
      problems.note(arnPath, `rebuilt with the assumed partition ${quote(context.partition.name)}`);
    }
    const arn = managedPolicyArn(context.partition.name, context.accountId, path, requestedName);
    located = { arn, policyName: requestedName };
  }
  if (located === undefined && responseArn !== undefined) {
    // Unreadable, but the only locator there is: passed on to IAM as given.
    located = compact({ arn: responseArn, policyName: policyNameOfArn(responseArn) });
  }
  if (located === undefined) {
    const [at, found] =
      requestedName === undefined
        ? [namePath, missingOrWrong(rawName, 'a name')]
        : path === undefined
          ? [problems.path('requestParameters', 'path'), 'unreadable']
          : [arnPath, 'missing and the account is unknown'];
    unlocatable(context, at, `${found}, and the ARN cannot be rebuilt`, 'policy');
  }
  if (
    requestedName !== undefined &&
    located.policyName !== undefined &&
    located.policyName !== requestedName
  ) {
    problems.note(
      namePath,
      `${quote(requestedName)} differs from the created policy ${quote(located.policyName)}`,
    );
  }
  const versionPath = problems.path('responseElements', 'policy', 'defaultVersionId');
  return compact({
    target: compact({
      kind: 'managed-policy' as const,
      policyArn: located.arn,
      policyName: located.policyName,
    }),
    document: readDocument(context, 'policyDocument'),
    // CreatePolicy always makes v1 the default version.
    versionId: readVersionId(context, created, 'defaultVersionId', versionPath, false) ?? 'v1',
  });
}

function managedPolicyTarget(context: BuildContext): ChangeTarget {
  const { arn, policyName } = locatePolicyArn(context, 'policyArn', 'policy');
  return compact({ kind: 'managed-policy' as const, policyArn: arn, policyName });
}

const PRINCIPAL_SHAPES: Readonly<
  Record<'inline' | 'attachment', Readonly<Record<PrincipalType, IamNameShape>>>
> = {
  // From the IAM API model: PutUserPolicy takes an existing user name (up to 128), AttachUserPolicy a user name.
  inline: { role: 'roleNameType', user: 'existingUserNameType', group: 'groupNameType' },
  attachment: { role: 'roleNameType', user: 'userNameType', group: 'groupNameType' },
};

function inlinePolicy(principalType: PrincipalType, carriesDocument: boolean) {
  return (context: BuildContext): ChangeBody => {
    const principalName = locateName(
      context,
      PRINCIPAL_KEY[principalType],
      PRINCIPAL_SHAPES.inline[principalType],
      principalType,
    );
    const policyName = locateName(
      context,
      'policyName',
      'policyNameType',
      `${principalType}'s inline policy`,
    );
    return compact({
      target: { kind: 'inline-policy', principalType, principalName, policyName },
      document: carriesDocument ? readDocument(context, 'policyDocument') : undefined,
    });
  };
}

function attachment(principalType: PrincipalType) {
  return (context: BuildContext): ChangeBody => {
    const principalName = locateName(
      context,
      PRINCIPAL_KEY[principalType],
      PRINCIPAL_SHAPES.attachment[principalType],
      principalType,
    );
    const { arn } = locatePolicyArn(context, 'policyArn', 'attached policy');
    return { target: { kind: 'attachment', principalType, principalName, policyArn: arn } };
  };
}

function permissionsBoundary(principalType: 'role' | 'user', put: boolean) {
  return (context: BuildContext): ChangeBody => {
    const shape: IamNameShape = principalType === 'role' ? 'roleNameType' : 'userNameType';
    const principalName = locateName(context, PRINCIPAL_KEY[principalType], shape, principalType);
    let policyArn: string | undefined;
    if (put) {
      const value = own(context.params, 'permissionsBoundary');
      const path = context.problems.path('requestParameters', 'permissionsBoundary');
      if (text(value) !== undefined) policyArn = checkPolicyArn(context, path, value as string).arn;
      else
        context.problems.note(
          path,
          `${missingOrWrong(value, 'an ARN')}; the boundary in force is read from IAM`,
        );
    }
    return {
      target: compact({ kind: 'permissions-boundary' as const, principalType, principalName, policyArn }),
    };
  };
}

const BUILDERS: Readonly<Record<PolicyChangeEventName, (context: BuildContext) => ChangeBody>> = {
  CreatePolicy: createPolicy,
  CreatePolicyVersion: (context) => {
    const target = managedPolicyTarget(context);
    const document = readDocument(context, 'policyDocument');
    const flag = setAsDefault(context);
    const versionId = readVersionId(
      context,
      responseObject(context, 'policyVersion'),
      'versionId',
      context.problems.path('responseElements', 'policyVersion', 'versionId'),
      true,
    );
    return compact({ target, document, versionId, setAsDefault: flag });
  },
  SetDefaultPolicyVersion: (context) =>
    compact({
      target: managedPolicyTarget(context),
      versionId: readVersionId(
        context,
        context.params,
        'versionId',
        context.problems.path('requestParameters', 'versionId'),
        true,
      ),
    }),
  PutRolePolicy: inlinePolicy('role', true),
  PutUserPolicy: inlinePolicy('user', true),
  PutGroupPolicy: inlinePolicy('group', true),
  AttachRolePolicy: attachment('role'),
  AttachUserPolicy: attachment('user'),
  AttachGroupPolicy: attachment('group'),
  AddUserToGroup: (context) => ({
    target: {
      kind: 'group-membership',
      groupName: locateName(context, 'groupName', 'groupNameType', 'group'),
      userName: locateName(context, 'userName', 'existingUserNameType', "group's new member"),
    },
  }),
  PutRolePermissionsBoundary: permissionsBoundary('role', true),
  DeleteRolePermissionsBoundary: permissionsBoundary('role', false),
  PutUserPermissionsBoundary: permissionsBoundary('user', true),
  DeleteUserPermissionsBoundary: permissionsBoundary('user', false),
  UpdateAssumeRolePolicy: (context) =>
    compact({
      target: { kind: 'trust-policy', roleName: locateName(context, 'roleName', 'roleNameType', 'role') },
      document: readDocument(context, 'policyDocument'),
    }),
  DeleteRolePolicy: inlinePolicy('role', false),
  DetachRolePolicy: attachment('role'),
};

/** The partition: from the actor's ARNs, else from the region; `aws` is assumed when neither says. */
function resolvePartition(actor: Actor, region: string): BuildContext['partition'] {
  const name =
    (actor.arn && partitionOfArn(actor.arn)) ||
    (actor.sessionIssuer && partitionOfArn(actor.sessionIssuer.arn)) ||
    partitionOfRegion(region);
  return name ? { name, assumed: false } : { name: 'aws', assumed: true };
}

function normalise(input: unknown, options: NormaliseOptions): NormalisedEvent {
  const located = locateRecord(input);
  const { record, problems, origin } = located;
  const eventId = text(own(record, 'eventID'));
  const looseName = text(own(record, 'eventName'));
  const ignored = (reason: 'failed-call' | 'unsupported-event', detail: string): NormalisedEvent =>
    compact({ kind: 'ignored', reason, detail, eventId, eventName: looseName });

  const errorCode = own(record, 'errorCode');
  if (errorCode !== undefined && errorCode !== null) {
    const code = text(errorCode);
    if (code !== undefined) {
      const message = text(own(record, 'errorMessage'));
      return ignored(
        'failed-call',
        `${looseName ?? 'the call'} failed with ${shorten(code, 100)}${message ? `: ${shorten(message, 300)}` : ''}`,
      );
    }
    // A success misread as a failure would go ungated, so an unreadable errorCode is not trusted.
    problems.note(
      problems.path('errorCode'),
      `${describe(errorCode)} is not an error code; the call is gated as if it succeeded`,
    );
  }

  const name = own(record, 'eventName');
  if (text(name) === undefined) {
    refuse(
      input,
      problems.path('eventName'),
      `${missingOrWrong(name, 'a string')}, so what the call changed cannot be told`,
    );
  }
  const actor = parseActor(located);
  const ownRole = ownRoleMatch(actor, options.ownRoleArns);
  if (!isPolicyChangeEventName(name)) {
    return ignored(
      'unsupported-event',
      `${shorten(name as string, 100)} is not an IAM change PolicyGate watches`,
    );
  }

  const params = own(record, 'requestParameters');
  if (!isJsonObject(params)) {
    refuse(
      input,
      problems.path('requestParameters'),
      `${params === undefined || params === null ? 'missing' : `expected an object, got ${describe(params)}`}, so what this ${name} changed cannot be located`,
    );
  }
  const response = own(record, 'responseElements');
  if (response !== undefined && response !== null && !isJsonObject(response)) {
    problems.note(
      problems.path('responseElements'),
      `expected an object, got ${describe(response)}; ignored`,
    );
  }

  const accountId = resolveAccount(located);
  const region = resolveRegion(located);
  const body = BUILDERS[name]({
    eventName: name,
    params,
    response: isJsonObject(response) ? response : undefined,
    problems,
    origin,
    accountId,
    partition: resolvePartition(actor, region),
    input,
  });
  const change: PolicyChange = {
    eventId: resolveEventId(located),
    eventName: name,
    eventTime: resolveTime(located, options.now ?? (() => new Date())),
    accountId: accountId ?? 'unknown',
    region,
    actor,
    ...compact({
      sourceIp: text(own(record, 'sourceIPAddress')),
      userAgent: text(own(record, 'userAgent')),
      requestId: text(own(record, 'requestID')),
    }),
    ...body,
    ...(problems.list.length > 0 && { problems: problems.list }),
    ...(origin === 'sweep' && { origin }),
    ...(ownRole !== undefined && { madeByOwnRole: ownRole }),
  };
  return { kind: 'change', change };
}

/**
 * Normalises one IAM CloudTrail event (or PolicyGate sweep finding) into a {@link PolicyChange}, or an
 * explicit `ignored` result for a failed call (an `errorCode` that is a non-empty string) or an IAM event
 * PolicyGate does not watch. A call by one of PolicyGate's own roles is marked `madeByOwnRole`, never
 * ignored here. Checks run in that order, after the
 * envelope and `eventSource` are validated. Every {@link PolicyChangeEventName} is normalised; the workflow
 * decides what to do with each.
 *
 * What the event does not say readably is listed in `change.problems` (each starting with the field path)
 * and replaced by a stand-in, never guessed in a way that could leave a change ungated.
 *
 * @param input An EventBridge "AWS API Call via CloudTrail" event, a bare CloudTrail record, or a
 *   "PolicyGate Sweep Finding" event, parsed from JSON. Anything may be passed in; nothing is mutated.
 * @param options `ownRoleArns` are compared, trimmed and exactly, with the actor ARN and session-issuer ARN
 *   (a match sets `madeByOwnRole`);
 *   `now` is the clock for an event with no readable time.
 * @throws EventNormalisationError for input that is not an IAM CloudTrail event (not an object, another
 *   detail-type or eventSource), or whose target cannot be located at all (e.g. PutRolePolicy without a role
 *   name); the message starts with the field path and `identifiers` holds the raw identifiers the event did
 *   carry. No other error type escapes for any input.
 */
export function normaliseEvent(input: unknown, options: NormaliseOptions): NormalisedEvent {
  try {
    return normalise(input, options);
  } catch (error) {
    if (error instanceof EventNormalisationError) throw error;
    // A bug or a hostile input (a throwing getter, a proxy) must still end in the one documented error,
    // with whatever identifiers can be read, so the alert says what may not be contained.
    let reason: string;
    try {
      reason = shorten(String(error), 200);
    } catch {
      reason = 'unknown error';
    }
    throw new EventNormalisationError(`event: could not be read (${reason})`, {
      cause: error,
      identifiers: eventIdentifiers(input),
    });
  }
}

/**
 * Whether `input` looks like a CloudTrail event rather than, say, a policy document: an EventBridge event
 * (any detail-type, including PolicyGate's sweep findings), or a bare record with string `eventName` and
 * `eventSource` (any service; {@link normaliseEvent} explains why a non-IAM record is unusable).
 */
export function isCloudTrailShaped(input: unknown): boolean {
  if (!isJsonObject(input)) return false;
  // Any EventBridge envelope counts, so normaliseEvent can explain a wrong detail-type instead of the
  // envelope being misread as a policy document.
  if (Object.hasOwn(input, 'detail-type') && Object.hasOwn(input, 'detail')) return true;
  return typeof own(input, 'eventName') === 'string' && typeof own(input, 'eventSource') === 'string';
}
