/**
 * An AWS Organization stage, as `serverless package` (osls, offline, no credentials) renders it: the bus that
 * only the organization may put events on, its rule starting the same workflow as the default bus's, the
 * workflow roles' member-role and Organizations permissions and nothing broader, all under IsOrganization so
 * a single-account stage creates none of it; the member template built from the same event pattern; and the
 * deploy guard refusing malformed organization settings before anything is packaged.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMemberTemplate } from '../../scripts/package-member';
import type { AlarmMetricName } from '../../src/adapters/alarm-metrics';
import { parseAccountSettings } from '../../src/domain/account-settings';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import {
  PACKAGE_TIMEOUT_MS,
  serverlessPackage as packageOnce,
  type PackageRun as Run,
  withPackagingLock,
} from '../support/packaging';
import { readZip } from '../support/zip';

const SETUP_TIMEOUT_MS = 4 * PACKAGE_TIMEOUT_MS + 10_000;
const ORGANIZATION_ID = 'o-abc123def4';
const EXTERNAL_ID = 'policy-gate-test-external-id';
const ORG_PARAMS = [
  `--param=organizationId=${ORGANIZATION_ID}`,
  `--param=memberRoleExternalId=${EXTERNAL_ID}`,
];
const SETTINGS_FILE = 'tests/fixtures/account-settings/organization.yml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Resource {
  Type: string;
  Condition?: string;
  Properties: JsonObject;
}
interface Template {
  Resources: Record<string, Resource>;
  Conditions: Record<string, Json>;
  Outputs: Record<string, { Condition?: string; Value: Json }>;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Principal?: Json;
  Condition?: Json;
}

const runs: Run[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'policy-gate-org-stage-'));
let single: Template;
let organization: Template;
let withSettings: Template;
let withoutExternalId: Run;
let withBadSettings: Run;
let withUnquotedAccount: Run;
let withHugeSettings: Run;
let hugeSettings: string;
let settingsWithoutOrganization: Run;
let productionShortExternalId: Run;

async function run(args: string[]): Promise<Run> {
  const stage = args.includes('--stage') ? [] : ['--stage', 'ci'];
  const result = await withPackagingLock(() => packageOnce([...stage, ...args]));
  runs.push(result);
  return result;
}

/** analyseChange's environment variables in `template`. */
function analyseEnvironment(template: Template): JsonObject {
  const properties = template.Resources.AnalyseChangeLambdaFunction?.Properties;
  if (!properties) throw new Error('no AnalyseChangeLambdaFunction');
  return (properties.Environment as JsonObject).Variables as JsonObject;
}

/** The run each packaged template came from (its package directory holds the functions' zips). */
const runOf = new Map<Template, Run>();

