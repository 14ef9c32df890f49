/**
 * scripts/deploy-guard.js as `serverless package` (which `serverless deploy` runs first) really loads it: the real
 * osls packaging of serverless.yml, offline and without AWS credentials, refuses a stack PolicyGate cannot
 * protect (outside us-east-1, or a production stage nobody would hear from) before anything is packaged, and
 * packages a production stage once its alert address and Slack channel are given (`--param` counts).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const PACKAGE_TIMEOUT_MS = 120_000;
/** Every run starts at once; the one that packages may first wait for another packaging of this tree. */
const SETUP_TIMEOUT_MS = 2 * PACKAGE_TIMEOUT_MS + 10_000;

/**
 * serverless-esbuild bundles in `.esbuild/` of the project and deletes it afterwards, so two packagings of
 * this working tree at once (this suite and tests/unit/serverless-template.test.ts run in parallel Jest workers)
 * would delete each other's bundles. Both take this lock (a directory, created atomically) around packaging.
 * A refused run stops before serverless-esbuild runs, so it needs no lock.
 */
const PACKAGING_LOCK = join(
  tmpdir(),
  `policy-gate-packaging-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`,
);

function lockHolderIsGone(): boolean {
  try {
    const pid = Number(readFileSync(join(PACKAGING_LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    // No pid yet (the holder is between mkdir and write): only a lock left for minutes is stale.
    if (code === 'ENOENT') {
      try {
        return Date.now() - statSync(PACKAGING_LOCK).mtimeMs > 5 * 60_000;
      } catch {
        return false;
      }
    }
    return false;
  }
}

async function withPackagingLock<T>(run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + PACKAGE_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(PACKAGING_LOCK);
      writeFileSync(join(PACKAGING_LOCK, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockHolderIsGone()) rmSync(PACKAGING_LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another packaging still holds ${PACKAGING_LOCK}`);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await run();
  } finally {
    rmSync(PACKAGING_LOCK, { recursive: true, force: true });
  }
}

interface Run {
  /** The exit code; null when the process was killed (e.g. timed out). */
  code: number | null;
  /** Standard output and standard error together: osls prints errors to either. */
  output: string;
  /** What the run wrote to its package directory. */
  packaged: string[];
  packageDir: string;
}

const packageDirs: string[] = [];

/** `serverless package --package <a fresh temporary directory> ...args`, offline, with no AWS profile. */
function serverlessPackage(args: string[]): Promise<Run> {
  const packageDir = mkdtempSync(join(tmpdir(), 'policy-gate-guard-'));
  packageDirs.push(packageDir);
  const env = { ...process.env };
  // Packaging needs no AWS account; a developer's profile must not change the result.
  delete env.AWS_PROFILE;
  delete env.AWS_DEFAULT_PROFILE;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js'),
        'package',
        ...args,
        '--package',
        packageDir,
      ],
      { cwd: ROOT, env, timeout: PACKAGE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({
          code,
          output: `${stdout}\n${stderr}`,
          packaged: readdirSync(packageDir).sort(),
          packageDir,
        });
      },
    );
  });
}

const PROD_PARAMS = ['--param=alertEmail=security@example.com', '--param=slackChannelId=C0123456789'];

let prodWithoutSettings: Run;
let prodWithAlertEmailOnly: Run;
let ciInEurope: Run;
let prodWithSettings: Run;

beforeAll(async () => {
  [prodWithoutSettings, prodWithAlertEmailOnly, ciInEurope, prodWithSettings] = await Promise.all([
    serverlessPackage(['--stage', 'prod']),
    serverlessPackage(['--stage', 'prod', '--param=alertEmail=security@example.com']),
    serverlessPackage(['--stage', 'ci', '--region', 'eu-west-1']),
    withPackagingLock(() => serverlessPackage(['--stage', 'prod', ...PROD_PARAMS])),
  ]);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  for (const dir of packageDirs) rmSync(dir, { recursive: true, force: true });
});

describe('the deploy guard, loaded by serverless package', () => {
  test('refuses the production stage without alertEmail and slackChannelId, before packaging anything', () => {
    // Act
    const { code, output, packaged } = prodWithoutSettings;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toContain('PolicyGate refuses to deploy');
    expect(output).toMatch(/\balertEmail\b/);
    expect(output).toMatch(/\bslackChannelId\b/);
    expect(packaged).toEqual([]);
  });

  test('names only the setting still missing when the other one is given with --param', () => {
    // Act
    const { code, output, packaged } = prodWithAlertEmailOnly;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toMatch(/\bslackChannelId\b/);
    expect(output).not.toMatch(/\balertEmail\b/);
    expect(packaged).toEqual([]);
  });

  test('refuses a region other than us-east-1, naming us-east-1, before packaging anything', () => {
    // Act
    const { code, output, packaged } = ciInEurope;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toContain('PolicyGate refuses to deploy');
    expect(output).toContain('us-east-1');
    expect(output).toContain('eu-west-1');
    expect(packaged).toEqual([]);
  });

  test('packages the production stage given both settings with --param, and the template uses them', () => {
    // Prepare
    const { code, output, packaged, packageDir } = prodWithSettings;
    // Act
    const template = JSON.parse(
      readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const subscription = template.Resources.AlertEmailSubscription?.Properties;
    const channels = Object.values(template.Resources)
      .filter(({ Type }) => Type === 'AWS::Lambda::Function')
      .map(({ Properties }) => (Properties.Environment as { Variables: Record<string, unknown> }).Variables);
    // Assess
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('Service packaged') });
    expect(output).not.toContain('PolicyGate refuses to deploy');
    expect(packaged).toEqual(
      expect.arrayContaining(['cloudformation-template-update-stack.json', 'analyseChange.zip']),
    );
    expect(subscription).toMatchObject({ Protocol: 'email', Endpoint: 'security@example.com' });
    expect(channels.length).toBeGreaterThan(0);
    for (const variables of channels) {
      expect(variables).toMatchObject({ STAGE: 'prod', SLACK_CHANNEL_ID: 'C0123456789' });
    }
  });
});
