import { AccountSettingsError, PolicyGateError } from '../errors';
import { SLACK_USER_ID, SLACK_USERGROUP_ID } from './approvers';
import type { ActionCatalogue } from './catalogue';
import { type JsonValue, parseStrictJson, toJsonValue } from './json-strict';
import {
  parseRestrictedEntries,
  type RestrictedActionSet,
  type RestrictedEntry,
  resolveRestrictedActions,
} from './restricted-actions';

/**
 * The per-account settings document (bundled beside the code, or `ACCOUNT_SETTINGS` locally): a restricted list, approvers, a Slack channel and
 * a deadline per organizational unit or account, each falling back to the stage's own. Operators write it
 * (JSON, or YAML converted at deploy time), so it is parsed strictly: an unknown key, a malformed id or a
 * duplicate key is an error, never ignored, because an ignored `"aprovers"` would quietly hand an account
 * to the stage's approvers.
 *
 * ```json
 * {
 *   "version": 1,
 *   "organizationalUnits": {
 *     "ou-ab12-cd34ef56": { "approvers": { "slackUsergroupIds": ["S0PAYMENTS"] }, "slackChannelId": "C0PAY" }
 *   },
 *   "accounts": {
 *     "111122223333": { "restrictedActions": ["s3:Delete*", "!iam:PassRole"], "approvalTimeoutSeconds": 3600 }
 *   }
 * }
 * ```
 */

/** Who may decide: Slack users and the members of Slack user groups. */
export interface ApproverSet {
  readonly slackUserIds: readonly string[];
  readonly slackUsergroupIds: readonly string[];
}

/** What one account or OU entry sets; an absent field falls back (see {@link resolveAccountSettings}). */
export interface ScopeSettings {
  readonly restrictedEntries?: readonly RestrictedEntry[];
  /** The entries expanded against the IAM action catalogue. */
  readonly restricted?: RestrictedActionSet;
  /** Replaces the fallback's approvers as a whole (never merged: an OU's approvers are its own). */
  readonly approvers?: ApproverSet;
  readonly slackChannelId?: string;
  readonly approvalTimeoutSeconds?: number;
}

/** The parsed document: entries by OU (or root) id and by account id. */
export interface AccountSettings {
  readonly organizationalUnits: ReadonlyMap<string, ScopeSettings>;
  readonly accounts: ReadonlyMap<string, ScopeSettings>;
}

/** The stage's own settings, the last fallback. */
export interface StageSettings {
  readonly restricted: RestrictedActionSet;
  readonly approvers: ApproverSet;
  readonly slackChannelId?: string;
  readonly approvalTimeoutSeconds: number;
}

/** What applies to one account, and where each part came from (`account 1111…`, `ou-…`, `stage`). */
export interface ResolvedAccountSettings extends StageSettings {
  readonly from: {
    readonly restricted: string;
    readonly approvers: string;
    readonly slackChannelId: string;
    readonly approvalTimeoutSeconds: string;
  };
}

export const ACCOUNT_ID = /^\d{12}$/;
/** Organizations' id grammars (API reference: OrganizationalUnitId, RootId). */
export const ORGANIZATIONAL_UNIT_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
export const ROOT_ID = /^r-[0-9a-z]{4,32}$/;
export const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;
/** Step Functions caps a task's timeout at one year; below a minute nobody can answer in time. */
export const MIN_APPROVAL_TIMEOUT = 60;
export const MAX_APPROVAL_TIMEOUT = 365 * 24 * 3600;

const TOP_KEYS = new Set(['version', 'organizationalUnits', 'accounts']);
const ENTRY_KEYS = new Set(['restrictedActions', 'approvers', 'slackChannelId', 'approvalTimeoutSeconds']);
const APPROVER_KEYS = new Set(['slackUserIds', 'slackUsergroupIds']);
/** Enough for a large organization, small enough that a document cannot make every cold start slow. */
const MAX_ENTRIES = 5000;
const MAX_LIST = 500;
const MAX_TEXT = 256 * 1024 * 4;

/** No settings: every account gets the stage's. */
export const NO_ACCOUNT_SETTINGS: AccountSettings = Object.freeze({
  organizationalUnits: new Map(),
  accounts: new Map(),
});

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 80))}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and validates the settings document: JSON text (duplicate keys refused), or a value already
 * parsed (YAML converted at deploy time). Every restricted list is expanded against `catalogue`, so an
 * entry matching no action is an error here, at deploy time, not at the first event.
 *
 * @throws AccountSettingsError listing every problem, each starting with its path
 *   (`accounts.1111….approvers.slackUserIds[0]: …`).
 */
