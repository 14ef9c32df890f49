/**
 * The attribution service and its CloudTrail adapter against the local CloudTrail stand-in's LookupEvents
 * (a real HTTP server speaking the SDK's JSON protocol): chains, the depth bound, events not searchable yet,
 * throttling, paging and look-alike events.
 */
import {
  CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandInput,
} from '@aws-sdk/client-cloudtrail';
import { type LocalCloudTrailServer, startCloudTrailServer } from '../../local/cloudtrail';
import { CloudTrailIssuingEventFinder } from '../../src/adapters/assume-role-finder';
import { NO_ATTRIBUTION_SETTINGS } from '../../src/domain/attribution';
import type { Actor, PolicyChange } from '../../src/domain/policy-change';
import { createLogger } from '../../src/logger';
import { AttributionService } from '../../src/services/attribution-service';

const ACCOUNT = '111122223333';
const T0 = Date.parse('2026-11-30T10:00:00Z');
const at = (seconds: number) => `${new Date(T0 + seconds * 1000).toISOString().slice(0, 19)}Z`;
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const sessionArn = (role: string, name: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`;

let counter = 0;
const key = () => `ASIA${String(++counter).padStart(16, '0')}`;

interface SessionSpec {
  role: string;
  name: string;
  key: string;
  issuedAt: number;
  /** The caller's userIdentity. */
  caller: Record<string, unknown>;
  sourceIdentity?: string;
}

function assumedIdentity(s: SessionSpec): Record<string, unknown> {
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLE:${s.name}`,
    arn: sessionArn(s.role, s.name),
    accountId: ACCOUNT,
    accessKeyId: s.key,
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: roleArn(s.role), userName: s.role, accountId: ACCOUNT },
      attributes: { creationDate: at(s.issuedAt), mfaAuthenticated: 'false' },
      ...(s.sourceIdentity && { sourceIdentity: s.sourceIdentity }),
    },
  };
}

function assumeRoleRecord(s: SessionSpec, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    userIdentity: s.caller,
    eventTime: at(s.issuedAt),
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    awsRegion: 'us-east-1',
    requestParameters: { roleArn: roleArn(s.role), roleSessionName: s.name },
    responseElements: {
      credentials: { accessKeyId: s.key, expiration: 'Nov 30, 2026, 11:00:00 AM' },
      assumedRoleUser: { assumedRoleId: `AROAEXAMPLE:${s.name}`, arn: sessionArn(s.role, s.name) },
    },
    eventID: `evt-${s.key}`,
    readOnly: true,
    resources: [{ accountId: ACCOUNT, type: 'AWS::IAM::Role', ARN: roleArn(s.role) }],
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
    ...overrides,
  };
}

const ALICE = {
  type: 'IAMUser',
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  userName: 'alice',
  accessKeyId: 'AKIAALICE',
};

function changeBy(actor: Actor, eventTime = at(600)): PolicyChange {
  return {
    eventId: 'change-1',
    eventName: 'PutRolePolicy',
    eventTime,
    accountId: ACCOUNT,
    region: 'us-east-1',
    actor,
    target: { kind: 'inline-policy', principalType: 'role', principalName: 'app', policyName: 'p' },
  };
}

/** The change's actor as the normaliser reads it from the session's identity. */
function actorOf(s: SessionSpec): Actor {
  return {
    type: 'AssumedRole',
    arn: sessionArn(s.role, s.name),
    sessionName: s.name,
    sessionIssuer: { type: 'Role', arn: roleArn(s.role), userName: s.role },
    accessKeyId: s.key,
    sessionCreatedAt: new Date(T0 + s.issuedAt * 1000).toISOString(),
    ...(s.sourceIdentity && { sourceIdentity: s.sourceIdentity }),
  };
}

