/**
 * `npm start`'s entry point as a real process: it prints where the console is, serves it on loopback, and
 * stops cleanly (exit 0) on SIGINT and SIGTERM. And how it reads its settings.
 */
import { parseEnvFile, settingsOf } from '../../local/start';
import { exitOf, startProcess } from '../support/npm-start';

jest.setTimeout(60_000);

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

  test('settings: the data directory from .env, the environment or --data-dir; none means in memory', () => {
    // Prepare
    const read = () => 'POLICY_GATE_DATA_DIR=.sandbox-data\n';
    // Act
    const none = settingsOf([], {}, () => undefined);
    const fromFile = settingsOf([], {}, read);
    const fromEnv = settingsOf([], { POLICY_GATE_DATA_DIR: '/tmp/a' }, read);
    const fromFlag = settingsOf(['--data-dir', '/tmp/b'], { POLICY_GATE_DATA_DIR: '/tmp/a' }, read);
    // Assess
    expect(none.dataDir).toBeUndefined();
    expect(fromFile.dataDir).toBe('.sandbox-data');
    expect(fromEnv.dataDir).toBe('/tmp/a');
    expect(fromFlag.dataDir).toBe('/tmp/b');
    expect(() => settingsOf(['--data-dir', '--port'], {}, () => undefined)).toThrow(/needs a directory/);
  });
});
