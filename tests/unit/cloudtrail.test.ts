import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCloudTrailShaped, type NormaliseOptions, normaliseEvent } from '../../src/domain/cloudtrail';
import type { NormalisedEvent, PolicyChange } from '../../src/domain/policy-change';
import { EventNormalisationError } from '../../src/errors';

const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'cloudtrail');

/** The parts of a CloudTrail record the assertions read (the fixtures carry more). */
interface CloudTrailRecord {
  eventID: string;
  eventTime: string;
  eventName: string;
  awsRegion: string;
  recipientAccountId: string;
  sourceIPAddress: string;
  userAgent: string;
  requestID: string;
  errorCode?: string;
  errorMessage?: string;
  userIdentity: {
    type: string;
    arn: string;
    principalId: string;
    accountId: string;
    accessKeyId: string;
    userName?: string;
    invokedBy?: string;
    sessionContext?: {
      sessionIssuer: { type?: string; arn?: string; userName?: string };
      attributes: { mfaAuthenticated: string };
    };
  };
  requestParameters: Record<string, string>;
  responseElements: {
    policy?: { arn: string; path: string; policyName: string; defaultVersionId: string };
    policyVersion?: { versionId: string };
  } | null;
}

interface EventBridgeEvent {
  'detail-type': string;
  account: string;
  region: string;
  detail: CloudTrailRecord;
}

type Fixture = EventBridgeEvent | CloudTrailRecord;

const FIXTURE_FILES = readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort();

function load(file: string): Fixture {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, file), 'utf8')) as Fixture;
}

function isWrapped(fixture: Fixture): fixture is EventBridgeEvent {
  return 'detail' in fixture;
}

function recordOf(fixture: Fixture): CloudTrailRecord {
  return isWrapped(fixture) ? fixture.detail : fixture;
}

function wrap(record: CloudTrailRecord): EventBridgeEvent {
  return {
    'detail-type': 'AWS API Call via CloudTrail',
    account: record.recipientAccountId,
    region: record.awsRegion,
    detail: record,
  };
}

const NO_OWN_ROLES: NormaliseOptions = { ownRoleArns: [] };

function changeOf(result: NormalisedEvent): PolicyChange {
  if (result.kind !== 'change')
    throw new Error(`expected a change, got ignored ${result.reason}: ${result.detail}`);
  return result.change;
}

function ignoredOf(result: NormalisedEvent): Extract<NormalisedEvent, { kind: 'ignored' }> {
  if (result.kind !== 'ignored')
    throw new Error(`expected an ignored result, got a ${result.change.eventName} change`);
  return result;
}

/** The error `action` throws, so tests can assert its type and message together. */
function errorFrom(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but none was thrown');
}

const DELETE = Symbol('delete');

/** Sets (or, with {@link DELETE}, removes) the value at a dotted path, e.g. `detail.userIdentity.arn`. */
function setPath(target: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = target as Record<string, unknown>;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  if (value === DELETE) delete node[last];
  else node[last] = value;
}

function policyNameOf(policyArn: string | undefined): string | undefined {
  return policyArn?.slice(policyArn.lastIndexOf('/') + 1);
}

type Params = CloudTrailRecord['requestParameters'];

interface ChangeCase {
  file: string;
  target: (params: Params, record: CloudTrailRecord) => Record<string, unknown>;
  carriesDocument: boolean;
  versionId: (params: Params, record: CloudTrailRecord) => string | undefined;
}

