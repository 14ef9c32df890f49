import { loadGeneratedCatalogue } from './domain/catalogue-data';
import {
  defaultRestrictedEntries,
  parseRestrictedText,
  type RestrictedActionSet,
  type RestrictedEntry,
  resolveRestrictedActions,
} from './domain/restricted-actions';
import { ConfigError } from './errors';

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
  readonly slackChannelId?: string;
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
  const ownRoleArns = (env.OWN_ROLE_ARNS ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter((arn) => arn !== '');
  for (const arn of ownRoleArns) {
    if (!/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(arn))
      problems.push(`OWN_ROLE_ARNS: ${JSON.stringify(arn)} is not an IAM role ARN`);
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
  if (problems.length > 0 || !restricted) {
    throw new ConfigError(`invalid PolicyGate configuration: ${problems.join('; ')}`);
  }
  const slackChannelId = env.SLACK_CHANNEL_ID?.trim();
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
    ...(slackChannelId ? { slackChannelId } : {}),
  };
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
