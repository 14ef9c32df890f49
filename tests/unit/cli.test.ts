import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/check-command';
import { main } from '../../src/cli/main';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';

const fixtures = join(__dirname, '..', 'fixtures');
const policy = (name: string) => join(fixtures, 'policies', name);
const event = (name: string) => join(fixtures, 'cloudtrail', name);

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

function run(argv: string[], options: { stdin?: string; files?: Record<string, string> } = {}): Run {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    readFile: (path) => options.files?.[path] ?? readFileSync(path, 'utf8'),
    readStdin: () => {
      if (options.stdin === undefined) throw new Error('no stdin in this test');
      return options.stdin;
    },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    catalogue: loadGeneratedCatalogue,
  };
  const status = main(argv, io);
  const lines = argv.includes('--json')
    ? stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  return { status, stdout, stderr, lines };
}

function findingActions(line: Record<string, unknown> | undefined): string[] {
  return ((line?.findings ?? []) as { action: string }[]).map((f) => f.action);
}

describe('policy-gate check --json', () => {
  test('prints one object per file, in the documented shape, and exits 1 when something is granted', () => {
    // Act
    const result = run([
      'check',
      '--json',
      '--restricted',
      's3:DeleteObject,iam:PassRole',
      policy('s3-cleanup.json'),
      policy('read-only.json'),
    ]);
    // Assess
    expect(result.status).toBe(1);
    expect(result.lines).toEqual([
      {
        file: policy('s3-cleanup.json'),
        restricted: true,
        findings: [
          {
            action: 's3:DeleteObject',
            conditional: false,
            statements: [
              {
                index: 1,
                sid: 'Cleanup',
                matchedBy: 's3:Delete*',
                resources: ['arn:aws:s3:::example-logs/*'],
              },
            ],
          },
        ],
      },
      { file: policy('read-only.json'), restricted: false, findings: [] },
    ]);
    expect(result.stderr).toBe('');
  });

  test('keys come in the documented order', () => {
    const { stdout } = run(['check', '--json', '--restricted', 's3:DeleteObject', policy('s3-cleanup.json')]);
    expect(stdout).toMatch(
      /^\{"file":"[^"]+","restricted":true,"findings":\[\{"action":"s3:DeleteObject","conditional":false,"statements":\[\{"index":1,"sid":"Cleanup","matchedBy":"s3:Delete\*","resources":\["arn:aws:s3:::example-logs\/\*"\]\}\]\}\]\}\n$/,
    );
  });

  test('exits 0 when no file grants a restricted action', () => {
    const result = run(['check', '--json', policy('read-only.json')]);
    expect(result.status).toBe(0);
    expect(result.lines).toEqual([{ file: policy('read-only.json'), restricted: false, findings: [] }]);
  });

  test('a malformed or missing file yields an error line, the others are still checked, exit 2', () => {
    // Act
    const result = run([
      'check',
      '--json',
      policy('malformed-effect.json'),
      policy('does-not-exist.json'),
      policy('s3-cleanup.json'),
    ]);
    // Assess
    expect(result.status).toBe(2);
    expect(result.lines).toHaveLength(3);
    expect(result.lines[0]).toEqual({
      file: policy('malformed-effect.json'),
      error: expect.stringMatching(/^Statement\[1\]\.Effect: must be "Allow" or "Deny"/),
    });
    expect(result.lines[1]).toEqual({
      file: policy('does-not-exist.json'),
      error: expect.stringMatching(/no such file/),
    });
    expect(result.lines[2]).toMatchObject({ file: policy('s3-cleanup.json'), restricted: true });
  });

  test('not JSON at all is an error naming the problem', () => {
    const result = run(['check', '--json', 'x.json'], { files: { 'x.json': 'Statement: nope' } });
    expect(result.lines).toEqual([{ file: 'x.json', error: expect.stringMatching(/not valid JSON/) }]);
    expect(result.status).toBe(2);
  });

  test('a URL-encoded document is decoded and checked', () => {
    const result = run(['check', '--json', policy('url-encoded.txt')]);
    expect(result.lines[0]).toMatchObject({
      restricted: true,
      findings: [{ action: 'kms:ScheduleKeyDeletion' }],
    });
  });

  test('reads standard input for -', () => {
    // Prepare
    const stdin = JSON.stringify({
      Statement: { Effect: 'Allow', Action: 'cloudtrail:StopLogging', Resource: '*' },
    });
    // Act
    const result = run(['check', '--json', '-'], { stdin });
    // Assess
    expect(result.lines).toEqual([
      {
        file: '-',
        restricted: true,
        findings: [
          {
            action: 'cloudtrail:StopLogging',
            conditional: false,
            statements: [{ index: 0, matchedBy: 'cloudtrail:StopLogging', resources: ['*'] }],
          },
        ],
      },
    ]);
  });

  test('NotAction grants are reported as such, conditional grants as conditional', () => {
    const [line] = run(['check', '--json', policy('not-action-admin.json')]).lines;
    const findings = line?.findings as {
      action: string;
      conditional: boolean;
      statements: { matchedBy: string }[];
    }[];
    const deleteBucket = findings.find((f) => f.action === 's3:DeleteBucket');
    const passRole = findings.find((f) => f.action === 'iam:PassRole');
    expect(deleteBucket?.statements[0]?.matchedBy).toBe(
      'NotAction (every action except iam:*, organizations:*)',
    );
    expect(passRole).toMatchObject({ conditional: true, statements: [{ matchedBy: 'iam:PassRole' }] });
    expect(findings.some((f) => f.action === 'iam:CreateAccessKey')).toBe(false);
  });
});

