/**
 * `npm start`'s entry point as a real process: it prints where the console is, serves it on loopback, and
 * stops cleanly (exit 0) on SIGINT and SIGTERM. And how it reads its settings.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseEnvFile, settingsOf } from '../../local/start';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');

function startProcess(): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'local/start.ts', '--port', '0'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /console\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before starting: ${out}`)));
  });
  return { child, url, output: () => out };
}

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

describe('npm start', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`starts the sandbox and console, and ${signal} stops it with exit 0`, async () => {
      // Prepare
      const { child, url, output } = startProcess();
      try {
        const consoleUrl = await url;
        // Act
        const page = await fetch(`${consoleUrl}/simulate`);
        const exited = exitOf(child);
        child.kill(signal);
        const code = await exited;
        // Assess
        expect(page.status).toBe(200);
        expect(output()).toMatch(/e-mail decision page\s+http:\/\/127\.0\.0\.1:\d+/);
        expect(code).toBe(0);
        await expect(fetch(`${consoleUrl}/slack`)).rejects.toThrow();
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  }

  test('settings: defaults, then .env, then the environment, then flags; bad values are refused', () => {
    // Prepare
    const file =
      'POLICY_GATE_CONSOLE_PORT=4000\n# comment\nPOLICY_GATE_CONSOLE_HOST="::1"\nOTHER=1\nPOLICY_GATE_SWEEP_SECONDS=30 # half a minute\n';
    const read = () => file;
    // Act
    const defaults = settingsOf([], {}, () => undefined);
    const fromFile = settingsOf([], {}, read);
    const fromEnv = settingsOf([], { POLICY_GATE_CONSOLE_PORT: '5000' }, read);
    const fromFlags = settingsOf(
      ['--port', '6000', '--host=127.0.0.2'],
      { POLICY_GATE_CONSOLE_PORT: '5000' },
      read,
    );
    // Assess
    expect(parseEnvFile(file)).toEqual({
      POLICY_GATE_CONSOLE_PORT: '4000',
      POLICY_GATE_CONSOLE_HOST: '::1',
      POLICY_GATE_SWEEP_SECONDS: '30',
    });
    expect(defaults).toEqual({ host: '127.0.0.1', port: 3000, sweepSeconds: 60, slackRecoverySeconds: 15 });
    expect(fromFile).toMatchObject({ host: '::1', port: 4000, sweepSeconds: 30 });
    expect(fromEnv.port).toBe(5000);
    expect(fromFlags).toMatchObject({ host: '127.0.0.2', port: 6000 });
    expect(() => settingsOf(['--port', '70000'], {}, () => undefined)).toThrow(/at most 65535/);
    expect(() => settingsOf(['--port', 'x'], {}, () => undefined)).toThrow(/integer/);
    expect(() => settingsOf([], { POLICY_GATE_SWEEP_SECONDS: '0' }, () => undefined)).toThrow(
      /POLICY_GATE_SWEEP_SECONDS/,
    );
  });
});
