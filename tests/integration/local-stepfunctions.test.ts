import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  InvalidOutput,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  type ExecutionResult,
  LocalStepFunctions,
  type LocalStepFunctionsHandle,
  type LocalStepFunctionsOptions,
  startLocalStepFunctions,
} from '../../local/stepfunctions';
import { ConfigError } from '../../src/errors';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'stepfunctions');
const credentials = { accessKeyId: 'AKIDLOCALTESTING', secretAccessKey: 'local-testing-secret' };

function fixture(name: string): object {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as object;
}

/** Items handed over by a local function, in arrival order. */
class Mailbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];
  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }
  /** The next item; rejects if `execution` ends first, so a broken run fails fast instead of timing out. */
  next(execution: { done: Promise<ExecutionResult> }): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    const arrival = new Promise<T>((resolve) => this.waiters.push(resolve));
    const ended = execution.done.then((result) => {
      throw new Error(
        `execution ended ${result.status} (${result.error}: ${result.cause}) before the item arrived`,
      );
    });
    return Promise.race([arrival, ended]);
  }
}

class TransientAnalysisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransientAnalysisError';
  }
}

interface ApprovalRequest {
  taskToken: string;
  changeId: string;
  executionId: string;
  requestedAt: string;
}

interface ChangeEvent {
  change: { id: string; risky: boolean };
}

/** The toy workflow's functions, keyed the ways the runner must resolve (logical id, serverless key). */
function toyFunctions() {
  const approvalRequests = new Mailbox<ApprovalRequest>();
  const functions = {
    AnalyseChangeLambdaFunction: jest.fn(async (event: unknown) => {
      const { change } = event as ChangeEvent;
      return { risky: change.risky, changeId: change.id, notSelected: 'dropped by ResultSelector' };
    }),
    requestApproval: jest.fn(async (event: unknown) => {
      approvalRequests.push(event as ApprovalRequest);
      return { posted: true };
    }),
    restoreChange: jest.fn(async (event: unknown) => ({ restored: true, ...(event as object) })),
    handleFailure: jest.fn(async () => ({ recorded: true })),
  };
  return { functions, approvalRequests };
}

const riskyInput = { change: { id: 'chg-1', risky: true }, approvalTimeoutSeconds: 86_400 };

const handles: LocalStepFunctionsHandle[] = [];
const clients: SFNClient[] = [];

async function start(
  options: LocalStepFunctionsOptions,
): Promise<{ sfn: LocalStepFunctionsHandle; client: SFNClient }> {
  const sfn = await startLocalStepFunctions(options);
  handles.push(sfn);
  const client = new SFNClient({ endpoint: sfn.endpoint, region: 'us-east-1', credentials });
  clients.push(client);
  return { sfn, client };
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(handles.splice(0).map((handle) => handle.close()));
});

function sdkError(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as Error,
  );
}

function stateOutput(result: ExecutionResult, stateName: string): Record<string, unknown> {
  const exited = result.events.find(
    (event) => event.stateName === stateName && event.type.endsWith('StateExited'),
  );
  return exited?.output as Record<string, unknown>;
}

