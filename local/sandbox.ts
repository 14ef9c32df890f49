/**
 * The whole PolicyGate backend on 127.0.0.1: the local IAM, DynamoDB (dynalite), SNS, SQS, CloudTrail,
 * Secrets Manager, Step Functions and Slack stand-ins, running the real state machine definition with the
 * real Lambda handlers, the reconciliation sweep, the Slack delivery worker, and the Slack interactivity handler behind a local
 * Function URL. The handlers reach the stand-ins only through the SDK's standard `AWS_ENDPOINT_URL_*`
 * variables and `SLACK_API_URL`, set here. Every IAM write emits its CloudTrail event, which starts an
 * execution as the EventBridge rule would (unless the test makes the rule lose it).
 */
import { join } from 'node:path';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoApprovalStore } from '../src/adapters/approval-store';
import { dependencies, resetDependencies } from '../src/app/dependencies';
import { resetSweepService } from '../src/app/sweep-dependencies';
import { resetConfig } from '../src/config';
import { isPolicyChangeEventName } from '../src/domain/policy-change';
import { handler as analyseChange } from '../src/handlers/analyse-change';
import { handler as emailDecision } from '../src/handlers/email-decision';
import { handler as handleFailure } from '../src/handlers/handle-failure';
import { handler as notifyChange } from '../src/handlers/notify-change';
import { handler as reconciliationSweep } from '../src/handlers/reconciliation-sweep';
import { handler as recordOutcome } from '../src/handlers/record-outcome';
import { handler as requestApproval } from '../src/handlers/request-approval';
import { handler as restoreChange } from '../src/handlers/restore-change';
import { handler as slackDelivery } from '../src/handlers/slack-delivery';
import { handler as slackInteractivity } from '../src/handlers/slack-interactivity';
import type { SlackRecoveryReport } from '../src/services/slack-recovery';
import type { SweepReport } from '../src/services/sweep-service';
import { DECISION_BLOCK_ID } from '../src/slack/messages/approval-message';
import { type LocalCloudTrailServer, startCloudTrailServer, type TrailInput } from './cloudtrail';
import { createApprovalsTable, startDynalite } from './dynamodb';
import { type CloudTrailEvent, type IamServer, type IamServerOptions, startIamServer } from './iam';
import { type LocalKmsKey, type LocalKmsServer, startKmsServer } from './kms/server';
import { withConcurrency } from './lambda-concurrency';
import { type LambdaUrlServer, startLambdaUrlServer } from './lambda-url/server';
import { type LocalOrganization, type OrganizationOptions, startOrganization } from './organization-sandbox';
import {
  itemFromJson,
  itemToJson,
  openDataDir,
  type SandboxDataDir,
  SandboxDataError,
  type SavedSandbox,
  snsFromJson,
  snsToJson,
} from './persistence';
import { type LocalSecretsManagerServer, startSecretsManagerServer } from './secrets-manager/server';
import {
  type BlockActionsPayload,
  type DeliveryResult,
  type LocalSlackServer,
  type SlackRateLimitOptions,
  type SlackUserSpec,
  startSlackServer,
} from './slack';
import { type LocalSnsServer, startSnsServer } from './sns/server';
import { eventBridgeDeadLetterAttributes, type LocalSqsServer, startSqsServer } from './sqs';
import {
  type ExecutionResult,
  type LocalStepFunctionsHandle,
  readDefinitionFile,
  type StartedExecution,
  startLocalStepFunctions,
} from './stepfunctions';
import { type LocalStsServer, startStsServer } from './sts';

