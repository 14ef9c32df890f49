import fc from 'fast-check';
import { eventAccount } from '../../src/domain/event-account';
import { roleSessionName } from '../../src/services/iam-client-for-account';

/*
 * Anyone who can put an event on the central bus (or start the workflow) writes these fields: the account
 * PolicyGate acts in must be one that every field agrees on, and nothing else.
 */

const RUNS = { numRuns: 300 };
const account = fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 12, maxLength: 12 });
const callerType = fc.constantFrom(
  'IAMUser',
  'AssumedRole',
  'Root',
  'FederatedUser',
  'AWSService',
  'Unknown',
);

function event(
  envelope: string | undefined,
  recipient: string | undefined,
  caller: string | undefined,
  type: string,
) {
  return {
    'detail-type': 'AWS API Call via CloudTrail',
    ...(envelope !== undefined && { account: envelope }),
    detail: {
      eventName: 'CreatePolicy',
      ...(recipient !== undefined && { recipientAccountId: recipient }),
      userIdentity: { type, ...(caller !== undefined && { accountId: caller }) },
    },
  };
}

describe('eventAccount (property)', () => {
  test('admits an account exactly when every field that names one agrees on it', () => {
    fc.assert(
      fc.property(
        fc.option(account, { nil: undefined }),
        fc.option(account, { nil: undefined }),
        fc.option(account, { nil: undefined }),
        callerType,
        (envelope, recipient, caller, type) => {
          const relevantCaller = ['IAMUser', 'AssumedRole', 'Root', 'FederatedUser'].includes(type)
            ? caller
            : undefined;
          const named = [envelope, recipient, relevantCaller].filter((a) => a !== undefined);
          const result = eventAccount(event(envelope, recipient, caller, type));
          if (named.length > 0 && new Set(named).size === 1) {
            expect(result).toEqual({ ok: true, accountId: named[0] });
          } else {
            expect(result.ok).toBe(false);
          }
        },
      ),
      RUNS,
    );
  });

  test('a field that is present but not a 12-digit id refuses, whatever the others say', () => {
    const bad = fc.oneof(
      fc.string().filter((s) => !/^\d{12}$/.test(s)),
      fc.integer(),
      fc.constant(null),
      fc.array(account),
    );
    fc.assert(
      fc.property(account, bad, fc.constantFrom('account', 'recipientAccountId'), (good, value, where) => {
        const e = event(good, good, good, 'IAMUser') as Record<string, unknown> & {
          detail: Record<string, unknown>;
        };
        if (where === 'account') e.account = value;
        else e.detail.recipientAccountId = value;
        expect(eventAccount(e).ok).toBe(false);
      }),
      RUNS,
    );
  });

  test('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        eventAccount(input);
      }),
      RUNS,
    );
  });
});

describe('roleSessionName (property)', () => {
  test('names the approval in a name STS accepts, for any label', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (label) => {
        const name = roleSessionName(label);
        expect(name).toMatch(/^[\w+=,.@-]{2,64}$/);
        expect(name.startsWith('policy-gate-')).toBe(true);
      }),
      RUNS,
    );
    expect(roleSessionName('0f8c2a4e-1b7d-4c3e-9a5f-6d2e8b1c7a90')).toBe(
      'policy-gate-0f8c2a4e-1b7d-4c3e-9a5f-6d2e8b1c7a90',
    );
  });
});
