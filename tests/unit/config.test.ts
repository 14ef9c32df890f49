import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';

const base = { APPROVALS_TABLE: 'approvals', ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:alerts' };

describe('loadConfig', () => {
  test('defaults: 24 h approval window, 90 days retention, the shipped restricted list', () => {
    // Act
    const config = loadConfig(base);
    // Assess
    expect(config).toMatchObject({
      approvalTimeoutSeconds: 86_400,
      retentionDays: 90,
      ownRoleArns: [],
      region: 'us-east-1',
    });
    expect(config.restrictedEntries.map((e) => e.action)).toContain('iam:PassRole');
  });

  test('stage settings are read and trimmed', () => {
    const config = loadConfig({
      ...base,
      APPROVAL_TIMEOUT_SECONDS: ' 3600 ',
      RETENTION_DAYS: '30',
      RESTRICTED_ACTIONS: 's3:DeleteBucket, kms:Disable*',
      OWN_ROLE_ARNS: 'arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b',
      SLACK_CHANNEL_ID: 'C0123',
    });
    expect(config).toMatchObject({
      approvalTimeoutSeconds: 3600,
      retentionDays: 30,
      slackChannelId: 'C0123',
    });
    expect(config.restrictedEntries.map((e) => e.action)).toEqual(['s3:DeleteBucket', 'kms:Disable*']);
    expect(config.ownRoleArns).toEqual([
      'arn:aws:iam::123456789012:role/a',
      'arn:aws:iam::123456789012:role/b',
    ]);
  });

  test('every problem is reported at once', () => {
    // Act
    let caught: unknown;
    try {
      loadConfig({ APPROVAL_TIMEOUT_SECONDS: '10', RETENTION_DAYS: 'soon', OWN_ROLE_ARNS: 'policy-gate' });
    } catch (error) {
      caught = error;
    }
    // Assess
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    for (const part of [
      'APPROVALS_TABLE is required',
      'ALERT_TOPIC_ARN is required',
      'APPROVAL_TIMEOUT_SECONDS',
      'RETENTION_DAYS',
      'OWN_ROLE_ARNS',
    ]) {
      expect(message).toContain(part);
    }
  });

  test('a malformed restricted list is a configuration error', () => {
    expect(() => loadConfig({ ...base, RESTRICTED_ACTIONS: 's3 DeleteBucket' })).toThrow(ConfigError);
  });
});

describe('loadConfig: Slack settings', () => {
  test('approvers, cache time, identity map and API URL are read', () => {
    // Act
    const config = loadConfig({
      ...base,
      SLACK_CHANNEL_ID: 'C0POLICYGATE',
      SLACK_BOT_TOKEN_SECRET_ARN:
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:policy-gate/dev/slack-bot-token-AbCdEf',
      SLACK_API_URL: 'http://127.0.0.1:3999/api/',
      APPROVER_SLACK_USER_IDS: 'U0ALICE, W0BOB',
      APPROVER_SLACK_USERGROUP_IDS: 'S0SECOPS',
      APPROVER_CACHE_SECONDS: '30',
      IAM_SLACK_IDENTITY_MAP: '{"jdoe": "U0JANE"}',
    });
    // Assess
    expect(config).toMatchObject({
      slackChannelId: 'C0POLICYGATE',
      slackApiUrl: 'http://127.0.0.1:3999/api/',
      approverSlackUserIds: ['U0ALICE', 'W0BOB'],
      approverSlackUsergroupIds: ['S0SECOPS'],
      approverCacheSeconds: 30,
    });
    expect(config.identityMap.get('jdoe')).toEqual(['U0JANE']);
  });

  test('no approvers configured is allowed here (every click is then refused), with a 60 s cache', () => {
    // Act
    const config = loadConfig(base);
    // Assess
    expect(config).toMatchObject({
      approverSlackUserIds: [],
      approverSlackUsergroupIds: [],
      approverCacheSeconds: 60,
    });
  });

  test('every malformed Slack setting is reported at once', () => {
    // Act
    const load = () =>
      loadConfig({
        ...base,
        SLACK_CHANNEL_ID: '#security',
        SLACK_API_URL: 'slack.com/api',
        APPROVER_SLACK_USER_IDS: 'alice',
        APPROVER_SLACK_USERGROUP_IDS: 'U0ALICE',
        APPROVER_CACHE_SECONDS: '-1',
        IAM_SLACK_IDENTITY_MAP: '{"jdoe": "jane"}',
      });
    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      new RegExp(
        [
          'APPROVER_SLACK_USER_IDS: "alice"',
          'APPROVER_SLACK_USERGROUP_IDS: "U0ALICE"',
          'APPROVER_CACHE_SECONDS',
          'IAM_SLACK_IDENTITY_MAP',
          'SLACK_API_URL',
          'SLACK_CHANNEL_ID',
        ].join('.*'),
      ),
    );
  });

  test('the two Slack secrets, their cache time and the workspace ids are read', () => {
    // Prepare
    const arn = (name: string) =>
      `arn:aws:secretsmanager:us-east-1:123456789012:secret:policy-gate/dev/${name}-AbCdEf`;
    // Act
    const config = loadConfig({
      ...base,
      SLACK_BOT_TOKEN_SECRET_ARN: arn('slack-bot-token'),
      SLACK_SIGNING_SECRET_ARN: arn('slack-signing-secret'),
      SLACK_SECRET_CACHE_SECONDS: '60',
      SLACK_TEAM_ID: 'T0123ABCD',
      SLACK_ENTERPRISE_ID: 'E0123ABCD',
      SLACK_APP_ID: 'A0123ABCD',
    });
    // Assess
    expect(config).toMatchObject({
      slackBotTokenSecretArn: arn('slack-bot-token'),
      slackSigningSecretArn: arn('slack-signing-secret'),
      slackSecretCacheSeconds: 60,
      slackWorkspace: { teamId: 'T0123ABCD', enterpriseId: 'E0123ABCD', appId: 'A0123ABCD' },
    });
  });

  test('a bot-token-only function needs no workspace ids and caches secrets for 300 s by default', () => {
    // Act
    const config = loadConfig({
      ...base,
      SLACK_BOT_TOKEN_SECRET_ARN:
        'arn:aws:secretsmanager:us-east-1:123456789012:secret:policy-gate/dev/t-AbCdEf',
    });
    // Assess
    expect(config.slackSecretCacheSeconds).toBe(300);
    expect(config.slackWorkspace).toBeUndefined();
    expect(config.slackSigningSecretArn).toBeUndefined();
  });

  test('with the signing secret, the team and app ids are required and checked against Slack’s formats', () => {
    // Act
    const load = (extra: Record<string, string>) => () =>
      loadConfig({
        ...base,
        SLACK_SIGNING_SECRET_ARN:
          'arn:aws:secretsmanager:us-east-1:123456789012:secret:policy-gate/dev/s-AbCdEf',
        ...extra,
      });
    // Assess
    expect(load({})).toThrow(/SLACK_TEAM_ID must be .*SLACK_APP_ID must be/);
    expect(load({ SLACK_TEAM_ID: 'T0A', SLACK_APP_ID: 'A0A', SLACK_ENTERPRISE_ID: 'T0A' })).toThrow(
      /SLACK_ENTERPRISE_ID must be an Enterprise Grid id/,
    );
    expect(load({ SLACK_TEAM_ID: '<!channel>', SLACK_APP_ID: 'a0a' })).toThrow(/SLACK_TEAM_ID.*SLACK_APP_ID/);
    expect(load({ SLACK_TEAM_ID: 'T0A', SLACK_APP_ID: 'A0A', SLACK_SECRET_CACHE_SECONDS: '3601' })).toThrow(
      /SLACK_SECRET_CACHE_SECONDS must be a whole number from 0 to 3600/,
    );
    expect(
      load({ SLACK_TEAM_ID: 'T0A', SLACK_APP_ID: 'A0A', SLACK_BOT_TOKEN_SECRET_ARN: 'policy-gate/x' }),
    ).toThrow(/SLACK_BOT_TOKEN_SECRET_ARN must be a Secrets Manager secret ARN/);
  });
});

