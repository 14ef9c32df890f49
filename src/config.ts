import { readFileSync } from 'node:fs';
import { type AccountSettings, NO_ACCOUNT_SETTINGS, parseAccountSettings } from './domain/account-settings';
import { readBundledAccountSettings } from './domain/account-settings-data';
import { type IdentityMap, parseIdentityMap, SLACK_USER_ID, SLACK_USERGROUP_ID } from './domain/approvers';
import type { AttributionSettings } from './domain/attribution';
import { loadGeneratedCatalogue } from './domain/catalogue-data';
import {
  defaultRestrictedEntries,
  parseRestrictedText,
  type RestrictedActionSet,
  type RestrictedEntry,
  resolveRestrictedActions,
} from './domain/restricted-actions';
import { AccountSettingsError, ConfigError } from './errors';

/** PolicyGate's runtime settings, read from the environment once and validated as a whole. */
export interface Config {
  readonly stage: string;
  readonly region: string;
  readonly approvalsTable: string;
  readonly alertTopicArn: string;
  readonly restrictedEntries: readonly RestrictedEntry[];
  /** The restricted list, validated and expanded against the IAM action catalogue. */
  readonly restricted: RestrictedActionSet;
  readonly approvalTimeoutSeconds: number;
  readonly retentionDays: number;
  readonly ownRoleArns: readonly string[];
  /** The stack's deployer role: its changes to PolicyGate's own roles are a notice, not a critical alert. */
  readonly deployerRoleArn?: string;
  /** Seconds before a "not in force" verdict is checked again (IAM is eventually consistent); 0 = never. */
  readonly recheckDelaySeconds: number;
  readonly slackChannelId?: string;
  /** Secrets Manager secret holding the bot token (`xoxb-…`) as plain text; every Slack-posting function. */
  readonly slackBotTokenSecretArn?: string;
  /** Secrets Manager secret holding the signing secret as plain text; only the interactivity function. */
  readonly slackSigningSecretArn?: string;
  /** How long a secret read is used before it is read again (a rotation takes effect within it). */
  readonly slackSecretCacheSeconds: number;
  /** The installed workspace and app; set (and required) wherever the signing secret is. */
  readonly slackWorkspace?: SlackWorkspace;
  /** Bolt's `slackApiUrl`: Slack's own API unless set (a proxy, or the local stand-in). */
  readonly slackApiUrl?: string;
  /** Slack delivery pacing: least milliseconds between two posts to the channel (Slack: about 1 s). */
  readonly slackPostIntervalMs: number;
  /** How long one run of the Slack delivery worker keeps draining the backlog; 0 = one batch per run. */
  readonly slackDeliveryBudgetSeconds: number;
  /**
   * Changes by one actor within this many seconds share one Slack message (issue 12); 0 = every request
   * gets a message of its own.
   */
  readonly slackGroupWindowSeconds: number;
  /** How long a group message may wait on its first poster before another member takes over (issue 12). */
  readonly slackGroupTakeoverSeconds: number;
  /** Slack users who may decide. */
  readonly approverSlackUserIds: readonly string[];
  /** Slack user groups whose members may decide. */
  readonly approverSlackUsergroupIds: readonly string[];
  /** How long user-group membership is cached; 0 reads it on every click. */
  readonly approverCacheSeconds: number;
  /** IAM identity → Slack user id / e-mail, for the self-approval check. */
  readonly identityMap: IdentityMap;
  /** KMS HMAC key of the record and quarantine seals (only AnalyseChange may generate with it). */
  readonly recordSealKeyId?: string;
  /** KMS HMAC key of the decision seals (only the deciding functions may generate with it). */
  readonly decisionSealKeyId?: string;
  /** The e-mail decision channel's settings (links, page, address, mode). */
  readonly emailDecisions: EmailDecisionConfig;
  /** The identity map's role declarations: service identities and person-session roles. */
  readonly attribution: AttributionSettings;
  /** The reconciliation sweep's settings; absent for every other function (their stack sets none). */
  readonly sweep?: SweepConfig;
  /**
   * The account PolicyGate runs in (`ACCOUNT_ID`, else the one account `OWN_ROLE_ARNS` name). Events for
   * any other account are refused unless the stage gates an organization that has it.
   */
  readonly accountId?: string;
  /** Set when the stage gates a whole AWS Organization (`ORGANIZATION_ID`). */
  readonly organization?: OrganizationConfig;
  /**
   * Per-OU and per-account settings (bundled beside the code with `ACCOUNT_SETTINGS_BUNDLED`, or
   * `ACCOUNT_SETTINGS` / `ACCOUNT_SETTINGS_FILE`); none by default.
   */
  readonly accountSettings: AccountSettings;
}

