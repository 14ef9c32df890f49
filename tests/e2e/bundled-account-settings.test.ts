/**
 * The per-account settings document as a deployed function reads it (issue 13): the configuration code
 * bundled with the Lambda build options (scripts/lambda-esbuild.js), the validated document written beside
 * the bundle as the deploy guard hands it to the build, and read at the first invocation. A document past
 * Lambda's 4 KB environment is applied; a missing or invalid one stops the function (fail closed), never
 * falls back to the stage's settings.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const lambdaBuild = require('../../scripts/lambda-esbuild.js') as {
  esbuildOptions: Record<string, unknown> & { plugins: Array<{ name: string }> };
  accountSettingsBesideBundle: (text: () => string | undefined) => { name: string };
  ACCOUNT_SETTINGS_FILE: string;
};

const ENTRY = join(__dirname, '..', 'fixtures', 'bundled-settings', 'entry.ts');
const ENV = {
  PATH: process.env.PATH ?? '',
  APPROVALS_TABLE: 'approvals',
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:alerts',
  ORGANIZATION_ID: 'o-abcdefghij',
  MEMBER_ROLE_EXTERNAL_ID: 'policy-gate-external-0123456789',
};

/** 1,000 accounts, each with its own channel: about 50 KB, twelve times Lambda's whole environment. */
function largeDocument(): string {
  const accounts: Record<string, { slackChannelId: string }> = {};
  for (let i = 0; i < 1000; i++) {
    accounts[String(100000000000 + i)] = { slackChannelId: `C0CHANNEL${String(i).padStart(4, '0')}` };
  }
  return JSON.stringify({ version: 1, accounts });
}

const dirs: string[] = [];

/** Bundles the entry as a function is bundled, with `text` as the deploy guard's validated document. */
async function bundle(text: string | undefined): Promise<string> {
  const outdir = mkdtempSync(join(tmpdir(), 'policy-gate-bundled-settings-'));
  dirs.push(outdir);
  const { esbuildOptions, accountSettingsBesideBundle } = lambdaBuild;
  await build({
    ...esbuildOptions,
    plugins: [
      ...esbuildOptions.plugins.filter(
        (plugin) => plugin.name !== 'policy-gate-account-settings-beside-bundle',
      ),
      accountSettingsBesideBundle(() => text),
    ],
    entryPoints: [ENTRY],
    outdir,
    logLevel: 'silent',
  } as Parameters<typeof build>[0]);
  return outdir;
}

async function run(outdir: string, env: Record<string, string>, accountId: string) {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(outdir, 'entry.js'), accountId], {
      env: { ...ENV, ...env },
      timeout: 60_000,
    });
    return { ok: true as const, output: JSON.parse(stdout) as { accounts: number; channel?: string } };
  } catch (error) {
    return { ok: false as const, output: String((error as { stderr?: string }).stderr) };
  }
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the settings document shipped beside the code', () => {
  test('a document far past 4 KB is read at start and applied', async () => {
    // Prepare
    const text = largeDocument();
    const outdir = await bundle(text);
    // Act
    const result = await run(outdir, { ACCOUNT_SETTINGS_BUNDLED: 'true' }, '100000000999');
    // Assess
    expect(Buffer.byteLength(text)).toBeGreaterThan(10 * 4096);
    expect(result).toEqual({ ok: true, output: { accounts: 1000, channel: 'C0CHANNEL0999' } });
  }, 120_000);

  test('without the flag the bundled file is not read, and without a document no file is written', async () => {
    // Prepare
    const withDocument = await bundle(largeDocument());
    const withoutDocument = await bundle(undefined);
    // Act
    const unflagged = await run(withDocument, {}, '100000000999');
    const missing = await run(withoutDocument, { ACCOUNT_SETTINGS_BUNDLED: 'true' }, '100000000999');
    // Assess
    expect(unflagged).toEqual({ ok: true, output: { accounts: 0, channel: 'C0STAGE0000' } });
    expect(missing.ok).toBe(false);
    expect(missing.output).toMatch(
      /ConfigError: .*ACCOUNT_SETTINGS_BUNDLED is true but account-settings\.json cannot be read beside the code/,
    );
  }, 120_000);

  test.each([
    ['not JSON', '{"version":1,'],
    ['an unknown key', JSON.stringify({ version: 1, acounts: {} })],
    ['a malformed account id', JSON.stringify({ version: 1, accounts: { '12345': {} } })],
  ])(
    'a bundled document that is %s stops the function loudly, never the stage’s settings',
    async (_, text) => {
      // Prepare
      const outdir = await bundle(JSON.stringify({ version: 1 }));
      writeFileSync(join(outdir, lambdaBuild.ACCOUNT_SETTINGS_FILE), text);
      // Act
      const result = await run(outdir, { ACCOUNT_SETTINGS_BUNDLED: 'true' }, '100000000999');
      // Assess
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(/ConfigError: .*(bundled settings document|account-settings\.json)/);
    },
    120_000,
  );
});
