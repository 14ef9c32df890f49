import { AnalysisBudgetError, PolicyGateError } from '../errors';
import { compileActionPattern, hasWildcard } from './action-pattern';
import { matchGlobCounted, type WorkCounter } from './glob-match';
import { isParsedPolicyDocument, type PolicyDocument, type PolicyStatement } from './policy-document';
import type { RestrictedActionSet } from './restricted-actions';

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

/**
 * The most units of work one analysis may do unless told otherwise (see {@link analysePolicy} for what a
 * unit is). Against the shipped list, the AWS managed policies need at most 0.13 M units and the worst
 * documents we could build within IAM's size limit (10,240 characters) about 4 M, a tenth of it; against
 * the whole catalogue the managed policies need at most 7.3 M. Hitting it takes about 0.1 s on a 2-core
 * machine (`npm run bench`), so an adversarial document is given up on quickly and reported as
 * unanalysable, never as harmless.
 */
export const DEFAULT_ANALYSIS_BUDGET = 50_000_000;

/** Receives the units of work an analysis did (added to `units`), also when it stopped at the budget. */
export interface WorkMeter {
  units: number;
}

export interface AnalysisOptions {
  /** The most units of work the analysis may do; {@link DEFAULT_ANALYSIS_BUDGET} when absent. */
  readonly budget?: number;
  /** Where to add the units of work done (for benchmarks and tests). */
  readonly meter?: WorkMeter;
}

/** Restricted actions indexed for matching: by exact lower-case name, and sorted for prefix ranges. */
interface RestrictedIndex {
  readonly set: RestrictedActionSet;
  /** `lower` of each action, by position in `set.actions`. */
  readonly names: readonly string[];
  readonly byName: ReadonlyMap<string, number>;
  /** Positions in `names` by the name's length. */
  readonly byLength: ReadonlyMap<number, readonly number[]>;
  /** No name holds a wildcard, so a pattern equal to one is that one name (always so when resolved). */
  readonly plainNames: boolean;
  /** The lower-case names in ascending order, and the position each comes from. */
  readonly sorted: readonly string[];
  readonly order: Int32Array;
  /** Steps of a binary search over `sorted`. */
  readonly depth: number;
  /**
   * The services of the restricted actions (lower case), by length: a pattern naming any other service
   * can match none of them, and three in four actions of real policies are such patterns.
   */
  readonly servicesByLength: ReadonlyMap<number, readonly string[]>;
  /** {@link ServiceHints} over the same services. */
  readonly serviceHints: ServiceHints;
  /**
   * Scratch space for one analysis at a time (analyses are synchronous, so they never overlap), kept
   * with the index so checking thousands of documents does not allocate it thousands of times.
   */
  readonly denied: Int32Array;
  readonly state: Int32Array;
  readonly unconditional: Uint8Array;
  readonly seen: Set<string>;
}

const indexes = new WeakMap<RestrictedActionSet, RestrictedIndex>();

// Bound once: compiled to CommonJS (tsx, Jest), every use of an imported binding goes through a getter,
// which in the innermost loop costs more than the match itself.
const matchCounted = matchGlobCounted;
const wildcard = hasWildcard;

