/**
 * Linear-time matching of `*` / `?` globs (IAM action patterns), without regular expressions.
 *
 * A regular expression built from a glob backtracks: `*?*?*?…` against a name that almost matches takes
 * time exponential in the number of wildcards, and a pattern with thousands of them is not even a valid
 * regex. Here a glob is split on `*` into segments. The first is anchored at the start of the name, the
 * last at its end, and those in between are placed greedily, left to right, each at the first position
 * where it fits. For `*` / `?` globs that is exact: a segment placed further right can only leave less
 * room for the ones after it. No position is ever tried twice.
 *
 * Matching is exact, character by character; callers fold case (see `action-pattern.ts`).
 *
 * Work is counted in units: one per match, one per position a middle segment is tried at, and one per
 * fixed (non-wildcard) character compared. See {@link globWorkBound} for the most a match can cost.
 */

const STAR = 42; // '*'
const QUESTION = 63; // '?'

/** A compiled glob. Immutable; safe to share between analyses. */
export interface Glob {
  /** The glob with runs of `*` collapsed into one (same meaning, canonical form). */
  readonly text: string;
  /** Whether the glob holds a `*`; without one it matches names of exactly {@link Glob.fixed} length. */
  readonly hasStar: boolean;
  /** Characters that are not `*`: the shortest name the glob can match has this length. */
  readonly fixed: number;
  /** The literal characters before the first wildcard (`s3:get` for `s3:get*`), for index look-ups. */
  readonly literalPrefix: string;
  /**
   * The segments between the `*`s, flattened for speed: each is `length, count`, then `count` pairs
   * `offset, code` for its fixed (non-`?`) characters. The first segment is anchored at the start of
   * the name and, when the glob holds a `*`, the last one at its end (either may be empty); the ones in
   * between are never empty.
   */
  readonly program: readonly number[];
  /** Where each segment starts in {@link Glob.program}, in order. */
  readonly segments: readonly number[];
  /** `Σ (1 + fixed characters)` over the middle segments: the cost of trying each of them once. */
  readonly middleCost: number;
}

/** Outcomes of a counted match; ordered, so callers may test `> 0` and `< 0`. */
export const MATCH = 1;
export const NO_MATCH = 0;
/** The match needs more units than `counter.limit` allows; whether it matches is not known. */
export const OUT_OF_BUDGET = -1;
export type MatchOutcome = typeof MATCH | typeof NO_MATCH | typeof OUT_OF_BUDGET;

/**
 * Units of work counted so far and the most that may be counted. A counted match never takes `units`
 * past `limit`: when its work would, it stops with {@link OUT_OF_BUDGET} and leaves `units` unchanged
 * (the step it stopped in does at most one segment's comparisons beyond the limit).
 */
export interface WorkCounter {
  units: number;
  limit: number;
}

/**
 * Compiles a glob: `*` matches any run of characters (empty included), `?` exactly one character, every
 * other character itself. Takes time linear in the glob's length, however many wildcards it holds.
 */
export function compileGlob(pattern: string): Glob {
  // Collapse runs of '*': `a**b` means `a*b`, and the matcher then never sees an empty middle segment.
  let text = '';
  let runStart = 0;
  for (let i = 1; i < pattern.length; i++) {
    if (pattern.charCodeAt(i) === STAR && pattern.charCodeAt(i - 1) === STAR) {
      text += pattern.slice(runStart, i);
      runStart = i + 1;
    }
  }
  text += pattern.slice(runStart);

  const program: number[] = [];
  const segments: number[] = [];
  let firstWildcard = -1;
  let stars = 0;
  let middleCost = 0;
  let segmentStart = 0;
  // Position `text.length` closes the last segment, as a `*` closes the others.
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : STAR;
    if (i < text.length && (code === STAR || code === QUESTION) && firstWildcard === -1) firstWildcard = i;
    if (code !== STAR) continue;
    const at = program.length;
    segments.push(at);
    program.push(i - segmentStart, 0);
    let count = 0;
    for (let j = segmentStart; j < i; j++) {
      const c = text.charCodeAt(j);
      if (c === QUESTION) continue;
      program.push(j - segmentStart, c);
      count++;
    }
    program[at + 1] = count;
    if (i < text.length) {
      if (stars > 0) middleCost += 1 + count;
      stars++;
    }
    segmentStart = i + 1;
  }
  return {
    text,
    hasStar: stars > 0,
    fixed: text.length - stars,
    literalPrefix: firstWildcard === -1 ? text : text.slice(0, firstWildcard),
    program,
    segments,
    middleCost,
  };
}

