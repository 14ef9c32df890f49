import { analysePolicy, type Finding } from '../../src/domain/analyse-policy';
import { catalogueFromData } from '../../src/domain/catalogue';
import { parsePolicyDocument } from '../../src/domain/policy-document';
import { resolveRestrictedActions } from '../../src/domain/restricted-actions';

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

function granted(statements: unknown[]): string[] {
  return analysePolicy(parsePolicyDocument({ Version: '2012-10-17', Statement: statements }), restricted).map(
    (f) => f.action,
  );
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
    ['white space trimmed', [allow(' iam:PassRole ')], ['iam:PassRole']],
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
      [allow('s3:*'), deny('s3:*', { Resource: undefined, NotResource: 'arn:aws:s3:::x' })],
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
    return analysePolicy(parsePolicyDocument({ Statement: statements }), restricted);
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
    const findings = analysePolicy(parsePolicyDocument({ Statement: [allow('newservice:*')] }), custom);
    // Assess
    expect(findings.map((f) => f.action)).toEqual(['newservice:DestroyEverything']);
  });
});