/** The organization a central PolicyGate gates, and how it acts in member accounts. */
export interface OrganizationConfig {
  /** `aws:PrincipalOrgID`, `o-…`. */
  readonly organizationId: string;
  /**
   * The member stack's roles' common name in every member account (default `policy-gate-member`): each
   * function assumes its own, `<name>-quarantine`, `-restore` or `-read` (`memberRoleNameFor`).
   */
  readonly memberRoleName: string;
  /** The external id the member role's trust policy requires. */
  readonly memberRoleExternalId: string;
  /** How long the organization's account list is trusted (an account that left is refused within it). */
  readonly accountsCacheSeconds: number;
}

/**
 * E-mail decisions: `off` sends no links and the page decides nothing; `deny-only` sends and honours only
 * Deny links; `on` (the default) also approves a change that needs a single approver.
 */
export type EmailDecisionMode = 'off' | 'deny-only' | 'on';

export interface EmailDecisionConfig {
  readonly mode: EmailDecisionMode;
  /** The address the links are sent to (the stage's alert e-mail); no address, no e-mail decisions. */
  readonly address?: string;
  /** KMS HMAC key of the links: the request-approval function generates, the page verifies. */
  readonly linkKeyId?: string;
  /** KMS HMAC key of the page's form tokens: only the page uses it. */
  readonly formKeyId?: string;
  /** The decision page (its Function URL, ending in `/`). */
  readonly pageUrl?: string;
}

/** The one workspace (and app) whose clicks PolicyGate accepts. */
export interface SlackWorkspace {
  /** The workspace, `T…`. */
  readonly teamId: string;
  /** The Enterprise Grid organisation, `E…`, when the workspace is in one. */
  readonly enterpriseId?: string;
  /** The Slack app, `A…`. */
  readonly appId: string;
}

/** Slack's id formats for the workspace settings (upper-case letters and digits after the prefix). */
export const SLACK_TEAM_ID = /^T[A-Z0-9]{2,31}$/;
export const SLACK_ENTERPRISE_ID = /^E[A-Z0-9]{2,31}$/;
export const SLACK_APP_ID = /^A[A-Z0-9]{2,31}$/;

