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
    expect(defaults).toEqual({
      host: '127.0.0.1',
      port: 3000,
      sweepSeconds: 60,
      slackRecoverySeconds: 15,
      organization: false,
    });
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

  test('settings: --organization, in memory only', () => {
    // Act / Assess
    expect(settingsOf(['--organization'], {}, () => undefined).organization).toBe(true);
    expect(() => settingsOf(['--organization', '--data-dir', '/tmp/b'], {}, () => undefined)).toThrow(
      /cannot be combined with --data-dir/,
    );
  });

  test('npm start -- --organization: a risky change made in a member account from the console is quarantined there and shown with its account and OU', async () => {
    // Prepare
    const { child, url, output } = startProcess(['--port', '0', '--organization']);
    try {
      const consoleUrl = await url;
      // Act
      const simulatePage = await (await fetch(`${consoleUrl}/simulate`)).text();
      const answer = await fetch(`${consoleUrl}/api/simulate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sample: 'risky-create-policy', account: '111111111111' }),
      });
      const { changes } = (await answer.json()) as { changes: { status: string }[] };
      let slack = '';
      for (let i = 0; i < 100 && !slack.includes('payments-prod'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        slack = await (await fetch(`${consoleUrl}/slack`)).text();
      }
      const iam = await (await fetch(`${consoleUrl}/iam`)).text();
      const exited = exitOf(child);
      child.kill('SIGTERM');
      // Assess
      expect(output()).toMatch(/organization\s+payments-prod \(111111111111, OU Payments\), data-prod/);
      expect(simulatePage).toContain(
        '<option value="222222222222">222222222222 data-prod (OU Data platform)</option>',
      );
      expect(answer.status).toBe(200);
      expect(changes.map((c) => c.status)).toEqual(['PENDING']);
      expect(slack).toMatch(/Account name:.*payments-prod.*OU:.*Payments/s);
      expect(iam).toMatch(/Account 111111111111 payments-prod<\/h2>.*QUARANTINED by PolicyGate/s);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
