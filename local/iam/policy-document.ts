import { IamError } from './errors';

/** Which grammar a document is checked against: identity policies forbid `Principal`, trust policies need no `Resource`. */
export type PolicyKind = 'identity' | 'trust';

const TOP_LEVEL_KEYS = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Principal',
  'NotPrincipal',
  'Condition',
]);
const VERSIONS = new Set(['2012-10-17', '2008-10-17']);

function malformed(message: string): IamError {
  return new IamError('MalformedPolicyDocument', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringOrStringList(value: unknown): value is string | string[] {
  if (typeof value === 'string') return true;
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string');
}

function checkActions(value: unknown): void {
  if (!isStringOrStringList(value)) throw malformed('Syntax errors in policy.');
  for (const action of typeof value === 'string' ? [value] : value) {
    if (action !== '*' && !/^[A-Za-z0-9-]+:.+$/.test(action)) {
      throw malformed('Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.');
    }
  }
}

function checkStatement(statement: unknown, kind: PolicyKind): void {
  if (!isPlainObject(statement)) throw malformed('Syntax errors in policy.');
  for (const key of Object.keys(statement)) {
    if (!STATEMENT_KEYS.has(key)) throw malformed('Syntax errors in policy.');
  }
  if (!('Effect' in statement)) throw malformed('Missing required field Effect');
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')
    throw malformed('Syntax errors in policy.');

  const hasAction = 'Action' in statement;
  const hasNotAction = 'NotAction' in statement;
  if (hasAction === hasNotAction) throw malformed('Policy statement must contain actions.');
  checkActions(hasAction ? statement.Action : statement.NotAction);

  const hasPrincipal = 'Principal' in statement || 'NotPrincipal' in statement;
  if (kind === 'identity') {
    if (hasPrincipal) throw malformed('Policy document should not specify a principal.');
    const hasResource = 'Resource' in statement;
    const hasNotResource = 'NotResource' in statement;
    if (hasResource === hasNotResource) throw malformed('Policy statement must contain resources.');
    if (!isStringOrStringList(hasResource ? statement.Resource : statement.NotResource)) {
      throw malformed('Syntax errors in policy.');
    }
  } else if (!hasPrincipal) {
    throw malformed('AssumeRolepolicy contained an invalid principal.');
  }

  if ('Condition' in statement && !isPlainObject(statement.Condition))
    throw malformed('Syntax errors in policy.');
}

/**
 * Basic structural validation of a policy document, failing with IAM's `MalformedPolicyDocument` wording.
 * This is deliberately independent of PolicyGate's own parser: the stand-in plays the service, not the product.
 */
export function validatePolicyDocument(text: string, kind: PolicyKind = 'identity'): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed('Syntax errors in policy.');
  }
  if (!isPlainObject(parsed)) throw malformed('Syntax errors in policy.');
  for (const key of Object.keys(parsed)) {
    if (!TOP_LEVEL_KEYS.has(key)) throw malformed('Syntax errors in policy.');
  }
  if ('Version' in parsed && (typeof parsed.Version !== 'string' || !VERSIONS.has(parsed.Version))) {
    throw malformed('The policy failed legacy parsing');
  }
  if (!('Statement' in parsed)) throw malformed('Missing required field Statement');
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
  if (statements.length === 0) throw malformed('Syntax errors in policy.');
  for (const statement of statements) checkStatement(statement, kind);
}

/** The size IAM counts against its policy quotas: characters with all whitespace removed. */
export function policySize(text: string): number {
  return text.replace(/\s/g, '').length;
}
