/**
 * The restricted-actions list: the IAM actions whose grant makes a policy change risky enough to
 * quarantine. Entries are written as in IAM policies (`s3:DeleteBucket`, `kms:Disable*`); wildcard entries
 * are expanded against the {@link ActionCatalogue} once, when the list is loaded, so the analysis compares
 * policies against concrete action names.
 */
import { RestrictedActionError } from '../errors';
import { compileActionPattern, hasWildcard, matchesAction } from './action-pattern';
import type { ActionCatalogue } from './catalogue';

/** One line of the restricted-actions list as written by an operator. */
export interface RestrictedEntry {
  /** `service:Action`, possibly with `*` / `?` wildcards. */
  action: string;
  /** Why the action is restricted; shown to approvers. */
  reason?: string;
  /**
   * A grant of this entry needs two different approvers. Written `"critical": true` in JSON, or with a
   * leading `!` in the text and comma-separated forms (`!iam:PassRole # reason`).
   */
  critical?: true;
}

/** One concrete restricted action, after wildcard expansion. */
export interface RestrictedAction {
  /** canonical case, e.g. 's3:DeleteBucket' (catalogue casing when the catalogue knows it) */
  action: string;
  /** `action` lower-cased, the key IAM matching uses. */
  lower: string;
  /** lower-case service prefix */
  service: string;
  /** the list entry it came from, trimmed, e.g. 'kms:Disable*' */
  entry: string;
  reason?: string;
  /** Set when some entry matching the action is critical (two approvers). */
  critical?: true;
}

/** The resolved list: concrete actions (unique, sorted by `lower`) and the entries they came from. */
export interface RestrictedActionSet {
  readonly actions: readonly RestrictedAction[];
  /** The entries as given, trimmed, in their original order. */
  readonly entries: readonly RestrictedEntry[];
}

const ENTRY_SHAPE = /^[a-z0-9*?-]+:[a-z0-9*?-]+$/i;
const SERVICE_CHARS = /^[a-z0-9*?-]+$/i;
// Hyphens occur in a few real action names (vpc-lattice:AssociateViaAWSService-EventsAndStates).
const ACTION_CHARS = /^[a-z0-9*?-]+$/i;
const ENTRY_KEYS = new Set(['action', 'reason', 'critical']);
/** The text-form marker of a critical entry. */
const CRITICAL_MARK = '!';

/**
 * Accepts an array of strings or `{action, reason?}` objects (as from JSON); anything else →
 * RestrictedActionError naming `source` and the index. Unknown keys in an object are rejected too, so a
 * misspelt `"acton"` or `"reson"` cannot silently drop part of an entry.
 *
 * The action strings are not validated here; {@link resolveRestrictedActions} does that.
 */
export function parseRestrictedEntries(input: unknown, source: string): RestrictedEntry[] {
  if (!Array.isArray(input)) {
    throw new RestrictedActionError(
      `${source}: expected a JSON array of actions (strings or {"action", "reason"} objects), got ${describeValue(input)}`,
    );
  }
  return input.map((item: unknown, index) => {
    const where = `${source}: entry ${index}`;
    if (typeof item === 'string') return markedEntry(item, undefined);
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new RestrictedActionError(
        `${where}: expected a string or an {"action", "reason"} object, got ${describeValue(item)}`,
      );
    }
    const record = item as Record<string, unknown>;
    const unknownKeys = Object.keys(record).filter((key) => !ENTRY_KEYS.has(key));
    if (unknownKeys.length > 0) {
      throw new RestrictedActionError(
        `${where}: unknown key(s) ${unknownKeys.map((key) => JSON.stringify(key)).join(', ')}; only "action", "reason" and "critical" are allowed`,
      );
    }
    if (typeof record.action !== 'string') {
      throw new RestrictedActionError(
        `${where}: "action" must be a string, got ${describeValue(record.action)}`,
      );
    }
    if (record.reason !== undefined && typeof record.reason !== 'string') {
      throw new RestrictedActionError(
        `${where}: "reason" must be a string, got ${describeValue(record.reason)}`,
      );
    }
    if (record.critical !== undefined && typeof record.critical !== 'boolean') {
      throw new RestrictedActionError(
        `${where}: "critical" must be true or false, got ${describeValue(record.critical)}`,
      );
    }
    if (record.action.trimStart().startsWith(CRITICAL_MARK)) {
      throw new RestrictedActionError(
        `${where}: write "critical": true rather than a leading "${CRITICAL_MARK}" in an object's "action"`,
      );
    }
    const entry = withReason(record.action, record.reason);
    return record.critical === true ? { ...entry, critical: true } : entry;
  });
}