describe('local Step Functions: toy approval workflow through the real SFN client', () => {
  it('resumes with the token handed to the function (SendTaskSuccess) and the output flows on', async () => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const logLines: string[] = [];
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
      log: (line) => logLines.push(line),
    });

    // Act
    const execution = sfn.startExecution(riskyInput);
    const request = await approvalRequests.next(execution);
    await client.send(
      new SendTaskSuccessCommand({
        taskToken: request.taskToken,
        output: JSON.stringify({ decision: 'approve', approver: 'U0APPROVER' }),
      }),
    );
    const result = await execution.done;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ restored: true, changeId: 'chg-1', approvedBy: 'U0APPROVER' });
    expect(result.history).toEqual([
      'AnalyseChange',
      'IsRisky',
      'RequestApproval',
      'Decide',
      'RestoreChange',
    ]);
    expect(request.taskToken).toMatch(/^[A-Za-z0-9_-]{500,2048}$/);
    expect(request.executionId).toBe(execution.executionArn);
    expect(Number.isNaN(Date.parse(request.requestedAt))).toBe(false);
    expect(sfn.callbacks).toEqual([
      expect.objectContaining({
        operation: 'SendTaskSuccess',
        outcome: 'accepted',
        stateName: 'RequestApproval',
        executionArn: execution.executionArn,
      }),
    ]);
    expect(sfn.requests).toContainEqual(
      expect.objectContaining({ operation: 'SendTaskSuccess', statusCode: 200 }),
    );
    const recorded = JSON.stringify([logLines, sfn.callbacks, sfn.requests, sfn.invocations]);
    expect(recorded).not.toContain(request.taskToken);
    expect(logLines.length).toBeGreaterThan(0);
  });

  it('takes the Choice default on a deny decision and keeps the callback output at ResultPath', async () => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
    });

    // Act
    const execution = sfn.startExecution(riskyInput);
    const request = await approvalRequests.next(execution);
    const decision = { decision: 'deny', approver: 'U0DENIER' };
    await client.send(
      new SendTaskSuccessCommand({ taskToken: request.taskToken, output: JSON.stringify(decision) }),
    );
    const result = await execution.done;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.history).toEqual([
      'AnalyseChange',
      'IsRisky',
      'RequestApproval',
      'Decide',
      'KeepQuarantined',
    ]);
    expect(result.output).toMatchObject({ approval: decision, outcome: 'denied' });
    expect(functions.restoreChange).not.toHaveBeenCalled();
  });

  it('gives lambda:invoke results the Invoke API shape, so ResultSelector and ResultPath work unchanged', async () => {
    // Prepare
    const { functions } = toyFunctions();
    const { sfn } = await start({ definition: fixture('toy-approval.asl.json'), functions, timeScale: 1e-3 });
    const input = { change: { id: 'chg-harmless', risky: false }, approvalTimeoutSeconds: 60 };

    // Act
    const result = await sfn.startExecution(input).done;

    // Assess
    expect(functions.AnalyseChangeLambdaFunction).toHaveBeenCalledWith(
      { change: input.change },
      expect.objectContaining({ functionName: 'AnalyseChangeLambdaFunction' }),
    );
    expect(result.output).toEqual({
      ...input,
      analysis: { risky: false, changeId: 'chg-harmless' },
      outcome: 'notified',
    });
    expect(result.history).toEqual(['AnalyseChange', 'IsRisky', 'NotifyOnly']);
  });

  it('routes SendTaskFailure to the Catch path with the given error and cause', async () => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
    });

    // Act
    const execution = sfn.startExecution(riskyInput);
    const request = await approvalRequests.next(execution);
    await client.send(
      new SendTaskFailureCommand({
        taskToken: request.taskToken,
        error: 'SlackUnavailable',
        cause: 'post failed',
      }),
    );
    const result = await execution.done;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PolicyGate.WorkflowFailed');
    expect(result.history.slice(-3)).toEqual(['RequestApproval', 'HandleFailure', 'WorkflowFailed']);
    expect(functions.handleFailure).toHaveBeenCalledWith(
      expect.objectContaining({ failure: { Error: 'SlackUnavailable', Cause: 'post failed' } }),
      expect.anything(),
    );
    // The failure handler's result is the whole Invoke response (no ResultSelector on that state).
    expect(stateOutput(result, 'HandleFailure').failureHandling).toEqual({
      ExecutedVersion: '$LATEST',
      Payload: { recorded: true },
      StatusCode: 200,
      SdkHttpMetadata: expect.objectContaining({ HttpStatusCode: 200 }),
      SdkResponseMetadata: { RequestId: expect.any(String) },
    });
  });

  it.each([
    { control: 'timeScale 1e-6 on the 24 h TimeoutSecondsPath', options: { timeScale: 1e-6 }, minimumMs: 80 },
    {
      control: 'timeoutOverrides of 40 ms',
      options: { timeoutOverrides: { RequestApproval: 40 } },
      minimumMs: 35,
    },
  ])(
    'takes the States.Timeout Catch path when the deadline elapses ($control)',
    async ({ options, minimumMs }) => {
      // Prepare
      const { functions, approvalRequests } = toyFunctions();
      const { sfn, client } = await start({
        definition: fixture('toy-approval.asl.json'),
        functions,
        ...options,
      });

      // Act
      const startedAt = Date.now();
      const execution = sfn.startExecution(riskyInput);
      const request = await approvalRequests.next(execution);
      const result = await execution.done;
      const waitedMs = Date.now() - startedAt;
      const late = await sdkError(
        client.send(
          new SendTaskSuccessCommand({ taskToken: request.taskToken, output: '{"decision":"approve"}' }),
        ),
      );

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(result.history).toEqual(['AnalyseChange', 'IsRisky', 'RequestApproval', 'Expired']);
      expect(result.output).toMatchObject({ outcome: 'expired', failure: { Error: 'States.Timeout' } });
      expect(waitedMs).toBeGreaterThanOrEqual(minimumMs);
      expect(waitedMs).toBeLessThan(10_000);
      expect(late).toBeInstanceOf(TaskTimedOut);
      expect(functions.restoreChange).not.toHaveBeenCalled();
      expect(functions.handleFailure).not.toHaveBeenCalled();
    },
  );

  it('accepts a token once: a second SendTaskSuccess, a failure or a heartbeat on it get TaskTimedOut', async () => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
    });
    const execution = sfn.startExecution(riskyInput);
    const { taskToken } = await approvalRequests.next(execution);
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{"decision":"deny"}' }));

    // Act
    const again = await sdkError(
      client.send(new SendTaskSuccessCommand({ taskToken, output: '{"decision":"approve"}' })),
    );
    const failure = await sdkError(client.send(new SendTaskFailureCommand({ taskToken, error: 'Late' })));
    const heartbeat = await sdkError(client.send(new SendTaskHeartbeatCommand({ taskToken })));
    const result = await execution.done;

    // Assess
    for (const error of [again, failure, heartbeat]) {
      expect(error).toBeInstanceOf(TaskTimedOut);
      expect(error.name).toBe('TaskTimedOut');
      expect(error.$metadata?.httpStatusCode).toBe(400);
    }
    expect(result.output).toMatchObject({ approval: { decision: 'deny' }, outcome: 'denied' });
    expect(sfn.callbacks.map((call) => call.outcome)).toEqual([
      'accepted',
      'TaskTimedOut',
      'TaskTimedOut',
      'TaskTimedOut',
    ]);
  });

  it.each([
    { kind: 'well-formed but unknown', token: () => randomBytes(384).toString('base64url') },
    { kind: 'malformed', token: () => 'not a task token' },
  ])('answers InvalidToken for a $kind token and keeps the real task waiting', async ({ token }) => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
    });
    const execution = sfn.startExecution(riskyInput);
    const request = await approvalRequests.next(execution);

    // Act
    const error = await sdkError(
      client.send(new SendTaskSuccessCommand({ taskToken: token(), output: '{}' })),
    );
    const stillPending = sfn.pendingTasks();
    await client.send(
      new SendTaskSuccessCommand({ taskToken: request.taskToken, output: '{"decision":"deny"}' }),
    );
    const result = await execution.done;

    // Assess
    expect(error).toBeInstanceOf(InvalidToken);
    expect(error.name).toBe('InvalidToken');
    expect(stillPending).toEqual([expect.objectContaining({ stateName: 'RequestApproval' })]);
    expect(result.output).toMatchObject({ outcome: 'denied' });
  });

  it('answers InvalidOutput for output that is not JSON and leaves the task waiting', async () => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
    });
    const execution = sfn.startExecution(riskyInput);
    const { taskToken } = await approvalRequests.next(execution);

    // Act
    const error = await sdkError(
      client.send(new SendTaskSuccessCommand({ taskToken, output: '{decision: approve' })),
    );
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{"decision":"deny"}' }));
    const result = await execution.done;

    // Assess
    expect(error).toBeInstanceOf(InvalidOutput);
    expect(result.output).toMatchObject({ outcome: 'denied' });
  });

  it.each([
    { error: new TransientAnalysisError('throttled') },
    { error: Object.assign(new Error('Rate Exceeded.'), { name: 'Lambda.TooManyRequestsException' }) },
  ])(
    'retries a handler that throws $error.name (a retried error), then goes on when it succeeds',
    async ({ error }) => {
      // Prepare
      const { functions } = toyFunctions();
      functions.AnalyseChangeLambdaFunction.mockRejectedValueOnce(error);
      const { sfn } = await start({
        definition: fixture('toy-approval.asl.json'),
        functions,
        timeScale: 1e-3,
      });

      // Act
      const result = await sfn.startExecution({ change: { id: 'chg-2', risky: false } }).done;

      // Assess
      expect(functions.AnalyseChangeLambdaFunction).toHaveBeenCalledTimes(2);
      expect(result.status).toBe('SUCCEEDED');
      expect(result.history).toEqual(['AnalyseChange', 'IsRisky', 'NotifyOnly']);
      expect(result.events.filter((event) => event.type === 'StateRetried')).toHaveLength(1);
    },
  );

  const functionErrorCause = (error: Error) => ({
    errorType: error.name,
    errorMessage: error.message,
    trace: expect.any(Array),
  });
  it.each([
    { error: new TransientAnalysisError('still throttled'), calls: 3, cause: functionErrorCause },
    {
      error: Object.assign(new Error('no access'), { name: 'AccessDenied' }),
      calls: 1,
      cause: functionErrorCause,
    },
    {
      // A Lambda service failure: its Cause is the service's message, not a function error payload.
      error: Object.assign(new Error('Service unavailable (Service: AWSLambda; Status Code: 500)'), {
        name: 'Lambda.ServiceException',
      }),
      calls: 3,
      cause: (error: Error) => error.message,
    },
  ])(
    'ends in the Catch path when the handler always throws $error.name (called $calls times)',
    async ({ error, calls, cause }) => {
      // Prepare
      const { functions } = toyFunctions();
      functions.AnalyseChangeLambdaFunction.mockRejectedValue(error);
      const { sfn } = await start({
        definition: fixture('toy-approval.asl.json'),
        functions,
        timeScale: 1e-3,
      });

      // Act
      const result = await sfn.startExecution(riskyInput).done;

      // Assess
      expect(functions.AnalyseChangeLambdaFunction).toHaveBeenCalledTimes(calls);
      expect(result.status).toBe('FAILED');
      expect(result.history).toEqual(['AnalyseChange', 'HandleFailure', 'WorkflowFailed']);
      const failure = stateOutput(result, 'AnalyseChange').failure as { Error: string; Cause: string };
      expect(failure.Error).toBe(error.name);
      const expectedCause = cause(error);
      if (typeof expectedCause === 'string') expect(failure.Cause).toBe(expectedCause);
      else expect(JSON.parse(failure.Cause)).toEqual(expectedCause);
    },
  );

  it('fails the waiting task when its function invocation throws', async () => {
    // Prepare
    const { functions } = toyFunctions();
    functions.requestApproval.mockRejectedValue(
      Object.assign(new Error('channel not found'), { name: 'SlackError' }),
    );
    const { sfn } = await start({ definition: fixture('toy-approval.asl.json'), functions, timeScale: 1e-3 });

    // Act
    const result = await sfn.startExecution(riskyInput).done;

    // Assess
    expect(result.history.slice(-3)).toEqual(['RequestApproval', 'HandleFailure', 'WorkflowFailed']);
    expect(stateOutput(result, 'RequestApproval').failure).toMatchObject({ Error: 'SlackError' });
    expect(sfn.pendingTasks()).toEqual([]);
  });

  it('fails the execution with States.Runtime, uncaught, when TimeoutSecondsPath finds nothing', async () => {
    // Prepare
    const { functions } = toyFunctions();
    const { sfn } = await start({ definition: fixture('toy-approval.asl.json'), functions, timeScale: 1e-3 });

    // Act
    const result = await sfn.startExecution({ change: { id: 'chg-3', risky: true } }).done;

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Runtime');
    expect(result.history).toEqual(['AnalyseChange', 'IsRisky', 'RequestApproval']);
    expect(functions.requestApproval).not.toHaveBeenCalled();
    expect(functions.handleFailure).not.toHaveBeenCalled();
  });

  it('stops an execution through StopExecution; its waiting token then answers TaskTimedOut', async () => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
    });
    const execution = sfn.startExecution(riskyInput);
    const { taskToken } = await approvalRequests.next(execution);

    // Act
    await client.send(
      new StopExecutionCommand({ executionArn: execution.executionArn, cause: 'operator stop' }),
    );
    const result = await execution.done;
    const late = await sdkError(client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' })));

    // Assess
    expect(result.status).toBe('ABORTED');
    expect(result.cause).toBe('operator stop');
    expect(late).toBeInstanceOf(TaskTimedOut);
    expect(sfn.pendingTasks()).toEqual([]);
  });

  it('serves StartExecution, DescribeExecution and GetExecutionHistory to the SDK', async () => {
    // Prepare
    const { functions, approvalRequests } = toyFunctions();
    const { sfn, client } = await start({
      definition: fixture('toy-approval.asl.json'),
      functions,
      timeScale: 1e-3,
    });

    // Act
    const started = await client.send(
      new StartExecutionCommand({
        stateMachineArn: sfn.stateMachineArn,
        name: 'chg-1',
        input: JSON.stringify(riskyInput),
      }),
    );
    const execution = { done: sfn.runner.waitForExecution(started.executionArn as string) };
    const { taskToken } = await approvalRequests.next(execution);
    const running = await client.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{"decision":"deny"}' }));
    const finished = await waitForStatus(client, started.executionArn as string);
    const history = await client.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }));
    const duplicate = await sdkError(
      client.send(
        new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn, name: 'chg-1', input: '{}' }),
      ),
    );
    const unknownMachine = await sdkError(
      client.send(
        new StartExecutionCommand({ stateMachineArn: `${sfn.stateMachineArn}-other`, input: '{}' }),
      ),
    );

    // Assess
    expect(started.executionArn).toMatch(/:execution:policy-gate-local:chg-1$/);
    expect(started.startDate).toBeInstanceOf(Date);
    expect(running.status).toBe('RUNNING');
    expect(finished.status).toBe('SUCCEEDED');
    expect(JSON.parse(finished.output as string)).toMatchObject({ outcome: 'denied' });
    const types = (history.events ?? []).map((event) => event.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types).toContain('TaskStateEntered');
    expect(types).toContain('ChoiceStateEntered');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(duplicate).toBeInstanceOf(ExecutionAlreadyExists);
    expect(unknownMachine).toBeInstanceOf(StateMachineDoesNotExist);
  });

  it('is found by an SDK client configured only through AWS_ENDPOINT_URL_SFN', async () => {
    // Prepare
    const { functions } = toyFunctions();
    const { sfn } = await start({ definition: fixture('toy-approval.asl.json'), functions, timeScale: 1e-3 });
    const execution = sfn.startExecution({ change: { id: 'chg-4', risky: false } });
    await execution.done;
    const previous = process.env.AWS_ENDPOINT_URL_SFN;
    process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
    const client = new SFNClient({ region: 'us-east-1', credentials });
    clients.push(client);

    // Act
    let status: string | undefined;
    try {
      ({ status } = await client.send(
        new DescribeExecutionCommand({ executionArn: execution.executionArn }),
      ));
    } finally {
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_SFN;
      else process.env.AWS_ENDPOINT_URL_SFN = previous;
    }

    // Assess
    expect(status).toBe('SUCCEEDED');
  });

  it('refuses, with a ConfigError, a definition naming a function it was not given', () => {
    // Prepare
    const { functions } = toyFunctions();
    const { restoreChange: _omitted, ...withoutRestore } = functions;

    // Act
    const build = () =>
      new LocalStepFunctions({ definition: fixture('toy-approval.asl.json'), functions: withoutRestore });

    // Assess
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/RestoreChange/);
  });

  it('refuses, with a ConfigError, a definition the interpreter finds invalid', () => {
    // Prepare
    const definition = fixture('toy-approval.asl.json') as {
      States: Record<string, Record<string, unknown>>;
    };
    (definition.States.NotifyOnly as Record<string, unknown>).Next = 'NoSuchState';
    delete (definition.States.NotifyOnly as Record<string, unknown>).End;

    // Act
    const build = () => new LocalStepFunctions({ definition, functions: toyFunctions().functions });

    // Assess
    expect(build).toThrow(ConfigError);
  });
});

