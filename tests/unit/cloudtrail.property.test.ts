import fc from 'fast-check';
import { normaliseEvent } from '../../src/domain/cloudtrail';
import {
  type ChangeTarget,
  type NormalisedEvent,
  POLICY_CHANGE_EVENT_NAMES,
  type PolicyChange,
  type PolicyChangeEventName,
} from '../../src/domain/policy-change';
import { EventNormalisationError } from '../../src/errors';

/*
 * Events generated from IAM's documented grammars (the IAM API model's shapes, written out here on purpose
 * rather than imported, so the test checks the implementation instead of repeating it):
 *   roleNameType 1-64, userNameType 1-64, existingUserNameType 1-128, groupNameType 1-128,
 *   policyNameType 1-128, all of [\w+=,.@-]; pathType "/" or "/[\x21-\x7e]+/" up to 512;
 *   arnType 20-2048, policy ARNs arn:<partition>:iam::<12 digits | aws>:policy<path><name>;
 *   policyVersionIdType v[1-9][0-9]*(\.[A-Za-z0-9-]*)?
 */

const RUNS = { numRuns: 300 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const PARTITION_REGIONS: Readonly<Record<string, string>> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-iso': 'us-iso-east-1',
  'aws-iso-b': 'us-isob-east-1',
  'aws-iso-e': 'eu-isoe-west-1',
  'aws-iso-f': 'us-isof-south-1',
  'aws-eusc': 'eusc-de-east-1',
};
const PARTITIONS = Object.keys(PARTITION_REGIONS);

const NAME_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', ...'_+=,.@-'];
const nameOf = (maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength });
const ROLE_NAME = nameOf(64);
const USER_NAME = nameOf(64);
const EXISTING_USER_NAME = nameOf(128);
const GROUP_NAME = nameOf(128);
const POLICY_NAME = nameOf(128);

// Printable ASCII, biased towards the characters that trip naive parsers (separators, colons, slashes).
const PATH_CHAR = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constantFrom('/', ':', '*', '"', '\\') },
);
const PATH = fc.oneof(
  fc.constant('/'),
  fc.string({ unit: PATH_CHAR, minLength: 1, maxLength: 40 }).map((inner) => `/${inner}/`),
  fc.string({ unit: PATH_CHAR, minLength: 1, maxLength: 510 }).map((inner) => `/${inner}/`),
);
const ACCOUNT = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 12, maxLength: 12 });
const PARTITION = fc.constantFrom(...PARTITIONS);
const VERSION_ID = fc
  .tuple(
    fc.integer({ min: 1, max: 99_999 }),
    fc.option(fc.string({ unit: fc.constantFrom(...'abcXYZ019-'), maxLength: 8 }), { nil: undefined }),
  )
  .map(([number, suffix]) => (suffix === undefined ? `v${number}` : `v${number}.${suffix}`));
