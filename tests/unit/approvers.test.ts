import { actorIdentities, checkSelfApproval, parseIdentityMap } from '../../src/domain/approvers';
import type { Actor } from '../../src/domain/policy-change';

const IAM_USER: Actor = { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/jdoe', userName: 'jdoe' };
const SSO_SESSION: Actor = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/Priya.Raman@example.com',
  sessionName: 'Priya.Raman@example.com',
  userName: 'AWSReservedSSO_Admin_0123',
  sessionIssuer: {
    type: 'Role',
    arn: 'arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123',
    userName: 'AWSReservedSSO_Admin_0123',
  },
};
const FEDERATED: Actor = { type: 'FederatedUser', arn: 'arn:aws:sts::111122223333:federated-user/bob' };
const ROOT: Actor = { type: 'Root', arn: 'arn:aws:iam::111122223333:root' };
const NO_MAP = parseIdentityMap(undefined).map;

describe('actorIdentities', () => {
  test.each([
    ['an IAM user', IAM_USER, ['jdoe']],
    ['an SSO role session (never the role name)', SSO_SESSION, ['Priya.Raman@example.com']],
    ['a federated user', FEDERATED, ['bob']],
    ['the root user', ROOT, []],
  ])('names the person behind %s', (_label, actor, expected) => {
    expect(actorIdentities(actor)).toEqual(expected);
  });
});

describe('checkSelfApproval', () => {
  test.each([
    ['the IAM user name is the e-mail local part', IAM_USER, 'jdoe@corp.example'],
    ['the session name is the e-mail, in another case', SSO_SESSION, 'priya.raman@example.com'],
    [
      'the session name matches with a +tag and another domain',
      SSO_SESSION,
      'priya.raman+slack@corp.example',
    ],
    ['the federated user name is the local part', FEDERATED, 'Bob@corp.example'],
  ])('refuses when %s', (_label, actor, email) => {
    // Act
    const check = checkSelfApproval(actor, { id: 'U0CLICKER', name: 'Clicker', email }, NO_MAP);
    // Assess
    expect(check.verdict).toBe('same-person');
    expect(check).toHaveProperty('reason', expect.stringContaining(email));
  });

  test('lets a different person approve', () => {
    // Act
    const check = checkSelfApproval(
      IAM_USER,
      { id: 'U0OTHER', name: 'Other', email: 'ana@corp.example' },
      NO_MAP,
    );
    // Assess
    expect(check).toEqual({ verdict: 'different-person' });
  });

  test('the mapping catches what names cannot: IAM user jdoe is Slack user U0JANE', () => {
    // Prepare
    const { map, problems } = parseIdentityMap('{"JDOE": "U0JANE"}');
    // Act
    const check = checkSelfApproval(
      IAM_USER,
      { id: 'U0JANE', name: 'Jane', email: 'jane@corp.example' },
      map,
    );
    // Assess
    expect(problems).toEqual([]);
    expect(check.verdict).toBe('same-person');
  });

  test('the mapping by ARN to an e-mail matches the clicker’s verified e-mail', () => {
    // Prepare
    const { map } = parseIdentityMap(JSON.stringify({ [IAM_USER.arn as string]: ['Jane.Doe@corp.example'] }));
    // Act
    const check = checkSelfApproval(
      IAM_USER,
      { id: 'U0JANE', name: 'Jane', email: 'jane.doe@corp.example' },
      map,
    );
    // Assess
    expect(check.verdict).toBe('same-person');
  });

  test('without an e-mail and without a mapping the answer is unknown (refused by the caller)', () => {
    // Act
    const check = checkSelfApproval(IAM_USER, { id: 'U0NOMAIL', name: 'No Mail' }, NO_MAP);
    // Assess
    expect(check.verdict).toBe('unknown');
    expect(check).toHaveProperty('reason', expect.stringContaining('jdoe'));
  });

  test('without an e-mail, a mapping naming someone else settles it', () => {
    // Prepare
    const { map } = parseIdentityMap('{"jdoe": "U0JANE"}');
    // Act
    const check = checkSelfApproval(IAM_USER, { id: 'U0NOMAIL', name: 'No Mail' }, map);
    // Assess
    expect(check).toEqual({ verdict: 'different-person' });
  });

  test('a change by the root user names no person, so any approver may decide', () => {
    expect(checkSelfApproval(ROOT, { id: 'U0NOMAIL', name: 'No Mail' }, NO_MAP)).toEqual({
      verdict: 'different-person',
    });
  });

  test('a change whose actor is unknown (unreadable event, found by the sweep) can be approved by nobody', () => {
    // Act
    const check = checkSelfApproval(
      { type: 'Unknown' },
      { id: 'U0ANA', name: 'Ana', email: 'ana@example.com' },
      NO_MAP,
    );
    // Assess
    expect(check.verdict).toBe('unknown');
    expect(check).toHaveProperty('reason', expect.stringMatching(/who made this change is unknown/));
  });
});

describe('parseIdentityMap', () => {
  test.each([
    ['not JSON', '{jdoe: U1}', /JSON object/],
    ['an array', '["U0JANE"]', /JSON object/],
    ['a value that is neither id nor e-mail', '{"jdoe": "jane"}', /neither a Slack user id nor an e-mail/],
    ['a non-string value', '{"jdoe": 42}', /neither/],
  ])('reports %s', (_label, text, problem) => {
    // Act
    const { problems } = parseIdentityMap(text);
    // Assess
    expect(problems).toEqual([expect.stringMatching(problem)]);
  });

  test('accepts one value or a list per identity, keys without case', () => {
    // Act
    const { map, problems } = parseIdentityMap(
      '{"JDoe": ["U0JANE", "Jane@Corp.example"], "ops-bot": "W0OPS"}',
    );
    // Assess
    expect(problems).toEqual([]);
    expect(map.get('jdoe')).toEqual(['U0JANE', 'jane@corp.example']);
    expect(map.get('ops-bot')).toEqual(['W0OPS']);
  });
});