// Every expected value is read from the fixture; the table only says where each field comes from.
const CHANGE_CASES: ChangeCase[] = [
  {
    file: 'create-policy.json',
    target: (p, r) => ({
      kind: 'managed-policy',
      policyArn: r.responseElements?.policy?.arn,
      policyName: p.policyName,
    }),
    carriesDocument: true,
    versionId: (_p, r) => r.responseElements?.policy?.defaultVersionId,
  },
  {
    file: 'create-policy-version-set-default.json',
    target: (p) => ({
      kind: 'managed-policy',
      policyArn: p.policyArn,
      policyName: policyNameOf(p.policyArn),
    }),
    carriesDocument: true,
    versionId: (_p, r) => r.responseElements?.policyVersion?.versionId,
  },
  {
    file: 'create-policy-version-bare.json',
    target: (p) => ({
      kind: 'managed-policy',
      policyArn: p.policyArn,
      policyName: policyNameOf(p.policyArn),
    }),
    carriesDocument: true,
    versionId: (_p, r) => r.responseElements?.policyVersion?.versionId,
  },
  {
    file: 'set-default-policy-version.json',
    target: (p) => ({
      kind: 'managed-policy',
      policyArn: p.policyArn,
      policyName: policyNameOf(p.policyArn),
    }),
    carriesDocument: false,
    versionId: (p) => p.versionId,
  },
  {
    file: 'put-role-policy.json',
    target: (p) => ({
      kind: 'inline-policy',
      principalType: 'role',
      principalName: p.roleName,
      policyName: p.policyName,
    }),
    carriesDocument: true,
    versionId: () => undefined,
  },
  {
    file: 'put-user-policy-bare.json',
    target: (p) => ({
      kind: 'inline-policy',
      principalType: 'user',
      principalName: p.userName,
      policyName: p.policyName,
    }),
    carriesDocument: true,
    versionId: () => undefined,
  },
  {
    file: 'put-group-policy.json',
    target: (p) => ({
      kind: 'inline-policy',
      principalType: 'group',
      principalName: p.groupName,
      policyName: p.policyName,
    }),
    carriesDocument: true,
    versionId: () => undefined,
  },
  {
    file: 'attach-role-policy.json',
    target: (p) => ({
      kind: 'attachment',
      principalType: 'role',
      principalName: p.roleName,
      policyArn: p.policyArn,
    }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'attach-user-policy.json',
    target: (p) => ({
      kind: 'attachment',
      principalType: 'user',
      principalName: p.userName,
      policyArn: p.policyArn,
    }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'attach-group-policy.json',
    target: (p) => ({
      kind: 'attachment',
      principalType: 'group',
      principalName: p.groupName,
      policyArn: p.policyArn,
    }),
    carriesDocument: false,
    versionId: () => undefined,
  },
];

const FAILED_FILES = [
  'failed-create-policy-version-malformed.json',
  'failed-attach-role-policy-access-denied.json',
];
const OWN_ROLE_FILE = 'own-role-put-role-policy.json';
const UNSUPPORTED_FILE = 'unsupported-detach-role-policy.json';

describe('CloudTrail fixtures', () => {
  it('are each covered by a test case below', () => {
    // Prepare
    const covered = new Set([
      ...CHANGE_CASES.map((c) => c.file),
      ...FAILED_FILES,
      OWN_ROLE_FILE,
      UNSUPPORTED_FILE,
    ]);

    // Act
    const uncovered = FIXTURE_FILES.filter((file) => !covered.has(file));
    const missing = [...covered].filter((file) => !FIXTURE_FILES.includes(file));

    // Assess
    expect(uncovered).toEqual([]);
    expect(missing).toEqual([]);
  });
});

describe('normaliseEvent: policy changes', () => {
  it.each(CHANGE_CASES)(
    '$file carries the event identity, account, region and request context',
    ({ file }) => {
      // Prepare
      const fixture = load(file);
      const record = recordOf(fixture);

      // Act
      const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

      // Assess
      expect(change).toMatchObject({
        eventId: record.eventID,
        eventName: record.eventName,
        eventTime: record.eventTime,
        accountId: isWrapped(fixture) ? fixture.account : record.recipientAccountId,
        region: record.awsRegion,
        sourceIp: record.sourceIPAddress,
        userAgent: record.userAgent,
        requestId: record.requestID,
      });
      expect(change.actor).toMatchObject({
        type: record.userIdentity.type,
        arn: record.userIdentity.arn,
        principalId: record.userIdentity.principalId,
        accountId: record.userIdentity.accountId,
        accessKeyId: record.userIdentity.accessKeyId,
      });
    },
  );

  it.each(CHANGE_CASES)('$file names its target', ({ file, target }) => {
    // Prepare
    const record = recordOf(load(file));

    // Act
    const change = changeOf(normaliseEvent(load(file), NO_OWN_ROLES));

    // Assess
    expect(change.target).toEqual(target(record.requestParameters, record));
  });

  it.each(CHANGE_CASES)(
    '$file keeps the raw policy document and version it carries',
    ({ file, carriesDocument, versionId }) => {
      // Prepare
      const record = recordOf(load(file));
      const params = record.requestParameters;

      // Act
      const change = changeOf(normaliseEvent(load(file), NO_OWN_ROLES));

      // Assess
      expect(change.document).toBe(carriesDocument ? params.policyDocument : undefined);
      expect(change.versionId).toBe(versionId(params, record));
    },
  );

  it('keeps a URL-encoded document exactly as the event carries it', () => {
    // Prepare
    const fixture = load('put-group-policy.json');
    const raw = recordOf(fixture).requestParameters.policyDocument as string;

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(raw.startsWith('%7B')).toBe(true);
    expect(change.document).toBe(raw);
  });

  it('serialises a policy document that the event holds as an object', () => {
    // Prepare
    const fixture = load('put-role-policy.json');
    const parsed: unknown = JSON.parse(recordOf(fixture).requestParameters.policyDocument as string);
    setPath(fixture, 'detail.requestParameters.policyDocument', parsed);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(typeof change.document).toBe('string');
    expect(JSON.parse(change.document as string)).toEqual(parsed);
  });

  it('does not modify the input', () => {
    // Prepare
    const fixture = load('create-policy-version-set-default.json');
    const before = structuredClone(fixture);

    // Act
    normaliseEvent(fixture, NO_OWN_ROLES);

    // Assess
    expect(fixture).toEqual(before);
  });
});

describe('normaliseEvent: actor', () => {
  it.each([
    'create-policy-version-set-default.json',
    'put-role-policy.json',
    'attach-role-policy.json',
    'attach-group-policy.json',
  ])('%s: an assumed-role session names its session and issuer', (file) => {
    // Prepare
    const identity = recordOf(load(file)).userIdentity;
    const issuer = identity.sessionContext?.sessionIssuer;

    // Act
    const { actor } = changeOf(normaliseEvent(load(file), NO_OWN_ROLES));

    // Assess
    expect(actor.type).toBe('AssumedRole');
    expect(actor.sessionName).toBe(identity.principalId.split(':')[1]);
    expect(actor.sessionIssuer).toEqual({ type: issuer?.type, arn: issuer?.arn, userName: issuer?.userName });
    expect(actor.mfaAuthenticated).toBe(identity.sessionContext?.attributes.mfaAuthenticated === 'true');
  });

  it('an assumed-role session name comes from the ARN when the principal ID is absent', () => {
    // Prepare
    const fixture = load('put-role-policy.json');
    const expected = recordOf(fixture).userIdentity.principalId.split(':')[1];
    setPath(fixture, 'detail.userIdentity.principalId', DELETE);

    // Act
    const { actor } = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(actor.sessionName).toBe(expected);
  });

  it('an IAM user has a user name and no session', () => {
    // Prepare
    const identity = recordOf(load('put-user-policy-bare.json')).userIdentity;

    // Act
    const { actor } = changeOf(normaliseEvent(load('put-user-policy-bare.json'), NO_OWN_ROLES));

    // Assess
    expect(actor.type).toBe('IAMUser');
    expect(actor.userName).toBe(identity.userName);
    expect(actor.sessionName).toBeUndefined();
    expect(actor.sessionIssuer).toBeUndefined();
  });

  it('the root user with an empty session issuer has no issuer but keeps its MFA flag', () => {
    // Prepare
    const identity = recordOf(load('attach-user-policy.json')).userIdentity;

    // Act
    const { actor } = changeOf(normaliseEvent(load('attach-user-policy.json'), NO_OWN_ROLES));

    // Assess
    expect(identity.sessionContext?.sessionIssuer).toEqual({});
    expect(actor.type).toBe('Root');
    expect(actor.sessionIssuer).toBeUndefined();
    expect(actor.mfaAuthenticated).toBe(identity.sessionContext?.attributes.mfaAuthenticated === 'true');
  });

  it('a call made by an AWS service on a principal’s behalf records the service', () => {
    // Prepare
    const identity = recordOf(load('attach-group-policy.json')).userIdentity;

    // Act
    const { actor } = changeOf(normaliseEvent(load('attach-group-policy.json'), NO_OWN_ROLES));

    // Assess
    expect(identity.invokedBy).toBeDefined();
    expect(actor.invokedBy).toBe(identity.invokedBy);
  });
});

describe('normaliseEvent: CreatePolicy without a response', () => {
  it('rebuilds the policy ARN that IAM reported, from account, path and name', () => {
    // Prepare
    const fixture = load('create-policy.json');
    const reportedArn = recordOf(fixture).responseElements?.policy?.arn;
    setPath(fixture, 'detail.responseElements', null);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.target).toMatchObject({ kind: 'managed-policy', policyArn: reportedArn });
    expect(change.versionId).toBe('v1');
  });

  it('takes the partition from the actor ARN and the root path by default', () => {
    // Prepare
    const fixture = load('create-policy.json');
    const record = recordOf(fixture);
    setPath(fixture, 'detail.responseElements', DELETE);
    setPath(fixture, 'detail.requestParameters.path', DELETE);
    setPath(
      fixture,
      'detail.userIdentity.arn',
      record.userIdentity.arn.replace(/^arn:aws:/, 'arn:aws-us-gov:'),
    );

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.target).toMatchObject({
      policyArn: `arn:aws-us-gov:iam::${record.recipientAccountId}:policy/${record.requestParameters.policyName}`,
    });
  });
});