const DOCUMENT_TEXT = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.json({ maxDepth: 2 }).map((json) => encodeURIComponent(json)),
);
const DOCUMENT_OBJECT = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.jsonValue({ maxDepth: 2 }),
  {
    minKeys: 1,
    maxKeys: 4,
  },
);
const ISO_TIME = fc
  .date({ min: new Date('2015-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true })
  .map((date) => `${date.toISOString().slice(0, 19)}Z`);
/** Any JSON value, or nothing at all: what an optional, informational place may hold. */
const ANYTHING = fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined });

function policyArnOf(partition: string, account: string, path: string, name: string): string {
  return `arn:${partition}:iam::${account}:policy${path}${name}`;
}

interface Scope {
  partition: string;
  account: string;
}

const POLICY_ARN = (scope: Scope) =>
  fc
    .tuple(fc.oneof(fc.constant(scope.account), fc.constant('aws')), PATH, POLICY_NAME)
    .map(([account, path, name]) => policyArnOf(scope.partition, account, path, name));

/** A grammar-valid call: its requestParameters, responseElements and the target it must yield. */
interface Call {
  requestParameters: Record<string, unknown>;
  responseElements?: Record<string, unknown> | null;
  target: ChangeTarget;
  /** What `document` must be; undefined when the call carries none. */
  document?: string;
  versionId?: string;
  setAsDefault?: boolean;
}

const DOCUMENT = fc.oneof(
  DOCUMENT_TEXT.map((text) => ({ raw: text as unknown, document: text })),
  DOCUMENT_OBJECT.map((object) => ({ raw: object as unknown, document: JSON.stringify(object) })),
);
const SET_AS_DEFAULT = fc.constantFrom(
  { raw: true, value: true },
  { raw: false, value: false },
  { raw: 'true', value: true },
  { raw: 'false', value: false },
  { raw: undefined, value: false },
);

function inline(principalType: 'role' | 'user' | 'group', withDocument: boolean) {
  const [key, name] =
    principalType === 'role'
      ? ['roleName', ROLE_NAME]
      : principalType === 'user'
        ? ['userName', EXISTING_USER_NAME]
        : ['groupName', GROUP_NAME];
  return () =>
    fc.record({ principalName: name, policyName: POLICY_NAME, document: DOCUMENT }).map(
      ({ principalName, policyName, document }): Call => ({
        requestParameters: {
          [key]: principalName,
          policyName,
          ...(withDocument && { policyDocument: document.raw }),
        },
        target: { kind: 'inline-policy', principalType, principalName, policyName },
        ...(withDocument && { document: document.document }),
      }),
    );
}

function attach(principalType: 'role' | 'user' | 'group') {
  const [key, name] =
    principalType === 'role'
      ? ['roleName', ROLE_NAME]
      : principalType === 'user'
        ? ['userName', USER_NAME]
        : ['groupName', GROUP_NAME];
  return (scope: Scope) =>
    fc.record({ principalName: name, policyArn: POLICY_ARN(scope) }).map(
      ({ principalName, policyArn }): Call => ({
        requestParameters: { [key]: principalName, policyArn },
        target: { kind: 'attachment', principalType, principalName, policyArn },
      }),
    );
}

function boundary(principalType: 'role' | 'user', put: boolean) {
  const [key, name] = principalType === 'role' ? ['roleName', ROLE_NAME] : ['userName', USER_NAME];
  return (scope: Scope) =>
    fc.record({ principalName: name, policyArn: POLICY_ARN(scope) }).map(
      ({ principalName, policyArn }): Call => ({
        requestParameters: { [key]: principalName, ...(put && { permissionsBoundary: policyArn }) },
        target: put
          ? { kind: 'permissions-boundary', principalType, principalName, policyArn }
          : { kind: 'permissions-boundary', principalType, principalName },
      }),
    );
}

const CALLS: Readonly<Record<PolicyChangeEventName, (scope: Scope) => fc.Arbitrary<Call>>> = {
  CreatePolicy: (scope) =>
    fc
      .record({
        policyName: POLICY_NAME,
        path: fc.option(PATH, { nil: undefined }),
        document: DOCUMENT,
        response: fc.constantFrom('full', 'null', 'absent'),
        description: ANYTHING,
      })
      .map(({ policyName, path, document, response, description }): Call => {
        const arn = policyArnOf(scope.partition, scope.account, path ?? '/', policyName);
        return {
          requestParameters: {
            policyName,
            ...(path !== undefined && { path }),
            policyDocument: document.raw,
            ...(description !== undefined && { description }),
          },
          ...(response === 'full' && {
            responseElements: {
              policy: {
                policyName,
                policyId: 'ANPAQRSTUVWXEXAMPLE01',
                arn,
                path: path ?? '/',
                defaultVersionId: 'v1',
              },
            },
          }),
          ...(response === 'null' && { responseElements: null }),
          target: { kind: 'managed-policy', policyArn: arn, policyName },
          document: document.document,
          versionId: 'v1',
        };
      }),
  CreatePolicyVersion: (scope) =>
    fc
      .record({
        policyArn: POLICY_ARN(scope),
        document: DOCUMENT,
        setAsDefault: SET_AS_DEFAULT,
        versionId: fc.option(VERSION_ID, { nil: undefined }),
      })
      .map(
        ({ policyArn, document, setAsDefault, versionId }): Call => ({
          requestParameters: {
            policyArn,
            policyDocument: document.raw,
            ...(setAsDefault.raw !== undefined && { setAsDefault: setAsDefault.raw }),
          },
          ...(versionId !== undefined && {
            responseElements: { policyVersion: { versionId, isDefaultVersion: setAsDefault.value } },
          }),
          target: {
            kind: 'managed-policy',
            policyArn,
            policyName: policyArn.slice(policyArn.lastIndexOf('/') + 1),
          },
          document: document.document,
          versionId,
          setAsDefault: setAsDefault.value,
        }),
      ),
  SetDefaultPolicyVersion: (scope) =>
    fc.record({ policyArn: POLICY_ARN(scope), versionId: VERSION_ID }).map(
      ({ policyArn, versionId }): Call => ({
        requestParameters: { policyArn, versionId },
        target: {
          kind: 'managed-policy',
          policyArn,
          policyName: policyArn.slice(policyArn.lastIndexOf('/') + 1),
        },
        versionId,
      }),
    ),
  PutRolePolicy: inline('role', true),
  PutUserPolicy: inline('user', true),
  PutGroupPolicy: inline('group', true),
  AttachRolePolicy: attach('role'),
  AttachUserPolicy: attach('user'),
  AttachGroupPolicy: attach('group'),
  AddUserToGroup: () =>
    fc.record({ groupName: GROUP_NAME, userName: EXISTING_USER_NAME }).map(
      ({ groupName, userName }): Call => ({
        requestParameters: { groupName, userName },
        target: { kind: 'group-membership', groupName, userName },
      }),
    ),
  PutRolePermissionsBoundary: boundary('role', true),
  DeleteRolePermissionsBoundary: boundary('role', false),
  PutUserPermissionsBoundary: boundary('user', true),
  DeleteUserPermissionsBoundary: boundary('user', false),
  UpdateAssumeRolePolicy: () =>
    fc.record({ roleName: ROLE_NAME, document: DOCUMENT }).map(
      ({ roleName, document }): Call => ({
        requestParameters: { roleName, policyDocument: document.raw },
        target: { kind: 'trust-policy', roleName },
        document: document.document,
      }),
    ),
  DeleteRolePolicy: inline('role', false),
  DetachRolePolicy: attach('role'),
};

const IDENTITY = (scope: Scope) =>
  fc.oneof(
    fc
      .record({ role: ROLE_NAME, path: PATH, session: nameOf(64), mfa: ANYTHING, principalId: ANYTHING })
      .map(({ role, path, session, mfa, principalId }) => ({
        type: 'AssumedRole',
        ...(principalId !== undefined && { principalId }),
        arn: `arn:${scope.partition}:sts::${scope.account}:assumed-role/${role}/${session}`,
        accountId: scope.account,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            arn: `arn:${scope.partition}:iam::${scope.account}:role${path}${role}`,
            userName: role,
          },
          attributes: { mfaAuthenticated: mfa },
        },
      })),
    fc.record({ user: USER_NAME, path: PATH, accessKeyId: ANYTHING }).map(({ user, path, accessKeyId }) => ({
      type: 'IAMUser',
      arn: `arn:${scope.partition}:iam::${scope.account}:user${path}${user}`,
      accountId: scope.account,
      userName: user,
      ...(accessKeyId !== undefined && { accessKeyId }),
    })),
    fc.constant({
      type: 'Root',
      arn: `arn:${scope.partition}:iam::${scope.account}:root`,
      accountId: scope.account,
      sessionContext: { sessionIssuer: {}, attributes: { mfaAuthenticated: 'true' } },
    }),
  );

