/**
 * The CloudFormation template `serverless package` generates from serverless.yml: security properties of the
 * deployed stack (least privilege, encryption, fail-closed event routing, alarms, no circular dependency),
 * checked before any deploy.
 *
 * The template is generated once, offline and without AWS credentials, into a temporary directory.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AlarmMetricName,
  EmfAlarmMetrics,
  METRIC_NAMESPACE,
  metricService,
} from '../../src/adapters/alarm-metrics';
import { APPROVAL_INDEXES } from '../../src/adapters/approval-store';
import { GATED_EVENT_NAMES, REMOVAL_EVENT_NAMES, REPORTED_EVENT_NAMES } from '../../src/domain/policy-change';
import { PACKAGE_TIMEOUT_MS, serverlessPackage, withPackagingLock } from '../support/packaging';

const ROOT = join(__dirname, '..', '..');
const STAGE = 'ci';
/** Waiting for another packaging of this tree, then packaging. */
const SETUP_TIMEOUT_MS = 2 * PACKAGE_TIMEOUT_MS + 10_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Resource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
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
  const run = await withPackagingLock(() => serverlessPackage(['--stage', STAGE]));
  workDir = run.packageDir;
  if (run.code !== 0) throw new Error(`serverless package failed:\n${run.output}`);
  template = JSON.parse(
    readFileSync(join(workDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
}, SETUP_TIMEOUT_MS);

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

/** A readable name for a policy's resource: the logical id of a Ref/GetAtt, else the (Sub) string. */
function resourceLabel(value: Json): string {
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.Ref === 'string') {
    return value.Ref;
  }
  return getAttTarget(value) ?? subTemplate(value) ?? JSON.stringify(value);
}

/**
 * Every logical id `value` refers to, through `Ref`, `Fn::GetAtt` and the `${Id}` / `${Id.Attribute}` of an
 * `Fn::Sub` (pseudo parameters such as `AWS::Region` included; filter against the resources as needed).
 */
function referencedIds(value: Json | undefined, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedIds(item, into);
    return into;
  }
  if (!value || typeof value !== 'object') return into;
  for (const [key, inner] of Object.entries(value)) {
    if (key === 'Ref' && typeof inner === 'string') {
      into.add(inner);
    } else if (key === 'Fn::GetAtt') {
      const target = Array.isArray(inner)
        ? inner[0]
        : typeof inner === 'string'
          ? inner.split('.')[0]
          : undefined;
      if (typeof target === 'string') into.add(target);
    } else if (key === 'Fn::Sub') {
      const [text, variables] = Array.isArray(inner) ? [inner[0], inner[1]] : [inner, undefined];
      const local = variables && typeof variables === 'object' && !Array.isArray(variables) ? variables : {};
      if (typeof text === 'string') {
        for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const id = String(name).split('.')[0] as string;
          if (!Object.hasOwn(local, id)) into.add(id);
        }
      }
      referencedIds(variables, into);
    } else {
      referencedIds(inner, into);
    }
  }
  return into;
}

/** The resources each resource depends on (references and DependsOn), the graph CloudFormation orders by. */
function dependencyGraph(resources: Record<string, Resource>): Map<string, string[]> {
  return new Map(
    Object.entries(resources).map(([id, { Properties, DependsOn }]) => {
      const targets = referencedIds(Properties);
      for (const dependency of asArray(DependsOn)) targets.add(dependency);
      return [id, [...targets].filter((target) => Object.hasOwn(resources, target))];
    }),
  );
}

/** A dependency cycle (its ids, the first repeated at the end), or undefined when there is none. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
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

/** Every (action, resource) a role is allowed, as `action on resource` (see {@link resourceLabel}). */
function grantsOf(role: string): string[] {
  return roleStatements()
    .filter((entry) => entry.role === role && entry.statement.Effect === 'Allow')
    .flatMap(({ statement }) =>
      actionsOf(statement).flatMap((action) =>
        resourcesOf(statement).map((target) => `${action} on ${resourceLabel(target)}`),
      ),
    )
    .sort();
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

const IAM_DATA = join(ROOT, 'node_modules', '@cloud-copilot', 'iam-data', 'data');
interface IamActionData {
  name: string;
  accessLevel: string;
}
const iamServices = new Map<string, Record<string, IamActionData>>();
/** The service's actions as IAM's service authorization reference lists them (keyed by lower-case name). */
function iamActions(service: string): Record<string, IamActionData> {
  let actions = iamServices.get(service);
  if (!actions) {
    const file = join(IAM_DATA, 'actions', `${service}.json`);
    actions = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, IamActionData>)
      : {};
    iamServices.set(service, actions);
  }
  return actions;
}
/** The actions IAM knows that `pattern` (an action, `*` and `?` allowed) names. */
function actionsMatching(pattern: string): IamActionData[] {
  const [service = '', name = ''] = pattern.split(':');
  const escaped = name
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  const regex = new RegExp(`^${escaped}$`, 'i');
  return Object.values(iamActions(service)).filter((action) => regex.test(action.name));
}
/** Read-only by name (Get/List/Describe), or by IAM's access level (e.g. cloudtrail:LookupEvents is Read). */
function isReadOnly(action: string): boolean {
  if (/^[a-z0-9-]+:(Get|List|Describe)[A-Za-z0-9]*$/.test(action)) return true;
  const known = /[*?]/.test(action) ? [] : actionsMatching(action);
  return known.length === 1 && ['Read', 'List'].includes(known[0]?.accessLevel ?? '');
}
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
/** An IAM role ARN built by name, as OWN_ROLE_ARNS names the roles it cannot GetAtt. */
const ROLE_ARN_BY_NAME = /^arn:\$\{AWS::Partition\}:iam::\$\{AWS::AccountId\}:role\/([\w+=,.@-]+)$/;

/** The functions the approval workflow runs (the state machine's tasks). */
const WORKFLOW_FUNCTIONS = [
  'AnalyseChangeLambdaFunction',
  'RequestApprovalLambdaFunction',
  'RestoreChangeLambdaFunction',
  'RecordOutcomeLambdaFunction',
  'NotifyChangeLambdaFunction',
  'HandleFailureLambdaFunction',
];
const SWEEP_FUNCTION = 'ReconciliationSweepLambdaFunction';
const SWEEP_ROLE = 'SweepRole';
const EXPECTED_FUNCTIONS = [...WORKFLOW_FUNCTIONS, SWEEP_FUNCTION, 'SlackInteractivityLambdaFunction'];
const APPROVALS_TABLE = 'ApprovalsTable';
const SWEEP_TABLE = 'SweepStateTable';
const DEAD_LETTER_QUEUE = 'IamChangeDeadLetterQueue';
/**
 * Task tokens of waitForTaskToken tasks cannot be scoped by IAM, so resuming a workflow needs Resource "*";
 * only the Slack interactivity role may do it.
 */
