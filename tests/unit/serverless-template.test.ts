/**
 * The CloudFormation template `serverless package` generates from serverless.yml: security properties of the
 * deployed stack (least privilege, encryption, fail-closed event routing, alarms), checked before any deploy.
 *
 * The template is generated once, offline and without AWS credentials, into a temporary directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const STAGE = 'ci';
const PACKAGE_TIMEOUT_MS = 120_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Resource {
  Type: string;
  Condition?: string;
  Properties: JsonObject;
}
interface Template {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, Json>;
  Outputs?: Record<string, { Value: Json }>;
}
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: Json;
  NotResource?: Json;
  Principal?: Json;
  Condition?: Json;
}
/** A statement of an identity (role) policy, with the role it belongs to. */
interface RoleStatement {
  role: string;
  statement: Statement;
}

let template: Template;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'policy-gate-package-'));
  const env = { ...process.env };
  // Packaging needs no AWS account; a developer's profile must not change the result.
  delete env.AWS_PROFILE;
  delete env.AWS_DEFAULT_PROFILE;
  await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js'),
      'package',
      '--stage',
      STAGE,
      '--package',
      workDir,
    ],
    { cwd: ROOT, env, timeout: PACKAGE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
  );
  template = JSON.parse(
    readFileSync(join(workDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
}, PACKAGE_TIMEOUT_MS + 10_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------- helpers

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function resourcesOfType(type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function resource(logicalId: string): Resource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`template has no resource ${logicalId}`);
  return found;
}

function only(type: string): [string, Resource] {
  const found = resourcesOfType(type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0] as [string, Resource];
}

const ref = (logicalId: string) => ({ Ref: logicalId });
const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** The logical id an intrinsic `{ Fn::GetAtt: [id, 'Arn'] }` points at. */
function getAttTarget(value: Json | undefined): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const target = value['Fn::GetAtt'];
  return Array.isArray(target) && typeof target[0] === 'string' ? target[0] : undefined;
}

/** The template string of a plain string or an `Fn::Sub`, else undefined. */
function subTemplate(value: Json | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  return Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : undefined;
}

function statementsOf(document: Json | undefined): Statement[] {
  if (!document || typeof document !== 'object' || Array.isArray(document)) return [];
  return asArray(document.Statement as unknown as Statement | Statement[]);
}

function roleStatements(): RoleStatement[] {
  const inline = resourcesOfType('AWS::IAM::Role').flatMap(([role, { Properties }]) =>
    asArray(Properties.Policies as Json[] | undefined).flatMap((policy) =>
      statementsOf((policy as JsonObject).PolicyDocument).map((statement) => ({ role, statement })),
    ),
  );
  const attached = [
    ...resourcesOfType('AWS::IAM::Policy'),
    ...resourcesOfType('AWS::IAM::ManagedPolicy'),
  ].flatMap(([id, { Properties }]) => {
    const roles = asArray(Properties.Roles as Json[] | undefined).map((role) =>
      typeof role === 'object' && role && !Array.isArray(role) ? String(role.Ref) : String(role),
    );
    return statementsOf(Properties.PolicyDocument).flatMap((statement) =>
      (roles.length > 0 ? roles : [id]).map((role) => ({ role, statement })),
    );
  });
  return [...inline, ...attached];
}

/** Policies attached to resources rather than principals. */
function resourcePolicyStatements(): Statement[] {
  const documents: [string, string][] = [
    ['AWS::KMS::Key', 'KeyPolicy'],
    ['AWS::SQS::QueuePolicy', 'PolicyDocument'],
    ['AWS::S3::BucketPolicy', 'PolicyDocument'],
    ['AWS::SNS::TopicPolicy', 'PolicyDocument'],
    ['AWS::SecretsManager::ResourcePolicy', 'ResourcePolicy'],
  ];
  return documents.flatMap(([type, property]) =>
    resourcesOfType(type).flatMap(([, { Properties }]) => statementsOf(Properties[property])),
  );
}