interface Generated {
  event: Record<string, unknown>;
  /** The CloudTrail record inside `event` (the event itself when bare). */
  record: Record<string, unknown>;
  eventName: PolicyChangeEventName;
  call: Call;
}

const EVENT: fc.Arbitrary<Generated> = fc
  .record({
    eventName: fc.constantFrom(...POLICY_CHANGE_EVENT_NAMES),
    partition: PARTITION,
    account: ACCOUNT,
  })
  .chain(({ eventName, partition, account }) => {
    const scope = { partition, account };
    return fc
      .record({
        call: CALLS[eventName](scope),
        identity: IDENTITY(scope),
        eventId: fc.uuid(),
        eventTime: ISO_TIME,
        wrapped: fc.boolean(),
        sourceIp: ANYTHING,
        userAgent: ANYTHING,
        requestId: ANYTHING,
        tlsDetails: ANYTHING,
        additionalEventData: ANYTHING,
        readOnly: ANYTHING,
      })
      .map(({ call, identity, eventId, eventTime, wrapped, ...optional }): Generated => {
        const informational = Object.fromEntries(
          Object.entries({
            sourceIPAddress: optional.sourceIp,
            userAgent: optional.userAgent,
            requestID: optional.requestId,
            tlsDetails: optional.tlsDetails,
            additionalEventData: optional.additionalEventData,
            readOnly: optional.readOnly,
          }).filter(([, value]) => value !== undefined),
        );
        const record: Record<string, unknown> = {
          eventVersion: '1.10',
          userIdentity: identity,
          eventTime,
          eventSource: 'iam.amazonaws.com',
          eventName,
          awsRegion: PARTITION_REGIONS[partition],
          ...informational,
          requestParameters: call.requestParameters,
          ...(call.responseElements !== undefined && { responseElements: call.responseElements }),
          eventID: eventId,
          eventType: 'AwsApiCall',
          recipientAccountId: account,
        };
        const event = wrapped
          ? {
              version: '0',
              id: eventId,
              'detail-type': 'AWS API Call via CloudTrail',
              source: 'aws.iam',
              account,
              time: eventTime,
              region: PARTITION_REGIONS[partition],
              resources: [],
              detail: record,
            }
          : record;
        return { event, record, eventName, call };
      });
  });

