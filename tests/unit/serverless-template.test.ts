/**
 * The CloudFormation template `serverless package` generates from serverless.yml: security properties of the
 * deployed stack (least privilege, encryption, fail-closed event routing, alarms, no circular dependency),
 * checked before any deploy.
 *
 * The template is generated once, offline and without AWS credentials, into a temporary directory.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildMemberTemplate } from '../../scripts/package-member';
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
/** Waiting for another packaging of this tree, then packaging twice. */
const SETUP_TIMEOUT_MS = 3 * PACKAGE_TIMEOUT_MS + 10_000;
/** The deployer and break-glass roles of the second packaging (a stage that names both). */
const DEPLOYER_ROLE = 'arn:aws:iam::123456789012:role/policy-gate-deployer';
const BREAK_GLASS_ROLE = 'arn:aws:iam::123456789012:role/policy-gate-break-glass';

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
/** The same stage with a deployer and a break-glass role: the key and resource policies' other branch. */
let configured: Template;
const workDirs: string[] = [];

async function packagedTemplate(args: string[]): Promise<Template> {
  const run = await withPackagingLock(() => serverlessPackage(['--stage', STAGE, ...args]));
  workDirs.push(run.packageDir);
  if (run.code !== 0) throw new Error(`serverless package failed:\n${run.output}`);
  const packaged = JSON.parse(
    readFileSync(join(run.packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  // These stages name no organization, so CloudFormation creates none of the organization's resources;
  // tests/e2e/organization-stage.test.ts checks them, and that they exist only with an organizationId.
  const Resources = Object.fromEntries(
    Object.entries(packaged.Resources).filter(([, { Condition }]) => Condition !== 'IsOrganization'),
  );
  return { ...packaged, Resources };
}

beforeAll(async () => {
  template = await packagedTemplate([]);
  configured = await packagedTemplate([
    `--param=deployerRoleArn=${DEPLOYER_ROLE}`,
    `--param=breakGlassRoleArn=${BREAK_GLASS_ROLE}`,
  ]);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
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
const DELIVERY_FUNCTION = 'SlackDeliveryLambdaFunction';
const DELIVERY_ROLE = 'SlackDeliveryRole';
const EMAIL_FUNCTION = 'EmailDecisionLambdaFunction';
const EXPECTED_FUNCTIONS = [
  ...WORKFLOW_FUNCTIONS,
  SWEEP_FUNCTION,
  DELIVERY_FUNCTION,
  'SlackInteractivityLambdaFunction',
  EMAIL_FUNCTION,
];
const APPROVALS_TABLE = 'ApprovalsTable';
const SWEEP_TABLE = 'SweepStateTable';
const DEAD_LETTER_QUEUE = 'IamChangeDeadLetterQueue';
/**
 * Task tokens of waitForTaskToken tasks cannot be scoped by IAM, so resuming a workflow needs Resource "*";
 * only the deciding roles (Slack interactivity, the e-mail decision page) may do it.
 */
const SLACK_ROLE = 'SlackInteractivityRole';
const EMAIL_ROLE = 'EmailDecisionRole';
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
  test('declares the six workflow functions, the sweep, the Slack delivery worker and the two decision endpoints', () => {
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

  test('one schedule invokes it (sweepSchedule, 15 minutes); the Slack delivery worker has its own function', () => {
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
    expect((asArray(schedule.Properties.Targets as Json[])[0] as JsonObject).Input).toBeUndefined();
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
    // No Slack secret, and none of the delivery worker's settings.
    expect(Object.keys(environmentOf(SWEEP_FUNCTION))).not.toContain('SLACK_BOT_TOKEN_SECRET_ARN');
    expect(Object.keys(environmentOf(SWEEP_FUNCTION))).not.toContain('SLACK_DELIVERY_BUDGET_SECONDS');
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
    // Its own table only: it reads the approvals (which grants they cover) and never writes them.
    expect(new Set(tableWrites.map(([, target]) => target))).toEqual(new Set([SWEEP_TABLE]));
    expect(iamWrites).toEqual([]);
    // Named, not referenced: a reference to the state machine from the role would close a cycle.
    expect(dependencyGraph(template.Resources).get(SWEEP_ROLE)).not.toContain(stateMachineId);
  });
});

// ---------------------------------------------------------------------------------------------- Slack delivery

describe('generated template: Slack delivery worker', () => {
  test('runs one at a time on its own role, every minute (slackRecoverySchedule), draining for its budget', () => {
    // Prepare
    const deliveryArn = JSON.stringify(getAtt(DELIVERY_FUNCTION));
    // Act
    const { Properties } = resource(DELIVERY_FUNCTION);
    const schedules = resourcesOfType('AWS::Events::Rule').filter(([, rule]) =>
      asArray(rule.Properties.Targets as Json[]).some(
        (target) => JSON.stringify((target as JsonObject).Arn) === deliveryArn,
      ),
    );
    const permissions = resourcesOfType('AWS::Lambda::Permission')
      .map(([, { Properties: permission }]) => permission)
      .filter((permission) => JSON.stringify(permission.FunctionName) === deliveryArn);
    // Assess
    // One poster paces the channel at Slack's one post a second.
    expect(Properties.ReservedConcurrentExecutions).toBe(1);
    expect(roleOfFunction(DELIVERY_FUNCTION)).toBe(DELIVERY_ROLE);
    expect(environmentOf(DELIVERY_FUNCTION)).toMatchObject({
      SLACK_BOT_TOKEN_SECRET_ARN: ref(BOT_TOKEN_SECRET),
      SLACK_DELIVERY_BUDGET_SECONDS: '50',
    });
    // The drain budget and a last post fit in the timeout.
    expect(Number(Properties.Timeout)).toBeGreaterThan(50 + 10);
    expect(schedules).toHaveLength(1);
    const [scheduleId, schedule] = schedules[0] as [string, Resource];
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Name: `policy-gate-${STAGE}-slack-delivery`,
    });
    expect(permissions).toEqual([
      {
        FunctionName: getAtt(DELIVERY_FUNCTION),
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt(scheduleId),
      },
    ]);
  });

  test('its role allows exactly the approvals it posts, the bot token, the seals it verifies and alerts; no IAM', () => {
    // Prepare
    const ownLogs = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/policy-gate-${STAGE}-slackDelivery:*`;
    const [topic, { Properties: topicProperties }] = only('AWS::SNS::Topic');
    const key = String((topicProperties.KmsMasterKeyId as JsonObject).Ref);
    const tablesKey = tablesKeyId(APPROVALS_TABLE);
    const { RECORD_SEAL_KEY_ID: recordSeal, DECISION_SEAL_KEY_ID: decisionSeal } =
      environmentOf(DELIVERY_FUNCTION);
    // Act
    const grants = grantsOf(DELIVERY_ROLE);
    // Assess
    expect(grants).toEqual(
      [
        `dynamodb:GetItem on ${APPROVALS_TABLE}`,
        `dynamodb:UpdateItem on ${APPROVALS_TABLE}`,
        `dynamodb:Query on \${${APPROVALS_TABLE}.Arn}/index/*`,
        `secretsmanager:GetSecretValue on ${BOT_TOKEN_SECRET}`,
        `kms:Decrypt on ${SLACK_SECRETS_KEY}`,
        `sns:Publish on ${topic}`,
        `kms:GenerateDataKey* on ${key}`,
        `kms:Decrypt on ${key}`,
        `kms:VerifyMac on ${getAttTarget(recordSeal)}`,
        `kms:VerifyMac on ${getAttTarget(decisionSeal)}`,
        ...TABLES_KEY_ACTIONS.map((action) => `${action} on ${tablesKey}`),
        `logs:CreateLogStream on ${ownLogs}`,
        `logs:PutLogEvents on ${ownLogs}`,
        ...XRAY_WRITES.map((action) => `${action} on *`),
      ].sort(),
    );
    expect(grants.filter((grant) => /^(iam|sts|states|sqs|cloudtrail):/.test(grant))).toEqual([]);
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
          .filter((action) => !((role === SLACK_ROLE || role === EMAIL_ROLE) && action === RESUME_WORKFLOW))
          .map((action) => `${role}: ${action}`),
      );
    // Assess
    expect(workflowRole).toBeDefined();
    expect(offending).toEqual([]);
  });

  test('only the deciding roles (Slack, e-mail page) may resume a workflow, and nothing may fail one', () => {
    // Act
    const resumers = roleStatements()
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('states:SendTask')))
      .map(({ role, statement }) => ({ role, actions: actionsOf(statement) }));
    // Assess
    expect(resumers).toEqual([
      { role: SLACK_ROLE, actions: [RESUME_WORKFLOW] },
      { role: EMAIL_ROLE, actions: [RESUME_WORKFLOW] },
    ]);
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
      expect.objectContaining({ AuthType: 'NONE', TargetFunctionArn: getAtt(EMAIL_FUNCTION) }),
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
    // No Slack secret: posting what Slack missed is the delivery worker's.
    [SWEEP_FUNCTION, [], [], ['states:StartExecution']],
    // It posts the requests Slack missed and their thread lines.
    [DELIVERY_FUNCTION, [], BOT_TOKEN, []],
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
    [
      DELIVERY_FUNCTION,
      [
        ['dynamodb:GetItem', APPROVALS],
        // A late request's message, its claim, and the backlog's entries: never a put or delete.
        ['dynamodb:UpdateItem', APPROVALS],
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
      // The deciding functions only answer (in Slack, on the page); alerts are the workflow's and the sweep's.
      const publishes = role !== SLACK_ROLE && role !== EMAIL_ROLE;
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

  test('alarms on the sweep failing, the sweep not running and the Slack delivery worker not running', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    // Act
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Namespace === 'AWS/Lambda');
    const byMetric = (name: string) => alarms.filter((alarm) => alarm.MetricName === name);
    const notRunning = (fn: string) =>
      byMetric('Invocations').filter(
        (alarm) =>
          JSON.stringify(alarm.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: ref(fn) }]),
      );
    // Assess
    expect(alarms).toHaveLength(3);
    expect(byMetric('Errors')).toEqual([
      expect.objectContaining({
        Dimensions: [{ Name: 'FunctionName', Value: ref(SWEEP_FUNCTION) }],
        AlarmActions: [ref(topic)],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    ]);
    // No invocation in the period (schedule disabled, concurrency 0): missing data counts as not running.
    const notRunningAlarm = expect.objectContaining({
      AlarmActions: [ref(topic)],
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(notRunning(SWEEP_FUNCTION)).toEqual([notRunningAlarm]);
    expect(Number(notRunning(SWEEP_FUNCTION)[0]?.Period)).toBeGreaterThanOrEqual(2 * 15 * 60);
    // The worker runs every minute: ten minutes without a run is already a backlog nobody posts.
    expect(notRunning('SlackDeliveryLambdaFunction')).toEqual([notRunningAlarm]);
    expect(Number(notRunning('SlackDeliveryLambdaFunction')[0]?.Period)).toBeLessThanOrEqual(600);
  });

  test('events that cannot start the workflow go to an encrypted dead-letter queue that is alarmed', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    const target = asArray(eventRule().Properties.Targets as Json[])[0] as JsonObject;
    const queue = getAttTarget((target.DeadLetterConfig as JsonObject | undefined)?.Arn) as string;
    // Act
    const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) => alarm.Namespace === 'AWS/SQS' && JSON.stringify(alarm).includes(`"${queue}"`));
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
 * are alternatives, `$or` holds alternative sub-patterns, and an array in the event matches when one of its
 * elements does. Anything else throws rather than guess. It is a model of EventBridge written from its
 * documentation, not EventBridge: a pass here says the patterns mean what we think, not that AWS agrees (its
 * TestEventPattern API is the check against the real thing).
 */
function matchesPattern(pattern: Json, event: Json | undefined): boolean {
  if (!pattern || typeof pattern !== 'object' || Array.isArray(pattern))
    throw new Error('pattern must be an object');
  const fields = event && typeof event === 'object' && !Array.isArray(event) ? event : undefined;
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === '$or')
      return asArray(rule as Json[]).some((alternative) => matchesPattern(alternative, event));
    const value = fields?.[key];
    // An array in the event matches when one of its elements does (EventBridge flattens arrays).
    const values = Array.isArray(value) ? value : [value];
    if (Array.isArray(rule))
      return values.some((item) => rule.some((matcher) => matchesValue(matcher, item)));
    return values.some((item) => matchesPattern(rule, item));
  });
}

/**
 * One matcher of a field's array: a literal (equals), `exists`, `anything-but` (a list of literals; never matches an
 * absent field), `prefix` (a string), `wildcard` (`*` for any run of characters, no escapes) and `equals-ignore-case` (one string, compared regardless of case: `"Name": [{
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
  if (operator === 'prefix') {
    if (typeof operand !== 'string') throw new Error(`prefix takes a string, got ${JSON.stringify(operand)}`);
    return typeof value === 'string' && value.startsWith(operand);
  }
  if (operator === 'wildcard') {
    if (typeof operand !== 'string' || operand.includes('\\'))
      throw new Error(`unsupported wildcard operand ${JSON.stringify(operand)}`);
    // EventBridge's `*` is any run of characters; every other character stands for itself.
    const expression = operand
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*');
    return typeof value === 'string' && new RegExp(`^${expression}$`, 's').test(value);
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
    ['an unknown operator', { suffix: '-approval' }],
    ['a non-string prefix', { prefix: { 'equals-ignore-case': 'a' } }],
    ['an escaped wildcard', { wildcard: 'a\\*' }],
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

// ---------------------------------------------------------------------------------------------- locked storage

/**
 * A template value as CloudFormation would deploy it in account ACCOUNT (partition aws, us-east-1): `Fn::If`
 * decided by the template's own conditions, `AWS::NoValue` dropped, pseudo parameters substituted. References to
 * resources stay as they are.
 */
function deployed(tpl: Template, value: Json | undefined): Json | undefined {
  const NO_VALUE = Symbol('no value');
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::AccountId': ACCOUNT,
    'AWS::Region': 'us-east-1',
  };
  const holds = (condition: Json | undefined): boolean => {
    const expression = walk(condition);
    if (typeof expression === 'boolean') return expression;
    throw new Error(`cannot decide the condition ${JSON.stringify(condition)}`);
  };
  function walk(node: Json | undefined): Json | typeof NO_VALUE {
    if (Array.isArray(node)) {
      return node.map((item) => walk(item)).filter((item): item is Json => item !== NO_VALUE);
    }
    if (!node || typeof node !== 'object') return node ?? null;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const operand = node[key] as Json;
      if (key === 'Ref' && operand === 'AWS::NoValue') return NO_VALUE;
      if (key === 'Ref' && typeof operand === 'string' && pseudo[operand]) return pseudo[operand];
      if (key === 'Fn::If') {
        const [name, yes, no] = operand as [string, Json, Json];
        return walk(holds(tpl.Conditions?.[name]) ? yes : no);
      }
      if (key === 'Condition' && typeof operand === 'string') return holds(tpl.Conditions?.[operand]);
      if (key === 'Fn::Not') return !holds((operand as Json[])[0]);
      if (key === 'Fn::Equals') {
        const [left, right] = (operand as Json[]).map((item) => walk(item));
        return JSON.stringify(left) === JSON.stringify(right);
      }
      if (key === 'Fn::Or') return (operand as Json[]).some((item) => holds(item));
      if (key === 'Fn::And') return (operand as Json[]).every((item) => holds(item));
      if (key === 'Fn::Sub' && typeof operand === 'string') {
        const text = operand.replace(/\$\{(AWS::\w+)\}/g, (whole, name: string) => pseudo[name] ?? whole);
        return text.includes('${') ? { 'Fn::Sub': text } : text;
      }
    }
    const out: JsonObject = {};
    for (const [key, inner] of Object.entries(node)) {
      const value = walk(inner);
      if (value !== NO_VALUE) out[key] = value;
    }
    return out;
  }
  const result = walk(value);
  return result === NO_VALUE ? undefined : result;
}

/** One request to evaluate a policy against: who, what, and the request's condition keys. */
interface PolicyRequest {
  principalArn: string;
  action: string;
  resource?: string;
  context?: Record<string, string | string[]>;
}

const wildcard = (pattern: string, value: string, ignoreCase = false): boolean =>
  new RegExp(
    `^${pattern
      .split('')
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
      .join('')}$`,
    ignoreCase ? 'i' : '',
  ).test(value);

/**
 * Whether `statement` applies to `request`, for the operators this stack and the SCP use. A negated operator
 * holds when the key is absent, a positive one does not (IAM's rules); an unknown operator throws.
 */
function statementApplies(statement: Statement, request: PolicyRequest): boolean {
  const actions = asArray(statement.Action);
  if (!actions.some((action) => wildcard(action, request.action, true))) return false;
  const principal = statement.Principal as Json | undefined;
  if (principal !== undefined && principal !== '*') {
    const named = asArray((principal as JsonObject).AWS as Json | Json[] | undefined).map(String);
    const accountOf = (arn: string) => arn.split(':')[4];
    const matches = named.some(
      (arn) =>
        arn === '*' ||
        arn === request.principalArn ||
        (arn.endsWith(':root') && accountOf(arn) === accountOf(request.principalArn)),
    );
    if (!matches) return false;
  }
  if (request.resource !== undefined && statement.Resource !== undefined) {
    if (
      !asArray(statement.Resource as Json | Json[]).some((r) => wildcard(String(r), request.resource ?? ''))
    )
      return false;
  }
  const context: Record<string, string[]> = { 'aws:PrincipalArn': [request.principalArn] };
  for (const [key, value] of Object.entries(request.context ?? {})) context[key] = asArray(value);
  const condition = (statement.Condition ?? {}) as JsonObject;
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys as JsonObject).every(([key, expected]) => {
      const wanted = asArray(expected as Json | Json[]).map(String);
      const present = context[key];
      const base = operator.replace(/^ForAnyValue:/, '');
      const compare = (value: string, pattern: string): boolean => {
        if (/Like$/.test(base)) return wildcard(pattern, value);
        return value === pattern;
      };
      const positive = ['ArnEquals', 'ArnLike', 'StringEquals', 'StringLike'];
      const negative = ['ArnNotEquals', 'ArnNotLike', 'StringNotEquals', 'StringNotLike'];
      if (positive.includes(base))
        return present?.some((value) => wanted.some((p) => compare(value, p))) ?? false;
      if (negative.includes(base)) {
        const positiveBase = base.replace('Not', '');
        const matchOne = (value: string, pattern: string) =>
          /Like$/.test(positiveBase) ? wildcard(pattern, value) : value === pattern;
        return present === undefined || !present.some((value) => wanted.some((p) => matchOne(value, p)));
      }
      throw new Error(`unsupported condition operator ${operator}`);
    }),
  );
}

