/**
 * `npm start`: the whole gate on this machine, with no AWS account and no Slack workspace. Starts the
 * sandbox in real time (the definition's own waits and a one-day approval deadline), the reconciliation
 * sweep and the Slack delivery worker on a short schedule, and the web console; stops cleanly on Ctrl-C.
 *
 * Settings: `.env` (POLICY_GATE_CONSOLE_HOST, POLICY_GATE_CONSOLE_PORT, POLICY_GATE_SWEEP_SECONDS,
 * POLICY_GATE_SLACK_RECOVERY_SECONDS, POLICY_GATE_DATA_DIR), then the environment, then flags (--host,
 * --port, --data-dir, --env-file). Without a data directory everything is in memory; with one, approvals,
 * the IAM account and pending executions survive a restart. `--organization` runs an AWS Organization
 * instead of one account: the central account and two member accounts in two OUs (in memory only).
 */
import { existsSync, readFileSync } from 'node:fs';
import { seedAccount } from './console/samples';
import { startConsole } from './console/server';
import { DEMO_ORGANIZATION } from './organization-sandbox';
import { SLACK_CHANNEL, SLACK_USERS, startSandbox } from './sandbox';

const KEYS = [
  'POLICY_GATE_CONSOLE_HOST',
  'POLICY_GATE_CONSOLE_PORT',
  'POLICY_GATE_SWEEP_SECONDS',
  'POLICY_GATE_SLACK_RECOVERY_SECONDS',
  'POLICY_GATE_DATA_DIR',
] as const;
type Settings = Record<(typeof KEYS)[number], string | undefined>;

/** Parses a dotenv file's KEY=value lines (comments, blank lines, optional quotes); other keys are ignored. */
export function parseEnvFile(text: string): Partial<Settings> {
  const out: Partial<Settings> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1] || !(KEYS as readonly string[]).includes(match[1])) continue;
    const raw = match[2] ?? '';
    const value = /^(['"])(.*)\1$/.exec(raw)?.[2] ?? raw.replace(/\s+#.*$/, '');
    out[match[1] as (typeof KEYS)[number]] = value;
  }
  return out;
}

/** The settings: defaults, then `.env`, then the environment, then flags. */
export function settingsOf(
  argv: string[],
  env: NodeJS.ProcessEnv,
  readEnvFile: (path: string) => string | undefined,
) {
  const flag = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  };
  const fromFile = parseEnvFile(readEnvFile(flag('env-file') ?? '.env') ?? '');
  const get = (key: (typeof KEYS)[number]) => {
    const value = env[key] ?? fromFile[key];
    return value === '' ? undefined : value;
  };
  const number = (text: string | undefined, fallback: number, name: string, min: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > 65_535 * 100)
      throw new Error(`${name} must be an integer >= ${min}`);
    return value;
  };
  const port = number(flag('port') ?? get('POLICY_GATE_CONSOLE_PORT'), 3000, 'the console port', 0);
  if (port > 65_535) throw new Error('the console port must be at most 65535');
  const dataDir = flag('data-dir') ?? get('POLICY_GATE_DATA_DIR');
  if (dataDir === '' || dataDir?.startsWith('--')) throw new Error('--data-dir needs a directory');
  const organization = argv.includes('--organization');
  // The data directory keeps one account's IAM; the member accounts' would be lost at a restart.
  if (organization && dataDir !== undefined) {
    throw new Error('--organization runs in memory: it cannot be combined with --data-dir');
  }
  return {
    ...(dataDir !== undefined && { dataDir }),
    organization,
    host: flag('host') ?? get('POLICY_GATE_CONSOLE_HOST') ?? '127.0.0.1',
    port,
    sweepSeconds: number(get('POLICY_GATE_SWEEP_SECONDS'), 60, 'POLICY_GATE_SWEEP_SECONDS', 1),
    slackRecoverySeconds: number(
      get('POLICY_GATE_SLACK_RECOVERY_SECONDS'),
      15,
      'POLICY_GATE_SLACK_RECOVERY_SECONDS',
      1,
    ),
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

async function main(): Promise<void> {
  const settings = settingsOf(process.argv.slice(2), process.env, (path) =>
    existsSync(path) ? readFileSync(path, 'utf8') : undefined,
  );
  if (!LOOPBACK.test(settings.host)) {
    console.warn(
      `warning: the console listens on ${settings.host}, not loopback: anyone who reaches it can approve changes`,
    );
  }
  // Real time: the definition's own retry intervals and waits, and the one-day approval deadline.
  const sandbox = await startSandbox({
    timeScale: 1,
    // As a stage deploys by default: one actor's changes within a minute share one Slack message.
    slackGroupWindowSeconds: 60,
    ...(settings.dataDir !== undefined && { dataDir: settings.dataDir }),
    ...(settings.organization && { organization: DEMO_ORGANIZATION }),
  });
  // A restored account was seeded on its first start (unless that start died before it got there).
  if (!sandbox.iam.state.policies.some((policy) => policy.awsManaged)) await seedAccount(sandbox);
  const web = await startConsole(sandbox, { host: settings.host, port: settings.port });
  // Each schedule waits for its previous run, as the stack's reserved concurrency of one does: a paced
  // Slack delivery run can outlast the interval.
  const timers: NodeJS.Timeout[] = [];
  const every = (seconds: number, what: string, run: () => Promise<unknown>) => {
    const slot = timers.length;
    const next = () => {
      timers[slot] = setTimeout(() => {
        run()
          .catch((error: unknown) => console.error(`${what} failed:`, (error as Error)?.name))
          .finally(() => {
            if (!stopping) next();
          });
      }, seconds * 1000);
    };
    next();
  };
  let stopping = false;
  every(settings.sweepSeconds, 'sweep', () => sandbox.sweep());
  every(settings.slackRecoverySeconds, 'Slack delivery', () => sandbox.recoverSlack());
  console.log(`PolicyGate sandbox started (no AWS account, no Slack workspace):
  console               ${web.url}
  IAM                   ${sandbox.iam.endpoint}
  STS                   ${sandbox.sts.endpoint}
  Step Functions        ${sandbox.sfn.endpoint} (the real definition and handlers)
  SNS                   ${sandbox.sns.endpoint}
  Slack Web API         ${sandbox.slack.url} (channel ${SLACK_CHANNEL})
  Slack interactivity   ${sandbox.interactivity.url}
  e-mail decision page  ${sandbox.decisionPage.url}
  data                  ${settings.dataDir === undefined ? 'in memory (--data-dir DIR keeps it across restarts)' : `${settings.dataDir}${sandbox.restored ? ' (restored)' : ''}`}
  sweep every ${settings.sweepSeconds}s, Slack delivery every ${settings.slackRecoverySeconds}s${
    sandbox.organization
      ? `\n  organization          ${Object.values(sandbox.organization.members)
          .map((m) => `${m.name} (${m.id}, OU ${m.unitName})`)
          .join(', ')} and the central account`
      : ''
  }
  Slack users: ${Object.values(SLACK_USERS)
    .map((u) => `${u.name} (${u.id})`)
    .join(', ')}
Open ${web.url} and simulate a change. Ctrl-C stops everything.`);

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    for (const t of timers) clearTimeout(t);
    await web.close();
    await sandbox.close();
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