const actionsOf = (statement: Statement): string[] => asArray(statement.Action);
const resourcesOf = (statement: Statement): Json[] =>
  asArray(statement.Resource as Json | Json[] | undefined);

const isReadOnly = (action: string): boolean => /^[a-z0-9-]+:(Get|List|Describe)[A-Za-z0-9]*$/.test(action);
const XRAY_WRITES = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];
/** Step Functions' log delivery (vended logs) APIs accept no resource-level permissions. */
const LOG_DELIVERY_WRITES = [
  'logs:CreateLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:PutResourcePolicy',
];
const ACCOUNT_IAM_RESOURCE =
  /^arn:\$\{AWS::Partition\}:iam::\$\{AWS::AccountId\}:(policy|role|user|group)\/\*$/;

const EXPECTED_FUNCTIONS = [
  'AnalyseChangeLambdaFunction',
  'RequestApprovalLambdaFunction',
  'RestoreChangeLambdaFunction',
  'RecordOutcomeLambdaFunction',
  'NotifyChangeLambdaFunction',
  'HandleFailureLambdaFunction',
  'SlackInteractivityLambdaFunction',
];
/**
 * Task tokens of waitForTaskToken tasks cannot be scoped by IAM, so resuming a workflow needs Resource "*";
 * only the Slack interactivity role may do it.
 */
const SLACK_ROLE = 'SlackInteractivityRole';
const RESUME_WORKFLOW = 'states:SendTaskSuccess';

function functions(): [string, Resource][] {
  return resourcesOfType('AWS::Lambda::Function');
}

function roleOfFunction(logicalId: string): string {
  const role = getAttTarget(resource(logicalId).Properties.Role);
  if (!role) throw new Error(`${logicalId} has no Role GetAtt`);
  return role;
}

function stateMachine(): [string, Resource] {
  return only('AWS::StepFunctions::StateMachine');
}

function eventRule(): Resource {
  const [stateMachineId] = stateMachine();
  const rules = resourcesOfType('AWS::Events::Rule').filter(([, rule]) =>
    asArray(rule.Properties.Targets as Json[]).some(
      (target) => JSON.stringify((target as JsonObject).Arn) === JSON.stringify(ref(stateMachineId)),
    ),
  );
  expect(rules).toHaveLength(1);
  return (rules[0] as [string, Resource])[1];
}

// ---------------------------------------------------------------------------------------------- functions

