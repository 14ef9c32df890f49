import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type LocalCloudFormationServer, startCloudFormationServer } from '../../local/cloudformation/server';

const root = join(__dirname, '..', '..');
const FUNCTION_URL = 'https://example.lambda-url.us-east-1.on.aws/';

/** The environment without any real AWS configuration, plus `extra`. */
function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return { ...env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', ...extra };
}

/**
 * Runs the script as `npm run slack:manifest` would. Asynchronous on purpose: the stand-in lives in this
 * process and must keep answering while the child runs.
 */
function script(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('npx', ['--no-install', 'tsx', 'scripts/slack-manifest.ts', ...args], {
      cwd: root,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('scripts/slack-manifest.ts', () => {
  let server: LocalCloudFormationServer;

  beforeAll(async () => {
    server = await startCloudFormationServer({
      stacks: { 'policy-gate-x': { SlackInteractivityLambdaFunctionUrl: FUNCTION_URL } },
    });
  });

  afterAll(async () => {
    await server.close();
  });

  test('prints a manifest that parses as JSON when given --url', async () => {
    // Act
    const result = await script(['--stage', 'x', '--url', FUNCTION_URL], isolatedEnv({}));
    // Assess
    expect(result.status).toBe(0);
    const manifest = JSON.parse(result.stdout);
    expect(manifest.settings.interactivity.request_url).toBe(FUNCTION_URL);
    expect(manifest.display_information.name).toBe('PolicyGate (x)');
    expect(result.stderr).toContain('policy-gate/x/slack');
  });

  test('looks the URL up through AWS_ENDPOINT_URL_CLOUDFORMATION and exits 2 for a missing stack', async () => {
    // Prepare
    const env = isolatedEnv({
      AWS_ENDPOINT_URL_CLOUDFORMATION: server.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
      AWS_SECRET_ACCESS_KEY: 'local-test-secret',
    });
    // Act
    const [found, missing] = await Promise.all([
      script(['--stage', 'x'], env),
      script(['--stage', 'gone'], env),
    ]);
    // Assess
    expect(found.status).toBe(0);
    expect(JSON.parse(found.stdout).settings.interactivity.request_url).toBe(FUNCTION_URL);
    expect(missing.status).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain(
      'slack-manifest: stack policy-gate-gone not found in us-east-1: run `sls deploy --stage gone` first',
    );
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
