import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import { defaultRestrictedEntries, resolveRestrictedActions } from '../../src/domain/restricted-actions';
import type { ConfigError } from '../../src/errors';

const DATA_FILE = join(__dirname, '..', '..', 'src', 'domain', 'default-restricted-actions.json');
const GENERATED = '../../generated/iam-catalogue.json';

// The actions the default list must restrict, whether named directly or through a wildcard entry.
const REQUIRED = [
  // The AWS reference sample.
  's3:DeleteBucket',
  's3:DeleteObject',
  // Privilege escalation.
  'iam:PassRole',
  'iam:CreatePolicyVersion',
  'iam:SetDefaultPolicyVersion',
  'iam:AttachUserPolicy',
  'iam:AttachGroupPolicy',
  'iam:AttachRolePolicy',
  'iam:PutUserPolicy',
  'iam:PutGroupPolicy',
  'iam:PutRolePolicy',
  'iam:CreateAccessKey',
  'iam:CreateLoginProfile',
  'iam:UpdateLoginProfile',
  'iam:UpdateAssumeRolePolicy',
  'iam:AddUserToGroup',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'lambda:UpdateFunctionCode',
  // Audit tampering.
  'cloudtrail:StopLogging',
  'cloudtrail:DeleteTrail',
  'cloudtrail:UpdateTrail',
  'cloudtrail:PutEventSelectors',
  'guardduty:DeleteDetector',
  'guardduty:UpdateDetector',
  'config:StopConfigurationRecorder',
  'config:DeleteConfigurationRecorder',
  'securityhub:DisableSecurityHub',
  'access-analyzer:DeleteAnalyzer',
  'logs:DeleteLogGroup',
  // Key and data destruction or exposure.
  'kms:ScheduleKeyDeletion',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:PutKeyPolicy',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:PutBucketPublicAccessBlock',
  's3:PutAccountPublicAccessBlock',
  'ec2:DeleteSnapshot',
  'rds:DeleteDBInstance',
  'backup:DeleteBackupVault',
  'organizations:LeaveOrganization',
];

describe('default restricted actions', () => {
  const catalogue = loadGeneratedCatalogue();

  it('resolves against the generated catalogue and restricts every required action', () => {
    // Prepare
    const entries = defaultRestrictedEntries();

    // Act
    const resolved = resolveRestrictedActions(entries, catalogue).actions.map((action) => action.action);

    // Assess
    expect(resolved).toEqual(expect.arrayContaining(REQUIRED));
  });

  it('stays focused: between 40 and 70 entries', () => {
    // Prepare / Act
    const entries = defaultRestrictedEntries();

    // Assess
    expect(entries.length).toBeGreaterThanOrEqual(40);
    expect(entries.length).toBeLessThanOrEqual(70);
  });

  it.each(defaultRestrictedEntries().map((entry) => [entry.action, entry]))(
    '%s exists in the catalogue in canonical case and has a one-line reason',
    (_action, entry) => {
      // Prepare
      const [service = '', name = ''] = entry.action.split(':');
      const known = catalogue.actionsOf(service) ?? [];

      // Act
      const resolved = resolveRestrictedActions([entry], catalogue).actions;

      // Assess: a wildcard must match something (resolving throws otherwise); a plain name must be known.
      expect(resolved.length).toBeGreaterThan(0);
      if (!/[*?]/.test(entry.action)) expect(known).toContain(name);
      expect(service).toBe(service.toLowerCase());
      expect(entry.action).toBe(entry.action.trim());
      expect(entry.reason?.trim()).toBeTruthy();
      expect(entry.reason).not.toMatch(/\n/);
    },
  );

  it('has no duplicate entries and no entry whose actions another entry already covers', () => {
    // Prepare
    const entries = defaultRestrictedEntries();

    // Act
    const lowers = entries.map((entry) => entry.action.toLowerCase());
    const perEntry = entries.map((entry) => resolveRestrictedActions([entry], catalogue).actions.length);
    const total = resolveRestrictedActions(entries, catalogue).actions.length;

    // Assess: if no two entries overlap, the union is exactly the sum of the parts.
    expect(new Set(lowers).size).toBe(lowers.length);
    expect(total).toBe(perEntry.reduce((sum, count) => sum + count, 0));
  });

  it('keeps one entry per line in the data file', () => {
    // Prepare
    const lines = readFileSync(DATA_FILE, 'utf8').trimEnd().split('\n');

    // Act
    const entryLines = lines.slice(1, -1);

    // Assess
    expect(lines[0]).toBe('[');
    expect(lines.at(-1)).toBe(']');
    expect(entryLines).toHaveLength(defaultRestrictedEntries().length);
    for (const line of entryLines) {
      expect(line).toMatch(/^ {2}\{ "action": "[^"]+", (?:"critical": true, )?"reason": "[^"]+" \},?$/);
    }
  });

  it('marks the grants that amount to administrator critical, and few others', () => {
    // Prepare
    const entries = defaultRestrictedEntries();

    // Act
    const critical = entries.filter((e) => e.critical).map((e) => e.action);

    // Assess
    expect(critical).toEqual(
      expect.arrayContaining([
        'iam:Put*Policy',
        'iam:Attach*Policy',
        'iam:CreatePolicyVersion',
        'iam:PassRole',
      ]),
    );
    expect(critical.length).toBeLessThan(entries.length / 4);
  });

  it('returns a fresh copy on each call', () => {
    // Prepare
    const first = defaultRestrictedEntries();

    // Act
    first.splice(0, first.length);

    // Assess
    expect(defaultRestrictedEntries().length).toBeGreaterThan(0);
  });
});

