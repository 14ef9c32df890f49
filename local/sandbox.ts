/**
 * The whole PolicyGate backend on 127.0.0.1: the local IAM, DynamoDB (dynalite), SNS and Step Functions
 * stand-ins, running the real state machine definition with the real Lambda handlers. The handlers
 * reach the stand-ins only through the SDK's standard `AWS_ENDPOINT_URL_*` variables, set here.
 * Every IAM write emits its CloudTrail event, which starts an execution as the EventBridge rule would.
 */
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoApprovalStore } from '../src/adapters/approval-store';
import { dependencies, resetDependencies } from '../src/app/dependencies';
import { resetConfig } from '../src/config';
import { isPolicyChangeEventName } from '../src/domain/policy-change';
import { handler as analyseChange } from '../src/handlers/analyse-change';
import { handler as handleFailure } from '../src/handlers/handle-failure';
import { handler as notifyChange } from '../src/handlers/notify-change';
import { handler as recordOutcome } from '../src/handlers/record-outcome';
import { handler as requestApproval } from '../src/handlers/request-approval';
import { handler as restoreChange } from '../src/handlers/restore-change';
import { createApprovalsTable, startDynalite } from './dynamodb';
import { type IamServer, startIamServer } from './iam';
import { type LocalSnsServer, startSnsServer } from './sns/server';
import {
  type ExecutionResult,
  type LocalStepFunctionsHandle,
  readDefinitionFile,
  type StartedExecution,
  startLocalStepFunctions,
} from './stepfunctions';

export const ACCOUNT = '123456789012';
export const POLICY_GATE_KEY = 'AKIDPOLICYGATE';
export const POLICY_GATE_ROLE = `arn:aws:iam::${ACCOUNT}:role/policy-gate-local-workflow`;
export const DEVELOPER_KEY = 'AKIDDEVELOPER';
const TABLE = 'policy-gate-local-approvals';

export interface SandboxOptions {
  /** Scales every duration in the definition (retry intervals, timeouts); default 0.001. */
  timeScale?: number;
  /** Milliseconds the approval task waits before States.Timeout (overrides the scaled deadline). */
  approvalTimeoutMs?: number;
}

export interface Sandbox {
  iam: IamServer;
  sns: LocalSnsServer;
  sfn: LocalStepFunctionsHandle;
  store: DynamoApprovalStore;
  /** An IAM client acting as a developer (an IAM user), whose changes PolicyGate gates. */
  developer: IAMClient;
  /** Executions started by CloudTrail events, in order. */
  executions: { eventName: string; execution: StartedExecution }[];
  /** Waits until every started execution has ended (new ones included) and returns their results. */
  settle(): Promise<ExecutionResult[]>;
  close(): Promise<void>;
}

const ENV_KEYS = [
  'AWS_ENDPOINT_URL_IAM',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SNS',
  'AWS_ENDPOINT_URL_SFN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'APPROVALS_TABLE',
  'ALERT_TOPIC_ARN',
  'OWN_ROLE_ARNS',
  'APPROVAL_TIMEOUT_SECONDS',
  'RESTRICTED_ACTIONS',
] as const;

/** Starts the sandbox; `close()` stops everything and restores the environment. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const saved = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
  const iam = await startIamServer({
    accountId: ACCOUNT,
    identities: {
      [POLICY_GATE_KEY]: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/policy-gate-local-workflow/policy-gate-local-analyseChange`,
        sessionContext: {
          sessionIssuer: { type: 'Role', arn: POLICY_GATE_ROLE, userName: 'policy-gate-local-workflow' },
        },
      },
      [DEVELOPER_KEY]: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, userName: 'alice' },
    },
  });
  const dynamo = await startDynalite();
  const sns = await startSnsServer({ topics: [`arn:aws:sns:us-east-1:${ACCOUNT}:policy-gate-local-alerts`] });
  const definition = await readDefinitionFile(
    join(__dirname, '..', 'stepfunctions', 'approval-workflow.asl.json'),
  );
  const sfn = await startLocalStepFunctions({
    definition,
    functions: { analyseChange, requestApproval, restoreChange, recordOutcome, notifyChange, handleFailure },
    timeScale: options.timeScale ?? 0.001,
    ...(options.approvalTimeoutMs !== undefined && {
      timeoutOverrides: { RequestApproval: options.approvalTimeoutMs },
    }),
  });

  Object.assign(process.env, {
    AWS_ENDPOINT_URL_IAM: iam.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_SFN: sfn.endpoint,
    AWS_ACCESS_KEY_ID: POLICY_GATE_KEY,
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    APPROVALS_TABLE: TABLE,
    ALERT_TOPIC_ARN: [...sns.topics][0],
    OWN_ROLE_ARNS: POLICY_GATE_ROLE,
    APPROVAL_TIMEOUT_SECONDS: '86400',
  });
  resetConfig();
  resetDependencies();

  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamoClient = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials });
  await createApprovalsTable(dynamoClient, TABLE);
  const store = new DynamoApprovalStore(
    DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
    TABLE,
  );

  // The EventBridge rule: IAM's gated event names start the workflow. Failed calls and PolicyGate's own
  // calls are forwarded too, so the tests prove the handler ignores them even if the rule did not.
  const executions: Sandbox['executions'] = [];
  const unsubscribe = iam.onEvent((event) => {
    if (!isPolicyChangeEventName(event.detail.eventName)) return;
    executions.push({ eventName: event.detail.eventName, execution: sfn.startExecution(event) });
  });

  const developer = new IAMClient({
    region: 'us-east-1',
    endpoint: iam.endpoint,
    credentials: { accessKeyId: DEVELOPER_KEY, secretAccessKey: 'local' },
    maxAttempts: 1,
  });

  return {
    iam,
    sns,
    sfn,
    store,
    developer,
    executions,
    async settle() {
      let seen = -1;
      while (seen !== executions.length) {
        seen = executions.length;
        await Promise.all(executions.map((e) => e.execution.done));
      }
      return Promise.all(executions.map((e) => e.execution.done));
    },
    async close() {
      unsubscribe();
      await sfn.close();
      await Promise.all([iam.close(), sns.close(), dynamo.close()]);
      dynamoClient.destroy();
      developer.destroy();
      for (const key of ENV_KEYS) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
      resetConfig();
      resetDependencies();
    },
  };
}

/** The decision service, as the Slack and e-mail channels use it. */
export function decisions() {
  return dependencies().decisions;
}
