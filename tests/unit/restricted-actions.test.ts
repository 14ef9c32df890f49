import { type ActionCatalogue, catalogueFromData } from '../../src/domain/catalogue';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import {
  parseRestrictedEntries,
  parseRestrictedText,
  type RestrictedEntry,
  resolveRestrictedActions,
} from '../../src/domain/restricted-actions';
import { RestrictedActionError } from '../../src/errors';
import { thrownBy } from '../support/thrown';

// A hand-made catalogue keeps the expansion tests independent of what AWS adds to the real one.
const tiny = catalogueFromData({
  source: 'test',
  generatedFrom: 'test',
  services: {
    s3: ['DeleteBucket', 'DeleteBucketPolicy', 'DeleteObject', 'GetObject', 'PutBucketPolicy'],
    s4: ['GetObject'],
    kms: ['DisableKey', 'DisableKeyRotation', 'EnableKey'],
    'access-analyzer': ['DeleteAnalyzer'],
    iam: ['GetRole', 'PassRole', 'SetRole'],
  },
});

function lowerNames(
  entries: readonly (string | RestrictedEntry)[],
  catalogue: ActionCatalogue = tiny,
): string[] {
  return resolveRestrictedActions(entries, catalogue).actions.map((action) => action.lower);
}

describe('resolveRestrictedActions: entry shape', () => {
  it.each([
    ['s3:DeleteBucket'],
    ['  s3:DeleteBucket  '],
    ['access-analyzer:DeleteAnalyzer'],
    ['S3:DELETEBUCKET'],
    ['s3:Delete*'],
    ['iam:?etRole'],
    ['*:*'],
  ])('accepts %j', (entry) => {
    // Prepare / Act
    const result = resolveRestrictedActions([entry], tiny);

    // Assess
    expect(result.actions.length).toBeGreaterThan(0);
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['s3DeleteBucket', 'missing the colon'],
    ['s3 :DeleteBucket', 'white space'],
    ['s3:Delete Bucket', 'white space'],
    ['s3:\tDeleteBucket', 'white space'],
    ['s3:DeleteBucket:extra', 'more than one colon'],
    [':DeleteBucket', 'service prefix before the colon is empty'],
    ['s3:', 'action name after the colon is empty'],
    ['s3_x:DeleteBucket', 'service prefix "s3_x" may only hold'],
    ['s3:Delete_Bucket', 'action name "Delete_Bucket" may only hold'],
    ['s3:Delete#Bucket', 'action name "Delete#Bucket" may only hold'],
    ['arn:aws:s3:::bucket', 'more than one colon'],
  ])('rejects %j (%s)', (entry, why) => {
    // Prepare / Act
    const error = thrownBy(() => resolveRestrictedActions(['s3:GetObject', entry], tiny));

    // Assess
    expect(error).toBeInstanceOf(RestrictedActionError);
    expect((error as Error).message).toContain(JSON.stringify(entry.trim()));
    expect((error as Error).message).toContain('entry 1');
    expect((error as Error).message).toContain(why);
  });

  it('rejects an empty list', () => {
    // Prepare / Act
    const error = thrownBy(() => resolveRestrictedActions([], tiny));

    // Assess
    expect(error).toBeInstanceOf(RestrictedActionError);
    expect((error as Error).message).toMatch(/empty/);
  });
});

