import { ConfigError } from '../errors';

/**
 * The Slack app manifest for PolicyGate (app manifest schema v1, the JSON pasted into "Create New App ->
 * From an app manifest" at https://api.slack.com/apps). Pure: no I/O, no environment.
 */

/**
 * Bot token scopes PolicyGate needs, and nothing more. Each scope is here for the Web API methods named:
 *
 * - `chat:write`        chat.postMessage (approval request), chat.update (decision recorded on the
 *                       request), chat.postEphemeral (telling a clicker they may not decide)
 * - `users:read`        users.info (who clicked, to check against the approvers)
 * - `users:read.email`  users.info returning `profile.email` (approvers may be listed by e-mail)
 * - `usergroups:read`   usergroups.users.list (approvers may be a Slack user group)
 * - `channels:history`  conversations.history in a public approval channel, `groups:history` in a
 *   `groups:history`    private one: after a post whose answer was lost, the request message is looked
 *                       for by its metadata before posting again, so it never shows twice
 *
 * Deliberately absent: `chat:write.public` (the bot is invited to the approval channel instead, so it can
 * post only where an admin put it) and every user scope (PolicyGate never acts as a person).
 */
export const SLACK_BOT_SCOPES = [
  'chat:write',
  'users:read',
  'users:read.email',
  'usergroups:read',
  'channels:history',
  'groups:history',
] as const;

export type SlackBotScope = (typeof SLACK_BOT_SCOPES)[number];

/** Limits from the manifest schema (display_information.name, .description; features.bot_user.display_name). */
export const MAX_APP_NAME_LENGTH = 35;
export const MAX_DESCRIPTION_LENGTH = 140;
export const MAX_BOT_DISPLAY_NAME_LENGTH = 80;
/** settings.interactivity.request_url */
export const MAX_REQUEST_URL_LENGTH = 3500;

/** The subset of the manifest schema v1 that PolicyGate fills in. */
export interface SlackAppManifest {
  _metadata: { major_version: 1; minor_version: 1 };
  display_information: {
    name: string;
    description: string;
    background_color: string;
  };
  features: {
    bot_user: { display_name: string; always_online: false };
  };
  oauth_config: {
    scopes: { bot: SlackBotScope[] };
  };
  settings: {
    interactivity: { is_enabled: true; request_url: string };
    org_deploy_enabled: false;
    socket_mode_enabled: false;
    token_rotation_enabled: false;
  };
}

export interface SlackAppManifestOptions {
  /** Deployment stage, e.g. `dev`, `prod`; shown in the app and bot names. */
  stage: string;
  /** Where Slack posts button clicks: the deployed `slackInteractivity` Function URL. */
  interactivityUrl: string;
  /** App name override; default `PolicyGate (<stage>)`. */
  appName?: string;
}

// Stages become part of a CloudFormation stack name (`policy-gate-<stage>`), which allows only these.
const STAGE_PATTERN = /^[A-Za-z0-9-]+$/;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);
const BACKGROUND_COLOUR = '#1f3a5f';

/**
 * Builds PolicyGate's Slack app manifest for one stage.
 *
 * @throws ConfigError when the stage, app name or interactivity URL is not acceptable to Slack (name over
 * 35 characters, URL not https, ...).
 */
export function slackAppManifest(options: SlackAppManifestOptions): SlackAppManifest {
  const stage = options.stage;
  if (!STAGE_PATTERN.test(stage)) {
    throw new ConfigError(
      `invalid stage ${JSON.stringify(stage)}: use letters, digits and hyphens only (it names the stack policy-gate-<stage>)`,
    );
  }
  const name = validAppName(options.appName ?? `PolicyGate (${stage})`, options.appName === undefined);
  const description = `Asks for approval of risky AWS IAM policy changes quarantined by PolicyGate (${stage}).`;
  if (description.length > MAX_DESCRIPTION_LENGTH) {
    throw new ConfigError(
      `app description would be ${description.length} characters, Slack allows ${MAX_DESCRIPTION_LENGTH}: use a shorter stage`,
    );
  }
  const botName = `policygate-${stage.toLowerCase()}`;
  if (botName.length > MAX_BOT_DISPLAY_NAME_LENGTH) {
    throw new ConfigError(
      `bot display name ${botName} is over ${MAX_BOT_DISPLAY_NAME_LENGTH} characters: use a shorter stage`,
    );
  }
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: { name, description, background_color: BACKGROUND_COLOUR },
    features: { bot_user: { display_name: botName, always_online: false } },
    oauth_config: { scopes: { bot: [...SLACK_BOT_SCOPES] } },
    settings: {
      interactivity: { is_enabled: true, request_url: validInteractivityUrl(options.interactivityUrl) },
      org_deploy_enabled: false,
      socket_mode_enabled: false,
      token_rotation_enabled: false,
    },
  };
}

function validAppName(name: string, derived: boolean): string {
  if (name.trim() === '') throw new ConfigError('app name must not be empty');
  if (name !== name.trim()) throw new ConfigError(`app name ${JSON.stringify(name)} has surrounding spaces`);
  if (name.length > MAX_APP_NAME_LENGTH) {
    const fix = derived ? 'use a shorter stage or give an app name' : 'use a shorter name';
    throw new ConfigError(
      `app name ${JSON.stringify(name)} is ${name.length} characters, Slack allows ${MAX_APP_NAME_LENGTH}: ${fix}`,
    );
  }
  return name;
}

/**
 * Slack only posts interactions to https URLs. Plain http is let through for loopback hosts so the manifest
 * can be tried against a local listener behind a tunnel; anything else would send signed payloads in clear.
 */
function validInteractivityUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`interactivity URL ${JSON.stringify(text)} is not a valid URL`);
  }
  // Checked first so the error messages below never echo a password.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError('interactivity URL must not contain a user name or password');
  }
  const local = url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !local) {
    throw new ConfigError(
      `interactivity URL ${JSON.stringify(text)} must use https (http is allowed only for 127.0.0.1 and localhost)`,
    );
  }
  if (url.hash !== '') {
    throw new ConfigError(`interactivity URL ${JSON.stringify(text)} must not have a #fragment`);
  }
  if (url.href.length > MAX_REQUEST_URL_LENGTH) {
    throw new ConfigError(`interactivity URL is over ${MAX_REQUEST_URL_LENGTH} characters`);
  }
  return url.href;
}
