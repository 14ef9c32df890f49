/**
 * The Step Functions JSON protocol (awsJson1_0) on 127.0.0.1, in front of a {@link LocalStepFunctions}, so the real
 * `@aws-sdk/client-sfn` works against it through `endpoint` or `AWS_ENDPOINT_URL_SFN`.
 *
 * Served: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat, StartExecution, DescribeExecution, StopExecution,
 * GetExecutionHistory, DescribeStateMachine. Requests are not authenticated (any dummy credentials do).
 * Errors are HTTP 400 with `{"__type": "com.amazonaws.swf.base.model#<Code>", "message": ...}`, which the SDK
 * surfaces as an exception whose `name` is `<Code>` (e.g. `TaskTimedOut`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ExecutionEvent, type LocalStepFunctions, StepFunctionsApiError } from './runner';

const TARGET_PREFIX = 'AWSStepFunctions.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const ERROR_NAMESPACE = 'com.amazonaws.swf.base.model';
const MAX_BODY_BYTES = 1024 * 1024;

/** One HTTP request, for assertions. Holds no body (it may carry a token). */
export interface RecordedRequest {
  operation: string;
  statusCode: number;
  errorCode?: string;
  at: Date;
}

export interface StepFunctionsServer {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or `AWS_ENDPOINT_URL_SFN`. */
  endpoint: string;
  port: number;
  /** Every request served, in order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface StepFunctionsServerOptions {
  /** Default 0: any free port. The server only ever binds 127.0.0.1. */
  port?: number;
}

class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

type Body = Record<string, unknown>;
type Operation = (runner: LocalStepFunctions, body: Body) => Promise<unknown> | unknown;

function epochSeconds(date: Date | undefined): number | undefined {
  return date === undefined ? undefined : date.getTime() / 1000;
}

