/**
 * The approval workflow definition (stepfunctions/approval-workflow.asl.json): structure first, then routing,
 * run through `aws-local-stepfunctions` with every Task state replaced by a local handler (nothing reaches AWS).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

const ROOT = join(__dirname, '..', '..');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  JitterStrategy?: string;
}
interface Catcher {
  ErrorEquals: string[];
  ResultPath?: string | null;
  Next: string;
}
interface ChoiceRule {
  Next?: string;
  Variable?: string;
  Or?: ChoiceRule[];
  And?: ChoiceRule[];
  Not?: ChoiceRule;
  [comparison: string]: unknown;
}
interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: ChoiceRule[];
  Resource?: string;
  Parameters?: { [key: string]: Json };
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: Retrier[];
  Catch?: Catcher[];
  Error?: string;
}
interface Definition {
  StartAt: string;
  States: Record<string, State>;
}

const definitionText = readFileSync(join(ROOT, 'stepfunctions', 'approval-workflow.asl.json'), 'utf8');
const loadDefinition = (): Definition => JSON.parse(definitionText) as Definition;
const definition = loadDefinition();
const states = Object.entries(definition.States);
const taskStates = states.filter(([, state]) => state.Type === 'Task');

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Names of the functions declared in serverless.yml (the top-level `functions:` block). */
function serverlessFunctionNames(): string[] {
  const lines = readFileSync(join(ROOT, 'serverless.yml'), 'utf8').split('\n');
  const start = lines.indexOf('functions:');
  if (start < 0) throw new Error('serverless.yml has no top-level functions: block');
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const match = /^ {2}([A-Za-z0-9_-]+):\s*$/.exec(line);
    if (match?.[1]) names.push(match[1]);
  }
  return names;
}

/** Serverless Framework's CloudFormation logical id of a function's AWS::Lambda::Function. */
function functionLogicalId(name: string): string {
  const normalised = name.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return `${normalised.charAt(0).toUpperCase()}${normalised.slice(1)}LambdaFunction`;
}

/** Every state name a state can hand over to. */
function successors(state: State): string[] {
  const next: string[] = [];
  if (state.Next) next.push(state.Next);
  if (state.Default) next.push(state.Default);
  for (const rule of state.Choices ?? []) if (rule.Next) next.push(rule.Next);
  for (const catcher of state.Catch ?? []) next.push(catcher.Next);
  return next;
}

function reachableFrom(start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const state = definition.States[name];
    if (state) queue.push(...successors(state));
  }
  return seen;
}

function payloadOf(state: State): { [key: string]: Json } {
  const payload = state.Parameters?.Payload;
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new Error('Task state has no Payload object');
  }
  return payload;
}