export function parseAccountSettings(input: unknown, catalogue: ActionCatalogue): AccountSettings {
  let value: JsonValue;
  try {
    if (typeof input === 'string') {
      if (input.length > MAX_TEXT)
        throw new AccountSettingsError([`the document is too large (${input.length} characters)`]);
      value = parseStrictJson(input, { maxLength: MAX_TEXT, maxDepth: 16 }, 'account settings');
    } else {
      value = toJsonValue(input, { maxLength: MAX_TEXT, maxDepth: 16 });
    }
  } catch (error) {
    if (error instanceof AccountSettingsError) throw error;
    const message = error instanceof PolicyGateError ? error.message : String(error);
    throw new AccountSettingsError([message], { cause: error });
  }
  const problems: string[] = [];
  if (!isObject(value)) throw new AccountSettingsError([`expected an object, got ${describe(value)}`]);
  for (const key of Object.keys(value)) {
    if (!TOP_KEYS.has(key)) {
      problems.push(
        `unknown key ${JSON.stringify(key.slice(0, 80))}; only "version", "organizationalUnits" and "accounts" are allowed`,
      );
    }
  }
  if (Object.hasOwn(value, 'version') && value.version !== 1) {
    problems.push(`version: must be 1, got ${describe(value.version)}`);
  }
  const section = (name: 'organizationalUnits' | 'accounts', id: RegExp, what: string) => {
    const entries = new Map<string, ScopeSettings>();
    if (!Object.hasOwn(value, name)) return entries;
    const raw = (value as Record<string, JsonValue>)[name];
    if (!isObject(raw)) {
      problems.push(`${name}: expected an object keyed by ${what}, got ${describe(raw)}`);
      return entries;
    }
    const keys = Object.keys(raw);
    if (keys.length > MAX_ENTRIES)
      problems.push(`${name}: at most ${MAX_ENTRIES} entries, got ${keys.length}`);
    for (const key of keys.slice(0, MAX_ENTRIES)) {
      const path = `${name}.${key.slice(0, 80)}`;
      if (!id.test(key)) {
        problems.push(`${path}: not ${what}`);
        continue;
      }
      const entry = parseEntry(raw[key], path, catalogue, problems);
      if (entry) entries.set(key, entry);
    }
    return entries;
  };
  const organizationalUnits = section(
    'organizationalUnits',
    new RegExp(`${ORGANIZATIONAL_UNIT_ID.source}|${ROOT_ID.source}`),
    'an organizational unit id (ou-…) or root id (r-…)',
  );
  const accounts = section('accounts', ACCOUNT_ID, 'a 12-digit AWS account id');
  if (problems.length > 0) throw new AccountSettingsError(problems);
  return { organizationalUnits, accounts };
}