const NO_OWN_ROLES = { ownRoleArns: [] };

function changeOf(result: NormalisedEvent): PolicyChange {
  if (result.kind !== 'change') throw new Error(`expected a change, got ${result.reason}: ${result.detail}`);
  return result.change;
}

/** A problem allowed on a grammar-valid event: a CreatePolicyVersion whose response CloudTrail did not keep. */
function isToleratedProblem(problem: string): boolean {
  return /(?:^|\.)responseElements\.policyVersion\.versionId: missing/.test(problem);
}

describe('normaliseEvent on events generated from IAM grammar', () => {
  it('never throws, and finds nothing it cannot read', () => {
    fc.assert(
      fc.property(EVENT, ({ event }) => {
        // Prepare
        const input = structuredClone(event);

        // Act
        const change = changeOf(normaliseEvent(input, NO_OWN_ROLES));

        // Assess
        expect((change.problems ?? []).filter((problem) => !isToleratedProblem(problem))).toEqual([]);
        expect(input).toEqual(event);
      }),
      RUNS,
    );
  });

  it('names exactly the entity the event named', () => {
    fc.assert(
      fc.property(EVENT, ({ event, eventName, call, record }) => {
        // Prepare
        const input = structuredClone(event);

        // Act
        const change = changeOf(normaliseEvent(input, NO_OWN_ROLES));

        // Assess
        expect(change.eventName).toBe(eventName);
        expect(change.eventId).toBe(record.eventID);
        expect(change.target).toEqual(call.target);
        expect(change.document).toBe(call.document);
        expect(change.versionId).toBe(call.versionId);
        expect(change.setAsDefault).toBe(call.setAsDefault);
      }),
      RUNS,
    );
  });
});

/** A change to one place of a generated event that makes it unreadable there. */
interface Corruption {
  /** Where, relative to the record; `requestParameters.x` places apply only when the call has `x`. */
  path: string;
  value: fc.Arbitrary<unknown>;
  applies?: (generated: Generated) => boolean;
}

const DELETE = Symbol('delete');
const NOT_A_STRING = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);
const PRESENT_NOT_A_STRING = NOT_A_STRING.filter((value) => value !== null);
const NOT_AN_OBJECT = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.string({ maxLength: 10 }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
);
const BLANK = fc.constantFrom('', ' ', '\t\n');
// Strings no IAM name, path or ARN grammar admits: a space or a non-ASCII character, or far too long.
const OFF_GRAMMAR = fc.oneof(
  fc.string({ maxLength: 10 }).map((text) => `${text} ${text}`),
  fc.string({ maxLength: 10 }).map((text) => `é${text}`),
  fc.constant('x'.repeat(3000)),
);
const hasParam = (key: string) => (generated: Generated) =>
  Object.hasOwn(generated.call.requestParameters, key);
const LOCATORS = [
  'roleName',
  'userName',
  'groupName',
  'policyName',
  'policyArn',
  'permissionsBoundary',
  'versionId',
  'path',
];

