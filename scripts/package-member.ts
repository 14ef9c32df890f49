/**
 * `npm run package:member [-- --out <dir>]`: the member stack's template, ready for the StackSet.
 *
 * Reads member/policy-gate-member.yml, fills in the IAM change event pattern from serverless.yml's IAM rule
 * (one source: the central rules and the member rule cannot drift apart), checks the result and writes it as
 * JSON to `<dir>/policy-gate-member.json` (default `.member/`). Offline: nothing but the two files is read.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, type Tags, type YAMLMap, type YAMLSeq } from 'yaml';
import { PolicyGateError } from '../src/errors';

const ROOT = join(__dirname, '..');
export const MEMBER_SOURCE = join(ROOT, 'member', 'policy-gate-member.yml');
export const SERVERLESS_YML = join(ROOT, 'serverless.yml');
export const DEFAULT_OUT_DIR = join(ROOT, '.member');
export const MEMBER_TEMPLATE_FILE = 'policy-gate-member.json';
/** Where the source template has the pattern filled in. */
export const PATTERN_PLACEHOLDER = 'POLICY_GATE_IAM_CHANGE_PATTERN';
/** EventBridge's limit for an event pattern. */
const PATTERN_LIMIT = 2048;
/** CloudFormation's limit for a template passed as --template-body. */
const TEMPLATE_BODY_LIMIT = 51_200;
/** What the member stack may create: its two roles and its rule, nothing a member account could misuse. */
const ALLOWED_TYPES = new Set(['AWS::IAM::Role', 'AWS::Events::Rule']);
const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::URLSuffix',
  'AWS::NoValue',
]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A member template that cannot be deployed as it is; the message says why. */
export class MemberTemplateError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MemberTemplateError';
  }
}

/** CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt a.b`, `!If [...]`), read as the long form. */
function cloudFormationTags(): Tags {
  const scalar = (name: string, toJson: (value: string) => Json) => ({
    tag: `!${name}`,
    resolve: (value: string) => toJson(value),
  });
  const collection = (name: string, kind: 'seq' | 'map') => ({
    tag: `!${name}`,
    collection: kind,
    resolve: (value: YAMLSeq.Parsed | YAMLMap.Parsed) => ({ [`Fn::${name}`]: value.toJSON() as Json }),
  });
  const functions = ['Sub', 'Join', 'If', 'Not', 'Equals', 'And', 'Or', 'Select', 'Split', 'FindInMap'];
  return [
    scalar('Ref', (value) => ({ Ref: value })),
    scalar('Sub', (value) => ({ 'Fn::Sub': value })),
    scalar('GetAtt', (value) => {
      const at = value.indexOf('.');
      return { 'Fn::GetAtt': [value.slice(0, at), value.slice(at + 1)] };
    }),
    scalar('ImportValue', (value) => ({ 'Fn::ImportValue': value })),
    scalar('Condition', (value) => ({ Condition: value })),
    ...functions.flatMap((name) => [collection(name, 'seq'), collection(name, 'map')]),
  ] as Tags;
}

/** A YAML file with CloudFormation's tags, aliases resolved; any YAML error or unknown tag is thrown. */
export function readCloudFormationYaml(text: string, source: string): JsonObject {
  const document = parseDocument(text, { customTags: cloudFormationTags(), uniqueKeys: true });
  const trouble = [...document.errors, ...document.warnings];
  if (trouble.length > 0) {
    throw new MemberTemplateError(`${source}: ${trouble.map((problem) => problem.message).join('; ')}`);
  }
  const value = document.toJS({ maxAliasCount: -1 }) as Json;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new MemberTemplateError(`${source}: not a YAML mapping`);
  }
  return value;
}

/**
 * The event pattern of serverless.yml's rule on IAM's CloudTrail events (the approval workflow's). Only its
 * `stepFunctions` section is read: the rest of the file is the framework's to interpret (its variables, and
 * anchors it resolves in its own way).
 */
export function iamChangePattern(serverlessYml: string): JsonObject {
  const document = parseDocument(serverlessYml, { customTags: cloudFormationTags(), uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new MemberTemplateError(
      `serverless.yml: ${document.errors.map((error) => error.message).join('; ')}`,
    );
  }
  const node = document.getIn(['stepFunctions', 'stateMachines'], true) as YAMLMap | undefined;
  const stateMachines = (node?.toJS(document, { maxAliasCount: -1 }) ?? {}) as JsonObject;
  const machines = Object.values(stateMachines);
  const patterns = machines.flatMap((machine) =>
    (((machine as JsonObject).events ?? []) as Json[])
      .map((event) => ((event as JsonObject).eventBridge as JsonObject | undefined)?.event as Json)
      .filter(
        (pattern): pattern is JsonObject =>
          !!pattern &&
          typeof pattern === 'object' &&
          !Array.isArray(pattern) &&
          JSON.stringify(pattern.source) === JSON.stringify(['aws.iam']),
      ),
  );
  if (patterns.length !== 1) {
    throw new MemberTemplateError(`serverless.yml: expected one IAM event rule, found ${patterns.length}`);
  }
  return patterns[0] as JsonObject;
}

/** Every name a Ref, GetAtt or Sub of `value` uses. */
function referencedNames(value: Json, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedNames(item, into);
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt' && Array.isArray(inner) && typeof inner[0] === 'string')
        into.add(inner[0]);
      else if (key === 'Fn::Sub' && typeof inner === 'string') {
        for (const [, name] of inner.matchAll(/\$\{([^!}][^}.]*)[^}]*\}/g)) into.add(String(name));
      } else referencedNames(inner, into);
    }
  }
  return into;
}

