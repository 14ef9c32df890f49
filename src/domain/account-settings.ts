/**
 * SHARED PARSER (issue 13): the per-account settings document, `{ defaults?, organizationalUnits?, accounts? }`.
 * This is the minimal version the deploy-time check (scripts/organization-guard.js) calls; the runtime's
 * resolution (which settings apply to an account, falling back to the stage's) lives beside it in the
 * workflow's branch, and the two are reconciled at merge. Keep {@link parseAccountSettings}'s signature.
 *
 * The document is operator-written but steers who may approve a change and where it is shown, so it is read
 * strictly: duplicate keys, unknown keys and malformed ids are errors, never ignored, so a typo cannot drop
 * an account's approvers back to the stage's without anyone noticing.
 */
import { PolicyGateError } from '../errors';
import { SLACK_USER_ID, SLACK_USERGROUP_ID } from './approvers';
import { type JsonValue, parseStrictJson } from './json-strict';

/** The settings an organizational unit or an account may override; every key optional. */
export interface Settings {
  /** IAM actions / wildcards, as in the stage's restrictedActions (a leading `!` marks a critical one). */
  readonly restrictedActions?: readonly string[];
  readonly approverSlackUserIds?: readonly string[];
  readonly approverSlackUsergroupIds?: readonly string[];
  readonly slackChannelId?: string;
  readonly approvalTimeoutSeconds?: number;
}

/** The whole document, by organizational unit id (`ou-…`) and by 12-digit account id. */
export interface AccountSettings {
  readonly defaults?: Settings;
  readonly organizationalUnits?: Readonly<Record<string, Settings>>;
  readonly accounts?: Readonly<Record<string, Settings>>;
}

/** A settings document that cannot be used; the message names the path of the first problem. */
export class AccountSettingsError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AccountSettingsError';
  }
}

/** `ou-` + the root's 4–32 lower-case letters or digits + `-` + 8–32 of them (Organizations' own pattern). */
export const ORGANIZATIONAL_UNIT_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
export const ACCOUNT_ID = /^\d{12}$/;
const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,}$/;
const RESTRICTED_ACTION = /^!?[a-z0-9*?-]+:[a-z0-9*?-]+$/i;
// As the stage's APPROVAL_TIMEOUT_SECONDS: below a minute nobody can answer, Step Functions stops at a year.
const MIN_TIMEOUT = 60;
const MAX_TIMEOUT = 365 * 24 * 3600;
/** Far above any real organization's document; it only bounds the work a document can cause. */
const LIMITS = { maxLength: 262_144, maxDepth: 8 } as const;

const TOP_KEYS = ['defaults', 'organizationalUnits', 'accounts'] as const;
const SETTINGS_KEYS = [
  'restrictedActions',
  'approverSlackUserIds',
  'approverSlackUsergroupIds',
  'slackChannelId',
  'approvalTimeoutSeconds',
] as const;

/**
 * Parses and validates the settings document (JSON text: the ACCOUNT_SETTINGS variable, or a YAML file the
 * deploy check turned into JSON). Throws {@link AccountSettingsError} naming the path of the problem.
 */
export function parseAccountSettings(text: string): AccountSettings {
  let value: JsonValue;
  try {
    value = parseStrictJson(text, LIMITS, 'account settings document');
  } catch (error) {
    throw new AccountSettingsError(`account settings: ${(error as Error).message}`, { cause: error });
  }
  const top = object(value, '(document)');
  onlyKeys(top, TOP_KEYS, '(document)');
  const result: {
    defaults?: Settings;
    organizationalUnits?: Record<string, Settings>;
    accounts?: Record<string, Settings>;
  } = {};
  if (top.defaults !== undefined) result.defaults = settings(top.defaults, 'defaults');
  if (top.organizationalUnits !== undefined) {
    result.organizationalUnits = byId(
      top.organizationalUnits,
      'organizationalUnits',
      ORGANIZATIONAL_UNIT_ID,
      'an organizational unit id (ou-xxxx-yyyyyyyy)',
    );
  }
  if (top.accounts !== undefined) {
    result.accounts = byId(top.accounts, 'accounts', ACCOUNT_ID, 'a 12-digit account id');
  }
  return result;
}

