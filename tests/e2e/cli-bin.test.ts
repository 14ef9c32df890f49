import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildCli } from '../../scripts/build-cli';

const root = join(__dirname, '..', '..');
const policy = (name: string) => join(root, 'tests', 'fixtures', 'policies', name);

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [join(root, 'bin', 'policy-gate.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    input,
  });
}

// The bin runs the bundle in dist/, so rebuild it from the current sources first.
beforeAll(async () => {
  await buildCli();
}, 60_000);

describe('the installed policy-gate command', () => {
  test('checks files and exits 1 when a restricted action is granted', () => {
    // Act
    const result = cli(['check', '--json', policy('not-action-admin.json'), policy('read-only.json')]);
    // Assess
    expect(result.status).toBe(1);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.file, l.restricted])).toEqual([
      [policy('not-action-admin.json'), true],
      [policy('read-only.json'), false],
    ]);
  });

  test('reads standard input and exits 0 for a harmless policy', () => {
    const result = cli(
      ['check', '-'],
      JSON.stringify({ Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' } }),
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^-: OK, grants no restricted action/);
  });

  test('exits 2 on bad input', () => {
    const result = cli(['check', policy('malformed-effect.json')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Statement\[1\]\.Effect/);
  });

  test('npx policy-gate works from the project folder', () => {
    const result = spawnSync('npx', ['--no-install', 'policy-gate', 'check', policy('s3-cleanup.json')], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/s3:DeleteObject\s+no\s+#1 Cleanup\s+s3:Delete\*/);
  });
});