describe('attribution through CloudTrail LookupEvents', () => {
  let trail: LocalCloudTrailServer;
  let client: CloudTrailClient;
  const logger = createLogger('test', () => {});
  const service = (options: { maxPages?: number; maxDepth?: number; maxRequests?: number } = {}) =>
    new AttributionService(
      new CloudTrailIssuingEventFinder(client, {
        minIntervalMs: 0,
        now: () => new Date(T0 + 3_600_000),
        ...(options.maxPages && { maxPages: options.maxPages }),
      }),
      NO_ATTRIBUTION_SETTINGS,
      logger,
      {
        ...(options.maxDepth && { maxDepth: options.maxDepth }),
        ...(options.maxRequests !== undefined && { maxRequests: options.maxRequests }),
      },
    );

  beforeAll(async () => {
    trail = await startCloudTrailServer({ accountId: ACCOUNT });
    client = new CloudTrailClient({
      region: 'us-east-1',
      endpoint: trail.endpoint,
      credentials: { accessKeyId: 'AKIDPOLICYGATE', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await trail.close();
  });
  beforeEach(() => trail.clearEvents());

  test('a spoofed session name on a plain role is attributed to whoever assumed it', async () => {
    // Prepare
    const s: SessionSpec = {
      role: 'ops-admin',
      name: 'ana@example.com',
      key: key(),
      issuedAt: 0,
      caller: ALICE,
    };
    trail.recordEvent(assumeRoleRecord(s));
    // Act
    const attribution = await service().attribute(changeBy(actorOf(s)));
    // Assess
    expect(attribution).toMatchObject({ method: 'assume-role-chain', person: 'alice', via: 'iam-user' });
    expect(attribution.chain).toEqual([
      {
        sessionArn: sessionArn('ops-admin', 'ana@example.com'),
        eventId: `evt-${s.key}`,
        calledBy: ALICE.arn,
      },
    ]);
  });

  test('a chain of roles is followed to the Identity Center session at its start', async () => {
    // Prepare
    const sso = 'aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123';
    const ssoIdentity = {
      type: 'AssumedRole',
      arn: sessionArn('AWSReservedSSO_Admin_0123', 'priya@example.com'),
      accessKeyId: key(),
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: roleArn(sso), userName: 'AWSReservedSSO_Admin_0123' },
      },
    };
    const first: SessionSpec = { role: 'hop-1', name: 'x', key: key(), issuedAt: 10, caller: ssoIdentity };
    const second: SessionSpec = {
      role: 'hop-2',
      name: 'y',
      key: key(),
      issuedAt: 20,
      caller: assumedIdentity(first),
    };
    trail.recordEvent(assumeRoleRecord(first));
    trail.recordEvent(assumeRoleRecord(second));
    // Act
    const attribution = await service().attribute(changeBy(actorOf(second)));
    // Assess
    expect(attribution).toMatchObject({
      method: 'assume-role-chain',
      person: 'priya@example.com',
      via: 'identity-center',
    });
    expect(attribution.chain?.map((l) => l.calledBy)).toEqual([sessionArn('hop-1', 'x'), ssoIdentity.arn]);
  });

  test('a source identity of the caller’s choosing does not stand in for whoever set it', async () => {
    // Prepare: Alice sets the source identity "bob" (a trust policy without the README's condition allows it).
    const s: SessionSpec = {
      role: 'ops-admin',
      name: 'deploy',
      key: key(),
      issuedAt: 0,
      caller: ALICE,
      sourceIdentity: 'bob',
    };
    trail.recordEvent(assumeRoleRecord(s));
    const chosen: SessionSpec = {
      ...s,
      key: key(),
      caller: { ...ALICE, userName: 'bob', arn: `arn:aws:iam::${ACCOUNT}:user/bob` },
    };
    trail.recordEvent(assumeRoleRecord(chosen));
    const unsearchable: SessionSpec = { ...s, key: key() };
    // Act
    const attribution = await service().attribute(changeBy(actorOf(s)));
    const honest = await service().attribute(changeBy(actorOf(chosen)));
    const unconfirmed = await service().attribute(changeBy(actorOf(unsearchable)));
    // Assess
    expect(attribution).toMatchObject({
      method: 'assume-role-chain',
      person: 'alice',
      sourceIdentity: 'bob',
    });
    expect(honest).toEqual({ method: 'source-identity', person: 'bob', via: 'source-identity' });
    expect(unconfirmed).toEqual({ method: 'source-identity', person: 'bob', via: 'source-identity' });
  });

  test('a chain longer than the bound is unattributed', async () => {
    // Prepare
    let caller: Record<string, unknown> = ALICE;
    let last: SessionSpec | undefined;
    for (let i = 0; i < 4; i++) {
      last = { role: `hop-${i}`, name: `s${i}`, key: key(), issuedAt: i * 10, caller };
      trail.recordEvent(assumeRoleRecord(last));
      caller = assumedIdentity(last);
    }
    const change = changeBy(actorOf(last as SessionSpec));
    // Act
    const bounded = await service({ maxDepth: 3 }).attribute(change);
    const enough = await service({ maxDepth: 4 }).attribute(change);
    // Assess
    expect(bounded).toMatchObject({ method: 'unattributed', reason: expect.stringMatching(/longer than 3/) });
    expect(bounded.person).toBeUndefined();
    expect(enough).toMatchObject({ method: 'assume-role-chain', person: 'alice' });
  });

  test('nothing found means unattributed, never someone else: look-alikes do not match', async () => {
    // Prepare: the same role and session name assumed by Sam with another key; a failed call; a forgery
    // naming the key but another session.
    const s: SessionSpec = { role: 'ops-admin', name: 'deploy', key: key(), issuedAt: 0, caller: ALICE };
    const sam = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/sam`, userName: 'sam' };
    trail.recordEvent(assumeRoleRecord({ ...s, key: key(), caller: sam }));
    trail.recordEvent(
      assumeRoleRecord({ ...s, caller: sam }, { errorCode: 'AccessDenied', eventID: 'failed' }),
    );
    trail.recordEvent(
      assumeRoleRecord(
        { ...s, caller: sam },
        {
          eventID: 'forged',
          responseElements: {
            credentials: { accessKeyId: s.key },
            assumedRoleUser: { arn: sessionArn('ops-admin', 'other') },
          },
        },
      ),
    );
    // Act
    const attribution = await service().attribute(changeBy(actorOf(s)));
    // Assess
    expect(attribution).toMatchObject({
      method: 'unattributed',
      reason: expect.stringMatching(/not .*searchable|searched/),
    });
    expect(attribution.person).toBeUndefined();
  });

  test('an AssumeRole not searchable yet leaves the change unattributed until it is', async () => {
    // Prepare
    const s: SessionSpec = { role: 'ops-admin', name: 'deploy', key: key(), issuedAt: 0, caller: ALICE };
    trail.recordEvent(assumeRoleRecord(s), { searchable: false });
    // Act
    const early = await service().attribute(changeBy(actorOf(s)));
    trail.makeSearchable();
    const later = await service().attribute(changeBy(actorOf(s)));
    // Assess
    expect(early).toMatchObject({ method: 'unattributed', reason: expect.stringMatching(/15 minutes/) });
    expect(later).toMatchObject({ method: 'assume-role-chain', person: 'alice' });
  });

  test('a throttled LookupEvents leaves the change unattributed', async () => {
    // Prepare
    const s: SessionSpec = { role: 'ops-admin', name: 'deploy', key: key(), issuedAt: 0, caller: ALICE };
    trail.recordEvent(assumeRoleRecord(s));
    trail.throttleNext(1);
    // Act
    const attribution = await service().attribute(changeBy(actorOf(s)));
    // Assess
    expect(attribution).toMatchObject({ method: 'unattributed', reason: expect.stringMatching(/throttled/) });
  });

  test('pages are read newest first, within a bound', async () => {
    // Prepare: 120 other AssumeRole calls after the one that matters (each a different session).
    const s: SessionSpec = { role: 'ops-admin', name: 'deploy', key: key(), issuedAt: 0, caller: ALICE };
    trail.recordEvent(assumeRoleRecord(s));
    for (let i = 0; i < 120; i++) {
      const other: SessionSpec = {
        role: 'svc',
        name: `n${i}`,
        key: key(),
        issuedAt: 1 + (i % 60),
        caller: ALICE,
      };
      trail.recordEvent(assumeRoleRecord(other));
    }
    const before = trail.lookupRequests();
    // Act
    const found = await service({ maxPages: 3 }).attribute(changeBy(actorOf(s)));
    const pages = trail.lookupRequests() - before;
    const bounded = await service({ maxPages: 2 }).attribute(changeBy(actorOf(s)));
    // Assess
    expect(found).toMatchObject({ method: 'assume-role-chain', person: 'alice' });
    expect(pages).toBe(3);
    expect(bounded).toMatchObject({
      method: 'unattributed',
      reason: expect.stringMatching(/100 events searched/),
    });
  });

  test('a shared request budget caps a whole chain', async () => {
    // Prepare
    const s: SessionSpec = { role: 'ops-admin', name: 'deploy', key: key(), issuedAt: 0, caller: ALICE };
    trail.recordEvent(assumeRoleRecord(s));
    // Act
    const attribution = await service({ maxRequests: 0 }).attribute(changeBy(actorOf(s)));
    // Assess
    expect(attribution).toMatchObject({ method: 'unattributed', reason: expect.stringMatching(/budget/) });
  });

  test('the stand-in’s AccessKeyId lookup matches the key that signed an event, not the key it issued', async () => {
    // Prepare
    const s: SessionSpec = { role: 'ops-admin', name: 'deploy', key: key(), issuedAt: 0, caller: ALICE };
    trail.recordEvent(assumeRoleRecord(s));
    const lookup = (value: string) =>
      client.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: value }],
        }),
      );
    // Act
    const byIssued = await lookup(s.key);
    const bySigner = await lookup('AKIAALICE');
    // Assess
    expect(byIssued.Events).toEqual([]);
    expect(bySigner.Events?.map((e) => e.EventId)).toEqual([`evt-${s.key}`]);
  });

  test('LookupEvents refuses two attributes, more than 50 results and a token of another query', async () => {
    // Prepare
    const send = (input: LookupEventsCommandInput) => client.send(new LookupEventsCommand(input));
    for (let i = 0; i < 3; i++) {
      trail.recordEvent(
        assumeRoleRecord({ role: 'r', name: `n${i}`, key: key(), issuedAt: i, caller: ALICE }),
      );
    }
    const first = await send({ MaxResults: 2 });
    // Act / Assess
    await expect(
      send({
        LookupAttributes: [
          { AttributeKey: 'EventName', AttributeValue: 'AssumeRole' },
          { AttributeKey: 'Username', AttributeValue: 'alice' },
        ],
      }),
    ).rejects.toMatchObject({ name: 'InvalidLookupAttributesException' });
    await expect(send({ MaxResults: 51 })).rejects.toMatchObject({ name: 'InvalidMaxResultsException' });
    await expect(
      send({
        NextToken: first.NextToken,
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'X' }],
      }),
    ).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
    const second = await send({ MaxResults: 2, NextToken: first.NextToken });
    const times = [...(first.Events ?? []), ...(second.Events ?? [])].map((e) => e.EventTime?.getTime() ?? 0);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(times).toHaveLength(3);
    expect(second.NextToken).toBeUndefined();
  });
});