/**
 * The most units a counted match of `glob` against a name of `nameLength` characters can cost:
 * `1 + (fixed characters of the two ends) + (nameLength - fixed + 1) × middleCost`. Each middle segment
 * is tried at no more than `nameLength - fixed + 1` positions (the other segments need their characters
 * too), so the cost is linear in the name's length; with `m` the glob's length it is below
 * `(m + 1) × (nameLength + 1)`, and a glob with more fixed characters than the name costs 1.
 */
export function globWorkBound(glob: Glob, nameLength: number): number {
  const { program, segments } = glob;
  const headCount = program[1] as number;
  if (!glob.hasStar) return nameLength === glob.fixed ? 1 + headCount : 1;
  if (glob.fixed > nameLength) return 1;
  const tailCount = program[(segments[segments.length - 1] as number) + 1] as number;
  return 1 + headCount + tailCount + (nameLength - glob.fixed + 1) * glob.middleCost;
}

// Compares the fixed characters of the segment at `p` in `program` with `name` from `at`. Returns how
// many it compared, negated when the last of them differed, so one call both counts and decides.
function compareAt(program: readonly number[], p: number, name: string, at: number): number {
  const count = program[p + 1] as number;
  for (let j = 0, q = p + 2; j < count; j++, q += 2) {
    if (name.charCodeAt(at + (program[q] as number)) !== program[q + 1]) return -(j + 1);
  }
  return count;
}

/**
 * Matches `glob` against the whole of `name`, adding the units of work to `counter`; stops with
 * {@link OUT_OF_BUDGET}, exactly when the whole match would count more than `counter.limit` allows.
 */
export function matchGlobCounted(glob: Glob, name: string, counter: WorkCounter): MatchOutcome {
  const n = name.length;
  const limit = counter.limit;
  let units = counter.units + 1;
  if (units > limit) return OUT_OF_BUDGET;
  const { program, segments } = glob;
  if (!glob.hasStar) {
    if (n !== glob.fixed) {
      counter.units = units;
      return NO_MATCH;
    }
    const compared = compareAt(program, 0, name, 0);
    units += compared < 0 ? -compared : compared;
    if (units > limit) return OUT_OF_BUDGET;
    counter.units = units;
    return compared >= 0 ? MATCH : NO_MATCH;
  }
  // Fewer characters than the glob's fixed ones: no placement can fit, and nothing needs comparing.
  if (glob.fixed > n) {
    counter.units = units;
    return NO_MATCH;
  }
  // The anchored ends first: they are the cheapest way to reject, and they fix the room left in between.
  let compared = compareAt(program, 0, name, 0);
  units += compared < 0 ? -compared : compared;
  if (units > limit) return OUT_OF_BUDGET;
  if (compared < 0) {
    counter.units = units;
    return NO_MATCH;
  }
  const last = segments.length - 1;
  const tail = segments[last] as number;
  const end = n - (program[tail] as number);
  compared = compareAt(program, tail, name, end);
  units += compared < 0 ? -compared : compared;
  if (units > limit) return OUT_OF_BUDGET;
  if (compared < 0) {
    counter.units = units;
    return NO_MATCH;
  }
  let pos = program[0] as number;
  // Characters the middle segments still need; a segment starting after `end - needed` cannot fit.
  let needed = glob.fixed - pos - (program[tail] as number);
  for (let s = 1; s < last; s++) {
    const p = segments[s] as number;
    const length = program[p] as number;
    const latest = end - needed;
    let at = pos;
    for (; at <= latest; at++) {
      compared = compareAt(program, p, name, at);
      units += compared < 0 ? 1 - compared : 1 + compared;
      if (units > limit) return OUT_OF_BUDGET;
      if (compared >= 0) break;
    }
    if (at > latest) {
      counter.units = units;
      return NO_MATCH;
    }
    pos = at + length;
    needed -= length;
  }
  counter.units = units;
  return MATCH;
}

/** Whether `glob` matches the whole of `name` (exact characters; no work limit). */
export function matchGlob(glob: Glob, name: string): boolean {
  return matchGlobCounted(glob, name, { units: 0, limit: Number.POSITIVE_INFINITY }) === MATCH;
}
