import { checkSelfApproval, parseIdentityMap } from '../../src/domain/approvers';
import {
  type AttributionSettings,
  attributeDirectly,
  attributeFromEvent,
  describeAttribution,
  isIdentityCenterRole,
  NO_ATTRIBUTION_SETTINGS,
} from '../../src/domain/attribution';
import { normaliseEvent, parseUserIdentity } from '../../src/domain/cloudtrail';
import type { Actor } from '../../src/domain/policy-change';

const ACCOUNT = '111122223333';
const SSO_ROLE = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd`;
const SSO_ROLE_EU = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd`;
const OPS_ROLE = `arn:aws:iam::${ACCOUNT}:role/ops-admin`;

function session(roleArn: string, sessionName: string, extra: Partial<Actor> = {}): Actor {
  const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  return {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${sessionName}`,
    sessionName,
    sessionIssuer: { type: 'Role', arn: roleArn, userName: roleName },
    accessKeyId: 'ASIAQRSTUVWXEXAMPLE1',
    sessionCreatedAt: '2026-11-30T10:00:00.000Z',
    ...extra,
  };
}

describe('isIdentityCenterRole', () => {
  test.each([
    [SSO_ROLE, true],
    [SSO_ROLE_EU, true],
    // Same name without the reserved path: anyone with iam:CreateRole can make one.
    [`arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_Admin_0123abcd`, false],
    [`arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/Admin`, false],
    [`arn:aws:iam::${ACCOUNT}:role/x/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1`, false],
    [`arn:aws:iam::${ACCOUNT}:user/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1`, false],
    [OPS_ROLE, false],
  ])('%s → %s', (arn, expected) => {
    expect(isIdentityCenterRole(arn)).toBe(expected);
  });
});

describe('attributeDirectly', () => {
  const declared: AttributionSettings = {
    serviceRoles: new Map([[`arn:aws:iam::${ACCOUNT}:role/ci`, 'CI']]),
    personSessionRoles: new Map([[`arn:aws:iam::${ACCOUNT}:role/okta-admin`, 'Okta sets the e-mail']]),
  };

  test('an IAM user is the person', () => {
    const actor: Actor = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/jdoe`, userName: 'jdoe' };
    expect(attributeDirectly(actor, NO_ATTRIBUTION_SETTINGS)).toEqual({
      kind: 'person',
      attribution: { method: 'iam-user', person: 'jdoe', via: 'iam-user' },
    });
  });

  test('a source identity names the person, whatever the session is called', () => {
    const actor = session(OPS_ROLE, 'ana@example.com', { sourceIdentity: 'priya' });
    expect(attributeDirectly(actor, NO_ATTRIBUTION_SETTINGS)).toMatchObject({
      kind: 'person',
      attribution: { method: 'source-identity', person: 'priya' },
    });
  });

  test.each([SSO_ROLE, SSO_ROLE_EU])('an Identity Center session is its user (%s)', (role) => {
    expect(attributeDirectly(session(role, 'priya@example.com'), NO_ATTRIBUTION_SETTINGS)).toMatchObject({
      kind: 'person',
      attribution: { method: 'identity-center', person: 'priya@example.com' },
    });
  });

  test('a declared person-session role is its session name', () => {
    const actor = session(`arn:aws:iam::${ACCOUNT}:role/okta-admin`, 'priya@example.com');
    expect(attributeDirectly(actor, declared)).toMatchObject({
      kind: 'person',
      attribution: { method: 'person-session', person: 'priya@example.com' },
    });
  });

  test('a session name on any other role is spoofable: it is followed through the trail instead', () => {
    const actor = session(OPS_ROLE, 'priya@example.com');
    expect(attributeDirectly(actor, NO_ATTRIBUTION_SETTINGS)).toEqual({
      kind: 'follow',
      accessKeyId: 'ASIAQRSTUVWXEXAMPLE1',
      sessionArn: actor.arn,
      roleArn: OPS_ROLE,
      issuedAt: '2026-11-30T10:00:00.000Z',
    });
  });

  test('a session name that looks like a source identity is only a session name', () => {
    const actor = session(OPS_ROLE, 'sourceIdentity=priya');
    expect(attributeDirectly(actor, NO_ATTRIBUTION_SETTINGS).kind).toBe('follow');
  });

  test('a session without an access key cannot be followed', () => {
    const { accessKeyId: _key, ...actor } = session(OPS_ROLE, 'deploy');
    const result = attributeDirectly(actor, NO_ATTRIBUTION_SETTINGS);
    expect(result).toMatchObject({ kind: 'unattributed', reason: expect.stringMatching(/no access key/) });
  });

  test.each<[string, Actor]>([
    ['root', { type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root` }],
    ['a federated user', { type: 'FederatedUser', arn: `arn:aws:sts::${ACCOUNT}:federated-user/bob` }],
    ['an AWS service', { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' }],
    ['an unreadable actor', { type: 'Unknown' }],
    ['an IAM user without a name', { type: 'IAMUser' }],
    ['a session without an issuer', { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/r/s` }],
  ])('%s is no person', (_label, actor) => {
    expect(attributeDirectly(actor, NO_ATTRIBUTION_SETTINGS).kind).toBe('unattributed');
  });

  test('from the event alone, a declared service identity needs no person; other sessions are unattributed', () => {
    expect(attributeFromEvent(session(`arn:aws:iam::${ACCOUNT}:role/ci`, 'b-1'), declared)).toMatchObject({
      method: 'service-identity',
      serviceRole: `arn:aws:iam::${ACCOUNT}:role/ci`,
      serviceNote: 'CI',
    });
    expect(attributeFromEvent(session(OPS_ROLE, 'b-1'), declared).method).toBe('unattributed');
  });
});

