/**
 * The local sandbox's data directory (`npm start -- --data-dir DIR`): what the stand-ins hold, kept on disk
 * so approvals, the IAM account, the KMS keys, the Slack conversation, the mailbox, CloudTrail's history and
 * the executions (pending ones included) survive a restart.
 *
 * One file, `sandbox-state.json`, holds every stand-in's state, so a save is one consistent cut (an approval
 * record and the execution waiting on it never disagree). It is written to a temporary file and renamed
 * over the old one (a crash leaves the old or the new file, never half of one), mode 0600 in a 0700
 * directory: it holds task tokens and key material, as AWS would keep them from other users. A file of
 * another format version, or one that does not parse, stops the start: the sandbox never starts empty over
 * data it cannot read. The records inside stay sealed by the product's KMS seals, so an edited record
 * meets the same checks it would in AWS.
 */
import { chmod, lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PolicyGateError } from '../src/errors';
import type { ExportedIamServerState } from './iam';
import { IamState } from './iam/state';
import type { ExportedKmsKey } from './kms/server';
import type { ExportedSlackState } from './slack';
import type { PublishedMessage } from './sns/server';
import type { ExportedRunnerState } from './stepfunctions';
import type { IssuedSession } from './sts/server';

/** The file's format; a change that an older sandbox could not read must raise it. */
export const DATA_FORMAT = 'policy-gate-sandbox';
export const DATA_FORMAT_VERSION = 1;
export const STATE_FILE = 'sandbox-state.json';
const LOCK_FILE = 'sandbox.lock';
const TEMP_SUFFIX = '.tmp';

/** A data directory that cannot be used: unreadable, of another version, corrupt, or in use. */
export class SandboxDataError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxDataError';
  }
}

/** One DynamoDB item as JSON: attribute values as the API has them, binary values in base64. */
export type SavedItem = Record<string, unknown>;

/** Everything the sandbox keeps, per stand-in. */
export interface SavedSandbox {
  sandbox: {
    sealKeys: Record<'record' | 'decision' | 'link' | 'form', { keyId: string; arn: string }>;
    /** The e-mail decision page's port: links in e-mails already sent point at it. */
    decisionPagePort: number;
  };
  iam: ExportedIamServerState;
  dynamodb: Record<string, SavedItem[]>;
  kms: ExportedKmsKey[];
  slack: ExportedSlackState;
  sns: (Omit<PublishedMessage, 'receivedAt' | 'messageAttributes'> & {
    receivedAt: string;
    messageAttributes: Record<string, { dataType: string; stringValue?: string; binaryValue?: string }>;
  })[];
  cloudtrail: { record: Record<string, unknown>; searchable: boolean }[];
  sts: IssuedSession[];
  stepfunctions: ExportedRunnerState;
}

interface StateFile {
  format: string;
  version: number;
  savedAt: string;
  state: SavedSandbox;
}

/** An open data directory: what it held at start, and the saving from now on. */
export interface SandboxDataDir {
  readonly dir: string;
  /** What the directory held when opened; undefined for a new (or empty) directory. */
  readonly saved: SavedSandbox | undefined;
  /**
   * From now on, collects the state every `intervalMs` (default 500) and writes it when it changed: a
   * crash loses at most that much.
   */
  startSaving(collect: () => Promise<SavedSandbox>, options?: { intervalMs?: number }): void;
  /** Saves `state` (or a fresh collect) now and waits for it. */
  save(state?: SavedSandbox): Promise<void>;
  /** Stops saving (after the last save has finished) and releases the directory. */
  close(): Promise<void>;
}

/**
 * Opens (and creates, mode 0700) the data directory, takes its lock, and reads what it holds.
 * @throws SandboxDataError when the directory is not a PolicyGate data directory, is in use by another
 *   running sandbox, or holds a state file of another version or that does not parse.
 */