export const ACCOUNT = '123456789012';
export const POLICY_GATE_KEY = 'AKIDPOLICYGATE';
export const POLICY_GATE_ROLE = `arn:aws:iam::${ACCOUNT}:role/policy-gate-local-workflow`;
export const DEVELOPER_KEY = 'AKIDDEVELOPER';
const TABLE = 'policy-gate-local-approvals';
const SWEEP_TABLE = 'policy-gate-local-sweep';
/** serverless.yml's default `workflowReservedConcurrency`: each workflow function's concurrency in AWS. */
const WORKFLOW_RESERVED_CONCURRENCY = 10;
export const DEAD_LETTER_QUEUE = 'policy-gate-local-iam-changes-dlq';
const EVENT_RULE_ARN = `arn:aws:events:us-east-1:${ACCOUNT}:rule/policy-gate-local-iam-changes`;
/** The trail an account has when it is set up right: multi-region, logging all management events. */
export const GOOD_TRAIL: TrailInput = {
  Name: 'management-events',
  S3BucketName: 'audit-logs',
  IsMultiRegionTrail: true,
  IncludeGlobalServiceEvents: true,
  IsLogging: true,
};
export const SLACK_CHANNEL = 'C0POLICYGATE';
export const SLACK_BOT_TOKEN = 'xoxb-local-policy-gate-bot-token';
export const SLACK_SIGNING_SECRET = 'local-signing-secret-0123456789abcdef';
/** The two Slack secrets' names in the local Secrets Manager (plain-text values). */
export const SLACK_BOT_TOKEN_SECRET = 'policy-gate/local/slack-bot-token';
export const SLACK_SIGNING_SECRET_NAME = 'policy-gate/local/slack-signing-secret';
/** The installed workspace and app, as the stage settings name them and the Slack stand-in serves them. */
export const SLACK_TEAM_ID = 'T0POLICYGATE';
export const SLACK_APP_ID = 'A0POLICYGATE';
export const APPROVER_GROUP = 'S0SECOPS';

/**
 * The workspace: Ana approves by user id, Sam and Alice through the security user group, Mallory is in the
 * channel but no approver. Alice is also the developer whose IAM user (`alice`) makes the changes.
 */
export const SLACK_USERS = {
  ana: { id: 'U0ANA', name: 'ana', realName: 'Ana Approver', email: 'ana@example.com' },
  sam: { id: 'U0SAM', name: 'sam', realName: 'Sam Secops', email: 'sam@example.com' },
  alice: { id: 'U0ALICE', name: 'alice', realName: 'Alice Developer', email: 'alice@example.com' },
  mallory: { id: 'U0MALLORY', name: 'mallory', realName: 'Mallory', email: 'mallory@example.com' },
} as const satisfies Record<string, SlackUserSpec>;

export interface SandboxOptions {
  /** Scales every duration in the definition (retry intervals, timeouts); default 0.001. */
  timeScale?: number;
  /** Milliseconds the approval task waits before States.Timeout (overrides the scaled deadline). */
  approvalTimeoutMs?: number;
  /** The approval deadline the records get (APPROVAL_TIMEOUT_SECONDS); default one day. */
  approvalTimeoutSeconds?: number;
  /** RESTRICTED_ACTIONS; default the shipped list. */
  restrictedActions?: string;
  /** RECHECK_DELAY_SECONDS (scaled by `timeScale` like every Wait); default 300. */
  recheckDelaySeconds?: number;
  /** DEPLOYER_ROLE_ARN; default none. */
  deployerRoleArn?: string;
  /** How the local IAM returns documents (moto and LocalStack return some raw). */
  documentEncoding?: IamServerOptions['documentEncoding'];
  /** The account's CloudTrail trails; default {@link GOOD_TRAIL}. */
  trails?: TrailInput[];
  /** IAM_SLACK_IDENTITY_MAP (people and role declarations); default none. */
  identityMap?: string;
  /** SLACK_SECRET_CACHE_SECONDS; default unset (300). */
  slackSecretCacheSeconds?: number;
  /** SLACK_ENTERPRISE_ID, and the Enterprise Grid organisation the Slack stand-in's workspace is in. */
  slackEnterpriseId?: string;
  /** EMAIL_DECISIONS; default unset (the shipped default). */
  emailDecisions?: 'off' | 'deny-only' | 'on';
  /**
   * Keeps the sandbox's state in this directory (created mode 0700) and starts from what it holds:
   * approvals, the IAM account, KMS keys, Slack messages, e-mails, CloudTrail history and executions,
   * pending ones resumed. Default none: everything in memory. See local/persistence.ts.
   */
  dataDir?: string;
  /** Lambda handlers to run instead of the sources' (e.g. each function's bundle as it ships), by function. */
  handlers?: Partial<SandboxHandlers>;
  /**
   * An AWS Organization (issue 13): member accounts with their own IAM, the Organizations stand-in, the
   * member role and its trust; default none (a single account, as before).
   */
  organization?: OrganizationOptions;
  /**
   * The organization sweep's rotation (SWEEP_MAX_ACCOUNTS_PER_RUN, SWEEP_RUN_BUDGET_SECONDS,
   * SWEEP_CYCLE_MAX_SECONDS); the function's defaults otherwise.
   */
  sweepRotation?: { maxAccountsPerRun?: number; runBudgetSeconds?: number; cycleMaxSeconds?: number };
  /**
   * Slack's rate limits on the stand-in: on by default with Slack's own figures; `false` turns them off,
   * `{ scale }` speeds them up (and the delivery worker's pacing, SLACK_POST_INTERVAL_MS, with them).
   */
  slackRateLimits?: false | SlackRateLimitOptions;
  /** SLACK_DELIVERY_BUDGET_SECONDS: how long one `recoverSlack()` run drains; default 0 (one batch). */
  slackDeliveryBudgetSeconds?: number;
  /**
   * How many invocations of each workflow function run at once: the stack's reserved concurrency
   * (`workflowReservedConcurrency`, default 10); more wait for a slot, as throttled invocations are
   * retried by the state machine in AWS. See local/lambda-concurrency.ts.
   */
  lambdaConcurrency?: number;
  /**
   * SLACK_GROUP_WINDOW_SECONDS: one actor's changes within this many seconds share one Slack message;
   * default 0 (one message per request, as the tests before grouping expect). `npm start` uses 60, the
   * stage default.
   */
  slackGroupWindowSeconds?: number;
  /** SLACK_GROUP_TAKEOVER_SECONDS: how long a group page waits on its poster before a member takes over. */
  slackGroupTakeoverSeconds?: number;
}