/** A string entry: a leading `!` marks it critical (the text and comma-separated forms). */
function markedEntry(text: string, reason: string | undefined): RestrictedEntry {
  const trimmed = text.trim();
  if (!trimmed.startsWith(CRITICAL_MARK)) return withReason(text, reason);
  return { ...withReason(trimmed.slice(CRITICAL_MARK.length).trim(), reason), critical: true };
}

/**
 * Text file contents: a JSON array (when it starts with '[' after trimming), else one entry per line, blank
 * lines and '#' comments ignored (a trailing ' # reason' becomes the reason).
 *
 * A text starting with '{' is parsed as JSON as well, so a lone object gets the clear "expected a JSON
 * array" error instead of a confusing shape error per line. A trailing comment needs white space before
 * the '#': `s3:Delete#Bucket` stays one (invalid) entry rather than quietly restricting `s3:Delete`.
 */
export function parseRestrictedText(text: string, source: string): RestrictedEntry[] {
  const body = text.replace(/^\uFEFF/, '');
  const trimmed = body.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new RestrictedActionError(
        `${source}: not valid JSON (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
    return parseRestrictedEntries(parsed, source);
  }
  const entries: RestrictedEntry[] = [];
  for (const line of body.split(/\r?\n/)) {
    const content = line.trim();
    if (content === '' || content.startsWith('#')) continue;
    const comment = /\s#/.exec(content);
    if (comment) {
      entries.push(
        markedEntry(content.slice(0, comment.index).trim(), content.slice(comment.index + comment[0].length)),
      );
    } else {
      entries.push(markedEntry(content, undefined));
    }
  }
  return entries;
}

/** The critical actions among `findings`' actions (compared without case), in the findings' order. */
export function criticalActionsOf(actions: readonly string[], restricted: RestrictedActionSet): string[] {
  const critical = new Set(restricted.actions.filter((a) => a.critical).map((a) => a.lower));
  if (critical.size === 0) return [];
  return [...new Set(actions.filter((action) => critical.has(action.toLowerCase())))];
}

/**
 * Validates and expands: entries must be service:action shaped (`/^[a-z0-9*?-]+:[a-z0-9*?]+$/i` after
 * trimming; otherwise RestrictedActionError quoting the entry and why, e.g. missing colon, spaces, empty);
 * wildcard entries expand against the catalogue (only the entry's service when its prefix has no
 * wildcard); a wildcard entry matching nothing → RestrictedActionError ("matches no action in the IAM
 * catalogue"); an entry without wildcards stands for itself even if the catalogue lacks it (catalogue
 * casing when found). Result de-duplicated by lower-case name (first entry wins for `entry`/`reason`),
 * sorted by `lower`. An empty list → RestrictedActionError, since an empty list would let every change
 * through unreviewed.
 */
export function resolveRestrictedActions(
  entries: readonly (string | RestrictedEntry)[],
  catalogue: ActionCatalogue,
): RestrictedActionSet {
  if (entries.length === 0) {
    throw new RestrictedActionError('The restricted-actions list is empty; it needs at least one action');
  }
  const normalised = entries.map((entry): RestrictedEntry => {
    if (typeof entry === 'string') return markedEntry(entry.trim(), undefined);
    const resolved = withReason(entry.action.trim(), entry.reason);
    return entry.critical === true ? { ...resolved, critical: true } : resolved;
  });
  const lookup = new CatalogueLookup(catalogue);
  const byLower = new Map<string, RestrictedAction>();
  normalised.forEach((entry, index) => {
    const problem = findShapeProblem(entry.action);
    if (problem) {
      throw new RestrictedActionError(
        `Restricted action entry ${index} ${JSON.stringify(entry.action)} is invalid: ${problem}`,
      );
    }
    for (const action of expandEntry(entry.action, lookup)) {
      const lower = action.toLowerCase();
      const existing = byLower.get(lower);
      if (existing) {
        // Critical if any entry says so: a later, narrower critical entry is never lost to a broad one.
        if (entry.critical) existing.critical = true;
        continue;
      }
      const resolved: RestrictedAction = {
        action,
        lower,
        service: lower.slice(0, lower.indexOf(':')),
        entry: entry.action,
      };
      if (entry.reason !== undefined) resolved.reason = entry.reason;
      if (entry.critical) resolved.critical = true;
      byLower.set(lower, resolved);
    }
  });
  const actions = [...byLower.values()].sort((a, b) => (a.lower < b.lower ? -1 : a.lower > b.lower ? 1 : 0));
  return Object.freeze({
    actions: Object.freeze(actions.map((action) => Object.freeze(action))),
    entries: Object.freeze(normalised.map((entry) => Object.freeze(entry))),
  });
}

/** The shipped default list (parsed from `default-restricted-actions.json`). A fresh copy on each call. */
export function defaultRestrictedEntries(): RestrictedEntry[] {
  // A literal require so bundlers inline the data file; the content is validated like any operator list.
  const data: unknown = require('./default-restricted-actions.json');
  return parseRestrictedEntries(data, 'default-restricted-actions.json');
}

function withReason(action: string, reason: string | undefined): RestrictedEntry {
  const trimmedReason = reason?.trim();
  return trimmedReason ? { action, reason: trimmedReason } : { action };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

// Names the first thing wrong, so the message tells the operator what to fix rather than echoing a regex.
function findShapeProblem(action: string): string | undefined {
  if (action === '') return 'it is empty';
  if (/\s/.test(action)) return 'it contains white space (write service:Action, e.g. s3:DeleteBucket)';
  const colons = action.split(':').length - 1;
  if (colons === 0) return 'it is missing the colon between service and action (e.g. s3:DeleteBucket)';
  if (colons > 1) return 'it has more than one colon (write service:Action, e.g. s3:DeleteBucket)';
  const [service = '', name = ''] = action.split(':');
  if (service === '') return 'the service prefix before the colon is empty';
  if (name === '') return 'the action name after the colon is empty';
  if (!SERVICE_CHARS.test(service)) {
    return `the service prefix ${JSON.stringify(service)} may only hold letters, digits, '-', '*' and '?'`;
  }
  if (!ACTION_CHARS.test(name)) {
    return `the action name ${JSON.stringify(name)} may only hold letters, digits, '-', '*' and '?'`;
  }
  // Belt and braces: the checks above should cover every way to fail the documented shape.
  if (!ENTRY_SHAPE.test(action)) return 'it is not shaped service:Action';
  return undefined;
}

function expandEntry(action: string, lookup: CatalogueLookup): string[] {
  if (!hasWildcard(action)) return [lookup.canonical(action) ?? action];
  const pattern = compileActionPattern(action);
  const services = pattern.service === undefined ? lookup.services() : [pattern.service];
  const matched: string[] = [];
  for (const service of services) {
    for (const name of lookup.actionsOf(service) ?? []) {
      if (matchesAction(pattern, `${service}:${name.toLowerCase()}`)) matched.push(`${service}:${name}`);
    }
  }
  if (matched.length === 0) {
    const hint =
      pattern.service !== undefined && lookup.actionsOf(pattern.service) === undefined
        ? ` (the catalogue has no service ${JSON.stringify(pattern.service)})`
        : '';
    throw new RestrictedActionError(
      `Restricted action entry ${JSON.stringify(action)} matches no action in the IAM catalogue${hint}`,
    );
  }
  return matched;
}

/** Catalogue access with a per-service lower-case index, built only for services actually looked up. */
class CatalogueLookup {
  private readonly indexes = new Map<string, Map<string, string> | undefined>();
  constructor(private readonly catalogue: ActionCatalogue) {}

  services(): readonly string[] {
    return this.catalogue.services();
  }

  actionsOf(service: string): readonly string[] | undefined {
    return this.catalogue.actionsOf(service);
  }

  /** `service:Action` in catalogue casing (service lower case), or `undefined` when unknown. */
  canonical(action: string): string | undefined {
    const lower = action.toLowerCase();
    const colon = lower.indexOf(':');
    const service = lower.slice(0, colon);
    if (!this.indexes.has(service)) {
      const names = this.catalogue.actionsOf(service);
      this.indexes.set(service, names && new Map(names.map((name) => [name.toLowerCase(), name])));
    }
    const name = this.indexes.get(service)?.get(lower.slice(colon + 1));
    return name === undefined ? undefined : `${service}:${name}`;
  }
}