export async function openDataDir(dir: string): Promise<SandboxDataDir> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory()) throw new SandboxDataError(`${dir} is not a directory`);
  await chmod(dir, 0o700);
  const foreign = (await readdir(dir)).filter(
    (name) => name !== STATE_FILE && name !== LOCK_FILE && name !== `${STATE_FILE}${TEMP_SUFFIX}`,
  );
  if (foreign.length > 0) {
    throw new SandboxDataError(
      `${dir} is not a PolicyGate sandbox data directory (it holds ${foreign.slice(0, 3).join(', ')}); ` +
        'give an empty or new directory',
    );
  }
  const lock = await takeLock(dir);
  let saved: SavedSandbox | undefined;
  try {
    saved = await readState(dir);
  } catch (error) {
    await lock.release();
    throw error;
  }

  let collect: (() => Promise<SavedSandbox>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let lastText: string | undefined;
  let chain: Promise<void> = Promise.resolve();
  let intervalMs = 500;

  const write = async (state: SavedSandbox): Promise<void> => {
    const text = JSON.stringify(state);
    if (text === lastText) return;
    const file: StateFile = {
      format: DATA_FORMAT,
      version: DATA_FORMAT_VERSION,
      savedAt: new Date().toISOString(),
      state,
    };
    const path = join(dir, STATE_FILE);
    const temp = `${path}${TEMP_SUFFIX}`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.chmod(0o600); // a leftover temporary file keeps its mode through open()
      await handle.writeFile(JSON.stringify(file));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    lastText = text;
  };
  const enqueue = (task: () => Promise<void>): Promise<void> => {
    const next = chain.then(task);
    chain = next.catch((error: unknown) => {
      // A failed save is retried on the next change; the process must not die over it.
      console.error(`sandbox data not saved to ${dir}: ${(error as Error)?.message ?? error}`);
    });
    return next;
  };
  const saveNow = (state?: SavedSandbox) =>
    enqueue(async () => {
      const current = state ?? (collect ? await collect() : undefined);
      if (current) await write(current);
    });
  const schedule = () => {
    if (closed || timer || !collect) return;
    timer = setTimeout(() => {
      timer = undefined;
      void saveNow().then(schedule, schedule);
    }, intervalMs);
    timer.unref();
  };

  return {
    dir,
    saved,
    startSaving(collectState, options = {}) {
      collect = collectState;
      intervalMs = options.intervalMs ?? intervalMs;
      schedule();
    },
    save: (state) => saveNow(state),
    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      await chain;
      await lock.release();
    },
  };
}