function indexOf(set: RestrictedActionSet): RestrictedIndex {
  let index = indexes.get(set);
  if (index) return index;
  const names = set.actions.map((action) => action.lower);
  const byName = new Map<string, number>();
  names.forEach((name, i) => {
    if (!byName.has(name)) byName.set(name, i);
  });
  const byLength = new Map<number, number[]>();
  for (const i of byName.values()) {
    const length = (names[i] as string).length;
    const same = byLength.get(length);
    if (same) same.push(i);
    else byLength.set(length, [i]);
  }
  const positions = names.map((_, i) => i);
  positions.sort((a, b) => {
    const x = names[a] as string;
    const y = names[b] as string;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  const servicesByLength = new Map<number, string[]>();
  for (const service of new Set(names.map((name) => name.slice(0, name.indexOf(':'))))) {
    const same = servicesByLength.get(service.length);
    if (same) same.push(service);
    else servicesByLength.set(service.length, [service]);
  }
  index = {
    set,
    names,
    byName,
    byLength,
    plainNames: names.every((name) => !hasWildcard(name)),
    servicesByLength,
    serviceHints: serviceHints(servicesByLength),
    sorted: positions.map((i) => names[i] as string),
    order: Int32Array.from(positions),
    depth: Math.ceil(Math.log2(names.length + 1)),
    denied: new Int32Array(names.length),
    state: new Int32Array(names.length),
    unconditional: new Uint8Array(names.length),
    seen: new Set(),
  };
  indexes.set(set, index);
  return index;
}

// What a reported (action, statement) pair costs: about the characters of its JSON in `policy-gate check
// --json` (`{"index":…,"matchedBy":…,"resources":[…]}`), so the budget also caps how much a wide restricted
// list times a many-statement policy can make the analysis return.
const REPORT_UNITS = 48;
// Longer patterns are cut in `matchedBy` and the NotAction note, which people read in Slack and e-mail.
const MAX_SHOWN_PATTERN = 200;
const MAX_NOTE = 400;

function shownPattern(source: string): string {
  if (source.length <= MAX_SHOWN_PATTERN) return source;
  return `${source.slice(0, MAX_SHOWN_PATTERN)}… (${source.length.toLocaleString('en-US')} characters)`;
}

/** ASCII letters, digits and `-`: the characters of a service prefix. */
function isServiceCharacter(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2d
  );
}

/**
 * A filter that rules out most services at the cost of two character reads: bit `n` of entry
 * `(first & 31) << 5 | (last & 31)` is set when some restricted service of `n` characters (n ≤
 * {@link HINTED_LENGTH}) starts and ends with those characters. `& 31` maps an ASCII letter and its
 * capital to the same entry, so a clear bit proves that no service of that length equals the pattern's
 * ignoring case; a set bit (digits and `-` share entries with letters) only sends it to the full compare.
 */
type ServiceHints = Uint32Array;
const HINTED_LENGTH = 30;

function serviceHints(servicesByLength: ReadonlyMap<number, readonly string[]>): ServiceHints {
  const hints = new Uint32Array(1024);
  for (const [length, services] of servicesByLength) {
    if (length > HINTED_LENGTH) continue;
    for (const service of services) {
      const entry = ((service.charCodeAt(0) & 31) << 5) | (service.charCodeAt(length - 1) & 31);
      hints[entry] = (hints[entry] as number) | (1 << length);
    }
  }
  return hints;
}

/**
 * Whether the hints prove that the `colon` characters before `pattern`'s first colon (at most
 * {@link HINTED_LENGTH}, letters, digits and `-`) name no restricted service.
 */
function outsideHints(pattern: string, colon: number, hints: ServiceHints): boolean {
  const entry = ((pattern.charCodeAt(0) & 31) << 5) | (pattern.charCodeAt(colon - 1) & 31);
  return ((hints[entry] as number) & (1 << colon)) === 0;
}

/**
 * Whether `pattern` names a service outside `servicesByLength`, so it matches no restricted action: its
 * part before the first colon is plain (letters, digits, `-`: no wildcard, nothing that lower-cases
 * unexpectedly) and equal, ignoring ASCII case, to none of them. Allocates nothing: it runs for every
 * action of every statement. Anything else, `*` included, answers `false` and is matched in full.
 * `grammatical` says the parser has already held the pattern to IAM's action grammar, which makes the
 * part plain, so it is not read twice (about 7 % of a whole check over the managed policies, measured).
 */
function namesOtherService(
  pattern: string,
  servicesByLength: ReadonlyMap<number, readonly string[]>,
  hints: ServiceHints,
  grammatical: boolean,
): boolean {
  const colon = pattern.indexOf(':');
  if (colon <= 0) return false;
  if (!grammatical) {
    for (let i = 0; i < colon; i++) if (!isServiceCharacter(pattern.charCodeAt(i))) return false;
  }
  if (colon <= HINTED_LENGTH && outsideHints(pattern, colon, hints)) return true;
  return serviceUnlisted(pattern, colon, servicesByLength);
}

/**
 * Whether the `colon` characters before `pattern`'s first colon (letters, digits and `-`) equal,
 * ignoring ASCII case, none of `servicesByLength`: the full compare behind the hints.
 */
function serviceUnlisted(
  pattern: string,
  colon: number,
  servicesByLength: ReadonlyMap<number, readonly string[]>,
): boolean {
  const candidates = servicesByLength.get(colon);
  if (candidates === undefined) return true;
  for (const service of candidates) {
    let same = true;
    // For letters, digits and `-`, `| 0x20` is exactly ASCII lower-casing.
    for (let i = 0; i < colon && same; i++) same = (pattern.charCodeAt(i) | 0x20) === service.charCodeAt(i);
    if (same) return false;
  }
  return true;
}

/**
 * The position in `names` (lower case) among `candidates` of the name `pattern` spells ignoring ASCII
 * case, or -1. `pattern` must be in IAM's action grammar (letters, digits, `-`, one `:`), for which
 * `| 0x20` is exactly lower-casing; other characters could alias (`\r | 0x20` is `-`).
 */
function sameName(
  pattern: string,
  names: readonly string[],
  candidates: readonly number[] | undefined,
): number {
  if (candidates === undefined) return -1;
  const length = pattern.length;
  for (const i of candidates) {
    const name = names[i] as string;
    // From the end: names of one service share their start.
    let j = length - 1;
    while (j >= 0 && (pattern.charCodeAt(j) | 0x20) === name.charCodeAt(j)) j--;
    if (j < 0) return i;
  }
  return -1;
}

function notActionNote(patterns: readonly string[]): string {
  if (patterns.length === 0) return 'NotAction (every action except none)';
  let listed = '';
  let count = 0;
  for (const pattern of patterns) {
    const shown = shownPattern(pattern);
    if (count > 0 && listed.length + shown.length > MAX_NOTE) break;
    listed += count === 0 ? shown : `, ${shown}`;
    count++;
  }
  const more = patterns.length - count;
  const rest = more > 0 ? `, … ${more.toLocaleString('en-US')} more` : '';
  return `NotAction (every action except ${listed}${rest})`;
}

/**
 * A Deny cancels a grant outright only when it applies to every resource, with no condition. Only the
 * exact string `"*"` counts as every resource: IAM may read `" *"` as a literal resource name.
 */
function deniesEverywhere(statement: PolicyStatement): boolean {
  return (
    statement.effect === 'Deny' &&
    statement.condition === undefined &&
    statement.notResource === undefined &&
    statement.resource?.includes('*') === true
  );
}

interface Report {
  readonly grant: GrantingStatement;
  readonly units: number;
}

function describeStatement(statement: PolicyStatement, matchedBy: string): Report {
  const grant: GrantingStatement = {
    index: statement.index,
    ...(statement.sid !== undefined && { sid: statement.sid }),
    matchedBy,
    ...(statement.notResource
      ? { resources: ['*'], notResources: statement.notResource }
      : { resources: statement.resource ?? [] }),
  };
  let units = REPORT_UNITS + matchedBy.length + (statement.sid?.length ?? 0);
  for (const resource of statement.resource ?? statement.notResource ?? []) units += resource.length + 3;
  return { grant, units };
}

/** One analysis: the restricted index, the work counted so far and scratch space. */
class Analysis {
  readonly counter: WorkCounter;
  private readonly size: number;
  /** Per restricted action: -1 when an unconditional Deny on every resource cancels it, else 0. */
  private readonly denied: Int32Array;
  private deniedCount = 0;
  /**
   * Per restricted action, for the statement at hand: -1 denied, 0 not covered, k + 1 covered by the
   * statement's pattern k (the first that matches).
   */
  private readonly state: Int32Array;
  /** Patterns already tried in the statement at hand. */
  private readonly seen: Set<string>;
  /** The range `prefixRange` found, in `index.sorted`. */
  private rangeStart = 0;
  private rangeEnd = 0;

  constructor(
    private readonly index: RestrictedIndex,
    private readonly budget: number,
    /** The document came from the parser: every action is `*` or `service:action` in IAM's grammar. */
    private readonly grammatical: boolean,
  ) {
    this.counter = { units: 0, limit: budget };
    this.size = index.names.length;
    this.charge(3 * this.size);
    this.denied = index.denied;
    this.state = index.state;
    this.seen = index.seen;
    this.denied.fill(0);
    index.unconditional.fill(0);
  }

  /** Counts `units` of work about to be done, or stops the analysis if they would exceed the budget. */
  private charge(units: number): void {
    const next = this.counter.units + units;
    if (next > this.counter.limit) this.exceeded();
    this.counter.units = next;
  }

  private exceeded(): never {
    throw new AnalysisBudgetError(
      `analysis budget exceeded: checking this policy against ${this.size.toLocaleString('en-US')} restricted actions needs more than ${this.budget.toLocaleString('en-US')} units of work, so it cannot be analysed (treat it as risky)`,
      this.budget,
    );
  }

  /** Sets `rangeStart`/`rangeEnd` to the names in `index.sorted` starting with `prefix` (binary search). */
  private prefixRange(prefix: string): void {
    const { sorted, depth } = this.index;
    this.rangeStart = 0;
    this.rangeEnd = sorted.length;
    if (prefix === '') return;
    this.charge(2 * (depth + 1));
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    // Past `lo` every name is ≥ prefix, so those starting with it come first and then none does.
    this.rangeStart = lo;
    hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as string).startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    this.rangeEnd = lo;
  }

  /**
   * Marks in `state` the open actions (`state` 0) that `patterns` match, each with its first matching
   * pattern. Stops as soon as no action is left open. Returns how many it marked.
   */
  private cover(patterns: readonly string[], open: number): number {
    const { names, order, byName, byLength, plainNames, servicesByLength, serviceHints: hints } = this.index;
    const { state, counter, seen, grammatical } = this;
    let remaining = open;
    // A repeated wildcard pattern can never be the first to match anything, so it is tried once per
    // statement. (Clearing an empty Set still allocates a new table.)
    if (seen.size > 0) seen.clear();
    for (let k = 0; k < patterns.length && remaining > 0; k++) {
      const source = patterns[k] as string;
      // Compiling (or finding in the cache) and hashing read the whole pattern, however often it repeats.
      this.charge(source.length + 1);
      // On the fast path a pattern without a colon is `*`, which names no service: it is matched in full.
      const fast = grammatical && plainNames;
      const colon = fast ? source.indexOf(':') : -1;
      if (colon > 0) {
        // The fast path for IAM's grammar (`*` or `service:action`, one colon, letters, digits and `-`
        // but for wildcards in the action), where three in four patterns name another service and most
        // others name one action: ruled out by the hints, or found among the restricted names of their
        // length, without hashing a string that is new in every document.
        if (colon <= HINTED_LENGTH && outsideHints(source, colon, hints)) continue;
        // Equal to a restricted name (which holds no wildcard), so a plain name.
        const i = sameName(source, names, byLength.get(source.length));
        if (i >= 0) {
          if (state[i] === 0) {
            state[i] = k + 1;
            remaining--;
          }
          continue;
        }
        if (!wildcard(source) || serviceUnlisted(source, colon, servicesByLength)) continue;
      } else if (!fast && namesOtherService(source, servicesByLength, hints, grammatical)) continue;
      const pattern = compileActionPattern(source);
      const { glob } = pattern;
      if (!glob) {
        // One lookup, repeated or not: a repeat finds its action already marked.
        const i = byName.get(pattern.normalised);
        if (i !== undefined && state[i] === 0) {
          state[i] = k + 1;
          remaining--;
        }
        continue;
      }
      if (patterns.length > 1) {
        if (seen.has(pattern.normalised)) continue;
        seen.add(pattern.normalised);
      }
      this.prefixRange(glob.literalPrefix);
      const end = this.rangeEnd;
      this.charge(end - this.rangeStart);
      for (let c = this.rangeStart; c < end; c++) {
        const i = order[c] as number;
        if (state[i] !== 0) continue;
        // Outcomes are ordered: MATCH > NO_MATCH (0) > OUT_OF_BUDGET.
        const outcome = matchCounted(glob, names[i] as string, counter);
        if (outcome > 0) {
          state[i] = k + 1;
          if (--remaining === 0) break;
        } else if (outcome < 0) {
          this.exceeded();
        }
      }
    }
    return open - remaining;
  }

  /** Resets `state` for a new statement (denied actions stay out of play) and covers it. */
  private coverStatement(statement: PolicyStatement): number {
    this.charge(2 * this.size);
    this.state.set(this.denied);
    const open = this.size - this.deniedCount;
    if (open === 0) return 0;
    if (statement.action) return this.cover(statement.action, open);
    // NotAction: the statement covers every open action none of its patterns matches.
    return open - this.cover(statement.notAction ?? [], open);
  }

  /** The report of `statement` granting through its pattern `k` (or its NotAction), made once. */
  private report(statement: PolicyStatement, reports: (Report | undefined)[], k: number): Report {
    let described = reports[k];
    if (described === undefined) {
      const matchedBy = statement.action
        ? shownPattern(statement.action[k] as string)
        : notActionNote(statement.notAction ?? []);
      this.charge(matchedBy.length);
      described = describeStatement(statement, matchedBy);
      reports[k] = described;
    }
    return described;
  }

  run(document: PolicyDocument): Finding[] {
    const { statements } = document;
    const { state, denied, size } = this;
    // Denies first, whatever their place in the document: an action they cancel is never tried again.
    for (const statement of statements) {
      this.charge(1);
      if (!deniesEverywhere(statement)) continue;
      if (this.coverStatement(statement) === 0) continue;
      const byAction = statement.action !== undefined;
      for (let i = 0; i < size; i++) {
        const s = state[i] as number;
        if (byAction ? s > 0 : s === 0) {
          denied[i] = -1;
          this.deniedCount++;
        }
      }
    }

    let grants: (GrantingStatement[] | undefined)[] | undefined;
    const { unconditional } = this.index;
    for (const statement of statements) {
      if (statement.effect !== 'Allow') continue;
      if (this.coverStatement(statement) === 0) continue;
      grants ??= new Array<GrantingStatement[] | undefined>(size);
      const byAction = statement.action !== undefined;
      // Described once per (statement, pattern): findings share them, so memory follows the document.
      const reports: (Report | undefined)[] = [];
      for (let i = 0; i < size; i++) {
        const s = state[i] as number;
        const k = byAction ? s - 1 : s === 0 ? 0 : -1;
        if (k < 0) continue;
        const described = this.report(statement, reports, k);
        this.charge(described.units);
        const list = grants[i];
        if (list) list.push(described.grant);
        else grants[i] = [described.grant];
        if (statement.condition === undefined) unconditional[i] = 1;
      }
    }

    const findings: Finding[] = [];
    if (grants === undefined) return findings;
    this.charge(size);
    const { actions } = this.index.set;
    for (let i = 0; i < size; i++) {
      const list = grants[i];
      if (list === undefined) continue;
      const action = actions[i];
      if (action)
        findings.push({ action: action.action, conditional: unconditional[i] === 0, statements: list });
    }
    return findings;
  }
}

