/**
 * The member stack's template (member/policy-gate-member.yml, built by `npm run package:member`): the event
 * pattern comes from serverless.yml; each member role (quarantine, restore, read) may make exactly the IAM
 * calls its central function's code makes, and trusts only that function's role, with the organization, the
 * external id and that function's session names; the packager refuses a template it cannot vouch for.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  buildMemberTemplate,
  MEMBER_SOURCE,
  MEMBER_TEMPLATE_FILE,
  MemberTemplateError,
  PATTERN_PLACEHOLDER,
} from '../../scripts/package-member';
import { GATED_EVENT_NAMES, REMOVAL_EVENT_NAMES, REPORTED_EVENT_NAMES } from '../../src/domain/policy-change';
import { memberRoleCalls } from '../support/iam-calls';

const ROOT = join(__dirname, '..', '..');
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: Json;
  Principal?: Json;
  Condition?: Json;
}

const source = readFileSync(MEMBER_SOURCE, 'utf8');
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function resources(template: JsonObject): Record<string, JsonObject> {
  return template.Resources as Record<string, JsonObject>;
}
function properties(template: JsonObject, id: string): JsonObject {
  return resources(template)[id]?.Properties as JsonObject;
}
function policyStatements(role: JsonObject): Statement[] {
  return asArray(role.Policies as JsonObject[]).flatMap(
    (policy) => (policy.PolicyDocument as JsonObject).Statement as unknown as Statement[],
  );
}

/** The IAM calls PolicyGate's code sends (`new XCommand(` of @aws-sdk/client-iam), as IAM actions. */
function iamCallsInSource(): string[] {
  const files = ['src/adapters/iam-gateway.ts', 'src/adapters/iam-inventory.ts'];
  const calls = files.flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/new (\w+)Command\(/g)].map(
      ([, name]) => `iam:${name}`,
    ),
  );
  return [...new Set(calls)].sort();
}

describe('the member template', () => {
  test('forwards exactly the calls the central rule watches, on the default bus, to the central bus', () => {
    // Act
    const rule = properties(buildMemberTemplate(), 'ForwardIamChangesRule');
    const pattern = rule.EventPattern as JsonObject;
    const detail = pattern.detail as JsonObject;
    const [target] = rule.Targets as JsonObject[];
    // Assess
    expect(pattern.source).toEqual(['aws.iam']);
    expect(detail.errorCode).toEqual([{ exists: false }]);
    expect([...(detail.eventName as string[])].sort()).toEqual(
      [...GATED_EVENT_NAMES, ...REPORTED_EVENT_NAMES, ...REMOVAL_EVENT_NAMES].sort(),
    );
    expect(rule.EventBusName).toBeUndefined();
    expect(target).toMatchObject({
      Arn: { Ref: 'CentralEventBusArn' },
      RoleArn: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] },
    });
  });

  const ROLES = [
    ['quarantine', 'QuarantineRole', 'CentralAnalyseRoleArn'],
    ['restore', 'RestoreRole', 'CentralRestoreRoleArn'],
    ['read', 'ReadRole', 'CentralSweepRoleArn'],
  ] as const;

  test.each(ROLES)(
    'the %s role may make exactly the IAM calls its function’s code makes, on this account only',
    (use, id) => {
      // Act
      const statements = policyStatements(properties(buildMemberTemplate(), id));
      const actions = statements.flatMap((statement) => asArray(statement.Action));
      const resourcesNamed = statements
        .flatMap((statement) => asArray(statement.Resource))
        .map((r) => JSON.stringify(r));
      // Assess
      expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
      expect([...new Set(actions)].sort()).toEqual(memberRoleCalls()[use]);
      expect(actions.length).toBe(new Set(actions).size);
      for (const resource of resourcesNamed) {
        expect(resource).toMatch(
          /^"\*"$|^\{"Fn::Sub":"arn:\$\{AWS::Partition\}:iam::(\$\{AWS::AccountId\}|aws):(policy|role|user|group)\/\*"\}$/,
        );
      }
      // "*" only for the one call without resource-level permissions, and only for the sweep.
      const starred = statements.filter((statement) => JSON.stringify(statement.Resource) === '"*"');
      expect(starred.flatMap((statement) => asArray(statement.Action))).toEqual(
        use === 'read' ? ['iam:GetAccountAuthorizationDetails'] : [],
      );
    },
  );

  test('the three roles together cover every IAM call the code makes; only quarantine and restore write', () => {
    // Prepare
    const calls = memberRoleCalls();
    const writes = /^iam:(Create|Set|Delete|Put|Attach|Detach|Add|Remove)/;
    // Act
    const union = [...new Set([...calls.quarantine, ...calls.restore, ...calls.read])].sort();
    // Assess
    expect(union).toEqual(iamCallsInSource());
    expect(calls.read.filter((action) => writes.test(action))).toEqual([]);
    expect(calls.quarantine.filter((action) => /^iam:(Attach|Add)/.test(action))).toEqual([]);
    expect(calls.restore.filter((action) => /^iam:(Detach|Remove|Create)/.test(action))).toEqual([]);
  });

  test.each(ROLES)(
    'the %s role trusts only its central function’s role, from the organization, with the external id and its session names',
    (use, id, parameter) => {
      // Act
      const role = properties(buildMemberTemplate(), id);
      const trust = role.AssumeRolePolicyDocument as JsonObject;
      // Assess
      expect(role.RoleName).toEqual({ 'Fn::Sub': `\${MemberRoleName}-${use}` });
      const identity = {
        'aws:PrincipalOrgID': { Ref: 'OrganizationId' },
        'sts:ExternalId': { Ref: 'ExternalId' },
      };
      expect(trust.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { AWS: { Ref: parameter } },
          Action: 'sts:AssumeRole',
          Condition:
            use === 'read'
              ? { StringEquals: { ...identity, 'sts:RoleSessionName': 'policy-gate-sweep' } }
              : {
                  StringEquals: identity,
                  StringLike: { 'sts:RoleSessionName': 'policy-gate-*' },
                  StringNotEquals: { 'sts:RoleSessionName': 'policy-gate-sweep' },
                },
        },
      ]);
    },
  );

  test('the forwarder may only put events on the central bus, and only this account’s rule may use it', () => {
    // Prepare
    const template = buildMemberTemplate();
    const forwarder = properties(template, 'ForwarderRole');
    const ruleName = String(properties(template, 'ForwardIamChangesRule').Name);
    // Act
    const statements = policyStatements(forwarder);
    const [trust] = (forwarder.AssumeRolePolicyDocument as JsonObject).Statement as unknown as Statement[];
    // Assess
    expect(statements.map(({ Effect, Action, Resource }) => ({ Effect, Action, Resource }))).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: { Ref: 'CentralEventBusArn' } },
    ]);
    expect(trust?.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(trust?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: {
        'aws:SourceArn': {
          'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${ruleName}`,
        },
      },
    });
  });

  test('refuses a region other than us-east-1 and takes its parameters as the central stack gives them', () => {
    // Act
    const template = buildMemberTemplate();
    const parameters = template.Parameters as Record<string, JsonObject>;
    // Assess
    expect(JSON.stringify(template.Rules)).toContain('{"Fn::Equals":[{"Ref":"AWS::Region"},"us-east-1"]}');
    expect(Object.keys(parameters).sort()).toEqual(
      [
        'CentralEventBusArn',
        'CentralAnalyseRoleArn',
        'CentralRestoreRoleArn',
        'CentralSweepRoleArn',
        'ExternalId',
        'MemberRoleName',
        'OrganizationId',
      ].sort(),
    );
    expect(parameters.ExternalId?.NoEcho).toBe(true);
    expect(parameters.MemberRoleName?.Default).toBe('policy-gate-member');
  });
});