/** An explicit Deny wins; then an Allow; else nothing is granted. */
function decide(statements: Statement[], request: PolicyRequest): 'allow' | 'deny' | 'none' {
  const applying = statements.filter((statement) => statementApplies(statement, request));
  if (applying.some((statement) => statement.Effect === 'Deny')) return 'deny';
  return applying.some((statement) => statement.Effect === 'Allow') ? 'allow' : 'none';
}

const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const ROOT_USER = `arn:aws:iam::${ACCOUNT}:root`;
/** Someone with PowerUserAccess (or any other rights in IAM) who is not PolicyGate. */
const OUTSIDER = roleArn('PowerUser');

/** Every principal worth asking about in `tpl`: PolicyGate's roles, the root user, an outsider, and the
 * deployer and break-glass roles. */
function principalsOf(tpl: Template): string[] {
  const roles = Object.values(tpl.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Role')
    .map((r) => roleArn(String(r.Properties.RoleName)));
  return [...roles, ROOT_USER, OUTSIDER, DEPLOYER_ROLE, BREAK_GLASS_ROLE];
}

function keyPolicy(tpl: Template, keyId: string): Statement[] {
  const key = tpl.Resources[keyId];
  if (key?.Type !== 'AWS::KMS::Key') throw new Error(`${keyId} is not a KMS key`);
  return statementsOf(deployed(tpl, key.Properties.KeyPolicy));
}

/** The principals a policy lets do `action` (with `context`), among {@link principalsOf}. */
function allowed(tpl: Template, statements: Statement[], action: string, context = {}): string[] {
  return principalsOf(tpl)
    .filter((principalArn) => decide(statements, { principalArn, action, context }) === 'allow')
    .sort();
}

/** The role ARN of a function of `tpl`. */
function roleArnOfFunction(tpl: Template, functionId: string): string {
  const role = getAttTarget(tpl.Resources[functionId]?.Properties.Role);
  return roleArn(String(tpl.Resources[role ?? '']?.Properties.RoleName));
}

const TEMPLATES: [string, () => Template][] = [
  ['without deployer or break-glass', () => template],
  ['with deployer and break-glass', () => configured],
];

describe('generated template: seal keys', () => {
  const RECORD_SEAL_KEY = 'RecordSealKey';
  const DECISION_SEAL_KEY = 'DecisionSealKey';
  const LINK_KEY = 'DecisionLinkKey';
  const FORM_KEY = 'DecisionFormKey';
  const SEAL_ENV: Record<string, string> = {
    RECORD_SEAL_KEY_ID: RECORD_SEAL_KEY,
    DECISION_SEAL_KEY_ID: DECISION_SEAL_KEY,
  };
  const SEALED_FUNCTIONS = [
    'AnalyseChangeLambdaFunction',
    'RestoreChangeLambdaFunction',
    'RecordOutcomeLambdaFunction',
    'SlackInteractivityLambdaFunction',
    SWEEP_FUNCTION,
    DELIVERY_FUNCTION,
    EMAIL_FUNCTION,
  ];

  test.each([RECORD_SEAL_KEY, DECISION_SEAL_KEY, LINK_KEY, FORM_KEY])(
    '%s is an HMAC key of the stack, which KMS cannot rotate',
    (id) => {
      // Act
      const { Type, Properties } = resource(id);
      // Assess
      expect(Type).toBe('AWS::KMS::Key');
      expect(Properties).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
      expect(Properties.EnableKeyRotation).toBeUndefined();
    },
  );

  test('the link key reaches the request step and the page only, the form key and its form only the page', () => {
    const LINK_ENV: Record<string, [string, string[]]> = {
      DECISION_LINK_KEY_ID: [LINK_KEY, ['RequestApprovalLambdaFunction', EMAIL_FUNCTION]],
      DECISION_FORM_KEY_ID: [FORM_KEY, [EMAIL_FUNCTION]],
    };
    for (const [id] of functions()) {
      // Act
      const variables = environmentOf(id);
      for (const [name, [key, users]] of Object.entries(LINK_ENV)) {
        // Assess
        expect({ id, name, given: variables[name] }).toEqual({
          id,
          name,
          given: users.includes(id) ? getAtt(key) : undefined,
        });
      }
      expect({ id, pageUrl: variables.DECISION_PAGE_URL !== undefined }).toEqual({
        id,
        pageUrl: id === 'RequestApprovalLambdaFunction',
      });
    }
    expect(environmentOf('RequestApprovalLambdaFunction').DECISION_PAGE_URL).toEqual(
      getAtt('EmailDecisionLambdaFunctionUrl', 'FunctionUrl'),
    );
  });

  test('the e-mail page’s role: records, nonce items only, the bot token; no signing secret, IAM or SNS', () => {
    // Act
    const actions = roleStatements()
      .filter(({ role }) => role === EMAIL_ROLE)
      .map(({ statement }) => statement)
      .filter((statement) => statement.Effect === 'Allow');
    const puts = actions.filter((statement) => actionsOf(statement).includes('dynamodb:PutItem'));
    const names = actions.flatMap((statement) => actionsOf(statement));
    // Assess
    expect(puts).toEqual([
      expect.objectContaining({
        Resource: getAtt(APPROVALS_TABLE),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['form#*'] } },
      }),
    ]);
    expect(names).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue']),
    );
    expect(names.filter((a) => /^(iam|sns|sqs|dynamodb:(Scan|Query|DeleteItem))/.test(a))).toEqual([]);
    expect(
      actions
        .filter((statement) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
        .flatMap((statement) => resourcesOf(statement)),
    ).toEqual([ref(BOT_TOKEN_SECRET)]);
    expect(resource(EMAIL_FUNCTION).Properties.ReservedConcurrentExecutions).toEqual(
      resource('SlackInteractivityLambdaFunction').Properties.ReservedConcurrentExecutions,
    );
  });

  test('their ids are given exactly to the functions that seal or verify, as the key ARNs', () => {
    for (const [id] of functions()) {
      // Act
      const variables = environmentOf(id);
      const given = Object.keys(SEAL_ENV).filter((name) => variables[name] !== undefined);
      // Assess
      expect({ id, given }).toEqual({
        id,
        given: SEALED_FUNCTIONS.includes(id) ? Object.keys(SEAL_ENV) : [],
      });
      for (const name of given) expect(variables[name]).toEqual(getAtt(SEAL_ENV[name] as string));
    }
  });

  test.each<[string, string[], string[]]>([
    // Only analyseChange seals a record; whoever reads records verifies it.
    [
      RECORD_SEAL_KEY,
      ['AnalyseChangeLambdaFunction'],
      [
        'AnalyseChangeLambdaFunction',
        'RestoreChangeLambdaFunction',
        'RecordOutcomeLambdaFunction',
        'SlackInteractivityLambdaFunction',
        SWEEP_FUNCTION,
        DELIVERY_FUNCTION,
        EMAIL_FUNCTION,
      ],
    ],
    // Only the functions that take decisions seal one; they also verify the approvals earlier clicks sealed.
    [
      DECISION_SEAL_KEY,
      ['SlackInteractivityLambdaFunction', EMAIL_FUNCTION],
      [
        'RestoreChangeLambdaFunction',
        'AnalyseChangeLambdaFunction',
        'RecordOutcomeLambdaFunction',
        SWEEP_FUNCTION,
        DELIVERY_FUNCTION,
        'SlackInteractivityLambdaFunction',
        EMAIL_FUNCTION,
      ],
    ],
    // Links are signed by the request step only, and verified by the page only: the public page cannot mint one.
    [LINK_KEY, ['RequestApprovalLambdaFunction'], [EMAIL_FUNCTION]],
    // Form tokens are the page's alone.
    [FORM_KEY, [EMAIL_FUNCTION], [EMAIL_FUNCTION]],
  ])(
    '%s: only %j may GenerateMac, every other principal is denied it explicitly; %j may VerifyMac',
    (key, sealers, verifiers) => {
      for (const [label, tpl] of TEMPLATES) {
        // Prepare
        const statements = keyPolicy(tpl(), key);
        const sealerArns = sealers.map((id) => roleArnOfFunction(tpl(), id)).sort();
        // Act
        const mayGenerate = allowed(tpl(), statements, 'kms:GenerateMac');
        const notDenied = principalsOf(tpl()).filter(
          (principalArn) => decide(statements, { principalArn, action: 'kms:GenerateMac' }) !== 'deny',
        );
        const mayVerify = allowed(tpl(), statements, 'kms:VerifyMac');
        // Assess
        expect({ label, mayGenerate }).toEqual({ label, mayGenerate: sealerArns });
        // The Deny is what no IAM policy elsewhere in the account can override: root and admins included.
        expect({ label, notDenied: notDenied.sort() }).toEqual({ label, notDenied: sealerArns });
        expect({ label, mayVerify }).toEqual({
          label,
          mayVerify: verifiers.map((id) => roleArnOfFunction(tpl(), id)).sort(),
        });
      }
    },
  );

  test.each([RECORD_SEAL_KEY, DECISION_SEAL_KEY, LINK_KEY, FORM_KEY])(
    'the roles’ own policies match %s’s key policy',
    (key) => {
      // Prepare
      const statements = keyPolicy(template, key);
      const grantedBy = (action: string) =>
        roleStatements()
          .filter(({ statement }) => statement.Effect === 'Allow' && actionsOf(statement).includes(action))
          .filter(({ statement }) => resourcesOf(statement).some((target) => getAttTarget(target) === key))
          .map(({ role }) => roleArn(String(resource(role).Properties.RoleName)))
          .sort();
      // Assess: what IAM grants, the key lets through, and nothing more.
      for (const action of ['kms:GenerateMac', 'kms:VerifyMac']) {
        expect({ action, roles: grantedBy(action) }).toEqual({
          action,
          roles: allowed(template, statements, action),
        });
      }
    },
  );
});

