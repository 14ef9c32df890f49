import { parsePolicyDocument } from '../../src/domain/policy-document';
import { PolicyParseError } from '../../src/errors';

const simple = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'A', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }],
};

describe('parsePolicyDocument', () => {
  test.each([
    ['an object', simple],
    ['a JSON string', JSON.stringify(simple)],
    ['a JSON string with surrounding white space', `\n  ${JSON.stringify(simple, null, 2)}  \n`],
    ['a URL-encoded JSON string', encodeURIComponent(JSON.stringify(simple))],
    ['a URL-encoded pretty JSON string', encodeURIComponent(JSON.stringify(simple, null, 4))],
  ])('accepts %s', (_label, input) => {
    // Act
    const document = parsePolicyDocument(input);
    // Assess
    expect(document.version).toBe('2012-10-17');
    expect(document.statements).toEqual([
      { index: 0, sid: 'A', effect: 'Allow', action: ['s3:GetObject'], resource: ['arn:aws:s3:::b/*'] },
    ]);
  });

  test('Statement may be a single object, and every element may be a string or a list', () => {
    // Prepare
    const input = {
      Statement: {
        Effect: 'Deny',
        NotAction: ['iam:*', 'sts:*'],
        NotResource: 'arn:aws:iam::123456789012:role/x',
        Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
      },
    };
    // Act
    const [statement] = parsePolicyDocument(input).statements;
    // Assess
    expect(statement).toEqual({
      index: 0,
      effect: 'Deny',
      notAction: ['iam:*', 'sts:*'],
      notResource: ['arn:aws:iam::123456789012:role/x'],
      condition: { Bool: { 'aws:MultiFactorAuthPresent': 'false' } },
    });
  });

  test('an empty Condition block is no condition', () => {
    const [statement] = parsePolicyDocument({
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: {} }],
    }).statements;
    expect(statement?.condition).toBeUndefined();
  });

  test('statement indexes follow the list', () => {
    const document = parsePolicyDocument({
      Statement: [
        { Effect: 'Allow', Action: 'a:b', Resource: '*' },
        { Effect: 'Deny', Action: 'c:d', Resource: '*' },
      ],
    });
    expect(document.statements.map((s) => [s.index, s.effect])).toEqual([
      [0, 'Allow'],
      [1, 'Deny'],
    ]);
  });

  const allow = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
  test.each([
    ['not JSON', '{"Statement": [', '', /not valid JSON/],
    ['an empty string', '   ', '', /empty/],
    ['a bad URL encoding', '%7B%ZZ', '', /URL-encoded|not valid JSON/],
    ['a JSON array', '[1,2]', '', /must be a JSON object, got a list/],
    ['a JSON number', '42', '', /must be a JSON object/],
    ['null', null, '', /got null/],
    ['no Statement', { Version: '2012-10-17' }, 'Statement', /missing/],
    [
      'an unknown top-level element',
      { Statement: [allow], Statment: [] },
      'Statment',
      /unknown policy element/,
    ],
    ['Statement a string', { Statement: 'Allow everything' }, 'Statement', /expected a statement object/],
    [
      'a statement that is a number',
      { Statement: [allow, 7] },
      'Statement[1]',
      /expected a statement object/,
    ],
    ['a missing Effect', { Statement: [{ Action: 'a:b', Resource: '*' }] }, 'Statement[0].Effect', /missing/],
    [
      'a bad Effect',
      { Statement: [allow, { ...allow, Effect: 'allow' }] },
      'Statement[1].Effect',
      /"Allow" or "Deny"/,
    ],
    [
      'neither Action nor NotAction',
      { Statement: [{ Effect: 'Allow', Resource: '*' }] },
      'Statement[0]',
      /either Action or NotAction/,
    ],
    [
      'both Action and NotAction',
      { Statement: [{ ...allow, NotAction: 'x:y' }] },
      'Statement[0]',
      /both Action and NotAction/,
    ],
    [
      'both Resource and NotResource',
      { Statement: [{ ...allow, NotResource: 'x' }] },
      'Statement[0]',
      /both Resource and NotResource/,
    ],
    [
      'a non-string action',
      { Statement: [{ ...allow, Action: ['s3:GetObject', 5] }] },
      'Statement[0].Action[1]',
      /expected a string, got number 5/,
    ],
    [
      'an object action',
      { Statement: [{ ...allow, Action: { s3: '*' } }] },
      'Statement[0].Action',
      /expected a string or a list/,
    ],
    [
      'a non-string NotAction',
      { Statement: [{ Effect: 'Allow', NotAction: [null], Resource: '*' }] },
      'Statement[0].NotAction[0]',
      /got null/,
    ],
    [
      'a non-string resource',
      { Statement: [{ ...allow, Resource: [true] }] },
      'Statement[0].Resource[0]',
      /expected a string/,
    ],
    [
      'a list Condition',
      { Statement: [{ ...allow, Condition: [] }] },
      'Statement[0].Condition',
      /expected an object/,
    ],
    ['a numeric Sid', { Statement: [{ ...allow, Sid: 1 }] }, 'Statement[0].Sid', /expected a string/],
    [
      'an unknown statement element',
      { Statement: [{ ...allow, Actions: 'x' }] },
      'Statement[0].Actions',
      /unknown statement element/,
    ],
  ])('rejects %s with a typed error saying where', (_label, input, path, message) => {
    // Act
    let caught: unknown;
    try {
      parsePolicyDocument(input);
    } catch (error) {
      caught = error;
    }
    // Assess
    expect(caught).toBeInstanceOf(PolicyParseError);
    expect((caught as PolicyParseError).path).toBe(path);
    expect((caught as PolicyParseError).message).toMatch(message);
    if (path) expect((caught as PolicyParseError).message.startsWith(`${path}: `)).toBe(true);
  });
});