const CORRUPTIONS: Corruption[] = [
  {
    path: 'eventID',
    value: fc.oneof(
      fc.constant(DELETE),
      NOT_A_STRING,
      fc.string().filter((s) => !UUID.test(s)),
    ),
  },
  {
    path: 'eventTime',
    value: fc.oneof(
      fc.constant(DELETE),
      NOT_A_STRING,
      fc.string({ maxLength: 12 }).filter((s) => Number.isNaN(Date.parse(s))),
    ),
  },
  { path: 'eventName', value: fc.oneof(fc.constant(DELETE), NOT_A_STRING, BLANK) },
  { path: 'errorCode', value: fc.oneof(PRESENT_NOT_A_STRING, BLANK) },
  { path: 'userIdentity', value: fc.oneof(fc.constant(DELETE), NOT_AN_OBJECT) },
  { path: 'userIdentity.type', value: fc.oneof(fc.constant(DELETE), NOT_A_STRING, BLANK) },
  { path: 'userIdentity.arn', value: fc.oneof(PRESENT_NOT_A_STRING, BLANK) },
  {
    path: 'recipientAccountId',
    value: fc.oneof(
      PRESENT_NOT_A_STRING,
      fc.string({ maxLength: 13 }).filter((s) => !/^\d{12}$/.test(s)),
    ),
  },
  { path: 'awsRegion', value: fc.oneof(PRESENT_NOT_A_STRING, BLANK) },
  { path: 'requestParameters', value: fc.oneof(fc.constant(DELETE), NOT_AN_OBJECT) },
  {
    path: 'responseElements',
    value: fc.oneof(
      fc.boolean(),
      fc.double(),
      fc.string({ maxLength: 10 }),
      fc.array(fc.integer(), { maxLength: 2 }),
    ),
  },
  ...LOCATORS.map(
    (key): Corruption => ({
      path: `requestParameters.${key}`,
      // CreatePolicy's path is optional (absent means "/"), so only a present, unreadable one is a corruption.
      value:
        key === 'path'
          ? fc.oneof(PRESENT_NOT_A_STRING, BLANK, OFF_GRAMMAR)
          : fc.oneof(fc.constant(DELETE), NOT_A_STRING, BLANK, OFF_GRAMMAR),
      applies: hasParam(key),
    }),
  ),
  {
    path: 'requestParameters.policyDocument',
    value: fc.oneof(fc.constant(DELETE), fc.constant(''), fc.boolean(), fc.double(), fc.array(fc.integer())),
    applies: hasParam('policyDocument'),
  },
  {
    path: 'requestParameters.setAsDefault',
    value: fc.oneof(
      fc.double(),
      fc.array(fc.boolean(), { maxLength: 2 }),
      fc.string({ maxLength: 6 }).filter((s) => !['true', 'false'].includes(s.trim().toLowerCase())),
    ),
    applies: (generated) => generated.eventName === 'CreatePolicyVersion',
  },
  {
    path: 'responseElements.policy.arn',
    value: fc.oneof(PRESENT_NOT_A_STRING, OFF_GRAMMAR),
    applies: (generated) => generated.eventName === 'CreatePolicy' && generated.call.responseElements != null,
  },
];

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node: Record<string, unknown> = target;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  if (value === DELETE) delete node[last];
  else node[last] = value;
}

const CORRUPTED = EVENT.chain((generated) => {
  const applicable = CORRUPTIONS.filter((corruption) => corruption.applies?.(generated) ?? true);
  return fc
    .constantFrom(...applicable)
    .chain((corruption) => corruption.value.map((value) => ({ generated, corruption, value })));
});

describe('normaliseEvent on corrupted events', () => {
  it('returns a change with problems or throws EventNormalisationError with identifiers, nothing else', () => {
    fc.assert(
      fc.property(CORRUPTED, ({ generated, corruption, value }) => {
        // Prepare
        const input = structuredClone(generated.event);
        const record = (input.detail ?? input) as Record<string, unknown>;
        setPath(record, corruption.path, value);

        // Act
        let outcome: { result: NormalisedEvent } | { error: unknown };
        try {
          outcome = { result: normaliseEvent(input, NO_OWN_ROLES) };
        } catch (error) {
          outcome = { error };
        }

        // Assess
        if ('error' in outcome) {
          expect(outcome.error).toBeInstanceOf(EventNormalisationError);
          const { identifiers, message } = outcome.error as EventNormalisationError;
          expect(Object.keys(identifiers).length).toBeGreaterThan(0);
          expect(message.length).toBeLessThan(400);
        } else {
          const change = changeOf(outcome.result);
          expect(change.problems?.length ?? 0).toBeGreaterThan(0);
          for (const problem of change.problems ?? []) expect(problem.length).toBeLessThan(300);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a corrupted place that does not locate the target never changes the target', () => {
    const locating = new Set([
      'requestParameters',
      'eventName',
      ...LOCATORS.map((key) => `requestParameters.${key}`),
    ]);
    fc.assert(
      fc.property(
        CORRUPTED.filter(
          ({ corruption }) =>
            !locating.has(corruption.path) && corruption.path !== 'responseElements.policy.arn',
        ),
        ({ generated, corruption, value }) => {
          // Prepare
          const input = structuredClone(generated.event);
          const record = (input.detail ?? input) as Record<string, unknown>;
          setPath(record, corruption.path, value);

          // Act
          const change = changeOf(normaliseEvent(input, NO_OWN_ROLES));

          // Assess
          expect(change.target).toEqual(generated.call.target);
        },
      ),
      RUNS,
    );
  });
});