function parseEntry(
  raw: JsonValue | undefined,
  path: string,
  catalogue: ActionCatalogue,
  problems: string[],
): ScopeSettings | undefined {
  if (!isObject(raw)) {
    problems.push(`${path}: expected an object, got ${describe(raw)}`);
    return undefined;
  }
  const before = problems.length;
  for (const key of Object.keys(raw)) {
    if (!ENTRY_KEYS.has(key)) {
      problems.push(
        `${path}: unknown key ${JSON.stringify(key.slice(0, 80))}; only "restrictedActions", "approvers", "slackChannelId" and "approvalTimeoutSeconds" are allowed`,
      );
    }
  }
  const entry: {
    -readonly [K in keyof ScopeSettings]: ScopeSettings[K];
  } = {};
  if (Object.hasOwn(raw, 'restrictedActions')) {
    try {
      const entries = parseRestrictedEntries(raw.restrictedActions, `${path}.restrictedActions`);
      entry.restrictedEntries = entries;
      entry.restricted = resolveRestrictedActions(entries, catalogue);
    } catch (error) {
      const message = error instanceof PolicyGateError ? error.message : String(error);
      problems.push(message.startsWith(path) ? message : `${path}.restrictedActions: ${message}`);
    }
  }
  if (Object.hasOwn(raw, 'approvers')) {
    const approvers = raw.approvers;
    if (!isObject(approvers)) {
      problems.push(`${path}.approvers: expected an object, got ${describe(approvers)}`);
    } else {
      for (const key of Object.keys(approvers)) {
        if (!APPROVER_KEYS.has(key)) {
          problems.push(
            `${path}.approvers: unknown key ${JSON.stringify(key.slice(0, 80))}; only "slackUserIds" and "slackUsergroupIds" are allowed`,
          );
        }
      }
      const list = (name: string, pattern: RegExp, what: string): string[] => {
        if (!Object.hasOwn(approvers, name)) return [];
        const items = approvers[name];
        if (!Array.isArray(items)) {
          problems.push(`${path}.approvers.${name}: expected an array, got ${describe(items)}`);
          return [];
        }
        if (items.length > MAX_LIST) problems.push(`${path}.approvers.${name}: at most ${MAX_LIST} ids`);
        const ids: string[] = [];
        items.slice(0, MAX_LIST).forEach((item, index) => {
          if (typeof item === 'string' && pattern.test(item)) ids.push(item);
          else problems.push(`${path}.approvers.${name}[${index}]: not ${what}, got ${describe(item)}`);
        });
        return [...new Set(ids)];
      };
      const slackUserIds = list('slackUserIds', SLACK_USER_ID, 'a Slack user id (U…/W…)');
      const slackUsergroupIds = list('slackUsergroupIds', SLACK_USERGROUP_ID, 'a Slack user group id (S…)');
      if (slackUserIds.length === 0 && slackUsergroupIds.length === 0) {
        problems.push(`${path}.approvers: names nobody; list at least one Slack user or user group`);
      }
      entry.approvers = { slackUserIds, slackUsergroupIds };
    }
  }
  if (Object.hasOwn(raw, 'slackChannelId')) {
    const channel = raw.slackChannelId;
    if (typeof channel === 'string' && SLACK_CHANNEL_ID.test(channel)) entry.slackChannelId = channel;
    else problems.push(`${path}.slackChannelId: not a Slack channel id (C…/G…), got ${describe(channel)}`);
  }
  if (Object.hasOwn(raw, 'approvalTimeoutSeconds')) {
    const seconds = raw.approvalTimeoutSeconds;
    if (
      typeof seconds === 'number' &&
      Number.isInteger(seconds) &&
      seconds >= MIN_APPROVAL_TIMEOUT &&
      seconds <= MAX_APPROVAL_TIMEOUT
    ) {
      entry.approvalTimeoutSeconds = seconds;
    } else {
      problems.push(
        `${path}.approvalTimeoutSeconds: must be a whole number from ${MIN_APPROVAL_TIMEOUT} to ${MAX_APPROVAL_TIMEOUT}, got ${describe(seconds)}`,
      );
    }
  }
  return problems.length === before ? entry : undefined;
}

/**
 * The settings that apply to `accountId`, field by field: the account's own entry, else the nearest OU
 * in `path` (the account's parents, nearest first, the root last) that sets the field, else the stage's.
 * Approvers are taken whole from one level, never merged, so an approver of OU A never decides for an
 * account of OU B because both lists were joined.
 */
export function resolveAccountSettings(
  settings: AccountSettings,
  accountId: string,
  path: readonly string[],
  stage: StageSettings,
): ResolvedAccountSettings {
  const levels: Array<[string, ScopeSettings]> = [];
  const own = settings.accounts.get(accountId);
  if (own) levels.push([`account ${accountId}`, own]);
  for (const id of path) {
    const entry = settings.organizationalUnits.get(id);
    if (entry) levels.push([id, entry]);
  }
  const pick = <K extends 'restricted' | 'approvers' | 'slackChannelId' | 'approvalTimeoutSeconds'>(
    field: K,
  ): [string, ScopeSettings[K] | undefined] => {
    for (const [from, entry] of levels) {
      if (entry[field] !== undefined) return [from, entry[field]];
    }
    return ['stage', undefined];
  };
  const [restrictedFrom, restricted] = pick('restricted');
  const [approversFrom, approvers] = pick('approvers');
  const [channelFrom, slackChannelId] = pick('slackChannelId');
  const [timeoutFrom, approvalTimeoutSeconds] = pick('approvalTimeoutSeconds');
  const channel = slackChannelId ?? stage.slackChannelId;
  return {
    restricted: restricted ?? stage.restricted,
    approvers: approvers ?? stage.approvers,
    ...(channel !== undefined && { slackChannelId: channel }),
    approvalTimeoutSeconds: approvalTimeoutSeconds ?? stage.approvalTimeoutSeconds,
    from: {
      restricted: restrictedFrom,
      approvers: approversFrom,
      slackChannelId: channelFrom,
      approvalTimeoutSeconds: timeoutFrom,
    },
  };
}