/** What only the reconciliation sweep needs. */
export interface SweepConfig {
  readonly accountId: string;
  readonly stateMachineArn: string;
  readonly stateTable: string;
  readonly deadLetterQueueUrl: string;
  /** An organization's sweep examines at most this many member accounts per run (`SWEEP_MAX_ACCOUNTS_PER_RUN`). */
  readonly maxAccountsPerRun: number;
  /**
   * A run starts no further member account after this many seconds (`SWEEP_RUN_BUDGET_SECONDS`, default
   * 240: the function's 300-second timeout less the time one account may take).
   */
  readonly runBudgetSeconds: number;
  /** A cycle through every member account longer than this is alarmed (`SWEEP_CYCLE_MAX_SECONDS`, default 6 h). */
  readonly cycleMaxSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

// Step Functions caps a task's timeout at one year; below a minute nobody can answer in time.
const MIN_TIMEOUT = 60;
const MAX_TIMEOUT = 365 * 24 * 3600;

/**
 * Validates the environment and returns the configuration. Every problem is reported at once, so an
 * operator fixes a stage in one deploy rather than one variable at a time.
 */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is required`);
    return value ?? '';
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };

  const approvalsTable = required('APPROVALS_TABLE');
  const alertTopicArn = required('ALERT_TOPIC_ARN');
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || 'us-east-1';
  const approvalTimeoutSeconds = integer('APPROVAL_TIMEOUT_SECONDS', 86_400, MIN_TIMEOUT, MAX_TIMEOUT);
  const retentionDays = integer('RETENTION_DAYS', 90, 1, 3650);
  // A comma-separated list; every entry must match `pattern`.
  const list = (name: string, pattern: RegExp, what: string): string[] => {
    const entries = (env[name] ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    for (const entry of entries) {
      if (!pattern.test(entry)) problems.push(`${name}: ${JSON.stringify(entry)} is not ${what}`);
    }
    return entries;
  };
  const ownRoleArns = list('OWN_ROLE_ARNS', /^arn:aws[a-z-]*:(iam|sts)::\d{12}:/, 'an IAM role ARN');
  const deployer = list('DEPLOYER_ROLE_ARN', /^arn:aws[a-z-]*:iam::\d{12}:role\/./, 'an IAM role ARN');
  if (deployer.length > 1) problems.push('DEPLOYER_ROLE_ARN takes one role ARN');
  const deployerRoleArn = deployer[0];
  // Step Functions' Wait accepts up to a year; a day is the longest delay that still helps anyone.
  const recheckDelaySeconds = integer('RECHECK_DELAY_SECONDS', 300, 0, 86_400);
  const approverSlackUserIds = list('APPROVER_SLACK_USER_IDS', SLACK_USER_ID, 'a Slack user id (U…/W…)');
  const approverSlackUsergroupIds = list(
    'APPROVER_SLACK_USERGROUP_IDS',
    SLACK_USERGROUP_ID,
    'a Slack user group id (S…)',
  );
  const approverCacheSeconds = integer('APPROVER_CACHE_SECONDS', 60, 0, 3600);
  const identities = parseIdentityMap(env.IAM_SLACK_IDENTITY_MAP);
  for (const problem of identities.problems) problems.push(`IAM_SLACK_IDENTITY_MAP ${problem}`);
  const slackApiUrl = env.SLACK_API_URL?.trim();
  if (slackApiUrl && !/^https?:\/\/[^/]+\/.*\/$/.test(slackApiUrl)) {
    problems.push(`SLACK_API_URL must be an http(s) URL ending in "/", got ${JSON.stringify(slackApiUrl)}`);
  }
  let restrictedEntries: RestrictedEntry[] = [];
  let restricted: RestrictedActionSet | undefined;
  try {
    const raw = env.RESTRICTED_ACTIONS?.trim();
    restrictedEntries = raw
      ? parseRestrictedText(raw.split(',').join('\n'), 'RESTRICTED_ACTIONS')
      : defaultRestrictedEntries();
    restricted = resolveRestrictedActions(restrictedEntries, loadGeneratedCatalogue());
  } catch (error) {
    problems.push((error as Error).message);
  }
  const slackChannelId = env.SLACK_CHANNEL_ID?.trim();
  if (slackChannelId && !/^[CG][A-Z0-9]{2,}$/.test(slackChannelId)) {
    problems.push(
      `SLACK_CHANNEL_ID must be a Slack channel id (C…/G…), got ${JSON.stringify(slackChannelId)}`,
    );
  }
  const keyId = (name: string): string | undefined => {
    const value = env[name]?.trim();
    if (!value) return undefined;
    // A key ARN, a key id, or an alias (ARN or name), as KMS accepts them.
    if (
      !/^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+|[0-9a-f-]{36}|alias\/[A-Za-z0-9/_-]+)$/.test(
        value,
      )
    ) {
      problems.push(`${name} must be a KMS key ARN, key id or alias, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const recordSealKeyId = keyId('RECORD_SEAL_KEY_ID');
  const decisionSealKeyId = keyId('DECISION_SEAL_KEY_ID');
  const emailDecisions = emailDecisionConfig(env, problems, keyId);
  const secretArn = (name: string): string | undefined => {
    const value = env[name]?.trim();
    if (
      value &&
      !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(value)
    ) {
      problems.push(`${name} must be a Secrets Manager secret ARN, got ${JSON.stringify(value)}`);
    }
    return value || undefined;
  };
  const slackBotTokenSecretArn = secretArn('SLACK_BOT_TOKEN_SECRET_ARN');
  const slackSigningSecretArn = secretArn('SLACK_SIGNING_SECRET_ARN');
  const slackSecretCacheSeconds = integer('SLACK_SECRET_CACHE_SECONDS', 300, 0, 3600);
  const slackPostIntervalMs = integer('SLACK_POST_INTERVAL_MS', 1000, 1, 60_000);
  const slackDeliveryBudgetSeconds = integer('SLACK_DELIVERY_BUDGET_SECONDS', 0, 0, 840);
  const slackGroupWindowSeconds = integer('SLACK_GROUP_WINDOW_SECONDS', 0, 0, 3600);
  const slackGroupTakeoverSeconds = integer('SLACK_GROUP_TAKEOVER_SECONDS', 120, 1, 3600);
  const slackWorkspace = slackSigningSecretArn ? workspaceConfig(env, problems) : undefined;
  const sweep = sweepConfig(env, problems);
  const accountId = centralAccount(env, ownRoleArns, problems);
  const organization = organizationConfig(env, problems, integer);
  const accountSettings = accountSettingsConfig(env, problems);
  if (problems.length > 0 || !restricted) {
    throw new ConfigError(`invalid PolicyGate configuration: ${problems.join('; ')}`);
  }
  return {
    stage: env.STAGE?.trim() || 'dev',
    region,
    approvalsTable,
    alertTopicArn,
    restrictedEntries,
    restricted,
    approvalTimeoutSeconds,
    retentionDays,
    ownRoleArns,
    ...(deployerRoleArn ? { deployerRoleArn } : {}),
    recheckDelaySeconds,
    ...(slackChannelId ? { slackChannelId } : {}),
    ...(slackBotTokenSecretArn ? { slackBotTokenSecretArn } : {}),
    ...(slackSigningSecretArn ? { slackSigningSecretArn } : {}),
    slackSecretCacheSeconds,
    slackPostIntervalMs,
    slackDeliveryBudgetSeconds,
    slackGroupWindowSeconds,
    slackGroupTakeoverSeconds,
    ...(slackWorkspace && { slackWorkspace }),
    ...(slackApiUrl ? { slackApiUrl } : {}),
    approverSlackUserIds,
    approverSlackUsergroupIds,
    approverCacheSeconds,
    identityMap: identities.map,
    ...(recordSealKeyId && { recordSealKeyId }),
    ...(decisionSealKeyId && { decisionSealKeyId }),
    emailDecisions,
    attribution: {
      serviceRoles: identities.serviceRoles,
      personSessionRoles: identities.personSessionRoles,
    },
    ...(sweep && { sweep }),
    ...(accountId && { accountId }),
    ...(organization && { organization }),
    accountSettings,
  };
}

