/**
 * The shared per-account settings parser (src/domain/account-settings.ts): what the deploy check validates
 * and the functions read from ACCOUNT_SETTINGS. Unknown keys, malformed ids and malformed values are errors.
 */
import fc from 'fast-check';
import { AccountSettingsError, parseAccountSettings } from '../../src/domain/account-settings';

const VALID = {
  defaults: { approvalTimeoutSeconds: 3600 },
  organizationalUnits: {
    'ou-ab12-cdef3456': { slackChannelId: 'C0PAYMENTS1', approverSlackUsergroupIds: ['S0PAYMENTS1'] },
  },
  accounts: {
    '123456789012': {
      restrictedActions: ['iam:PassRole', '!kms:ScheduleKeyDeletion'],
      approverSlackUserIds: ['U0ALICE0001', 'W0BOB00001'],
    },
  },
};

const refusal = (document: unknown): string => {
  try {
    parseAccountSettings(typeof document === 'string' ? document : JSON.stringify(document));
  } catch (error) {
    expect(error).toBeInstanceOf(AccountSettingsError);
    return (error as Error).message;
  }
  throw new Error('the document was accepted');
};

describe('parseAccountSettings', () => {
  test('reads defaults, organizational units and accounts as written', () => {
    // Act
    const settings = parseAccountSettings(JSON.stringify(VALID));
    // Assess
    expect(settings).toEqual(VALID);
  });

  test('an empty document and any part left out are fine', () => {
    // Act / Assess
    expect(parseAccountSettings('{}')).toEqual({});
    expect(parseAccountSettings('{"accounts":{}}')).toEqual({ accounts: {} });
  });

  test.each([
    ['an unknown top-level key', { account: {} }, /unknown key\(s\) "account"/],
    [
      'an unknown settings key (a typo)',
      { accounts: { '123456789012': { approverSlackUserId: ['U0ALICE0001'] } } },
      /accounts\.123456789012: unknown key\(s\) "approverSlackUserId"/,
    ],
    [
      'an account id of 11 digits',
      { accounts: { '12345678901': {} } },
      /"12345678901" is not a 12-digit account id/,
    ],
    [
      'an OU id without its root part',
      { organizationalUnits: { 'ou-cdef3456': {} } },
      /not an organizational unit id/,
    ],
    ['a root id as an OU', { organizationalUnits: { 'r-ab12': {} } }, /not an organizational unit id/],
    [
      'a channel name instead of an id',
      { defaults: { slackChannelId: '#security' } },
      /defaults\.slackChannelId: "#security" is not a Slack channel id/,
    ],
    [
      'a user group id among user ids',
      { defaults: { approverSlackUserIds: ['S0PAYMENTS1'] } },
      /approverSlackUserIds\[0\]: "S0PAYMENTS1" is not a Slack user id/,
    ],
    ['a timeout under a minute', { defaults: { approvalTimeoutSeconds: 30 } }, /approvalTimeoutSeconds/],
    ['a timeout as a string', { defaults: { approvalTimeoutSeconds: '3600' } }, /approvalTimeoutSeconds/],
    ['a malformed action', { defaults: { restrictedActions: ['PassRole'] } }, /restrictedActions\[0\]/],
    ['an empty restricted list', { defaults: { restrictedActions: [] } }, /restrictedActions: is empty/],
    ['a list where an object belongs', { accounts: [] }, /accounts: expected an object, got a list/],
    ['a document that is a list', [], /expected an object/],
  ])('refuses %s, naming where', (_, document, message) => {
    // Act
    const error = refusal(document);
    // Assess
    expect(error).toMatch(message);
  });

  test('refuses duplicate keys rather than keeping the last (a second entry cannot override the first)', () => {
    // Act
    const error = refusal(
      '{"accounts":{"123456789012":{"slackChannelId":"C0AAAAAAAA1"},"123456789012":{"slackChannelId":"C0BBBBBBBB2"}}}',
    );
    // Assess
    expect(error).toMatch(/duplicate/);
  });

  test('refuses text that is not JSON', () => {
    // Act / Assess
    expect(refusal('accounts: {}')).toMatch(/account settings/);
  });

  test('property: any key outside the shape, at any level, is refused', () => {
    const settingsKeys = [
      'restrictedActions',
      'approverSlackUserIds',
      'approverSlackUsergroupIds',
      'slackChannelId',
      'approvalTimeoutSeconds',
    ];
    const stray = fc.string({ minLength: 1, maxLength: 12 }).filter((key) => !settingsKeys.includes(key));
    fc.assert(
      fc.property(stray, fc.constantFrom('defaults', 'ou', 'account'), (key, where) => {
        // Prepare
        const settings = { [key]: 'x' };
        const document =
          where === 'defaults'
            ? { defaults: settings }
            : where === 'ou'
              ? { organizationalUnits: { 'ou-ab12-cdef3456': settings } }
              : { accounts: { '123456789012': settings } };
        // Act / Assess
        expect(() => parseAccountSettings(JSON.stringify(document))).toThrow(AccountSettingsError);
      }),
    );
  });

  test('property: an account key is accepted exactly when it is 12 digits', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 14 }), (id) => {
        // Act
        const accepted = (() => {
          try {
            parseAccountSettings(JSON.stringify({ accounts: { [id]: {} } }));
            return true;
          } catch (error) {
            expect(error).toBeInstanceOf(AccountSettingsError);
            return false;
          }
        })();
        // Assess
        expect(accepted).toBe(/^\d{12}$/.test(id));
      }),
    );
  });
});