describe('loadConfig: e-mail decisions', () => {
  const KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
  test('default on; address, keys and page URL read', () => {
    // Act
    const config = loadConfig({
      ...base,
      DECISION_EMAIL_ADDRESS: 'secops@example.com',
      DECISION_LINK_KEY_ID: KEY,
      DECISION_FORM_KEY_ID: KEY,
      DECISION_PAGE_URL: 'https://abc.lambda-url.us-east-1.on.aws/',
    });
    // Assess
    expect(config.emailDecisions).toEqual({
      mode: 'on',
      address: 'secops@example.com',
      linkKeyId: KEY,
      formKeyId: KEY,
      pageUrl: 'https://abc.lambda-url.us-east-1.on.aws/',
    });
  });

  test.each(['off', 'deny-only', 'on'])('EMAIL_DECISIONS=%s is taken', (mode) => {
    expect(loadConfig({ ...base, EMAIL_DECISIONS: mode }).emailDecisions.mode).toBe(mode);
  });

  test.each([
    ['EMAIL_DECISIONS', 'yes'],
    ['DECISION_EMAIL_ADDRESS', 'not an address'],
    ['DECISION_EMAIL_ADDRESS', 'a@b.example, c@d.example'],
    ['DECISION_PAGE_URL', 'https://abc.example/path?x=1'],
    ['DECISION_LINK_KEY_ID', 'key'],
  ])('%s=%j is refused, never half a channel', (name, value) => {
    expect(() => loadConfig({ ...base, [name]: value })).toThrow(new RegExp(name));
  });
});