/** `ACCOUNT_ID`, else the account all of `OWN_ROLE_ARNS` are in (the stack sets them), else none. */
function centralAccount(env: Env, ownRoleArns: readonly string[], problems: string[]): string | undefined {
  const raw = env.ACCOUNT_ID?.trim();
  if (raw) {
    if (!/^\d{12}$/.test(raw))
      problems.push(`ACCOUNT_ID must be a 12-digit AWS account id, got ${JSON.stringify(raw)}`);
    return raw;
  }
  const accounts = new Set(ownRoleArns.map((arn) => arn.split(':')[4] ?? ''));
  const [only] = accounts;
  return accounts.size === 1 && only && /^\d{12}$/.test(only) ? only : undefined;
}

/** The organization settings when `ORGANIZATION_ID` is set; the external id is then required. */
function organizationConfig(
  env: Env,
  problems: string[],
  integer: (name: string, fallback: number, min: number, max: number) => number,
): OrganizationConfig | undefined {
  const organizationId = env.ORGANIZATION_ID?.trim();
  if (!organizationId) return undefined;
  if (!/^o-[a-z0-9]{10,32}$/.test(organizationId)) {
    problems.push(`ORGANIZATION_ID must be an organization id (o-…), got ${JSON.stringify(organizationId)}`);
  }
  const memberRoleName = env.MEMBER_ROLE_NAME?.trim() || 'policy-gate-member';
  // The member roles are this name and -quarantine, -restore or -read, within IAM's 64 characters.
  if (!/^[\w+=,.@-]{1,53}$/.test(memberRoleName)) {
    problems.push(
      `MEMBER_ROLE_NAME must be an IAM role name of at most 53 characters, got ${JSON.stringify(memberRoleName)}`,
    );
  }
  const memberRoleExternalId = env.MEMBER_ROLE_EXTERNAL_ID?.trim() ?? '';
  // STS's ExternalId grammar; a short one is guessable, so at least 16 characters.
  if (!/^[\w+=,.@:/-]{16,1224}$/.test(memberRoleExternalId)) {
    problems.push(
      'MEMBER_ROLE_EXTERNAL_ID must be 16 to 1224 characters of [A-Za-z0-9_+=,.@:/-] (required with ORGANIZATION_ID)',
    );
  }
  const accountsCacheSeconds = integer('ORGANIZATION_CACHE_SECONDS', 60, 0, 3600);
  return { organizationId, memberRoleName, memberRoleExternalId, accountsCacheSeconds };
}