const SLACK_ROLE = 'SlackInteractivityRole';
const RESUME_WORKFLOW = 'states:SendTaskSuccess';
const SELF_PROTECTION_METRIC: AlarmMetricName = 'SelfProtectionAlerts';
const BOT_TOKEN_SECRET = 'SlackBotTokenSecret';
const SIGNING_SECRET = 'SlackSigningSecret';
const SLACK_SECRETS_KEY = 'SlackSecretsKey';

function functions(): [string, Resource][] {
  return resourcesOfType('AWS::Lambda::Function');
}

function roleOfFunction(logicalId: string): string {
  const role = getAttTarget(resource(logicalId).Properties.Role);
  if (!role) throw new Error(`${logicalId} has no Role GetAtt`);
  return role;
}

function environmentOf(logicalId: string): JsonObject {
  return (resource(logicalId).Properties.Environment as JsonObject).Variables as JsonObject;
}

function stateMachine(): [string, Resource] {
  return only('AWS::StepFunctions::StateMachine');
}

/** The KMS key the state machine is encrypted with (the plugin writes its KmsKeyId as an Fn::Sub). */
function workflowKeyId(): string {
  const [, { Properties }] = stateMachine();
  const encryption = Properties.EncryptionConfiguration as JsonObject;
  const id = /^\$\{(\w+)\.Arn\}$/.exec(subTemplate(encryption.KmsKeyId) ?? '')?.[1];
  if (!id) throw new Error('the state machine names no key of the stack');
  return id;
}

/** The KMS key a table is encrypted with. */
function tablesKeyId(table: string): string {
  const sse = resource(table).Properties.SSESpecification as JsonObject;
  const id = getAttTarget(sse.KMSMasterKeyId);
  if (!id) throw new Error(`${table} names no key of the stack`);
  return id;
}

/** What a role may do with the tables' key (only through DynamoDB). */
const TABLES_KEY_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncrypt*',
  'kms:GenerateDataKey*',
  'kms:DescribeKey',
];

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

/** The roles PolicyGate gives a fixed name, by logical id. */
function namedRoles(): Map<string, string> {
  return new Map(
    resourcesOfType('AWS::IAM::Role')
      .filter(([, { Properties }]) => typeof Properties.RoleName === 'string')
      .map(([id, { Properties }]) => [id, String(Properties.RoleName)]),
  );
}

// ---------------------------------------------------------------------------------------------- functions