describe('resolveRestrictedActions: expansion against a small catalogue', () => {
  it.each<[string, string[]]>([
    ['kms:Disable*', ['kms:disablekey', 'kms:disablekeyrotation']],
    ['s3:Delete*', ['s3:deletebucket', 's3:deletebucketpolicy', 's3:deleteobject']],
    ['s3:*Policy', ['s3:deletebucketpolicy', 's3:putbucketpolicy']],
    ['iam:?etRole', ['iam:getrole', 'iam:setrole']],
    ['iam:??Role', []],
    ['s?:GetObject', ['s3:getobject', 's4:getobject']],
    ['*:GetObject', ['s3:getobject', 's4:getobject']],
    [
      's3*:*',
      ['s3:deletebucket', 's3:deletebucketpolicy', 's3:deleteobject', 's3:getobject', 's3:putbucketpolicy'],
    ],
    ['*:*Key', ['kms:disablekey', 'kms:enablekey']],
    ['access-analyzer:*', ['access-analyzer:deleteanalyzer']],
  ])('%s expands to exactly the matching catalogue actions', (entry, expected) => {
    // Prepare
    const entries = [entry];

    // Act
    const act = () => lowerNames(entries);

    // Assess
    if (expected.length === 0) {
      expect(act).toThrow(/matches no action in the IAM catalogue/);
    } else {
      expect(act()).toEqual(expected);
    }
  });

  it('expands an entry with thousands of wildcards as its collapsed form, without backtracking', () => {
    // Prepare: as a regular expression `kms:*?*?…` was invalid or backtracked for minutes.
    const stars = `kms:${'*'.repeat(5_000)}Key`;
    const alternating = `*:${'*?'.repeat(5)}${'*'.repeat(5_000)}Key`;
    const tooLong = `kms:${'*?'.repeat(3_000)}`;

    // Act
    const expanded = [lowerNames([stars]), lowerNames([alternating])];

    // Assess
    expect(expanded[0]).toEqual(lowerNames(['kms:*Key']));
    expect(expanded[1]).toEqual(lowerNames(['*:?????*Key']));
    expect(() => lowerNames([tooLong])).toThrow(/matches no action in the IAM catalogue/);
  });

  it('matches wildcard entries case-insensitively and reports catalogue casing', () => {
    // Prepare / Act
    const { actions } = resolveRestrictedActions(['KMS:disable*'], tiny);

    // Assess
    expect(actions.map((action) => action.action)).toEqual(['kms:DisableKey', 'kms:DisableKeyRotation']);
    expect(actions.every((action) => action.service === 'kms' && action.entry === 'KMS:disable*')).toBe(true);
  });

  it('reports catalogue casing for a non-wildcard entry the catalogue knows', () => {
    // Prepare / Act
    const [action] = resolveRestrictedActions([' S3:deletebucket '], tiny).actions;

    // Assess
    expect(action).toEqual({
      action: 's3:DeleteBucket',
      lower: 's3:deletebucket',
      service: 's3',
      entry: 'S3:deletebucket',
    });
  });

  it.each([['s3:DeleteEverything'], ['newservice:DoThing'], ['S3:FooBar']])(
    'keeps the non-wildcard entry %j as written when the catalogue lacks it',
    (entry) => {
      // Prepare / Act
      const [action] = resolveRestrictedActions([{ action: entry, reason: 'future API' }], tiny).actions;

      // Assess
      expect(action).toEqual({
        action: entry,
        lower: entry.toLowerCase(),
        service: entry.slice(0, entry.indexOf(':')).toLowerCase(),
        entry,
        reason: 'future API',
      });
    },
  );

  it.each([
    ['nosuch:*', /matches no action in the IAM catalogue \(the catalogue has no service "nosuch"\)/],
    ['s3:Frobnicate*', /"s3:Frobnicate\*" matches no action in the IAM catalogue$/],
    ['x*:*', /"x\*:\*" matches no action in the IAM catalogue$/],
  ])('rejects the wildcard entry %j that matches nothing', (entry, message) => {
    // Prepare / Act
    const error = thrownBy(() => resolveRestrictedActions(['s3:GetObject', entry], tiny));

    // Assess
    expect(error).toBeInstanceOf(RestrictedActionError);
    expect((error as Error).message).toMatch(message);
  });

  it('de-duplicates by lower-case name, keeping the first entry and reason, and sorts by lower-case name', () => {
    // Prepare
    const entries: RestrictedEntry[] = [
      { action: 's3:Delete*', reason: 'wildcard first' },
      { action: 'S3:DELETEBUCKET', reason: 'explicit later' },
      { action: 'kms:DisableKey' },
      { action: 'kms:disablekey', reason: 'duplicate with a reason' },
      { action: 'access-analyzer:DeleteAnalyzer', reason: 'analyser' },
    ];

    // Act
    const result = resolveRestrictedActions(entries, tiny);

    // Assess
    const lowers = result.actions.map((action) => action.lower);
    expect(lowers).toEqual([...new Set(lowers)].sort());
    expect(lowers).toEqual([
      'access-analyzer:deleteanalyzer',
      'kms:disablekey',
      's3:deletebucket',
      's3:deletebucketpolicy',
      's3:deleteobject',
    ]);
    const bucket = result.actions.find((action) => action.lower === 's3:deletebucket');
    expect(bucket).toMatchObject({ entry: 's3:Delete*', reason: 'wildcard first' });
    const key = result.actions.find((action) => action.lower === 'kms:disablekey');
    expect(key).toEqual({
      action: 'kms:DisableKey',
      lower: 'kms:disablekey',
      service: 'kms',
      entry: 'kms:DisableKey',
    });
    expect(result.entries).toEqual(entries);
  });

  it('returns the trimmed entries in their original order, and a frozen result', () => {
    // Prepare / Act
    const result = resolveRestrictedActions(
      ['  s3:GetObject ', { action: ' kms:Disable* ', reason: ' keys ' }],
      tiny,
    );

    // Assess
    expect(result.entries).toEqual([{ action: 's3:GetObject' }, { action: 'kms:Disable*', reason: 'keys' }]);
    expect(Object.isFrozen(result.actions)).toBe(true);
    expect(Object.isFrozen(result.actions[0])).toBe(true);
  });
});