describe('generated template: customer-managed keys', () => {
  const STATE_MACHINE_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:policy-gate-${STAGE}-approval`;
  const adminOnly = ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'];

  /** The stack's KMS keys other than the alert topic's (whose users are AWS services). */
  function ownKeys(tpl: Template): string[] {
    const topic = Object.values(tpl.Resources).find((r) => r.Type === 'AWS::SNS::Topic');
    const alertKey = String(((topic?.Properties.KmsMasterKeyId ?? {}) as JsonObject).Ref);
    return Object.entries(tpl.Resources)
      .filter(([id, r]) => r.Type === 'AWS::KMS::Key' && id !== alertKey)
      .map(([id]) => id);
  }

  test('the tables, the state machine and the Slack secrets are encrypted with rotated keys of the stack', () => {
    // Prepare
    const keys = [
      tablesKeyId(APPROVALS_TABLE),
      tablesKeyId(SWEEP_TABLE),
      workflowKeyId(),
      ...resourcesOfType('AWS::SecretsManager::Secret').map(([, { Properties }]) =>
        getAttTarget(Properties.KmsKeyId),
      ),
    ];
    // Act
    const [, { Properties }] = stateMachine();
    // Assess
    for (const table of [APPROVALS_TABLE, SWEEP_TABLE]) {
      expect(resource(table).Properties.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    }
    expect((Properties.EncryptionConfiguration as JsonObject).Type).toBe('CUSTOMER_MANAGED_KMS_KEY');
    for (const key of keys) {
      expect({ key, type: resource(key ?? '').Type }).toEqual({ key, type: 'AWS::KMS::Key' });
      expect({ key, rotated: resource(key ?? '').Properties.EnableKeyRotation }).toEqual({
        key,
        rotated: true,
      });
    }
  });

  test('no key lets anyone create grants except through DynamoDB, and no administrator use a key', () => {
    for (const [label, tpl] of TEMPLATES) {
      for (const key of ownKeys(tpl())) {
        // Prepare
        const statements = keyPolicy(tpl(), key);
        // Act
        const grants = allowed(tpl(), statements, 'kms:CreateGrant');
        const grantsThroughDynamoDb = allowed(tpl(), statements, 'kms:CreateGrant', {
          'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com',
          'kms:CallerAccount': ACCOUNT,
        });
        // Assess
        expect({ label, key, grants }).toEqual({ label, key, grants: [] });
        if (key !== tablesKeyId(APPROVALS_TABLE))
          expect({ key, grantsThroughDynamoDb }).toEqual({ key, grantsThroughDynamoDb: [] });
        // Root, the deployer, break-glass and everyone else administer at most: none may use a key by itself.
        const users = principalsOf(tpl()).filter((principalArn) =>
          ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt', 'kms:GenerateMac', 'kms:VerifyMac'].some(
            (action) => decide(statements, { principalArn, action }) === 'allow',
          ),
        );
        expect({
          label,
          key,
          outsiders: users.filter((user) => !user.includes(`:role/policy-gate-${STAGE}-`)),
        }).toEqual({
          label,
          key,
          outsiders: [],
        });
        if (resource(key).Properties.KeyUsage !== 'GENERATE_VERIFY_MAC') {
          expect({ label, key, withoutContext: users }).toEqual({ label, key, withoutContext: [] });
        }
      }
    }
  });

  test('with a deployer, only the root user, the deployer and break-glass administer the keys; without, the account', () => {
    for (const key of ownKeys(configured)) {
      for (const action of adminOnly) {
        // Act
        const administrators = allowed(configured, keyPolicy(configured, key), action);
        const fallback = allowed(template, keyPolicy(template, key), action);
        // Assess
        expect({ key, action, administrators }).toEqual({
          key,
          action,
          administrators: [ROOT_USER, DEPLOYER_ROLE, BREAK_GLASS_ROLE].sort(),
        });
        expect({ key, action, outsider: fallback.includes(OUTSIDER) }).toEqual({
          key,
          action,
          outsider: true,
        });
      }
    }
  });

  test('the workflow key decrypts only for this state machine, and only for its role, its starters and resumer', () => {
    // Prepare
    const statements = keyPolicy(configured, workflowKeyId());
    const [, { Properties }] = stateMachine();
    const callers = roleStatements()
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(({ statement }) =>
        actionsOf(statement).some((action) => /^states:(Start|SendTask)/.test(action)),
      )
      .map(({ role }) => role);
    const expected = [...new Set([getAttTarget(Properties.RoleArn) as string, ...callers])]
      .map((role) => roleArn(String(resource(role).Properties.RoleName)))
      .concat(DEPLOYER_ROLE, BREAK_GLASS_ROLE)
      .sort();
    const context = { 'kms:EncryptionContext:aws:states:stateMachineArn': STATE_MACHINE_ARN };
    // Act
    const decrypt = allowed(configured, statements, 'kms:Decrypt', context);
    const generate = allowed(configured, statements, 'kms:GenerateDataKey', context);
    const elsewhere = allowed(configured, statements, 'kms:Decrypt', {
      'kms:EncryptionContext:aws:states:stateMachineArn': `${STATE_MACHINE_ARN}-other`,
    });
    // Assess
    expect(decrypt).toEqual(expected);
    expect(generate).toEqual(expected);
    expect(elsewhere).toEqual([]);
    expect(decrypt).not.toContain(OUTSIDER);
    // Each of those roles has the matching IAM permission, bound to the same state machine.
    for (const role of new Set([getAttTarget(Properties.RoleArn) as string, ...callers])) {
      const uses = roleStatements().filter(
        ({ role: owner, statement }) =>
          owner === role &&
          resourcesOf(statement).some((target) => getAttTarget(target) === workflowKeyId()) &&
          !JSON.stringify(statement.Condition).includes('kms:EncryptionContext:SourceArn'),
      );
      expect({ role, actions: uses.flatMap(({ statement }) => actionsOf(statement)).sort() }).toEqual({
        role,
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      });
      for (const { statement } of uses) {
        const condition = deployed(template, statement.Condition as Json) as JsonObject;
        expect(
          (condition.StringEquals as JsonObject)['kms:EncryptionContext:aws:states:stateMachineArn'],
        ).toBe(STATE_MACHINE_ARN);
      }
    }
  });

  test('only the state machine’s role encrypts with the workflow key for log delivery, which alone decrypts it', () => {
    // Prepare
    const statements = keyPolicy(configured, workflowKeyId());
    const [, { Properties }] = stateMachine();
    const machineRole = roleArn(
      String(resource(getAttTarget(Properties.RoleArn) as string).Properties.RoleName),
    );
    const logs = { 'kms:EncryptionContext:SourceArn': `arn:aws:logs:us-east-1:${ACCOUNT}:*` };
    // Act
    const encrypt = allowed(configured, statements, 'kms:GenerateDataKey', logs);
    const decrypt = allowed(configured, statements, 'kms:Decrypt', logs);
    const delivery = statements.filter(
      (statement) =>
        JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'delivery.logs.amazonaws.com' }),
    );
    // Assess
    expect(encrypt).toEqual([machineRole]);
    expect(decrypt).toEqual([]);
    expect(delivery.map((statement) => actionsOf(statement))).toEqual([['kms:Decrypt']]);
  });

  test('the tables’ key is usable only through DynamoDB, by the roles that work with the tables', () => {
    // Prepare
    const statements = keyPolicy(configured, tablesKeyId(APPROVALS_TABLE));
    const tableRoles = [
      ...new Set(
        roleStatements()
          .filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')))
          .map(({ role }) => role),
      ),
    ];
    const expected = tableRoles
      .map((role) => roleArn(String(resource(role).Properties.RoleName)))
      .concat(DEPLOYER_ROLE, BREAK_GLASS_ROLE)
      .sort();
    // Act
    const throughDynamoDb = allowed(configured, statements, 'kms:Decrypt', {
      'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com',
      'kms:CallerAccount': ACCOUNT,
    });
    const direct = allowed(configured, statements, 'kms:Decrypt');
    // Assess
    expect(throughDynamoDb).toEqual(expected);
    expect(direct).toEqual([]);
    expect(tableRoles).not.toContain('NotifyChangeRole');
  });

  test('the Slack secrets’ key decrypts each secret only for its readers (and the writers), no look-alike', () => {
    // Prepare
    const secretArn = (name: string) =>
      `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:policy-gate/${STAGE}/${name}-AbC123`;
    const decrypting = (tpl: Template, name: string) =>
      allowed(tpl, keyPolicy(tpl, SLACK_SECRETS_KEY), 'kms:Decrypt', {
        'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com',
        'kms:EncryptionContext:SecretARN': secretArn(name),
      });
    const iamReaders = (secret: string) => [
      ...new Set(
        roleStatements()
          .filter(({ statement }) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
          .filter(({ statement }) =>
            resourcesOf(statement).some((target) => referencedIds(target).has(secret)),
          )
          .map(({ role }) => roleArn(String(resource(role).Properties.RoleName))),
      ),
    ];
    const writers = [DEPLOYER_ROLE, BREAK_GLASS_ROLE];
    const policyGateRoles = (arns: string[]) =>
      arns.filter((arn) => arn.includes(`:role/policy-gate-${STAGE}-`));
    // Act
    const signing = decrypting(configured, 'slack-signing-secret');
    const botToken = decrypting(configured, 'slack-bot-token');
    const lookalikes = ['slack-signing-secret-x', 'slack-bot-token-x', 'slack'].flatMap((name) =>
      decrypting(configured, name),
    );
    const viaOtherService = allowed(configured, keyPolicy(configured, SLACK_SECRETS_KEY), 'kms:Decrypt', {
      'kms:EncryptionContext:SecretARN': secretArn('slack-signing-secret'),
    });
    // Assess
    expect(signing).toEqual([...iamReaders(SIGNING_SECRET), ...writers].sort());
    expect(botToken).toEqual([...iamReaders(BOT_TOKEN_SECRET), ...writers].sort());
    expect(iamReaders(SIGNING_SECRET)).toEqual([
      roleArnOfFunction(template, 'SlackInteractivityLambdaFunction'),
    ]);
    expect(lookalikes).toEqual([]);
    expect(viaOtherService).toEqual([]);
    // Without a deployer the writers are whoever IAM lets, but still no other PolicyGate function.
    expect(policyGateRoles(decrypting(template, 'slack-signing-secret'))).toEqual(iamReaders(SIGNING_SECRET));
  });
});

describe('generated template: resource policies', () => {
  const DATA_ACTIONS = [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:Scan',
    'dynamodb:ConditionCheckItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:PartiQLSelect',
    'dynamodb:PartiQLInsert',
    'dynamodb:PartiQLUpdate',
    'dynamodb:PartiQLDelete',
    'dynamodb:ExportTableToPointInTime',
    'dynamodb:RestoreTableToPointInTime',
    'dynamodb:CreateBackup',
  ];
  /** What CloudFormation needs to keep managing the table. */
  const MANAGEMENT_ACTIONS = [
    'dynamodb:DescribeTable',
    'dynamodb:UpdateTable',
    'dynamodb:PutResourcePolicy',
    'dynamodb:GetResourcePolicy',
    'dynamodb:DeleteTable',
    'dynamodb:UpdateTimeToLive',
    'dynamodb:UpdateContinuousBackups',
    'dynamodb:TagResource',
  ];

  test.each([APPROVALS_TABLE, SWEEP_TABLE])(
    '%s denies its data to every principal but the roles granted it (and break-glass), and leaves its management alone',
    (table) => {
      for (const [label, tpl] of TEMPLATES) {
        // Prepare
        const { Properties } = tpl().Resources[table] as Resource;
        const document = deployed(tpl(), (Properties.ResourcePolicy as JsonObject).PolicyDocument as Json);
        const statements = statementsOf(document);
        const tableArn = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${String(Properties.TableName)}`;
        const granted = [
          ...new Set(
            roleStatements()
              .filter(({ statement }) =>
                resourcesOf(statement).some((target) => referencedIds(target).has(table)),
              )
              .map(({ role }) => roleArn(String(resource(role).Properties.RoleName))),
          ),
        ];
        const admitted = tpl() === configured ? [...granted, BREAK_GLASS_ROLE] : granted;
        // Act
        const reach = (action: string, resourceArn: string) =>
          principalsOf(tpl())
            .filter(
              (principalArn) =>
                decide(statements, { principalArn, action, resource: resourceArn }) !== 'deny',
            )
            .sort();
        // Assess
        expect(JSON.stringify(document).length).toBeLessThan(20 * 1024);
        for (const action of DATA_ACTIONS) {
          expect({ label, action, reach: reach(action, tableArn) }).toEqual({
            label,
            action,
            reach: admitted.sort(),
          });
        }
        expect({ label, index: reach('dynamodb:Query', `${tableArn}/index/byLookup`) }).toEqual({
          label,
          index: admitted.sort(),
        });
        for (const action of MANAGEMENT_ACTIONS) {
          expect({ label, action, reachedBy: reach(action, tableArn).length }).toEqual({
            label,
            action,
            reachedBy: principalsOf(tpl()).length,
          });
        }
      }
    },
  );

  test('the signing secret’s policy denies it to every principal but the interactivity role (and break-glass)', () => {
    for (const [label, tpl] of TEMPLATES) {
      // Prepare
      const policies = Object.values(tpl().Resources).filter(
        (r) => r.Type === 'AWS::SecretsManager::ResourcePolicy',
      );
      const policyOf = (secret: string) => {
        const found = policies.filter(
          (r) => JSON.stringify(r.Properties.SecretId) === JSON.stringify(ref(secret)),
        );
        expect(found).toHaveLength(1);
        expect(found[0]?.Properties.BlockPublicPolicy).toBe(true);
        return statementsOf(deployed(tpl(), found[0]?.Properties.ResourcePolicy as Json));
      };
      const readers = (secret: string, action = 'secretsmanager:GetSecretValue') =>
        principalsOf(tpl())
          .filter((principalArn) => decide(policyOf(secret), { principalArn, action }) !== 'deny')
          .sort();
      const iamReaders = (secret: string) =>
        [
          ...new Set(
            roleStatements()
              .filter(({ statement }) => actionsOf(statement).includes('secretsmanager:GetSecretValue'))
              .filter(({ statement }) =>
                resourcesOf(statement).some((target) => referencedIds(target).has(secret)),
              )
              .map(({ role }) => roleArn(String(resource(role).Properties.RoleName))),
          ),
        ].concat(tpl() === configured ? [BREAK_GLASS_ROLE] : []);
      // Act
      const signing = readers(SIGNING_SECRET);
      const botToken = readers(BOT_TOKEN_SECRET);
      // Assess
      expect({ label, signing }).toEqual({
        label,
        signing: [
          roleArnOfFunction(tpl(), 'SlackInteractivityLambdaFunction'),
          ...(tpl() === configured ? [BREAK_GLASS_ROLE] : []),
        ].sort(),
      });
      expect({ label, signing }).toEqual({ label, signing: iamReaders(SIGNING_SECRET).sort() });
      expect({ label, botToken }).toEqual({ label, botToken: iamReaders(BOT_TOKEN_SECRET).sort() });
      // Nobody copies a secret to another region under a key of their choosing.
      for (const secret of [SIGNING_SECRET, BOT_TOKEN_SECRET]) {
        expect({
          label,
          secret,
          replicas: readers(secret, 'secretsmanager:ReplicateSecretToRegions'),
        }).toEqual({
          label,
          secret,
          replicas: [],
        });
      }
      // With a deployer, only it and break-glass may write the value (a replaced signing secret forges clicks).
      const writers = readers(SIGNING_SECRET, 'secretsmanager:PutSecretValue');
      expect({ label, writers }).toEqual({
        label,
        writers: tpl() === configured ? [BREAK_GLASS_ROLE, DEPLOYER_ROLE].sort() : principalsOf(tpl()).sort(),
      });
    }
  });

  test('no function but slackInteractivity is told the signing secret or may read it through IAM', () => {
    // Act
    const told = functions()
      .filter(([id]) => referencedIds(environmentOf(id)).has(SIGNING_SECRET))
      .map(([id]) => id);
    const named = functions()
      .filter(([id]) => environmentOf(id).SLACK_SIGNING_SECRET_ARN !== undefined)
      .map(([id]) => id);
    const iamReaders = roleStatements()
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(({ statement }) => actionsOf(statement).some((action) => action.startsWith('secretsmanager:')))
      .filter(({ statement }) =>
        resourcesOf(statement).some((target) => target === '*' || referencedIds(target).has(SIGNING_SECRET)),
      )
      .map(({ role }) => role);
    // Assess
    expect(told).toEqual(['SlackInteractivityLambdaFunction']);
    expect(named).toEqual(['SlackInteractivityLambdaFunction']);
    expect(environmentOf('SlackInteractivityLambdaFunction').SLACK_SIGNING_SECRET_ARN).toEqual(
      ref(SIGNING_SECRET),
    );
    expect([...new Set(iamReaders)]).toEqual([SLACK_ROLE]);
    // The bot token goes to exactly the functions whose roles may read it.
    for (const [id] of functions()) {
      const reads = roleStatements().some(
        ({ role, statement }) =>
          role === roleOfFunction(id) &&
          actionsOf(statement).includes('secretsmanager:GetSecretValue') &&
          resourcesOf(statement).some((target) => referencedIds(target).has(BOT_TOKEN_SECRET)),
      );
      expect({ id, told: environmentOf(id).SLACK_BOT_TOKEN_SECRET_ARN }).toEqual({
        id,
        told: reads ? ref(BOT_TOKEN_SECRET) : undefined,
      });
    }
  });
});