describe('policy-gate check on CloudTrail input', () => {
  test('checks the document inside an EventBridge event (policyDocument given as a JSON string)', () => {
    // Prepare
    const file = event('create-policy.json');
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    const document = JSON.parse(raw.detail.requestParameters.policyDocument);
    const direct = run(['check', '--json', '-'], { stdin: JSON.stringify(document) }).lines[0];
    // Act
    const viaEvent = run(['check', '--json', file]).lines[0];
    // Assess
    expect(viaEvent).toEqual({ ...direct, file });
  });

  test('checks the document inside a bare CloudTrail record', () => {
    const file = event('put-user-policy-bare.json');
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    const direct = run(['check', '--json', '-'], { stdin: raw.requestParameters.policyDocument }).lines[0];
    expect(run(['check', '--json', file]).lines[0]).toEqual({ ...direct, file });
  });

  test('an attachment event has no document to check: a clear error', () => {
    const result = run(['check', '--json', event('attach-role-policy.json')]);
    expect(result.status).toBe(2);
    expect(result.lines[0]?.error).toMatch(/AttachRolePolicy carries no policy document/);
  });

  test('a failed call is reported as such', () => {
    const result = run(['check', '--json', event('failed-create-policy-version-malformed.json')]);
    expect(result.lines[0]?.error).toMatch(/changes no policy document/);
  });

  test('aws iam get-policy-version output is understood (URL-encoded Document)', () => {
    // Prepare
    const document = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
    };
    const output = {
      PolicyVersion: {
        Document: encodeURIComponent(JSON.stringify(document)),
        VersionId: 'v3',
        IsDefaultVersion: true,
      },
    };
    // Act
    const result = run(['check', '--json', 'out.json'], { files: { 'out.json': JSON.stringify(output) } });
    // Assess
    expect(findingActions(result.lines[0])).toContain('iam:PassRole');
  });
});

