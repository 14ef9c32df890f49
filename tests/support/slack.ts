import { type Logger, LogLevel } from '@slack/bolt';
import type { Sandbox } from '../../local/sandbox';

/** A Slack SDK logger that drops everything, for tests whose failures are asserted, not logged. */
export const silentSlackLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/** One JSON log line PolicyGate's logger wrote. */
export interface LogEntry {
  level: string;
  message: string;
  [key: string]: unknown;
}

/**
 * Captures what PolicyGate's loggers write to stdout until `restore()`: the raw text (to assert that no
 * secret appears anywhere) and the parsed JSON lines (to assert that an attempt was logged, and how).
 */
export function captureLogs(): { text(): string; entries(): LogEntry[]; restore(): void } {
  const chunks: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  return {
    text: () => chunks.join(''),
    entries: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as LogEntry];
          } catch {
            return [];
          }
        }),
    restore: () => write.mockRestore(),
  };
}

/**
 * Waits until an approval of the sandbox has its task token (and, with `withMessage`, its Slack message)
 * and returns its id; `except` skips approvals already known.
 */
export async function pendingApproval(
  sandbox: Sandbox,
  { withMessage = true, except = [] as readonly string[] } = {},
): Promise<string> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    for (const { execution } of sandbox.executions) {
      const input = sandbox.sfn.describeExecution(execution.executionArn).input as {
        detail?: { eventID?: string };
      };
      const id = input?.detail?.eventID;
      if (!id || except.includes(id)) continue;
      const record = await sandbox.store.get(id);
      if (record?.taskToken && (!withMessage || record.slackMessage)) return id;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no approval became pending');
}