describe('generated template: reserved concurrency', () => {
  /** Lambda keeps at least this much of the account's concurrency unreserved. */
  const UNRESERVED_MINIMUM = 100;
  const DEFAULT_ACCOUNT_QUOTA = 1_000;

  test('caps the public interactivity function and keeps a floor for every workflow function', () => {
    // Act
    const reserved = Object.fromEntries(
      functions().map(([id, { Properties }]) => [id, Properties.ReservedConcurrentExecutions]),
    );
    const total = Object.values(reserved).reduce<number>((sum, value) => sum + Number(value), 0);
    // Assess
    expect(Number(reserved.SlackInteractivityLambdaFunction)).toBeGreaterThan(0);
    for (const id of WORKFLOW_FUNCTIONS)
      expect({ id, floor: Number(reserved[id]) >= 1 }).toEqual({ id, floor: true });
    expect(reserved[SWEEP_FUNCTION]).toBe(1);
    expect(total + UNRESERVED_MINIMUM).toBeLessThanOrEqual(DEFAULT_ACCOUNT_QUOTA);
  });

  test('every workflow task retries Lambda throttling, so a cap delays an event but never loses it', () => {
    // Prepare
    const definition = JSON.parse(
      readFileSync(join(ROOT, 'stepfunctions', 'approval-workflow.asl.json'), 'utf8'),
    ) as { States: Record<string, { Type: string; Resource?: string; Retry?: { ErrorEquals: string[] }[] }> };
    // Act
    const lambdaTasks = Object.entries(definition.States).filter(
      ([, state]) =>
        state.Type === 'Task' && String(state.Resource).startsWith('arn:aws:states:::lambda:invoke'),
    );
    const unretried = lambdaTasks
      .filter(
        ([, state]) =>
          !(state.Retry ?? []).some((retry) => retry.ErrorEquals.includes('Lambda.TooManyRequestsException')),
      )
      .map(([name]) => name);
    // Assess
    expect(lambdaTasks.length).toBeGreaterThan(0);
    expect(unretried).toEqual([]);
  });
});