/**
 * The per-account settings document: bundled beside the code (`ACCOUNT_SETTINGS_BUNDLED=true`, how a
 * deployed stage gets it), `ACCOUNT_SETTINGS` (JSON text) or `ACCOUNT_SETTINGS_FILE` (a path; local use).
 * One that cannot be read or parsed is a configuration problem: the function refuses to start rather than
 * apply the stage's settings (and its approvers) in an OU that has its own.
 */
function accountSettingsConfig(env: Env, problems: string[]): AccountSettings {
  const text = env.ACCOUNT_SETTINGS?.trim();
  const file = env.ACCOUNT_SETTINGS_FILE?.trim();
  const bundledFlag = env.ACCOUNT_SETTINGS_BUNDLED?.trim() || 'false';
  if (bundledFlag !== 'true' && bundledFlag !== 'false') {
    problems.push(`ACCOUNT_SETTINGS_BUNDLED must be "true" or "false", got ${JSON.stringify(bundledFlag)}`);
    return NO_ACCOUNT_SETTINGS;
  }
  const bundled = bundledFlag === 'true';
  if ([text, file, bundled].filter(Boolean).length > 1) {
    problems.push(
      'set one of ACCOUNT_SETTINGS, ACCOUNT_SETTINGS_FILE and ACCOUNT_SETTINGS_BUNDLED, not several',
    );
    return NO_ACCOUNT_SETTINGS;
  }
  const name = bundled
    ? 'the bundled settings document'
    : file
      ? 'ACCOUNT_SETTINGS_FILE'
      : 'ACCOUNT_SETTINGS';
  let source: string | undefined = text;
  if (bundled) {
    try {
      source = readBundledAccountSettings();
    } catch (error) {
      problems.push(
        `ACCOUNT_SETTINGS_BUNDLED is true but account-settings.json cannot be read beside the code (${(error as Error).message.split('\n')[0]})`,
      );
      return NO_ACCOUNT_SETTINGS;
    }
  }
  if (file) {
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(
        `ACCOUNT_SETTINGS_FILE ${JSON.stringify(file)} cannot be read (${(error as Error).message})`,
      );
      return NO_ACCOUNT_SETTINGS;
    }
  }
  if (!source) return NO_ACCOUNT_SETTINGS;
  try {
    return parseAccountSettings(source, loadGeneratedCatalogue());
  } catch (error) {
    if (!(error instanceof AccountSettingsError)) throw error;
    for (const problem of error.problems) problems.push(`${name} ${problem}`);
    return NO_ACCOUNT_SETTINGS;
  }
}