describe('the member packager refuses', () => {
  test.each([
    [
      'a template without the pattern placeholder',
      source.replace(PATTERN_PLACEHOLDER, '{}'),
      /expected one rule/,
    ],
    ['a wildcard action', source.replace('- iam:GetPolicy\n', '- iam:Get*\n'), /wildcard actions: iam:Get\*/],
    [
      'a resource type the member stack has no business creating',
      source.replace(
        'Type: AWS::IAM::Role\n    Properties:\n      RoleName: policy-gate-member-forwarder',
        'Type: AWS::IAM::User\n    Properties:\n      UserName: policy-gate-member-forwarder',
      ),
      /unexpected resource types: AWS::IAM::User/,
    ],
    [
      'a reference to nothing',
      source.replace('!Ref CentralEventBusArn', '!Ref CentralBus'),
      /unresolved references: CentralBus/,
    ],
    ['a YAML error', `${source}\nResources: {}\n`, /member\/policy-gate-member\.yml/],
  ])('%s', (_, text, message) => {
    // Act / Assess
    expect(() => buildMemberTemplate(text)).toThrow(MemberTemplateError);
    expect(() => buildMemberTemplate(text)).toThrow(message);
  });
});

describe('npm run package:member', () => {
  test('writes the built template as JSON to the output directory', async () => {
    // Prepare
    const out = mkdtempSync(join(tmpdir(), 'policy-gate-member-'));
    try {
      // Act
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/package-member.ts', '--out', out],
        { cwd: ROOT, timeout: 120_000 },
      );
      const written = JSON.parse(readFileSync(join(out, MEMBER_TEMPLATE_FILE), 'utf8')) as JsonObject;
      // Assess
      expect(stdout).toContain(MEMBER_TEMPLATE_FILE);
      expect(written).toEqual(buildMemberTemplate());
      expect(JSON.stringify(written)).not.toContain(PATTERN_PLACEHOLDER);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 130_000);
});
