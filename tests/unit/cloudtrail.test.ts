import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isCloudTrailShaped,
  type NormaliseOptions,
  normaliseEvent,
  SWEEP_FINDING_DETAIL_TYPE,
  sweepFindingEvent,
} from '../../src/domain/cloudtrail';
import {
  type ChangeTarget,
  type NormalisedEvent,
  POLICY_CHANGE_EVENT_NAMES,
  type PolicyChange,
} from '../../src/domain/policy-change';
import { EventNormalisationError, PolicyGateError } from '../../src/errors';
import { thrownBy } from '../support/thrown';

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
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
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
    id: '00000000-0000-4000-8000-000000000000',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: record.recipientAccountId,
    time: record.eventTime,
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

function errorOf(action: () => unknown): EventNormalisationError {
  const error = thrownBy(action);
  if (!(error instanceof EventNormalisationError))
    throw new Error(`expected an EventNormalisationError, got ${error}`);
  return error;
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
  {
    file: 'add-user-to-group.json',
    target: (p) => ({ kind: 'group-membership', groupName: p.groupName, userName: p.userName }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'put-role-permissions-boundary.json',
    target: (p) => ({
      kind: 'permissions-boundary',
      principalType: 'role',
      principalName: p.roleName,
      policyArn: p.permissionsBoundary,
    }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'delete-role-permissions-boundary-bare.json',
    target: (p) => ({ kind: 'permissions-boundary', principalType: 'role', principalName: p.roleName }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'put-user-permissions-boundary-govcloud.json',
    target: (p) => ({
      kind: 'permissions-boundary',
      principalType: 'user',
      principalName: p.userName,
      policyArn: p.permissionsBoundary,
    }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'delete-user-permissions-boundary.json',
    target: (p) => ({ kind: 'permissions-boundary', principalType: 'user', principalName: p.userName }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'update-assume-role-policy.json',
    target: (p) => ({ kind: 'trust-policy', roleName: p.roleName }),
    carriesDocument: true,
    versionId: () => undefined,
  },
  {
    file: 'delete-role-policy.json',
    target: (p) => ({
      kind: 'inline-policy',
      principalType: 'role',
      principalName: p.roleName,
      policyName: p.policyName,
    }),
    carriesDocument: false,
    versionId: () => undefined,
  },
  {
    file: 'detach-role-policy.json',
    target: (p) => ({
      kind: 'attachment',
      principalType: 'role',
      principalName: p.roleName,
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
const UNSUPPORTED_FILE = 'unsupported-create-user.json';
const SWEEP_FILE = 'sweep-attach-role-policy.json';

describe('CloudTrail fixtures', () => {
  it('are each covered by a test case below', () => {
    // Prepare
    const covered = new Set([
      ...CHANGE_CASES.map((c) => c.file),
      ...FAILED_FILES,
      OWN_ROLE_FILE,
      UNSUPPORTED_FILE,
      SWEEP_FILE,
    ]);

    // Act
    const uncovered = FIXTURE_FILES.filter((file) => !covered.has(file));
    const missing = [...covered].filter((file) => !FIXTURE_FILES.includes(file));

    // Assess
    expect(uncovered).toEqual([]);
    expect(missing).toEqual([]);
  });

  it('cover every event name PolicyGate watches', () => {
    // Prepare
    const names = new Set(CHANGE_CASES.map((c) => recordOf(load(c.file)).eventName));

    // Act
    const uncovered = POLICY_CHANGE_EVENT_NAMES.filter((name) => !names.has(name));

    // Assess
    expect(uncovered).toEqual([]);
  });
});

describe('normaliseEvent: policy changes', () => {
  it.each(CHANGE_CASES)('$file normalises without problems, from CloudTrail', ({ file }) => {
    // Prepare
    const fixture = load(file);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.problems).toBeUndefined();
    expect(change.origin).toBeUndefined();
  });

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

  it.each(['yes', 1, {}, []])('%p is left to IAM (undefined), and reported', (given) => {
    // Prepare
    const fixture = load('create-policy-version-set-default.json');
    setPath(fixture, 'detail.requestParameters.setAsDefault', given);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.setAsDefault).toBeUndefined();
    expect(change.problems).toEqual([
      expect.stringMatching(
        /^detail\.requestParameters\.setAsDefault: expected true or false, got .*IAM decides/,
      ),
    ]);
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

  it('a failed call by an own role is ignored as failed', () => {
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

  it("marks a call by PolicyGate's own role, matched on the session issuer (trimmed), and never ignores it", () => {
    // Prepare
    const fixture = load(OWN_ROLE_FILE);
    const issuerArn = recordOf(fixture).userIdentity.sessionContext?.sessionIssuer.arn as string;
    const options = {
      ownRoleArns: ['arn:aws:iam::111122223333:role/policy-gate/PolicyGateNotifier', `  ${issuerArn}\n`],
    };

    // Act
    const change = changeOf(normaliseEvent(fixture, options));

    // Assess
    expect(change).toMatchObject({ madeByOwnRole: issuerArn, eventId: recordOf(fixture).eventID });
  });

  it.each(['put-user-policy-bare.json', 'attach-role-policy.json'])(
    '%s is marked as made by an own role when its actor ARN is configured as own',
    (file) => {
      // Prepare
      const actorArn = recordOf(load(file)).userIdentity.arn;

      // Act
      const change = changeOf(normaliseEvent(load(file), { ownRoleArns: [actorArn] }));

      // Assess
      expect(change.madeByOwnRole).toBe(actorArn);
      expect(changeOf(normaliseEvent(load(file), NO_OWN_ROLES)).madeByOwnRole).toBeUndefined();
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
    expect(changeOf(result).madeByOwnRole).toBeUndefined();
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
    const error = thrownBy(() => normaliseEvent(input, options));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toBe(`event: expected a JSON object, got ${shown}`);
  });

  it('an empty object is missing its eventSource', () => {
    // Prepare
    const input = {};

    // Act
    const error = thrownBy(() => normaliseEvent(input, NO_OWN_ROLES));

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
    const error = thrownBy(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error).toBeInstanceOf(EventNormalisationError);
    expect((error as Error).message).toMatch(new RegExp(`^${path}: "${value}" is not `));
  });

  it.each([
    { path: 'detail', value: DELETE, problem: 'missing' },
    { path: 'detail', value: [], problem: 'expected an object, got an array' },
    { path: 'detail-type', value: 7, problem: 'expected a string, got number 7' },
  ])('an envelope with $path set to $value is refused: "$path: $problem"', ({ path, value, problem }) => {
    // Prepare
    const fixture = load('attach-role-policy.json');
    setPath(fixture, path, value);

    // Act
    const error = errorOf(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error.message).toBe(`${path}: ${problem}`);
    expect(error.identifiers).toMatchObject({ account: '111122223333', eventBridgeId: expect.any(String) });
  });
});

interface UnlocatableCase {
  file: string;
  path: string;
  value: unknown;
  message: RegExp;
}

// The target cannot be located at all: these, and only these, throw. Each still names what it did carry.
const UNLOCATABLE_CASES: UnlocatableCase[] = [
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters',
    value: null,
    message: /^detail\.requestParameters: missing, so what this AttachRolePolicy changed cannot be located$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters',
    value: 'roleName=ci-runner',
    message: /^detail\.requestParameters: expected an object, got string "roleName=ci-runner", so /,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.eventName',
    value: DELETE,
    message: /^detail\.eventName: missing, so what the call changed cannot be told$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.eventName',
    value: 9,
    message: /^detail\.eventName: expected a string, got number 9, so /,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters.policyArn',
    value: DELETE,
    message:
      /^detail\.requestParameters\.policyArn: missing, so the attached policy this AttachRolePolicy changed cannot be located$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters.roleName',
    value: '',
    message:
      /^detail\.requestParameters\.roleName: empty, so the role this AttachRolePolicy changed cannot be located$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters.roleName',
    value: 42,
    message: /^detail\.requestParameters\.roleName: expected a name, got number 42, so the role /,
  },
  {
    file: 'attach-user-policy.json',
    path: 'detail.requestParameters.userName',
    value: DELETE,
    message: /the user/,
  },
  {
    file: 'attach-group-policy.json',
    path: 'detail.requestParameters.groupName',
    value: DELETE,
    message: /the group/,
  },
  {
    file: 'put-role-policy.json',
    path: 'detail.requestParameters.policyName',
    value: DELETE,
    message:
      /^detail\.requestParameters\.policyName: missing, so the role's inline policy this PutRolePolicy /,
  },
  {
    file: 'put-user-policy-bare.json',
    path: 'requestParameters.userName',
    value: DELETE,
    message: /^requestParameters\.userName: missing, so the user /,
  },
  {
    file: 'put-group-policy.json',
    path: 'detail.requestParameters.groupName',
    value: DELETE,
    message: /the group/,
  },
  {
    file: 'create-policy-version-bare.json',
    path: 'requestParameters.policyArn',
    value: DELETE,
    message: /the policy/,
  },
  {
    file: 'set-default-policy-version.json',
    path: 'detail.requestParameters.policyArn',
    value: [],
    message: /an array/,
  },
  {
    file: 'add-user-to-group.json',
    path: 'detail.requestParameters.groupName',
    value: DELETE,
    message: /the group/,
  },
  {
    file: 'add-user-to-group.json',
    path: 'detail.requestParameters.userName',
    value: null,
    message: /new member/,
  },
  {
    file: 'put-role-permissions-boundary.json',
    path: 'detail.requestParameters.roleName',
    value: DELETE,
    message: /the role/,
  },
  {
    file: 'delete-role-permissions-boundary-bare.json',
    path: 'requestParameters.roleName',
    value: {},
    message: /an object/,
  },
  {
    file: 'put-user-permissions-boundary-govcloud.json',
    path: 'detail.requestParameters.userName',
    value: DELETE,
    message: /the user this PutUserPermissionsBoundary/,
  },
  {
    file: 'delete-user-permissions-boundary.json',
    path: 'detail.requestParameters.userName',
    value: '  ',
    message: /empty/,
  },
  {
    file: 'update-assume-role-policy.json',
    path: 'detail.requestParameters.roleName',
    value: DELETE,
    message: /the role/,
  },
  {
    file: 'delete-role-policy.json',
    path: 'detail.requestParameters.policyName',
    value: DELETE,
    message: /inline policy/,
  },
  {
    file: 'detach-role-policy.json',
    path: 'detail.requestParameters.policyArn',
    value: DELETE,
    message: /attached policy/,
  },
  { file: SWEEP_FILE, path: 'detail.requestParameters.roleName', value: DELETE, message: /the role/ },
];

function isJsonRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The identifiers a thrown error must still carry: the event's identity and the names it did hold. */
function expectedIdentifiers(fixture: Fixture): Record<string, string> {
  const record = recordOf(fixture);
  const params: Record<string, unknown> = isJsonRecord(record.requestParameters)
    ? record.requestParameters
    : {};
  const named = Object.entries(params).filter(
    ([key, value]) =>
      typeof value === 'string' && value.trim() !== '' && /(Name|Arn|Boundary|path)$/.test(key),
  );
  return {
    ...(typeof record.eventName === 'string' && { eventName: record.eventName }),
    eventID: record.eventID,
    ...Object.fromEntries(named.map(([key, value]) => [`requestParameters.${key}`, value])),
  };
}

describe('normaliseEvent: a target that cannot be located', () => {
  it.each(UNLOCATABLE_CASES)(
    '$file with $path set to $value throws, naming what it carried',
    ({ file, path, value, message }) => {
      // Prepare
      const fixture = load(file);
      setPath(fixture, path, value);

      // Act
      const error = errorOf(() => normaliseEvent(fixture, NO_OWN_ROLES));

      // Assess
      expect(error.message.startsWith(`${path}: `)).toBe(true);
      expect(error.message).toMatch(message);
      expect(error.identifiers).toMatchObject(expectedIdentifiers(fixture));
    },
  );

  it('names the actor and account the event carried, not the document', () => {
    // Prepare
    const fixture = load('put-role-policy.json');
    const record = recordOf(fixture);
    setPath(fixture, 'detail.requestParameters.roleName', DELETE);

    // Act
    const error = errorOf(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error.identifiers).toMatchObject({
      actor: record.userIdentity.arn,
      sessionIssuer: record.userIdentity.sessionContext?.sessionIssuer.arn,
      account: record.recipientAccountId,
      'requestParameters.policyName': record.requestParameters.policyName,
    });
    expect(error.identifiers).not.toHaveProperty(['requestParameters.policyDocument']);
  });

  it('shortens the identifiers and keeps only so many, so junk cannot flood the alert', () => {
    // Prepare
    const fixture = load('attach-role-policy.json');
    const params: Record<string, string> = { policyArn: `arn:aws:iam::aws:policy/${'A'.repeat(5000)}` };
    for (let index = 0; index < 500; index += 1) params[`extra${index}Name`] = 'x';
    setPath(fixture, 'detail.requestParameters', params);

    // Act
    const error = errorOf(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error.message).toMatch(/^detail\.requestParameters\.roleName: missing/);
    expect(error.identifiers['requestParameters.policyArn']?.length).toBeLessThanOrEqual(200);
    expect(Object.keys(error.identifiers).length).toBeLessThanOrEqual(30);
  });

  it('a CreatePolicy with neither a name nor a response ARN cannot be located', () => {
    // Prepare
    const fixture = load('create-policy.json');
    setPath(fixture, 'detail.requestParameters.policyName', DELETE);
    setPath(fixture, 'detail.responseElements', null);

    // Act
    const error = errorOf(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error.message).toBe(
      'detail.requestParameters.policyName: missing, and the ARN cannot be rebuilt, so the policy this CreatePolicy changed cannot be located',
    );
    expect(error.identifiers).toMatchObject({ 'requestParameters.path': '/data-platform/' });
  });

  it('a CreatePolicy whose path is unreadable and has no response ARN cannot be located', () => {
    // Prepare
    const fixture = load('create-policy.json');
    setPath(fixture, 'detail.requestParameters.path', 7);
    setPath(fixture, 'detail.responseElements', DELETE);

    // Act
    const error = errorOf(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error.message).toMatch(
      /^detail\.requestParameters\.path: unreadable, and the ARN cannot be rebuilt/,
    );
    expect(error.identifiers).toMatchObject({ 'requestParameters.policyName': 'DataLakeWriters' });
  });
});

interface ProblemCase {
  file: string;
  path: string;
  value: unknown;
  problem: RegExp;
  /** What the change still says despite the problem. */
  expected?: (intact: Fixture) => Partial<PolicyChange>;
  /** The target, from the intact fixture's; unchanged unless the case alters a name, passed on as given. */
  target?: (intact: ChangeTarget) => ChangeTarget;
}

// These used to throw. Now the change is contained as far as it can be located and the problem is listed.
const PROBLEM_CASES: ProblemCase[] = [
  {
    file: 'attach-role-policy.json',
    path: 'detail.eventID',
    value: DELETE,
    problem: /^detail\.eventID: missing; stand-in id evt-[0-9a-f]{32} is used$/,
    expected: () => ({ eventId: expect.stringMatching(/^evt-[0-9a-f]{32}$/) }),
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.eventID',
    value: 7,
    problem: /^detail\.eventID: not a CloudTrail event ID: number 7; stand-in id evt-/,
  },
  {
    file: 'put-user-policy-bare.json',
    path: 'eventID',
    value: '../../approvals/x',
    problem: /^eventID: not a CloudTrail event ID: string "\.\.\/\.\.\/approvals\/x"; stand-in id evt-/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.eventTime',
    value: DELETE,
    problem: /^detail\.eventTime: missing; the envelope's time is used$/,
    expected: (intact) => ({ eventTime: (intact as EventBridgeEvent).time }),
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.eventTime',
    value: 'soon',
    problem: /^detail\.eventTime: not a timestamp: string "soon"; the envelope's time is used$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.errorCode',
    value: 403,
    problem: /^detail\.errorCode: number 403 is not an error code; the call is gated as if it succeeded$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.errorCode',
    value: '',
    problem: /^detail\.errorCode: string "" is not an error code/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.userIdentity',
    value: DELETE,
    problem: /^detail\.userIdentity: missing; the actor is unknown$/,
    expected: () => ({ actor: { type: 'Unknown' } }),
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.userIdentity',
    value: 'root',
    problem: /^detail\.userIdentity: expected an object, got string "root"; the actor is unknown$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.userIdentity.type',
    value: DELETE,
    problem: /^detail\.userIdentity\.type: undefined is not an identity type; "Unknown" is used$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.userIdentity.arn',
    value: {},
    problem: /^detail\.userIdentity\.arn: an object is not an ARN; dropped$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.userIdentity.sessionContext.sessionIssuer.arn',
    value: 12,
    problem: /^detail\.userIdentity\.sessionContext\.sessionIssuer\.arn: number 12 is not an ARN; dropped$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'account',
    value: '1234',
    problem: /^account: expected a 12-digit AWS account ID, got string "1234"$/,
    expected: (intact) => ({ accountId: recordOf(intact).recipientAccountId }),
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.awsRegion',
    value: 5,
    problem: /^detail\.awsRegion: expected a region, got number 5$/,
    expected: (intact) => ({ region: (intact as EventBridgeEvent).region }),
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters.policyArn',
    value: 'AdministratorAccess',
    target: (t) => ({ ...t, policyArn: 'AdministratorAccess' }) as ChangeTarget,
    problem:
      /^detail\.requestParameters\.policyArn: an ARN has 20 to 2048 characters: "AdministratorAccess"; passed on as given$/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters.policyArn',
    value: 'arn:aws:iam::111122223333:role/AdministratorAccess',
    target: (t) =>
      ({ ...t, policyArn: 'arn:aws:iam::111122223333:role/AdministratorAccess' }) as ChangeTarget,
    problem:
      /^detail\.requestParameters\.policyArn: not an IAM policy ARN: "arn:aws:iam::111122223333:role\/Admin/,
  },
  {
    file: 'attach-role-policy.json',
    path: 'detail.requestParameters.roleName',
    value: 'ci runner',
    target: (t) => ({ ...t, principalName: 'ci runner' }) as ChangeTarget,
    problem:
      /^detail\.requestParameters\.roleName: "ci runner" is not a valid IAM name \(1 to 64 of A-Z a-z 0-9 _\+=,\.@-\); passed on as given$/,
  },
  {
    file: 'put-role-policy.json',
    path: 'detail.requestParameters.policyDocument',
    value: DELETE,
    problem: /^detail\.requestParameters\.policyDocument: missing; IAM is read instead$/,
    expected: () => ({ document: undefined }),
  },
  {
    file: 'put-role-policy.json',
    path: 'detail.requestParameters.policyDocument',
    value: 42,
    problem:
      /^detail\.requestParameters\.policyDocument: expected a document, got number 42; IAM is read instead$/,
    expected: () => ({ document: undefined }),
  },
  {
    file: 'create-policy.json',
    path: 'detail.requestParameters.policyName',
    value: DELETE,
    problem: /^detail\.requestParameters\.policyName: missing$/,
  },
  {
    file: 'create-policy.json',
    path: 'detail.responseElements.policy.arn',
    value: 'arn:aws:iam::111122223333:role/not-a-policy',
    problem:
      /^detail\.responseElements\.policy\.arn: not an IAM policy ARN: "arn:aws:iam::111122223333:role\/not-a-policy"$/,
  },
  {
    file: 'create-policy.json',
    path: 'detail.responseElements',
    value: 'created',
    problem: /^detail\.responseElements: expected an object, got string "created"; ignored$/,
  },
  {
    file: 'create-policy-version-bare.json',
    path: 'responseElements.policyVersion.versionId',
    value: false,
    problem:
      /^responseElements\.policyVersion\.versionId: expected a version id, got boolean false; IAM's default version is examined$/,
    expected: () => ({ versionId: undefined }),
  },
  {
    file: 'create-policy-version-bare.json',
    path: 'responseElements',
    value: null,
    problem: /^responseElements\.policyVersion\.versionId: missing; IAM's default version is examined$/,
    expected: () => ({ versionId: undefined, setAsDefault: false }),
  },
  {
    file: 'set-default-policy-version.json',
    path: 'detail.requestParameters.versionId',
    value: DELETE,
    problem: /^detail\.requestParameters\.versionId: missing; IAM's default version is examined$/,
    expected: () => ({ versionId: undefined }),
  },
  {
    file: 'set-default-policy-version.json',
    path: 'detail.requestParameters.versionId',
    value: 'latest',
    problem:
      /^detail\.requestParameters\.versionId: "latest" is not a policy version id; passed on as given$/,
    expected: () => ({ versionId: 'latest' }),
  },
  {
    file: 'update-assume-role-policy.json',
    path: 'detail.requestParameters.policyDocument',
    value: ['Statement'],
    problem:
      /^detail\.requestParameters\.policyDocument: expected a document, got an array; IAM is read instead$/,
  },
];

describe('normaliseEvent: what it cannot read becomes a problem, not a failure', () => {
  it.each(PROBLEM_CASES)(
    '$file with $path set to $value',
    ({ file, path, value, problem, expected, target }) => {
      // Prepare
      const intact = load(file);
      const intactTarget = changeOf(normaliseEvent(intact, NO_OWN_ROLES)).target;
      const fixture = load(file);
      setPath(fixture, path, value);

      // Act
      const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

      // Assess
      expect(change.problems).toEqual([expect.stringMatching(problem)]);
      expect(change.target).toEqual(target ? target(intactTarget) : intactTarget);
      for (const [key, want] of Object.entries(expected?.(intact) ?? {})) {
        expect(change[key as keyof PolicyChange]).toEqual(want);
      }
    },
  );

  it("an unreadable actor ARN is never taken for PolicyGate's own role", () => {
    // Prepare
    const fixture = load(OWN_ROLE_FILE);
    const identity = recordOf(fixture).userIdentity;
    setPath(fixture, 'detail.userIdentity.sessionContext.sessionIssuer.arn', [
      identity.sessionContext?.sessionIssuer.arn,
    ]);
    setPath(fixture, 'detail.userIdentity.arn', { arn: identity.arn });

    // Act
    const change = changeOf(
      normaliseEvent(fixture, {
        ownRoleArns: [identity.arn, identity.sessionContext?.sessionIssuer.arn as string],
      }),
    );

    // Assess
    expect(change.actor.arn).toBeUndefined();
    expect(change.actor.sessionIssuer).toBeUndefined();
    expect(change.problems).toHaveLength(2);
  });

  it('lists every problem of one event, each starting with its field path', () => {
    // Prepare
    const fixture = load('put-role-policy.json');
    setPath(fixture, 'detail.eventID', DELETE);
    setPath(fixture, 'detail.eventTime', DELETE);
    setPath(fixture, 'time', DELETE);
    setPath(fixture, 'detail.userIdentity', 3);
    setPath(fixture, 'detail.requestParameters.policyDocument', DELETE);
    const now = new Date('2025-04-01T12:00:00.000Z');

    // Act
    const change = changeOf(normaliseEvent(fixture, { ownRoleArns: [], now: () => now }));

    // Assess
    expect(change.problems?.map((problem) => problem.slice(0, problem.indexOf(':'))).sort()).toEqual([
      'detail.eventID',
      'detail.eventTime',
      'detail.requestParameters.policyDocument',
      'detail.userIdentity',
    ]);
    expect(change.eventTime).toBe(now.toISOString());
    expect(change.actor).toEqual({ type: 'Unknown' });
  });

  it('shortens the values it quotes, so junk cannot flood a message', () => {
    // Prepare
    const fixture = load('attach-role-policy.json');
    setPath(fixture, 'detail.requestParameters.roleName', `${'x'.repeat(10_000)} y`);
    setPath(fixture, 'detail.eventID', 'z'.repeat(10_000));

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.problems).toHaveLength(2);
    for (const problem of change.problems ?? []) expect(problem.length).toBeLessThan(250);
  });

  it('reports an account it cannot find, and says where it looked', () => {
    // Prepare
    const record = recordOf(load('put-user-policy-bare.json'));
    setPath(record, 'recipientAccountId', DELETE);
    setPath(record, 'userIdentity.accountId', DELETE);

    // Act
    const change = changeOf(normaliseEvent(record, NO_OWN_ROLES));

    // Assess
    expect(change.accountId).toBe('unknown');
    expect(change.problems).toEqual([
      'recipientAccountId: no account found (looked at recipientAccountId, userIdentity.accountId); shown as unknown',
    ]);
  });

  it('a stand-in id is the same for the same content, bare or wrapped, and differs for other content', () => {
    // Prepare
    const first = load('attach-role-policy.json');
    const again = load('attach-role-policy.json');
    const other = load('attach-role-policy.json');
    for (const fixture of [first, again, other]) setPath(fixture, 'detail.eventID', DELETE);
    setPath(other, 'detail.requestParameters.roleName', 'ci-runner-2');

    // Act
    const [a, b, c] = [first, again, other].map((f) => changeOf(normaliseEvent(f, NO_OWN_ROLES)).eventId);
    const bare = changeOf(normaliseEvent(recordOf(first), NO_OWN_ROLES)).eventId;

    // Assess
    expect(a).toMatch(/^evt-[0-9a-f]{32}$/);
    expect(b).toBe(a);
    expect(bare).toBe(a);
    expect(c).not.toBe(a);
  });

  it('an unreadable time with no envelope falls back to the injected clock', () => {
    // Prepare
    const record = recordOf(load('put-user-policy-bare.json'));
    setPath(record, 'eventTime', 1742004439);

    // Act
    const change = changeOf(
      normaliseEvent(record, { ownRoleArns: [], now: () => new Date('2025-03-15T02:07:20Z') }),
    );

    // Assess
    expect(change.eventTime).toBe('2025-03-15T02:07:20.000Z');
    expect(change.problems).toEqual([
      'eventTime: not a timestamp: number 1742004439; the time PolicyGate read the event is used',
    ]);
  });

  it('a Put*PermissionsBoundary without the boundary ARN still names the principal', () => {
    // Prepare
    const fixture = load('put-role-permissions-boundary.json');
    setPath(fixture, 'detail.requestParameters.permissionsBoundary', DELETE);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.target).toEqual({
      kind: 'permissions-boundary',
      principalType: 'role',
      principalName: 'orders-service',
    });
    expect(change.problems).toEqual([
      'detail.requestParameters.permissionsBoundary: missing; the boundary in force is read from IAM',
    ]);
  });
});

describe('normaliseEvent: junk', () => {
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

describe('normaliseEvent: names, paths and ARNs as wide as IAM allows', () => {
  it.each([
    'arn:aws:iam::123456789012:policy///x:y/Name',
    'arn:aws:iam::123456789012:policy/a//b/Name',
    'arn:aws:iam::123456789012:policy/!"#$%&\'()*+,-.:;<=>?@[\\]^_`{|}~/Name',
    'arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
    'arn:aws-iso-b:iam::123456789012:policy/A+=,.@_-z',
    'arn:aws-eusc:iam::123456789012:policy/p',
  ])('%s is attached without a problem, exactly as named', (policyArn) => {
    // Prepare
    const fixture = load('attach-role-policy.json');
    setPath(fixture, 'detail.requestParameters.policyArn', policyArn);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.problems).toBeUndefined();
    expect(change.target).toEqual({
      kind: 'attachment',
      principalType: 'role',
      principalName: 'ci-runner',
      policyArn,
    });
  });

  it("a policy's name is the part of its ARN after the last /", () => {
    // Prepare
    const fixture = load('set-default-policy-version.json');
    setPath(fixture, 'detail.requestParameters.policyArn', 'arn:aws:iam::111122223333:policy///x:y/Name');

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.target).toEqual({
      kind: 'managed-policy',
      policyArn: 'arn:aws:iam::111122223333:policy///x:y/Name',
      policyName: 'Name',
    });
  });

  it.each([
    { key: 'roleName', file: 'put-role-policy.json', name: 'r'.repeat(64) },
    { key: 'userName', file: 'put-user-policy-bare.json', name: 'u'.repeat(128) },
    { key: 'groupName', file: 'put-group-policy.json', name: 'g'.repeat(128) },
    { key: 'policyName', file: 'put-role-policy.json', name: `${'p'.repeat(121)}+=,.@_-` },
  ])('a $key of $name.length characters is within IAM grammar', ({ key, file, name }) => {
    // Prepare
    const fixture = load(file);
    setPath(
      fixture,
      isWrapped(fixture) ? `detail.requestParameters.${key}` : `requestParameters.${key}`,
      name,
    );

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.problems).toBeUndefined();
    expect(Object.values(change.target)).toContain(name);
  });

  it('a role name one longer than IAM allows is passed on, and reported', () => {
    // Prepare
    const fixture = load('put-role-policy.json');
    setPath(fixture, 'detail.requestParameters.roleName', 'r'.repeat(65));

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.target).toMatchObject({ principalName: 'r'.repeat(65) });
    expect(change.problems).toEqual([
      expect.stringMatching(/^detail\.requestParameters\.roleName: "r+" is not a valid IAM name \(1 to 64 /),
    ]);
  });

  it.each(['/a//b/', '///x:y/', '/!~/', `/${'p'.repeat(510)}/`])(
    'CreatePolicy without a response rebuilds the ARN for path %s as IAM does',
    (path) => {
      // Prepare
      const fixture = load('create-policy.json');
      setPath(fixture, 'detail.requestParameters.path', path);
      setPath(fixture, 'detail.responseElements', null);

      // Act
      const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

      // Assess
      expect(change.problems).toBeUndefined();
      expect(change.target).toEqual({
        kind: 'managed-policy',
        policyArn: `arn:aws:iam::111122223333:policy${path}DataLakeWriters`,
        policyName: 'DataLakeWriters',
      });
    },
  );

  it('CreatePolicy without a response or actor ARN takes the partition from the region', () => {
    // Prepare
    const fixture = load('put-user-permissions-boundary-govcloud.json');
    const record = recordOf(fixture);
    setPath(fixture, 'detail.eventName', 'CreatePolicy');
    setPath(fixture, 'detail.requestParameters', { policyName: 'Boundary', policyDocument: '{}' });
    setPath(fixture, 'detail.userIdentity', { type: 'Unknown' });

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.problems).toBeUndefined();
    expect(change.target).toMatchObject({
      policyArn: `arn:aws-us-gov:iam::${record.recipientAccountId}:policy/Boundary`,
    });
  });

  it('CreatePolicy with no partition to be had assumes aws, and says so', () => {
    // Prepare
    const fixture = load('create-policy.json');
    setPath(fixture, 'detail.responseElements', null);
    setPath(fixture, 'detail.userIdentity', { type: 'Unknown' });
    setPath(fixture, 'detail.awsRegion', 'mars-north-1');
    setPath(fixture, 'region', DELETE);

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.target).toMatchObject({
      policyArn: 'arn:aws:iam::111122223333:policy/data-platform/DataLakeWriters',
    });
    expect(change.problems).toEqual([
      'detail.responseElements.policy.arn: rebuilt with the assumed partition "aws"',
    ]);
  });
});

describe('normaliseEvent: sweep findings', () => {
  it('the sweep fixture is a change marked as found by the sweep', () => {
    // Prepare
    const fixture = load(SWEEP_FILE) as EventBridgeEvent;

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change).toEqual({
      eventId: fixture.detail.eventID,
      eventName: 'AttachRolePolicy',
      eventTime: fixture.detail.eventTime,
      accountId: fixture.account,
      region: 'us-east-1',
      actor: { type: 'Unknown' },
      userAgent: 'policy-gate.sweep',
      target: {
        kind: 'attachment',
        principalType: 'role',
        principalName: 'ci-runner',
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
      },
      origin: 'sweep',
    });
  });

  it('sweepFindingEvent builds exactly the fixture', () => {
    // Prepare
    const finding = {
      eventName: 'AttachRolePolicy' as const,
      requestParameters: { roleName: 'ci-runner', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      accountId: '111122223333',
      time: new Date('2025-03-29T04:00:00.250Z'),
      reason: 'attached to ci-runner, but no approved CloudTrail event was seen',
    };

    // Act
    const event = sweepFindingEvent(finding);

    // Assess
    expect(event).toEqual(load(SWEEP_FILE));
    expect(event['detail-type']).toBe(SWEEP_FINDING_DETAIL_TYPE);
  });

  it('the same finding gets the same id; another finding or time another', () => {
    // Prepare
    const base = {
      eventName: 'PutUserPolicy' as const,
      requestParameters: { userName: 'svc-reporting', policyName: 'maint' },
      accountId: '111122223333',
      time: new Date('2025-03-29T04:00:00Z'),
    };

    // Act
    const ids = [
      sweepFindingEvent(base),
      sweepFindingEvent({ ...base, requestParameters: { policyName: 'maint', userName: 'svc-reporting' } }),
      sweepFindingEvent({ ...base, requestParameters: { userName: 'svc-reporting', policyName: 'other' } }),
      sweepFindingEvent({ ...base, time: new Date('2025-03-29T05:00:00Z') }),
      sweepFindingEvent({ ...base, findingId: 'abcdef0123456789' }),
    ].map((event) => event.detail.eventID);

    // Assess
    expect(ids[0]).toMatch(/^sweep-[0-9a-f]{32}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(4);
    expect(ids[4]).toBe('sweep-abcdef0123456789');
  });

  it.each(
    POLICY_CHANGE_EVENT_NAMES.filter((name) =>
      CHANGE_CASES.some((c) => recordOf(load(c.file)).eventName === name),
    ),
  )('a %s finding built from its CloudTrail fixture names the same target, without problems', (eventName) => {
    // Prepare
    const file = CHANGE_CASES.find((c) => recordOf(load(c.file)).eventName === eventName)?.file as string;
    const record = recordOf(load(file));
    const fromCloudTrail = changeOf(normaliseEvent(load(file), NO_OWN_ROLES));
    const event = sweepFindingEvent({
      eventName: eventName as Parameters<typeof sweepFindingEvent>[0]['eventName'],
      requestParameters: record.requestParameters,
      responseElements: record.responseElements,
      accountId: record.recipientAccountId,
      region: record.awsRegion,
      time: new Date(record.eventTime),
    });

    // Act
    const change = changeOf(normaliseEvent(event, NO_OWN_ROLES));

    // Assess
    expect(change.origin).toBe('sweep');
    expect(change.problems).toBeUndefined();
    expect(change.target).toEqual(fromCloudTrail.target);
    expect(change.document).toBe(fromCloudTrail.document);
  });

  it('a sweep finding without a document or version id leaves both to IAM, without a problem', () => {
    // Prepare
    const event = sweepFindingEvent({
      eventName: 'SetDefaultPolicyVersion',
      requestParameters: { policyArn: 'arn:aws:iam::111122223333:policy/PlatformEngineers' },
      accountId: '111122223333',
      time: new Date('2025-03-29T04:00:00Z'),
    });

    // Act
    const change = changeOf(normaliseEvent(event, NO_OWN_ROLES));

    // Assess
    expect(change.versionId).toBeUndefined();
    expect(change.problems).toBeUndefined();
  });

  it('a sweep id is only trusted from the sweep: a CloudTrail event with one gets a stand-in', () => {
    // Prepare
    const fixture = load('attach-role-policy.json');
    setPath(fixture, 'detail.eventID', 'sweep-abcdef0123456789');

    // Act
    const change = changeOf(normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(change.eventId).toMatch(/^evt-/);
    expect(change.problems).toEqual([expect.stringMatching(/^detail\.eventID: not a CloudTrail event ID: /)]);
  });

  it('a sweep detail-type from another source is refused', () => {
    // Prepare
    const fixture = load(SWEEP_FILE);
    setPath(fixture, 'source', 'aws.iam');

    // Act
    const error = errorOf(() => normaliseEvent(fixture, NO_OWN_ROLES));

    // Assess
    expect(error.message).toBe(`source: "aws.iam" is not PolicyGate's sweep (expected "policy-gate.sweep")`);
    expect(error.identifiers).toMatchObject({
      eventName: 'AttachRolePolicy',
      'requestParameters.roleName': 'ci-runner',
    });
  });

  it.each([
    { name: 'an account that is not 12 digits', change: { accountId: '1234' } },
    { name: 'an invalid time', change: { time: new Date('soon') } },
    { name: 'a finding id that is not hex', change: { findingId: '../x' } },
  ])('sweepFindingEvent refuses $name at once', ({ change }) => {
    // Prepare
    const finding = {
      eventName: 'AttachRolePolicy' as const,
      requestParameters: { roleName: 'ci-runner', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      accountId: '111122223333',
      time: new Date('2025-03-29T04:00:00Z'),
      ...change,
    };

    // Act
    const error = thrownBy(() => sweepFindingEvent(finding));

    // Assess
    expect(error).toBeInstanceOf(PolicyGateError);
  });
});

describe('normaliseEvent: inputs that fight being read', () => {
  it('a throwing getter ends in EventNormalisationError, with what could be read', () => {
    // Prepare
    const record = recordOf(load('put-user-policy-bare.json'));
    Object.defineProperty(record.requestParameters, 'policyName', {
      enumerable: true,
      get() {
        throw new TypeError('boom');
      },
    });

    // Act
    const error = errorOf(() => normaliseEvent(record, NO_OWN_ROLES));

    // Assess
    expect(error.message).toMatch(/^event: could not be read \(TypeError: boom\)$/);
    expect(error.identifiers).toMatchObject({ eventName: 'PutUserPolicy', eventID: record.eventID });
  });

  it('a cyclic record without an eventID still gets a stable stand-in id', () => {
    // Prepare
    const record = recordOf(load('attach-role-policy.json')) as unknown as Record<string, unknown>;
    delete record.eventID;
    record.self = record;

    // Act
    const ids = [1, 2].map(() => changeOf(normaliseEvent(record, NO_OWN_ROLES)).eventId);

    // Assess
    expect(ids[0]).toMatch(/^evt-[0-9a-f]{32}$/);
    expect(ids[1]).toBe(ids[0]);
  });
});