describe('generated template: functions', () => {
  test('declares the six workflow functions and the Slack interactivity function', () => {
    // Act
    const ids = functions().map(([id]) => id);
    // Assess
    expect(ids).toEqual(expect.arrayContaining(EXPECTED_FUNCTIONS));
  });

  test('every function runs nodejs22.x on arm64 with active tracing and an existing handler file', () => {
    for (const [id, { Properties }] of functions()) {
      // Prepare
      const handler = String(Properties.Handler);
      const file = join(ROOT, `${handler.slice(0, handler.lastIndexOf('.'))}.ts`);
      // Assess
      expect({ id, runtime: Properties.Runtime }).toEqual({ id, runtime: 'nodejs22.x' });
      expect({ id, architectures: Properties.Architectures }).toEqual({ id, architectures: ['arm64'] });
      expect({ id, tracing: Properties.TracingConfig }).toEqual({ id, tracing: { Mode: 'Active' } });
      expect({ id, handler, exists: existsSync(file) }).toEqual({ id, handler, exists: true });
    }
  });

  test('every function has its own role, defined in the stack, and no shared provider role exists', () => {
    // Act
    const roles = functions().map(([id]) => roleOfFunction(id));
    // Assess
    expect(new Set(roles).size).toBe(roles.length);
    for (const role of roles) expect(resource(role).Type).toBe('AWS::IAM::Role');
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  test('every function gets its configuration, and OWN_ROLE_ARNS lists every function role', () => {
    // Prepare
    const [slackSecret] = only('AWS::SecretsManager::Secret');
    const [table] = only('AWS::DynamoDB::Table');
    const [topic] = only('AWS::SNS::Topic');
    const roleArns = functions().map(([id]) => getAtt(roleOfFunction(id)));
    for (const [id, { Properties }] of functions()) {
      // Act
      const variables = (Properties.Environment as JsonObject).Variables as JsonObject;
      const ownRoles = (variables.OWN_ROLE_ARNS as JsonObject)['Fn::Join'] as [string, Json[]];
      // Assess
      expect({ id, ...variables }).toMatchObject({
        id,
        APPROVALS_TABLE: ref(table),
        ALERT_TOPIC_ARN: ref(topic),
        SLACK_SECRET_ARN: ref(slackSecret),
        STAGE,
        RESTRICTED_ACTIONS: expect.any(String),
        SLACK_CHANNEL_ID: expect.any(String),
        APPROVAL_TIMEOUT_SECONDS: expect.stringMatching(/^[1-9][0-9]*$/),
        RETENTION_DAYS: expect.stringMatching(/^[1-9][0-9]*$/),
        APPROVER_SLACK_USER_IDS: expect.any(String),
        APPROVER_SLACK_USERGROUP_IDS: expect.any(String),
        APPROVER_CACHE_SECONDS: expect.stringMatching(/^[0-9]+$/),
        IAM_SLACK_IDENTITY_MAP: expect.any(String),
      });
      expect(ownRoles[0]).toBe(',');
      expect(ownRoles[1]).toEqual(expect.arrayContaining(roleArns));
      expect(ownRoles[1]).toHaveLength(roleArns.length);
    }
  });
});

// ---------------------------------------------------------------------------------------------- IAM

describe('generated template: least privilege', () => {
  test('no policy anywhere allows every action, and no Allow uses NotAction or NotResource', () => {
    // Prepare
    const statements = [...roleStatements().map(({ statement }) => statement), ...resourcePolicyStatements()];
    // Act
    const offending = statements.filter(
      (statement) =>
        actionsOf(statement).some((action) => action === '*' || action === '*:*') ||
        (statement.Effect === 'Allow' &&
          (statement.NotAction !== undefined || statement.NotResource !== undefined)),
    );
    // Assess
    expect(statements.length).toBeGreaterThan(10);
    expect(offending).toEqual([]);
  });

  test('no role may use a whole service (service:*)', () => {
    // Act
    const offending = roleStatements().filter(({ statement }) =>
      actionsOf(statement).some((action) => action.endsWith(':*')),
    );
    // Assess
    expect(offending).toEqual([]);
  });

  test('no write action is allowed on Resource "*" (beyond X-Ray and Step Functions log delivery)', () => {
    // Prepare
    const [, { Properties }] = stateMachine();
    const workflowRole = getAttTarget(Properties.RoleArn);
    // Act
    const offending = roleStatements()
      .filter(({ statement }) => statement.Effect === 'Allow' && resourcesOf(statement).includes('*'))
      .flatMap(({ role, statement }) =>
        actionsOf(statement)
          .filter((action) => !isReadOnly(action) && !XRAY_WRITES.includes(action))
          .filter((action) => !(role === workflowRole && LOG_DELIVERY_WRITES.includes(action)))
          .filter((action) => !(role === SLACK_ROLE && action === RESUME_WORKFLOW))
          .map((action) => `${role}: ${action}`),
      );
    // Assess
    expect(workflowRole).toBeDefined();
    expect(offending).toEqual([]);
  });

  test('only the Slack interactivity role may resume a workflow, and nothing may fail one', () => {
    // Act
    const resumers = roleStatements()
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('states:SendTask')))
      .map(({ role, statement }) => ({ role, actions: actionsOf(statement) }));
    // Assess
    expect(resumers).toEqual([{ role: SLACK_ROLE, actions: [RESUME_WORKFLOW] }]);
  });

  test('the Slack interactivity function has a public Function URL and reads only what it needs', () => {
    // Prepare
    const [secret] = only('AWS::SecretsManager::Secret');
    const [table] = only('AWS::DynamoDB::Table');
    // Act
    const urls = resourcesOfType('AWS::Lambda::Url').map(([, { Properties }]) => Properties);
    const actions = roleStatements()
      .filter(({ role }) => role === SLACK_ROLE)
      .flatMap(({ statement }) =>
        actionsOf(statement).map((action) => ({ action, resources: resourcesOf(statement) })),
      );
    // Assess
    expect(urls).toEqual([
      expect.objectContaining({
        AuthType: 'NONE',
        TargetFunctionArn: getAtt('SlackInteractivityLambdaFunction'),
      }),
    ]);
    expect(template.Outputs?.SlackInteractivityLambdaFunctionUrl).toBeDefined();
    expect(actions).toEqual(
      expect.arrayContaining([
        { action: 'secretsmanager:GetSecretValue', resources: [ref(secret)] },
        { action: 'dynamodb:GetItem', resources: [getAtt(table)] },
        { action: 'dynamodb:UpdateItem', resources: [getAtt(table)] },
      ]),
    );
    expect(actions.map(({ action }) => action).filter((a) => /^(iam|sns|dynamodb:PutItem)/.test(a))).toEqual(
      [],
    );
  });

  test('IAM writes are limited to this account’s customer managed policies and principals', () => {
    // Prepare
    const iamWrites = roleStatements().filter(({ statement }) =>
      actionsOf(statement).some((action) => action.startsWith('iam:') && !isReadOnly(action)),
    );
    // Act
    const resources = iamWrites.flatMap(({ statement }) => resourcesOf(statement).map(subTemplate));
    // Assess
    expect(iamWrites.length).toBeGreaterThan(0);
    for (const arn of resources) expect(arn).toMatch(ACCOUNT_IAM_RESOURCE);
  });

  const quarantine = [
    'iam:CreatePolicyVersion',
    'iam:DeletePolicyVersion',
    'iam:DetachGroupPolicy',
    'iam:DetachRolePolicy',
    'iam:DetachUserPolicy',
    'iam:PutGroupPolicy',
    'iam:PutRolePolicy',
    'iam:PutUserPolicy',
    'iam:SetDefaultPolicyVersion',
  ];
  const restore = [
    'iam:AttachGroupPolicy',
    'iam:AttachRolePolicy',
    'iam:AttachUserPolicy',
    'iam:CreatePolicyVersion',
    'iam:DeletePolicyVersion',
    'iam:PutGroupPolicy',
    'iam:PutRolePolicy',
    'iam:PutUserPolicy',
    'iam:SetDefaultPolicyVersion',
  ];
  test.each([
    ['AnalyseChangeLambdaFunction', quarantine, false],
    ['RequestApprovalLambdaFunction', [], true],
    // The steps that end an approval update its Slack message, so they need the bot token.
    ['RestoreChangeLambdaFunction', restore, true],
    ['RecordOutcomeLambdaFunction', [], true],
    ['NotifyChangeLambdaFunction', [], false],
    ['HandleFailureLambdaFunction', [], true],
    ['SlackInteractivityLambdaFunction', [], true],
  ])('%s may write IAM %j and reads the Slack secret: %s', (functionId, iamWrites, readsSlackSecret) => {
    // Prepare
    const role = roleOfFunction(functionId);
    const [slackSecret] = only('AWS::SecretsManager::Secret');
    const statements = roleStatements().filter((entry) => entry.role === role);
    const actions = statements.flatMap(({ statement }) => actionsOf(statement));
    // Act
    const granted = [
      ...new Set(actions.filter((action) => action.startsWith('iam:') && !isReadOnly(action))),
    ];
    const secretStatements = statements.filter(({ statement }) =>
      actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
    );
    // Assess
    expect(granted.sort()).toEqual(iamWrites);
    expect(actions.filter((action) => action.startsWith('states:'))).toEqual(
      role === SLACK_ROLE ? [RESUME_WORKFLOW] : [],
    );
    expect(secretStatements.length > 0).toBe(readsSlackSecret);
    for (const { statement } of secretStatements) {
      expect(actionsOf(statement)).toEqual(['secretsmanager:GetSecretValue']);
      expect(resourcesOf(statement)).toEqual([ref(slackSecret)]);
    }
  });

  test.each(EXPECTED_FUNCTIONS)(
    '%s’s role writes only its own logs, its own table, topic and key',
    (functionId) => {
      // Prepare
      const { Properties } = resource(functionId);
      const role = roleOfFunction(functionId);
      const statements = roleStatements()
        .filter((entry) => entry.role === role)
        .map(({ statement }) => statement);
      const [table] = only('AWS::DynamoDB::Table');
      const [topic, { Properties: topicProperties }] = only('AWS::SNS::Topic');
      const ownLogGroup = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${String(
        Properties.FunctionName,
      )}:*`;
      const byService = (service: string) =>
        statements.filter((statement) =>
          actionsOf(statement).some((action) => action.startsWith(`${service}:`)),
        );
      // Act
      const logs = byService('logs');
      const xray = byService('xray');
      const dynamodb = byService('dynamodb');
      const sns = byService('sns');
      const kms = byService('kms');
      // Assess
      expect(logs.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs.flatMap(resourcesOf).map(subTemplate)).toEqual([ownLogGroup]);
      expect(xray.flatMap(actionsOf).sort()).toEqual([...XRAY_WRITES].sort());
      expect(dynamodb.length).toBeGreaterThan(0);
      for (const action of dynamodb.flatMap(actionsOf)) {
        expect(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']).toContain(action);
      }
      expect(dynamodb.flatMap(resourcesOf)).toEqual(dynamodb.map(() => getAtt(table)));
      // The interactivity function only answers in Slack; alerts are the workflow's job.
      const publishes = role !== SLACK_ROLE;
      expect(sns.flatMap(actionsOf)).toEqual(publishes ? ['sns:Publish'] : []);
      expect(sns.flatMap(resourcesOf)).toEqual(publishes ? [ref(topic)] : []);
      expect(kms.flatMap(resourcesOf)).toEqual(
        publishes ? [getAtt(String((topicProperties.KmsMasterKeyId as JsonObject).Ref))] : [],
      );
    },
  );

  test('function roles trust only Lambda, the workflow role only Step Functions of this account', () => {
    // Prepare
    const [, { Properties }] = stateMachine();
    const workflowRole = getAttTarget(Properties.RoleArn) as string;
    const trusted = (role: string) =>
      statementsOf(resource(role).Properties.AssumeRolePolicyDocument).map(
        (statement) => statement.Principal,
      );
    // Assess
    for (const [id] of functions()) {
      expect(trusted(roleOfFunction(id))).toEqual([{ Service: 'lambda.amazonaws.com' }]);
    }
    expect(trusted(workflowRole)).toEqual([{ Service: 'states.amazonaws.com' }]);
    expect(statementsOf(resource(workflowRole).Properties.AssumeRolePolicyDocument)[0]?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
    });
  });
});

// ---------------------------------------------------------------------------------------------- data and alerts

describe('generated template: data and alerts', () => {
  test('the approvals table is on-demand, expires records, has point-in-time recovery and encryption', () => {
    // Act
    const [, { Properties }] = only('AWS::DynamoDB::Table');
    // Assess
    expect(Properties).toMatchObject({
      TableName: `policy-gate-${STAGE}-approvals`,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'approvalId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'approvalId', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  test('the alert topic is encrypted with a rotated key that CloudWatch alarms may use', () => {
    // Prepare
    const [, { Properties }] = only('AWS::SNS::Topic');
    const keyId = String((Properties.KmsMasterKeyId as JsonObject).Ref);
    const key = resource(keyId);
    // Act
    const cloudWatch = statementsOf(key.Properties.KeyPolicy).filter(
      (statement) =>
        JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );
    // Assess
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(cloudWatch.flatMap(actionsOf).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  test('the e-mail subscription exists only when an address is configured', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    const [, subscription] = only('AWS::SNS::Subscription');
    // Act
    const condition = template.Conditions?.[subscription.Condition ?? ''];
    // Assess
    expect(subscription.Properties).toMatchObject({ Protocol: 'email', TopicArn: ref(topic) });
    // The ci stage configures no address, so the condition compares an empty address with ''.
    expect(condition).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
  });

  test('the Slack secret is created empty: its value never appears in the template', () => {
    // Act
    const [, { Properties }] = only('AWS::SecretsManager::Secret');
    // Assess
    expect(Properties.Name).toBe(`policy-gate/${STAGE}/slack`);
    expect(Properties.SecretString).toBeUndefined();
    expect(Properties.GenerateSecretString).toBeUndefined();
    expect(String(Properties.Description)).toMatch(/botToken.*signingSecret/);
  });

  test.each(['ExecutionsFailed', 'ExecutionsTimedOut'])(
    'an alarm on the state machine’s %s metric notifies the alert topic',
    (metric) => {
      // Prepare
      const [stateMachineId] = stateMachine();
      const [topic] = only('AWS::SNS::Topic');
      // Act
      const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
        .map(([, alarm]) => alarm.Properties)
        .filter((alarm) => alarm.Namespace === 'AWS/States' && alarm.MetricName === metric);
      // Assess
      expect(alarms).toHaveLength(1);
      expect(alarms[0]).toMatchObject({
        Dimensions: [{ Name: 'StateMachineArn', Value: ref(stateMachineId) }],
        AlarmActions: [ref(topic)],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    },
  );

  test('events that cannot start the workflow go to an encrypted dead-letter queue that is alarmed', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    const target = asArray(eventRule().Properties.Targets as Json[])[0] as JsonObject;
    const queue = getAttTarget((target.DeadLetterConfig as JsonObject | undefined)?.Arn) as string;
    // Act
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Namespace === 'AWS/SQS');
    // Assess
    expect(resource(queue).Type).toBe('AWS::SQS::Queue');
    expect(resource(queue).Properties.SqsManagedSseEnabled).toBe(true);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      Dimensions: [{ Name: 'QueueName', Value: getAtt(queue, 'QueueName') }],
      AlarmActions: [ref(topic)],
    });
  });

  test('the stack outputs the state machine, table, topic and Slack secret', () => {
    // Prepare
    const [stateMachineId] = stateMachine();
    const [table] = only('AWS::DynamoDB::Table');
    const [topic] = only('AWS::SNS::Topic');
    const [secret] = only('AWS::SecretsManager::Secret');
    // Assess
    expect(template.Outputs).toMatchObject({
      ApprovalStateMachineArn: { Value: ref(stateMachineId) },
      ApprovalsTableName: { Value: ref(table) },
      AlertTopicArn: { Value: ref(topic) },
      SlackSecretArn: { Value: ref(secret) },
    });
  });
});

// ---------------------------------------------------------------------------------------------- workflow

describe('generated template: state machine', () => {
  test('is a Standard workflow that traces and never logs execution data (task tokens)', () => {
    // Act
    const [, { Properties }] = stateMachine();
    const logging = Properties.LoggingConfiguration as JsonObject;
    const destination = (asArray(logging.Destinations as Json[])[0] as JsonObject)
      .CloudWatchLogsLogGroup as JsonObject;
    // Assess
    expect(Properties.StateMachineName).toBe(`policy-gate-${STAGE}-approval`);
    expect(Properties.StateMachineType).toBe('STANDARD');
    expect(logging.IncludeExecutionData).toBe(false);
    expect(['ERROR', 'ALL']).toContain(logging.Level);
    expect(resource(getAttTarget(destination.LogGroupArn) as string).Type).toBe('AWS::Logs::LogGroup');
    expect(Properties.TracingConfiguration).toEqual({ Enabled: true });
  });

  test('deploys the definition file unchanged, its functions resolved to this stack’s functions', () => {
    // Prepare
    const [, { Properties }] = stateMachine();
    const [body, mapping] = (Properties.DefinitionString as JsonObject)['Fn::Sub'] as [string, JsonObject];
    const file = JSON.parse(readFileSync(join(ROOT, 'stepfunctions', 'approval-workflow.asl.json'), 'utf8'));
    // Act
    const restored = JSON.parse(
      body.replace(/"\$\{([0-9a-f]+)\}"/g, (_whole, name: string) => JSON.stringify(mapping[name])),
      // The plugin's validator fills in the default query language of each state.
      (key, value) => (key === 'QueryLanguage' && value === 'JSONPath' ? undefined : value),
    );
    // Assess
    expect(restored).toEqual(file);
    for (const value of Object.values(mapping)) {
      expect(resource(getAttTarget(value) as string).Type).toBe('AWS::Lambda::Function');
    }
  });

  test('its role may invoke exactly the functions the definition names', () => {
    // Prepare
    const [, { Properties }] = stateMachine();
    const mapping = ((Properties.DefinitionString as JsonObject)['Fn::Sub'] as [string, JsonObject])[1];
    const role = getAttTarget(Properties.RoleArn) as string;
    // Act
    const invoke = roleStatements().filter(
      (entry) => entry.role === role && actionsOf(entry.statement).includes('lambda:InvokeFunction'),
    );
    // Assess
    expect(invoke).toHaveLength(1);
    expect(actionsOf(invoke[0]?.statement as Statement)).toEqual(['lambda:InvokeFunction']);
    expect(
      new Set(resourcesOf(invoke[0]?.statement as Statement).map((value) => JSON.stringify(value))),
    ).toEqual(new Set(Object.values(mapping).map((value) => JSON.stringify(value))));
  });
});

// ---------------------------------------------------------------------------------------------- event rule

/**
 * Evaluates an EventBridge event pattern against an event, for the operators this stack uses, as documented:
 * every field named in the pattern must match (absent fields match only `exists: false`), the values of a field
 * are alternatives, and `$or` holds alternative sub-patterns. Anything else throws rather than guess.
 */
function matchesPattern(pattern: Json, event: Json | undefined): boolean {
  if (!pattern || typeof pattern !== 'object' || Array.isArray(pattern))
    throw new Error('pattern must be an object');
  const fields = event && typeof event === 'object' && !Array.isArray(event) ? event : undefined;
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === '$or')
      return asArray(rule as Json[]).some((alternative) => matchesPattern(alternative, event));
    const value = fields?.[key];
    if (Array.isArray(rule)) return rule.some((matcher) => matchesValue(matcher, value));
    return matchesPattern(rule, value);
  });
}

function matchesValue(matcher: Json, value: Json | undefined): boolean {
  if (typeof matcher === 'string' || typeof matcher === 'number') return value === matcher;
  if (!matcher || typeof matcher !== 'object' || Array.isArray(matcher))
    throw new Error('unsupported matcher');
  const [operator, operand] = Object.entries(matcher)[0] ?? [];
  if (operator === 'exists') return (value !== undefined) === operand;
  if (operator === 'anything-but') {
    return value !== undefined && !asArray(operand as Json[]).includes(value);
  }
  throw new Error(`unsupported operator ${operator}`);
}

/** The pattern with each role ARN GetAtt replaced by the ARN that role would have in account 123456789012. */
function resolvedPattern(): Json {
  const text = JSON.stringify(eventRule().Properties.EventPattern);
  return JSON.parse(text, (_key, value: Json) => {
    const role = getAttTarget(value);
    if (!role) return value;
    return `arn:aws:iam::123456789012:role/${String(resource(role).Properties.RoleName)}`;
  });
}

const NINE_EVENTS = [
  'CreatePolicy',
  'CreatePolicyVersion',
  'SetDefaultPolicyVersion',
  'PutRolePolicy',
  'PutUserPolicy',
  'PutGroupPolicy',
  'AttachRolePolicy',
  'AttachUserPolicy',
  'AttachGroupPolicy',
];

function iamEvent(eventName: string, userIdentity: JsonObject, extra: JsonObject = {}): JsonObject {
  return {
    version: '0',
    source: 'aws.iam',
    'detail-type': 'AWS API Call via CloudTrail',
    region: 'us-east-1',
    detail: { eventSource: 'iam.amazonaws.com', eventName, userIdentity, ...extra },
  };
}

const IAM_USER = { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice', userName: 'alice' };
const CONSOLE_USER = {
  ...IAM_USER,
  sessionContext: { attributes: { mfaAuthenticated: 'true', creationDate: '2026-01-01T00:00:00Z' } },
};
function assumedRole(roleName: string): JsonObject {
  return {
    type: 'AssumedRole',
    arn: `arn:aws:sts::123456789012:assumed-role/${roleName}/session`,
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: `arn:aws:iam::123456789012:role/${roleName}`, userName: roleName },
    },
  };
}

describe('generated template: IAM change event rule', () => {
  test('matches successful calls of the nine policy-changing IAM APIs, from CloudTrail only', () => {
    // Act
    const pattern = eventRule().Properties.EventPattern as JsonObject;
    const detail = pattern.detail as JsonObject;
    // Assess
    expect(pattern.source).toEqual(['aws.iam']);
    expect(pattern['detail-type']).toEqual(['AWS API Call via CloudTrail']);
    expect(detail.eventSource).toEqual(['iam.amazonaws.com']);
    expect([...(detail.eventName as string[])].sort()).toEqual([...NINE_EVENTS].sort());
    expect(detail.errorCode).toEqual([{ exists: false }]);
  });

  test('names every PolicyGate function role in its exclusion', () => {
    // Prepare
    const roleArns = functions().map(([id]) => JSON.stringify(getAtt(roleOfFunction(id))));
    // Act
    const text = JSON.stringify(eventRule().Properties.EventPattern);
    // Assess
    for (const arn of roleArns) expect(text).toContain(arn);
  });

  test.each(NINE_EVENTS)('an IAM user’s %s starts the workflow', (eventName) => {
    expect(matchesPattern(resolvedPattern(), iamEvent(eventName, IAM_USER))).toBe(true);
  });

  test.each([
    ['an IAM user with an access key (no session context)', IAM_USER],
    ['a console user (session context, no issuer)', CONSOLE_USER],
    ['the root user', { type: 'Root', arn: 'arn:aws:iam::123456789012:root' }],
    ['another role', assumedRole('ci-deployer')],
    ['a role named like PolicyGate’s in another stage', assumedRole('policy-gate-prod-analyse')],
  ])('a change by %s starts the workflow', (_label, identity) => {
    expect(matchesPattern(resolvedPattern(), iamEvent('PutRolePolicy', identity as JsonObject))).toBe(true);
  });

  test('a change made by any PolicyGate function role does not start the workflow', () => {
    // Prepare
    const roleNames = functions().map(([id]) => String(resource(roleOfFunction(id)).Properties.RoleName));
    // Act
    const matched = roleNames.filter((name) =>
      matchesPattern(resolvedPattern(), iamEvent('PutRolePolicy', assumedRole(name))),
    );
    // Assess
    expect(roleNames).toHaveLength(EXPECTED_FUNCTIONS.length);
    expect(matched).toEqual([]);
  });

  test.each([
    ['a failed call', iamEvent('AttachRolePolicy', IAM_USER, { errorCode: 'AccessDenied' })],
    ['a detach', iamEvent('DetachRolePolicy', IAM_USER)],
    ['a deletion', iamEvent('DeleteRolePolicy', IAM_USER)],
    ['another service', { ...iamEvent('PutRolePolicy', IAM_USER), source: 'aws.s3' }],
  ])('%s does not start the workflow', (_label, event) => {
    expect(matchesPattern(resolvedPattern(), event)).toBe(false);
  });
});
