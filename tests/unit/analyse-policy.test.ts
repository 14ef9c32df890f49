import fc from 'fast-check';
import { analysePolicy, type Finding } from '../../src/domain/analyse-policy';
import { catalogueFromData } from '../../src/domain/catalogue';
import {
  isParsedPolicyDocument,
  type PolicyDocument,
  type PolicyStatement,
  parsePolicyDocument,
} from '../../src/domain/policy-document';
import { resolveRestrictedActions } from '../../src/domain/restricted-actions';
import { PolicyParseError } from '../../src/errors';

// A small catalogue keeps these rule tests independent of the generated one.
const catalogue = catalogueFromData({
  source: 'test',
  generatedFrom: 'test',
  services: {
    s3: ['DeleteBucket', 'DeleteObject', 'DeleteObjectTagging', 'GetObject', 'PutBucketPolicy'],
    iam: ['PassRole', 'GetRole', 'AttachRolePolicy', 'AttachUserPolicy', 'CreateAccessKey'],
    kms: ['DisableKey', 'DisableKeyRotation', 'Decrypt'],
  },
});
const restricted = resolveRestrictedActions(
  ['s3:DeleteBucket', 's3:DeleteObject', 'iam:PassRole', 'iam:Attach*Policy', 'kms:Disable*'],
  catalogue,
);
const ALL = restricted.actions.map((a) => a.action);

// Documents are built directly, not parsed: these tests are about the analysis, including patterns the
// parser's grammar refuses (`s*`, `**`), which the analysis must still read as IAM globs.
function list(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? (value as string[]) : [value as string];
}

function statementOf(raw: Record<string, unknown>, index: number): PolicyStatement {
  const action = list(raw.Action);
  const notAction = list(raw.NotAction);
  const resource = list(raw.Resource);
  const notResource = list(raw.NotResource);
  return {
    index,
    ...(typeof raw.Sid === 'string' && { sid: raw.Sid }),
    effect: raw.Effect as 'Allow' | 'Deny',
    ...(action && { action }),
    ...(notAction && { notAction }),
    ...(resource && { resource }),
    ...(notResource && { notResource }),
    ...(raw.Condition !== undefined && { condition: raw.Condition as Record<string, unknown> }),
  };
}

function documentOf(statements: unknown[]): PolicyDocument {
  return { statements: statements.map((s, i) => statementOf(s as Record<string, unknown>, i)) };
}

function granted(statements: unknown[]): string[] {
  return analysePolicy(documentOf(statements), restricted).map((f) => f.action);
}

const allow = (action: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Action: action,
  Resource: '*',
  ...extra,
});
const deny = (action: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Deny',
  Action: action,
  Resource: '*',
  ...extra,
});

