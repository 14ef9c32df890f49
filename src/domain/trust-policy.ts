import { PolicyParseError } from '../errors';
import { type PolicyPrincipal, parsePolicyDocument } from './policy-document';

/**
 * Who a role's trust policy lets assume the role, in plain words for a report. PolicyGate reports
 * trust-policy changes rather than containing them; the document is read with the same strict reading as
 * any other (so duplicate keys or other constructs IAM may read differently make it unreadable, which the
 * report says, and counts as open).
 */
export interface TrustSummary {
  /** One line per statement: who, which actions, and whether a condition applies. */
  readonly lines: string[];
  /** Some Allow statement lets anyone (`*`, or everyone but a few with `NotPrincipal`) assume the role without a condition. */
  readonly open: boolean;
  /** False when the document could not be read (then who may assume the role is unknown). */
  readonly readable: boolean;
}

const MAX_STATEMENTS = 20;

function describePrincipal(principal: PolicyPrincipal): { text: string; anyone: boolean } {
  if (principal === '*') return { text: 'ANYONE (*)', anyone: true };
  let anyone = false;
  const parts = Object.entries(principal).map(([kind, ids]) => {
    if (ids?.includes('*')) anyone = true;
    return `${kind} ${(ids ?? []).join(', ')}`;
  });
  return { text: parts.join('; ') || 'no principal', anyone };
}

/** Summarises a trust policy (JSON text, URL-encoded or not). */
export function summariseTrustPolicy(document: string): TrustSummary {
  let statements: ReturnType<typeof parsePolicyDocument>['statements'];
  try {
    statements = parsePolicyDocument(document, { kind: 'trust' }).statements;
  } catch (error) {
    const why = error instanceof PolicyParseError ? error.message : 'unreadable';
    return {
      lines: [
        `The trust policy could not be read (${why}), so PolicyGate cannot say who may assume the role.`,
      ],
      open: false,
      readable: false,
    };
  }
  let open = false;
  const lines = statements.slice(0, MAX_STATEMENTS).map((statement) => {
    const who = statement.notPrincipal
      ? { text: `everyone except ${describePrincipal(statement.notPrincipal).text}`, anyone: true }
      : statement.principal
        ? describePrincipal(statement.principal)
        : { text: 'no principal', anyone: false };
    const conditional = statement.condition !== undefined;
    if (statement.effect === 'Allow' && who.anyone && !conditional) open = true;
    const actions = statement.action
      ? statement.action.join(', ')
      : `every action except ${(statement.notAction ?? []).join(', ')}`;
    return `#${statement.index} ${statement.effect}: ${who.text} may ${actions}${conditional ? ' (with a condition)' : ''}`;
  });
  if (statements.length > MAX_STATEMENTS)
    lines.push(`… and ${statements.length - MAX_STATEMENTS} more statements`);
  return { lines, open, readable: true };
}