describe('normaliseEvent: setAsDefault', () => {
  it.each([
    { given: true, expected: true },
    { given: 'true', expected: true },
    { given: 'TRUE', expected: true },
    { given: false, expected: false },
    { given: 'false', expected: false },
    { given: null, expected: false },
    { given: DELETE, expected: false },
  ])('$given reads as $expected', ({ given, expected }) => {
    // Prepare
    const fixture = load('create-policy-version-set-default.json');
    setPath(fixture, 'detail.requestParameters.setAsDefault', given);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.setAsDefault).toBe(expected);
  });

  it.each(['yes', 1, {}, []])('%p is rejected, not guessed', (given) => {
    // Prepare
    const fixture = load('create-policy-version-set-default.json');
    setPath(fixture, 'detail.requestParameters.setAsDefault', given);

    // Act
    const error = errorFrom(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toMatch(/^detail\.requestParameters\.setAsDefault: /);
  });

  it.each(CHANGE_CASES.filter((c) => !c.file.startsWith('create-policy-version')))(
    '$file has no setAsDefault',
    ({ file }) => {
      // Prepare
      const fixture = load(file);

      // Act
      const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

      // Assess
      expect(change.setAsDefault).toBeUndefined();
    },
  );
});

describe('normaliseEvent: ignored events', () => {
  it.each(FAILED_FILES)('%s is ignored as a failed call', (file) => {
    // Prepare
    const record = recordOf(load(file));

    // Act
    const result = ignoredOf(normaliseEvent(load(file), NO_OWN_ROLES));

    // Assess
    expect(result).toMatchObject({
      reason: 'failed-call',
      eventId: record.eventID,
      eventName: record.eventName,
    });
    expect(result.detail).toContain(record.errorCode);
  });

  it('a failed call is ignored even when its request parameters are gone', () => {
    // Prepare
    const fixture = load('failed-attach-role-policy-access-denied.json');
    setPath(fixture, 'detail.requestParameters', null);

    // Act
    const result = ignoredOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(result.reason).toBe('failed-call');
  });

  it('the failed-call check comes before the own-role check', () => {
    // Prepare
    const fixture = load(OWN_ROLE_FILE);
    const issuerArn = recordOf(fixture).userIdentity.sessionContext?.sessionIssuer.arn as string;
    setPath(fixture, 'detail.errorCode', 'NoSuchEntity');

    // Act
    const result = ignoredOf(normaliseEvent(fixture, { ownRoleArns: [issuerArn] }));

    // Assess
    expect(result.reason).toBe('failed-call');
    expect(result.detail).toContain('NoSuchEntity');
  });

  it("is a change when PolicyGate's role is not configured", () => {
    // Prepare
    const fixture = load(OWN_ROLE_FILE);

    // Act
    const result = normaliseEvent(fixture, NO_OWN_ROLES);

    // Assess
    expect(result.kind).toBe('change');
  });

  it("ignores a call by PolicyGate's own role, matched on the session issuer (trimmed)", () => {
    // Prepare
    const fixture = load(OWN_ROLE_FILE);
    const issuerArn = recordOf(fixture).userIdentity.sessionContext?.sessionIssuer.arn as string;
    const options = {
      ownRoleArns: ['arn:aws:iam::111122223333:role/policy-gate/PolicyGateNotifier', `  ${issuerArn}\n`],
    };

    // Act
    const result = ignoredOf(normaliseEvent(fixture, options));

    // Assess
    expect(result).toMatchObject({ reason: 'own-role', eventId: recordOf(fixture).eventID });
    expect(result.detail).toContain(issuerArn);
  });

  it.each(['put-user-policy-bare.json', 'attach-role-policy.json'])(
    '%s is ignored when its actor ARN is configured as own',
    (file) => {
      // Prepare
      const actorArn = recordOf(load(file)).userIdentity.arn;

      // Act
      const result = ignoredOf(normaliseEvent(load(file), { ownRoleArns: [actorArn] }));

      // Assess
      expect(result.reason).toBe('own-role');
      expect(result.detail).toContain(actorArn);
    },
  );

  it.each([
    { name: 'a prefix of it', alter: (arn: string) => arn.slice(0, -1) },
    { name: 'a different case', alter: (arn: string) => arn.toLowerCase() },
    { name: 'a longer ARN', alter: (arn: string) => `${arn}Extra` },
  ])("an ARN that is only similar to PolicyGate's role ($name) does not match", ({ alter }) => {
    // Prepare
    const fixture = load(OWN_ROLE_FILE);
    const issuerArn = recordOf(fixture).userIdentity.sessionContext?.sessionIssuer.arn as string;

    // Act
    const result = normaliseEvent(fixture, { ownRoleArns: [alter(issuerArn)] });

    // Assess
    expect(result.kind).toBe('change');
  });

  it('ignores an IAM event that is not a gated policy change', () => {
    // Prepare
    const record = recordOf(load(UNSUPPORTED_FILE));

    // Act
    const result = ignoredOf(normaliseEvent(load(UNSUPPORTED_FILE), NO_OWN_ROLES));

    // Assess
    expect(result).toMatchObject({
      reason: 'unsupported-event',
      eventId: record.eventID,
      eventName: record.eventName,
    });
    expect(result.detail).toContain(record.eventName);
  });
});

