/**
 * IAM action patterns (`s3:Get*`, `*`, `iam:?etRole`), compiled once and matched case-insensitively
 * against whole `service:Action` names, exactly as IAM does: after trimming white space, `*` matches
 * any run of characters (the colon included) and `?` exactly one character.
 */
export interface ActionPattern {
  /** The pattern as written in the policy (untrimmed), for explanations. */
  readonly source: string;
  /** Trimmed and lower-cased. */
  readonly normalised: string;
  /**
   * Lower-cased service prefix when the part before the first colon holds no wildcard, so the pattern
   * can only match actions of that service; `undefined` when it could match any service.
   */
  readonly service: string | undefined;
  /** `undefined` for a pattern without wildcards, which matches by plain equality. */
  readonly regex: RegExp | undefined;
}

const WILDCARD = /[*?]/;
const REGEX_SPECIAL = /[.+^${}()|[\]\\/]/g;

// Policies repeat the same patterns endlessly (`s3:Get*`, `*`), so compiled patterns are shared.
// The cap keeps a long-running process that checks millions of distinct patterns bounded.
const CACHE_LIMIT = 50_000;
const cache = new Map<string, ActionPattern>();

/** Compiles (or fetches from the cache) an action pattern. */
export function compileActionPattern(source: string): ActionPattern {
  const cached = cache.get(source);
  if (cached) return cached;
  const normalised = source.trim().toLowerCase();
  const colon = normalised.indexOf(':');
  const head = colon === -1 ? normalised : normalised.slice(0, colon);
  const service = WILDCARD.test(head) ? undefined : head;
  const regex = WILDCARD.test(normalised)
    ? new RegExp(
        `^${normalised.replace(REGEX_SPECIAL, '\\$&').replace(/\*+/g, '.*').replace(/\?/g, '.')}$`,
        's',
      )
    : undefined;
  const pattern: ActionPattern = { source, normalised, service, regex };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, pattern);
  return pattern;
}

/** Whether `pattern` matches `actionLower`, a concrete action name already lower-cased. */
export function matchesAction(pattern: ActionPattern, actionLower: string): boolean {
  return pattern.regex ? pattern.regex.test(actionLower) : pattern.normalised === actionLower;
}

/** Whether `text` contains an IAM wildcard (`*` or `?`). */
export function hasWildcard(text: string): boolean {
  return WILDCARD.test(text);
}