async function packaged(args: string[]): Promise<Template> {
  const result = await run(args);
  if (result.code !== 0) throw new Error(`serverless package failed:\n${result.output.slice(-3000)}`);
  const template = JSON.parse(
    readFileSync(join(result.packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  runOf.set(template, result);
  return template;
}

/** A settings document far past what a function's 4 KB environment can carry: 1,000 accounts' channels. */
function hugeSettingsFile(): string {
  const accounts: Record<string, JsonObject> = {};
  for (let i = 0; i < 1000; i++) {
    accounts[String(100000000000 + i)] = { slackChannelId: `C0CHANNEL${String(i).padStart(4, '0')}` };
  }
  const file = join(scratch, 'huge.json');
  hugeSettings = JSON.stringify({ version: 1, accounts });
  writeFileSync(file, hugeSettings);
  return file;
}

beforeAll(async () => {
  const badSettings = join(__dirname, '..', 'fixtures', 'account-settings', 'unknown-key.yml');
  [
    single,
    organization,
    withSettings,
    withoutExternalId,
    withBadSettings,
    withUnquotedAccount,
    withHugeSettings,
    settingsWithoutOrganization,
    productionShortExternalId,
  ] = await Promise.all([
    packaged([]),
    packaged(ORG_PARAMS),
    packaged([...ORG_PARAMS, `--param=accountSettingsFile=${SETTINGS_FILE}`]),
    run([`--param=organizationId=${ORGANIZATION_ID}`]),
    run([...ORG_PARAMS, `--param=accountSettingsFile=${badSettings}`]),
    run([...ORG_PARAMS, '--param=accountSettingsFile=tests/fixtures/account-settings/unquoted-account.yml']),
    run([...ORG_PARAMS, `--param=accountSettingsFile=${hugeSettingsFile()}`]),
    run([`--param=accountSettingsFile=${SETTINGS_FILE}`]),
    run([
      '--stage',
      'prod',
      '--param=alertEmail=security@example.com',
      '--param=slackChannelId=C0123456789',
      '--param=slackTeamId=T0123456789',
      '--param=slackAppId=A0123456789',
      '--param=deployerRoleArn=arn:aws:iam::123456789012:role/policy-gate-deployer',
      `--param=organizationId=${ORGANIZATION_ID}`,
      '--param=memberRoleExternalId=short',
    ]),
  ]);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  for (const { packageDir } of runs) rmSync(packageDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of every role's inline policies and of every AWS::IAM::Policy, with the roles it is on. */
function roleStatements(tpl: Template): { roles: string[]; statement: Statement; resource: string }[] {
  return Object.entries(tpl.Resources).flatMap(([id, { Type, Properties }]) => {
    if (Type === 'AWS::IAM::Role') {
      return asArray(Properties.Policies as JsonObject[]).flatMap((policy) =>
        asArray((policy.PolicyDocument as JsonObject).Statement as unknown as Statement[]).map(
          (statement) => ({
            roles: [id],
            statement,
            resource: id,
          }),
        ),
      );
    }
    if (Type === 'AWS::IAM::Policy') {
      const roles = asArray(Properties.Roles as JsonObject[]).map((role) => String(role.Ref));
      return asArray((Properties.PolicyDocument as JsonObject).Statement as unknown as Statement[]).map(
        (statement) => ({ roles, statement, resource: id }),
      );
    }
    return [];
  });
}

const ORGANIZATION_RESOURCES = [
  'OrganizationEventBus',
  'OrganizationIamChangeRule',
  'MemberAccountAccessPolicy',
  'MemberRestoreAccessPolicy',
  'MemberReadAccessPolicy',
  'OrganizationReadPolicy',
  'SweepCycleOverdueAlarm',
  'TamperWatchOrganizationBusRule',
];

describe('a single-account stage (no organizationId)', () => {
  test('creates none of the organization’s resources or outputs: each is under IsOrganization, which is false', () => {
    // Act
    const conditioned = Object.entries(single.Resources)
      .filter(([, { Condition }]) => Condition === 'IsOrganization')
      .map(([id]) => id);
    const outputs = Object.entries(single.Outputs)
      .filter(([, { Condition }]) => Condition === 'IsOrganization')
      .map(([id]) => id);
    // Assess
    expect(conditioned.sort()).toEqual([...ORGANIZATION_RESOURCES].sort());
    expect(outputs.sort()).toEqual([
      'AnalyseChangeRoleArn',
      'OrganizationEventBusArn',
      'RestoreChangeRoleArn',
      'SweepRoleArn',
    ]);
    expect(single.Conditions.IsOrganization).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
  });

  test('no role it creates may assume a role or call Organizations', () => {
    // Act
    const actions = roleStatements(single)
      .filter(({ resource }) => single.Resources[resource]?.Condition !== 'IsOrganization')
      .flatMap(({ statement }) => asArray(statement.Action));
    // Assess
    expect(actions.filter((action) => /^(sts|organizations):/.test(action))).toEqual([]);
  });

  test('tells the functions no organization and no settings', () => {
    for (const [, { Type, Properties }] of Object.entries(single.Resources)) {
      if (Type !== 'AWS::Lambda::Function') continue;
      // Act
      const variables = (Properties.Environment as JsonObject).Variables as JsonObject;
      // Assess
      expect(variables).toMatchObject({
        ORGANIZATION_ID: '',
        MEMBER_ROLE_EXTERNAL_ID: '',
        ACCOUNT_SETTINGS_BUNDLED: 'false',
      });
    }
  });
});

describe('an organization stage', () => {
  test('its condition holds: it compares the organization id with ""', () => {
    // Assess
    expect(organization.Conditions.IsOrganization).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [ORGANIZATION_ID, ''] }],
    });
  });

  test('the bus accepts PutEvents only from the organization’s principals, in one statement and nothing else', () => {
    // Prepare
    const bus = organization.Resources.OrganizationEventBus as Resource;
    // Act
    const statements = (bus.Properties.Policy as JsonObject).Statement as unknown as Statement[];
    // Assess
    expect(bus.Properties.Name).toBe('policy-gate-ci-org-events');
    expect(statements).toEqual([
      {
        Sid: 'OnlyTheOrganizationPutsEvents',
        Effect: 'Allow',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/policy-gate-ci-org-events`,
        },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': ORGANIZATION_ID } },
      },
    ]);
  });

  test('its rule has the default bus rule’s pattern and target: the workflow, role, dead-letter queue, retries', () => {
    // Prepare
    const defaultRule = organization.Resources.ApprovalWorkflowEventsRuleCloudWatchEvent1 as Resource;
    const rule = organization.Resources.OrganizationIamChangeRule as Resource;
    const [defaultTarget] = defaultRule.Properties.Targets as JsonObject[];
    const [target] = rule.Properties.Targets as JsonObject[];
    // Act
    const { Id: _defaultId, ...expected } = defaultTarget as JsonObject;
    const { Id: _id, ...actual } = target as JsonObject;
    // Assess
    expect(rule.Properties.EventBusName).toEqual({ Ref: 'OrganizationEventBus' });
    expect(rule.Properties.EventPattern).toEqual(defaultRule.Properties.EventPattern);
    expect(actual).toEqual(expected);
    expect(asArray(rule.Properties.Targets as JsonObject[])).toHaveLength(1);
  });

  test('the dead-letter queue accepts the organization rule’s undelivered events too', () => {
    // Prepare
    const policy = organization.Resources.IamChangeDeadLetterQueuePolicy as Resource;
    const statements = (policy.Properties.PolicyDocument as JsonObject).Statement as unknown as Statement[];
    // Act
    const condition = (statements[0]?.Condition ?? {}) as JsonObject;
    const sources = ((condition.ArnEquals ?? {}) as JsonObject)['aws:SourceArn'];
    // Assess
    expect(sources).toEqual([
      { 'Fn::GetAtt': ['ApprovalWorkflowEventsRuleCloudWatchEvent1', 'Arn'] },
      {
        'Fn::If': [
          'IsOrganization',
          { 'Fn::GetAtt': ['OrganizationIamChangeRule', 'Arn'] },
          { Ref: 'AWS::NoValue' },
        ],
      },
    ]);
  });

  test('only analyse, restore and the sweep may assume a role, each only its own member role, by name, in the organization', () => {
    // Act
    const assuming = roleStatements(organization).filter(({ statement }) =>
      asArray(statement.Action).some((action) => /^sts:|^\*$/.test(action)),
    );
    const byRole = Object.fromEntries(assuming.map(({ roles, statement }) => [roles.join(','), statement]));
    const assume = (sid: string, use: string) => ({
      Sid: sid,
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/policy-gate-member-${use}` },
      Condition: { StringEquals: { 'aws:ResourceOrgID': ORGANIZATION_ID } },
    });
    // Assess
    expect(assuming).toHaveLength(3);
    expect(byRole).toEqual({
      AnalyseChangeRole: assume('AssumeMemberQuarantineRole', 'quarantine'),
      RestoreChangeRole: assume('AssumeMemberRestoreRole', 'restore'),
      SweepRole: assume('AssumeMemberReadRole', 'read'),
    });
  });

  test('Organizations: only the five reads, the per-account and per-OU ones scoped to the organization', () => {
    // Act
    const statements = roleStatements(organization).filter(({ statement }) =>
      asArray(statement.Action).some((action) => action.startsWith('organizations:')),
    );
    const grants = statements
      .flatMap(({ statement }) =>
        asArray(statement.Action).flatMap((action) =>
          asArray(statement.Resource as Json).map((resource) => `${action} on ${JSON.stringify(resource)}`),
        ),
      )
      .sort();
    const perOrg = (kind: string) =>
      JSON.stringify({
        'Fn::Sub': `arn:\${AWS::Partition}:organizations::*:${kind}/${ORGANIZATION_ID}/${kind === 'ou' ? 'ou-*' : '*'}`,
      });
    // Assess
    expect(grants).toEqual(
      [
        'organizations:DescribeOrganization on "*"',
        'organizations:ListAccounts on "*"',
        ...['DescribeAccount', 'ListParents', 'DescribeOrganizationalUnit'].flatMap((action) => [
          `organizations:${action} on ${perOrg('account')}`,
          `organizations:${action} on ${perOrg('ou')}`,
        ]),
      ].sort(),
    );
    for (const { statement } of statements) expect(statement.Effect).toBe('Allow');
    expect(statements.every(({ resource }) => resource === 'OrganizationReadPolicy')).toBe(true);
  });

  test('alarms on the metric the sweep counts when a cycle through the member accounts is overdue', () => {
    // Act
    const alarm = organization.Resources.SweepCycleOverdueAlarm?.Properties as JsonObject;
    // Assess
    const metric: AlarmMetricName = 'SweepCycleOverdue';
    expect(alarm).toMatchObject({
      Namespace: 'PolicyGate',
      MetricName: metric,
      Dimensions: [{ Name: 'service', Value: 'policy-gate-ci' }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: 'AlertTopic' }],
    });
  });

  test('tamper watch: a change of the bus’s policy, or its deletion, by anyone but the deployer alerts on the alert topic', () => {
    // Prepare
    const rule = organization.Resources.TamperWatchOrganizationBusRule as Resource;
    const pattern = rule.Properties.EventPattern as JsonObject;
    const detail = pattern.detail as JsonObject;
    const [target] = rule.Properties.Targets as JsonObject[];
    const bus = 'policy-gate-ci-org-events';
    const topicPolicy = JSON.stringify(organization.Resources.AlertTopicPolicy?.Properties);
    const queuePolicy = JSON.stringify(organization.Resources.TamperWatchDeadLetterQueuePolicy?.Properties);
    const keyPolicy = JSON.stringify(organization.Resources.AlertTopicKey?.Properties);
    // Assess
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(pattern.source).toEqual(['aws.events']);
    expect(detail.eventSource).toEqual(['events.amazonaws.com']);
    expect(detail.errorCode).toEqual([{ exists: false }]);
    expect(detail.eventName).toEqual(['PutPermission', 'RemovePermission', 'DeleteEventBus']);
    expect(detail.requestParameters).toEqual({
      $or: [{ eventBusName: [bus, { suffix: `:event-bus/${bus}` }] }, { name: [bus] }],
    });
    // The same who-is-the-deployer clause and alert as every other tamper-watch rule.
    const functionsRule = organization.Resources.TamperWatchFunctionsRule as Resource;
    expect(detail.$or).toEqual(
      ((functionsRule.Properties.EventPattern as JsonObject).detail as JsonObject).$or,
    );
    expect(target?.Arn).toEqual({ Ref: 'AlertTopic' });
    expect(JSON.stringify(target?.InputTransformer)).toContain(
      'PolicyGate CRITICAL: <eventName> on <resource>',
    );
    // ...and the topic, its key and the alerts' dead-letter queue accept it on an organization stage.
    expect(topicPolicy).toContain('"TamperWatchOrganizationBusRule","Arn"');
    expect(queuePolicy).toContain('"TamperWatchOrganizationBusRule","Arn"');
    expect(keyPolicy).toContain('-tamper-watch-org-bus');
    // The bus's policy is the one statement this rule guards.
    const statements = (
      (organization.Resources.OrganizationEventBus as Resource).Properties.Policy as JsonObject
    ).Statement as unknown as Statement[];
    expect(statements.map((statement) => statement.Sid)).toEqual(['OnlyTheOrganizationPutsEvents']);
  });

  test('outputs the bus and the roles the member stack trusts', () => {
    // Assess
    expect(organization.Outputs.OrganizationEventBusArn?.Value).toEqual({
      'Fn::GetAtt': ['OrganizationEventBus', 'Arn'],
    });
    // One output per member role's trusted principal (the member stack's Central*RoleArn parameters).
    expect(organization.Outputs.AnalyseChangeRoleArn?.Value).toEqual({
      'Fn::GetAtt': ['AnalyseChangeRole', 'Arn'],
    });
    expect(organization.Outputs.RestoreChangeRoleArn?.Value).toEqual({
      'Fn::GetAtt': ['RestoreChangeRole', 'Arn'],
    });
    expect(organization.Outputs.SweepRoleArn?.Value).toEqual({ 'Fn::GetAtt': ['SweepRole', 'Arn'] });
  });

  test('tells every function the organization, the member role and its external id', () => {
    for (const [, { Type, Properties }] of Object.entries(organization.Resources)) {
      if (Type !== 'AWS::Lambda::Function') continue;
      // Act
      const variables = (Properties.Environment as JsonObject).Variables as JsonObject;
      // Assess
      expect(variables).toMatchObject({
        ORGANIZATION_ID,
        MEMBER_ROLE_NAME: 'policy-gate-member',
        MEMBER_ROLE_EXTERNAL_ID: EXTERNAL_ID,
        ACCOUNT_SETTINGS_BUNDLED: 'false',
      });
    }
  });
});

describe('the member template and the central stack', () => {
  test('forward exactly what the central rules match', () => {
    // Prepare
    const member = buildMemberTemplate();
    const rule = (member.Resources as Record<string, JsonObject>).ForwardIamChangesRule as JsonObject;
    // Act
    const pattern = (rule.Properties as JsonObject).EventPattern;
    // Assess
    expect(pattern).toEqual(
      (organization.Resources.OrganizationIamChangeRule as Resource).Properties.EventPattern,
    );
  });

  test.each([
    ['QuarantineRole', 'AnalyseChangeRole'],
    ['RestoreRole', 'RestoreChangeRole'],
    ['ReadRole', 'SweepRole'],
  ])('the member %s may do in IAM nothing the central %s may not', (memberId, centralId) => {
    // Prepare
    const member = buildMemberTemplate();
    const memberRole = (member.Resources as Record<string, JsonObject>)[memberId] as JsonObject;
    const iamActions = (statements: Statement[]) =>
      statements
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => asArray(statement.Action))
        .filter((action) => action.startsWith('iam:'));
    // Act
    const memberActions = new Set(
      iamActions(
        asArray((memberRole.Properties as JsonObject).Policies as JsonObject[]).flatMap(
          (policy) => (policy.PolicyDocument as JsonObject).Statement as unknown as Statement[],
        ),
      ),
    );
    const centralActions = new Set(
      iamActions(
        roleStatements(organization)
          .filter(({ roles }) => roles.includes(centralId))
          .map(({ statement }) => statement),
      ),
    );
    // Assess
    expect(memberActions.size).toBeGreaterThan(0);
    expect([...memberActions].filter((action) => !centralActions.has(action))).toEqual([]);
    expect([...memberActions].filter((action) => /[*?]/.test(action))).toEqual([]);
  });
});

