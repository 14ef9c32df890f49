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
