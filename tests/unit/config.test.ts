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
      SLACK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:policy-gate/dev/slack-AbCdEf',
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
});