/** The e-mail decision settings; a malformed one is a problem, never a channel that half works. */
function emailDecisionConfig(
  env: Env,
  problems: string[],
  keyId: (name: string) => string | undefined,
): EmailDecisionConfig {
  const rawMode = env.EMAIL_DECISIONS?.trim() || 'on';
  const modes: readonly EmailDecisionMode[] = ['off', 'deny-only', 'on'];
  const mode = modes.find((m) => m === rawMode);
  if (!mode) problems.push(`EMAIL_DECISIONS must be off, deny-only or on, got ${JSON.stringify(rawMode)}`);
  const address = env.DECISION_EMAIL_ADDRESS?.trim() || undefined;
  if (address && !/^[^\s@<>"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/.test(address)) {
    problems.push(`DECISION_EMAIL_ADDRESS must be an e-mail address, got ${JSON.stringify(address)}`);
  }
  const pageUrl = env.DECISION_PAGE_URL?.trim() || undefined;
  if (pageUrl && !/^https?:\/\/[A-Za-z0-9.:[\]-]+\/$/.test(pageUrl)) {
    problems.push(`DECISION_PAGE_URL must be the page's URL ending in "/", got ${JSON.stringify(pageUrl)}`);
  }
  const linkKeyId = keyId('DECISION_LINK_KEY_ID');
  const formKeyId = keyId('DECISION_FORM_KEY_ID');
  return {
    mode: mode ?? 'off',
    ...(address && { address }),
    ...(linkKeyId && { linkKeyId }),
    ...(formKeyId && { formKeyId }),
    ...(pageUrl && { pageUrl }),
  };
}

/** The workspace settings, required with the signing secret: a click is checked against them. */
function workspaceConfig(env: Env, problems: string[]): SlackWorkspace {
  const value = (name: string, pattern: RegExp, what: string, optional = false): string | undefined => {
    const raw = env[name]?.trim() ?? '';
    if (raw === '' && optional) return undefined;
    if (!pattern.test(raw)) {
      problems.push(
        `${name} must be ${what} (required with SLACK_SIGNING_SECRET_ARN), got ${JSON.stringify(raw)}`,
      );
    }
    return raw;
  };
  const teamId = value('SLACK_TEAM_ID', SLACK_TEAM_ID, 'the Slack workspace id (T…)') ?? '';
  const enterpriseId = value('SLACK_ENTERPRISE_ID', SLACK_ENTERPRISE_ID, 'an Enterprise Grid id (E…)', true);
  const appId = value('SLACK_APP_ID', SLACK_APP_ID, 'the Slack app id (A…)') ?? '';
  return { teamId, appId, ...(enterpriseId && { enterpriseId }) };
}

/** The sweep's settings when `SWEEP_STATE_TABLE` says this is the sweep; all of them are then required. */
function sweepConfig(env: Env, problems: string[]): SweepConfig | undefined {
  const stateTable = env.SWEEP_STATE_TABLE?.trim();
  if (!stateTable) return undefined;
  const value = (name: string, pattern: RegExp, what: string): string => {
    const raw = env[name]?.trim() ?? '';
    if (!pattern.test(raw)) problems.push(`${name} must be ${what}, got ${JSON.stringify(raw)}`);
    return raw;
  };
  return {
    stateTable,
    accountId: value('ACCOUNT_ID', /^\d{12}$/, 'a 12-digit AWS account id'),
    stateMachineArn: value(
      'STATE_MACHINE_ARN',
      /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$/,
      'a state machine ARN',
    ),
    deadLetterQueueUrl: value('DEAD_LETTER_QUEUE_URL', /^https?:\/\/.+/, 'an SQS queue URL'),
    maxAccountsPerRun: maxAccounts(env.SWEEP_MAX_ACCOUNTS_PER_RUN, problems),
    runBudgetSeconds: sweepSeconds(env, 'SWEEP_RUN_BUDGET_SECONDS', 240, 1, 900, problems),
    cycleMaxSeconds: sweepSeconds(env, 'SWEEP_CYCLE_MAX_SECONDS', 21_600, 0, 7 * 86_400, problems),
  };
}

/** A whole number of seconds from `min` to `max`, `fallback` when unset. */
function sweepSeconds(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (Number.isInteger(value) && value >= min && value <= max) return value;
  problems.push(
    `${name} must be a whole number of seconds from ${min} to ${max}, got ${JSON.stringify(text)}`,
  );
  return fallback;
}

/** Default 50: a 300-second run has room for about that many accounts' inventories. */
function maxAccounts(raw: string | undefined, problems: string[]): number {
  const text = raw?.trim();
  if (!text) return 50;
  const value = Number(text);
  if (Number.isInteger(value) && value >= 1 && value <= 1000) return value;
  problems.push(
    `SWEEP_MAX_ACCOUNTS_PER_RUN must be a whole number from 1 to 1000, got ${JSON.stringify(text)}`,
  );
  return 50;
}

let cached: Config | undefined;

/** The process's configuration, read from `process.env` on first use. */
export function config(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}

/** Forgets the cached configuration (tests that change the environment between cases). */
export function resetConfig(): void {
  cached = undefined;
}