/** The IAM actions of every Allow statement of the template's roles. */
function allowedActions(template: JsonObject): string[] {
  const resources = Object.values((template.Resources ?? {}) as JsonObject) as JsonObject[];
  return resources.flatMap((resource) =>
    (((resource.Properties as JsonObject | undefined)?.Policies ?? []) as JsonObject[]).flatMap((policy) =>
      (((policy.PolicyDocument as JsonObject).Statement ?? []) as JsonObject[])
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => {
          if (statement.NotAction !== undefined) throw new MemberTemplateError('an Allow uses NotAction');
          return ([] as Json[]).concat(statement.Action ?? []).map(String);
        }),
    ),
  );
}

/**
 * The member template with the pattern filled in, checked: nothing left to fill, only roles and rules,
 * every reference resolvable, no wildcard action, the pattern and the body within their limits.
 */
export function buildMemberTemplate(
  memberYml: string = readFileSync(MEMBER_SOURCE, 'utf8'),
  serverlessYml: string = readFileSync(SERVERLESS_YML, 'utf8'),
): JsonObject {
  const pattern = iamChangePattern(serverlessYml);
  const template = readCloudFormationYaml(memberYml, 'member/policy-gate-member.yml');
  const resources = (template.Resources ?? {}) as { [id: string]: JsonObject };
  const filled = Object.values(resources).filter((resource) => {
    const properties = resource.Properties as JsonObject | undefined;
    if (properties?.EventPattern !== PATTERN_PLACEHOLDER) return false;
    properties.EventPattern = pattern;
    return true;
  });
  if (filled.length !== 1) {
    throw new MemberTemplateError(
      `expected one rule with EventPattern ${PATTERN_PLACEHOLDER}, found ${filled.length}`,
    );
  }
  const text = JSON.stringify(template);
  if (text.includes(PATTERN_PLACEHOLDER))
    throw new MemberTemplateError(`${PATTERN_PLACEHOLDER} is left unfilled`);
  const types = [...new Set(Object.values(resources).map((resource) => String(resource.Type)))];
  const unexpected = types.filter((type) => !ALLOWED_TYPES.has(type));
  if (unexpected.length > 0)
    throw new MemberTemplateError(`unexpected resource types: ${unexpected.join(', ')}`);
  const known = new Set([
    ...Object.keys((template.Parameters ?? {}) as JsonObject),
    ...Object.keys(resources),
  ]);
  const unresolved = [...referencedNames(template)].filter(
    (name) => !known.has(name) && !PSEUDO_PARAMETERS.has(name),
  );
  if (unresolved.length > 0) throw new MemberTemplateError(`unresolved references: ${unresolved.join(', ')}`);
  const wildcards = allowedActions(template).filter((action) => action.includes('*') || action.includes('?'));
  if (wildcards.length > 0) throw new MemberTemplateError(`wildcard actions: ${wildcards.join(', ')}`);
  const patternLength = JSON.stringify(pattern).length;
  if (patternLength > PATTERN_LIMIT) {
    throw new MemberTemplateError(`the event pattern is ${patternLength} characters, over ${PATTERN_LIMIT}`);
  }
  if (Buffer.byteLength(text) > TEMPLATE_BODY_LIMIT) {
    throw new MemberTemplateError(`the template is over CloudFormation's ${TEMPLATE_BODY_LIMIT}-byte limit`);
  }
  return template;
}

/** Builds the member template and writes it to `outDir`; returns the file written. */
export function packageMember(outDir: string = DEFAULT_OUT_DIR): string {
  const template = buildMemberTemplate();
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, MEMBER_TEMPLATE_FILE);
  writeFileSync(file, `${JSON.stringify(template, null, 2)}\n`);
  return file;
}

if (require.main === module) {
  const at = process.argv.indexOf('--out');
  const outDir = at >= 0 ? process.argv[at + 1] : undefined;
  if (at >= 0 && !outDir) {
    process.stderr.write('usage: npm run package:member [-- --out <dir>]\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`Member template written to ${packageMember(outDir)}\n`);
  } catch (error) {
    process.stderr.write(`PolicyGate member template: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