async function waitForStatus(client: SFNClient, executionArn: string) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const described = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${executionArn} still running`);
}

describe('local Step Functions: heartbeats and timeouts of a waiting task', () => {
  function worker() {
    const jobs = new Mailbox<{ taskToken: string; job: string }>();
    const functions = {
      worker: jest.fn(async (event: unknown) => {
        jobs.push(event as { taskToken: string; job: string });
      }),
    };
    return { functions, jobs };
  }

  async function heartbeatEvery(client: SFNClient, taskToken: string, everyMs: number, untilMs: number) {
    const until = Date.now() + untilMs;
    while (Date.now() < until) {
      await client.send(new SendTaskHeartbeatCommand({ taskToken }));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }

  it('keeps a task alive past its heartbeat interval while heartbeats arrive, then completes it', async () => {
    // Prepare
    const { functions, jobs } = worker();
    const { sfn, client } = await start({
      definition: fixture('heartbeat-callback.asl.json'),
      functions,
      timeScale: 1e-3,
      heartbeatOverrides: { AwaitWorker: 150 },
    });
    const execution = sfn.startExecution({ job: 'job-1' });
    const { taskToken, job } = await jobs.next(execution);

    // Act
    await heartbeatEvery(client, taskToken, 10, 450);
    await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ done: job }) }));
    const result = await execution.done;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ done: 'job-1' });
  });

  it.each([
    {
      situation: 'heartbeats stop',
      overrides: { heartbeatOverrides: { AwaitWorker: 40 } },
      heartbeatForMs: 0,
      outcome: 'heartbeat-lost',
      error: 'States.HeartbeatTimeout',
    },
    {
      situation: 'the deadline passes although heartbeats arrive',
      overrides: { heartbeatOverrides: { AwaitWorker: 150 }, timeoutOverrides: { AwaitWorker: 300 } },
      heartbeatForMs: 800,
      outcome: 'deadline',
      error: 'States.Timeout',
    },
  ])(
    'fails the task with $error, which States.TaskFailed does not catch, when $situation',
    async ({ overrides, heartbeatForMs, outcome, error }) => {
      // Prepare
      const { functions, jobs } = worker();
      const { sfn, client } = await start({
        definition: fixture('heartbeat-callback.asl.json'),
        functions,
        ...overrides,
      });
      const execution = sfn.startExecution({ job: 'job-2' });
      const { taskToken } = await jobs.next(execution);

      // Act
      const heartbeats = heartbeatEvery(client, taskToken, 10, heartbeatForMs).catch(
        (failure: unknown) => failure,
      );
      const result = await execution.done;
      await heartbeats;

      // Assess
      expect(result.output).toMatchObject({ outcome, failure: { Error: error } });
      expect(sfn.pendingTasks()).toEqual([]);
    },
  );

  it('lets a States.Timeout catcher catch a heartbeat timeout when no States.HeartbeatTimeout catcher exists', async () => {
    // Prepare
    const definition = fixture('heartbeat-callback.asl.json') as {
      States: { AwaitWorker: { Catch: { ErrorEquals: string[] }[] }; HeartbeatLostPath?: unknown };
    };
    const catchers = definition.States.AwaitWorker.Catch;
    definition.States.AwaitWorker.Catch = catchers.filter(
      (c) => !c.ErrorEquals.includes('States.HeartbeatTimeout'),
    );
    delete definition.States.HeartbeatLostPath;
    const { functions, jobs } = worker();
    const { sfn } = await start({ definition, functions, heartbeatOverrides: { AwaitWorker: 30 } });
    const execution = sfn.startExecution({ job: 'job-4' });
    await jobs.next(execution);

    // Act
    const result = await execution.done;

    // Assess
    expect(result.output).toMatchObject({
      outcome: 'deadline',
      failure: { Error: 'States.HeartbeatTimeout' },
    });
  });

  it('routes SendTaskFailure to the States.TaskFailed catcher', async () => {
    // Prepare
    const { functions, jobs } = worker();
    const { sfn, client } = await start({
      definition: fixture('heartbeat-callback.asl.json'),
      functions,
      timeScale: 1e-3,
    });
    const execution = sfn.startExecution({ job: 'job-3' });
    const { taskToken } = await jobs.next(execution);

    // Act
    await client.send(new SendTaskFailureCommand({ taskToken, error: 'WorkerCrashed', cause: 'disk full' }));
    const result = await execution.done;

    // Assess
    expect(result.output).toMatchObject({
      outcome: 'task-failed',
      failure: { Error: 'WorkerCrashed', Cause: 'disk full' },
    });
  });

  it('mints a fresh token for each execution', async () => {
    // Prepare
    const { functions, jobs } = worker();
    const { sfn, client } = await start({
      definition: fixture('heartbeat-callback.asl.json'),
      functions,
      timeScale: 1e-3,
    });

    // Act
    const first = sfn.startExecution({ job: 'a' });
    const second = sfn.startExecution({ job: 'b' });
    const tokens = [await jobs.next(first), await jobs.next(second)];
    for (const { taskToken, job } of tokens) {
      await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ job }) }));
    }
    const results = await Promise.all([first.done, second.done]);

    // Assess
    expect(tokens[0]?.taskToken).not.toBe(tokens[1]?.taskToken);
    expect(results.map((result) => result.output)).toEqual([{ job: 'a' }, { job: 'b' }]);
  });
});

describe('local Step Functions: suspend and resume across runners', () => {
  const definition = () => fixture('toy-approval.asl.json');

  /** A runner of the toy workflow, its functions and approval requests. */
  async function runner(options: Partial<LocalStepFunctionsOptions> = {}) {
    const toy = toyFunctions();
    const { sfn, client } = await start({
      definition: definition(),
      functions: toy.functions,
      timeScale: 1e-3,
      ...options,
    });
    return { ...toy, sfn, client };
  }

  it('a waiting execution goes on in the next runner with the same ARN, token, history, and no second request', async () => {
    // Prepare
    const first = await runner();
    const execution = first.sfn.startExecution(riskyInput, { name: 'kept-across-restart' });
    const request = await first.approvalRequests.next(execution);
    // Act
    const saved = await first.sfn.runner.suspend();
    const historyBefore = first.sfn.runner.getExecutionHistory(execution.executionArn);
    const stopped = await execution.done;
    const second = await runner();
    const [restored] = await second.sfn.runner.importState(JSON.parse(JSON.stringify(saved)));
    const pending = second.sfn.pendingTasks();
    await second.client.send(
      new SendTaskSuccessCommand({
        taskToken: request.taskToken,
        output: JSON.stringify({ decision: 'approve', approver: 'U0APPROVER' }),
      }),
    );
    const result = await second.sfn.runner.waitForExecution(execution.executionArn);
    // Assess
    expect(saved.executions).toEqual([
      expect.objectContaining({
        executionArn: execution.executionArn,
        status: 'RUNNING',
        resumeAt: expect.objectContaining({
          stateName: 'RequestApproval',
          waiting: expect.objectContaining({ taskToken: request.taskToken }),
        }),
      }),
    ]);
    expect(first.sfn.runner.exportState()).toEqual(saved);
    expect(stopped.status).toBe('ABORTED');
    expect(restored?.execution.executionArn).toBe(execution.executionArn);
    expect(pending).toEqual([
      expect.objectContaining({ executionArn: execution.executionArn, stateName: 'RequestApproval' }),
    ]);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({ restored: true, changeId: 'chg-1', approvedBy: 'U0APPROVER' });
    expect(saved.executions[0]?.history).toEqual(historyBefore);
    expect(historyBefore).toEqual(['AnalyseChange', 'IsRisky', 'RequestApproval']);
    expect(result.history).toEqual([...historyBefore, 'Decide', 'RestoreChange']);
    expect(result.events.filter((e) => e.type === 'ExecutionStarted')).toHaveLength(1);
    expect(first.functions.requestApproval).toHaveBeenCalledTimes(1);
    expect(second.functions.requestApproval).not.toHaveBeenCalled();
    expect(second.functions.AnalyseChangeLambdaFunction).not.toHaveBeenCalled();
  });

  it('the resumed wait times out at its original deadline, not a fresh one', async () => {
    // Prepare
    const timeoutMs = 1_500;
    const first = await runner({ timeoutOverrides: { RequestApproval: timeoutMs } });
    const execution = first.sfn.startExecution(riskyInput);
    await first.approvalRequests.next(execution);
    const saved = await first.sfn.runner.suspend();
    await new Promise((resolve) => setTimeout(resolve, 700));
    const second = await runner({ timeoutOverrides: { RequestApproval: timeoutMs } });
    // Act
    const resumedAt = Date.now();
    await second.sfn.runner.importState(saved);
    const result = await second.sfn.runner.waitForExecution(execution.executionArn);
    // Assess
    expect(result.history.at(-1)).toBe('Expired');
    expect(Date.now() - resumedAt).toBeLessThan(timeoutMs - 500);
  });

  it('suspending lets a running function finish first, so the execution is kept at the wait it reached', async () => {
    // Prepare
    const first = await runner();
    const analyse = first.functions.AnalyseChangeLambdaFunction;
    const slow = analyse.getMockImplementation();
    analyse.mockImplementation(async (event: unknown) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return (slow as NonNullable<typeof slow>)(event);
    });
    const execution = first.sfn.startExecution(riskyInput);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Act
    const saved = await first.sfn.runner.suspend();
    // Assess
    expect(analyse).toHaveBeenCalledTimes(1);
    expect(saved.executions[0]?.resumeAt?.stateName).toBe('RequestApproval');
    expect(saved.executions[0]?.resumeAt?.waiting).toBeDefined();
    expect((await execution.done).status).toBe('ABORTED');
  });

  it('an execution saved mid-step (a crash) enters that step again with the same input and execution id', async () => {
    // Prepare
    const first = await runner();
    let release: () => void = () => {};
    first.functions.AnalyseChangeLambdaFunction.mockImplementation(
      () =>
        new Promise(
          (resolve) => (release = () => resolve({ risky: true, changeId: 'chg-1', notSelected: '' })),
        ),
    );
    const execution = first.sfn.startExecution(riskyInput);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const crashed = first.sfn.runner.exportState();
    release();
    await first.approvalRequests.next(execution);
    const second = await runner();
    // Act
    await second.sfn.runner.importState(crashed);
    const request = await second.approvalRequests.next({
      done: second.sfn.runner.waitForExecution(execution.executionArn),
    });
    // Assess
    expect(crashed.executions[0]?.resumeAt).toEqual(
      expect.objectContaining({ stateName: 'AnalyseChange', input: riskyInput }),
    );
    expect(second.functions.AnalyseChangeLambdaFunction).toHaveBeenCalledWith(
      expect.objectContaining({ change: riskyInput.change }),
      expect.anything(),
    );
    expect(request.executionId).toBe(execution.executionArn);
    expect(
      second.sfn.runner.getExecutionHistory(execution.executionArn).filter((s) => s === 'AnalyseChange'),
    ).toHaveLength(1);
  });

  it('finished executions keep their result and history; their names stay taken', async () => {
    // Prepare
    const first = await runner();
    const execution = first.sfn.startExecution(
      { change: { id: 'chg-2', risky: false } },
      { name: 'done-before' },
    );
    const finished = await execution.done;
    const second = await runner();
    // Act
    await second.sfn.runner.importState(first.sfn.runner.exportState());
    // Assess
    expect(second.sfn.describeExecution(execution.executionArn)).toMatchObject({
      status: finished.status,
      output: finished.output,
    });
    expect(second.sfn.runner.getExecutionHistory(execution.executionArn)).toEqual(finished.history);
    expect(() => second.sfn.startExecution({}, { name: 'done-before' })).toThrow(/Execution Already Exists/);
  });

  it('refuses, with a ConfigError, executions of another state machine, at a state it lacks, or waiting where no callback is', async () => {
    // Prepare
    const first = await runner();
    const execution = first.sfn.startExecution(riskyInput);
    await first.approvalRequests.next(execution);
    const saved = await first.sfn.runner.suspend();
    const second = await runner();
    const elsewhere = { ...saved, stateMachineArn: `${saved.stateMachineArn}-other` };
    const unknownState = JSON.parse(JSON.stringify(saved)) as typeof saved;
    if (unknownState.executions[0]?.resumeAt) unknownState.executions[0].resumeAt.stateName = 'Nowhere';
    const notACallback = JSON.parse(JSON.stringify(saved)) as typeof saved;
    if (notACallback.executions[0]?.resumeAt) notACallback.executions[0].resumeAt.stateName = 'RestoreChange';
    // Act / Assess
    await expect(second.sfn.runner.importState(elsewhere)).rejects.toThrow(ConfigError);
    await expect(second.sfn.runner.importState(unknownState)).rejects.toThrow(ConfigError);
    await expect(second.sfn.runner.importState(notACallback)).rejects.toThrow(/takes no callback/);
    expect(second.sfn.pendingTasks()).toHaveLength(0);
  });
});