describe('approval workflow definition: structure', () => {
  test('StartAt names a state and every transition names an existing state', () => {
    // Prepare
    const names = new Set(Object.keys(definition.States));
    // Act
    const dangling = states.flatMap(([name, state]) =>
      successors(state)
        .filter((next) => !names.has(next))
        .map((next) => `${name} -> ${next}`),
    );
    // Assess
    expect(names.has(definition.StartAt)).toBe(true);
    expect(dangling).toEqual([]);
  });

  test('every state is reachable from StartAt', () => {
    // Act
    const reachable = reachableFrom(definition.StartAt);
    // Assess
    expect(Object.keys(definition.States).filter((name) => !reachable.has(name))).toEqual([]);
  });

  test('no cycle: the workflow cannot loop (retries aside)', () => {
    // Prepare
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (name: string, path: string[]): void => {
      if (done.has(name)) return;
      if (visiting.has(name)) {
        cycles.push([...path, name].join(' -> '));
        return;
      }
      visiting.add(name);
      const state = definition.States[name];
      for (const next of state ? successors(state) : []) visit(next, [...path, name]);
      visiting.delete(name);
      done.add(name);
    };
    // Act
    visit(definition.StartAt, []);
    // Assess
    expect(cycles).toEqual([]);
  });

  test('every non-terminal state other than Choice has Next, and Choice states have a Default', () => {
    // Act
    const problems = states.flatMap(([name, state]) => {
      if (['Succeed', 'Fail'].includes(state.Type)) return [];
      if (state.Type === 'Choice') return state.Default ? [] : [`${name}: Choice without Default`];
      return state.Next || state.End ? [] : [`${name}: neither Next nor End`];
    });
    // Assess
    expect(problems).toEqual([]);
  });

  test.each(taskStates)('%s retries Lambda service errors with backoff and jitter', (_name, state) => {
    // Prepare
    const retriers = state.Retry ?? [];
    // Act
    const covered = LAMBDA_SERVICE_ERRORS.filter((error) =>
      retriers.some((retrier) => retrier.ErrorEquals.includes(error)),
    );
    // Assess
    expect(covered).toEqual(LAMBDA_SERVICE_ERRORS);
    for (const retrier of retriers) {
      expect(retrier.IntervalSeconds).toBeGreaterThanOrEqual(1);
      expect(retrier.MaxAttempts).toBeGreaterThanOrEqual(1);
      expect(retrier.BackoffRate).toBeGreaterThanOrEqual(2);
      expect(retrier.JitterStrategy).toBe('FULL');
      // A retried States.ALL would also retry States.Timeout and PolicyGate's permanent errors.
      expect(retrier.ErrorEquals).not.toContain('States.ALL');
    }
    expect(retriers.some((retrier) => retrier.ErrorEquals.includes('PolicyGate.TransientError'))).toBe(true);
  });

  test.each(taskStates)('%s catches every error, last, and without discarding its input', (name, state) => {
    // Prepare
    const catchers = state.Catch ?? [];
    const catchAll = catchers.at(-1);
    // Assess
    expect(catchAll?.ErrorEquals).toEqual(['States.ALL']);
    expect(catchAll?.Next).toBe(name === 'HandleFailure' ? 'Failed' : 'HandleFailure');
    for (const catcher of catchers) {
      expect(typeof catcher.ResultPath).toBe('string');
      expect(catcher.ResultPath).not.toBe('$');
    }
  });

  test('HandleFailure always ends in the Failed state, whatever happens to it', () => {
    // Prepare
    const handleFailure = definition.States.HandleFailure as State;
    // Act
    const targets = new Set(successors(handleFailure));
    // Assess
    expect([...targets]).toEqual(['Failed']);
    expect(definition.States.Failed?.Type).toBe('Fail');
    expect(definition.States.Failed?.Error).toBe('PolicyGate.WorkflowFailed');
  });

  test.each(taskStates)(
    '%s invokes a PolicyGate function declared in serverless.yml through the Lambda integration',
    (_name, state) => {
      // Prepare
      const declared = new Set(serverlessFunctionNames().map(functionLogicalId));
      // Act
      const functionName = state.Parameters?.FunctionName;
      // Assess
      expect(declared.size).toBeGreaterThanOrEqual(6);
      expect(['arn:aws:states:::lambda:invoke', 'arn:aws:states:::lambda:invoke.waitForTaskToken']).toContain(
        state.Resource,
      );
      expect(functionName).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      const logicalId = (functionName as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] as string;
      expect(declared).toContain(logicalId);
      expect(payloadOf(state)['executionId.$']).toBe('$$.Execution.Id');
    },
  );

  test('the waitForTaskToken task passes the task token, takes its timeout from the input and maps expiry', () => {
    // Prepare
    const callbacks = taskStates.filter(([, state]) => state.Resource?.endsWith('.waitForTaskToken'));
    // Assess
    expect(callbacks.map(([name]) => name)).toEqual(['RequestApproval']);
    const [, requestApproval] = callbacks[0] as [string, State];
    expect(payloadOf(requestApproval)['taskToken.$']).toBe('$$.Task.Token');
    expect(requestApproval.TimeoutSecondsPath).toBe('$.timeoutSeconds');
    expect(requestApproval.TimeoutSeconds).toBeUndefined();
    const catchers = requestApproval.Catch ?? [];
    const timeoutIndex = catchers.findIndex((catcher) => catcher.ErrorEquals.includes('States.Timeout'));
    const catchAllIndex = catchers.findIndex((catcher) => catcher.ErrorEquals.includes('States.ALL'));
    expect(timeoutIndex).toBeGreaterThanOrEqual(0);
    expect(timeoutIndex).toBeLessThan(catchAllIndex);
    expect(catchers[timeoutIndex]?.Next).toBe('RecordExpiry');
  });

  test('only the task token is read from the context besides the execution id (no other secrets leak in)', () => {
    // Act
    const contextPaths = [...definitionText.matchAll(/"(\$\$\.[^"]+)"/g)].map((match) => match[1]);
    // Assess
    expect(new Set(contextPaths)).toEqual(new Set(['$$.Execution.Id', '$$.Task.Token']));
  });

  test('RestoreChange is entered only from the APPROVED branch of RouteDecision', () => {
    // Act
    const entries = states.flatMap(([name, state]) => {
      const viaChoices = (state.Choices ?? [])
        .filter((rule) => rule.Next === 'RestoreChange')
        .map((rule) => `${name}:${rule.Variable}=${String(rule.StringEquals)}`);
      const other = [state.Next, state.Default, ...(state.Catch ?? []).map((catcher) => catcher.Next)]
        .filter((next) => next === 'RestoreChange')
        .map(() => `${name}:other`);
      return [...viaChoices, ...other];
    });
    // Assess
    expect(entries).toEqual(['RouteDecision:$.decision.decision=APPROVED']);
  });

  test.each(states.filter(([, state]) => state.Type === 'Choice'))(
    '%s checks that its variable is present before comparing it',
    (_name, state) => {
      // Prepare
      const [first, ...rest] = state.Choices ?? [];
      // Assess
      expect(first?.Not).toEqual({
        Variable: rest[0]?.Variable ?? rest[0]?.Or?.[0]?.Variable,
        IsPresent: true,
      });
      expect(first?.Next).toBe(state.Default);
      expect(rest.length).toBeGreaterThan(0);
    },
  );
});

