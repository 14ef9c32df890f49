import { ConfigError } from '../../src/errors';
import {
  MAX_APP_NAME_LENGTH,
  SLACK_BOT_SCOPES,
  type SlackAppManifestOptions,
  slackAppManifest,
} from '../../src/slack/manifest';

const URL_OK = 'https://abcdefghijklmnop.lambda-url.us-east-1.on.aws/';

function manifest(overrides: Partial<SlackAppManifestOptions> = {}) {
  return slackAppManifest({ stage: 'dev', interactivityUrl: URL_OK, ...overrides });
}

describe('slackAppManifest: scopes', () => {
  test('asks for exactly the bot scopes of the methods PolicyGate calls, nothing more', () => {
    // Act
    const result = manifest();
    // Assess: chat.postMessage/update/postEphemeral, users.info (+ e-mail), usergroups.users.list,
    // conversations.history (public and private channels)
    expect([...result.oauth_config.scopes.bot].sort()).toEqual(
      [
        'channels:history',
        'chat:write',
        'groups:history',
        'usergroups:read',
        'users:read',
        'users:read.email',
      ].sort(),
    );
    expect(new Set(result.oauth_config.scopes.bot).size).toBe(result.oauth_config.scopes.bot.length);
  });

  test('has no chat:write.public and no user scopes', () => {
    // Act
    const result = manifest();
    // Assess
    expect(result.oauth_config.scopes.bot).not.toContain('chat:write.public');
    expect(Object.keys(result.oauth_config.scopes)).toEqual(['bot']);
  });

  test('hands out a copy, so a caller editing one manifest cannot widen the next', () => {
    // Prepare
    const first = manifest();
    (first.oauth_config.scopes.bot as string[]).push('admin');
    // Act
    const second = manifest();
    // Assess
    expect(second.oauth_config.scopes.bot).toEqual([...SLACK_BOT_SCOPES]);
  });
});

describe('slackAppManifest: shape', () => {
  test('is schema v1 with interactivity on the given URL and socket mode, org deploy, rotation off', () => {
    // Act
    const result = manifest();
    // Assess
    expect(result._metadata.major_version).toBe(1);
    expect(result.settings).toEqual({
      interactivity: { is_enabled: true, request_url: URL_OK },
      org_deploy_enabled: false,
      socket_mode_enabled: false,
      token_rotation_enabled: false,
    });
    expect(result.features.bot_user.always_online).toBe(false);
  });

  test('survives a JSON round trip unchanged (it is printed as JSON)', () => {
    // Prepare
    const result = manifest();
    // Act
    const copy = JSON.parse(JSON.stringify(result));
    // Assess
    expect(copy).toEqual(result);
  });

  test.each(['dev', 'prod', 'Feature-42'])('names the app and the bot after stage %s', (stage) => {
    // Act
    const result = manifest({ stage });
    // Assess
    expect(result.display_information.name).toBe(`PolicyGate (${stage})`);
    expect(result.display_information.description).toContain(stage);
    expect(result.features.bot_user.display_name).toBe(`policygate-${stage.toLowerCase()}`);
    expect(result.features.bot_user.display_name).toMatch(/^[a-z0-9._-]{1,80}$/);
  });

  test('keeps within the schema limits and uses a hex background colour', () => {
    // Act
    const result = manifest({ stage: 'a'.repeat(MAX_APP_NAME_LENGTH - 'PolicyGate ()'.length) });
    // Assess
    expect(result.display_information.name.length).toBe(MAX_APP_NAME_LENGTH);
    expect(result.display_information.description.length).toBeLessThanOrEqual(140);
    expect(result.display_information.background_color).toMatch(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/);
  });

  test('uses an explicit app name as given', () => {
    // Act
    const result = manifest({ stage: 'prod', appName: 'Acme IAM approvals' });
    // Assess
    expect(result.display_information.name).toBe('Acme IAM approvals');
    expect(result.features.bot_user.display_name).toBe('policygate-prod');
  });
});

describe('slackAppManifest: validation', () => {
  test.each<[string, Partial<SlackAppManifestOptions>, RegExp]>([
    [
      'a stage that makes the name too long',
      { stage: 'a'.repeat(MAX_APP_NAME_LENGTH - 'PolicyGate ()'.length + 1) },
      /36 characters, Slack allows 35: use a shorter stage or give an app name/,
    ],
    ['an app name over 35 characters', { appName: 'x'.repeat(36) }, /Slack allows 35: use a shorter name/],
    ['an empty app name', { appName: '  ' }, /must not be empty/],
    ['an app name with surrounding spaces', { appName: ' PolicyGate ' }, /surrounding spaces/],
    ['an empty stage', { stage: '' }, /invalid stage/],
    ['a stage with characters a stack name cannot hold', { stage: 'dev_1' }, /invalid stage "dev_1"/],
  ])('rejects %s', (_label, overrides, message) => {
    // Act / Assess
    expect(() => manifest(overrides)).toThrow(ConfigError);
    expect(() => manifest(overrides)).toThrow(message);
  });

  test.each([
    ['plain http to a public host', 'http://abc.lambda-url.us-east-1.on.aws/', /must use https/],
    ['another scheme', 'ftp://example.com/', /must use https/],
    ['no URL at all', 'abc.lambda-url.us-east-1.on.aws', /not a valid URL/],
    ['an empty string', '', /not a valid URL/],
    ['credentials in the URL', 'https://user:pw@example.com/', /user name or password/],
    ['a fragment', 'https://example.com/#x', /#fragment/],
    ['an over-long URL', `https://example.com/${'a'.repeat(3500)}`, /over 3500 characters/],
    ['http to a host that merely starts with localhost', 'http://localhost.example.com/', /must use https/],
  ])('rejects an interactivity URL with %s', (_label, interactivityUrl, message) => {
    // Act / Assess
    expect(() => manifest({ interactivityUrl })).toThrow(ConfigError);
    expect(() => manifest({ interactivityUrl })).toThrow(message);
  });

  test('never echoes a password from a rejected URL', () => {
    // Act
    let message = '';
    try {
      manifest({ interactivityUrl: 'http://user:s3cret-pw@example.com/' });
    } catch (error) {
      message = (error as Error).message;
    }
    // Assess
    expect(message).not.toBe('');
    expect(message).not.toContain('s3cret-pw');
  });

  test.each([
    'https://abc.lambda-url.eu-west-1.on.aws/',
    'https://example.com/slack/events?stage=dev',
    'http://127.0.0.1:3000/slack/events',
    'http://localhost:3000/slack/events',
  ])('accepts %s', (interactivityUrl) => {
    // Act
    const result = manifest({ interactivityUrl });
    // Assess
    expect(result.settings.interactivity.request_url).toBe(interactivityUrl);
  });
});
