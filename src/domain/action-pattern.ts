/**
 * IAM action patterns (`s3:Get*`, `*`, `iam:?etRole`), compiled once and matched case-insensitively
 * against whole `service:Action` names: `*` matches any run of characters (the colon included) and `?`
 * exactly one character. Matching is linear-time (see `glob-match.ts`); no regular expression is built,
 * so no pattern, however many wildcards it holds, can make matching slow or fail.
 *
 * Patterns are taken as written, without trimming: the policy parser rejects action strings with
 * surrounding white space, and a literal `" s3:*"` is not `s3:*`.
 */
import {
  compileGlob,
  type Glob,
  MATCH,
  type MatchOutcome,
  matchGlobCounted,
  NO_MATCH,
  OUT_OF_BUDGET,
  type WorkCounter,
} from './glob-match';

export interface ActionPattern {
  /** The pattern as written in the policy, for explanations. */
  readonly source: string;
  /** Lower-cased, runs of `*` collapsed into one (the same pattern, in canonical form). */
  readonly normalised: string;
  /**
   * Lower-cased service prefix when the part before the first colon holds no wildcard, so the pattern
   * can only match actions of that service; `undefined` when it could match any service.
   */
  readonly service: string | undefined;
  /**
   * The compiled matcher over {@link ActionPattern.normalised}; `undefined` for a pattern without
   * wildcards (most of them), which matches by plain equality.
   */
  readonly glob: Glob | undefined;
}

// Policies repeat the same patterns endlessly (`s3:Get*`, `*`), so compiled patterns are shared across
// analyses. The cache is bounded by the memory it may hold, whatever documents a long-running process
// sees: patterns longer than CACHE_MAX_SOURCE (which real policies do not repeat) are not kept, and it is
// emptied once its estimated size would pass CACHE_MAX_BYTES. Measured on Node 20, a compiled pattern
// takes about 600 bytes plus 16 per character; the estimate errs high. Every version of every AWS
// managed policy together holds 17,186 distinct patterns of 28 characters on average (25 MB by the
// estimate): they all fit.
const CACHE_MAX_SOURCE = 256;
const CACHE_MAX_BYTES = 32 * 1024 * 1024;
const cache = new Map<string, ActionPattern>();
let cachedBytes = 0;

function estimatedBytes(source: string): number {
  return 768 + 24 * source.length;
}

// Bound once: compiled to CommonJS (tsx, Jest), each use of an imported binding goes through a getter.
const compile = compileGlob;
const matchCounted = matchGlobCounted;

/** Compiles (or fetches from the bounded cache) an action pattern; linear in its length. */
export function compileActionPattern(source: string): ActionPattern {
  const cached = cache.get(source);
  if (cached) return cached;
  const lower = source.toLowerCase();
  const glob = hasWildcard(lower) ? compile(lower) : undefined;
  const normalised = glob ? glob.text : lower;
  const colon = normalised.indexOf(':');
  const head = colon === -1 ? normalised : normalised.slice(0, colon);
  const pattern: ActionPattern = { source, normalised, service: hasWildcard(head) ? undefined : head, glob };
  if (source.length <= CACHE_MAX_SOURCE) {
    const bytes = estimatedBytes(source);
    if (cachedBytes + bytes > CACHE_MAX_BYTES) {
      cache.clear();
      cachedBytes = 0;
    }
    cache.set(source, pattern);
    cachedBytes += bytes;
  }
  return pattern;
}

/** Whether `pattern` matches `actionLower`, a concrete action name already lower-cased. */
export function matchesAction(pattern: ActionPattern, actionLower: string): boolean {
  if (!pattern.glob) return pattern.normalised === actionLower;
  return matchCounted(pattern.glob, actionLower, { units: 0, limit: Number.POSITIVE_INFINITY }) === MATCH;
}

/**
 * {@link matchesAction} that counts its work in `counter` (see `glob-match.ts` for the units; a pattern
 * without wildcards costs one unit plus its length) and stops with `OUT_OF_BUDGET` rather than take
 * `counter.units` past `counter.limit`.
 */
export function matchActionCounted(
  pattern: ActionPattern,
  actionLower: string,
  counter: WorkCounter,
): MatchOutcome {
  if (pattern.glob) return matchCounted(pattern.glob, actionLower, counter);
  const units = counter.units + 1 + pattern.normalised.length;
  if (units > counter.limit) return OUT_OF_BUDGET;
  counter.units = units;
  return pattern.normalised === actionLower ? MATCH : NO_MATCH;
}

/** Whether `text` contains an IAM wildcard (`*` or `?`). */
export function hasWildcard(text: string): boolean {
  return text.includes('*') || text.includes('?');
}