describe('generated template: policy sizes', () => {
  /** IAM's limit for a role's inline policies together, and KMS's for a key policy (whitespace not counted). */
  const ROLE_INLINE_LIMIT = 10_240;
  const KEY_POLICY_LIMIT = 32_768;

  test('every role’s inline policies and every key policy fit their service’s limit, with a 20-character stage', () => {
    // Prepare: the longest ARNs a real account and a long stage name make.
    const longer = (document: Json) =>
      JSON.stringify(deployed(configured, document)).replaceAll(`-${STAGE}-`, `-${'x'.repeat(20)}-`).length;
    // Act
    const roles = Object.entries(configured.Resources)
      .filter(([, { Type }]) => Type === 'AWS::IAM::Role')
      .map(([id, { Properties }]) => ({
        id,
        size: asArray(Properties.Policies as Json[]).reduce<number>(
          (sum, policy) => sum + longer((policy as JsonObject).PolicyDocument as Json),
          0,
        ),
      }));
    const keys = Object.entries(configured.Resources)
      .filter(([, { Type }]) => Type === 'AWS::KMS::Key')
      .map(([id, { Properties }]) => ({ id, size: longer(Properties.KeyPolicy as Json) }));
    // Assess
    for (const { id, size } of roles)
      expect({ id, fits: size <= ROLE_INLINE_LIMIT }).toEqual({ id, fits: true });
    for (const { id, size } of keys)
      expect({ id, fits: size <= KEY_POLICY_LIMIT }).toEqual({ id, fits: true });
  });
});