describe('analysePolicy: which restricted actions are granted', () => {
  test.each<[string, unknown[], string[]]>([
    ['exact action', [allow('s3:DeleteBucket')], ['s3:DeleteBucket']],
    ['Action given as a string is not a substring match', [allow('s3:DeleteObjectTagging')], []],
    ['case-insensitive', [allow('S3:deletebucket')], ['s3:DeleteBucket']],
    ['white space is not trimmed: a padded pattern is another name', [allow(' iam:PassRole ')], []],
    ['service wildcard', [allow('s3:*')], ['s3:DeleteBucket', 's3:DeleteObject']],
    ['prefix wildcard', [allow('s3:Delete*')], ['s3:DeleteBucket', 's3:DeleteObject']],
    ['full wildcard', [allow('*')], ALL],
    ['double star', [allow('**')], ALL],
    ['wildcard spanning the colon', [allow('s*')], ['s3:DeleteBucket', 's3:DeleteObject']],
    ['question mark', [allow('iam:Pas?Role')], ['iam:PassRole']],
    ['question mark needs one character', [allow('iam:PassRol?e')], []],
    [
      'restricted action in a later statement',
      [allow('s3:GetObject'), allow(['kms:Decrypt', 'kms:DisableKey'])],
      ['kms:DisableKey'],
    ],
    ['wildcard restricted entry expanded', [allow('iam:AttachUserPolicy')], ['iam:AttachUserPolicy']],
    ['harmless actions only', [allow(['s3:GetObject', 'iam:GetRole', 'kms:Decrypt'])], []],
    [
      'NotAction allows everything else',
      [{ Effect: 'Allow', NotAction: ['iam:*', 'kms:*'], Resource: '*' }],
      ['s3:DeleteBucket', 's3:DeleteObject'],
    ],
    [
      'NotAction is case-insensitive',
      [{ Effect: 'Allow', NotAction: 'S3:*', Resource: '*' }],
      [
        'iam:AttachRolePolicy',
        'iam:AttachUserPolicy',
        'iam:PassRole',
        'kms:DisableKey',
        'kms:DisableKeyRotation',
      ],
    ],
    [
      'Deny on every resource cancels',
      [allow('s3:*'), deny('s3:DeleteBucket')],
      ['s3:DeleteBucket', 's3:DeleteObject'].filter((a) => a !== 's3:DeleteBucket'),
    ],
    ['Deny with a wildcard cancels', [allow('*'), deny('*')], []],
    [
      'Deny Resource list holding * cancels',
      [allow('s3:*'), deny('s3:*', { Resource: ['arn:aws:s3:::x', '*'] })],
      [],
    ],
    [
      'Deny NotAction cancels the others',
      [allow('*'), { Effect: 'Deny', NotAction: 'iam:PassRole', Resource: '*' }],
      ['iam:PassRole'],
    ],
    [
      'Deny on some resources does not cancel',
      [allow('s3:*'), deny('s3:*', { Resource: 'arn:aws:s3:::prod/*' })],
      ['s3:DeleteBucket', 's3:DeleteObject'],
    ],
    [
      'Deny with NotResource does not cancel',
      [allow('s3:*'), { Effect: 'Deny', Action: 's3:*', NotResource: 'arn:aws:s3:::x' }],
      ['s3:DeleteBucket', 's3:DeleteObject'],
    ],
    [
      'Deny with a condition does not cancel',
      [allow('s3:*'), deny('s3:*', { Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      ['s3:DeleteBucket', 's3:DeleteObject'],
    ],
    ['Deny alone grants nothing', [deny('*')], []],
    ['empty Statement list', [], []],
  ])('%s', (_label, statements, expected) => {
    // Act
    const actions = granted(statements);
    // Assess
    expect(actions).toEqual(expected);
  });
});

describe('analysePolicy: findings explain themselves', () => {
  function analyse(statements: unknown[]): Finding[] {
    return analysePolicy(documentOf(statements), restricted);
  }

  test('each granting Allow statement is listed with index, sid, pattern and resources', () => {
    // Prepare
    const statements = [
      { Sid: 'Read', Effect: 'Allow', Action: 's3:Get*', Resource: '*' },
      {
        Sid: 'Cleanup',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:Delete*'],
        Resource: ['arn:aws:s3:::logs', 'arn:aws:s3:::logs/*'],
      },
      { Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::tmp/*' },
    ];
    // Act
    const finding = analyse(statements).find((f) => f.action === 's3:DeleteObject');
    // Assess
    expect(finding).toEqual({
      action: 's3:DeleteObject',
      conditional: false,
      statements: [
        {
          index: 1,
          sid: 'Cleanup',
          matchedBy: 's3:Delete*',
          resources: ['arn:aws:s3:::logs', 'arn:aws:s3:::logs/*'],
        },
        { index: 2, matchedBy: '*', resources: ['arn:aws:s3:::tmp/*'] },
      ],
    });
  });

  test('the first matching pattern of a statement is reported', () => {
    const [finding] = analyse([allow(['iam:Pass*', 'iam:PassRole', '*'])]).filter(
      (f) => f.action === 'iam:PassRole',
    );
    expect(finding?.statements[0]?.matchedBy).toBe('iam:Pass*');
  });

  test('NotAction statements say so in matchedBy', () => {
    const findings = analyse([{ Effect: 'Allow', NotAction: ['iam:*', 'kms:*'], Resource: '*' }]);
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      expect(finding.statements[0]?.matchedBy).toBe('NotAction (every action except iam:*, kms:*)');
    }
  });

  test('NotResource statements report all resources except the listed ones', () => {
    const [finding] = analyse([
      { Effect: 'Allow', Action: 's3:DeleteBucket', NotResource: 'arn:aws:s3:::prod' },
    ]);
    expect(finding?.statements[0]).toEqual({
      index: 0,
      matchedBy: 's3:DeleteBucket',
      resources: ['*'],
      notResources: ['arn:aws:s3:::prod'],
    });
  });

  test.each<[string, unknown[], boolean]>([
    ['one unconditional Allow', [allow('iam:PassRole')], false],
    [
      'one conditional Allow',
      [
        allow('iam:PassRole', {
          Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        }),
      ],
      true,
    ],
    [
      'conditional and unconditional Allow',
      [
        allow('iam:PassRole', { Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } }),
        allow('iam:*'),
      ],
      false,
    ],
    [
      'two conditional Allows',
      [
        allow('iam:PassRole', { Condition: { Bool: { x: 'true' } } }),
        allow('*', { Condition: { Bool: { y: 'true' } } }),
      ],
      true,
    ],
  ])('conditional: %s → %s', (_label, statements, conditional) => {
    const finding = analyse(statements).find((f) => f.action === 'iam:PassRole');
    expect(finding?.conditional).toBe(conditional);
  });

  test('findings follow the order of the restricted list', () => {
    const actions = analyse([allow('*')]).map((f) => f.action);
    expect(actions).toEqual(ALL);
    expect([...actions].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))).toEqual(actions);
  });

  test('a restricted entry the catalogue lacks still matches wildcards in policies', () => {
    // Prepare
    const custom = resolveRestrictedActions(['newservice:DestroyEverything'], catalogue);
    // Act
    const findings = analysePolicy(documentOf([allow('newservice:*')]), custom);
    // Assess
    expect(findings.map((f) => f.action)).toEqual(['newservice:DestroyEverything']);
  });
});

describe('analysePolicy: a Deny cancels only on exactly every resource', () => {
  const everything = ['s3:DeleteBucket', 's3:DeleteObject'];

  test.each<[string, Record<string, unknown>, string[]]>([
    ['Resource "*"', { Resource: '*' }, []],
    ['Resource ["*"]', { Resource: ['*'] }, []],
    ['a list holding "*" among ARNs', { Resource: ['arn:aws:s3:::logs', '*'] }, []],
    ['Resource " *" (IAM may read it as a literal name)', { Resource: ' *' }, everything],
    ['Resource "* "', { Resource: '* ' }, everything],
    ['a list holding only " *"', { Resource: ['arn:aws:s3:::logs', ' *'] }, everything],
    ['Resource "**"', { Resource: '**' }, everything],
    ['Resource "arn:aws:s3:::*"', { Resource: 'arn:aws:s3:::*' }, everything],
    ['no Resource at all', { Resource: undefined }, everything],
    ['an empty Resource list', { Resource: [] }, everything],
    ['NotResource', { Resource: undefined, NotResource: 'arn:aws:s3:::logs' }, everything],
    ['a Condition', { Condition: { Bool: { 'aws:ViaAWSService': 'false' } } }, everything],
  ])('Deny s3:* with %s', (_label, extra, expected) => {
    // Prepare
    const statements = [allow('s3:*'), { Effect: 'Deny', Action: 's3:*', Resource: '*', ...extra }];
    // Act
    const actions = granted(statements);
    // Assess
    expect(actions).toEqual(expected);
  });

  test.each<[string, string, string[]]>([
    ['in another case', 'S3:DELETEBUCKET', ['s3:DeleteObject']],
    ['with a wildcard in another case', 'S3:DELETE*', []],
    ['padded with a space (not trimmed, so another name)', ' s3:DeleteBucket', everything],
  ])('the denied action compares case-insensitively, as written: %s', (_label, action, expected) => {
    expect(granted([allow('s3:*'), deny(action)])).toEqual(expected);
  });

  test('a Deny before the Allow cancels it just the same', () => {
    expect(granted([deny('s3:DeleteBucket'), allow('s3:*')])).toEqual(['s3:DeleteObject']);
  });
});

describe('analysePolicy: matchedBy stays readable', () => {
  test('the pattern is reported as written, case included', () => {
    // Act
    const [finding] = analysePolicy(documentOf([allow('IAM:Pass*')]), restricted);
    // Assess
    expect(finding?.statements[0]?.matchedBy).toBe('IAM:Pass*');
  });

  test('a very long pattern is cut, saying how long it was', () => {
    // Prepare
    const pattern = `iam:${'*'.repeat(3_000)}PassRole`;
    // Act
    const [finding] = analysePolicy(documentOf([allow(pattern)]), restricted);
    // Assess
    const matchedBy = finding?.statements[0]?.matchedBy ?? '';
    expect(finding?.action).toBe('iam:PassRole');
    expect(matchedBy.length).toBeLessThan(300);
    expect(matchedBy.startsWith('iam:***')).toBe(true);
    expect(matchedBy).toContain(`(${(3_012).toLocaleString('en-US')} characters)`);
  });

  test('a long NotAction list is cut in the note, counting what was left out', () => {
    // Prepare
    const excluded = Array.from({ length: 500 }, (_, i) => `ec2:Describe${i}*`);
    // Act
    const findings = analysePolicy(
      documentOf([{ Effect: 'Allow', NotAction: excluded, Resource: '*' }]),
      restricted,
    );
    // Assess
    const note = findings[0]?.statements[0]?.matchedBy ?? '';
    expect(findings.map((f) => f.action)).toEqual(ALL);
    expect(note.startsWith('NotAction (every action except ec2:Describe0*, ec2:Describe1*, ')).toBe(true);
    const shown = note.split(', ').length - 1;
    expect(note).toMatch(new RegExp(`, … ${(500 - shown).toLocaleString('en-US')} more\\)$`));
    expect(note.length).toBeLessThan(600);
  });
});

describe('analysePolicy agrees with a brute-force reading of the rules', () => {
  // Independent of the engine: every statement against every action, with a dynamic-programming glob.
  function globMatches(pattern: string, name: string): boolean {
    let row = Array.from({ length: name.length + 1 }, (_, j) => j === 0);
    for (const p of pattern) {
      const next = [p === '*' && (row[0] as boolean)];
      for (let j = 1; j <= name.length; j++) {
        next[j] =
          p === '*'
            ? (row[j] as boolean) || (next[j - 1] as boolean)
            : (row[j - 1] as boolean) && (p === '?' || p === name[j - 1]);
      }
      row = next;
    }
    return row[name.length] as boolean;
  }
  const matching = (patterns: readonly string[], action: string) =>
    patterns.find((p) => globMatches(p.toLowerCase(), action.toLowerCase()));
  const covers = (s: PolicyStatement, action: string) =>
    s.action ? matching(s.action, action) !== undefined : matching(s.notAction ?? [], action) === undefined;

  function reference(document: PolicyDocument) {
    const result: {
      action: string;
      conditional: boolean;
      statements: { index: number; matchedBy?: string }[];
    }[] = [];
    for (const { action } of restricted.actions) {
      const denied = document.statements.some(
        (s) =>
          s.effect === 'Deny' &&
          s.condition === undefined &&
          s.notResource === undefined &&
          (s.resource ?? []).includes('*') &&
          covers(s, action),
      );
      const granting = document.statements.filter((s) => s.effect === 'Allow' && covers(s, action));
      if (denied || granting.length === 0) continue;
      result.push({
        action,
        conditional: granting.every((s) => s.condition !== undefined),
        statements: granting.map((s) => ({
          index: s.index,
          ...(s.action && { matchedBy: matching(s.action, action) }),
        })),
      });
    }
    return result;
  }

  const names = restricted.actions.flatMap((a) => [a.action, a.action.toUpperCase()]);
  // The service part is where the engine decides a pattern cannot match, so it is varied on its own:
  // case flipped character by character, a near service, or a look-alike that lower-cases to ASCII.
  // The action part's case is flipped too: a plain name is compared ignoring case without lower-casing.
  const serviceVariantArb = fc
    .tuple(
      fc.constantFrom(...restricted.actions.map((a) => a.action)),
      fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }),
      fc.constantFrom('same', 'longer', 'shorter', 'other', 'kelvin', 'wildcard'),
      fc.constantFrom('exact', '*', 'prefix*'),
    )
    .map(([action, flips, change, rest]) => {
      const [service = '', name = ''] = action.split(':');
      const flipped = [...service].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join('');
      const head = {
        same: flipped,
        longer: `${flipped}x`,
        shorter: flipped.slice(0, -1),
        other: `${flipped.slice(0, -1)}${flipped.endsWith('q') ? 'r' : 'q'}`,
        kelvin: flipped.replace(/k/i, '\u212A'),
        wildcard: `${flipped.slice(0, -1)}?`,
      }[change];
      const cased = [...name].map((c, i) => (flips[40 + i] ? c.toUpperCase() : c.toLowerCase())).join('');
      const tail = { exact: cased, '*': '*', 'prefix*': `${cased.slice(0, 3)}*` }[rest];
      return `${head}:${tail}`;
    });
  const patternArb = fc.oneof(
    serviceVariantArb,
    fc.constantFrom(...names, '*', 's3:*', 'iam:*', 'kms:Disable*', 'iam:Attach*', '*Policy', '*:*e*'),
    fc.string({
      unit: fc.constantFrom('s', '3', ':', 'i', 'a', 'm', 'e', 'l', '*', '?'),
      minLength: 1,
      maxLength: 8,
    }),
  );
  const statementArb = fc.record({
    effect: fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Deny'),
    notAction: fc.boolean(),
    patterns: fc.array(patternArb, { maxLength: 6 }),
    resource: fc.constantFrom<readonly string[] | undefined>(
      ['*'],
      [' *'],
      ['arn:aws:s3:::x', '*'],
      ['arn:aws:s3:::x'],
      undefined,
    ),
    condition: fc.boolean(),
  });

  // The engine's findings in the reference's shape (`matchedBy` only where the statement lists actions).
  const findingsOf = (document: PolicyDocument) =>
    analysePolicy(document, restricted).map((f) => ({
      action: f.action,
      conditional: f.conditional,
      statements: f.statements.map((s) => ({
        index: s.index,
        ...(document.statements[s.index]?.action && { matchedBy: s.matchedBy }),
      })),
    }));

  test('on random documents', () => {
    fc.assert(
      fc.property(fc.array(statementArb, { maxLength: 5 }), (raw) => {
        // Prepare
        const document: PolicyDocument = {
          statements: raw.map((s, index) => ({
            index,
            effect: s.effect,
            ...(s.notAction ? { notAction: s.patterns } : { action: s.patterns }),
            ...(s.resource && { resource: s.resource }),
            ...(s.condition && { condition: { Bool: { 'aws:SecureTransport': 'true' } } }),
          })),
        };
        // Act
        const findings = findingsOf(document);
        // Assess
        expect(findings).toEqual(reference(document));
      }),
      { numRuns: 1_000 },
    );
  });

  // A document the parser made skips re-reading each action's service part; this holds that shortcut to
  // the same reference, on the same random documents written as JSON text.
  const grammatical = /^(?:\*|[A-Za-z0-9-]+:[A-Za-z0-9*?-]+)$/;

  test('on random documents read by the parser', () => {
    let analysed = 0;
    fc.assert(
      fc.property(fc.array(statementArb, { maxLength: 5 }), (raw) => {
        // Prepare
        const text = JSON.stringify({
          Version: '2012-10-17',
          Statement: raw.map((s) => ({
            Effect: s.effect,
            [s.notAction ? 'NotAction' : 'Action']: s.patterns,
            ...(s.resource && { Resource: s.resource }),
            ...(s.condition && { Condition: { Bool: { 'aws:SecureTransport': 'true' } } }),
          })),
        });
        const readable = raw.every(
          (s) =>
            s.patterns.every((p) => grammatical.test(p)) && (s.resource ?? []).every((r) => r === r.trim()),
        );
        // Act
        let document: PolicyDocument;
        try {
          document = parsePolicyDocument(text);
        } catch (error) {
          // Assess: only what IAM's grammar or the parser's ASCII rule refuses is left unread
          expect(error).toBeInstanceOf(PolicyParseError);
          expect(readable).toBe(false);
          return;
        }
        analysed++;
        // Assess
        expect(readable).toBe(true);
        expect(isParsedPolicyDocument(document)).toBe(true);
        expect(findingsOf(document)).toEqual(reference(document));
        expect(findingsOf(structuredClone(document))).toEqual(findingsOf(document));
      }),
      { numRuns: 1_000 },
    );
    // About a quarter of the runs are read (the rest hold patterns IAM's grammar refuses): enough for the
    // shortcut, which is what is under test here.
    expect(analysed).toBeGreaterThan(100);
  });

  test('a copy of a parsed document, or an object made from its prototype, is not taken for one the parser made', () => {
    // Prepare
    const parsed = parsePolicyDocument(
      '{"Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}',
    );
    // Act
    const copies = [
      structuredClone(parsed),
      { ...parsed },
      Object.assign(Object.create(Object.getPrototypeOf(parsed)), parsed) as PolicyDocument,
    ];
    // Assess
    expect(isParsedPolicyDocument(parsed)).toBe(true);
    for (const copy of copies) expect(isParsedPolicyDocument(copy)).toBe(false);
  });

  test("a parsed document's constructor makes no document for anyone but the parser", () => {
    // Prepare
    const parsed = parsePolicyDocument('{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}');
    const Made = parsed.constructor as new (...args: unknown[]) => PolicyDocument;
    const handBuilt = [{ index: 0, effect: 'Allow', action: ['i?m:PassRole'], resource: ['*'] }];
    // Act
    const forge = () => new Made(Symbol('parsePolicyDocument'), undefined, undefined, handBuilt);
    // Assess
    expect(forge).toThrow(/only parsePolicyDocument makes a parsed policy document/);
  });

  test('a hand-built document with a wildcard or look-alike in the service part is still matched in full', () => {
    // Prepare: the parser refuses these; a document built any other way gets every check
    const document: PolicyDocument = {
      statements: [
        { index: 0, effect: 'Allow', action: ['i?m:PassRole'], resource: ['*'] },
        { index: 1, effect: 'Allow', action: ['\u212Ams:DisableKey'], resource: ['*'] },
      ],
    };
    // Act
    const actions = analysePolicy(document, restricted).map((f) => f.action);
    // Assess
    expect(actions).toEqual(expect.arrayContaining(['iam:PassRole', 'kms:DisableKey']));
    expect(actions).toEqual(reference(document).map((f) => f.action));
  });
});