/**
 * Lists the restricted actions a single identity-based policy grants, considered on its own.
 *
 * An action is granted when some Allow statement covers it (an `Action` pattern matches it, or no
 * `NotAction` pattern does) and no Deny statement covers it unconditionally on every resource (a Deny
 * with `Resource` exactly `"*"` or a list holding it, no `NotResource`, no `Condition`). Patterns match
 * case-insensitively, as written (not trimmed). Findings come in the order of `restricted.actions`.
 *
 * The work is counted in deterministic units (one per restricted action tried against a pattern, one per
 * position a pattern segment is tried at and per character compared, one per character of each pattern
 * read, about the JSON length of each reported statement, and the restricted list's length per
 * statement). It never exceeds `options.budget` (default {@link DEFAULT_ANALYSIS_BUDGET}): the analysis
 * stops first.
 *
 * @throws AnalysisBudgetError when the analysis would need more units than the budget; the caller must
 *   then treat the policy as risky.
 */
export function analysePolicy(
  document: PolicyDocument,
  restricted: RestrictedActionSet,
  options: AnalysisOptions = {},
): Finding[] {
  const budget = options.budget ?? DEFAULT_ANALYSIS_BUDGET;
  if (typeof budget !== 'number' || Number.isNaN(budget) || budget < 0) {
    throw new PolicyGateError(`analysePolicy: the budget must be a number ≥ 0, got ${String(budget)}`);
  }
  const analysis = new Analysis(indexOf(restricted), budget, isParsedPolicyDocument(document));
  try {
    return analysis.run(document);
  } finally {
    if (options.meter) options.meter.units += analysis.counter.units;
  }
}
