/**
 * Local Step Functions: a runner for PolicyGate's state machine plus the Step Functions API on 127.0.0.1.
 *
 * ```ts
 * const sfn = await startLocalStepFunctions({ definition, functions: { requestApproval, restoreChange } });
 * const client = new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials });
 * const { done } = sfn.startExecution(input);
 * // … the requestApproval function receives the task token; SendTaskSuccess through `client` resumes.
 * await sfn.close();
 * ```
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../src/errors';
import {
  type CallbackRecord,
  type ExecutionDescription,
  type InvocationRecord,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
  type PendingTask,
  type StartedExecution,
} from './runner';
import { type RecordedRequest, startStepFunctionsServer } from './server';

export * from './runner';
export * from './server';

export interface LocalStepFunctionsHandle {
  /** `http://127.0.0.1:<port>`: pass as the SFN client's `endpoint`, or set `AWS_ENDPOINT_URL_SFN` to it. */
  endpoint: string;
  stateMachineArn: string;
  runner: LocalStepFunctions;
  /** HTTP requests served, in order (no bodies). */
  requests: RecordedRequest[];
  /** SendTask* calls, HTTP or in-process, in order (no tokens). */
  callbacks: CallbackRecord[];
  /** Lambda invocations, in order (no payloads). */
  invocations: InvocationRecord[];
  startExecution(input?: unknown, options?: { name?: string }): StartedExecution;
  describeExecution(executionArn: string): ExecutionDescription;
  pendingTasks(): PendingTask[];
  /** Aborts running executions and stops the server. */
  close(): Promise<void>;
}

/**
 * Builds a {@link LocalStepFunctions} for `definition` and serves the Step Functions API for it on 127.0.0.1.
 * @throws ConfigError when the definition is invalid or names a function that `functions` lacks.
 */
export async function startLocalStepFunctions(
  options: LocalStepFunctionsOptions & { port?: number },
): Promise<LocalStepFunctionsHandle> {
  const { port, ...runnerOptions } = options;
  const runner = new LocalStepFunctions(runnerOptions);
  const server = await startStepFunctionsServer(runner, { port });
  return {
    endpoint: server.endpoint,
    stateMachineArn: runner.stateMachineArn,
    runner,
    requests: server.requests,
    callbacks: runner.callbacks,
    invocations: runner.invocations,
    startExecution: (input, startOptions) => runner.startExecution(input, startOptions),
    describeExecution: (executionArn) => runner.describeExecution(executionArn),
    pendingTasks: () => runner.pendingTasks(),
    close: async () => {
      await runner.close();
      await server.close();
    },
  };
}

/** Reads a state machine definition (`*.asl.json`) from disk. @throws ConfigError when it is not JSON. */
export async function readDefinitionFile(path: string): Promise<object> {
  const text = await readFile(path, 'utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object');
    return parsed;
  } catch (error) {
    throw new ConfigError(`${path}: not a state machine definition (${(error as Error).message})`, {
      cause: error,
    });
  }
}