describe('resolveRestrictedActions: expansion against the generated catalogue', () => {
  const catalogue = loadGeneratedCatalogue();

  it('expands kms:Disable* to the kms Disable actions only', () => {
    // Prepare
    const expected = (catalogue.actionsOf('kms') ?? [])
      .filter((name) => name.toLowerCase().startsWith('disable'))
      .map((name) => `kms:${name}`);

    // Act
    const actions = resolveRestrictedActions(['kms:Disable*'], catalogue).actions.map(
      (action) => action.action,
    );

    // Assess
    expect(actions).toEqual(expect.arrayContaining(['kms:DisableKey', 'kms:DisableKeyRotation']));
    expect(actions.every((action) => action.startsWith('kms:Disable'))).toBe(true);
    expect([...actions].sort()).toEqual([...expected].sort());
  });

  it('expands iam:* to every iam action of the catalogue', () => {
    // Prepare
    const iamActions = catalogue.actionsOf('iam') ?? [];

    // Act
    const result = resolveRestrictedActions(['iam:*'], catalogue);

    // Assess
    expect(iamActions.length).toBeGreaterThan(100);
    expect(result.actions.map((action) => action.action).sort()).toEqual(
      iamActions.map((name) => `iam:${name}`).sort(),
    );
    expect(result.actions.every((action) => action.service === 'iam')).toBe(true);
  });

  it('expands a ? wildcard to names of exactly that length', () => {
    // Prepare / Act
    const actions = resolveRestrictedActions(['iam:?etRole'], catalogue).actions.map(
      (action) => action.action,
    );

    // Assess
    expect(actions).toContain('iam:GetRole');
    expect(actions.every((action) => /^iam:.etRole$/.test(action))).toBe(true);
  });

  it('rejects a wildcard on a service the catalogue does not know', () => {
    // Prepare / Act
    const error = thrownBy(() => resolveRestrictedActions(['notaservice:Delete*'], catalogue));

    // Assess
    expect(error).toBeInstanceOf(RestrictedActionError);
    expect((error as Error).message).toContain('matches no action in the IAM catalogue');
    expect((error as Error).message).toContain('"notaservice"');
  });
});