describe('normaliseEvent: bare record and EventBridge event', () => {
  it.each(CHANGE_CASES)('$file gives the same change either way', ({ file }) => {
    // Prepare
    const fixture = load(file);
    const record = recordOf(fixture);
    const [bare, wrapped] = isWrapped(fixture) ? [record, fixture] : [fixture, wrap(structuredClone(record))];

    // Act
    const fromBare = normaliseEvent(bare, NO_OWN_ROLES);
    const fromWrapped = normaliseEvent(wrapped, NO_OWN_ROLES);

    // Assess
    expect(fromBare.kind).toBe('change');
    expect(fromBare).toEqual(fromWrapped);
  });

  it("prefers the envelope's account, then recipientAccountId, then the actor's account", () => {
    // Prepare
    const fixture = load('attach-role-policy.json');
    setPath(fixture, 'account', '444455556666');
    const bare = recordOf(load('attach-role-policy.json'));
    const bareNoRecipient = recordOf(load('attach-role-policy.json'));
    setPath(bareNoRecipient, 'recipientAccountId', DELETE);
    setPath(bareNoRecipient, 'userIdentity.accountId', '777788889999');

    // Act
    const accounts = [fixture, bare, bareNoRecipient].map(
      (e) => changeOf(normaliseEvent(e, NO_OWN_ROLES)).accountId,
    );

    // Assess
    expect(accounts).toEqual(['444455556666', bare.recipientAccountId, '777788889999']);
  });

  it("falls back to the envelope's region when the record has none", () => {
    // Prepare
    const fixture = load('attach-role-policy.json');
    setPath(fixture, 'detail.awsRegion', DELETE);
    setPath(fixture, 'region', 'eu-west-1');

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.region).toBe('eu-west-1');
  });
});