describe('generated template: every action is one IAM knows', () => {
  test('each action of every role, key and resource policy names at least one real action', () => {
    for (const [label, tpl] of TEMPLATES) {
      // Prepare
      const documents: Json[] = [];
      for (const resourceEntry of Object.values(tpl().Resources)) {
        const { Type, Properties } = resourceEntry;
        if (Type === 'AWS::IAM::Role') {
          for (const policy of asArray(Properties.Policies as Json[] | undefined))
            documents.push((policy as JsonObject).PolicyDocument as Json);
        }
        if (Type === 'AWS::KMS::Key') documents.push(Properties.KeyPolicy as Json);
        if (Type === 'AWS::SecretsManager::ResourcePolicy') documents.push(Properties.ResourcePolicy as Json);
        if (Type === 'AWS::DynamoDB::Table' && Properties.ResourcePolicy)
          documents.push((Properties.ResourcePolicy as JsonObject).PolicyDocument as Json);
      }
      // Act
      const repeatedSids = documents.flatMap((document) => {
        const sids = statementsOf(deployed(tpl(), document))
          .map((statement) => (statement as unknown as JsonObject).Sid)
          .filter((sid) => sid !== undefined);
        return sids.filter((sid, index) => sids.indexOf(sid) !== index);
      });
      const unknown = documents
        .flatMap((document) => statementsOf(deployed(tpl(), document)))
        .flatMap((statement) => actionsOf(statement))
        .filter((action) => actionsMatching(action).length === 0);
      // Assess
      expect({ label, count: documents.length > 10, unknown, repeatedSids }).toEqual({
        label,
        count: true,
        unknown: [],
        repeatedSids: [],
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------- SCP

describe('the service control policy shipped in policies/', () => {
  const SCP_FILE = join(ROOT, 'policies', 'scp-protect-policy-gate.json');
  /** AWS Organizations' limit for a service control policy (the CLI and API count every character sent). */
  const SCP_MAX_CHARACTERS = 5_120;
  const EXEMPT = [
    'arn:aws:iam::123456789012:role/policy-gate-deployer',
    'arn:aws:iam::123456789012:role/policy-gate-break-glass',
  ];
  const scp = () => JSON.parse(readFileSync(SCP_FILE, 'utf8')) as { Version: string; Statement: Statement[] };

  /** What each kind of PolicyGate resource must be protected against, and its ARN in account ACCOUNT. */
  const PROTECTED: Record<string, { actions: string[]; arn: (properties: JsonObject) => string }> = {
    'AWS::Lambda::Function': {
      actions: [
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:DeleteFunction',
        'lambda:AddPermission',
        'lambda:PutFunctionConcurrency',
        'lambda:DeleteFunctionConcurrency',
        'lambda:UpdateFunctionUrlConfig',
      ],
      arn: (p) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${String(p.FunctionName)}`,
    },
    'AWS::IAM::Role': {
      actions: [
        'iam:PassRole',
        'iam:PutRolePolicy',
        'iam:AttachRolePolicy',
        'iam:UpdateAssumeRolePolicy',
        'iam:DeleteRole',
      ],
      arn: (p) => `arn:aws:iam::${ACCOUNT}:role/${String(p.RoleName)}`,
    },
    'AWS::DynamoDB::Table': {
      actions: [
        'dynamodb:DeleteTable',
        'dynamodb:UpdateTable',
        'dynamodb:PutResourcePolicy',
        'dynamodb:DeleteResourcePolicy',
      ],
      arn: (p) => `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${String(p.TableName)}`,
    },
    'AWS::SecretsManager::Secret': {
      actions: [
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:DeleteResourcePolicy',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ],
      arn: (p) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${String(p.Name)}-AbC123`,
    },
    'AWS::StepFunctions::StateMachine': {
      actions: ['states:UpdateStateMachine', 'states:DeleteStateMachine'],
      arn: (p) => `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${String(p.StateMachineName)}`,
    },
    'AWS::Events::Rule': {
      actions: [
        'events:PutRule',
        'events:PutTargets',
        'events:DisableRule',
        'events:RemoveTargets',
        'events:DeleteRule',
      ],
      arn: (p) => `arn:aws:events:us-east-1:${ACCOUNT}:rule/${String(p.Name)}`,
    },
    'AWS::SNS::Topic': {
      actions: ['sns:DeleteTopic', 'sns:SetTopicAttributes', 'sns:Unsubscribe'],
      arn: (p) => `arn:aws:sns:us-east-1:${ACCOUNT}:${String(p.TopicName)}`,
    },
    'AWS::SQS::Queue': {
      actions: ['sqs:PurgeQueue', 'sqs:DeleteQueue', 'sqs:SetQueueAttributes'],
      arn: (p) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${String(p.QueueName)}`,
    },
    'AWS::CloudWatch::Alarm': {
      actions: ['cloudwatch:DeleteAlarms', 'cloudwatch:DisableAlarmActions', 'cloudwatch:PutMetricAlarm'],
      arn: (p) => `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${String(p.AlarmName)}`,
    },
    'AWS::Logs::LogGroup': {
      actions: ['logs:DeleteLogGroup', 'logs:PutRetentionPolicy'],
      arn: (p) => `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:${String(p.LogGroupName)}`,
    },
    'AWS::KMS::Alias': {
      actions: ['kms:DeleteAlias', 'kms:UpdateAlias'],
      arn: (p) => `arn:aws:kms:us-east-1:${ACCOUNT}:${String(p.AliasName)}`,
    },
  };
  /** Kinds protected through another (a key by its aliases, a policy by its resource's actions) or not at all. */
  const COVERED_OTHERWISE: Record<string, string> = {
    'AWS::KMS::Key': 'by its alias (kms:ResourceAliases), tested below',
    'AWS::SecretsManager::ResourcePolicy': "the secret's PutResourcePolicy and DeleteResourcePolicy",
    'AWS::Lambda::Url': "the function's UpdateFunctionUrlConfig",
    'AWS::Lambda::Permission': "the function's AddPermission",
    'AWS::SNS::Subscription': "the topic's Unsubscribe and SetTopicAttributes",
    'AWS::SQS::QueuePolicy': "the queue's SetQueueAttributes",
    'AWS::SNS::TopicPolicy': "the topic's SetTopicAttributes",
    'AWS::S3::Bucket': 'the deployment bucket, by its generated policy-gate-* name, tested below',
    'AWS::S3::BucketPolicy': "the bucket's PutBucketPolicy and DeleteBucketPolicy",
  };

  test('is a valid SCP of at most 5,120 characters once minified', () => {
    // Act
    const policy = scp();
    const minified = JSON.stringify(policy);
    // Assess
    expect(minified.length).toBeLessThanOrEqual(SCP_MAX_CHARACTERS);
    expect(Object.keys(policy).sort()).toEqual(['Statement', 'Version']);
    expect(policy.Version).toBe('2012-10-17');
    const sids = policy.Statement.map((statement) => (statement as unknown as JsonObject).Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const statement of policy.Statement) {
      const keys = Object.keys(statement);
      // SCPs name no Principal; these statements are all Denies with an Action, a Resource and a Condition.
      expect(keys.sort()).toEqual(['Action', 'Condition', 'Effect', 'Resource', 'Sid']);
      expect(String((statement as unknown as JsonObject).Sid)).toMatch(/^[A-Za-z0-9]+$/);
      expect(statement.Effect).toBe('Deny');
    }
  });

  test('names only actions, condition keys and resource ARNs that exist, each action with its service’s resources', () => {
    for (const statement of scp().Statement) {
      // Prepare
      const services = new Set(actionsOf(statement).map((action) => action.split(':')[0]));
      const resourceServices = new Set(
        asArray(statement.Resource as Json).map((arn) =>
          String(arn) === '*' ? '*' : String(arn).split(':')[2],
        ),
      );
      // Act
      const unknown = actionsOf(statement).filter((action) => actionsMatching(action).length === 0);
      const keys = Object.values((statement.Condition ?? {}) as JsonObject).flatMap((entry) =>
        Object.keys(entry as JsonObject),
      );
      const unknownKeys = keys.filter((key) => {
        if (key.startsWith('aws:')) return !['aws:PrincipalArn'].includes(key);
        const [service] = key.split(':');
        const file = join(IAM_DATA, 'conditionKeys', `${service}.json`);
        const known = existsSync(file)
          ? Object.keys(JSON.parse(readFileSync(file, 'utf8')) as JsonObject)
          : [];
        return !known.includes(key.toLowerCase());
      });
      // Assess
      expect({ unknown, unknownKeys }).toEqual({ unknown: [], unknownKeys: [] });
      if (!resourceServices.has('*')) {
        expect([...services].sort()).toEqual([...resourceServices].sort());
      }
    }
  });

  test('exempts exactly the deployer and break-glass roles (and, from reading secrets, PolicyGate’s roles)', () => {
    for (const statement of scp().Statement) {
      // Act
      const exempt = asArray(
        ((statement.Condition as JsonObject).ArnNotLike as JsonObject)['aws:PrincipalArn'] as Json[],
      );
      // Assess
      const reads = actionsOf(statement).includes('secretsmanager:GetSecretValue');
      // The member stack's StackSet deploys roles, a rule and its stack as stacksets-exec-* (README).
      const memberStack = ['PolicyGateRoles', 'PolicyGateWorkflowAndAlerts', 'PolicyGateStack'].includes(
        String((statement as unknown as JsonObject).Sid),
      );
      expect([...exempt].sort()).toEqual(
        [
          ...(reads ? ['arn:*:iam::*:role/policy-gate-*'] : ['arn:*:iam::*:role/policy-gate-deployer']),
          'arn:*:iam::*:role/policy-gate-break-glass',
          ...(memberStack ? ['arn:*:iam::*:role/stacksets-exec-*'] : []),
        ].sort(),
      );
    }
  });

  test('every kind of resource in the template is protected, or covered through another', () => {
    // Act
    const kinds = [...new Set(Object.values(template.Resources).map(({ Type }) => Type))];
    // Assess
    expect(kinds.filter((kind) => !PROTECTED[kind] && !COVERED_OTHERWISE[kind])).toEqual([]);
  });

  test('denies every protected change of every PolicyGate resource to anyone but the deployer and break-glass', () => {
    // Prepare
    const statements = scp().Statement;
    for (const [kind, { actions, arn }] of Object.entries(PROTECTED)) {
      const named = resourcesOfType(kind);
      expect({ kind, present: named.length > 0 }).toEqual({ kind, present: true });
      for (const [id, { Properties }] of named) {
        const resourceArn = arn(Properties);
        for (const action of actions) {
          // Act
          const outsider = decide(statements, { principalArn: OUTSIDER, action, resource: resourceArn });
          const exempt = EXEMPT.map((principalArn) =>
            decide(statements, { principalArn, action, resource: resourceArn }),
          );
          const policyGate = decide(statements, {
            principalArn: roleArnOfFunction(template, 'SlackInteractivityLambdaFunction'),
            action,
            resource: resourceArn,
          });
          // Assess
          expect({ id, action, outsider }).toEqual({ id, action, outsider: 'deny' });
          expect({ id, action, exempt }).toEqual({ id, action, exempt: ['none', 'none'] });
          // PolicyGate's functions read their secrets; everything else is denied to them too.
          expect({ id, action, policyGate }).toEqual({
            id,
            action,
            policyGate: action === 'secretsmanager:GetSecretValue' ? 'none' : 'deny',
          });
        }
      }
    }
  });

  test('protects the member stack (its roles, rule and StackSet stack), its exec role and the organization bus', () => {
    // Prepare: what the member stack and the central organization stage create (member/, serverless.yml).
    const member = buildMemberTemplate();
    const memberRoles = Object.values(member.Resources as Record<string, JsonObject>)
      .filter(({ Type }) => Type === 'AWS::IAM::Role')
      .map(({ Properties }) => {
        // `!Sub ${MemberRoleName}-quarantine` and the like, with the parameter's default.
        const name = (Properties as JsonObject).RoleName;
        const sub = (name as JsonObject | undefined)?.['Fn::Sub'];
        return roleArn(
          typeof name === 'string'
            ? name
            : String(sub).replace(/^\$\{MemberRoleName\}/, 'policy-gate-member'),
        );
      });
    const rule = `arn:aws:events:us-east-1:${ACCOUNT}:rule/policy-gate-member-iam-changes`;
    const stack = `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/StackSet-policy-gate-member-0f1e2d3c/4b5a6978`;
    const execRole = roleArn('stacksets-exec-0123456789abcdef0123456789abcdef');
    const bus = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/policy-gate-${STAGE}-org-events`;
    const statements = scp().Statement;
    const requests: [string, string][] = [
      ...memberRoles.flatMap((arn) =>
        ['iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:DeleteRole'].map(
          (action): [string, string] => [action, arn],
        ),
      ),
      ...['events:PutTargets', 'events:RemoveTargets', 'events:DisableRule', 'events:DeleteRule'].map(
        (action): [string, string] => [action, rule],
      ),
      ['cloudformation:DeleteStack', stack],
      ['cloudformation:UpdateStack', stack],
      ['iam:UpdateAssumeRolePolicy', execRole],
      ['iam:CreateRole', execRole],
      ['events:PutPermission', bus],
      ['events:RemovePermission', bus],
      ['events:DeleteEventBus', bus],
    ];
    for (const [action, resource] of requests) {
      // Act
      const outsider = decide(statements, { principalArn: OUTSIDER, action, resource });
      const stackSet = decide(statements, { principalArn: execRole, action, resource });
      // Assess: the account's own administrators may not; the StackSet's execution role may.
      expect({ action, resource, outsider }).toEqual({ action, resource, outsider: 'deny' });
      expect({ action, resource, stackSet }).toEqual({ action, resource, stackSet: 'none' });
    }
    expect(memberRoles.length).toBe(4); // the forwarder and the quarantine, restore and read roles
  });

  test('protects every key of the stack by its policy-gate-* alias, and the deployment bucket by its name', () => {
    // Prepare
    const statements = scp().Statement;
    const bucketName = `policy-gate-${STAGE}-serverlessdeploymentbucket-abc123`;
    for (const [key] of resourcesOfType('AWS::KMS::Key')) {
      const aliases = resourcesOfType('AWS::KMS::Alias')
        .filter(([, { Properties }]) => JSON.stringify(Properties.TargetKeyId) === JSON.stringify(ref(key)))
        .map(([, { Properties }]) => String(Properties.AliasName));
      for (const action of [
        'kms:PutKeyPolicy',
        'kms:ScheduleKeyDeletion',
        'kms:DisableKey',
        'kms:CreateGrant',
      ]) {
        // Act
        const request = {
          action,
          resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
          context: { 'kms:ResourceAliases': aliases },
        };
        // Assess
        expect({ key, aliases: aliases.length }).toEqual({ key, aliases: 1 });
        expect({ key, action, outsider: decide(statements, { ...request, principalArn: OUTSIDER }) }).toEqual(
          {
            key,
            action,
            outsider: 'deny',
          },
        );
        expect({
          key,
          action,
          deployer: decide(statements, { ...request, principalArn: EXEMPT[0] as string }),
        }).toEqual({
          key,
          action,
          deployer: 'none',
        });
      }
    }
    for (const action of ['s3:PutObject', 's3:PutBucketPolicy']) {
      const request = { action, resource: `arn:aws:s3:::${bucketName}/serverless/policy-gate/ci/code.zip` };
      expect(decide(statements, { ...request, principalArn: OUTSIDER })).toBe('deny');
    }
    // serverless names the deployment bucket after the stack, which is policy-gate-<stage>.
    expect(resourcesOfType('AWS::S3::Bucket')).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------- tamper watch

/** The ARN a resource of the stack would have in account ACCOUNT, us-east-1 (for the kinds the rules name). */
function arnOf(tpl: Template, logicalId: string): string {
  const found = tpl.Resources[logicalId];
  if (!found) throw new Error(`template has no resource ${logicalId}`);
  const { Type, Properties } = found;
  const at = `us-east-1:${ACCOUNT}`;
  switch (Type) {
    case 'AWS::KMS::Key':
      // Key ids are random: the logical id stands in for one, which keeps every key's ARN distinct.
      return `arn:aws:kms:${at}:key/${logicalId.toLowerCase()}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${at}:${String(Properties.TopicName)}`;
    case 'AWS::Events::Rule':
      return `arn:aws:events:${at}:rule/${String(Properties.Name)}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${at}:${String(Properties.QueueName)}`;
    default:
      throw new Error(`no ARN for ${Type}`);
  }
}

/** `value` as deployed (see `deployed`), with every Ref, GetAtt Arn and Sub of a resource replaced by its ARN. */
function withArns(tpl: Template, value: Json | undefined): Json {
  const text = JSON.stringify(deployed(tpl, value) ?? null);
  return JSON.parse(text, (_key, node: Json) => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return node;
    if (typeof node.Ref === 'string') return arnOf(tpl, node.Ref);
    const target = getAttTarget(node);
    if (target) return arnOf(tpl, target);
    const sub = node['Fn::Sub'];
    if (typeof sub === 'string') return sub.replace(/\$\{(\w+)\}/g, (_whole, id: string) => arnOf(tpl, id));
    return node;
  });
}

/** The rules that publish to the alert topic: the tamper watch (no other rule targets the topic). */
function tamperRules(tpl: Template = template): [string, Resource][] {
  const topic = Object.entries(tpl.Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')?.[0] as string;
  return Object.entries(tpl.Resources).filter(
    ([, r]) =>
      r.Type === 'AWS::Events::Rule' &&
      asArray(r.Properties.Targets as Json[]).some(
        (target) => JSON.stringify((target as JsonObject).Arn) === JSON.stringify(ref(topic)),
      ),
  );
}

/** The tamper-watch rules (of `tpl`) whose deployed pattern matches `event`, by name. */
function alertingRules(tpl: Template, event: JsonObject): string[] {
  return tamperRules(tpl)
    .filter(([, rule]) => matchesPattern(withArns(tpl, rule.Properties.EventPattern), event))
    .map(([, rule]) => String(rule.Properties.Name));
}

/** A successful management call as CloudTrail hands it to EventBridge. */
function cloudTrailEvent(
  service: string,
  eventName: string,
  userIdentity: JsonObject,
  detail: JsonObject = {},
): JsonObject {
  return {
    version: '0',
    source: `aws.${service}`,
    'detail-type': 'AWS API Call via CloudTrail',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventSource: `${service}.amazonaws.com`,
      eventName,
      userIdentity,
      eventTime: '2026-12-01T23:00:00Z',
      sourceIPAddress: '198.51.100.7',
      eventID: '11111111-2222-3333-4444-555555555555',
      ...detail,
    },
  };
}

const POWER_USER = assumedRole('PowerUser');
const DEPLOYER = assumedRole(DEPLOYER_ROLE.split('/').pop() as string);

/** Changes to PolicyGate's own resources, each built from the template: every one must alert. */
function tamperings(tpl: Template, actor: JsonObject): [string, JsonObject][] {
  const ofType = (type: string) => Object.entries(tpl.Resources).filter(([, r]) => r.Type === type);
  const functions = ofType('AWS::Lambda::Function').map(([, { Properties }]) =>
    String(Properties.FunctionName),
  );
  const rules = ofType('AWS::Events::Rule').map(([, { Properties }]) => String(Properties.Name));
  const machines = ofType('AWS::StepFunctions::StateMachine').map(
    ([, { Properties }]) =>
      `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${String(Properties.StateMachineName)}`,
  );
  const keys = ofType('AWS::KMS::Key').map(([id]) => arnOf(tpl, id));
  const aliases = ofType('AWS::KMS::Alias').map(([, { Properties }]): [string, string] => [
    String(Properties.AliasName),
    arnOf(tpl, (Properties.TargetKeyId as { Ref: string }).Ref),
  ]);
  const secrets = ofType('AWS::SecretsManager::Secret').map(([, { Properties }]) => String(Properties.Name));
  const tables = ofType('AWS::DynamoDB::Table').map(([, { Properties }]) => String(Properties.TableName));
  const [topic] = ofType('AWS::SNS::Topic').map(([id]) => arnOf(tpl, id));
  const lambdaCalls = [
    'UpdateFunctionCode20150331v2',
    'UpdateFunctionConfiguration20150331v2',
    'DeleteFunction20150331',
    'AddPermission20150331v2',
    'RemovePermission20150331v2',
    'PutFunctionConcurrency20171031',
    'DeleteFunctionConcurrency20171031',
    'CreateFunctionUrlConfig20211031',
    'UpdateFunctionUrlConfig20211031',
    'DeleteFunctionUrlConfig20211031',
  ];
  const lambda = functions.flatMap((name) =>
    lambdaCalls.flatMap((call): [string, JsonObject][] => [
      [
        `${call} on ${name}`,
        cloudTrailEvent('lambda', call, actor, { requestParameters: { functionName: name } }),
      ],
      [
        `${call} on ${name} by ARN`,
        cloudTrailEvent('lambda', call, actor, {
          requestParameters: { functionName: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}` },
        }),
      ],
      [
        `${call} on ${name} by partial ARN with a qualifier`,
        cloudTrailEvent('lambda', call, actor, {
          requestParameters: { functionName: `${ACCOUNT}:function:${name}:$LATEST` },
        }),
      ],
    ]),
  );
  const events = rules.flatMap((name) => [
    ...['PutRule', 'DeleteRule', 'DisableRule'].map((call): [string, JsonObject] => [
      `${call} on ${name}`,
      cloudTrailEvent('events', call, actor, { requestParameters: { name } }),
    ]),
    ...['PutTargets', 'RemoveTargets'].map((call): [string, JsonObject] => [
      `${call} on ${name}`,
      cloudTrailEvent('events', call, actor, { requestParameters: { rule: name, ids: ['x'] } }),
    ]),
  ]);
  const states = machines.flatMap((arn) =>
    ['UpdateStateMachine', 'DeleteStateMachine'].map((call): [string, JsonObject] => [
      `${call} on ${arn}`,
      cloudTrailEvent('states', call, actor, { requestParameters: { stateMachineArn: arn } }),
    ]),
  );
  // The caller names the key by an alias; CloudTrail's resources hold the key's ARN.
  const kms = [
    ...keys.flatMap((arn) =>
      ['PutKeyPolicy', 'ScheduleKeyDeletion', 'DisableKey', 'CreateGrant'].map(
        (call): [string, JsonObject] => [
          `${call} on ${arn}`,
          cloudTrailEvent('kms', call, actor, {
            requestParameters: { keyId: 'alias/whatever-the-caller-wrote' },
            resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arn }],
          }),
        ],
      ),
    ),
    ...aliases.flatMap(([alias, keyArn]) =>
      ['UpdateAlias', 'DeleteAlias'].map((call): [string, JsonObject] => [
        `${call} on ${alias}`,
        cloudTrailEvent('kms', call, actor, {
          requestParameters: { aliasName: alias },
          resources: [
            { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:${alias}` },
            { accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: keyArn },
          ],
        }),
      ]),
    ),
  ];
  const secretCalls = [
    'PutSecretValue',
    'UpdateSecret',
    'PutResourcePolicy',
    'DeleteResourcePolicy',
    'DeleteSecret',
  ];
  const secretsManager = secrets.flatMap((name) =>
    secretCalls.flatMap((call): [string, JsonObject][] => [
      [
        `${call} on ${name}`,
        cloudTrailEvent('secretsmanager', call, actor, { requestParameters: { secretId: name } }),
      ],
      [
        `${call} on ${name} by ARN`,
        cloudTrailEvent('secretsmanager', call, actor, {
          requestParameters: {
            secretId: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-AbC123`,
          },
        }),
      ],
    ]),
  );
  const dynamodb = tables.flatMap((name) => [
    ...['DeleteTable', 'UpdateTable'].map((call): [string, JsonObject] => [
      `${call} on ${name}`,
      cloudTrailEvent('dynamodb', call, actor, { requestParameters: { tableName: name } }),
    ]),
    ...['PutResourcePolicy', 'DeleteResourcePolicy'].map((call): [string, JsonObject] => [
      `${call} on ${name}`,
      cloudTrailEvent('dynamodb', call, actor, {
        requestParameters: { resourceArn: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${name}` },
      }),
    ]),
  ]);
  const sns: [string, JsonObject][] = [
    ...['SetTopicAttributes', 'DeleteTopic', 'AddPermission', 'RemovePermission'].map(
      (call): [string, JsonObject] => [
        `${call} on the alert topic`,
        cloudTrailEvent('sns', call, actor, { requestParameters: { topicArn: topic as string } }),
      ],
    ),
    [
      'Unsubscribe from the alert topic',
      cloudTrailEvent('sns', 'Unsubscribe', actor, {
        requestParameters: { subscriptionArn: `${topic}:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0` },
      }),
    ],
  ];
  expect(
    [functions, rules, machines, keys, aliases, secrets, tables].map((list) => list.length > 0),
  ).not.toContain(false);
  return [...lambda, ...events, ...states, ...kms, ...secretsManager, ...dynamodb, ...sns];
}

describe('the test’s EventBridge matcher: prefix, wildcard and arrays', () => {
  test.each<[Json, string | undefined, boolean]>([
    [{ prefix: 'policy-gate-ci-' }, 'policy-gate-ci-analyseChange', true],
    [{ prefix: 'policy-gate-ci-' }, 'policy-gate-cid-analyseChange', false],
    [{ prefix: 'policy-gate-ci-' }, undefined, false],
    [
      { wildcard: '*:function:policy-gate-ci-*' },
      'arn:aws:lambda:us-east-1:1:function:policy-gate-ci-x',
      true,
    ],
    [{ wildcard: '*:function:policy-gate-ci-*' }, '1:function:policy-gate-ci-x:$LATEST', true],
    [{ wildcard: '*:function:policy-gate-ci-*' }, 'policy-gate-ci-x', false],
    [{ wildcard: 'a.b*' }, 'axb', false],
  ])('%j against %s is %s', (matcher, value, expected) => {
    expect(matchesValue(matcher, value)).toBe(expected);
  });

  test('a field whose event value is an array matches when one element does, objects included', () => {
    // Prepare
    const pattern = { resources: { ARN: ['b'] }, tags: ['y'] };
    // Act
    const results = [
      { resources: [{ ARN: 'a' }, { ARN: 'b' }], tags: ['x', 'y'] },
      { resources: [{ ARN: 'a' }], tags: ['y'] },
      { resources: [{ ARN: 'b' }], tags: [] },
    ].map((event) => matchesPattern(pattern, event));
    // Assess
    expect(results).toEqual([true, false, false]);
  });
});

describe('generated template: tamper watch', () => {
  test('rules on the default bus watch successful CloudTrail calls of every service PolicyGate is built from', () => {
    // Act
    const rules = tamperRules();
    const patterns = rules.map(([, rule]) => rule.Properties.EventPattern as JsonObject);
    // Assess
    expect(rules.map(([, rule]) => rule.Properties.Name)).toContain(`policy-gate-${STAGE}-tamper-watch`);
    for (const [id, rule] of rules) {
      expect({
        id,
        name: String(rule.Properties.Name).startsWith(`policy-gate-${STAGE}-tamper-watch`),
      }).toEqual({
        id,
        name: true,
      });
      expect({ id, bus: rule.Properties.EventBusName, state: rule.Properties.State }).toEqual({
        id,
        bus: undefined,
        state: 'ENABLED',
      });
    }
    for (const pattern of patterns) {
      const detail = pattern.detail as JsonObject;
      const [service] = asArray(pattern.source as Json[]) as string[];
      expect(asArray(pattern.source as Json[])).toHaveLength(1);
      expect(pattern['detail-type']).toEqual(['AWS API Call via CloudTrail']);
      expect(detail.errorCode).toEqual([{ exists: false }]);
      expect(detail.eventSource).toEqual([`${String(service).replace(/^aws\./, '')}.amazonaws.com`]);
    }
    expect(patterns.map((pattern) => asArray(pattern.source as Json[])[0]).sort()).toEqual(
      [
        'aws.dynamodb',
        'aws.events',
        'aws.kms',
        'aws.lambda',
        'aws.secretsmanager',
        'aws.sns',
        'aws.states',
      ].sort(),
    );
  });

  test('every change of PolicyGate’s own functions, rules, workflow, keys, secrets, tables and topic alerts', () => {
    for (const tpl of [template, configured]) {
      // Act
      const missed = tamperings(tpl, POWER_USER)
        .filter(([, event]) => alertingRules(tpl, event).length === 0)
        .map(([label]) => label);
      // Assess
      expect(missed).toEqual([]);
    }
  });

  test('an UpdateFunctionCode on analyseChange by a PowerUser alerts once, with a deployer set or not', () => {
    // Prepare
    const event = cloudTrailEvent('lambda', 'UpdateFunctionCode20150331v2', POWER_USER, {
      requestParameters: { functionName: `policy-gate-${STAGE}-analyseChange` },
    });
    // Act
    const alerts = [template, configured].map((tpl) => alertingRules(tpl, event));
    // Assess
    expect(alerts).toEqual([[`policy-gate-${STAGE}-tamper-watch`], [`policy-gate-${STAGE}-tamper-watch`]]);
  });

  test('identities without a session issuer (IAM users, root) alert too when a deployer is set', () => {
    for (const actor of OUTSIDERS.map(([, identity]) => identity)) {
      const missed = tamperings(configured, actor)
        .filter(([, event]) => alertingRules(configured, event).length === 0)
        .map(([label]) => label);
      expect(missed).toEqual([]);
    }
  });

  test('the deployer’s own changes alert only when no deployerRoleArn is set', () => {
    // Act
    const silentWithDeployer = tamperings(configured, DEPLOYER).filter(
      ([, event]) => alertingRules(configured, event).length === 0,
    );
    const silentWithout = tamperings(template, DEPLOYER).filter(
      ([, event]) => alertingRules(template, event).length === 0,
    );
    // Assess
    expect(silentWithDeployer).toHaveLength(tamperings(configured, DEPLOYER).length);
    expect(silentWithout).toEqual([]);
  });

  test.each<[string, JsonObject]>([
    [
      'another function',
      cloudTrailEvent('lambda', 'UpdateFunctionCode20150331v2', POWER_USER, {
        requestParameters: { functionName: 'billing-api-handler' },
      }),
    ],
    [
      'a function of another stage',
      cloudTrailEvent('lambda', 'UpdateFunctionCode20150331v2', POWER_USER, {
        requestParameters: {
          functionName: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:policy-gate-prod-analyseChange`,
        },
      }),
    ],
    [
      'a failed call',
      cloudTrailEvent('lambda', 'UpdateFunctionCode20150331v2', POWER_USER, {
        errorCode: 'AccessDeniedException',
        requestParameters: { functionName: `policy-gate-${STAGE}-analyseChange` },
      }),
    ],
    [
      'a read',
      cloudTrailEvent('lambda', 'GetFunction20150331v2', POWER_USER, {
        requestParameters: { functionName: `policy-gate-${STAGE}-analyseChange` },
      }),
    ],
    [
      'another rule',
      cloudTrailEvent('events', 'DisableRule', POWER_USER, { requestParameters: { name: 'nightly-report' } }),
    ],
    [
      'another state machine',
      cloudTrailEvent('states', 'UpdateStateMachine', POWER_USER, {
        requestParameters: { stateMachineArn: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:orders` },
      }),
    ],
    [
      'another key',
      cloudTrailEvent('kms', 'PutKeyPolicy', POWER_USER, {
        requestParameters: { keyId: 'policy-gate-looking-id' },
        resources: [{ ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:key/0000-other` }],
      }),
    ],
    [
      'a secret of another stage',
      cloudTrailEvent('secretsmanager', 'PutSecretValue', POWER_USER, {
        requestParameters: { secretId: 'policy-gate/prod/slack-signing-secret' },
      }),
    ],
    [
      'another table',
      cloudTrailEvent('dynamodb', 'DeleteTable', POWER_USER, { requestParameters: { tableName: 'orders' } }),
    ],
    [
      'another topic',
      cloudTrailEvent('sns', 'DeleteTopic', POWER_USER, {
        requestParameters: { topicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:orders` },
      }),
    ],
    [
      'a change to an IAM role (the IAM rule’s business)',
      cloudTrailEvent('iam', 'PutRolePolicy', POWER_USER, {
        requestParameters: { roleName: `policy-gate-${STAGE}-analyse` },
      }),
    ],
  ])('%s does not alert', (_label, event) => {
    expect([template, configured].map((tpl) => alertingRules(tpl, event))).toEqual([[], []]);
  });

  test('each rule publishes to the alert topic, retrying for a day, then into its own alarmed queue', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    for (const [id, rule] of tamperRules()) {
      const targets = asArray(rule.Properties.Targets as Json[]) as JsonObject[];
      const [target] = targets;
      const queue = getAttTarget((target?.DeadLetterConfig as JsonObject | undefined)?.Arn) as string;
      const alarms = resourcesOfType('AWS::CloudWatch::Alarm')
        .map(([, alarm]) => alarm.Properties)
        .filter(
          (alarm) =>
            JSON.stringify(alarm.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: getAtt(queue, 'QueueName') }]),
        );
      // Assess
      expect({ id, targets: targets.length }).toEqual({ id, targets: 1 });
      expect(target?.Arn).toEqual(ref(topic));
      expect(target?.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 });
      expect(queue).not.toBe(DEAD_LETTER_QUEUE);
      expect(resource(queue).Properties.SqsManagedSseEnabled).toBe(true);
      expect(alarms).toHaveLength(1);
      expect(alarms[0]?.AlarmActions).toEqual([ref(topic)]);
    }
  });

  test('the dead-letter queue accepts messages from EventBridge for exactly these rules', () => {
    // Prepare
    const queues = new Set(
      tamperRules().map(([, rule]) =>
        getAttTarget(
          ((asArray(rule.Properties.Targets as Json[])[0] as JsonObject).DeadLetterConfig as JsonObject).Arn,
        ),
      ),
    );
    const [queue] = [...queues] as [string];
    // Act
    const policies = resourcesOfType('AWS::SQS::QueuePolicy').filter(([, { Properties }]) =>
      JSON.stringify(Properties.Queues).includes(`"${queue}"`),
    );
    const statements = policies.flatMap(([, { Properties }]) => statementsOf(Properties.PolicyDocument));
    // Assess
    expect(queues.size).toBe(1);
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt(queue),
      }),
    ]);
    // As deployed: the organization bus's rule is in the list only on an organization stage (Fn::If).
    expect(deployed(template, statements[0]?.Condition as Json)).toEqual({
      ArnEquals: { 'aws:SourceArn': tamperRules().map(([id]) => getAtt(id)) },
    });
  });

  test('the alert is plain text naming the call, the resource, who, when and from where, from CloudTrail only', () => {
    for (const [id, rule] of tamperRules()) {
      // Prepare
      const transformer = (asArray(rule.Properties.Targets as Json[])[0] as JsonObject)
        .InputTransformer as JsonObject;
      const paths = transformer.InputPathsMap as Record<string, string>;
      const text = String(transformer.InputTemplate);
      // Act
      const placeholders = [...text.matchAll(/<(\w+)>/g)].map((match) => match[1] as string);
      // Assess
      expect({ id, quoted: /^"PolicyGate CRITICAL: [^"]*"$/.test(text) }).toEqual({ id, quoted: true });
      expect([...new Set(placeholders)].sort()).toEqual(Object.keys(paths).sort());
      expect(paths).toMatchObject({
        eventName: '$.detail.eventName',
        actor: '$.detail.userIdentity.arn',
        time: '$.detail.eventTime',
        ip: '$.detail.sourceIPAddress',
      });
      expect(Object.values(paths).every((path) => path.startsWith('$.detail.'))).toBe(true);
    }
    // A function's environment and a secret's value never reach the e-mail: those rules quote only the name.
    const resourcePath = (name: string) =>
      (
        (
          asArray(
            (tamperRules().find(([, rule]) => rule.Properties.Name === name)?.[1].Properties.Targets ??
              []) as Json[],
          )[0] as JsonObject
        ).InputTransformer as JsonObject
      ).InputPathsMap as Record<string, string>;
    expect(resourcePath(`policy-gate-${STAGE}-tamper-watch`).resource).toBe(
      '$.detail.requestParameters.functionName',
    );
    expect(resourcePath(`policy-gate-${STAGE}-tamper-watch-secrets`).resource).toBe(
      '$.detail.requestParameters.secretId',
    );
  });

  test('the topic policy lets exactly CloudWatch (this stage’s alarms) and EventBridge (these rules) publish', () => {
    // Prepare
    const [topic] = only('AWS::SNS::Topic');
    const [, policy] = only('AWS::SNS::TopicPolicy');
    const statements = statementsOf(policy.Properties.PolicyDocument);
    const byService = (service: string) =>
      statements.filter(
        (statement) => JSON.stringify(statement.Principal) === JSON.stringify({ Service: service }),
      );
    const [events] = byService('events.amazonaws.com');
    const [alarms] = byService('cloudwatch.amazonaws.com');
    const alarmArns = resourcesOfType('AWS::CloudWatch::Alarm').map(
      ([, { Properties }]) => `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${String(Properties.AlarmName)}`,
    );
    const alarmPattern = String(
      deployed(
        template,
        ((alarms?.Condition as JsonObject | undefined)?.ArnLike as JsonObject | undefined)?.['aws:SourceArn'],
      ),
    );
    // Assess
    expect(policy.Properties.Topics).toEqual([ref(topic)]);
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      expect(statement).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish', Resource: ref(topic) });
      expect((statement.Condition as JsonObject).StringEquals).toEqual({
        'aws:SourceAccount': ref('AWS::AccountId'),
      });
    }
    expect(deployed(template, (events?.Condition as JsonObject | undefined)?.ArnEquals)).toEqual({
      'aws:SourceArn': tamperRules().map(([id]) => getAtt(id)),
    });
    expect(alarmArns.length).toBeGreaterThan(0);
    expect(alarmArns.filter((arn) => !wildcard(alarmPattern, arn))).toEqual([]);
    expect(wildcard(alarmPattern, `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:billing-high`)).toBe(false);
  });

  test('the alert key lets EventBridge encrypt only for the alert topic and only from these rules', () => {
    // Prepare
    for (const tpl of [template, configured]) {
      const [topicId, topic] = Object.entries(tpl.Resources).find(
        ([, r]) => r.Type === 'AWS::SNS::Topic',
      ) as [string, Resource];
      const keyId = (topic.Properties.KmsMasterKeyId as { Ref: string }).Ref;
      const statements = statementsOf(withArns(tpl, tpl.Resources[keyId]?.Properties.KeyPolicy));
      const services = (service: string) =>
        statements.filter(
          (statement) => JSON.stringify(statement.Principal) === JSON.stringify({ Service: service }),
        );
      const topicArn = arnOf(tpl, topicId);
      // Act
      const events = services('events.amazonaws.com');
      // Assess
      expect(services('cloudwatch.amazonaws.com')).toHaveLength(1);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ Effect: 'Allow', Resource: '*' });
      expect(asArray(events[0]?.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
      expect(events[0]?.Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': ACCOUNT, 'kms:EncryptionContext:aws:sns:topicArn': topicArn },
        ArnEquals: { 'aws:SourceArn': tamperRules(tpl).map(([id]) => arnOf(tpl, id)) },
      });
    }
  });

  test('every pattern stays within EventBridge’s 2,048 characters, with a 20-character stage and real ARNs', () => {
    for (const [id, rule] of tamperRules(configured)) {
      // Prepare: key ids are 36 characters, the partition as long as aws-us-gov.
      const text = JSON.stringify(withArns(configured, rule.Properties.EventPattern))
        .replaceAll(`-${STAGE}-`, `-${'x'.repeat(20)}-`)
        .replaceAll(`/${STAGE}/`, `/${'x'.repeat(20)}/`)
        .replace(/key\/\w+/g, `key/${'1'.repeat(36)}`)
        .replaceAll('arn:aws:', 'arn:aws-us-gov:');
      // Assess
      expect({ id, fits: text.length <= 2_048 }).toEqual({ id, fits: true });
    }
  });
});
