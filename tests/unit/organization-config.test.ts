import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';

const base = { APPROVALS_TABLE: 'approvals', ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:alerts' };
const organization = {
  ORGANIZATION_ID: 'o-abcdefghij',
  MEMBER_ROLE_EXTERNAL_ID: 'policy-gate-external-0123456789',
};

describe('loadConfig: organization settings', () => {
  test('without ORGANIZATION_ID the stage gates one account: ACCOUNT_ID, else the account of its own roles', () => {
    // Act
    const explicit = loadConfig({ ...base, ACCOUNT_ID: '111122223333' });
    const derived = loadConfig({
      ...base,
      OWN_ROLE_ARNS: 'arn:aws:iam::444455556666:role/a,arn:aws:iam::444455556666:role/b',
    });
    const mixed = loadConfig({
      ...base,
      OWN_ROLE_ARNS: 'arn:aws:iam::444455556666:role/a,arn:aws:iam::777788889999:role/b',
    });
    // Assess
    expect(explicit.accountId).toBe('111122223333');
    expect(derived.accountId).toBe('444455556666');
    expect(mixed.accountId).toBeUndefined();
    expect(explicit.organization).toBeUndefined();
    expect(explicit.accountSettings.accounts.size).toBe(0);
  });

  test('ORGANIZATION_ID brings the member role (default policy-gate-member) and requires its external id', () => {
    // Act
    const config = loadConfig({ ...base, ...organization });
    const read = () => loadConfig({ ...base, ORGANIZATION_ID: 'o-abcdefghij' });
    // Assess
    expect(config.organization).toEqual({
      organizationId: 'o-abcdefghij',
      memberRoleName: 'policy-gate-member',
      memberRoleExternalId: 'policy-gate-external-0123456789',
      accountsCacheSeconds: 60,
    });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/MEMBER_ROLE_EXTERNAL_ID/);
    expect(() => loadConfig({ ...base, ...organization, ORGANIZATION_ID: 'org-1' })).toThrow(
      /ORGANIZATION_ID/,
    );
    expect(() => loadConfig({ ...base, ...organization, MEMBER_ROLE_NAME: 'bad name' })).toThrow(
      /MEMBER_ROLE_NAME/,
    );
  });

  test('ACCOUNT_SETTINGS is parsed strictly and every problem is reported', () => {
    // Act
    const config = loadConfig({
      ...base,
      ACCOUNT_SETTINGS: JSON.stringify({ accounts: { '111122223333': { slackChannelId: 'C0PAYMENTS' } } }),
    });
    const read = () =>
      loadConfig({
        ...base,
        ACCOUNT_SETTINGS: JSON.stringify({ acounts: {}, organizationalUnits: { 'ou-x': {} } }),
      });
    // Assess
    expect(config.accountSettings.accounts.get('111122223333')?.slackChannelId).toBe('C0PAYMENTS');
    expect(read).toThrow(
      /ACCOUNT_SETTINGS unknown key "acounts".*ACCOUNT_SETTINGS organizationalUnits\.ou-x: not an organizational unit id/,
    );
    expect(() => loadConfig({ ...base, ACCOUNT_SETTINGS: '{}', ACCOUNT_SETTINGS_FILE: '/x' })).toThrow(
      /not several/,
    );
    expect(() => loadConfig({ ...base, ACCOUNT_SETTINGS: '{}', ACCOUNT_SETTINGS_BUNDLED: 'true' })).toThrow(
      /not several/,
    );
    expect(() => loadConfig({ ...base, ACCOUNT_SETTINGS_BUNDLED: 'yes' })).toThrow(
      /ACCOUNT_SETTINGS_BUNDLED must be "true" or "false"/,
    );
    expect(() => loadConfig({ ...base, ACCOUNT_SETTINGS_FILE: '/nonexistent/settings.json' })).toThrow(
      /cannot be read/,
    );
  });
});
