import { parseArgs } from 'node:util';
import { parseStrictJson } from '../domain/json-strict';
import { type CliIo, EXIT_BAD_INPUT, EXIT_CLEAN, UsageError } from './check-command';

/** Exit status when the sandbox could not be reached or refused the change. */
export const EXIT_SANDBOX = 4;

export const SIMULATE_USAGE = `Usage: policy-gate simulate [--console URL] [--actor alice|role] FILE (or - for stdin)

Sends an IAM change to a running sandbox (npm start): FILE is a policy document, made as CreatePolicy, or a
recorded CloudTrail event (or its EventBridge envelope), replayed as the IAM call it records. Prints the
approval and workflow execution each change started.

Options:
  --console URL   the sandbox console (default http://127.0.0.1:3000)
  --actor WHO     alice (the IAM user, default) or role (alice in an assumed role)
  -h, --help      show this help

Exit status: 0 started, 2 bad input, 4 the sandbox was unreachable or refused the change.`;

interface SimulatedChange {
  eventName: string;
  approvalId: string;
  executionArn: string;
  status: string;
}

/** What the simulate command needs besides the CLI's I/O: an HTTP client. */
export type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{
  status: number;
  text(): Promise<string>;
}>;

/** The request body for the console's /api/simulate: a CloudTrail event or a policy document. */
export function simulateRequestOf(text: string, actor: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseStrictJson(text);
  } catch (error) {
    throw new UsageError(
      `the file is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError('the file must hold a JSON object: a policy document or a CloudTrail event');
  }
  const record = parsed as Record<string, unknown>;
  const detail = record.detail as Record<string, unknown> | undefined;
  if (typeof record.eventName === 'string' || typeof detail?.eventName === 'string') {
    return { event: record, actor };
  }
  if ('Statement' in record) return { policy: text, actor };
  throw new UsageError(
    'the file is neither a policy document (no Statement) nor a CloudTrail event (no eventName)',
  );
}

/** Runs `policy-gate simulate`; returns the exit status. */
export async function runSimulate(argv: string[], io: CliIo, fetchFn: Fetch): Promise<number> {
  let files: string[];
  let values: { console?: string; actor?: string; help?: boolean };
  try {
    ({ positionals: files, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        console: { type: 'string' },
        actor: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.stderr(
      `policy-gate simulate: ${error instanceof Error ? error.message : String(error)}\n\n${SIMULATE_USAGE}\n`,
    );
    return EXIT_BAD_INPUT;
  }
  if (values.help) {
    io.stdout(`${SIMULATE_USAGE}\n`);
    return EXIT_CLEAN;
  }
  let base: URL;
  let body: Record<string, unknown>;
  try {
    const [file, ...extra] = files;
    if (file === undefined || extra.length > 0) throw new UsageError('give exactly one FILE');
    const actor = values.actor ?? 'alice';
    if (actor !== 'alice' && actor !== 'role') throw new UsageError('--actor must be alice or role');
    base = new URL(values.console ?? 'http://127.0.0.1:3000');
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new UsageError('--console must be an http URL');
    body = simulateRequestOf(file === '-' ? io.readStdin() : io.readFile(file), actor);
  } catch (error) {
    if (error instanceof UsageError || error instanceof TypeError || (error as { code?: string }).code) {
      io.stderr(`policy-gate simulate: ${(error as Error).message}\n\n${SIMULATE_USAGE}\n`);
      return EXIT_BAD_INPUT;
    }
    throw error;
  }
  const endpoint = new URL('/api/simulate', base).toString();
  let status: number;
  let text: string;
  try {
    const response = await fetchFn(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    io.stderr(
      `policy-gate simulate: cannot reach the sandbox at ${base.origin} (is \`npm start\` running?): ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return EXIT_SANDBOX;
  }
  let answer: { changes?: SimulatedChange[]; error?: string };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    io.stderr(`policy-gate simulate: the sandbox answered HTTP ${status} without JSON\n`);
    return EXIT_SANDBOX;
  }
  if (status !== 200 || !Array.isArray(answer.changes)) {
    io.stderr(
      `policy-gate simulate: the sandbox refused the change: ${String(answer.error ?? `HTTP ${status}`)}\n`,
    );
    return EXIT_SANDBOX;
  }
  if (answer.changes.length === 0) io.stdout('The change started no workflow run (not a gated IAM call).\n');
  for (const change of answer.changes) {
    io.stdout(
      `${String(change.eventName)}: approval ${String(change.approvalId)} (${String(change.status)})\n  execution ${String(change.executionArn)}\n`,
    );
  }
  io.stdout(`Watch it in the console: ${new URL('/slack', base).toString()}\n`);
  return EXIT_CLEAN;
}