describe('the deploy guard with an organization', () => {
  test('ships the settings document beside every function’s code as compact JSON, as the shared parser reads it', () => {
    // Prepare
    const functions = Object.entries(withSettings.Resources).filter(
      ([, { Type }]) => Type === 'AWS::Lambda::Function',
    );
    const withSettingsRun = runOf.get(withSettings) as Run;
    for (const [, { Properties }] of functions) {
      // Act
      const variables = (Properties.Environment as JsonObject).Variables as JsonObject;
      const name = String(Properties.FunctionName).replace(/^policy-gate-ci-/, '');
      const files = readZip(join(withSettingsRun.packageDir, `${name}.zip`));
      const shipped = [...files].filter(([path]) => path.endsWith('/account-settings.json'));
      const text = shipped[0]?.[1].toString('utf8') ?? '';
      // Assess: one file, beside the handler's bundle, and the environment only says to read it
      expect(shipped.map(([path]) => path)).toEqual([
        expect.stringMatching(/^src\/handlers\/account-settings\.json$/),
      ]);
      expect(variables.ACCOUNT_SETTINGS_BUNDLED).toBe('true');
      expect(variables.ACCOUNT_SETTINGS).toBeUndefined();
      expect(text).not.toMatch(/\s/);
      const settings = parseAccountSettings(text, loadGeneratedCatalogue());
      expect(settings.organizationalUnits.get('ou-ab12-cdef3456')).toMatchObject({
        slackChannelId: 'C0PAYMENTS1',
        approvalTimeoutSeconds: 3600,
      });
      expect(settings.accounts.get('123456789012')?.approvers?.slackUserIds).toEqual(['U0ALICE0001']);
    }
    expect(functions.length).toBeGreaterThan(0);
  });

  test('a settings document far past 4 KB deploys: shipped whole beside the code, the environment well within 4 KB', () => {
    // Prepare
    const template = JSON.parse(
      readFileSync(join(withHugeSettings.packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as Template;
    // Act
    const files = readZip(join(withHugeSettings.packageDir, 'analyseChange.zip'));
    const shipped = files.get('src/handlers/account-settings.json')?.toString('utf8');
    const variables = analyseEnvironment(template);
    // Assess
    expect(withHugeSettings.code).toBe(0);
    expect(Buffer.byteLength(hugeSettings)).toBeGreaterThan(4 * 4096);
    expect(shipped).toBe(hugeSettings);
    expect(variables.ACCOUNT_SETTINGS_BUNDLED).toBe('true');
    expect(Buffer.byteLength(JSON.stringify(variables))).toBeLessThan(4096);
  });

  test('a stage without a settings document ships none and reads none', () => {
    // Act
    const files = readZip(join((runOf.get(organization) as Run).packageDir, 'analyseChange.zip'));
    const variables = analyseEnvironment(organization);
    // Assess
    expect([...files.keys()].filter((path) => path.endsWith('account-settings.json'))).toEqual([]);
    expect(variables.ACCOUNT_SETTINGS_BUNDLED).toBe('false');
  });

  test.each([
    ['an organization without memberRoleExternalId', () => withoutExternalId, /no memberRoleExternalId/],
    [
      'a settings document with an unknown key',
      () => withBadSettings,
      /accountSettingsFile .*unknown-key\.yml cannot be used: .*unknown key "slackUserId"/,
    ],
    [
      'a YAML account id that lost its leading zero, saying to quote it',
      () => withUnquotedAccount,
      /accounts\.12345678901: not a 12-digit AWS account id \(quote account ids in YAML/,
    ],
    ['a settings file without an organization', () => settingsWithoutOrganization, /no organizationId/],
    [
      'a production stage with a short external id',
      () => productionShortExternalId,
      /marked production: memberRoleExternalId must be a random value of at least 16 characters/,
    ],
  ])('refuses %s before packaging anything', (_, result, message) => {
    // Act
    const { code, output, packaged: written } = result();
    // Assess
    expect(code).not.toBe(0);
    expect(output).toContain('PolicyGate refuses to deploy');
    expect(output).toMatch(message);
    expect(written).toEqual([]);
    // The external id is never repeated in a message.
    expect(output).not.toContain(EXTERNAL_ID);
  });
});