describe('reading the source identity from CloudTrail', () => {
  const identity = (extra: Record<string, unknown>) => ({
    type: 'AssumedRole',
    principalId: 'AROAEXAMPLE:deploy',
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ops-admin/deploy`,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAEXAMPLE',
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: OPS_ROLE, userName: 'ops-admin' },
      attributes: { creationDate: '2026-11-30T10:00:00Z', mfaAuthenticated: 'false' },
      ...extra,
    },
  });

  test('sessionContext.sourceIdentity and the creation date are read', () => {
    const actor = parseUserIdentity(identity({ sourceIdentity: 'priya@example.com' }));
    expect(actor.sourceIdentity).toBe('priya@example.com');
    expect(actor.sessionCreatedAt).toBe('2026-11-30T10:00:00.000Z');
  });

  test.each([['aws:internal'], [''], [42], ['has space'], ['x'.repeat(65)]])(
    'an invalid source identity %p is dropped, and the event says so',
    (value) => {
      const event = {
        eventSource: 'iam.amazonaws.com',
        eventName: 'PutRolePolicy',
        eventID: '0c3c5bb4-2a52-4f1b-9a3b-000000000001',
        eventTime: '2026-11-30T10:05:00Z',
        awsRegion: 'us-east-1',
        recipientAccountId: ACCOUNT,
        userIdentity: identity({ sourceIdentity: value }),
        requestParameters: { roleName: 'app', policyName: 'p', policyDocument: '{}' },
      };
      const normalised = normaliseEvent(event, { ownRoleArns: [] });
      if (normalised.kind !== 'change') throw new Error('expected a change');
      expect(normalised.change.actor.sourceIdentity).toBeUndefined();
      expect(normalised.change.problems?.join(' ')).toMatch(/sourceIdentity/);
    },
  );
});

describe('the self-approval check with an attribution', () => {
  const map = parseIdentityMap(undefined).map;
  const spoofed = session(OPS_ROLE, 'deploy-bot');

  test('the attributed person is compared with the decider, not only the session name', () => {
    const decider = { id: 'U0ALICE', name: 'alice', email: 'alice@example.com' };
    expect(checkSelfApproval(spoofed, decider, map).verdict).toBe('different-person');
    const verdict = checkSelfApproval(spoofed, decider, map, {
      method: 'assume-role-chain',
      person: 'alice',
      via: 'iam-user',
      chain: [
        { sessionArn: spoofed.arn as string, eventId: 'e1', calledBy: `arn:aws:iam::${ACCOUNT}:user/alice` },
      ],
    });
    expect(verdict.verdict).toBe('same-person');
  });

  test('the actor’s own names still count when the attribution names someone else (never weaker)', () => {
    const decider = { id: 'U0ANA', name: 'ana', email: 'ana@example.com' };
    const actor = session(OPS_ROLE, 'ana@example.com', { sourceIdentity: 'priya' });
    const verdict = checkSelfApproval(actor, decider, map, { method: 'source-identity', person: 'priya' });
    expect(verdict.verdict).toBe('same-person');
  });

  test('an identity-map entry for a chain caller’s ARN refuses the person it maps to', () => {
    const mapped = parseIdentityMap(JSON.stringify({ [`arn:aws:iam::${ACCOUNT}:user/jdoe`]: 'U0JANE' })).map;
    const decider = { id: 'U0JANE', name: 'jane' };
    const verdict = checkSelfApproval(spoofed, decider, mapped, {
      method: 'assume-role-chain',
      person: 'jdoe',
      via: 'iam-user',
      chain: [
        { sessionArn: spoofed.arn as string, eventId: 'e1', calledBy: `arn:aws:iam::${ACCOUNT}:user/jdoe` },
      ],
    });
    expect(verdict.verdict).toBe('same-person');
  });
});

describe('describeAttribution', () => {
  test.each([
    [{ method: 'iam-user', person: 'jdoe' }, /jdoe \(IAM user\)/],
    [{ method: 'source-identity', person: 'priya' }, /source identity/],
    [{ method: 'identity-center', person: 'p@x.io' }, /Identity Center/],
    [
      {
        method: 'assume-role-chain',
        person: 'jdoe',
        via: 'iam-user',
        chain: [{ sessionArn: 's', eventId: 'e', calledBy: 'c' }],
      },
      /jdoe \(IAM user\), found through 1 AssumeRole event$/,
    ],
    [{ method: 'service-identity', serviceRole: 'arn:r', serviceNote: 'CI' }, /service identity arn:r .*CI/],
    [{ method: 'unattributed', reason: 'because' }, /unattributed \(because\)/],
  ] as const)('%p', (attribution, expected) => {
    expect(describeAttribution(attribution)).toMatch(expected);
  });
});