/** The Lambda functions the sandbox runs, by their names in serverless.yml. */
export interface SandboxHandlers {
  analyseChange: typeof analyseChange;
  requestApproval: typeof requestApproval;
  restoreChange: typeof restoreChange;
  recordOutcome: typeof recordOutcome;
  notifyChange: typeof notifyChange;
  handleFailure: typeof handleFailure;
  slackInteractivity: typeof slackInteractivity;
  emailDecision: typeof emailDecision;
  reconciliationSweep: typeof reconciliationSweep;
  slackDelivery: typeof slackDelivery;
}

/** The handlers as the sources define them: what the sandbox runs unless `handlers` replaces some. */
export const SOURCE_HANDLERS: Readonly<SandboxHandlers> = Object.freeze({
  analyseChange,
  requestApproval,
  restoreChange,
  recordOutcome,
  notifyChange,
  handleFailure,
  slackInteractivity,
  emailDecision,
  reconciliationSweep,
  slackDelivery,
});

/** The stage's alert address, where the decision links go (DECISION_EMAIL_ADDRESS). */
export const DECISION_EMAIL = 'secops-alerts@example.com';

/** What the EventBridge rule does with one event: deliver it, lose it, or give it to the dead-letter queue. */
export type Delivery = 'deliver' | 'lose' | 'dead-letter';