describe('parseRestrictedEntries', () => {
  it('accepts strings and {action, reason} objects, trimming reasons and dropping blank ones', () => {
    // Prepare
    const input = [
      's3:DeleteBucket',
      { action: 'kms:Disable*', reason: '  keys  ' },
      { action: 'iam:PassRole' },
    ];
    const withBlankReason = [{ action: 'iam:PassRole', reason: '   ' }];

    // Act
    const entries = parseRestrictedEntries(input, 'list.json');
    const blank = parseRestrictedEntries(withBlankReason, 'list.json');

    // Assess
    expect(entries).toEqual([
      { action: 's3:DeleteBucket' },
      { action: 'kms:Disable*', reason: 'keys' },
      { action: 'iam:PassRole' },
    ]);
    expect(blank).toEqual([{ action: 'iam:PassRole' }]);
  });

  it.each<[string, unknown, RegExp]>([
    ['an object', { action: 's3:DeleteBucket' }, /^list\.json: expected a JSON array .*got an object$/],
    ['a string', 's3:DeleteBucket', /^list\.json: expected a JSON array .*got the string "s3:DeleteBucket"$/],
    ['null', null, /^list\.json: expected a JSON array .*got null$/],
    ['a number entry', ['s3:GetObject', 42], /^list\.json: entry 1: expected a string or .*got number 42$/],
    ['a null entry', [null], /^list\.json: entry 0: expected a string or .*got null$/],
    ['a nested array', [['s3:GetObject']], /^list\.json: entry 0: .*got an array$/],
    ['a missing action', [{ reason: 'x' }], /^list\.json: entry 0: "action" must be a string, got undefined/],
    ['a numeric action', [{ action: 7 }], /^list\.json: entry 0: "action" must be a string, got number 7$/],
    [
      'a numeric reason',
      [{ action: 's3:GetObject', reason: 1 }],
      /^list\.json: entry 0: "reason" must be a string/,
    ],
    [
      'a misspelt key',
      ['s3:GetObject', { action: 's3:GetObject', reson: 'x' }],
      /entry 1: unknown key\(s\) "reson"/,
    ],
  ])('rejects %s, naming the source and index', (_label, input, message) => {
    // Prepare / Act
    const error = thrownBy(() => parseRestrictedEntries(input, 'list.json'));

    // Assess
    expect(error).toBeInstanceOf(RestrictedActionError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('parseRestrictedText', () => {
  it('reads one entry per line, skipping blank lines and comments, with trailing comments as reasons', () => {
    // Prepare
    const text = [
      '\uFEFF# restricted actions for the payments account',
      '',
      's3:DeleteBucket',
      '   kms:Disable*   # keys must stay usable  ',
      '\t# an indented comment',
      'iam:PassRole #',
      'iam:CreateAccessKey\t# tab before the hash',
      's3:Delete#Object',
      '',
    ].join('\r\n');

    // Act
    const entries = parseRestrictedText(text, 'restricted.txt');

    // Assess
    expect(entries).toEqual([
      { action: 's3:DeleteBucket' },
      { action: 'kms:Disable*', reason: 'keys must stay usable' },
      { action: 'iam:PassRole' },
      { action: 'iam:CreateAccessKey', reason: 'tab before the hash' },
      { action: 's3:Delete#Object' },
    ]);
  });

  it('treats a hash without white space before it as part of the (then invalid) entry', () => {
    // Prepare
    const entries = parseRestrictedText('s3:Delete#Object\n', 'restricted.txt');

    // Act
    const error = thrownBy(() => resolveRestrictedActions(entries, tiny));

    // Assess
    expect(error).toBeInstanceOf(RestrictedActionError);
    expect((error as Error).message).toContain('"s3:Delete#Object"');
  });

  it('parses a JSON array when the text starts with [', () => {
    // Prepare
    const text = '\n  [ "s3:DeleteBucket", { "action": "kms:Disable*", "reason": "keys" } ]\n';

    // Act
    const entries = parseRestrictedText(text, 'restricted.json');

    // Assess
    expect(entries).toEqual([{ action: 's3:DeleteBucket' }, { action: 'kms:Disable*', reason: 'keys' }]);
  });

  it('returns no entries for a text of only comments, which resolving then rejects', () => {
    // Prepare
    const entries = parseRestrictedText('# nothing yet\n\n', 'restricted.txt');

    // Act
    const act = () => resolveRestrictedActions(entries, tiny);

    // Assess
    expect(entries).toEqual([]);
    expect(act).toThrow(RestrictedActionError);
  });

  it.each([
    ['malformed JSON', '[ "s3:DeleteBucket", ]', /^restricted\.json: not valid JSON \(/],
    ['a JSON object', '{ "action": "s3:DeleteBucket" }', /^restricted\.json: expected a JSON array/],
    ['a bad JSON entry', '["s3:DeleteBucket", false]', /^restricted\.json: entry 1: expected a string or/],
  ])('rejects %s, naming the source', (_label, text, message) => {
    // Prepare / Act
    const error = thrownBy(() => parseRestrictedText(text, 'restricted.json'));

    // Assess
    expect(error).toBeInstanceOf(RestrictedActionError);
    expect((error as Error).message).toMatch(message);
  });

  it('keeps the JSON syntax error as the cause', () => {
    // Prepare / Act
    const error = thrownBy(() => parseRestrictedText('[', 'restricted.json'));

    // Assess
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });
});

describe('resolveRestrictedActions: real action names with hyphens', () => {
  it('accepts an entry naming one', () => {
    // Prepare
    const catalogue = catalogueFromData({
      source: 'test',
      generatedFrom: 'test',
      services: { 'vpc-lattice': ['AssociateViaAWSService-EventsAndStates', 'CreateService'] },
    });
    // Act
    const set = resolveRestrictedActions(['vpc-lattice:associateviaawsservice-eventsandstates'], catalogue);
    // Assess
    expect(set.actions.map((a) => a.action)).toEqual(['vpc-lattice:AssociateViaAWSService-EventsAndStates']);
  });
});