/** Reads and checks the state file; undefined when there is none yet. */
async function readState(dir: string): Promise<SavedSandbox | undefined> {
  const path = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SandboxDataError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  let file: StateFile;
  try {
    file = JSON.parse(text) as StateFile;
  } catch (error) {
    throw new SandboxDataError(
      `${path} is corrupt (not JSON): the sandbox will not start over it; move it away to start empty`,
      { cause: error },
    );
  }
  if (!isObject(file) || file.format !== DATA_FORMAT) {
    throw new SandboxDataError(`${path} is not a PolicyGate sandbox state file`);
  }
  if (file.version !== DATA_FORMAT_VERSION) {
    throw new SandboxDataError(
      `${path} has format version ${JSON.stringify(file.version)}; this sandbox reads version ` +
        `${DATA_FORMAT_VERSION} only: use the PolicyGate version that wrote it, or move it away to start empty`,
    );
  }
  try {
    checkState(file.state);
  } catch (error) {
    throw new SandboxDataError(
      `${path} is corrupt (${(error as Error).message}): the sandbox will not start over it; move it away ` +
        'to start empty',
      { cause: error },
    );
  }
  return file.state;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the shape of every part before any stand-in starts from it, so a bad file stops the start
 * before anything listens. @throws Error naming the first problem
 */
function checkState(state: unknown): asserts state is SavedSandbox {
  const need = (ok: unknown, what: string) => {
    if (!ok) throw new Error(what);
  };
  need(isObject(state), 'no state');
  const s = state as Record<string, unknown>;
  const sandbox = s.sandbox as Record<string, unknown>;
  need(isObject(sandbox) && isObject(sandbox.sealKeys), 'sandbox: no seal keys');
  for (const name of ['record', 'decision', 'link', 'form']) {
    const key = (sandbox.sealKeys as Record<string, unknown>)[name];
    need(
      isObject(key) && typeof key.keyId === 'string' && typeof key.arn === 'string',
      `sandbox: ${name} key`,
    );
  }
  const port = sandbox.decisionPagePort;
  need(
    Number.isInteger(port) && (port as number) > 0 && (port as number) < 65_536,
    'sandbox: decision page port',
  );
  need(isObject(s.iam) && isObject((s.iam as Record<string, unknown>).identities), 'iam: no identities');
  // A trial import: the IAM account must load as a whole.
  new IamState('123456789012').importState((s.iam as ExportedIamServerState).account);
  need(isObject(s.dynamodb), 'dynamodb: no tables');
  for (const [table, items] of Object.entries(s.dynamodb as Record<string, unknown>)) {
    need(Array.isArray(items) && items.every(isObject), `dynamodb: table ${table}`);
  }
  need(Array.isArray(s.kms), 'kms: no keys');
  for (const key of s.kms as unknown[]) {
    need(
      isObject(key) &&
        typeof key.keyId === 'string' &&
        typeof key.material === 'string' &&
        Buffer.from(key.material, 'base64').length >= 28,
      'kms: a key without material',
    );
  }
  const slack = s.slack as Record<string, unknown>;
  need(isObject(slack) && Array.isArray(slack.messages) && Number.isFinite(slack.lastTsMicros), 'slack');
  need(Array.isArray(s.sns) && (s.sns as unknown[]).every(isObject), 'sns');
  need(Array.isArray(s.cloudtrail) && (s.cloudtrail as unknown[]).every(isObject), 'cloudtrail');
  need(Array.isArray(s.sts) && (s.sts as unknown[]).every(isObject), 'sts');
  const sfn = s.stepfunctions as Record<string, unknown>;
  need(
    isObject(sfn) && typeof sfn.stateMachineArn === 'string' && Array.isArray(sfn.executions),
    'stepfunctions',
  );
  for (const execution of sfn.executions as unknown[]) {
    need(
      isObject(execution) &&
        typeof execution.executionArn === 'string' &&
        typeof execution.name === 'string' &&
        typeof execution.status === 'string' &&
        Array.isArray(execution.events) &&
        Array.isArray(execution.history) &&
        (execution.resumeAt === undefined ||
          (isObject(execution.resumeAt) && typeof execution.resumeAt.stateName === 'string')),
      'stepfunctions: an execution',
    );
  }
}

/** Lock files this process holds (a second sandbox in the same process is refused too). */
const heldLocks = new Set<string>();

/** The lock: a second sandbox on the same directory would overwrite the first one's state. */
async function takeLock(dir: string): Promise<{ release(): Promise<void> }> {
  const path = resolve(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      if (heldLocks.has(path)) throw Object.assign(new Error('held here'), { code: 'EEXIST' });
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      heldLocks.add(path);
      return {
        release: async () => {
          heldLocks.delete(path);
          await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      const mine = pid === process.pid && heldLocks.has(path);
      if (mine || (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))) {
        throw new SandboxDataError(`${dir} is in use by another running sandbox (process ${pid})`);
      }
      // Left by a sandbox that did not stop cleanly (or by this process, earlier): take it over.
      await rm(path, { force: true });
    }
  }
  throw new SandboxDataError(`cannot lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A DynamoDB item as JSON (binary values as `{ "$base64": … }`). */
export function itemToJson(item: Record<string, AttributeValue>): SavedItem {
  return JSON.parse(
    JSON.stringify(item, (_key, value: unknown) =>
      value instanceof Uint8Array ? { $base64: Buffer.from(value).toString('base64') } : value,
    ),
  ) as SavedItem;
}

/** The item {@link itemToJson} wrote. */
export function itemFromJson(item: SavedItem): Record<string, AttributeValue> {
  return JSON.parse(JSON.stringify(item), (_key, value: unknown) =>
    isObject(value) && typeof value.$base64 === 'string' && Object.keys(value).length === 1
      ? new Uint8Array(Buffer.from(value.$base64, 'base64'))
      : value,
  ) as Record<string, AttributeValue>;
}

/** SNS messages as JSON. */
export function snsToJson(messages: readonly PublishedMessage[]): SavedSandbox['sns'] {
  return messages.map((message) => ({
    ...message,
    receivedAt: message.receivedAt.toISOString(),
    messageAttributes: Object.fromEntries(
      Object.entries(message.messageAttributes).map(([name, attribute]) => [
        name,
        {
          dataType: attribute.dataType,
          ...(attribute.stringValue !== undefined && { stringValue: attribute.stringValue }),
          ...(attribute.binaryValue !== undefined && {
            binaryValue: attribute.binaryValue.toString('base64'),
          }),
        },
      ]),
    ),
  }));
}

/** The messages {@link snsToJson} wrote. */
export function snsFromJson(saved: SavedSandbox['sns']): PublishedMessage[] {
  return saved.map((message) => ({
    ...message,
    receivedAt: new Date(message.receivedAt),
    messageAttributes: Object.fromEntries(
      Object.entries(message.messageAttributes).map(([name, attribute]) => [
        name,
        {
          dataType: attribute.dataType,
          ...(attribute.stringValue !== undefined && { stringValue: attribute.stringValue }),
          ...(attribute.binaryValue !== undefined && {
            binaryValue: Buffer.from(attribute.binaryValue, 'base64'),
          }),
        },
      ]),
    ),
  }));
}
