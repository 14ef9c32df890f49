/**
 * Local stand-in for AWS Step Functions (Standard workflows), for integration tests and the local sandbox.
 *
 * The state machine definition is run unchanged by `aws-local-stepfunctions`; this module only adds what that
 * interpreter lacks and what PolicyGate's workflow needs:
 * - the Lambda optimised integration (`arn:aws:states:::lambda:invoke`) with AWS's result shape and error names;
 * - the callback pattern (`.waitForTaskToken`): a fresh opaque token per attempt in `$$.Task.Token`, suspension
 *   until SendTaskSuccess / SendTaskFailure, `TimeoutSeconds` / `TimeoutSecondsPath` and `HeartbeatSeconds`;
 * - time control, so a 24 h deadline can be exercised in milliseconds.
 *
 * How the interpreter is driven (internal, the caller's definition is not changed in meaning):
 * - every Task state runs through a local handler; its `Parameters` are wrapped so the handler also receives the
 *   resolved timeout paths, and so a context getter learns which Task state is being entered (to mint its token);
 * - task timeouts are enforced here, not by the interpreter (which applies a 60 s default, and resolves
 *   `TimeoutSecondsPath` against the post-`Parameters` input, unlike AWS).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { ConfigError } from '../../src/errors';

installPromiseWithResolvers();

/** aws-local-stepfunctions 3.x calls `Promise.withResolvers` (ES2024), which Node 20 lacks. */
function installPromiseWithResolvers(): void {
  const promiseStatics = Promise as unknown as { withResolvers?: unknown };
  if (typeof promiseStatics.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Public types

/** A local Lambda handler: receives the invocation payload and a minimal Lambda context. */
export type LocalLambdaHandler = (event: unknown, context: LocalLambdaContext) => unknown;

/** The subset of the Lambda context object handed to local handlers. */
export interface LocalLambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** Replaces a Task state's work (any resource), keyed by state name; receives the resolved `Parameters`. */
export type LocalTaskHandler = (input: unknown) => unknown;

export interface LocalStepFunctionsOptions {
  /** The parsed ASL definition, as deployed. */
  definition: object;
  /**
   * Lambda functions, keyed by CloudFormation logical id (`RequestApprovalLambdaFunction`), by serverless function
   * key (`requestApproval`, also matched against `<service>-<stage>-requestApproval`) or by function name.
   */
  functions: Record<string, LocalLambdaHandler>;
  /** Stubs for Task states whose resource is not a Lambda function (or to bypass one), keyed by state name. */
  taskHandlers?: Record<string, LocalTaskHandler>;
  /** Defaults: `policy-gate-local`, `us-east-1`, `123456789012`. */
  stateMachineName?: string;
  region?: string;
  accountId?: string;
  /**
   * Multiplies every duration the definition declares: task `TimeoutSeconds(Path)`, `HeartbeatSeconds(Path)`,
   * Retry `IntervalSeconds` / `MaxDelaySeconds`, Wait `Seconds` and the top-level `TimeoutSeconds`.
   * `1e-6` turns a 24 h deadline into 86 ms. Default 1.
   */
  timeScale?: number;
  /** Task timeout in milliseconds per Task state name; wins over the definition and `timeScale`. */
  timeoutOverrides?: Record<string, number>;
  /** Heartbeat timeout in milliseconds per Task state name; wins over the definition and `timeScale`. */
  heartbeatOverrides?: Record<string, number>;
  /** Passed to aws-local-stepfunctions: pause before retrying, in ms, per state name (or per retrier). */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /** Passed to aws-local-stepfunctions: Wait state duration in ms, per state name. */
  waitTimeOverrides?: Record<string, number>;
  /** Receives one line per notable event. Task tokens never appear in these lines. */
  log?: (line: string) => void;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One entry of an execution's event history (AWS history event type names where AWS has one). */
export interface ExecutionEvent {
  type: string;
  timestamp: Date;
  stateName?: string;
  stateType?: string;
  input?: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  retryAttempt?: number;
}

export interface ExecutionDescription {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
}

export interface ExecutionResult extends ExecutionDescription {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  stopDate: Date;
  /** Names of the states entered, in order (a retry does not enter again, as in AWS). */
  history: string[];
  events: ExecutionEvent[];
}

export interface StartedExecution {
  executionArn: string;
  startDate: Date;
  /** Settles when the execution ends; never rejects. */
  done: Promise<ExecutionResult>;
}

/** A task waiting for its callback; the token is deliberately not exposed here. */
export interface PendingTask {
  executionArn: string;
  stateName: string;
  startedAt: Date;
}

/**
 * An execution as {@link LocalStepFunctions.exportState} writes it down: JSON only, so it can be kept on disk
 * and given back to {@link LocalStepFunctions.importState} by a later runner. A RUNNING one carries where it
 * stands (`resumeAt`), and, when it waits for a callback, its task token and deadline: the file is as secret
 * as the tokens are.
 */
export interface ExportedExecution
  extends Omit<ExecutionDescription, 'stateMachineArn' | 'startDate' | 'stopDate'> {
  startDate: string;
  stopDate?: string;
  history: string[];
  events: (Omit<ExecutionEvent, 'timestamp'> & { timestamp: string })[];
  resumeAt?: {
    stateName: string;
    /** The state's raw input, as its StateEntered event shows it. */
    input: unknown;
    enteredTime: string;
    retryCount: number;
    /** Present when the state was waiting for its callback. */
    waiting?: { taskToken: string; startedAt: string; deadline?: string; heartbeatMs?: number };
  };
}

/** What {@link LocalStepFunctions.exportState} returns. */
export interface ExportedRunnerState {
  stateMachineArn: string;
  executions: ExportedExecution[];
}

export type CallbackOperation = 'SendTaskSuccess' | 'SendTaskFailure' | 'SendTaskHeartbeat';

/** A record of one callback call, for assertions. Holds no token. */
export interface CallbackRecord {
  operation: CallbackOperation;
  at: Date;
  /** `accepted`, or the error code returned. */
  outcome: 'accepted' | StepFunctionsErrorCode;
  executionArn?: string;
  stateName?: string;
}

/** A record of one Lambda invocation, for assertions. Holds no payload (it may carry a token). */
export interface InvocationRecord {
  functionKey: string;
  stateName: string;
  executionArn: string;
  at: Date;
  outcome: 'succeeded' | 'failed';
}

export type StepFunctionsErrorCode =
  | 'InvalidToken'
  | 'TaskTimedOut'
  | 'TaskDoesNotExist'
  | 'InvalidOutput'
  | 'ValidationException'
  | 'InvalidName'
  | 'InvalidExecutionInput'
  | 'InvalidArn'
  | 'ExecutionAlreadyExists'
  | 'ExecutionDoesNotExist'
  | 'StateMachineDoesNotExist';

/**
 * An error as the Step Functions API returns it; `name` is the AWS error code, the same `name` the SDK's
 * exception carries, so in-process callers and SDK callers can assert alike.
 */
export class StepFunctionsApiError extends Error {
  readonly code: StepFunctionsErrorCode;
  constructor(code: StepFunctionsErrorCode, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Constants

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const WAIT_FOR_TASK_TOKEN = '.waitForTaskToken';
const LAMBDA_ARN = /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]*:\d*:function:([^:]+)(?::[^:]+)?$/;
/** AWS's default task timeout is 99999999 s; timers cannot go past 2^31-1 ms, so this is the local "never". */
const NEVER_SECONDS = 2_147_483;
/** 384 random bytes → 512 base64url characters: opaque and long, like AWS's tokens. */
const TOKEN_BYTES = 384;
const MAX_TOKEN_LENGTH = 2048;
const MAX_OUTPUT_LENGTH = 262_144;
const MAX_ERROR_LENGTH = 256;
const MAX_CAUSE_LENGTH = 32_768;
const CONTEXT_KEY = '__localStepFunctions';
const ENTER_KEY = '__localStepFunctionsEnter';
const PARAMS_KEY = '__localStepFunctionsParameters';
const TIMEOUT_KEY = '__localStepFunctionsTimeoutSeconds';
const HEARTBEAT_KEY = '__localStepFunctionsHeartbeatSeconds';

// ---------------------------------------------------------------------------------------------------------------
// Errors seen by the interpreter

/** An error that neither Retry nor Catch may handle (the interpreter reads these two flags). */
class UncatchableError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A task error whose `name` is the Step Functions error name and whose `message` is the cause. */
class TaskError extends Error {
  constructor(errorName: string, cause: string) {
    super(cause);
    this.name = errorName;
  }
}

type TimeoutErrorClass = new () => Error;
let timeoutErrorClass: Promise<TimeoutErrorClass | undefined> | undefined;

/**
 * `States.TaskFailed` must match every task error except timeouts; the interpreter decides that with
 * `instanceof` its own (unexported) timeout class. A 1 ms run of a one-state machine yields that class.
 */
function loadTimeoutErrorClass(): Promise<TimeoutErrorClass | undefined> {
  timeoutErrorClass ??= (async () => {
    const probe = new StateMachine(
      {
        StartAt: 'Probe',
        States: {
          Probe: {
            Type: 'Task',
            Resource: 'arn:aws:lambda:us-east-1:123456789012:function:probe',
            TimeoutSeconds: 0.001,
            End: true,
          },
        },
      } as unknown as StateMachineDefinition,
      { validationOptions: { noValidate: true } },
    );
    const never = new Promise<never>(() => {});
    try {
      await probe.run(null, { overrides: { taskResourceLocalHandlers: { Probe: () => never } } }).result;
    } catch (error) {
      const cause = error instanceof Error ? error.cause : undefined;
      if (cause instanceof Error && cause.name === 'States.Timeout') {
        return cause.constructor as TimeoutErrorClass;
      }
    }
    return undefined;
  })();
  return timeoutErrorClass;
}

function makeTimeoutError(errorClass: TimeoutErrorClass | undefined, name: string): Error {
  const error = errorClass ? new errorClass() : new Error(name);
  error.name = name;
  error.message = name;
  return error;
}

// ---------------------------------------------------------------------------------------------------------------
// Definition preparation

type StateDef = Record<string, unknown>;

interface TaskPlan {
  stateName: string;
  index: number;
  wait: boolean;
  /** `invoke`: optimised Lambda integration; `direct`: Lambda ARN as Resource; `handler`: taskHandlers. */
  kind: 'invoke' | 'direct' | 'handler';
  /** Function key resolved when the definition names the function statically. */
  functionKey?: string;
  timeoutSeconds?: number;
  timeoutFromPath: boolean;
  heartbeatSeconds?: number;
  heartbeatFromPath: boolean;
}

interface PreparedDefinition {
  /** The caller's definition with Lambda references resolved, for validation. */
  validated: StateMachineDefinition;
  /** What the interpreter runs. */
  runnable: StateMachineDefinition;
  tasks: Map<string, TaskPlan>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** serverless's logical id for a function key: `request-approval` → `RequestDashapprovalLambdaFunction`. */
function serverlessLogicalId(functionKey: string): string {
  const normalised = functionKey.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return `${normalised.charAt(0).toUpperCase()}${normalised.slice(1)}LambdaFunction`;
}

/** The name a Lambda reference points at: a logical id (Fn::GetAtt / Ref), a function name, or undefined. */
function referencedFunctionName(reference: unknown): string | undefined {
  if (typeof reference === 'string') {
    const arn = LAMBDA_ARN.exec(reference);
    if (arn) return arn[1];
    const partial = /(?:^|:)function:([^:]+)/.exec(reference);
    if (partial) return partial[1];
    return reference.split(':')[0];
  }
  if (isRecord(reference)) {
    const getAtt = reference['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof getAtt === 'string') return getAtt.split('.')[0];
    if (typeof reference.Ref === 'string') return reference.Ref;
  }
  return undefined;
}

function resolveFunctionKey(functions: Record<string, unknown>, reference: unknown): string | undefined {
  const name = referencedFunctionName(reference);
  if (!name) return undefined;
  const keys = Object.keys(functions);
  const direct = keys.find(
    (key) => key === name || `${key}LambdaFunction` === name || serverlessLogicalId(key) === name,
  );
  if (direct) return direct;
  // Deployed serverless names are `<service>-<stage>-<key>`; accept the key when exactly one matches.
  const bySuffix = keys.filter((key) => name.endsWith(`-${key}`));
  return bySuffix.length === 1 ? bySuffix[0] : undefined;
}

/**
 * Definitions are JSON. (Not structuredClone: under Jest it returns objects of another realm, which the
 * interpreter's plain-object test rejects, leaving nested `.$` fields unresolved.)
 */
function cloneJson(value: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

function lambdaArn(region: string, accountId: string, name: string): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
}

interface PrepareOptions {
  functions: Record<string, LocalLambdaHandler>;
  taskHandlers: Record<string, LocalTaskHandler>;
  timeScale: number;
  region: string;
  accountId: string;
}

function prepareDefinition(definition: object, options: PrepareOptions): PreparedDefinition {
  if (!isRecord(definition) || !isRecord(definition.States) || typeof definition.StartAt !== 'string') {
    throw new ConfigError('Step Functions definition must be an object with StartAt and States');
  }
  const validated = cloneJson(definition) as Record<string, unknown>;
  const tasks = new Map<string, TaskPlan>();
  const problems: string[] = [];

  // Pass 1: resolve Lambda references that are CloudFormation intrinsics, so the validator sees an ARN.
  forEachState(validated, (stateName, state) => {
    if (state.Type !== 'Task' || typeof state.Resource === 'string') return;
    const name = referencedFunctionName(state.Resource);
    if (name) state.Resource = lambdaArn(options.region, options.accountId, name);
    else problems.push(`${stateName}: Resource must be a string or a Lambda Fn::GetAtt / Ref`);
  });
  if (problems.length > 0) throw new ConfigError(`Step Functions definition: ${problems.join('; ')}`);

  const runnable = cloneJson(validated);
  forEachState(runnable, (stateName, state) => {
    if (state.Retry !== undefined) scaleRetriers(state.Retry, options.timeScale);
    if (state.Type === 'Wait' && typeof state.Seconds === 'number') state.Seconds *= options.timeScale;
    if (state.Type !== 'Task') return;
    const plan = planTask(stateName, state, tasks.size, options, problems);
    tasks.set(stateName, plan);
    rewriteTaskState(state, plan);
  });
  if (typeof runnable.TimeoutSeconds === 'number') runnable.TimeoutSeconds *= options.timeScale;
  if (problems.length > 0) throw new ConfigError(`Step Functions definition: ${problems.join('; ')}`);

  return {
    validated: validated as unknown as StateMachineDefinition,
    runnable: runnable as unknown as StateMachineDefinition,
    tasks,
  };
}

/** Visits every state, including those inside Parallel branches and Map processors. */
function forEachState(
  machine: Record<string, unknown>,
  visit: (name: string, state: StateDef) => void,
): void {
  const states = machine.States;
  if (!isRecord(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isRecord(state)) continue;
    visit(name, state);
    if (Array.isArray(state.Branches)) {
      for (const branch of state.Branches) if (isRecord(branch)) forEachState(branch, visit);
    }
    for (const key of ['Iterator', 'ItemProcessor']) {
      const inner = state[key];
      if (isRecord(inner)) forEachState(inner, visit);
    }
  }
}

function scaleRetriers(retriers: unknown, timeScale: number): void {
  if (timeScale === 1 || !Array.isArray(retriers)) return;
  for (const retrier of retriers) {
    if (!isRecord(retrier)) continue;
    retrier.IntervalSeconds =
      (typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1) * timeScale;
    if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= timeScale;
  }
}

function planTask(
  stateName: string,
  state: StateDef,
  index: number,
  options: PrepareOptions,
  problems: string[],
): TaskPlan {
  const resource = String(state.Resource);
  const plan: TaskPlan = {
    stateName,
    index,
    wait: resource.endsWith(WAIT_FOR_TASK_TOKEN),
    kind: 'handler',
    timeoutSeconds: typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined,
    timeoutFromPath: typeof state.TimeoutSecondsPath === 'string',
    heartbeatSeconds: typeof state.HeartbeatSeconds === 'number' ? state.HeartbeatSeconds : undefined,
    heartbeatFromPath: typeof state.HeartbeatSecondsPath === 'string',
  };
  if (stateName in options.taskHandlers) return plan;

  if (resource === LAMBDA_INVOKE || resource === `${LAMBDA_INVOKE}${WAIT_FOR_TASK_TOKEN}`) {
    plan.kind = 'invoke';
    const parameters = isRecord(state.Parameters) ? state.Parameters : {};
    if ('FunctionName.$' in parameters) return plan; // resolved per invocation
    if (!('FunctionName' in parameters)) {
      problems.push(`${stateName}: Parameters.FunctionName is missing`);
      return plan;
    }
    plan.functionKey = resolveFunctionKey(options.functions, parameters.FunctionName);
    if (!plan.functionKey) {
      problems.push(
        `${stateName}: no local function for ${JSON.stringify(parameters.FunctionName)} ` +
          `(known: ${Object.keys(options.functions).join(', ') || 'none'})`,
      );
    }
    return plan;
  }
  if (LAMBDA_ARN.test(resource)) {
    plan.kind = 'direct';
    plan.functionKey = resolveFunctionKey(options.functions, resource);
    if (!plan.functionKey) problems.push(`${stateName}: no local function for ${resource}`);
    return plan;
  }
  problems.push(
    `${stateName}: resource ${resource} is not a Lambda function; give taskHandlers['${stateName}']`,
  );
  return plan;
}

/**
 * Wraps the Parameters so the interpreter resolves, in this order: the enter marker (mints the token before
 * `$$.Task.Token` is read), the original Parameters, and the timeout paths against the state's effective input.
 */
function rewriteTaskState(state: StateDef, plan: TaskPlan): void {
  const wrapped: Record<string, unknown> = { [`${ENTER_KEY}.$`]: `$$.${CONTEXT_KEY}.enter.t${plan.index}` };
  if ('Parameters' in state) wrapped[PARAMS_KEY] = state.Parameters;
  else wrapped[`${PARAMS_KEY}.$`] = '$';
  if (typeof state.TimeoutSecondsPath === 'string') wrapped[`${TIMEOUT_KEY}.$`] = state.TimeoutSecondsPath;
  if (typeof state.HeartbeatSecondsPath === 'string')
    wrapped[`${HEARTBEAT_KEY}.$`] = state.HeartbeatSecondsPath;
  state.Parameters = wrapped;
  delete state.TimeoutSecondsPath;
  delete state.HeartbeatSeconds;
  delete state.HeartbeatSecondsPath;
  state.TimeoutSeconds = NEVER_SECONDS;

  // AWS: States.Timeout also matches a heartbeat timeout, whose own name is States.HeartbeatTimeout.
  if (plan.heartbeatSeconds !== undefined || plan.heartbeatFromPath) {
    for (const field of ['Retry', 'Catch']) {
      const handlers = state[field];
      if (!Array.isArray(handlers)) continue;
      for (const handler of handlers) {
        if (!isRecord(handler) || !Array.isArray(handler.ErrorEquals)) continue;
        const names = handler.ErrorEquals as unknown[];
        if (names.includes('States.Timeout') && !names.includes('States.HeartbeatTimeout')) {
          names.push('States.HeartbeatTimeout');
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime records

interface TaskStateContext {
  name: string;
  enteredTime: string;
  retryCount: number;
  attemptFailed: boolean;
}

interface ExecutionRecord {
  arn: string;
  name: string;
  input: unknown;
  startDate: Date;
  stopDate?: Date;
  status: ExecutionStatus;
  output?: unknown;
  error?: string;
  cause?: string;
  events: ExecutionEvent[];
  history: string[];
  /** Aborts this runner's own waits (tokens, timers) for the execution. */
  controller: AbortController;
  stopRequest?: { error?: string; cause?: string };
  interpreterAbort: () => void;
  taskState?: TaskStateContext;
  /** Minted when a waiting Task state is entered; taken by its handler. */
  currentToken?: string;
  /** The callback the execution waits for now, for {@link LocalStepFunctions.exportState}. */
  waiting?: { token: string; startedAt: Date; deadline?: Date; heartbeatMs?: number };
  /** Called once a resumed wait takes callbacks again. */
  onWaiting?: () => void;
  /** The raw input of the state a resumed execution waits in, until the wait is taken over again. */
  resumeInput?: unknown;
  /** Set on a resumed execution until its first Task attempt takes it: wait again, do not invoke again. */
  resumeWaiting?: {
    stateName: string;
    token: string;
    startedAt: Date;
    deadline?: Date;
    heartbeatMs?: number;
  };
  /** Events of the resumed run that repeat what the history already has (its start, the state's entry). */
  skipEvents?: Set<string>;
  /** Stopped by {@link LocalStepFunctions.suspend}: it goes on in a later runner, so it is not ABORTED. */
  suspended?: boolean;
  done: Promise<ExecutionResult>;
}

interface TokenEntry {
  executionArn: string;
  stateName: string;
  startedAt: Date;
  open: boolean;
  heartbeatMs?: number;
  heartbeatTimer?: NodeJS.Timeout;
  settle: (outcome: { output: unknown } | { error: Error }) => boolean;
}

function toJsonValue(value: unknown, what: string): unknown {
  const text = JSON.stringify(value === undefined ? null : value);
  if (text === undefined) throw new TypeError(`${what} is not JSON-serialisable`);
  return JSON.parse(text);
}

function structuredCloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** The error Step Functions reports for a Lambda function error: errorType as Error, the payload as Cause. */
function lambdaFunctionError(thrown: unknown): TaskError {
  if (thrown instanceof Error && thrown.name.startsWith('Lambda.')) {
    // A handler simulating a Lambda service failure (Lambda.ServiceException, Lambda.TooManyRequestsException…).
    return new TaskError(thrown.name, thrown.message);
  }
  const errorType = thrown instanceof Error ? thrown.name || 'Error' : 'Error';
  const errorMessage = thrown instanceof Error ? thrown.message : String(thrown);
  const trace = thrown instanceof Error && thrown.stack ? thrown.stack.split('\n') : [];
  return new TaskError(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}

function validateLength(value: unknown, field: string, max: number, required: boolean): void {
  if (value === undefined || value === null) {
    if (required) {
      throw new StepFunctionsApiError(
        'ValidationException',
        `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return;
  }
  if (typeof value !== 'string') {
    throw new StepFunctionsApiError('ValidationException', `Value at '${field}' must be a string`);
  }
  if ((required && value.length < 1) || value.length > max) {
    throw new StepFunctionsApiError(
      'ValidationException',
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: ` +
        `Member must have length between ${required ? 1 : 0} and ${max}`,
    );
  }
}

/** AWS execution names: 1–80 characters, no whitespace, brackets, wildcards, special or control characters. */
function isValidExecutionName(name: string): boolean {
  if (name.length < 1 || name.length > 80 || /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/.test(name)) return false;
  return [...name].every((char) => {
    const code = char.codePointAt(0) ?? 0;
    return code > 0x1f && (code < 0x7f || code > 0x9f);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The runner

/**
 * Runs executions of one state machine definition locally, with Lambda tasks served by local functions and
 * callback tasks resumed through {@link LocalStepFunctions.sendTaskSuccess} and friends (or the HTTP server).
 */
export class LocalStepFunctions {
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  readonly region: string;
  readonly accountId: string;
  /** The caller's definition, as given. */
  readonly definition: object;
  /** Every SendTask* call, in order. */
  readonly callbacks: CallbackRecord[] = [];
  /** Every Lambda invocation, in order. */
  readonly invocations: InvocationRecord[] = [];

  private readonly functions: Record<string, LocalLambdaHandler>;
  private readonly taskHandlers: Record<string, LocalTaskHandler>;
  private readonly timeScale: number;
  private readonly timeoutOverrides: Record<string, number>;
  private readonly heartbeatOverrides: Record<string, number>;
  private readonly retryIntervalOverrides?: Record<string, number | number[]>;
  private readonly waitTimeOverrides?: Record<string, number>;
  private readonly log: (line: string) => void;
  private readonly machine: StateMachine;
  private readonly tasks: Map<string, TaskPlan>;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly tokens = new Map<string, TokenEntry>();
  private readonly timeoutError = loadTimeoutErrorClass();
  private readonly startListeners = new Set<(execution: StartedExecution, input: unknown) => void>();
  /** Lambda invocations still running, so `close` can wait for them: a handler outliving its runner would
   * reach whatever stand-ins the next test starts. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** What the executions were when {@link suspend} stopped them; exported from then on. */
  private suspendedState?: ExportedRunnerState;
  private readonly prepared: PreparedDefinition;
  /** The runnable definition started at another state, per state name, for resumed executions. */
  private readonly resumeMachines = new Map<string, StateMachine>();

  /** @throws ConfigError when the definition is invalid or names a function that `functions` lacks. */
  constructor(options: LocalStepFunctionsOptions) {
    this.definition = options.definition;
    this.functions = { ...options.functions };
    this.taskHandlers = { ...options.taskHandlers };
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.stateMachineName = options.stateMachineName ?? 'policy-gate-local';
    this.stateMachineArn = `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${this.stateMachineName}`;
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0) || !Number.isFinite(this.timeScale)) {
      throw new ConfigError(`timeScale must be a positive number, got ${options.timeScale}`);
    }
    this.timeoutOverrides = { ...options.timeoutOverrides };
    this.heartbeatOverrides = { ...options.heartbeatOverrides };
    this.retryIntervalOverrides = options.retryIntervalOverrides;
    this.waitTimeOverrides = options.waitTimeOverrides;
    this.log = options.log ?? (() => {});

    const prepared = prepareDefinition(options.definition, {
      functions: this.functions,
      taskHandlers: this.taskHandlers,
      timeScale: this.timeScale,
      region: this.region,
      accountId: this.accountId,
    });
    try {
      // Validates the caller's definition as AWS would see it (ARNs, JSONPaths, reachability).
      new StateMachine(prepared.validated);
    } catch (error) {
      throw new ConfigError(describeError(error).message, { cause: error });
    }
    this.machine = new StateMachine(prepared.runnable, { validationOptions: { noValidate: true } });
    this.tasks = prepared.tasks;
    this.prepared = prepared;
  }

  /**
   * Starts an execution. Like AWS, a name already used by this state machine is refused
   * (ExecutionAlreadyExists), except a repeat of a running execution with the same input, which returns it.
   */
  startExecution(input: unknown = {}, options: { name?: string } = {}): StartedExecution {
    const name = options.name ?? randomUUID();
    if (!isValidExecutionName(name)) {
      throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${name}'`);
    }
    const arn = `arn:aws:states:${this.region}:${this.accountId}:execution:${this.stateMachineName}:${name}`;
    let jsonInput: unknown;
    try {
      jsonInput = toJsonValue(input, 'Execution input');
    } catch (error) {
      throw new StepFunctionsApiError(
        'InvalidExecutionInput',
        `Invalid Execution Input: ${describeError(error).message}`,
      );
    }
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && JSON.stringify(existing.input) === JSON.stringify(jsonInput)) {
        return { executionArn: arn, startDate: existing.startDate, done: existing.done };
      }
      throw new StepFunctionsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }

    const record: ExecutionRecord = {
      arn,
      name,
      input: jsonInput,
      startDate: new Date(),
      status: 'RUNNING',
      events: [],
      history: [],
      controller: new AbortController(),
      interpreterAbort: () => {},
      done: Promise.resolve(undefined as unknown as ExecutionResult),
    };
    this.executions.set(arn, record);
    this.run(record, this.machine, jsonInput);
    this.log(`execution ${name} started`);
    const started = { executionArn: arn, startDate: record.startDate, done: record.done };
    for (const listener of this.startListeners) listener(started, jsonInput);
    return started;
  }

  /** Runs `record` on `machine` from `input` (a new execution, or a resumed one from its state). */
  private run(record: ExecutionRecord, machine: StateMachine, jsonInput: unknown): void {
    const name = record.name;
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const plan of this.tasks.values()) {
      handlers[plan.stateName] = (wrapped) => this.runTask(record, plan, wrapped);
    }
    const run = machine.run(jsonInput as never, {
      context: this.contextFor(record),
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        retryIntervalOverrides: this.retryIntervalOverrides,
        waitTimeOverrides: this.waitTimeOverrides,
      },
    });
    record.interpreterAbort = run.abort;

    // The event log only feeds the history; losing it must not turn `done` into a rejection.
    const eventsDrained = this.collectEvents(record, run.eventLogs).catch((error: unknown) => {
      this.log(`execution ${name}: event log failed: ${describeError(error).message}`);
    });
    const outcome = run.result.then(
      (output) => ({ status: 'SUCCEEDED' as const, output }),
      (error: unknown) => this.classifyFailure(record, error),
    );
    record.done = Promise.all([outcome, eventsDrained]).then(([result]) => this.finish(record, result));
  }

  /**
   * Every execution, finished or running, as JSON a later runner can {@link importState}. After
   * {@link suspend}, what the executions were when it stopped them.
   */
  exportState(): ExportedRunnerState {
    if (this.suspendedState) return structuredCloneJson(this.suspendedState);
    const executions = [...this.executions.values()].map((record) => this.exportExecution(record));
    return { stateMachineArn: this.stateMachineArn, executions };
  }

  private exportExecution(record: ExecutionRecord): ExportedExecution {
    const { stateMachineArn: _, ...described } = this.describeExecution(record.arn);
    const exported: ExportedExecution = toJsonValue(
      {
        ...described,
        history: record.history,
        events: record.events,
      },
      'Execution',
    ) as ExportedExecution;
    if (record.status !== 'RUNNING') return exported;
    // Where it stands: the last state entered, with the raw input its StateEntered event shows.
    const entered = [...record.events].reverse().find((event) => event.type.endsWith('StateEntered'));
    const pending = record.resumeWaiting;
    if (!entered?.stateName && !pending) return exported; // not past its start yet: it starts again
    const stateName = pending?.stateName ?? (entered?.stateName as string);
    const waiting =
      pending ?? (record.waiting && record.taskState?.name === stateName ? record.waiting : undefined);
    const input = pending ? record.resumeInput : entered?.input;
    exported.resumeAt = toJsonValue(
      {
        stateName,
        input: input ?? null,
        enteredTime:
          record.taskState?.enteredTime ?? entered?.timestamp.toISOString() ?? new Date().toISOString(),
        retryCount: record.taskState?.retryCount ?? 0,
        ...(waiting && {
          waiting: {
            taskToken: waiting.token,
            startedAt: waiting.startedAt.toISOString(),
            deadline: waiting.deadline?.toISOString(),
            heartbeatMs: waiting.heartbeatMs,
          },
        }),
      },
      'Execution state',
    ) as ExportedExecution['resumeAt'];
    return exported;
  }

  /**
   * Takes over executions a previous runner exported: finished ones for their history, running ones resumed
   * where they stood with the same ARN and name. One waiting for its callback waits again for the same task
   * token with what was left of its timeout (time spent stopped counts, as it would in AWS) and its function
   * is not invoked again; one in any other state enters that state again with the same input. Settles once
   * every resumed wait takes callbacks again, with the executions, oldest first, and their inputs (as
   * {@link onExecutionStarted} would have given them).
   * @throws ConfigError when the state is of another state machine, names an unknown state, or an execution
   *   already exists here.
   */
  async importState(state: ExportedRunnerState): Promise<{ execution: StartedExecution; input: unknown }[]> {
    if (state.stateMachineArn !== this.stateMachineArn) {
      throw new ConfigError(
        `saved executions belong to ${state.stateMachineArn}, not to ${this.stateMachineArn}`,
      );
    }
    const states = (this.prepared.runnable as unknown as { States: Record<string, unknown> }).States;
    for (const exported of state.executions) {
      if (this.executions.has(exported.executionArn)) {
        throw new ConfigError(`execution ${exported.name} exists already`);
      }
      const resumeAt = exported.resumeAt;
      if (resumeAt && !Object.hasOwn(states, resumeAt.stateName)) {
        throw new ConfigError(
          `execution ${exported.name} stands at ${resumeAt.stateName}, which the definition lacks`,
        );
      }
      const waitsHere = resumeAt ? this.tasks.get(resumeAt.stateName)?.wait === true : false;
      if (resumeAt?.waiting && (typeof resumeAt.waiting.taskToken !== 'string' || !waitsHere)) {
        // Only a callback task waits for a token: a token on any other state would make it one.
        throw new ConfigError(
          `execution ${exported.name} waits at ${resumeAt.stateName}, which takes no callback`,
        );
      }
    }
    const restored: { execution: StartedExecution; input: unknown }[] = [];
    const waits: Promise<unknown>[] = [];
    for (const exported of state.executions) {
      const record: ExecutionRecord = {
        arn: exported.executionArn,
        name: exported.name,
        input: exported.input,
        startDate: new Date(exported.startDate),
        status: exported.status,
        output: exported.output,
        error: exported.error,
        cause: exported.cause,
        events: exported.events.map((event) => ({ ...event, timestamp: new Date(event.timestamp) })),
        history: [...exported.history],
        controller: new AbortController(),
        interpreterAbort: () => {},
        done: Promise.resolve(undefined as unknown as ExecutionResult),
      };
      if (exported.stopDate) record.stopDate = new Date(exported.stopDate);
      this.executions.set(record.arn, record);
      if (exported.status !== 'RUNNING') {
        record.controller.abort();
        record.done = Promise.resolve({
          ...this.describeExecution(record.arn),
          status: exported.status,
          stopDate: record.stopDate ?? record.startDate,
          history: [...record.history],
          events: [...record.events],
        });
      } else if (!exported.resumeAt) {
        this.run(record, this.machine, record.input);
        record.skipEvents = new Set(['ExecutionStarted']);
      } else {
        const at = exported.resumeAt;
        record.taskState = {
          name: at.stateName,
          enteredTime: at.enteredTime,
          retryCount: at.retryCount,
          attemptFailed: false,
        };
        if (at.waiting) {
          record.resumeWaiting = {
            stateName: at.stateName,
            token: at.waiting.taskToken,
            startedAt: new Date(at.waiting.startedAt),
            ...(at.waiting.deadline && { deadline: new Date(at.waiting.deadline) }),
            ...(at.waiting.heartbeatMs !== undefined && { heartbeatMs: at.waiting.heartbeatMs }),
          };
          record.resumeInput = at.input;
        }
        const registered = new Promise<void>((resolve) => {
          record.onWaiting = resolve;
        });
        record.skipEvents = new Set(['ExecutionStarted', 'StateEntered']);
        this.run(record, this.resumeMachine(at.stateName), at.input);
        if (at.waiting) waits.push(Promise.race([registered, record.done]));
        else record.onWaiting = undefined;
        this.log(`execution ${record.name} resumed at ${at.stateName}`);
      }
      restored.push({
        execution: { executionArn: record.arn, startDate: record.startDate, done: record.done },
        input: record.input,
      });
    }
    await Promise.all(waits);
    return restored;
  }

  /** The runnable definition with StartAt moved to `stateName` (cached: one interpreter per state). */
  private resumeMachine(stateName: string): StateMachine {
    let machine = this.resumeMachines.get(stateName);
    if (!machine) {
      const definition = cloneJson(this.prepared.runnable as unknown as object);
      definition.StartAt = stateName;
      machine = new StateMachine(definition as unknown as StateMachineDefinition, {
        validationOptions: { noValidate: true },
      });
      this.resumeMachines.set(stateName, machine);
    }
    return machine;
  }

  /**
   * Stops every running execution so that a later runner can go on with it ({@link exportState} then
   * {@link importState}), instead of aborting it: first lets the functions already invoked finish (and the
   * steps they lead to, until every execution waits: for a callback, a timer or a retry), then takes the
   * export, then stops the waits. Their `done` settles as ABORTED here; the export keeps them RUNNING.
   */
  async suspend(options: { settleMs?: number } = {}): Promise<ExportedRunnerState> {
    if (this.suspendedState) return this.exportState();
    const until = Date.now() + (options.settleMs ?? 10_000);
    const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
    do {
      await Promise.allSettled([...this.inFlight]);
      // Let the interpreter move on and its event log catch up before looking again.
      for (let i = 0; i < 5; i += 1) await tick();
    } while (this.inFlight.size > 0 && Date.now() < until);
    const state = this.exportState();
    this.suspendedState = state;
    const running = [...this.executions.values()].filter((record) => record.status === 'RUNNING');
    for (const record of running) {
      record.suspended = true;
      record.stopRequest = { cause: 'Local runner suspended' };
      record.interpreterAbort();
      record.controller.abort();
    }
    await Promise.all(running.map((record) => record.done));
    await Promise.allSettled([...this.inFlight]);
    return this.exportState();
  }

  /**
   * Calls `listener` for every execution started from now on, in process or over HTTP (a scheduled function
   * starting the workflow through the API, for example). Returns the unsubscribe function.
   */
  onExecutionStarted(listener: (execution: StartedExecution, input: unknown) => void): () => void {
    this.startListeners.add(listener);
    return () => this.startListeners.delete(listener);
  }

  /** @throws StepFunctionsApiError ExecutionDoesNotExist */
  describeExecution(executionArn: string): ExecutionDescription {
    const record = this.requireExecution(executionArn);
    return {
      executionArn: record.arn,
      stateMachineArn: this.stateMachineArn,
      name: record.name,
      status: record.status,
      input: record.input,
      output: record.output,
      error: record.error,
      cause: record.cause,
      startDate: record.startDate,
      stopDate: record.stopDate,
    };
  }

  /** Settles when the execution ends (also for executions started over HTTP); never rejects. */
  waitForExecution(executionArn: string): Promise<ExecutionResult> {
    return this.requireExecution(executionArn).done;
  }

  /** The execution's events so far. @throws StepFunctionsApiError ExecutionDoesNotExist */
  getExecutionEvents(executionArn: string): ExecutionEvent[] {
    return [...this.requireExecution(executionArn).events];
  }

  /** The names of the states entered so far, in order. @throws StepFunctionsApiError ExecutionDoesNotExist */
  getExecutionHistory(executionArn: string): string[] {
    return [...this.requireExecution(executionArn).history];
  }

  /** Aborts a running execution (ABORTED); a finished one is left as it is. */
  async stopExecution(executionArn: string, details: { error?: string; cause?: string } = {}): Promise<Date> {
    validateLength(details.error, 'error', MAX_ERROR_LENGTH, false);
    validateLength(details.cause, 'cause', MAX_CAUSE_LENGTH, false);
    const record = this.requireExecution(executionArn);
    if (record.status === 'RUNNING') {
      record.stopRequest = { ...details };
      record.interpreterAbort();
      record.controller.abort();
    }
    const result = await record.done;
    return result.stopDate;
  }

  /** Tasks waiting for a callback now. */
  pendingTasks(): PendingTask[] {
    return [...this.tokens.values()]
      .filter((entry) => entry.open)
      .map(({ executionArn, stateName, startedAt }) => ({ executionArn, stateName, startedAt }));
  }

  /**
   * Completes the waiting task that owns `taskToken` with `output` (a JSON string), as SendTaskSuccess.
   * @throws StepFunctionsApiError InvalidToken (malformed or unknown), TaskTimedOut (the task is no longer
   *   waiting: completed, failed, timed out, or its execution ended), InvalidOutput, ValidationException.
   */
  sendTaskSuccess(taskToken: unknown, output: unknown): void {
    this.callback('SendTaskSuccess', taskToken, (entry) => {
      validateLength(output, 'output', MAX_OUTPUT_LENGTH, true);
      if (Buffer.byteLength(output as string, 'utf8') > MAX_OUTPUT_LENGTH) {
        throw new StepFunctionsApiError('ValidationException', 'The output exceeds 262144 bytes in UTF-8');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(output as string);
      } catch {
        throw new StepFunctionsApiError('InvalidOutput', "Invalid Output: 'The output is not valid JSON'");
      }
      entry.settle({ output: parsed });
    });
  }

  /**
   * Fails the waiting task that owns `taskToken`; `error` becomes the Step Functions error name matched by
   * Retry/Catch and `cause` the cause. Same errors as {@link sendTaskSuccess}, less InvalidOutput.
   */
  sendTaskFailure(taskToken: unknown, details: { error?: unknown; cause?: unknown } = {}): void {
    this.callback('SendTaskFailure', taskToken, (entry) => {
      validateLength(details.error, 'error', MAX_ERROR_LENGTH, false);
      validateLength(details.cause, 'cause', MAX_CAUSE_LENGTH, false);
      entry.settle({
        error: new TaskError((details.error as string) ?? '', (details.cause as string) ?? ''),
      });
    });
  }

  /** Restarts the heartbeat clock of the waiting task that owns `taskToken`. */
  sendTaskHeartbeat(taskToken: unknown): void {
    this.callback('SendTaskHeartbeat', taskToken, (entry) => {
      if (entry.heartbeatTimer) entry.heartbeatTimer.refresh();
    });
  }

  /** Aborts every running execution and waits for them to settle. */
  async close(): Promise<void> {
    const running = [...this.executions.values()].filter((record) => record.status === 'RUNNING');
    await Promise.all(
      running.map((record) => this.stopExecution(record.arn, { cause: 'Local runner closed' })),
    );
    // Handlers already invoked run to their end (a Lambda is not interrupted either), but not past here.
    await Promise.allSettled([...this.inFlight]);
  }

  // -------------------------------------------------------------------------------------------------------------

  private requireExecution(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (!record) {
      throw new StepFunctionsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    }
    return record;
  }

  private callback(operation: CallbackOperation, taskToken: unknown, act: (entry: TokenEntry) => void): void {
    let entry: TokenEntry | undefined;
    try {
      validateLength(taskToken, 'taskToken', MAX_TOKEN_LENGTH, true);
      entry = this.tokens.get(taskToken as string);
      if (!entry) throw new StepFunctionsApiError('InvalidToken', "Invalid Token: 'Invalid token'");
      if (!entry.open) {
        throw new StepFunctionsApiError(
          'TaskTimedOut',
          "Task Timed Out: 'Provided task does not exist anymore'",
        );
      }
      act(entry);
      this.recordCallback(operation, 'accepted', entry);
    } catch (error) {
      const code = error instanceof StepFunctionsApiError ? error.code : 'ValidationException';
      this.recordCallback(operation, code, entry);
      throw error;
    }
  }

  private recordCallback(
    operation: CallbackOperation,
    outcome: CallbackRecord['outcome'],
    entry?: TokenEntry,
  ): void {
    this.callbacks.push({
      operation,
      at: new Date(),
      outcome,
      executionArn: entry?.executionArn,
      stateName: entry?.stateName,
    });
    const where = entry ? ` for ${entry.stateName} in ${entry.executionArn.split(':').pop()}` : '';
    this.log(`${operation}${where}: ${outcome}`);
  }

  /** The Context Object: AWS's fields, plus getters that track the Task state being entered. */
  private contextFor(record: ExecutionRecord): Record<string, unknown> {
    const enter: Record<string, unknown> = {};
    for (const plan of this.tasks.values()) {
      Object.defineProperty(enter, `t${plan.index}`, {
        enumerable: true,
        get: () => this.enterTask(record, plan),
      });
    }
    const state = {};
    Object.defineProperties(state, {
      Name: { enumerable: true, get: () => record.taskState?.name },
      EnteredTime: { enumerable: true, get: () => record.taskState?.enteredTime },
      RetryCount: { enumerable: true, get: () => record.taskState?.retryCount },
    });
    const task = {};
    Object.defineProperty(task, 'Token', { enumerable: true, get: () => record.currentToken });
    return {
      Execution: {
        Id: record.arn,
        Name: record.name,
        RoleArn: `arn:aws:iam::${this.accountId}:role/${this.stateMachineName}-role`,
        RedriveCount: 0,
      },
      StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineName },
      State: state,
      Task: task,
      [CONTEXT_KEY]: { enter },
    };
  }

  /**
   * Runs as the first field of a Task state's wrapped Parameters, i.e. on every attempt, before the original
   * Parameters (and so `$$.Task.Token`) are resolved.
   */
  private enterTask(record: ExecutionRecord, plan: TaskPlan): string {
    const previous = record.taskState;
    if (record.resumeWaiting?.stateName === plan.stateName) {
      // The resumed wait: the same token, and the entry time and retry count it had.
      record.currentToken = record.resumeWaiting.token;
      return plan.stateName;
    }
    if (previous && previous.name === plan.stateName && previous.attemptFailed) {
      previous.retryCount += 1;
      previous.attemptFailed = false;
    } else {
      record.taskState = {
        name: plan.stateName,
        enteredTime: new Date().toISOString(),
        retryCount: 0,
        attemptFailed: false,
      };
    }
    record.currentToken = plan.wait ? randomBytes(TOKEN_BYTES).toString('base64url') : undefined;
    return plan.stateName;
  }

  /** Must take the token synchronously: the interpreter calls this right after resolving the Parameters. */
  private runTask(record: ExecutionRecord, plan: TaskPlan, wrapped: unknown): Promise<unknown> {
    const token = plan.wait
      ? (record.currentToken ?? randomBytes(TOKEN_BYTES).toString('base64url'))
      : undefined;
    record.currentToken = undefined;
    const resumed = record.resumeWaiting?.stateName === plan.stateName ? record.resumeWaiting : undefined;
    record.resumeWaiting = undefined;
    record.resumeInput = undefined;
    const taskState = record.taskState;
    const attempt = resumed
      ? this.resumeWait(record, plan, resumed)
      : this.executeTask(record, plan, wrapped, token);
    attempt.catch(() => {
      if (taskState) taskState.attemptFailed = true;
    });
    return attempt;
  }

  private async executeTask(
    record: ExecutionRecord,
    plan: TaskPlan,
    wrapped: unknown,
    token: string | undefined,
  ): Promise<unknown> {
    const fields = isRecord(wrapped) ? wrapped : {};
    const parameters = fields[PARAMS_KEY];
    const timeoutMs = this.durationMs(plan, 'timeout', fields[TIMEOUT_KEY]);
    const heartbeatMs = plan.wait ? this.durationMs(plan, 'heartbeat', fields[HEARTBEAT_KEY]) : undefined;
    const errorClass = await this.timeoutError;
    if (record.controller.signal.aborted) throw new UncatchableError('States.Aborted', 'Execution stopped');

    const start = () => this.startTask(record, plan, parameters);
    if (token !== undefined) {
      return this.awaitCallback(record, plan, token, start, errorClass, timeoutMs, heartbeatMs);
    }
    return this.withTimeout(record, start, errorClass, timeoutMs);
  }

  /** A resumed callback wait: the same token, what is left of its timeout, and no second invocation. */
  private async resumeWait(
    record: ExecutionRecord,
    plan: TaskPlan,
    resumed: NonNullable<ExecutionRecord['resumeWaiting']>,
  ): Promise<unknown> {
    const errorClass = await this.timeoutError;
    if (record.controller.signal.aborted) throw new UncatchableError('States.Aborted', 'Execution stopped');
    const timeoutMs = resumed.deadline ? Math.max(0, resumed.deadline.getTime() - Date.now()) : undefined;
    return this.awaitCallback(
      record,
      plan,
      resumed.token,
      () => Promise.resolve(),
      errorClass,
      timeoutMs,
      resumed.heartbeatMs,
      resumed.startedAt,
    );
  }

  /** Milliseconds for the state's timeout or heartbeat, or undefined when the state has none. */
  private durationMs(plan: TaskPlan, kind: 'timeout' | 'heartbeat', fromPath: unknown): number | undefined {
    const override = (kind === 'timeout' ? this.timeoutOverrides : this.heartbeatOverrides)[plan.stateName];
    const usesPath = kind === 'timeout' ? plan.timeoutFromPath : plan.heartbeatFromPath;
    let seconds = kind === 'timeout' ? plan.timeoutSeconds : plan.heartbeatSeconds;
    if (usesPath) {
      if (typeof fromPath !== 'number' || !Number.isInteger(fromPath) || fromPath < 1) {
        const field = kind === 'timeout' ? 'TimeoutSecondsPath' : 'HeartbeatSecondsPath';
        throw new UncatchableError(
          'States.Runtime',
          `${field} of ${plan.stateName} resolved to ${JSON.stringify(fromPath)}; expected a positive integer`,
        );
      }
      seconds = fromPath;
    }
    if (override !== undefined) return override;
    return seconds === undefined ? undefined : seconds * 1000 * this.timeScale;
  }

  private withTimeout(
    record: ExecutionRecord,
    start: () => Promise<unknown>,
    errorClass: TimeoutErrorClass | undefined,
    timeoutMs: number | undefined,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const signal = record.controller.signal;
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      const onAbort = () => finish(() => reject(new UncatchableError('States.Aborted', 'Execution stopped')));
      signal.addEventListener('abort', onAbort);
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => finish(() => reject(makeTimeoutError(errorClass, 'States.Timeout'))),
          timeoutMs,
        );
      }
      start().then(
        (value) => finish(() => resolve(value)),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  private awaitCallback(
    record: ExecutionRecord,
    plan: TaskPlan,
    token: string,
    start: () => Promise<unknown>,
    errorClass: TimeoutErrorClass | undefined,
    timeoutMs: number | undefined,
    heartbeatMs: number | undefined,
    startedAt: Date = new Date(),
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const signal = record.controller.signal;
      let timeoutTimer: NodeJS.Timeout | undefined;
      const waiting = {
        token,
        startedAt,
        ...(timeoutMs !== undefined && { deadline: new Date(Date.now() + timeoutMs) }),
        ...(heartbeatMs !== undefined && { heartbeatMs }),
      };
      record.waiting = waiting;
      const entry: TokenEntry = {
        executionArn: record.arn,
        stateName: plan.stateName,
        startedAt,
        open: true,
        heartbeatMs,
        settle: (outcome) => {
          if (!entry.open) return false;
          entry.open = false;
          if (record.waiting === waiting) record.waiting = undefined;
          clearTimeout(timeoutTimer);
          clearTimeout(entry.heartbeatTimer);
          signal.removeEventListener('abort', onAbort);
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome.output);
          return true;
        },
      };
      const onAbort = () =>
        entry.settle({ error: new UncatchableError('States.Aborted', 'Execution stopped') });
      signal.addEventListener('abort', onAbort);
      this.tokens.set(token, entry);
      record.onWaiting?.();
      record.onWaiting = undefined;
      if (timeoutMs !== undefined) {
        timeoutTimer = setTimeout(() => {
          if (entry.settle({ error: makeTimeoutError(errorClass, 'States.Timeout') })) {
            this.log(`${plan.stateName} in ${record.name}: timed out`);
          }
        }, timeoutMs);
      }
      if (heartbeatMs !== undefined) {
        entry.heartbeatTimer = setTimeout(() => {
          if (entry.settle({ error: makeTimeoutError(errorClass, 'States.HeartbeatTimeout') })) {
            this.log(`${plan.stateName} in ${record.name}: heartbeat timed out`);
          }
        }, heartbeatMs);
      }
      this.log(`${plan.stateName} in ${record.name}: waiting for task token`);
      // The start action's result is discarded; only its failure fails the task (as a synchronous invoke).
      start().then(
        () => {},
        (error: unknown) =>
          entry.settle({ error: error instanceof Error ? error : new Error(String(error)) }),
      );
    });
  }

  /** Invokes the state's function (or task handler) and returns what the interpreter sees as the task result. */
  private async startTask(record: ExecutionRecord, plan: TaskPlan, parameters: unknown): Promise<unknown> {
    if (plan.kind === 'handler') {
      const handler = this.taskHandlers[plan.stateName] as LocalTaskHandler;
      try {
        return toJsonValue(await handler(toJsonValue(parameters, 'Task input')), 'Task result');
      } catch (error) {
        const { name, message } = describeError(error);
        throw new TaskError(name, message);
      }
    }
    if (plan.kind === 'direct') {
      return this.invokeFunction(record, plan, plan.functionKey as string, parameters);
    }

    const request = isRecord(parameters) ? parameters : {};
    const functionKey = plan.functionKey ?? resolveFunctionKey(this.functions, request.FunctionName);
    if (!functionKey) {
      const requestId = randomUUID();
      throw new TaskError(
        'Lambda.ResourceNotFoundException',
        `Function not found: ${String(request.FunctionName)} (Service: AWSLambda; Status Code: 404; ` +
          `Error Code: ResourceNotFoundException; Request ID: ${requestId}; Proxy: null)`,
      );
    }
    const payload = 'Payload' in request ? request.Payload : {};
    const requestId = randomUUID();
    const invocation = this.invokeFunction(record, plan, functionKey, payload, requestId);
    if (request.InvocationType === 'Event') {
      invocation.catch(() => {}); // asynchronous invoke: the caller never sees the function's outcome
      return this.invokeResult(202, '', requestId);
    }
    return this.invokeResult(200, await invocation, requestId);
  }

  /** The optimised integration's result: the Invoke API response, with the function's result as `Payload`. */
  private invokeResult(statusCode: number, payload: unknown, requestId: string): unknown {
    const date = new Date().toUTCString();
    const length = String(JSON.stringify(payload).length);
    return {
      ExecutedVersion: '$LATEST',
      Payload: payload,
      SdkHttpMetadata: {
        AllHttpHeaders: {
          'X-Amz-Executed-Version': ['$LATEST'],
          'x-amzn-RequestId': [requestId],
          'Content-Length': [length],
          Date: [date],
          'Content-Type': ['application/json'],
        },
        HttpHeaders: {
          'X-Amz-Executed-Version': '$LATEST',
          'x-amzn-RequestId': requestId,
          'Content-Length': length,
          Date: date,
          'Content-Type': 'application/json',
        },
        HttpStatusCode: statusCode,
      },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: statusCode,
    };
  }

  private async invokeFunction(
    record: ExecutionRecord,
    plan: TaskPlan,
    functionKey: string,
    event: unknown,
    requestId: string = randomUUID(),
  ): Promise<unknown> {
    const handler = this.functions[functionKey] as LocalLambdaHandler;
    const deadline = Date.now() + 900_000;
    const context: LocalLambdaContext = {
      functionName: functionKey,
      functionVersion: '$LATEST',
      invokedFunctionArn: lambdaArn(this.region, this.accountId, functionKey),
      memoryLimitInMB: '1024',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionKey}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const invocation = { functionKey, stateName: plan.stateName, executionArn: record.arn, at: new Date() };
    try {
      // The payload crosses a JSON boundary in AWS; so it does here (no shared references, no undefined).
      const running = Promise.resolve(handler(toJsonValue(event, 'Lambda payload'), context));
      this.inFlight.add(running);
      const settled = () => this.inFlight.delete(running);
      running.then(settled, settled);
      const result = toJsonValue(await running, 'Lambda result');
      this.invocations.push({ ...invocation, outcome: 'succeeded' });
      return result;
    } catch (error) {
      this.invocations.push({ ...invocation, outcome: 'failed' });
      this.log(`${functionKey} (${plan.stateName}) failed: ${describeError(error).name}`);
      throw lambdaFunctionError(error);
    }
  }

  private async collectEvents(record: ExecutionRecord, eventLogs: AsyncGenerator<unknown>): Promise<void> {
    for await (const raw of eventLogs) {
      const event = raw as {
        type: string;
        timestamp: number;
        state?: { name: string; type: string; input?: unknown; output?: unknown };
        input?: unknown;
        output?: unknown;
        Error?: string;
        Cause?: unknown;
        retry?: { attempt: number };
      };
      if (record.skipEvents?.delete(event.type)) continue;
      const mapped: ExecutionEvent = { type: event.type, timestamp: new Date(event.timestamp) };
      if (event.state) {
        mapped.stateName = event.state.name;
        mapped.stateType = event.state.type;
      }
      switch (event.type) {
        case 'ExecutionStarted':
          mapped.input = event.input;
          break;
        case 'ExecutionSucceeded':
          mapped.output = event.output;
          break;
        case 'ExecutionTimeout':
          mapped.type = 'ExecutionTimedOut';
          break;
        case 'StateEntered':
          mapped.type = `${event.state?.type}StateEntered`;
          mapped.input = event.state?.input;
          record.history.push(event.state?.name ?? '');
          break;
        case 'StateExited':
          mapped.type = `${event.state?.type}StateExited`;
          mapped.output = event.state?.output;
          break;
        case 'StateFailed':
          if (event.state?.type === 'Task') {
            mapped.type = String(event.Error).endsWith('Timeout') ? 'TaskTimedOut' : 'TaskFailed';
          } else {
            mapped.type = `${event.state?.type}StateFailed`;
          }
          break;
        case 'StateRetried':
          mapped.retryAttempt = event.retry?.attempt;
          break;
      }
      if (event.Error !== undefined) {
        mapped.error = event.Error;
        mapped.cause = typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause);
      }
      record.events.push(mapped);
    }
  }

  private classifyFailure(
    record: ExecutionRecord,
    error: unknown,
  ): { status: Exclude<ExecutionStatus, 'RUNNING' | 'SUCCEEDED'>; error?: string; cause?: string } {
    if (error instanceof ExecutionAbortedError) {
      return { status: 'ABORTED', error: record.stopRequest?.error, cause: record.stopRequest?.cause };
    }
    if (error instanceof ExecutionTimeoutError) {
      return {
        status: 'TIMED_OUT',
        error: 'States.Timeout',
        cause: 'The execution ran longer than TimeoutSeconds',
      };
    }
    const cause = error instanceof ExecutionError ? error.cause : error;
    const described = describeError(cause);
    return { status: 'FAILED', error: described.name, cause: described.message };
  }

  private finish(
    record: ExecutionRecord,
    result: { status: Exclude<ExecutionStatus, 'RUNNING'>; output?: unknown; error?: string; cause?: string },
  ): ExecutionResult {
    record.status = result.status;
    record.output = result.output;
    record.error = result.error;
    record.cause = result.cause;
    record.stopDate = new Date();
    // Tokens of tasks still waiting (a failed Parallel branch, a stop) answer TaskTimedOut from now on.
    record.controller.abort();
    if (record.suspended) this.log(`execution ${record.name} suspended`);
    else this.log(`execution ${record.name} ${result.status}${result.error ? ` (${result.error})` : ''}`);
    return {
      ...this.describeExecution(record.arn),
      status: result.status,
      stopDate: record.stopDate,
      history: [...record.history],
      events: [...record.events],
    };
  }
}