export interface Sandbox {
  iam: IamServer;
  sns: LocalSnsServer;
  sfn: LocalStepFunctionsHandle;
  slack: LocalSlackServer;
  secrets: LocalSecretsManagerServer;
  /** The Slack interactivity handler behind a local Function URL (the app's Request URL). */
  interactivity: LambdaUrlServer;
  /** The e-mail decision page behind its own local Function URL (DECISION_PAGE_URL). */
  decisionPage: LambdaUrlServer;
  store: DynamoApprovalStore;
  /** An IAM client acting as a developer (an IAM user), whose changes PolicyGate gates. */
  developer: IAMClient;
  sqs: LocalSqsServer;
  cloudtrail: LocalCloudTrailServer;
  /** KMS, with the record-seal and decision-seal HMAC keys the stack would create. */
  kms: LocalKmsServer;
  sealKeys: { record: LocalKmsKey; decision: LocalKmsKey; link: LocalKmsKey; form: LocalKmsKey };
  /**
   * STS `AssumeRole`: its sessions' calls to the local IAM carry their CloudTrail identity, and its events
   * (and IAM's) are recorded in the local CloudTrail for `LookupEvents`.
   */
  sts: LocalStsServer;
  /** The organization's member accounts, when `organization` was given. */
  organization?: LocalOrganization;
  /** Executions started by CloudTrail events, the sweep or anything else, in order. */
  executions: { eventName: string; execution: StartedExecution }[];
  /**
   * Decides, per event, what the EventBridge rule does with it; default: deliver every gated event. Tests
   * use it to lose events (CloudTrail to EventBridge is best effort) or dead-letter them.
   */
  route: (decide: (event: CloudTrailEvent) => Delivery) => void;
  /** Runs the reconciliation sweep once, as its schedule would. */
  sweep(): Promise<SweepReport>;
  /** Runs the Slack delivery worker (the slackDelivery function) once, as its schedule would. */
  recoverSlack(): Promise<SlackRecoveryReport | undefined>;
  /**
   * Clicks a button of an approval's Slack message as `userId`, delivered signed to the interactivity
   * endpoint exactly as Slack does.
   */
  click(
    userId: string,
    actionId: string,
    approvalId: string,
    options?: {
      tamper?: 'signature' | 'body' | 'timestamp';
      timestampOffsetSeconds?: number;
      /** Click the button even if the message no longer shows it (a Slack client lagging behind). */
      stale?: boolean;
      /** Signs with this secret instead of the sandbox's (e.g. after a rotation). */
      signingSecret?: string;
      /** Changes the payload before signing: a forgery by someone holding the signing secret. */
      mutate?: (payload: BlockActionsPayload) => void;
    },
  ): Promise<DeliveryResult>;
  /** True when the sandbox went on from what its data directory held (so the account is seeded already). */
  restored: boolean;
  /** Saves the data directory's state now (no-op without `dataDir`); `close()` saves too. */
  save(): Promise<void>;
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
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'SLACK_BOT_TOKEN_SECRET_ARN',
  'SLACK_SIGNING_SECRET_ARN',
  'SLACK_SECRET_CACHE_SECONDS',
  'SLACK_TEAM_ID',
  'SLACK_ENTERPRISE_ID',
  'SLACK_APP_ID',
  'SLACK_CHANNEL_ID',
  'SLACK_API_URL',
  'SLACK_POST_INTERVAL_MS',
  'SLACK_DELIVERY_BUDGET_SECONDS',
  'SLACK_GROUP_WINDOW_SECONDS',
  'SLACK_GROUP_TAKEOVER_SECONDS',
  'APPROVER_SLACK_USER_IDS',
  'APPROVER_SLACK_USERGROUP_IDS',
  'IAM_SLACK_IDENTITY_MAP',
  'AWS_ENDPOINT_URL_SQS',
  'AWS_ENDPOINT_URL_CLOUDTRAIL',
  'AWS_ENDPOINT_URL_STS',
  'SWEEP_STATE_TABLE',
  'STATE_MACHINE_ARN',
  'DEAD_LETTER_QUEUE_URL',
  'ACCOUNT_ID',
  'RECHECK_DELAY_SECONDS',
  'DEPLOYER_ROLE_ARN',
  'STAGE',
  'AWS_ENDPOINT_URL_KMS',
  'RECORD_SEAL_KEY_ID',
  'DECISION_SEAL_KEY_ID',
  'DECISION_LINK_KEY_ID',
  'DECISION_FORM_KEY_ID',
  'DECISION_PAGE_URL',
  'DECISION_EMAIL_ADDRESS',
  'EMAIL_DECISIONS',
  'AWS_ENDPOINT_URL_ORGANIZATIONS',
  'ORGANIZATION_ID',
  'MEMBER_ROLE_NAME',
  'MEMBER_ROLE_EXTERNAL_ID',
  'ACCOUNT_SETTINGS',
  'ACCOUNT_SETTINGS_BUNDLED',
  'SWEEP_MAX_ACCOUNTS_PER_RUN',
  'SWEEP_RUN_BUDGET_SECONDS',
  'SWEEP_CYCLE_MAX_SECONDS',
] as const;