describe('restricted lists on the command line', () => {
  test('--restricted replaces the default list, wildcards expanded', () => {
    const result = run([
      'check',
      '--json',
      '--restricted',
      's3:GetObject, s3:List*',
      policy('read-only.json'),
    ]);
    const actions = findingActions(result.lines[0]);
    expect(actions).toContain('s3:GetObject');
    expect(actions).toContain('s3:ListBucket');
    expect(actions.every((a) => a.startsWith('s3:'))).toBe(true);
    expect(result.status).toBe(1);
  });

  test('--restricted-file takes a text file, one entry a line', () => {
    const result = run(['check', '--json', '--restricted-file', 'list.txt', policy('s3-cleanup.json')], {
      files: { 'list.txt': '# ours\ns3:PutBucketPolicy\n\niam:PassRole # escalation\n' },
    });
    expect(result.lines).toEqual([{ file: policy('s3-cleanup.json'), restricted: false, findings: [] }]);
    expect(result.status).toBe(0);
  });

  test('--restricted-file takes a JSON array', () => {
    const result = run(['check', '--json', '--restricted-file', 'list.json', policy('s3-cleanup.json')], {
      files: { 'list.json': '["s3:DeleteObject"]' },
    });
    expect(findingActions(result.lines[0])).toEqual(['s3:DeleteObject']);
  });

  test.each([
    [['--restricted', 'DeleteBucket'], /DeleteBucket/],
    [['--restricted', 'nosuchservice:*'], /matches no action/],
    [['--restricted', ' , '], /at least one action/],
    [['--restricted', 's3:DeleteBucket', '--restricted-file', 'x'], /not both/],
    [['--restricted-file', 'missing-list.txt'], /cannot read --restricted-file missing-list.txt/],
  ])('a bad restricted list %j is a usage error (exit 2) with a clear message', (options, message) => {
    const result = run(['check', '--json', ...options, policy('s3-cleanup.json')]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});

describe('usage', () => {
  test.each([[['check']], [['check', '--jsn', 'x.json']], [['frobnicate']], [[]]])(
    '%j exits 2 with usage on stderr or stdout',
    (argv) => {
      const result = run(argv);
      expect(result.status).toBe(2);
      expect(`${result.stderr}${result.stdout}`).toMatch(/Usage: policy-gate/);
    },
  );

  test('check --help exits 0', () => {
    const result = run(['check', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--restricted-file/);
  });
});

describe('human output', () => {
  test('a readable table per file: action, conditional, statement, pattern, resources', () => {
    // Act
    const result = run(['check', policy('not-action-admin.json'), policy('read-only.json')]);
    // Assess
    expect(result.status).toBe(1);
    const [first, second] = result.stdout.split('\n\n');
    expect(first).toMatch(/not-action-admin\.json: RESTRICTED, grants \d+ restricted actions/);
    expect(first).toMatch(/ACTION\s+CONDITIONAL\s+STATEMENT\s+MATCHED BY\s+RESOURCES/);
    expect(first).toMatch(
      /iam:PassRole\s+yes\s+#1 PassRoleToEc2\s+iam:PassRole\s+arn:aws:iam::123456789012:role\/ec2-\*/,
    );
    expect(first).toMatch(
      /s3:DeleteBucket\s+no\s+#0 EverythingButIam\s+NotAction \(every action except iam:\*, organizations:\*\)\s+\*/,
    );
    expect(second).toMatch(/read-only\.json: OK, grants no restricted action/);
  });

  test('errors go to stderr with the file name', () => {
    const result = run(['check', policy('malformed-effect.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/malformed-effect\.json: error: Statement\[1\]\.Effect/);
  });
});

describe('adversarial input', () => {
  // Hundreds of statements each granting everything, against every action in the catalogue: each
  // (action, statement) pair must be reported, far more work than one analysis may do.
  const everything = JSON.stringify({
    Version: '2012-10-17',
    Statement: Array.from({ length: 250 }, () => ({ Effect: 'Allow', Action: '*', Resource: '*' })),
  });
  const grantsPassRole = JSON.stringify({
    Statement: { Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' },
  });

  test('a document past the analysis budget is an error line like any unreadable input; exit 2 wins over 1', () => {
    // Act
    const result = run(['check', '--json', '--restricted', '*:*', 'huge.json', 'pass-role.json'], {
      files: { 'huge.json': everything, 'pass-role.json': grantsPassRole },
    });
    // Assess
    expect(result.status).toBe(2);
    expect(result.lines).toHaveLength(2);
    expect(result.lines[0]).toEqual({
      file: 'huge.json',
      error: expect.stringMatching(/^analysis budget exceeded/),
    });
    expect(result.lines[1]).toMatchObject({ file: 'pass-role.json', restricted: true });
    expect(result.stderr).toBe('');
  });

  test('without --json the budget error goes to stderr with the file name', () => {
    const result = run(['check', '--restricted', '*:*', 'huge.json'], { files: { 'huge.json': everything } });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^huge\.json: error: analysis budget exceeded/);
  });

  test('patterns with thousands of wildcards are checked, not crashed on', () => {
    // Prepare: as regular expressions these were invalid (too large) or backtracked for minutes.
    const document = JSON.stringify({
      Statement: [
        { Effect: 'Allow', Action: `iam:${'*?'.repeat(2_000)}`, Resource: '*' },
        { Effect: 'Allow', Action: `iam:${'*'.repeat(4_000)}PassRole`, Resource: '*' },
        { Effect: 'Allow', Action: `kms:${'?*'.repeat(10)}x`, Resource: '*' },
      ],
    });
    // Act
    const result = run(['check', '--json', 'wild.json'], { files: { 'wild.json': document } });
    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('');
    const [line] = result.lines;
    expect(findingActions(line)).toEqual(['iam:PassRole']);
    const [finding] = (line?.findings ?? []) as { statements: { index: number; matchedBy: string }[] }[];
    expect(finding?.statements.map((s) => s.index)).toEqual([1]);
    expect(finding?.statements[0]?.matchedBy.length).toBeLessThan(300);
  });

  test('a restricted entry with thousands of wildcards is expanded, or refused when it matches nothing', () => {
    // Act
    const expanded = run(['check', '--json', '--restricted', `iam:${'*'.repeat(3_000)}PassRole`, 'p.json'], {
      files: { 'p.json': grantsPassRole },
    });
    const impossible = run(['check', '--json', '--restricted', `iam:${'*?'.repeat(3_000)}`, 'p.json'], {
      files: { 'p.json': grantsPassRole },
    });
    // Assess
    expect(expanded.status).toBe(1);
    expect(findingActions(expanded.lines[0])).toEqual(['iam:PassRole']);
    expect(impossible.status).toBe(2);
    expect(impossible.stderr).toMatch(/matches no action in the IAM catalogue/);
  });
});