describe('loadGeneratedCatalogue', () => {
  type Isolated = { load: () => unknown; IsolatedConfigError: typeof ConfigError };

  afterEach(() => {
    jest.dontMock(GENERATED);
    jest.resetModules();
  });

  // A fresh module registry per case, so the memoised catalogue and the mocked file do not leak; the error
  // class comes from the same registry, or `instanceof` would compare two copies of it.
  function loadWith(factory: () => unknown): Isolated {
    jest.resetModules();
    jest.doMock(GENERATED, factory);
    const data =
      require('../../src/domain/catalogue-data') as typeof import('../../src/domain/catalogue-data');
    const errors = require('../../src/errors') as typeof import('../../src/errors');
    return { load: data.loadGeneratedCatalogue, IsolatedConfigError: errors.ConfigError };
  }

  it('loads the generated catalogue once and shares it', () => {
    // Prepare / Act
    const first = loadGeneratedCatalogue();
    const second = loadGeneratedCatalogue();

    // Assess
    expect(second).toBe(first);
    expect(first.services()).toEqual(expect.arrayContaining(['iam', 's3', 'kms', 'access-analyzer']));
    expect(first.actionsOf('S3')).toContain('DeleteBucket');
  });

  it('tells the operator to build the catalogue when the file is missing', () => {
    // Prepare
    const { load, IsolatedConfigError } = loadWith(() => {
      throw Object.assign(new Error(`Cannot find module '${GENERATED}'`), { code: 'MODULE_NOT_FOUND' });
    });

    // Act
    const act = () => load();

    // Assess
    expect(act).toThrow(IsolatedConfigError);
    expect(act).toThrow(/missing; run `npm run build:catalogue` \(or `npm ci`/);
  });

  it('does not memoise a failure', () => {
    // Prepare
    let calls = 0;
    const { load } = loadWith(() => {
      calls += 1;
      throw Object.assign(new Error('not there'), { code: 'MODULE_NOT_FOUND' });
    });

    // Act
    expect(load).toThrow(/missing/);
    expect(load).toThrow(/missing/);

    // Assess
    expect(calls).toBe(2);
  });

  it('reports an unreadable file as a ConfigError keeping the cause', () => {
    // Prepare
    const syntax = new SyntaxError('Unexpected end of JSON input');
    const { load, IsolatedConfigError } = loadWith(() => {
      throw syntax;
    });

    // Act
    let caught: unknown;
    try {
      load();
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(IsolatedConfigError);
    expect((caught as Error).message).toMatch(/cannot be read \(Unexpected end of JSON input\)/);
    expect((caught as Error).cause).toBe(syntax);
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', ['s3'], /not a JSON object/],
    ['no source', { generatedFrom: 'x', services: { s3: ['GetObject'] } }, /"source" is not a string/],
    ['no services', { source: 'x', generatedFrom: 'x' }, /"services" is not an object/],
    ['empty services', { source: 'x', generatedFrom: 'x', services: {} }, /"services" is empty/],
    [
      'a non-array service',
      { source: 'x', generatedFrom: 'x', services: { s3: 'GetObject' } },
      /services\.s3 is/,
    ],
    ['a non-string action', { source: 'x', generatedFrom: 'x', services: { s3: [1] } }, /services\.s3 holds/],
  ])('rejects a malformed catalogue (%s) with a ConfigError', (_label, data, message) => {
    // Prepare
    const { load, IsolatedConfigError } = loadWith(() => data);

    // Act
    const act = () => load();

    // Assess
    expect(act).toThrow(IsolatedConfigError);
    expect(act).toThrow(message);
    expect(act).toThrow(/npm run build:catalogue/);
  });
});