function byId(value: JsonValue, path: string, pattern: RegExp, what: string): Record<string, Settings> {
  const entries = object(value, path);
  const result: Record<string, Settings> = {};
  for (const [id, inner] of Object.entries(entries)) {
    if (!pattern.test(id)) fail(`${path}: ${JSON.stringify(id)} is not ${what}`);
    // defineProperty: an id can never be "__proto__" (the patterns refuse it), but stay a plain record.
    Object.defineProperty(result, id, {
      value: settings(inner, `${path}.${id}`),
      enumerable: true,
      writable: false,
    });
  }
  return result;
}

function settings(value: JsonValue, path: string): Settings {
  const entries = object(value, path);
  onlyKeys(entries, SETTINGS_KEYS, path);
  const result: {
    restrictedActions?: string[];
    approverSlackUserIds?: string[];
    approverSlackUsergroupIds?: string[];
    slackChannelId?: string;
    approvalTimeoutSeconds?: number;
  } = {};
  if (entries.restrictedActions !== undefined) {
    result.restrictedActions = strings(
      entries.restrictedActions,
      `${path}.restrictedActions`,
      RESTRICTED_ACTION,
      'an IAM action or wildcard (service:Action)',
    );
    if (result.restrictedActions.length === 0) {
      // An empty list would mean "nothing is risky" for the account: say so explicitly or leave it out.
      fail(`${path}.restrictedActions: is empty; leave it out to use the stage's list`);
    }
  }
  if (entries.approverSlackUserIds !== undefined) {
    result.approverSlackUserIds = strings(
      entries.approverSlackUserIds,
      `${path}.approverSlackUserIds`,
      SLACK_USER_ID,
      'a Slack user id (U…/W…)',
    );
  }
  if (entries.approverSlackUsergroupIds !== undefined) {
    result.approverSlackUsergroupIds = strings(
      entries.approverSlackUsergroupIds,
      `${path}.approverSlackUsergroupIds`,
      SLACK_USERGROUP_ID,
      'a Slack user group id (S…)',
    );
  }
  if (entries.slackChannelId !== undefined) {
    const channel = entries.slackChannelId;
    if (typeof channel !== 'string' || !SLACK_CHANNEL_ID.test(channel)) {
      fail(`${path}.slackChannelId: ${JSON.stringify(channel)} is not a Slack channel id (C…/G…)`);
    }
    result.slackChannelId = channel;
  }
  if (entries.approvalTimeoutSeconds !== undefined) {
    const seconds = entries.approvalTimeoutSeconds;
    if (
      typeof seconds !== 'number' ||
      !Number.isInteger(seconds) ||
      seconds < MIN_TIMEOUT ||
      seconds > MAX_TIMEOUT
    ) {
      fail(
        `${path}.approvalTimeoutSeconds: must be a whole number from ${MIN_TIMEOUT} to ${MAX_TIMEOUT}, got ${JSON.stringify(seconds)}`,
      );
    }
    result.approvalTimeoutSeconds = seconds;
  }
  return result;
}

function strings(value: JsonValue, path: string, pattern: RegExp, what: string): string[] {
  if (!Array.isArray(value)) fail(`${path}: expected a list, got ${describe(value)}`);
  return value.map((item, index) => {
    if (typeof item !== 'string' || !pattern.test(item)) {
      fail(`${path}[${index}]: ${JSON.stringify(item)} is not ${what}`);
    }
    return item;
  });
}

function object(value: JsonValue, path: string): { [key: string]: JsonValue } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${path}: expected an object, got ${describe(value)}`);
  }
  return value;
}

function onlyKeys(value: { [key: string]: JsonValue }, allowed: readonly string[], path: string): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    fail(
      `${path}: unknown key(s) ${unknown.map((key) => JSON.stringify(key)).join(', ')}; allowed: ${allowed.join(', ')}`,
    );
  }
}

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function fail(message: string): never {
  throw new AccountSettingsError(`account settings: ${message}`);
}