// ---------------------------------------------------------------------------------------------- routing

/** aws-local-stepfunctions 3 calls Promise.withResolvers (ES2024), which Node 20 lacks. */
function ensurePromiseWithResolvers(): void {
  const statics = Promise as unknown as { withResolvers?: unknown };
  if (typeof statics.withResolvers === 'function') return;
  statics.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

type Handler = (payload: { [key: string]: Json }) => Json | Promise<Json>;

interface Outcome {
  status: 'SUCCEEDED' | 'FAILED';
  error?: string;
  /** States entered, in order. */
  path: string[];
  /** Payloads each Task's function received, by state name. */
  payloads: Record<string, { [key: string]: Json }[]>;
}

const CONTEXT = { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:sm:exec-1' } };
const TASK_TOKEN = 'token-for-the-test';

/**
 * Runs the definition with every Task state handled locally. A handler returns the function's result (wrapped
 * here as the Lambda integration's `Payload`), or for the callback task the decision sent with SendTaskSuccess;
 * or it throws an error whose `name` is the error name.
 */
async function runWorkflow(input: Json, handlers: Record<string, Handler>): Promise<Outcome> {
  const runnable = loadDefinition();
  // The interpreter resolves TimeoutSecondsPath against the Parameters' output, AWS against the state input; the
  // Payload carries the same value, so this path selects the same timeout under the interpreter.
  const requestApproval = runnable.States.RequestApproval as State;
  requestApproval.TimeoutSecondsPath = '$.Payload.timeoutSeconds';

  const payloads: Record<string, { [key: string]: Json }[]> = {};
  const localHandlers: Record<string, (input: unknown) => Promise<Json>> = {};
  for (const [name, state] of Object.entries(runnable.States)) {
    if (state.Type !== 'Task') continue;
    localHandlers[name] = async (parameters: unknown) => {
      const { Payload } = parameters as { Payload: { [key: string]: Json } };
      payloads[name] = [...(payloads[name] ?? []), Payload];
      const result = await (handlers[name] ?? (() => ({})))(Payload);
      // A callback task's result is what SendTaskSuccess sent; a plain invoke's is the Lambda response.
      return state.Resource?.endsWith('.waitForTaskToken') ? result : { Payload: result, StatusCode: 200 };
    };
  }
  const machine = new StateMachine(runnable as unknown as StateMachineDefinition);
  const options = {
    overrides: {
      taskResourceLocalHandlers: localHandlers,
      retryIntervalOverrides: Object.fromEntries(Object.keys(runnable.States).map((name) => [name, 0])),
    },
    context: { ...CONTEXT, Task: { Token: TASK_TOKEN } },
  } as unknown as RunOptions;
  const execution = machine.run(input, options);
  let status: Outcome['status'] = 'SUCCEEDED';
  await execution.result.catch(() => {
    status = 'FAILED';
  });
  const path: string[] = [];
  let error: string | undefined;
  for await (const event of execution.eventLogs) {
    if (event.type === 'StateEntered') path.push(event.state.name);
    if (event.type === 'ExecutionFailed') error = event.Error;
  }
  return { status, error, path, payloads };
}

function failWith(name: string): () => never {
  return () => {
    const error = new Error(`simulated ${name}`);
    error.name = name;
    throw error;
  };
}

const IAM_EVENT = { source: 'aws.iam', detail: { eventName: 'PutRolePolicy' } };
const quarantined = { verdict: 'quarantined', approvalId: 'ap-1', timeoutSeconds: 30 };

describe('approval workflow definition: routing', () => {
  beforeAll(ensurePromiseWithResolvers);

  test.each([
    ['quarantined', 'RequestApproval'],
    ['harmless', 'NotifyChange'],
    ['not-in-force', 'NotifyChange'],
    ['ignored', 'Ignored'],
  ])('verdict %s goes to %s', async (verdict, expected) => {
    // Prepare
    const handlers: Record<string, Handler> = {
      AnalyseChange: () => ({ ...quarantined, verdict }),
      RequestApproval: () => ({ decision: 'DENIED' }),
    };
    // Act
    const outcome = await runWorkflow(IAM_EVENT, handlers);
    // Assess
    expect(outcome.path[0]).toBe('AnalyseChange');
    expect(outcome.path[2]).toBe(expected);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.path).not.toContain('HandleFailure');
  });

  test.each([
    ['an unknown verdict', { verdict: 'approved' }],
    ['a verdict of the wrong type', { verdict: 7 }],
    ['no verdict', { approvalId: 'ap-1' }],
  ])('%s fails closed through HandleFailure', async (_label, result) => {
    // Act
    const outcome = await runWorkflow(IAM_EVENT, { AnalyseChange: () => result });
    // Assess
    expect(outcome.path).toEqual([
      'AnalyseChange',
      'RouteVerdict',
      'UnknownVerdict',
      'HandleFailure',
      'Failed',
    ]);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('PolicyGate.WorkflowFailed');
    expect(outcome.payloads.HandleFailure?.[0]?.input).toMatchObject({
      error: { Error: 'PolicyGate.UnknownVerdict' },
    });
  });

  test('AnalyseChange receives the whole event and the execution id', async () => {
    // Act
    const outcome = await runWorkflow(IAM_EVENT, { AnalyseChange: () => ({ verdict: 'ignored' }) });
    // Assess
    expect(outcome.payloads.AnalyseChange).toEqual([{ event: IAM_EVENT, executionId: CONTEXT.Execution.Id }]);
  });

  test('RequestApproval receives the approval id, the task token and the timeout', async () => {
    // Act
    const outcome = await runWorkflow(IAM_EVENT, {
      AnalyseChange: () => quarantined,
      RequestApproval: () => ({ decision: 'DENIED' }),
    });
    // Assess
    expect(outcome.payloads.RequestApproval).toEqual([
      { approvalId: 'ap-1', taskToken: TASK_TOKEN, timeoutSeconds: 30, executionId: CONTEXT.Execution.Id },
    ]);
  });

  test.each([
    {
      label: 'APPROVED, restored',
      decision: 'APPROVED',
      restored: 'RESTORED',
      end: 'Restored',
      error: undefined,
    },
    {
      label: 'APPROVED, conflict',
      decision: 'APPROVED',
      restored: 'CONFLICT',
      end: 'RestoreConflict',
      error: 'PolicyGate.RestoreConflict',
    },
    {
      label: 'APPROVED, unknown restore outcome',
      decision: 'APPROVED',
      restored: 'DONE',
      end: 'Failed',
      error: 'PolicyGate.WorkflowFailed',
    },
    { label: 'DENIED', decision: 'DENIED', restored: undefined, end: 'Denied', error: undefined },
    {
      label: 'unknown decision',
      decision: 'MAYBE',
      restored: undefined,
      end: 'Failed',
      error: 'PolicyGate.WorkflowFailed',
    },
  ])('$label ends in $end', async ({ decision, restored, end, error }) => {
    // Prepare
    const handlers: Record<string, Handler> = {
      AnalyseChange: () => quarantined,
      RequestApproval: () => ({ decision, approver: 'U123' }),
      RestoreChange: () => ({ outcome: restored ?? null }),
    };
    // Act
    const outcome = await runWorkflow(IAM_EVENT, handlers);
    // Assess
    expect(outcome.path.at(-1)).toBe(end);
    expect(outcome.status).toBe(error ? 'FAILED' : 'SUCCEEDED');
    expect(outcome.error).toBe(error);
    expect(outcome.path.includes('RestoreChange')).toBe(decision === 'APPROVED');
  });

  test('a missing decision fails closed without restoring', async () => {
    // Act
    const outcome = await runWorkflow(IAM_EVENT, {
      AnalyseChange: () => quarantined,
      RequestApproval: () => ({ approver: 'U123' }),
    });
    // Assess
    expect(outcome.path).not.toContain('RestoreChange');
    expect(outcome.path.slice(-3)).toEqual(['UnknownDecision', 'HandleFailure', 'Failed']);
  });

  test('RestoreChange and RecordDenial receive the approval id and the decision', async () => {
    // Prepare
    const decision = { decision: 'APPROVED', approver: 'U123' };
    // Act
    const approved = await runWorkflow(IAM_EVENT, {
      AnalyseChange: () => quarantined,
      RequestApproval: () => decision,
      RestoreChange: () => ({ outcome: 'RESTORED' }),
    });
    const denied = await runWorkflow(IAM_EVENT, {
      AnalyseChange: () => quarantined,
      RequestApproval: () => ({ ...decision, decision: 'DENIED' }),
    });
    // Assess
    expect(approved.payloads.RestoreChange).toEqual([
      { approvalId: 'ap-1', decision, executionId: CONTEXT.Execution.Id },
    ]);
    expect(denied.payloads.RecordDenial).toEqual([
      {
        approvalId: 'ap-1',
        outcome: 'DENIED',
        decision: { ...decision, decision: 'DENIED' },
        executionId: CONTEXT.Execution.Id,
      },
    ]);
  });

  test('an approval timeout records EXPIRED and leaves the change quarantined', async () => {
    // Act
    const outcome = await runWorkflow(IAM_EVENT, {
      AnalyseChange: () => quarantined,
      RequestApproval: failWith('States.Timeout'),
    });
    // Assess
    expect(outcome.path.slice(-2)).toEqual(['RecordExpiry', 'Expired']);
    expect(outcome.path).not.toContain('RestoreChange');
    expect(outcome.payloads.RecordExpiry).toEqual([
      {
        approvalId: 'ap-1',
        outcome: 'EXPIRED',
        error: expect.objectContaining({ Error: 'States.Timeout' }),
        executionId: CONTEXT.Execution.Id,
      },
    ]);
  });

  test('a transient error is retried and the workflow carries on', async () => {
    // Prepare
    let calls = 0;
    const analyse: Handler = () => {
      calls += 1;
      if (calls < 3) failWith('PolicyGate.TransientError')();
      return { verdict: 'harmless' };
    };
    // Act
    const outcome = await runWorkflow(IAM_EVENT, { AnalyseChange: analyse });
    // Assess
    expect(calls).toBe(3);
    expect(outcome.path.at(-1)).toBe('Notified');
  });

  test.each([
    ['AnalyseChange', {}],
    ['NotifyChange', { AnalyseChange: () => ({ verdict: 'harmless' }) }],
    ['RequestApproval', { AnalyseChange: () => quarantined }],
    [
      'RestoreChange',
      { AnalyseChange: () => quarantined, RequestApproval: () => ({ decision: 'APPROVED' }) },
    ],
    ['RecordDenial', { AnalyseChange: () => quarantined, RequestApproval: () => ({ decision: 'DENIED' }) }],
    ['RecordExpiry', { AnalyseChange: () => quarantined, RequestApproval: failWith('States.Timeout') }],
  ])('a permanent error in %s goes to HandleFailure with the error', async (failing, handlers) => {
    // Prepare
    const all: Record<string, Handler> = { ...handlers, [failing]: failWith('PolicyGateError') };
    // Act
    const outcome = await runWorkflow(IAM_EVENT, all);
    // Assess
    expect(outcome.path.slice(-2)).toEqual(['HandleFailure', 'Failed']);
    expect(outcome.path.filter((name) => name === failing)).toHaveLength(1);
    expect(outcome.payloads.HandleFailure?.[0]?.input).toMatchObject({ error: { Error: 'PolicyGateError' } });
    expect(outcome.error).toBe('PolicyGate.WorkflowFailed');
  });

  test('HandleFailure failing still ends the execution in Failed, once', async () => {
    // Act
    const outcome = await runWorkflow(IAM_EVENT, {
      AnalyseChange: failWith('PolicyGateError'),
      HandleFailure: failWith('PolicyGateError'),
    });
    // Assess
    expect(outcome.path).toEqual(['AnalyseChange', 'HandleFailure', 'Failed']);
    expect(outcome.error).toBe('PolicyGate.WorkflowFailed');
  });
});
