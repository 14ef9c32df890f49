import { type ActionPattern, compileActionPattern, matchesAction } from './action-pattern';
import type { PolicyDocument, PolicyStatement } from './policy-document';
import type { RestrictedAction, RestrictedActionSet } from './restricted-actions';

/** One Allow statement that grants a restricted action, and why. */
export interface GrantingStatement {
  readonly index: number;
  readonly sid?: string;
  /** The `Action` pattern that matched, or for `NotAction` statements a note saying so. */
  readonly matchedBy: string;
  /** The statement's `Resource` list (`["*"]` when it uses `NotResource`: every resource except those). */
  readonly resources: readonly string[];
  readonly notResources?: readonly string[];
}

/** A restricted action the policy grants. */
export interface Finding {
  readonly action: string;
  /** True when every Allow statement that grants the action has a `Condition`. */
  readonly conditional: boolean;
  readonly statements: readonly GrantingStatement[];
}

/** Restricted actions indexed for matching: by exact lower-case name and by service prefix. */
interface RestrictedIndex {
  readonly actions: readonly RestrictedAction[];
  readonly byName: ReadonlyMap<string, number>;
  readonly byService: ReadonlyMap<string, readonly number[]>;
  readonly all: readonly number[];
}

const NONE: readonly number[] = [];
const indexes = new WeakMap<RestrictedActionSet, RestrictedIndex>();

function indexOf(set: RestrictedActionSet): RestrictedIndex {
  let index = indexes.get(set);
  if (index) return index;
  const byName = new Map<string, number>();
  const byService = new Map<string, number[]>();
  set.actions.forEach((action, i) => {
    byName.set(action.lower, i);
    const list = byService.get(action.service);
    if (list) list.push(i);
    else byService.set(action.service, [i]);
  });
  index = { actions: set.actions, byName, byService, all: set.actions.map((_, i) => i) };
  indexes.set(set, index);
  return index;
}

/**
 * For each restricted action (by position), the first of `patterns` that matches it, or `undefined`.
 * Only the restricted actions of a pattern's own service are tested when the pattern names one.
 */
function matchPatterns(patterns: readonly string[], index: RestrictedIndex): (string | undefined)[] {
  // Filled, not sparse: callers map over every position.
  const matched = new Array<string | undefined>(index.actions.length).fill(undefined);
  for (const source of patterns) {
    const pattern: ActionPattern = compileActionPattern(source);
    if (!pattern.regex) {
      const i = index.byName.get(pattern.normalised);
      if (i !== undefined && matched[i] === undefined) matched[i] = source.trim();
      continue;
    }
    const candidates =
      pattern.service === undefined ? index.all : (index.byService.get(pattern.service) ?? NONE);
    for (const i of candidates) {
      if (matched[i] === undefined && matchesAction(pattern, (index.actions[i] as RestrictedAction).lower)) {
        matched[i] = source.trim();
      }
    }
  }
  return matched;
}

/** For each restricted action, why `statement` covers it (the matching pattern), or `undefined`. */
function coverage(statement: PolicyStatement, index: RestrictedIndex): (string | undefined)[] {
  if (statement.action) return matchPatterns(statement.action, index);
  const notAction = statement.notAction ?? [];
  const excluded = matchPatterns(notAction, index);
  const note = `NotAction (every action except ${notAction.map((p) => p.trim()).join(', ') || 'none'})`;
  return excluded.map((hit) => (hit === undefined ? note : undefined));
}

/** A Deny cancels a grant outright only when it applies to every resource, with no condition. */
function deniesEverywhere(statement: PolicyStatement): boolean {
  return (
    statement.effect === 'Deny' &&
    statement.condition === undefined &&
    statement.notResource === undefined &&
    (statement.resource ?? []).some((r) => r.trim() === '*')
  );
}

function describeStatement(statement: PolicyStatement, matchedBy: string): GrantingStatement {
  return {
    index: statement.index,
    ...(statement.sid !== undefined && { sid: statement.sid }),
    matchedBy,
    ...(statement.notResource
      ? { resources: ['*'], notResources: statement.notResource }
      : { resources: statement.resource ?? [] }),
  };
}

/**
 * Lists the restricted actions a single identity-based policy grants, considered on its own.
 *
 * An action is granted when some Allow statement covers it (an `Action` pattern matches it, or no
 * `NotAction` pattern does) and no Deny statement covers it unconditionally on every resource.
 * Findings come in the order of `restricted.actions`.
 */
export function analysePolicy(document: PolicyDocument, restricted: RestrictedActionSet): Finding[] {
  const index = indexOf(restricted);
  const denied = new Array<boolean>(index.actions.length).fill(false);
  const grants: { statement: PolicyStatement; matched: (string | undefined)[] }[] = [];
  for (const statement of document.statements) {
    if (statement.effect === 'Allow') {
      grants.push({ statement, matched: coverage(statement, index) });
    } else if (deniesEverywhere(statement)) {
      coverage(statement, index).forEach((hit, i) => {
        if (hit !== undefined) denied[i] = true;
      });
    }
  }
  const findings: Finding[] = [];
  index.actions.forEach((action, i) => {
    if (denied[i]) return;
    const statements: GrantingStatement[] = [];
    let conditional = true;
    for (const { statement, matched } of grants) {
      const matchedBy = matched[i];
      if (matchedBy === undefined) continue;
      statements.push(describeStatement(statement, matchedBy));
      if (statement.condition === undefined) conditional = false;
    }
    if (statements.length > 0) findings.push({ action: action.action, conditional, statements });
  });
  return findings;
}