describe('generated template: functions', () => {
  test('declares the six workflow functions, the reconciliation sweep and the Slack interactivity function', () => {
    // Act
    const ids = functions().map(([id]) => id);
    // Assess
    expect([...ids].sort()).toEqual([...EXPECTED_FUNCTIONS].sort());
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

  test('every function gets its configuration', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    for (const [id] of functions()) {
      // Act
      const variables = environmentOf(id);
      // Assess
      expect({ id, ...variables }).toMatchObject({
        id,
        APPROVALS_TABLE: ref(APPROVALS_TABLE),
        ALERT_TOPIC_ARN: ref(topic),
        STAGE,
        RESTRICTED_ACTIONS: expect.any(String),
        SLACK_CHANNEL_ID: expect.any(String),
        APPROVAL_TIMEOUT_SECONDS: expect.stringMatching(/^[1-9][0-9]*$/),
        RETENTION_DAYS: expect.stringMatching(/^[1-9][0-9]*$/),
        APPROVER_SLACK_USER_IDS: expect.any(String),
        APPROVER_SLACK_USERGROUP_IDS: expect.any(String),
        APPROVER_CACHE_SECONDS: expect.stringMatching(/^[0-9]+$/),
        IAM_SLACK_IDENTITY_MAP: expect.any(String),
        // The ci stage names no deployer: every change to PolicyGate's own roles is critical.
        DEPLOYER_ROLE_ARN: '',
        RECHECK_DELAY_SECONDS: expect.stringMatching(/^[0-9]+$/),
        SLACK_SECRET_CACHE_SECONDS: expect.stringMatching(/^[0-9]+$/),
        SLACK_TEAM_ID: expect.any(String),
        SLACK_ENTERPRISE_ID: expect.any(String),
        SLACK_APP_ID: expect.any(String),
      });
      // The one secret of old (bot token and signing secret together) is gone.
      expect({ id, legacy: variables.SLACK_SECRET_ARN }).toEqual({ id, legacy: undefined });
    }
  });

  test('OWN_ROLE_ARNS names every named role of the stack once, by GetAtt or by an ARN built from its RoleName', () => {
    // Prepare
    const roles = namedRoles();
    const byName = new Map([...roles].map(([id, name]) => [name, id]));
    for (const [id] of functions()) {
      // Act
      const [separator, entries] = (environmentOf(id).OWN_ROLE_ARNS as JsonObject)['Fn::Join'] as [
        string,
        Json[],
      ];
      const named = entries.map((entry) => {
        const target = getAttTarget(entry);
        if (target) return target;
        const roleName = ROLE_ARN_BY_NAME.exec(subTemplate(entry) ?? '')?.[1];
        return roleName ? (byName.get(roleName) ?? `unknown role name ${roleName}`) : JSON.stringify(entry);
      });
      // Assess
      expect({ id, separator }).toEqual({ id, separator: ',' });
      expect({ id, named: [...named].sort() }).toEqual({ id, named: [...roles.keys()].sort() });
    }
    // An ARN built from a name is right only for a role at the default path "/".
    for (const [id] of roles)
      expect({ id, path: resource(id).Properties.Path }).toEqual({ id, path: undefined });
  });

  test('every IAM role in the stack has a fixed RoleName (so the tests above cover all of them)', () => {
    // Act
    const unnamed = resourcesOfType('AWS::IAM::Role')
      .filter(([, { Properties }]) => typeof Properties.RoleName !== 'string')
      .map(([id]) => id);
    // Assess
    expect(unnamed).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------- sweep

describe('generated template: reconciliation sweep', () => {
  test('runs one at a time, on its own role, with its table, the state machine, the queue and the account', () => {
    // Prepare
    const [stateMachineId] = stateMachine();
    // Act
    const { Properties } = resource(SWEEP_FUNCTION);
    // Assess
    expect(Properties.ReservedConcurrentExecutions).toBe(1);
    expect(roleOfFunction(SWEEP_FUNCTION)).toBe(SWEEP_ROLE);
    expect(environmentOf(SWEEP_FUNCTION)).toMatchObject({
      SWEEP_STATE_TABLE: ref(SWEEP_TABLE),
      STATE_MACHINE_ARN: ref(stateMachineId),
      // Ref of a queue is its URL.
      DEAD_LETTER_QUEUE_URL: ref(DEAD_LETTER_QUEUE),
      ACCOUNT_ID: ref('AWS::AccountId'),
    });
    expect(resource(SWEEP_TABLE).Type).toBe('AWS::DynamoDB::Table');
    expect(resource(DEAD_LETTER_QUEUE).Type).toBe('AWS::SQS::Queue');
  });

  test('no other function gets the sweep’s settings', () => {
    for (const [id] of functions().filter(([id]) => id !== SWEEP_FUNCTION)) {
      // Act
      const names = Object.keys(environmentOf(id));
      // Assess
      for (const name of ['SWEEP_STATE_TABLE', 'STATE_MACHINE_ARN', 'DEAD_LETTER_QUEUE_URL', 'ACCOUNT_ID']) {
        expect({ id, has: names.includes(name) }).toEqual({ id, has: false });
      }
    }
  });

  test('a schedule (the stage’s sweepSchedule, 15 minutes by default) invokes it, and finishes within it', () => {
    // Prepare
    const sweepArn = JSON.stringify(getAtt(SWEEP_FUNCTION));
    // Act
    const schedules = resourcesOfType('AWS::Events::Rule').filter(([, rule]) =>
      asArray(rule.Properties.Targets as Json[]).some(
        (target) => JSON.stringify((target as JsonObject).Arn) === sweepArn,
      ),
    );
    const [scheduleId, schedule] = schedules[0] as [string, Resource];
    const permissions = resourcesOfType('AWS::Lambda::Permission')
      .map(([, { Properties }]) => Properties)
      .filter((permission) => JSON.stringify(permission.FunctionName) === sweepArn);
    const minutes = Number(
      /^rate\((\d+) minutes?\)$/.exec(String(schedule.Properties.ScheduleExpression))?.[1],
    );
    // Assess
    expect(schedules).toHaveLength(1);
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Name: `policy-gate-${STAGE}-sweep`,
    });
    expect(schedule.Properties.EventPattern).toBeUndefined();
    expect(permissions).toEqual([
      {
        FunctionName: getAtt(SWEEP_FUNCTION),
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt(scheduleId),
      },
    ]);
    // A run ends before the next one is due (a late one is throttled by the reserved concurrency of 1).
    expect(Number(resource(SWEEP_FUNCTION).Properties.Timeout)).toBeLessThan(minutes * 60);
  });

  test('its role allows exactly its reads, its own table, the approval workflow, its queue and alerts', () => {
    // Prepare
    const accountPolicies = `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:policy/*`;
    const awsPolicies = `arn:\${AWS::Partition}:iam::aws:policy/*`;
    const approvalMachine = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:policy-gate-${STAGE}-approval`;
    const ownLogs = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/policy-gate-${STAGE}-reconciliationSweep:*`;
    const [topic, { Properties: topicProperties }] = only('AWS::SNS::Topic');
    const key = String((topicProperties.KmsMasterKeyId as JsonObject).Ref);
    const workflowKey = workflowKeyId();
    const tablesKey = tablesKeyId(SWEEP_TABLE);
    const { RECORD_SEAL_KEY_ID: recordSeal, DECISION_SEAL_KEY_ID: decisionSeal } =
      environmentOf(SWEEP_FUNCTION);
    // Act
    const grants = grantsOf(SWEEP_ROLE);
    // Assess
    expect(grants).toEqual(
      [
        // No resource-level permissions exist for these reads.
        'iam:GetAccountAuthorizationDetails on *',
        'cloudtrail:DescribeTrails on *',
        'cloudtrail:GetTrailStatus on *',
        'cloudtrail:GetEventSelectors on *',
        `iam:GetPolicy on ${accountPolicies}`,
        `iam:GetPolicy on ${awsPolicies}`,
        `iam:GetPolicyVersion on ${accountPolicies}`,
        `iam:GetPolicyVersion on ${awsPolicies}`,
        `dynamodb:GetItem on ${SWEEP_TABLE}`,
        `dynamodb:PutItem on ${SWEEP_TABLE}`,
        `dynamodb:BatchWriteItem on ${SWEEP_TABLE}`,
        `dynamodb:GetItem on ${APPROVALS_TABLE}`,
        `dynamodb:Query on \${${APPROVALS_TABLE}.Arn}/index/*`,
        `states:StartExecution on ${approvalMachine}`,
        `sqs:ReceiveMessage on ${DEAD_LETTER_QUEUE}`,
        `sqs:DeleteMessage on ${DEAD_LETTER_QUEUE}`,
        `sns:Publish on ${topic}`,
        `kms:GenerateDataKey* on ${key}`,
        `kms:Decrypt on ${key}`,
        // The state machine's key (it starts executions), the seals it verifies, its tables' key.
        `kms:Decrypt on ${workflowKey}`,
        `kms:GenerateDataKey on ${workflowKey}`,
        `kms:VerifyMac on ${getAttTarget(recordSeal)}`,
        `kms:VerifyMac on ${getAttTarget(decisionSeal)}`,
        ...TABLES_KEY_ACTIONS.map((action) => `${action} on ${tablesKey}`),
        `logs:CreateLogStream on ${ownLogs}`,
        `logs:PutLogEvents on ${ownLogs}`,
        ...XRAY_WRITES.map((action) => `${action} on *`),
      ].sort(),
    );
    expect(
      roleStatements()
        .filter((entry) => entry.role === SWEEP_ROLE)
        .map(({ statement }) => statement.Effect),
    ).not.toContain('Deny');
  });

  test('it may start only the approval state machine, read only its queue, write only its table, write no IAM', () => {
    // Prepare
    const [stateMachineId, { Properties: machine }] = stateMachine();
    const grants = grantsOf(SWEEP_ROLE).map((grant) => grant.split(' on ') as [string, string]);
    // Act
    const starts = grants.filter(([action]) => action.startsWith('states:'));
    const queues = grants.filter(([action]) => action.startsWith('sqs:'));
    const tableWrites = grants.filter(
      ([action]) => action.startsWith('dynamodb:') && !/^dynamodb:(Get|BatchGet|Query|Describe)/.test(action),
    );
    const iamWrites = grants.filter(([action]) => action.startsWith('iam:') && !isReadOnly(action));
    // Assess
    expect(starts).toEqual([
      [
        'states:StartExecution',
        `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${String(machine.StateMachineName)}`,
      ],
    ]);
    expect(new Set(queues.map(([, target]) => target))).toEqual(new Set([DEAD_LETTER_QUEUE]));
    expect(new Set(tableWrites.map(([, target]) => target))).toEqual(new Set([SWEEP_TABLE]));
    expect(iamWrites).toEqual([]);
    // Named, not referenced: a reference to the state machine from the role would close a cycle.
    expect(dependencyGraph(template.Resources).get(SWEEP_ROLE)).not.toContain(stateMachineId);
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

  test('only the event rule’s role and the sweep may start a workflow, and only the approval workflow', () => {
    // Prepare
    const [stateMachineId] = stateMachine();
    const ruleRole = getAttTarget(
      (asArray(eventRule().Properties.Targets as Json[])[0] as JsonObject).RoleArn,
    );
    // Act
    const starters = roleStatements()
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('states:Start')))
      .map(({ role, statement }) => ({
        role,
        actions: actionsOf(statement),
        resources: resourcesOf(statement),
      }));
    // Assess
    expect(starters).toEqual(
      expect.arrayContaining([
        { role: ruleRole, actions: ['states:StartExecution'], resources: [ref(stateMachineId)] },
        { role: SWEEP_ROLE, actions: ['states:StartExecution'], resources: [expect.anything()] },
      ]),
    );
    expect(starters).toHaveLength(2);
  });

  test('only the sweep may read the dead-letter queue; no role may send to, purge or change a queue', () => {
    // Act
    const queueGrants = roleStatements()
      .filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('sqs:')))
      .map(({ role, statement }) => ({
        role,
        actions: actionsOf(statement),
        resources: resourcesOf(statement),
      }));
    // Assess
    expect(queueGrants).toEqual([
      {
        role: SWEEP_ROLE,
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
        resources: [getAtt(DEAD_LETTER_QUEUE)],
      },
    ]);
  });

  test('the approvals table is queried only through its indexes, and no role may scan or delete records', () => {
    // Act
    const dynamodb = roleStatements().flatMap(({ role, statement }) =>
      actionsOf(statement)
        .filter((action) => action.startsWith('dynamodb:'))
        .flatMap((action) => resourcesOf(statement).map((target) => ({ role, action, target }))),
    );
    // Assess
    expect(dynamodb.length).toBeGreaterThan(0);
    expect(
      dynamodb
        .filter(({ action }) => /^dynamodb:(Scan|DeleteItem|DeleteTable|BatchWriteItem)$/.test(action))
        .map(({ role, action, target }) => `${role}: ${action} ${resourceLabel(target)}`),
    ).toEqual([
      // The sweep replaces its own baseline in batches; nothing may delete an approval record.
      `${SWEEP_ROLE}: dynamodb:BatchWriteItem ${SWEEP_TABLE}`,
    ]);
    for (const { role, target } of dynamodb.filter(({ action }) => action === 'dynamodb:Query')) {
      expect({ role, target: subTemplate(target) }).toEqual({
        role,
        target: `\${${APPROVALS_TABLE}.Arn}/index/*`,
      });
    }
  });

  test('the Slack interactivity function has a public Function URL and reads only what it needs', () => {
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
        { action: 'secretsmanager:GetSecretValue', resources: [ref(BOT_TOKEN_SECRET)] },
        { action: 'secretsmanager:GetSecretValue', resources: [ref(SIGNING_SECRET)] },
        { action: 'dynamodb:GetItem', resources: [getAtt(APPROVALS_TABLE)] },
        { action: 'dynamodb:UpdateItem', resources: [getAtt(APPROVALS_TABLE)] },
      ]),
    );
    expect(
      actions.map(({ action }) => action).filter((a) => /^(iam|sns|sqs|dynamodb:PutItem)/.test(a)),
    ).toEqual([]);
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
    // An AddUserToGroup is contained by taking the user out of the group again.
    'iam:RemoveUserFromGroup',
    'iam:SetDefaultPolicyVersion',
  ];
  const restore = [
    'iam:AddUserToGroup',
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
  const BOT_TOKEN = [BOT_TOKEN_SECRET];
  test.each<[string, string[], string[], string[]]>([
    ['AnalyseChangeLambdaFunction', quarantine, [], []],
    ['RequestApprovalLambdaFunction', [], BOT_TOKEN, []],
    // The steps that end an approval update its Slack message, so they need the bot token.
    ['RestoreChangeLambdaFunction', restore, BOT_TOKEN, []],
    ['RecordOutcomeLambdaFunction', [], BOT_TOKEN, []],
    // Self-protection and reported changes are also posted to Slack as notices.
    ['NotifyChangeLambdaFunction', [], BOT_TOKEN, []],
    ['HandleFailureLambdaFunction', [], BOT_TOKEN, []],
    // The only reader of the signing secret.
    ['SlackInteractivityLambdaFunction', [], [BOT_TOKEN_SECRET, SIGNING_SECRET], [RESUME_WORKFLOW]],
    [SWEEP_FUNCTION, [], [], ['states:StartExecution']],
  ])(
    '%s may write IAM %j, reads the Slack secrets %j, may call Step Functions %j',
    (functionId, iamWrites, readsSecrets, stepFunctions) => {
      // Prepare
      const role = roleOfFunction(functionId);
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
      expect(actions.filter((action) => action.startsWith('states:'))).toEqual(stepFunctions);
      for (const { statement } of secretStatements) {
        expect(actionsOf(statement)).toEqual(['secretsmanager:GetSecretValue']);
      }
      expect(secretStatements.flatMap(({ statement }) => resourcesOf(statement))).toEqual(
        readsSecrets.map((secret) => ref(secret)),
      );
      // Each secret it reads, it may decrypt, through Secrets Manager and for that secret only.
      const decrypts = statements
        .map(({ statement }) => statement)
        .filter(
          (statement) =>
            JSON.stringify(resourcesOf(statement)) === JSON.stringify([getAtt(SLACK_SECRETS_KEY)]),
        );
      expect(
        decrypts.map((statement) => ({
          actions: actionsOf(statement),
          secret: ((statement.Condition as JsonObject).StringEquals as JsonObject)[
            'kms:EncryptionContext:SecretARN'
          ],
        })),
      ).toEqual(readsSecrets.map((secret) => ({ actions: ['kms:Decrypt'], secret: ref(secret) })));
    },
  );

  test('analyse and restore read the principals and groups a change reaches', () => {
    for (const functionId of ['AnalyseChangeLambdaFunction', 'RestoreChangeLambdaFunction']) {
      // Act
      const actions = grantsOf(roleOfFunction(functionId)).map((grant) => grant.split(' on ')[0]);
      // Assess
      expect({ functionId, actions }).toEqual({
        functionId,
        actions: expect.arrayContaining([
          'iam:GetGroup',
          'iam:ListGroupsForUser',
          'iam:GetRole',
          'iam:GetUser',
        ]),
      });
    }
  });

  const APPROVALS = getAtt(APPROVALS_TABLE);
  const APPROVAL_INDEX = { 'Fn::Sub': `\${${APPROVALS_TABLE}.Arn}/index/*` };
  const OWN_TABLE = getAtt(SWEEP_TABLE);
  /** Each function's DynamoDB grants: only analyse creates approval records, only the sweep writes its table. */
  test.each<[string, [string, Json][]]>([
    [
      'AnalyseChangeLambdaFunction',
      [
        ['dynamodb:GetItem', APPROVALS],
        ['dynamodb:PutItem', APPROVALS],
        ['dynamodb:UpdateItem', APPROVALS],
        ['dynamodb:Query', APPROVAL_INDEX],
      ],
    ],
    [
      'RequestApprovalLambdaFunction',
      [
        ['dynamodb:GetItem', APPROVALS],
        ['dynamodb:UpdateItem', APPROVALS],
      ],
    ],
    [
      'RestoreChangeLambdaFunction',
      [
        ['dynamodb:GetItem', APPROVALS],
        ['dynamodb:UpdateItem', APPROVALS],
        ['dynamodb:Query', APPROVAL_INDEX],
      ],
    ],
    [
      'RecordOutcomeLambdaFunction',
      [
        ['dynamodb:GetItem', APPROVALS],
        ['dynamodb:UpdateItem', APPROVALS],
      ],
    ],
    // A notice is only sent: no record is written.
    ['NotifyChangeLambdaFunction', []],
    [
      'HandleFailureLambdaFunction',
      [
        ['dynamodb:GetItem', APPROVALS],
        ['dynamodb:UpdateItem', APPROVALS],
      ],
    ],
    [
      'SlackInteractivityLambdaFunction',
      [
        ['dynamodb:GetItem', APPROVALS],
        ['dynamodb:UpdateItem', APPROVALS],
      ],
    ],
    [
      SWEEP_FUNCTION,
      [
        ['dynamodb:GetItem', OWN_TABLE],
        ['dynamodb:PutItem', OWN_TABLE],
        ['dynamodb:BatchWriteItem', OWN_TABLE],
        ['dynamodb:GetItem', APPROVALS],
        ['dynamodb:Query', APPROVAL_INDEX],
      ],
    ],
  ])('%s’s DynamoDB grants are exactly the expected ones', (functionId, expected) => {
    // Prepare
    const role = roleOfFunction(functionId);
    // Act
    const granted = roleStatements()
      .filter((entry) => entry.role === role)
      .flatMap(({ statement }) =>
        actionsOf(statement)
          .filter((action) => action.startsWith('dynamodb:'))
          .flatMap((action) => resourcesOf(statement).map((target) => JSON.stringify([action, target]))),
      );
    // Assess
    expect(granted.sort()).toEqual(expected.map((grant) => JSON.stringify(grant)).sort());
  });

  test.each(EXPECTED_FUNCTIONS)(
    '%s’s role writes only its own logs, the tables it is granted above, the alert topic and key',
    (functionId) => {
      // Prepare
      const { Properties } = resource(functionId);
      const role = roleOfFunction(functionId);
      const statements = roleStatements()
        .filter((entry) => entry.role === role)
        .map(({ statement }) => statement);
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
      for (const target of dynamodb.flatMap(resourcesOf)) {
        expect([
          JSON.stringify(APPROVALS),
          JSON.stringify(APPROVAL_INDEX),
          JSON.stringify(OWN_TABLE),
        ]).toContain(JSON.stringify(target));
      }
      if (role !== SWEEP_ROLE) {
        expect(dynamodb.flatMap(resourcesOf)).not.toContainEqual(OWN_TABLE);
      }
      // The interactivity function only answers in Slack; alerts are the workflow's (and the sweep's) job.
      const publishes = role !== SLACK_ROLE;
      expect(sns.flatMap(actionsOf)).toEqual(publishes ? ['sns:Publish'] : []);
      expect(sns.flatMap(resourcesOf)).toEqual(publishes ? [ref(topic)] : []);
      const alertKey = getAtt(String((topicProperties.KmsMasterKeyId as JsonObject).Ref));
      const keys = kms.flatMap(resourcesOf);
      expect(keys.filter((key) => JSON.stringify(key) === JSON.stringify(alertKey))).toEqual(
        publishes ? [alertKey] : [],
      );
      // Every other key it uses is one of the stack's own.
      for (const key of keys) expect(resource(getAttTarget(key) ?? '').Type).toBe('AWS::KMS::Key');
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

// ---------------------------------------------------------------------------------------------- dependencies

describe('generated template: no circular dependency', () => {
  test('the cycle finder sees cycles through Ref, GetAtt, Sub and DependsOn (so a pass means something)', () => {
    // Prepare
    const looped = (last: Partial<Resource>): Record<string, Resource> => ({
      A: { Type: 'T', Properties: { X: ref('B') } },
      B: { Type: 'T', Properties: { X: getAtt('C') } },
      C: { Type: 'T', Properties: {}, ...last },
    });
    // Act
    const cycles = [
      findCycle(dependencyGraph(looped({ Properties: { X: { 'Fn::Sub': `arn:\${A.Arn}/x` } } }))),
      findCycle(dependencyGraph(looped({ DependsOn: ['A'] }))),
      findCycle(dependencyGraph(looped({ Properties: { X: { 'Fn::Sub': [`\${A}`, { A: 'literal' }] } } }))),
    ];
    // Assess
    expect(cycles).toEqual([['A', 'B', 'C', 'A'], ['A', 'B', 'C', 'A'], undefined]);
  });

  test('no resource depends on itself through any chain of references', () => {
    // Act
    const graph = dependencyGraph(template.Resources);
    // Assess
    expect([...graph.values()].flat().length).toBeGreaterThan(50);
    expect(findCycle(graph)).toBeUndefined();
  });

  test('only the sweep’s environment references the state machine, which references none of the sweep', () => {
    // Prepare
    const [stateMachineId, { Properties }] = stateMachine();
    // Act
    const referencing = functions()
      .filter(([id]) => referencedIds(environmentOf(id)).has(stateMachineId))
      .map(([id]) => id);
    const machineReferences = referencedIds(Properties);
    // Assess
    expect(referencing).toEqual([SWEEP_FUNCTION]);
    expect(machineReferences.has(SWEEP_FUNCTION)).toBe(false);
    expect(machineReferences.has(SWEEP_ROLE)).toBe(false);
  });

  test('no role references a function except the workflow role, and none references the state machine', () => {
    // Prepare
    const [stateMachineId, { Properties }] = stateMachine();
    const workflowRole = getAttTarget(Properties.RoleArn) as string;
    const functionIds = new Set(functions().map(([id]) => id));
    const ruleRole = getAttTarget(
      (asArray(eventRule().Properties.Targets as Json[])[0] as JsonObject).RoleArn,
    );
    // Act
    const offending = resourcesOfType('AWS::IAM::Role').flatMap(([id, role]) =>
      [...referencedIds(role.Properties)]
        .filter(
          (target) =>
            (functionIds.has(target) && id !== workflowRole) ||
            (target === stateMachineId && id !== ruleRole),
        )
        .map((target) => `${id} -> ${target}`),
    );
    // Assess
    expect(offending).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------- data and alerts

describe('generated template: data and alerts', () => {
  test('the stack has exactly the approvals table and the sweep’s table', () => {
    // Act
    const tables = resourcesOfType('AWS::DynamoDB::Table').map(([id]) => id);
    // Assess
    expect(tables.sort()).toEqual([APPROVALS_TABLE, SWEEP_TABLE].sort());
  });

  test('the approvals table is on-demand, expires records, has point-in-time recovery and encryption', () => {
    // Act
    const { Properties } = resource(APPROVALS_TABLE);
    // Assess
    expect(Properties).toMatchObject({
      TableName: `policy-gate-${STAGE}-approvals`,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'approvalId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(Properties.AttributeDefinitions).toContainEqual({
      AttributeName: 'approvalId',
      AttributeType: 'S',
    });
  });

  test('the approvals table’s indexes are exactly APPROVAL_INDEXES, projecting every attribute', () => {
    // Prepare
    const { Properties } = resource(APPROVALS_TABLE);
    const keyAttributes = new Set([
      'approvalId',
      ...Object.values(APPROVAL_INDEXES).flatMap(({ partitionKey, sortKey }) => [partitionKey, sortKey]),
    ]);
    // Act
    const indexes = Object.fromEntries(
      asArray(Properties.GlobalSecondaryIndexes as JsonObject[]).map((index) => {
        const keys = asArray(index.KeySchema as JsonObject[]);
        const key = (type: string) => keys.find((entry) => entry.KeyType === type)?.AttributeName;
        return [
          String(index.IndexName),
          {
            partitionKey: key('HASH'),
            sortKey: key('RANGE'),
            keys: keys.length,
            projection: index.Projection,
          },
        ];
      }),
    );
    // Assess
    expect(indexes).toEqual(
      Object.fromEntries(
        Object.entries(APPROVAL_INDEXES).map(([name, { partitionKey, sortKey }]) => [
          name,
          { partitionKey, sortKey, keys: 2, projection: { ProjectionType: 'ALL' } },
        ]),
      ),
    );
    // CloudFormation requires every defined attribute to be a key, and every key to be defined; all are strings.
    expect(
      asArray(Properties.AttributeDefinitions as JsonObject[])
        .map(({ AttributeName, AttributeType }) => `${AttributeName}:${AttributeType}`)
        .sort(),
    ).toEqual([...keyAttributes].map((name) => `${name}:S`).sort());
  });

  test('the sweep’s table is on-demand, encrypted, recoverable and kept like the approvals table', () => {
    // Act
    const sweepTable = resource(SWEEP_TABLE);
    // Assess
    expect(sweepTable.Properties).toMatchObject({
      TableName: `policy-gate-${STAGE}-sweep`,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(sweepTable.DeletionPolicy).toBe(resource(APPROVALS_TABLE).DeletionPolicy);
    expect(sweepTable.UpdateReplacePolicy).toBe(resource(APPROVALS_TABLE).UpdateReplacePolicy);
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

  test('the Slack secrets, bot token and signing secret, are created empty, under the stack’s own key', () => {
    // Act
    const secrets = resourcesOfType('AWS::SecretsManager::Secret');
    // Assess
    expect(secrets.map(([id]) => id).sort()).toEqual([BOT_TOKEN_SECRET, SIGNING_SECRET].sort());
    expect(resource(BOT_TOKEN_SECRET).Properties.Name).toBe(`policy-gate/${STAGE}/slack-bot-token`);
    expect(resource(SIGNING_SECRET).Properties.Name).toBe(`policy-gate/${STAGE}/slack-signing-secret`);
    for (const [id, { Properties }] of secrets) {
      expect({ id, value: Properties.SecretString, generated: Properties.GenerateSecretString }).toEqual({
        id,
        value: undefined,
        generated: undefined,
      });
      // Plain text, not the JSON of old.
      expect({ id, description: String(Properties.Description) }).toEqual({
        id,
        description: expect.stringMatching(/plain text/),
      });
      expect({ id, key: Properties.KmsKeyId }).toEqual({ id, key: getAtt(SLACK_SECRETS_KEY) });
    }
    expect(resource(SLACK_SECRETS_KEY).Type).toBe('AWS::KMS::Key');
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

  test('the self-protection alarm watches exactly the metric PolicyGate emits for this stage, and alerts', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    // Only the function's own environment (as in Lambda): POWERTOOLS_SERVICE_NAME must not change the dimension.
    const lambdaEnvironment: Record<string, string | undefined> = {
      POWERTOOLS_DEV: undefined,
      POWERTOOLS_METRICS_DISABLED: undefined,
      POWERTOOLS_METRICS_NAMESPACE: undefined,
      ...Object.fromEntries(
        Object.entries(environmentOf('NotifyChangeLambdaFunction')).filter(
          ([, value]) => typeof value === 'string',
        ),
      ),
    };
    const saved = Object.fromEntries(Object.keys(lambdaEnvironment).map((name) => [name, process.env[name]]));
    const setEnvironment = (values: Record<string, string | undefined>) => {
      for (const [name, value] of Object.entries(values)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    };
    setEnvironment(lambdaEnvironment);
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write);
    // Act
    try {
      new EmfAlarmMetrics(STAGE).count(SELF_PROTECTION_METRIC);
    } finally {
      write.mockRestore();
      setEnvironment(saved);
    }
    const emf = written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as JsonObject)
      .find((record) => record._aws !== undefined) as JsonObject;
    const [directive] = (emf._aws as JsonObject).CloudWatchMetrics as JsonObject[] as [JsonObject];
    const [dimensionNames] = directive.Dimensions as [string[]];
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.MetricName === SELF_PROTECTION_METRIC);
    // Assess
    expect(directive.Namespace).toBe(METRIC_NAMESPACE);
    expect(directive.Metrics).toEqual([{ Name: SELF_PROTECTION_METRIC, Unit: 'Count' }]);
    expect(emf.service).toBe(metricService(STAGE));
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      Namespace: directive.Namespace,
      MetricName: SELF_PROTECTION_METRIC,
      // CloudWatch matches a metric by its exact dimension set, so the alarm names every emitted dimension.
      Dimensions: dimensionNames.map((name) => ({ Name: name, Value: emf[name] })),
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(topic)],
    });
    expect(alarms[0]?.Dimensions).toEqual([{ Name: 'service', Value: `policy-gate-${STAGE}` }]);
  });

  test('alarms on the sweep failing and on the sweep not running notify the alert topic', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    // Act
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Namespace === 'AWS/Lambda');
    const byMetric = (name: string) => alarms.filter((alarm) => alarm.MetricName === name);
    // Assess
    expect(alarms).toHaveLength(2);
    expect(byMetric('Errors')).toEqual([
      expect.objectContaining({
        Dimensions: [{ Name: 'FunctionName', Value: ref(SWEEP_FUNCTION) }],
        AlarmActions: [ref(topic)],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    ]);
    // No invocation in an hour (schedule disabled, concurrency 0): missing data counts as not running.
    expect(byMetric('Invocations')).toEqual([
      expect.objectContaining({
        Dimensions: [{ Name: 'FunctionName', Value: ref(SWEEP_FUNCTION) }],
        AlarmActions: [ref(topic)],
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    ]);
    expect(Number(byMetric('Invocations')[0]?.Period)).toBeGreaterThanOrEqual(2 * 15 * 60);
  });

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
    expect(queue).toBe(DEAD_LETTER_QUEUE);
    expect(resource(queue).Type).toBe('AWS::SQS::Queue');
    expect(resource(queue).Properties.SqsManagedSseEnabled).toBe(true);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      Dimensions: [{ Name: 'QueueName', Value: getAtt(queue, 'QueueName') }],
      AlarmActions: [ref(topic)],
    });
  });

  test('the stack outputs the state machine, tables, topic, Slack secrets and dead-letter queue', () => {
    // Prepare
    const [stateMachineId] = stateMachine();
    const [topic] = only('AWS::SNS::Topic');
    // Assess
    expect(template.Outputs).toMatchObject({
      ApprovalStateMachineArn: { Value: ref(stateMachineId) },
      ApprovalsTableName: { Value: ref(APPROVALS_TABLE) },
      AlertTopicArn: { Value: ref(topic) },
      SlackBotTokenSecretArn: { Value: ref(BOT_TOKEN_SECRET) },
      SlackSigningSecretArn: { Value: ref(SIGNING_SECRET) },
      IamChangeDeadLetterQueueUrl: { Value: ref(DEAD_LETTER_QUEUE) },
      SweepStateTableName: { Value: ref(SWEEP_TABLE) },
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

  test('deploys the definition file unchanged, its functions resolved to this stack’s workflow functions', () => {
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
    expect(new Set(Object.values(mapping).map((value) => getAttTarget(value)))).toEqual(
      new Set(WORKFLOW_FUNCTIONS),
    );
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

/**
 * One matcher of a field's array: a literal (equals), `exists`, `anything-but` (a list of literals; never matches an
 * absent field) and `equals-ignore-case` (one string, compared regardless of case: `"Name": [{
 * "equals-ignore-case": "alice" }]` matches "Alice", AWS's example). Other operators, or a matcher object with
 * more than one operator, throw.
 */
function matchesValue(matcher: Json, value: Json | undefined): boolean {
  if (typeof matcher === 'string' || typeof matcher === 'number') return value === matcher;
  if (!matcher || typeof matcher !== 'object' || Array.isArray(matcher))
    throw new Error('unsupported matcher');
  const entries = Object.entries(matcher);
  if (entries.length !== 1) throw new Error(`a matcher holds one operator, got ${JSON.stringify(matcher)}`);
  const [operator, operand] = entries[0] as [string, Json];
  if (operator === 'exists') return (value !== undefined) === operand;
  if (operator === 'anything-but') {
    const excluded = asArray(operand as Json[]);
    if (excluded.some((item) => typeof item !== 'string' && typeof item !== 'number'))
      throw new Error(`unsupported anything-but operand ${JSON.stringify(operand)}`);
    return value !== undefined && !excluded.includes(value);
  }
  if (operator === 'equals-ignore-case') {
    if (typeof operand !== 'string')
      throw new Error(`equals-ignore-case takes a string, got ${JSON.stringify(operand)}`);
    return typeof value === 'string' && value.toLowerCase() === operand.toLowerCase();
  }
  throw new Error(`unsupported operator ${operator}`);
}

const ACCOUNT = '123456789012';

/** The pattern with each role ARN GetAtt replaced by the ARN that role would have in account 123456789012. */
function resolvedPattern(): Json {
  const text = JSON.stringify(eventRule().Properties.EventPattern);
  return JSON.parse(text, (_key, value: Json) => {
    const role = getAttTarget(value);
    if (!role) return value;
    return `arn:aws:iam::${ACCOUNT}:role/${String(resource(role).Properties.RoleName)}`;
  });
}

/** The calls watched whoever the target is: the gated and the reported ones. */
const WATCHED_EVENTS: readonly string[] = [...GATED_EVENT_NAMES, ...REPORTED_EVENT_NAMES];
/** The calls watched only when they target one of PolicyGate's roles. */
const REMOVAL_EVENTS: readonly string[] = [...REMOVAL_EVENT_NAMES];

function iamEvent(eventName: string, userIdentity: JsonObject, extra: JsonObject = {}): JsonObject {
  return {
    version: '0',
    source: 'aws.iam',
    'detail-type': 'AWS API Call via CloudTrail',
    region: 'us-east-1',
    detail: { eventSource: 'iam.amazonaws.com', eventName, userIdentity, ...extra },
  };
}

const IAM_USER = { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, userName: 'alice' };
const CONSOLE_USER = {
  ...IAM_USER,
  sessionContext: { attributes: { mfaAuthenticated: 'true', creationDate: '2026-01-01T00:00:00Z' } },
};
function assumedRole(roleName: string, account = ACCOUNT): JsonObject {
  return {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/session`,
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/${roleName}`, userName: roleName },
    },
  };
}
/** Identities that are not PolicyGate: each of their watched calls must start the workflow. */
const OUTSIDERS: [string, JsonObject][] = [
  ['an IAM user with an access key (no session context)', IAM_USER],
  ['a console user (session context, no issuer)', CONSOLE_USER],
  ['the root user', { type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root` }],
  ['another role', assumedRole('ci-deployer')],
  ['a role named like PolicyGate’s in another stage', assumedRole('policy-gate-prod-analyse')],
  [
    'a role named like PolicyGate’s in another account',
    assumedRole(`policy-gate-${STAGE}-analyse`, '210987654321'),
  ],
];

describe('the test’s EventBridge matcher', () => {
  test('equals-ignore-case matches the same string in any case, and nothing else', () => {
    // Prepare
    const pattern = { Name: [{ 'equals-ignore-case': 'alice' }] };
    // Act
    const results = ['Alice', 'ALICE', 'alice', 'alice ', 'alicia', undefined].map((name) =>
      matchesPattern(pattern, name === undefined ? {} : { Name: name }),
    );
    // Assess
    expect(results).toEqual([true, true, true, false, false, false]);
  });

  test.each<[string, Json]>([
    ['an unknown operator', { prefix: 'policy-gate-' }],
    ['two operators in one matcher', { 'equals-ignore-case': 'a', exists: true }],
    ['a non-string equals-ignore-case', { 'equals-ignore-case': ['a'] }],
    ['an anything-but of patterns', { 'anything-but': { prefix: 'a' } }],
  ])('throws on %s rather than guess', (_label, matcher) => {
    expect(() => matchesValue(matcher, 'a')).toThrow();
  });
});

describe('generated template: IAM change event rule', () => {
  test('matches successful calls from CloudTrail of exactly the watched calls and removals', () => {
    // Act
    const pattern = eventRule().Properties.EventPattern as JsonObject;
    const detail = pattern.detail as JsonObject;
    // Assess
    expect(pattern.source).toEqual(['aws.iam']);
    expect(pattern['detail-type']).toEqual(['AWS API Call via CloudTrail']);
    expect(detail.eventSource).toEqual(['iam.amazonaws.com']);
    expect(detail.errorCode).toEqual([{ exists: false }]);
    expect(WATCHED_EVENTS).toHaveLength(15);
    expect([...(detail.eventName as string[])].sort()).toEqual([...WATCHED_EVENTS, ...REMOVAL_EVENTS].sort());
  });

  test('excludes nobody: no identity, PolicyGate’s roles included, is filtered out by the pattern', () => {
    // Act
    const text = JSON.stringify(eventRule().Properties.EventPattern);
    const detail = (eventRule().Properties.EventPattern as JsonObject).detail as JsonObject;
    // Assess: PolicyGate's own writes are recognised by content in the handler, never by who made them.
    expect(Object.keys(detail).sort()).toEqual(['errorCode', 'eventName', 'eventSource']);
    expect(text).not.toContain('anything-but');
    expect(text).not.toContain('userIdentity');
    expect(text).not.toContain('$or');
  });

  test('stays within EventBridge’s 2,048-character pattern limit, with a long stage name and real ARNs', () => {
    // Prepare: every role ARN as long as a 20-character stage name makes it.
    const longStage = 'x'.repeat(20);
    const text = JSON.stringify(eventRule().Properties.EventPattern, (_key, value: Json) => {
      const role = getAttTarget(value);
      if (!role) return value;
      const name = String(resource(role).Properties.RoleName).replace(`-${STAGE}-`, `-${longStage}-`);
      return `arn:aws-us-gov:iam::${ACCOUNT}:role/${name}`;
    });
    // Assess
    expect(text.length).toBeLessThanOrEqual(2_048);
  });

  test.each([...WATCHED_EVENTS, ...REMOVAL_EVENTS])(
    '%s by any identity that is not PolicyGate starts the workflow',
    (eventName) => {
      // Prepare
      const pattern = resolvedPattern();
      // Act
      const missed = OUTSIDERS.filter(
        ([, identity]) => !matchesPattern(pattern, iamEvent(eventName, identity)),
      ).map(([label]) => label);
      // Assess
      expect(missed).toEqual([]);
    },
  );

  test('a change made by any PolicyGate role (the sweep’s included) starts the workflow like anyone’s', () => {
    // Prepare
    const pattern = resolvedPattern();
    const roleNames = [...namedRoles().values()];
    // Act
    const missed = roleNames.flatMap((actor) =>
      [...WATCHED_EVENTS, ...REMOVAL_EVENTS]
        .filter((eventName) => !matchesPattern(pattern, iamEvent(eventName, assumedRole(actor))))
        .map((eventName) => `${actor}: ${eventName}`),
    );
    // Assess
    expect(roleNames.length).toBeGreaterThanOrEqual(EXPECTED_FUNCTIONS.length);
    expect(roleNames).toContain(resource(SWEEP_ROLE).Properties.RoleName);
    expect(missed).toEqual([]);
  });

  test.each([
    ['a failed call', iamEvent('AttachRolePolicy', IAM_USER, { errorCode: 'AccessDenied' })],
    [
      'a failed removal on a PolicyGate role',
      iamEvent('DetachRolePolicy', IAM_USER, {
        errorCode: 'AccessDenied',
        requestParameters: { roleName: `policy-gate-${STAGE}-analyse` },
      }),
    ],
    [
      'a user policy deletion',
      iamEvent('DeleteUserPolicy', IAM_USER, {
        requestParameters: { userName: `policy-gate-${STAGE}-analyse` },
      }),
    ],
    [
      'a group detach',
      iamEvent('DetachGroupPolicy', IAM_USER, {
        requestParameters: { groupName: `policy-gate-${STAGE}-analyse` },
      }),
    ],
    [
      'a read',
      iamEvent('GetRolePolicy', IAM_USER, {
        requestParameters: { roleName: `policy-gate-${STAGE}-analyse` },
      }),
    ],
    ['another service', { ...iamEvent('PutRolePolicy', IAM_USER), source: 'aws.s3' }],
  ])('%s does not start the workflow', (_label, event) => {
    expect(matchesPattern(resolvedPattern(), event)).toBe(false);
  });
});