function json(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

function requireString(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new ProtocolError(
      'ValidationException',
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

const AWS_HISTORY_TYPES =
  /^(Execution(Started|Succeeded|Failed|Aborted|TimedOut)|Task(Failed|TimedOut)|\w+State(Entered|Exited))$/;

/** AWS history events from the runner's events (local-only kinds, such as retries, are left out). */
function historyEvents(events: ExecutionEvent[], roleArn: string): Record<string, unknown>[] {
  const kept = events.filter((event) => AWS_HISTORY_TYPES.test(event.type));
  return kept.map((event, index) => {
    const base: Record<string, unknown> = {
      id: index + 1,
      previousEventId: index,
      timestamp: epochSeconds(event.timestamp),
      type: event.type,
    };
    const failure = { error: event.error, cause: event.cause };
    if (event.type === 'ExecutionStarted') {
      base.executionStartedEventDetails = {
        input: json(event.input),
        inputDetails: { truncated: false },
        roleArn,
      };
    } else if (event.type === 'ExecutionSucceeded') {
      base.executionSucceededEventDetails = {
        output: json(event.output),
        outputDetails: { truncated: false },
      };
    } else if (event.type === 'ExecutionFailed') {
      base.executionFailedEventDetails = failure;
    } else if (event.type === 'ExecutionAborted') {
      base.executionAbortedEventDetails = failure;
    } else if (event.type === 'ExecutionTimedOut') {
      base.executionTimedOutEventDetails = failure;
    } else if (event.type === 'TaskFailed') {
      base.taskFailedEventDetails = { resourceType: 'lambda', resource: 'invoke', ...failure };
    } else if (event.type === 'TaskTimedOut') {
      base.taskTimedOutEventDetails = { resourceType: 'lambda', resource: 'invoke', ...failure };
    } else if (event.type.endsWith('StateEntered')) {
      base.stateEnteredEventDetails = { name: event.stateName, input: json(event.input) };
    } else if (event.type.endsWith('StateExited')) {
      base.stateExitedEventDetails = { name: event.stateName, output: json(event.output) };
    }
    return base;
  });
}

const operations: Record<string, Operation> = {
  SendTaskSuccess: (runner, body) => {
    runner.sendTaskSuccess(body.taskToken, body.output);
    return {};
  },
  SendTaskFailure: (runner, body) => {
    runner.sendTaskFailure(body.taskToken, { error: body.error, cause: body.cause });
    return {};
  },
  SendTaskHeartbeat: (runner, body) => {
    runner.sendTaskHeartbeat(body.taskToken);
    return {};
  },
  StartExecution: (runner, body) => {
    const stateMachineArn = requireString(body, 'stateMachineArn');
    if (stateMachineArn !== runner.stateMachineArn) {
      throw new ProtocolError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    }
    let input: unknown = {};
    if (body.input !== undefined) {
      try {
        input = JSON.parse(String(body.input));
      } catch {
        throw new ProtocolError(
          'InvalidExecutionInput',
          'Invalid Execution Input: the input is not valid JSON',
        );
      }
    }
    const name = typeof body.name === 'string' ? body.name : undefined;
    const started = runner.startExecution(input, { name });
    return { executionArn: started.executionArn, startDate: epochSeconds(started.startDate) };
  },
  DescribeExecution: (runner, body) => {
    const described = runner.describeExecution(requireString(body, 'executionArn'));
    return {
      executionArn: described.executionArn,
      stateMachineArn: described.stateMachineArn,
      name: described.name,
      status: described.status,
      startDate: epochSeconds(described.startDate),
      stopDate: epochSeconds(described.stopDate),
      input: json(described.input),
      inputDetails: { included: true },
      output: json(described.output),
      outputDetails: described.output === undefined ? undefined : { included: true },
      error: described.error,
      cause: described.cause,
      redriveCount: 0,
    };
  },
  StopExecution: async (runner, body) => {
    const stopDate = await runner.stopExecution(requireString(body, 'executionArn'), {
      error: typeof body.error === 'string' ? body.error : undefined,
      cause: typeof body.cause === 'string' ? body.cause : undefined,
    });
    return { stopDate: epochSeconds(stopDate) };
  },
  GetExecutionHistory: (runner, body) => {
    const roleArn = `arn:aws:iam::${runner.accountId}:role/${runner.stateMachineName}-role`;
    let events = historyEvents(runner.getExecutionEvents(requireString(body, 'executionArn')), roleArn);
    if (body.reverseOrder === true) events = events.reverse();
    if (typeof body.maxResults === 'number' && body.maxResults > 0) events = events.slice(0, body.maxResults);
    return { events };
  },
  DescribeStateMachine: (runner, body) => {
    const stateMachineArn = requireString(body, 'stateMachineArn');
    if (stateMachineArn !== runner.stateMachineArn) {
      throw new ProtocolError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    }
    return {
      stateMachineArn,
      name: runner.stateMachineName,
      status: 'ACTIVE',
      definition: JSON.stringify(runner.definition),
      roleArn: `arn:aws:iam::${runner.accountId}:role/${runner.stateMachineName}-role`,
      type: 'STANDARD',
      creationDate: 0,
    };
  },
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ProtocolError('ValidationException', 'Request body is too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, statusCode: number, payload: unknown): void {
  const text = JSON.stringify(payload);
  response.writeHead(statusCode, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(text);
}

async function handle(runner: LocalStepFunctions, request: IncomingMessage): Promise<unknown> {
  if (request.method !== 'POST')
    throw new ProtocolError('UnknownOperationException', 'Only POST is served', 404);
  const target = String(request.headers['x-amz-target'] ?? '');
  const name = target.slice(TARGET_PREFIX.length);
  // Own operations only: `AWSStepFunctions.toString` must be an unknown operation, not a prototype method.
  const operation =
    target.startsWith(TARGET_PREFIX) && Object.hasOwn(operations, name) ? operations[name] : undefined;
  const text = await readBody(request);
  if (!operation) throw new ProtocolError('UnknownOperationException', `Unknown operation '${target}'`);
  let body: unknown;
  try {
    body = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw new ProtocolError('SerializationException', 'Request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProtocolError('SerializationException', 'Request body must be a JSON object');
  }
  return operation(runner, body as Body);
}

/**
 * Serves the Step Functions API for `runner` on 127.0.0.1.
 * @returns once listening; `endpoint` is what the SDK client needs.
 */
export async function startStepFunctionsServer(
  runner: LocalStepFunctions,
  options: StepFunctionsServerOptions = {},
): Promise<StepFunctionsServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    handle(runner, request).then(
      (result) => {
        requests.push({ operation, statusCode: 200, at: new Date() });
        send(response, 200, result);
      },
      (error: unknown) => {
        let code = 'InternalFailure';
        let statusCode = 500;
        let message = 'Internal failure';
        if (error instanceof StepFunctionsApiError) {
          ({ code, message } = error);
          statusCode = 400;
        } else if (error instanceof ProtocolError) {
          ({ code, message, statusCode } = error);
        }
        requests.push({ operation, statusCode, errorCode: code, at: new Date() });
        send(response, statusCode, { __type: `${ERROR_NAMESPACE}#${code}`, message });
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