describe('normaliseEvent: rejected input', () => {
  it.each([
    { input: null, shown: 'null' },
    { input: undefined, shown: 'undefined' },
    { input: [], shown: 'an array' },
    { input: 42, shown: 'number 42' },
    { input: 'x', shown: 'string "x"' },
    { input: true, shown: 'boolean true' },
  ])('$shown is not an event', ({ input, shown }) => {
    // Prepare
    const options = NO_OWN_ROLES;

    // Act
    const error = errorFrom(() => normaliseEvent(input, options));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toBe(`event: expected a JSON object, got ${shown}`);
  });

  it('an empty object is missing its eventSource', () => {
    // Prepare
    const input = {};

    // Act
    const error = errorFrom(() => normaliseEvent(input, NO_OWN_ROLES));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toBe('eventSource: missing');
  });

  it.each([
    { file: 'attach-role-policy.json', path: 'detail-type', value: 'EC2 Instance State-change Notification' },
    { file: 'attach-role-policy.json', path: 'detail.eventSource', value: 's3.amazonaws.com' },
    { file: 'put-user-policy-bare.json', path: 'eventSource', value: 'sts.amazonaws.com' },
  ])('$path $value is refused as not an IAM CloudTrail call', ({ file, path, value }) => {
    // Prepare
    const fixture = load(file);
    setPath(fixture, path, value);

    // Act
    const error = errorFrom(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toMatch(new RegExp(`^${path}: "${value}" is not `));
  });

  it.each([
    { file: 'attach-role-policy.json', path: 'detail', value: DELETE, problem: 'missing' },
    {
      file: 'attach-role-policy.json',
      path: 'detail',
      value: [],
      problem: 'expected an object, got an array',
    },
    { file: 'attach-role-policy.json', path: 'detail.eventID', value: DELETE, problem: 'missing' },
    {
      file: 'attach-role-policy.json',
      path: 'detail.eventID',
      value: 7,
      problem: 'expected a string, got number 7',
    },
    { file: 'attach-role-policy.json', path: 'detail.eventName', value: DELETE, problem: 'missing' },
    { file: 'attach-role-policy.json', path: 'detail.eventTime', value: DELETE, problem: 'missing' },
    {
      file: 'attach-role-policy.json',
      path: 'detail.eventTime',
      value: 'soon',
      problem: 'not a timestamp: string "soon"',
    },
    {
      file: 'attach-role-policy.json',
      path: 'detail.errorCode',
      value: 403,
      problem: 'expected a string, got number 403',
    },
    { file: 'attach-role-policy.json', path: 'detail.userIdentity', value: DELETE, problem: 'missing' },
    { file: 'attach-role-policy.json', path: 'detail.userIdentity.type', value: DELETE, problem: 'missing' },
    {
      file: 'attach-role-policy.json',
      path: 'detail.userIdentity.arn',
      value: {},
      problem: 'expected a string, got an object',
    },
    {
      file: 'attach-role-policy.json',
      path: 'detail.userIdentity.sessionContext.sessionIssuer.arn',
      value: 12,
      problem: 'expected a string, got number 12',
    },
    {
      file: 'attach-role-policy.json',
      path: 'account',
      value: '1234',
      problem: 'expected a 12-digit AWS account ID, got string "1234"',
    },
    {
      file: 'attach-role-policy.json',
      path: 'detail.awsRegion',
      value: 5,
      problem: 'expected a string, got number 5',
    },
    { file: 'attach-role-policy.json', path: 'detail.requestParameters', value: null, problem: 'missing' },
    {
      file: 'attach-role-policy.json',
      path: 'detail.requestParameters.policyArn',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'attach-role-policy.json',
      path: 'detail.requestParameters.policyArn',
      value: 'AdministratorAccess',
      problem: 'not an IAM policy ARN: string "AdministratorAccess"',
    },
    {
      file: 'attach-role-policy.json',
      path: 'detail.requestParameters.roleName',
      value: '',
      problem: 'empty',
    },
    {
      file: 'attach-user-policy.json',
      path: 'detail.requestParameters.userName',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'attach-group-policy.json',
      path: 'detail.requestParameters.groupName',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'put-role-policy.json',
      path: 'detail.requestParameters.policyName',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'put-role-policy.json',
      path: 'detail.requestParameters.policyDocument',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'put-role-policy.json',
      path: 'detail.requestParameters.policyDocument',
      value: 42,
      problem: 'expected a string, got number 42',
    },
    {
      file: 'put-user-policy-bare.json',
      path: 'requestParameters.userName',
      value: DELETE,
      problem: 'missing',
    },
    { file: 'put-user-policy-bare.json', path: 'eventID', value: DELETE, problem: 'missing' },
    {
      file: 'put-group-policy.json',
      path: 'detail.requestParameters.groupName',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'create-policy.json',
      path: 'detail.requestParameters.policyName',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'create-policy.json',
      path: 'detail.responseElements.policy.arn',
      value: 'arn:aws:iam::111122223333:role/not-a-policy',
      problem: 'not an IAM policy ARN: string "arn:aws:iam::111122223333:role/not-a-policy"',
    },
    {
      file: 'create-policy-version-bare.json',
      path: 'requestParameters.policyArn',
      value: DELETE,
      problem: 'missing',
    },
    {
      file: 'create-policy-version-bare.json',
      path: 'responseElements.policyVersion.versionId',
      value: false,
      problem: 'expected a string, got boolean false',
    },
    {
      file: 'set-default-policy-version.json',
      path: 'detail.requestParameters.versionId',
      value: DELETE,
      problem: 'missing',
    },
  ])('$file with $path set to $value: "$path: $problem"', ({ file, path, value, problem }) => {
    // Prepare
    const fixture = load(file);
    setPath(fixture, path, value);

    // Act
    const error = errorFrom(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toBe(`${path}: ${problem}`);
  });

  it('names every place it looked for the account when there is none', () => {
    // Prepare
    const record = recordOf(load('put-user-policy-bare.json'));
    setPath(record, 'recipientAccountId', DELETE);
    setPath(record, 'userIdentity.accountId', DELETE);

    // Act
    const error = errorFrom(() => normaliseEvent(record, NO_OWN_ROLES));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toBe(
      'recipientAccountId: missing (looked at recipientAccountId, userIdentity.accountId)',
    );
  });

  // Every field of every fixture replaced by every kind of junk: the normaliser may accept or reject, but
  // only ever by returning a result or throwing EventNormalisationError.
  it.each(FIXTURE_FILES)('%s with any one field replaced by junk never throws anything else', (file) => {
    // Prepare
    const junk: unknown[] = [null, 0, -1.5, '', 'x', true, [], {}, [1, 'a'], { nested: {} }];
    const paths: string[] = [];
    const walk = (node: unknown, prefix: string): void => {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
      for (const [key, value] of Object.entries(node)) {
        const path = prefix ? `${prefix}.${key}` : key;
        paths.push(path);
        walk(value, path);
      }
    };
    walk(load(file), '');
    const unexpected: string[] = [];

    // Act
    for (const path of paths) {
      for (const value of [DELETE, ...junk]) {
        const fixture = load(file);
        setPath(fixture, path, value);
        try {
          normaliseEvent(fixture, NO_OWN_ROLES);
        } catch (error) {
          if (!(error instanceof EventNormalisationError))
            unexpected.push(`${path}=${String(value)}: ${error}`);
        }
      }
    }

    // Assess
    expect(paths.length).toBeGreaterThan(20);
    expect(unexpected).toEqual([]);
  });
});

describe('isCloudTrailShaped', () => {
  it.each(FIXTURE_FILES)('%s is CloudTrail-shaped', (file) => {
    // Prepare
    const fixture = load(file);

    // Act
    const shaped = isCloudTrailShaped(fixture);

    // Assess
    expect(shaped).toBe(true);
  });

  it.each([
    {
      name: 'a policy document from a fixture',
      input: JSON.parse(recordOf(load('put-role-policy.json')).requestParameters.policyDocument as string),
    },
    { name: 'a record without eventSource', input: { eventName: 'PutRolePolicy' } },
    { name: 'a record with a numeric eventName', input: { eventName: 1, eventSource: 'iam.amazonaws.com' } },
    { name: 'an empty object', input: {} },
    { name: 'null', input: null },
    { name: 'an array', input: [] },
    { name: 'a string', input: 'x' },
  ])('$name is not', ({ input }) => {
    // Prepare
    const candidate: unknown = input;

    // Act
    const shaped = isCloudTrailShaped(candidate);

    // Assess
    expect(shaped).toBe(false);
  });
});

describe('isCloudTrailShaped on other EventBridge events', () => {
  it('claims any EventBridge envelope, so normaliseEvent can say why it is not a CloudTrail call', () => {
    // Prepare
    const input = { 'detail-type': 'EC2 Instance State-change Notification', detail: {} };
    // Act
    const shaped = isCloudTrailShaped(input);
    // Assess
    expect(shaped).toBe(true);
    expect(() => normaliseEvent(input, { ownRoleArns: [] })).toThrow(/is not a CloudTrail API call/);
  });
});
