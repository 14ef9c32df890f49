import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStrictJson } from '../../src/domain/json-strict';
import { type ParsePolicyOptions, parsePolicyDocument } from '../../src/domain/policy-document';
import { PolicyParseError } from '../../src/errors';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'policies', name), 'utf8');

const simple = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'A', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }],
};
const allow = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
const withStatement = (statement: Record<string, unknown>) => ({ Statement: [{ ...allow, ...statement }] });
const textWith = (statement: string) => `{"Version":"2012-10-17","Statement":[${statement}]}`;

/** Runs the parser and returns what it threw (failing the test when it did not throw). */
function rejection(input: unknown, options?: ParsePolicyOptions): PolicyParseError {
  let caught: unknown;
  try {
    parsePolicyDocument(input, options);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PolicyParseError);
  return caught as PolicyParseError;
}

describe('parsePolicyDocument', () => {
  test.each([
    ['an object', simple],
    ['a JSON string', JSON.stringify(simple)],
    ['a JSON string with surrounding white space', `\n  ${JSON.stringify(simple, null, 2)}  \n`],
    ['a JSON string with tabs and CRLF line ends', JSON.stringify(simple, null, '\t').replace(/\n/g, '\r\n')],
    ['a URL-encoded JSON string', encodeURIComponent(JSON.stringify(simple))],
    ['a URL-encoded pretty JSON string', encodeURIComponent(JSON.stringify(simple, null, 4))],
    [
      'a URL-encoded JSON string with a trailing line feed',
      `${encodeURIComponent(JSON.stringify(simple))}\n`,
    ],
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

  test('a raw JSON document holding "%" is read as written, never URL-decoded', () => {
    // Prepare
    const text = textWith('{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/100%25/%"}');
    // Act
    const [statement] = parsePolicyDocument(text).statements;
    // Assess
    expect(statement?.resource).toEqual(['arn:aws:s3:::b/100%25/%']);
  });

  test.each([
    ['not JSON', '{"Statement": [', '', /not valid JSON \(unexpected end of input\)/],
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
    ['a padded Effect', withStatement({ Effect: 'Allow ' }), 'Statement[0].Effect', /"Allow" or "Deny"/],
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
    [
      'an element name in another case',
      { Statement: [{ ...allow, action: '*' }] },
      'Statement[0].action',
      /unknown statement element/,
    ],
  ])('rejects %s with a typed error saying where', (_label, input, path, message) => {
    // Act
    const error = rejection(input);
    // Assess
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
    if (path) expect(error.message.startsWith(`${path}: `)).toBe(true);
  });
});

describe('duplicate keys make a document unanalysable', () => {
  test.each([
    [
      'Effect (the "Deny, then Allow" trick)',
      textWith('{"Effect":"Deny","Action":"*","Resource":"*","Effect":"Allow"}'),
      'Statement[0].Effect',
    ],
    [
      'Effect spelled with an escape',
      textWith('{"Effect":"Deny","Action":"*","Resource":"*","\\u0045ffect":"Allow"}'),
      'Statement[0].Effect',
    ],
    [
      'Action',
      textWith('{"Effect":"Allow","Action":"s3:GetObject","Action":"iam:*","Resource":"*"}'),
      'Statement[0].Action',
    ],
    [
      'Resource',
      textWith('{"Effect":"Deny","Action":"*","Resource":"*","Resource":"arn:aws:s3:::x"}'),
      'Statement[0].Resource',
    ],
    [
      'Statement',
      '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}],"Statement":[]}',
      'Statement',
    ],
    ['Version', '{"Version":"2008-10-17","Version":"2012-10-17","Statement":[]}', 'Version'],
    [
      'Condition',
      textWith(
        '{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}},"Condition":{}}',
      ),
      'Statement[0].Condition',
    ],
    [
      'a condition operator',
      textWith(
        '{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"a"},"StringEquals":{"aws:username":"b"}}}',
      ),
      'Statement[0].Condition.StringEquals',
    ],
    [
      'a condition key',
      textWith(
        '{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"a","aws:username":"b"}}}',
      ),
      'Statement[0].Condition.StringEquals.aws:username',
    ],
    ['a key of an element PolicyGate does not otherwise read', '{"Id":"x","Statement":[],"Id":"y"}', 'Id'],
  ])('%s', (_label, text, path) => {
    // Act
    const error = rejection(text);
    // Assess
    expect(error.path).toBe(path);
    expect(error.message).toMatch(/duplicate key/);
  });

  test('a duplicate in a trust policy principal is refused too', () => {
    // Prepare
    const text = textWith(
      '{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root","AWS":"*"},"Action":"sts:AssumeRole"}',
    );
    // Act
    const error = rejection(text, { kind: 'trust' });
    // Assess
    expect(error.path).toBe('Statement[0].Principal.AWS');
  });

  test.each([
    ['a duplicate Effect', 'duplicate-effect.txt', 'Statement[0].Effect'],
    ['a duplicate Statement', 'duplicate-statement.txt', 'Statement'],
  ])('the fixture with %s is refused, also URL-encoded', (_label, name, path) => {
    // Prepare
    const text = fixture(name);
    // Act
    const errors = [rejection(text), rejection(encodeURIComponent(text))];
    // Assess
    expect(errors.map((e) => e.path)).toEqual([path, path]);
  });

  test('keys differing only in case are distinct JSON keys, refused as unknown elements', () => {
    const error = rejection(
      textWith('{"Effect":"Allow","Action":"s3:GetObject","action":"*","Resource":"*"}'),
    );
    expect(error.path).toBe('Statement[0].action');
  });
});

describe('__proto__ and constructor keys are plain data', () => {
  test('they stay own keys of the condition and never reach a prototype', () => {
    // Prepare
    const text = textWith(
      '{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"__proto__":{"constructor":"x"},"constructor":{"prototype":"y"}}}',
    );
    // Act
    const [statement] = parsePolicyDocument(text).statements;
    // Assess
    const condition = statement?.condition as Record<string, unknown>;
    expect(Object.keys(condition)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(condition)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(condition, '__proto__')?.value).toEqual({ constructor: 'x' });
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });

  test('a top-level __proto__ is an unknown element, not a prototype', () => {
    const error = rejection('{"__proto__":{"Statement":[]},"Statement":[]}');
    expect(error.path).toBe('__proto__');
    expect(error.message).toMatch(/unknown policy element/);
  });
});

describe('only strict JSON is read', () => {
  test.each([
    ['a byte order mark', '\uFEFF{"Statement":[]}', /byte order mark/],
    ['a no-break space before the document', '\u00A0{"Statement":[]}', /U\+00A0 .*JSON white space/],
    ['a line separator between tokens', '{"Statement":\u2028[]}', /U\+2028/],
    ['a form feed between tokens', '{"Statement":\f[]}', /U\+000C/],
    ['a vertical tab after the document', '{"Statement":[]}\v', /U\+000B/],
    [
      'a raw tab inside a string',
      textWith('{"Effect":"Allow","Action":"s3:Get\tObject","Resource":"*"}'),
      /U\+0009/,
    ],
    ['a raw line feed inside a string', '{"Id":"a\nb","Statement":[]}', /U\+000A in a string at line 1/],
    ['a trailing comma', '{"Statement":[],}', /not valid JSON/],
    ['a comment', '{"Statement":[] // none\n}', /not valid JSON/],
    ['single quotes', "{'Statement':[]}", /not valid JSON/],
    ['an unquoted key', '{Statement:[]}', /not valid JSON/],
    ['NaN', '{"Statement":[],"Id":NaN}', /not valid JSON/],
    ['a hexadecimal number', '{"Statement":[],"Id":0x10}', /not valid JSON/],
    ['two documents', '{"Statement":[]}{"Statement":[]}', /not valid JSON/],
  ])('rejects %s', (_label, text, message) => {
    // Act
    const error = rejection(text);
    // Assess
    expect(error.message).toMatch(message);
  });

  test('the byte order mark fixture is refused', () => {
    expect(rejection(fixture('byte-order-mark.txt')).message).toMatch(/byte order mark/);
  });

  test.each([
    ['an escaped lone high surrogate', '"\\ud800"'],
    ['an escaped lone low surrogate', '"x\\udc00y"'],
    ['a raw lone surrogate', '"\ud800"'],
  ])('rejects %s in a condition value', (_label, value) => {
    // Prepare
    const text = textWith(
      `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":${value}}}}`,
    );
    // Act
    const error = rejection(text);
    // Assess
    expect(error.path).toBe('Statement[0].Condition.StringEquals.aws:username');
    expect(error.message).toMatch(/unpaired UTF-16 surrogate/);
  });

  test.each([
    ['an escaped lone high surrogate', '"\\ud800"'],
    ['a raw lone surrogate', '"\ud800"'],
  ])('rejects %s in a list of condition values', (_label, value) => {
    // Prepare
    const text = textWith(
      `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":["x",${value}]}}}`,
    );
    // Act
    const error = rejection(text);
    // Assess
    expect(error.path).toBe('Statement[0].Condition.StringEquals.aws:username[1]');
    expect(error.message).toMatch(/unpaired UTF-16 surrogate/);
  });

  test('accepts paired surrogates (an emoji) in a condition value', () => {
    const text = textWith(
      '{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"\\ud83d\\ude00 🚀"}}}',
    );
    expect(parsePolicyDocument(text).statements[0]?.condition).toEqual({
      StringEquals: { 'aws:PrincipalTag/team': '😀 🚀' },
    });
  });

  test.each([
    ['a number too large for a double', '1e400', '', /too large/],
    ['an integer beyond 2^53', '9007199254740993', '', /beyond 2\^53/],
    ['a number too large for a double in a list of values', '[1,1e400]', '[1]', /too large/],
    ['an integer beyond 2^53 in a list of values', '[9007199254740993]', '[0]', /beyond 2\^53/],
  ])('rejects %s', (_label, number, at, message) => {
    // Prepare
    const text = textWith(
      `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":${number}}}}`,
    );
    // Act
    const error = rejection(text);
    // Assess
    expect(error.path).toBe(`Statement[0].Condition.NumericLessThan.s3:max-keys${at}`);
    expect(error.message).toMatch(message);
  });
});

describe('the work is bounded', () => {
  const holey: unknown[] = [allow];
  holey[2] = allow;

  test('a document over 1 MiB is refused before it is parsed', () => {
    // Prepare
    const text = `{"Id":"${'x'.repeat(1_048_576)}","Statement":[]}`;
    // Act
    const error = rejection(text);
    // Assess
    expect(error.message).toMatch(/too large \(1048600 characters; at most 1048576\)/);
  });

  test('nesting is refused beyond 32 levels, and allowed up to them', () => {
    // Prepare
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    // Act
    const atLimit = parseStrictJson(nested(32));
    const error = rejection(`{"Statement":[],"Id":${nested(32)}}`);
    // Assess
    expect(Array.isArray(atLimit)).toBe(true);
    expect(error.message).toMatch(/more than 32 levels deep/);
  });

  test('depth is measured on the text: a too-deep value a duplicate key overwrote, or one beside a bad string, is refused as too deep', () => {
    // Prepare
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    // Act
    const overwritten = rejection(`{"Statement":[],"Id":${nested(40)},"Id":"x"}`);
    const besideSurrogate = rejection(`{"Statement":[],"Sid":"\\ud800","Id":${nested(40)}}`);
    // Assess
    expect(overwritten.message).toMatch(/more than 32 levels deep/);
    expect(besideSurrogate.message).toMatch(/more than 32 levels deep/);
  });

  test.each([
    ['valid', (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`],
    ['unterminated', (n: number) => '{"a":'.repeat(n)],
    ['unterminated, in a syntax error', (n: number) => `${'['.repeat(n)}}`],
  ])('deep %s nesting (200,000 levels) gives a PolicyParseError, never a RangeError', (_label, make) => {
    // Act
    const error = rejection(make(200_000));
    // Assess
    expect(error.message).toMatch(/levels deep/);
  });

  test('objects given as values are copied with the same bounds: a cycle is refused', () => {
    // Prepare
    const cyclic: Record<string, unknown> = { Statement: [] };
    cyclic.Id = cyclic;
    // Act
    const error = rejection(cyclic);
    // Assess
    expect(error.message).toMatch(/too deeply \(or refers to itself\)/);
  });

  test.each([
    ['undefined', { Statement: [], Id: undefined }, 'Id', /undefined is not JSON data/],
    ['a function', { Statement: [], Id: () => 'x' }, 'Id', /function is not JSON data/],
    ['a class instance', { Statement: [], Id: new Date(0) }, 'Id', /instance of a class/],
    ['a hole in a list', { Statement: holey }, 'Statement[1]', /hole/],
    [
      'Infinity',
      withStatement({ Condition: { NumericLessThan: { 's3:max-keys': Infinity } } }),
      'Statement[0].Condition.NumericLessThan.s3:max-keys',
      /too large/,
    ],
  ])('an object holding %s is refused', (_label, input, path, message) => {
    // Act
    const error = rejection(input);
    // Assess
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
  });

  test('an accessor that throws comes out as a PolicyParseError', () => {
    // Prepare
    const input = {
      get Statement(): unknown {
        throw new Error('boom');
      },
    };
    // Act
    const error = rejection(input);
    // Assess
    expect(error.message).toMatch(/could not be read as JSON data/);
  });

  test('an object without prototype is plain data', () => {
    // Prepare
    const input = Object.assign(Object.create(null) as Record<string, unknown>, { Statement: [allow] });
    // Act
    const document = parsePolicyDocument(input);
    // Assess
    expect(document.statements).toHaveLength(1);
  });
});

describe('Version', () => {
  test.each([['2012-10-17'], ['2008-10-17'], [undefined]])('%s is accepted', (version) => {
    const document = parsePolicyDocument({
      ...(version !== undefined && { Version: version }),
      Statement: [allow],
    });
    expect(document.version).toBe(version);
  });

  test.each([['2012-10-18'], [''], [' 2012-10-17'], ['2012-10-17\u200b'], ['latest']])(
    '%j is refused: IAM knows only two language versions',
    (version) => {
      // Act
      const error = rejection({ Version: version, Statement: [allow] });
      // Assess
      expect(error.path).toBe('Version');
      expect(error.message).toMatch(/must be "2012-10-17" or "2008-10-17"/);
    },
  );
});

describe('Action and NotAction follow IAM action grammar', () => {
  test.each([
    ['*'],
    ['s3:GetObject'],
    ['S3:getobject'],
    ['access-analyzer:List*'],
    ['iam:*AccessKey*'],
    ['ec2:Describe?nstances'],
    ['Partnercentral-account-management:AssociatePartnerUser'],
    ['a4b:*'],
    ['s3:*'],
  ])('%s is accepted, as an Action and as a NotAction', (action) => {
    // Act
    const asAction = parsePolicyDocument(withStatement({ Action: action })).statements[0];
    const asNotAction = parsePolicyDocument({
      Statement: [{ Effect: 'Allow', NotAction: [action], Resource: '*' }],
    }).statements[0];
    // Assess
    expect(asAction?.action).toEqual([action]);
    expect(asNotAction?.notAction).toEqual([action]);
  });

  test.each([
    ['', /not an IAM action/],
    ['s3', /not an IAM action/],
    ['s3:', /not an IAM action/],
    [':GetObject', /not an IAM action/],
    ['s3*:GetObject', /not an IAM action/],
    ['*:*', /not an IAM action/],
    ['*:Delete*', /not an IAM action/],
    ['iam:Pass:Role', /not an IAM action/],
    ['iam:Pass Role', /not an IAM action/],
    ['s3:Get_Object', /not an IAM action/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
    ['s3:${aws:username}', /not an IAM action/],
    [' s3:GetObject', /leading or trailing white space/],
    ['s3:GetObject ', /leading or trailing white space/],
    ['iam:PassRole\u017f', /U\+017F/],
    ['iam:PassRole\u212a', /U\+212A/],
    ['\uff53\uff13:GetObject', /U\+FF53/],
    ['s3:Get\u0000Object', /U\+0000/],
    ['s3:GetObject\u200b', /U\+200B/],
    ['\u00a0*', /U\+00A0/],
  ])('%j is refused', (action, message) => {
    // Act
    const inList = rejection(withStatement({ Action: ['s3:ListBucket', action] }));
    const alone = rejection({ Statement: [{ Effect: 'Deny', NotAction: action, Resource: '*' }] });
    // Assess
    expect(inList.path).toBe('Statement[0].Action[1]');
    expect(alone.path).toBe('Statement[0].NotAction');
    expect(inList.message).toMatch(message);
    expect(alone.message).toMatch(message);
  });
});

describe('Resource, NotResource and Sid are printable ASCII without padding', () => {
  test.each([
    ['*'],
    ["arn:aws:s3:::reports/q1 & q2+(draft)*!'/*"],
    ['arn:aws:s3:::b/a b/*'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
    ['arn:aws:s3:::b/${aws:username}/*'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable
    ['arn:aws:s3:::b/${*}'],
    [''],
  ])('%j is accepted', (resource) => {
    const [statement] = parsePolicyDocument(withStatement({ Resource: resource })).statements;
    expect(statement?.resource).toEqual([resource]);
  });

  test.each([
    [' *', /leading or trailing white space/],
    ['* ', /leading or trailing white space/],
    ['\t*', /U\+0009/],
    ['*\n', /U\+000A/],
    ['\u00a0*', /U\+00A0/],
    ['*\u200b', /U\+200B/],
    ['\u3000*', /U\+3000/],
    ['arn:aws:s3:::b/\u0444\u043e\u0442\u043e', /U\+0444/],
  ])('%j is refused', (resource, message) => {
    // Act
    const asResource = rejection(withStatement({ Resource: ['arn:aws:s3:::x', resource] }));
    const asNotResource = rejection({ Statement: [{ Effect: 'Deny', Action: '*', NotResource: resource }] });
    // Assess
    expect(asResource.path).toBe('Statement[0].Resource[1]');
    expect(asNotResource.path).toBe('Statement[0].NotResource');
    expect(asResource.message).toMatch(message);
    expect(asNotResource.message).toMatch(message);
  });

  test('the padded-"*" Deny fixture is refused, so it can never cancel the Allow it sits beside', () => {
    const error = rejection(fixture('padded-resource-deny.json'));
    expect(error.path).toBe('Statement[1].Resource');
  });

  test.each([['Stmt1'], ['AllowS3Access'], ['allow-read_2'], ['']])('Sid %j is accepted', (sid) => {
    expect(parsePolicyDocument(withStatement({ Sid: sid })).statements[0]?.sid).toBe(sid);
  });

  test.each([[' Stmt1'], ['Stmt1 '], ['Stmt\u00e91'], ['Stmt\u202e1']])('Sid %j is refused', (sid) => {
    expect(rejection(withStatement({ Sid: sid })).path).toBe('Statement[0].Sid');
  });
});

describe('Condition follows IAM condition grammar', () => {
  test('operators map condition keys to strings, numbers, booleans or lists of them', () => {
    // Prepare
    const condition = {
      StringEquals: { 'aws:PrincipalTag/city': ['München', 'Zürich'], 'aws:username': 'ana' },
      NumericLessThan: { 's3:max-keys': 10 },
      Bool: { 'aws:SecureTransport': true },
      'ForAllValues:StringLike': { 'aws:TagKeys': [] },
    };
    // Act
    const [statement] = parsePolicyDocument(withStatement({ Condition: condition })).statements;
    // Assess
    expect(statement?.condition).toEqual(condition);
  });

  test.each([
    [
      'condition keys differing only in case (context keys are case-insensitive)',
      { StringEquals: { 'aws:username': 'a', 'AWS:UserName': 'b' } },
      'Statement[0].Condition.StringEquals.AWS:UserName',
      /given twice/,
    ],
    [
      'operators differing only in case',
      { StringEquals: { 'aws:username': 'a' }, stringequals: { 'aws:username': 'b' } },
      'Statement[0].Condition.stringequals',
      /given twice/,
    ],
    [
      'an operator with no key',
      { StringEquals: {} },
      'Statement[0].Condition.StringEquals',
      /no condition key/,
    ],
    [
      'an operator mapped to a string',
      { StringEquals: 'x' },
      'Statement[0].Condition.StringEquals',
      /expected an object of condition keys/,
    ],
    [
      'a null value',
      { StringEquals: { 'aws:username': null } },
      'Statement[0].Condition.StringEquals.aws:username',
      /got null/,
    ],
    [
      'an object in a value list',
      { StringEquals: { 'aws:username': ['a', { b: 1 }] } },
      'Statement[0].Condition.StringEquals.aws:username[1]',
      /got an object/,
    ],
    [
      'a non-ASCII operator',
      { 'StringEqu\u0430ls': { 'aws:username': 'a' } },
      'Statement[0].Condition.StringEquаls',
      /U\+0430/,
    ],
    [
      'a padded condition key',
      { StringEquals: { 'aws:username ': 'a' } },
      'Statement[0].Condition.StringEquals.aws:username ',
      /white space/,
    ],
    [
      'an empty condition key',
      { StringEquals: { '': 'a' } },
      'Statement[0].Condition.StringEquals.',
      /condition key is empty/,
    ],
  ])('refuses %s', (_label, condition, path, message) => {
    // Act
    const error = rejection(withStatement({ Condition: condition }));
    // Assess
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
  });
});

describe('Principal and NotPrincipal', () => {
  const trust = (statement: Record<string, unknown>) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', ...statement }],
  });

  test.each([['Principal'], ['NotPrincipal']])(
    '%s is refused in an identity-based policy (the default kind)',
    (name) => {
      // Act
      const byDefault = rejection(withStatement({ [name]: '*' }));
      const explicit = rejection(withStatement({ [name]: { AWS: '*' } }), { kind: 'identity' });
      // Assess
      expect([byDefault.path, explicit.path]).toEqual([`Statement[0].${name}`, `Statement[0].${name}`]);
      expect(byDefault.message).toMatch(/not allowed in an identity-based policy/);
    },
  );

  test.each([
    ['"*"', { Principal: '*' }, { principal: '*' }],
    [
      'an account',
      { Principal: { AWS: 'arn:aws:iam::123456789012:root' } },
      { principal: { AWS: ['arn:aws:iam::123456789012:root'] } },
    ],
    [
      'services and federated principals',
      {
        Principal: {
          Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com'],
          Federated: 'cognito-identity.amazonaws.com',
        },
      },
      {
        principal: {
          Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com'],
          Federated: ['cognito-identity.amazonaws.com'],
        },
      },
    ],
    [
      'NotPrincipal',
      { NotPrincipal: { AWS: ['arn:aws:iam::1:role/a'] } },
      { notPrincipal: { AWS: ['arn:aws:iam::1:role/a'] } },
    ],
  ])('a trust policy may name %s', (_label, statement, expected) => {
    // Act
    const [parsed] = parsePolicyDocument(trust(statement), { kind: 'trust' }).statements;
    // Assess
    expect(parsed).toEqual({ index: 0, effect: 'Allow', action: ['sts:AssumeRole'], ...expected });
  });

  test.each([
    [
      'a principal string other than "*"',
      { Principal: 'arn:aws:iam::1:root' },
      'Statement[0].Principal',
      /expected "\*" or an object/,
    ],
    [
      'an unknown principal type',
      { Principal: { aws: '*' } },
      'Statement[0].Principal.aws',
      /unknown principal type/,
    ],
    ['no principal', { Principal: {} }, 'Statement[0].Principal', /names no principal/],
    ['an empty list', { Principal: { AWS: [] } }, 'Statement[0].Principal.AWS', /empty list/],
    ['a padded id', { Principal: { AWS: ['* '] } }, 'Statement[0].Principal.AWS[0]', /white space/],
    [
      'a non-ASCII id',
      { Principal: { Service: 'ec2.amazonaws.com\u200b' } },
      'Statement[0].Principal.Service',
      /U\+200B/,
    ],
    [
      'both Principal and NotPrincipal',
      { Principal: '*', NotPrincipal: '*' },
      'Statement[0]',
      /both Principal and NotPrincipal/,
    ],
  ])('a trust policy with %s is refused', (_label, statement, path, message) => {
    // Act
    const error = rejection(trust(statement), { kind: 'trust' });
    // Assess
    expect(error.path).toBe(path);
    expect(error.message).toMatch(message);
  });
});

describe('URL-encoded documents', () => {
  test.each([
    ['an invalid escape', '%7B%22Statement%22%3A%5B%5D%ZZ%7D', /invalid escape sequence at offset 27/],
    ['a truncated escape', '%7B%22Statement%22%3A%5B%5D%7', /invalid escape sequence/],
    [
      'escapes that are not UTF-8',
      '%7B%22Id%22%3A%22%E0%A4%A%22%7D',
      /invalid escape sequence|not valid UTF-8/,
    ],
    ['an encoded lone surrogate', '%7B%22Id%22%3A%22%ED%A0%80%22%7D', /not valid UTF-8/],
    ['a raw "+" (space to a form decoder)', '%7B%22Id%22%3A%22a+b%22%7D', /raw "\+"/],
  ])('with %s are refused', (_label, text, message) => {
    expect(rejection(text).message).toMatch(message);
  });
});

describe('the guarantee on success', () => {
  test('action and resource strings are printable ASCII with nothing to trim', () => {
    // Prepare
    const text = fixture('s3-cleanup.json');
    // Act
    const { statements } = parsePolicyDocument(text);
    // Assess
    const strings = statements.flatMap((s) => [...(s.action ?? []), ...(s.resource ?? [])]);
    expect(strings.length).toBeGreaterThan(0);
    expect(strings.every((s) => /^[\x20-\x7e]*$/.test(s) && s.trim() === s)).toBe(true);
  });
});