/** Starts the sandbox; `close()` stops everything and restores the environment. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const saved = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
  const data: SandboxDataDir | undefined = options.dataDir ? await openDataDir(options.dataDir) : undefined;
  const previous: SavedSandbox | undefined = data?.saved;
  let tablesChanged = true;
  const iam = await startIamServer({
    ...(previous && { initialState: previous.iam }),
    accountId: ACCOUNT,
    ...(options.documentEncoding && { documentEncoding: options.documentEncoding }),
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
  const dynamo = await startDynalite({
    onWrite: () => {
      tablesChanged = true;
    },
  });
  const sns = await startSnsServer({
    topics: [`arn:aws:sns:us-east-1:${ACCOUNT}:policy-gate-local-alerts`],
    ...(previous && { messages: snsFromJson(previous.sns) }),
  });
  const secrets = await startSecretsManagerServer({ accountId: ACCOUNT });
  secrets.putSecret(SLACK_BOT_TOKEN_SECRET, SLACK_BOT_TOKEN);
  secrets.putSecret(SLACK_SIGNING_SECRET_NAME, SLACK_SIGNING_SECRET);
  const slack = await startSlackServer({
    botToken: SLACK_BOT_TOKEN,
    teamId: SLACK_TEAM_ID,
    appId: SLACK_APP_ID,
    ...(options.slackEnterpriseId !== undefined && { enterpriseId: options.slackEnterpriseId }),
    users: Object.values(SLACK_USERS),
    usergroups: { [APPROVER_GROUP]: [SLACK_USERS.sam.id, SLACK_USERS.alice.id] },
    channels: [SLACK_CHANNEL],
    ...(previous && { state: previous.slack }),
    ...(options.slackRateLimits !== undefined && { rateLimits: options.slackRateLimits }),
  });
  // The delivery worker paces itself at Slack's rate, sped up as the stand-in's limits are.
  // Without limits the worker need not pace (1 ms between posts).
  const slackScale = options.slackRateLimits === false ? 1000 : (options.slackRateLimits?.scale ?? 1);
  const sqs = await startSqsServer({ accountId: ACCOUNT, queues: [DEAD_LETTER_QUEUE] });
  const cloudtrail = await startCloudTrailServer({
    accountId: ACCOUNT,
    trails: options.trails ?? [GOOD_TRAIL],
  });
  for (const event of previous?.cloudtrail ?? []) {
    cloudtrail.recordEvent(event.record, { searchable: event.searchable });
  }
  const kms = await startKmsServer({ accountId: ACCOUNT, ...(previous && { keys: previous.kms }) });
  // The same keys after a restart: every seal and decision link made before must still verify.
  const sealKeys = previous?.sandbox.sealKeys ?? {
    record: kms.createKey({ description: 'PolicyGate local record seals' }),
    decision: kms.createKey({ description: 'PolicyGate local decision seals' }),
    link: kms.createKey({ description: 'PolicyGate local decision links' }),
    form: kms.createKey({ description: 'PolicyGate local decision page forms' }),
  };
  const sts = await startStsServer({
    accountId: ACCOUNT,
    callers: {
      [DEVELOPER_KEY]: {
        type: 'IAMUser',
        principalId: 'AIDALOCALALICE000001',
        arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
        accountId: ACCOUNT,
        userName: 'alice',
      },
    },
    onSession: (accessKeyId, identity) =>
      organization ? organization.onSession(accessKeyId, identity) : iam.setIdentity(accessKeyId, identity),
    onEvent: (record) => cloudtrail.recordEvent(record),
    ...(previous && { sessions: previous.sts }),
    authorize: (request) => organization?.authorize(request),
  });
  // The organization's member accounts; their events are forwarded like the central account's (below).
  let forwardEvent: (event: CloudTrailEvent) => void = () => undefined;
  const organization = options.organization
    ? await startOrganization(
        options.organization,
        { iam, name: 'security', workflowRoleArn: POLICY_GATE_ROLE },
        (event) => forwardEvent(event),
      )
    : undefined;
  if (organization) {
    sts.setCaller(POLICY_GATE_KEY, {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/policy-gate-local-workflow/policy-gate-local-analyseChange`,
      accountId: ACCOUNT,
      sessionContext: {
        sessionIssuer: { type: 'Role', arn: POLICY_GATE_ROLE, userName: 'policy-gate-local-workflow' },
      },
    });
  }
  const run: SandboxHandlers = { ...SOURCE_HANDLERS, ...options.handlers };
  const interactivity = await startLambdaUrlServer(run.slackInteractivity);
  const decisionPage = await startLambdaUrlServer(run.emailDecision, {
    functionName: 'policy-gate-local-emailDecision',
    // Links in e-mails sent before a restart point at this port.
    ...(previous && { port: previous.sandbox.decisionPagePort }),
  }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new SandboxDataError(
      `port ${previous?.sandbox.decisionPagePort} of the e-mail decision page (the links in e-mails sent ` +
        'before point there) is in use: free it and start again',
      { cause: error },
    );
  });
  const timeScale = options.timeScale ?? 0.001;
  const concurrency = options.lambdaConcurrency ?? WORKFLOW_RESERVED_CONCURRENCY;
  const recheckDelaySeconds = options.recheckDelaySeconds ?? 300;
  const definition = await readDefinitionFile(
    join(__dirname, '..', 'stepfunctions', 'approval-workflow.asl.json'),
  );
  const sfn = await startLocalStepFunctions({
    definition,
    functions: {
      analyseChange: withConcurrency(run.analyseChange, concurrency),
      requestApproval: withConcurrency(run.requestApproval, concurrency),
      restoreChange: withConcurrency(run.restoreChange, concurrency),
      recordOutcome: withConcurrency(run.recordOutcome, concurrency),
      notifyChange: withConcurrency(run.notifyChange, concurrency),
      handleFailure: withConcurrency(run.handleFailure, concurrency),
    },
    timeScale,
    ...(options.approvalTimeoutMs !== undefined && {
      timeoutOverrides: { RequestApproval: options.approvalTimeoutMs },
    }),
    // aws-local-stepfunctions scales fixed Wait seconds only: the recheck's SecondsPath is scaled here.
    waitTimeOverrides: { WaitBeforeRecheck: recheckDelaySeconds * 1000 * timeScale },
  });

  Object.assign(process.env, {
    AWS_ENDPOINT_URL_IAM: iam.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_SFN: sfn.endpoint,
    AWS_ACCESS_KEY_ID: POLICY_GATE_KEY,
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    STAGE: 'local',
    APPROVALS_TABLE: TABLE,
    ALERT_TOPIC_ARN: [...sns.topics][0],
    OWN_ROLE_ARNS: POLICY_GATE_ROLE,
    APPROVAL_TIMEOUT_SECONDS: String(options.approvalTimeoutSeconds ?? 86_400),
    ...(options.restrictedActions !== undefined && { RESTRICTED_ACTIONS: options.restrictedActions }),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    SLACK_BOT_TOKEN_SECRET_ARN: secrets.arnOf(SLACK_BOT_TOKEN_SECRET),
    SLACK_SIGNING_SECRET_ARN: secrets.arnOf(SLACK_SIGNING_SECRET_NAME),
    SLACK_TEAM_ID,
    SLACK_APP_ID,
    ...(options.slackEnterpriseId !== undefined && { SLACK_ENTERPRISE_ID: options.slackEnterpriseId }),
    ...(options.slackSecretCacheSeconds !== undefined && {
      SLACK_SECRET_CACHE_SECONDS: String(options.slackSecretCacheSeconds),
    }),
    SLACK_CHANNEL_ID: SLACK_CHANNEL,
    SLACK_API_URL: slack.url,
    SLACK_POST_INTERVAL_MS: String(Math.max(1, Math.round(1000 / slackScale))),
    SLACK_DELIVERY_BUDGET_SECONDS: String(options.slackDeliveryBudgetSeconds ?? 0),
    SLACK_GROUP_WINDOW_SECONDS: String(options.slackGroupWindowSeconds ?? 0),
    ...(options.slackGroupTakeoverSeconds !== undefined && {
      SLACK_GROUP_TAKEOVER_SECONDS: String(options.slackGroupTakeoverSeconds),
    }),
    APPROVER_SLACK_USER_IDS: SLACK_USERS.ana.id,
    APPROVER_SLACK_USERGROUP_IDS: APPROVER_GROUP,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_CLOUDTRAIL: cloudtrail.endpoint,
    AWS_ENDPOINT_URL_STS: sts.endpoint,
    SWEEP_STATE_TABLE: SWEEP_TABLE,
    ...(options.sweepRotation?.maxAccountsPerRun !== undefined && {
      SWEEP_MAX_ACCOUNTS_PER_RUN: String(options.sweepRotation.maxAccountsPerRun),
    }),
    ...(options.sweepRotation?.runBudgetSeconds !== undefined && {
      SWEEP_RUN_BUDGET_SECONDS: String(options.sweepRotation.runBudgetSeconds),
    }),
    ...(options.sweepRotation?.cycleMaxSeconds !== undefined && {
      SWEEP_CYCLE_MAX_SECONDS: String(options.sweepRotation.cycleMaxSeconds),
    }),
    STATE_MACHINE_ARN: sfn.stateMachineArn,
    DEAD_LETTER_QUEUE_URL: sqs.queueUrl(DEAD_LETTER_QUEUE),
    ACCOUNT_ID: ACCOUNT,
    RECHECK_DELAY_SECONDS: String(recheckDelaySeconds),
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    RECORD_SEAL_KEY_ID: sealKeys.record.arn,
    DECISION_SEAL_KEY_ID: sealKeys.decision.arn,
    DECISION_LINK_KEY_ID: sealKeys.link.arn,
    DECISION_FORM_KEY_ID: sealKeys.form.arn,
    DECISION_PAGE_URL: decisionPage.url,
    DECISION_EMAIL_ADDRESS: DECISION_EMAIL,
    ...(options.emailDecisions !== undefined && { EMAIL_DECISIONS: options.emailDecisions }),
    ...(options.deployerRoleArn !== undefined && { DEPLOYER_ROLE_ARN: options.deployerRoleArn }),
    ...(options.identityMap !== undefined && { IAM_SLACK_IDENTITY_MAP: options.identityMap }),
    ...organization?.env,
  });
  resetConfig();
  resetDependencies();
  resetSweepService();

  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamoClient = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials });
  await createApprovalsTable(dynamoClient, TABLE);
  await dynamoClient.send(
    new CreateTableCommand({
      TableName: SWEEP_TABLE,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  if (previous) await restoreTables(dynamoClient, previous.dynamodb, [TABLE, SWEEP_TABLE]);
  const store = new DynamoApprovalStore(
    DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
    TABLE,
  );

  // The EventBridge rule: IAM's watched event names start the workflow. Failed calls are forwarded too, so
  // the tests prove the handler ignores them even if the rule did not; PolicyGate's own calls are forwarded
  // as the stack's rule does, and the handler recognises them by content (or gates them). Every
  // execution, however started (the sweep starts them through the API), is tracked for `settle`.
  const executions: Sandbox['executions'] = [];
  const stopTracking = sfn.runner.onExecutionStarted((execution, input) => {
    const detail = (input as { detail?: { eventName?: unknown } } | null)?.detail;
    executions.push({ eventName: String(detail?.eventName ?? ''), execution });
  });
  let decide: (event: CloudTrailEvent) => Delivery = () => 'deliver';
  forwardEvent = (event) => {
    cloudtrail.recordEvent({ ...event.detail });
    if (!isPolicyChangeEventName(event.detail.eventName)) return;
    const delivery = decide(event);
    if (delivery === 'deliver') sfn.startExecution(event);
    else if (delivery === 'dead-letter') {
      sqs.deliver(
        DEAD_LETTER_QUEUE,
        event,
        eventBridgeDeadLetterAttributes({
          ruleArn: EVENT_RULE_ARN,
          targetArn: sfn.stateMachineArn,
          errorCode: 'THROTTLING',
          errorMessage: 'Rate exceeded',
          exhaustedRetryCondition: 'MaximumRetryAttempts',
          retryAttempts: 185,
        }),
      );
    }
  };
  const unsubscribe = iam.onEvent((event) => forwardEvent(event));

  const developer = new IAMClient({
    region: 'us-east-1',
    endpoint: iam.endpoint,
    credentials: { accessKeyId: DEVELOPER_KEY, secretAccessKey: 'local' },
    maxAttempts: 1,
  });

  let tables: SavedSandbox['dynamodb'] = {};
  const collect = async (): Promise<SavedSandbox> => {
    if (tablesChanged) {
      tablesChanged = false;
      tables = await scanTables(dynamoClient);
    }
    return {
      sandbox: { sealKeys, decisionPagePort: Number(new URL(decisionPage.url).port) },
      iam: iam.exportState(),
      dynamodb: tables,
      kms: kms.exportKeys(),
      slack: slack.exportState(),
      sns: snsToJson(sns.messages),
      cloudtrail: cloudtrail.exportEvents(),
      sts: [...sts.sessions()],
      stepfunctions: sfn.runner.exportState(),
    };
  };
  let saving = data;
  const sandbox: Sandbox = {
    iam,
    sns,
    sfn,
    slack,
    secrets,
    interactivity,
    decisionPage,
    store,
    developer,
    sqs,
    cloudtrail,
    kms,
    sealKeys,
    sts,
    ...(organization && { organization }),
    executions,
    restored: previous !== undefined,
    async save() {
      if (data) await data.save(await collect());
    },
    route(decider) {
      decide = decider;
    },
    sweep: () => run.reconciliationSweep(),
    recoverSlack: () => run.slackDelivery(),
    async click(userId, actionId, approvalId, { stale, signingSecret, ...clickOptions } = {}) {
      const record = await store.get(approvalId);
      if (!record?.slackMessage) throw new Error(`approval ${approvalId} has no Slack message to click`);
      return slack.deliverBlockAction({
        url: interactivity.url,
        signingSecret: signingSecret ?? SLACK_SIGNING_SECRET,
        user: { id: userId },
        action: stale ? { actionId, blockId: DECISION_BLOCK_ID, value: approvalId } : { actionId },
        message: record.slackMessage,
        ...clickOptions,
      });
    },
    async settle() {
      let seen = -1;
      while (seen !== executions.length) {
        seen = executions.length;
        await Promise.all(executions.map((e) => e.execution.done));
      }
      return Promise.all(executions.map((e) => e.execution.done));
    },
    async close() {
      if (saving) {
        // No new decisions; those under way reach the runner before it stops. Then pending executions are
        // suspended, not aborted: their handlers finish, then one last save.
        await Promise.all([interactivity.close(), decisionPage.close()]);
        await Promise.all([interactivity.drain(), decisionPage.drain()]);
        await sfn.runner.suspend();
        tablesChanged = true;
        await saving.save(await collect());
        await saving.close();
      }
      unsubscribe();
      stopTracking();
      await sfn.close();
      await organization?.close();
      await Promise.all([
        iam.close(),
        sns.close(),
        sqs.close(),
        cloudtrail.close(),
        kms.close(),
        sts.close(),
        dynamo.close(),
        secrets.close(),
        slack.close(),
        interactivity.close(),
        decisionPage.close(),
      ]);
      dynamoClient.destroy();
      developer.destroy();
      for (const key of ENV_KEYS) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
      resetConfig();
      resetDependencies();
      resetSweepService();
    },
  };
  if (previous && data) {
    try {
      // Last, with every stand-in and the environment ready: executions that were between steps go on now.
      for (const { execution, input } of await sfn.runner.importState(previous.stepfunctions)) {
        const detail = (input as { detail?: { eventName?: unknown } } | null)?.detail;
        executions.push({ eventName: String(detail?.eventName ?? ''), execution });
      }
    } catch (error) {
      // Fail closed: stop without saving, so the file that could not be read stays as it was.
      saving = undefined;
      await data.close();
      await sandbox.close();
      throw new SandboxDataError(
        `${data.dir}: saved executions cannot be resumed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  if (data) {
    await data.save(await collect());
    data.startSaving(collect);
  }
  return sandbox;
}

/** Every table's items, for the data directory. */
async function scanTables(client: DynamoDBClient): Promise<SavedSandbox['dynamodb']> {
  const tables: SavedSandbox['dynamodb'] = {};
  const { TableNames = [] } = await client.send(new ListTablesCommand({}));
  for (const name of TableNames) {
    const items: SavedSandbox['dynamodb'][string] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: name, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) items.push(itemToJson(item));
      start = page.LastEvaluatedKey;
    } while (start);
    tables[name] = items;
  }
  return tables;
}

/** Puts the saved items back into the sandbox's (new, empty) tables. */
async function restoreTables(
  client: DynamoDBClient,
  saved: SavedSandbox['dynamodb'],
  known: string[],
): Promise<void> {
  for (const [table, items] of Object.entries(saved)) {
    if (!known.includes(table))
      throw new Error(`the data directory has a table ${table} the sandbox does not`);
    for (let at = 0; at < items.length; at += 25) {
      let requests: Record<string, { PutRequest: { Item: Record<string, AttributeValue> } }[]> | undefined = {
        [table]: items.slice(at, at + 25).map((item) => ({ PutRequest: { Item: itemFromJson(item) } })),
      };
      while (requests && Object.keys(requests).length > 0) {
        const answer = await client.send(new BatchWriteItemCommand({ RequestItems: requests }));
        requests = answer.UnprocessedItems as typeof requests;
      }
    }
  }
}

/** The decision service, as the Slack and e-mail channels use it. */
export function decisions() {
  return dependencies().decisions;
}
