import fc from 'fast-check';
import {
  parseAccountSettings,
  resolveAccountSettings,
  type StageSettings,
} from '../../src/domain/account-settings';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import { resolveRestrictedActions } from '../../src/domain/restricted-actions';
import { AccountSettingsError } from '../../src/errors';

/*
 * The settings document is operator input (and, for anyone who can change a function's environment,
 * attacker input): it must parse what operators write, and refuse rather than ignore anything it does not
 * know, because an ignored key silently hands an account to other approvers or a looser list.
 */

const RUNS = { numRuns: 200 };
const catalogue = loadGeneratedCatalogue();
const digits = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: length, maxLength: length });
const lowerAlnum = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')),
    minLength: min,
    maxLength: max,
  });
const accountId = digits(12);
const unitId = fc.tuple(lowerAlnum(4, 8), lowerAlnum(8, 12)).map(([a, b]) => `ou-${a}-${b}`);
const upper = (min: number) =>
  fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('')),
    minLength: min,
    maxLength: 10,
  });
const userId = fc.tuple(fc.constantFrom('U', 'W'), upper(2)).map(([p, s]) => p + s);
const groupId = upper(2).map((s) => `S${s}`);
const channelId = fc.tuple(fc.constantFrom('C', 'G'), upper(2)).map(([p, s]) => p + s);
const action = fc.constantFrom('s3:DeleteBucket', 'iam:PassRole', 'kms:Disable*', 'ec2:TerminateInstances');
const entry = fc.record(
  {
    restrictedActions: fc.array(
      fc.oneof(
        action,
        action.map((a) => `!${a}`),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    approvers: fc
      .record({
        slackUserIds: fc.uniqueArray(userId, { maxLength: 3 }),
        slackUsergroupIds: fc.uniqueArray(groupId, { maxLength: 2 }),
      })
      .filter((a) => a.slackUserIds.length + a.slackUsergroupIds.length > 0),
    slackChannelId: channelId,
    approvalTimeoutSeconds: fc.integer({ min: 60, max: 365 * 24 * 3600 }),
  },
  { requiredKeys: [] },
);
const documentArb = fc.record(
  {
    version: fc.constant(1),
    organizationalUnits: fc.dictionary(unitId, entry, { maxKeys: 3 }),
    accounts: fc.dictionary(accountId, entry, { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);

const stage: StageSettings = {
  restricted: resolveRestrictedActions(['s3:*'], catalogue),
  approvers: { slackUserIds: ['U0STAGE'], slackUsergroupIds: [] },
  slackChannelId: 'C0STAGE',
  approvalTimeoutSeconds: 86_400,
};

function problemsOf(input: unknown): readonly string[] {
  try {
    parseAccountSettings(input, catalogue);
    return [];
  } catch (error) {
    if (error instanceof AccountSettingsError) return error.problems;
    throw error;
  }
}

describe('parseAccountSettings (property)', () => {
  test('parses every well-formed document, as JSON text and as a parsed (YAML) value, to the same settings', () => {
    fc.assert(
      fc.property(documentArb, (doc) => {
        const fromText = parseAccountSettings(JSON.stringify(doc), catalogue);
        const fromValue = parseAccountSettings(doc, catalogue);
        for (const [id, raw] of Object.entries(doc.accounts ?? {})) {
          const parsed = fromText.accounts.get(id);
          expect(parsed?.slackChannelId).toBe(raw.slackChannelId);
          expect(parsed?.approvalTimeoutSeconds).toBe(raw.approvalTimeoutSeconds);
          expect(parsed?.approvers?.slackUserIds).toEqual(raw.approvers?.slackUserIds);
          expect(parsed?.restrictedEntries?.length).toBe(raw.restrictedActions?.length);
        }
        expect([...fromText.organizationalUnits.keys()].sort()).toEqual(
          Object.keys(doc.organizationalUnits ?? {}).sort(),
        );
        expect([...fromValue.accounts.keys()]).toEqual([...fromText.accounts.keys()]);
      }),
      RUNS,
    );
  });

  test('an unknown key anywhere is an error naming it, never ignored', () => {
    const key = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter(
        (k) =>
          ![
            'version',
            'organizationalUnits',
            'accounts',
            'restrictedActions',
            'approvers',
            'slackChannelId',
            'approvalTimeoutSeconds',
            'slackUserIds',
            'slackUsergroupIds',
            '__proto__',
          ].includes(k),
      );
    fc.assert(
      fc.property(
        documentArb,
        accountId,
        key,
        fc.constantFrom('top', 'entry', 'approvers'),
        (doc, id, extra, where) => {
          const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown> & {
            accounts?: Record<string, Record<string, unknown>>;
          };
          if (where === 'top') copy[extra] = true;
          else {
            copy.accounts = { ...copy.accounts, [id]: { approvers: { slackUserIds: ['U0ANA'] } } };
            const target = copy.accounts[id] as Record<string, unknown>;
            if (where === 'entry') target[extra] = 1;
            else (target.approvers as Record<string, unknown>)[extra] = [];
          }
          const problems = problemsOf(copy);
          expect(problems.some((p) => p.includes(`unknown key ${JSON.stringify(extra)}`))).toBe(true);
        },
      ),
      RUNS,
    );
  });

  test('a malformed account, OU, Slack id or deadline is an error', () => {
    const badAccount = fc.string({ maxLength: 14 }).filter((s) => !/^\d{12}$/.test(s) && s !== '__proto__');
    const badUser = fc.string({ maxLength: 8 }).filter((s) => !/^[UW][A-Z0-9]{2,}$/.test(s));
    const badTimeout = fc.oneof(
      fc.integer({ max: 59 }),
      fc.integer({ min: 365 * 24 * 3600 + 1 }),
      fc.double(),
      fc.string(),
    );
    fc.assert(
      fc.property(badAccount, badUser, badTimeout, unitId, (account, user, timeout, unit) => {
        expect(problemsOf({ accounts: { [account]: { slackChannelId: 'C0OK' } } }).length).toBeGreaterThan(0);
        expect(
          problemsOf({ accounts: { '111122223333': { approvers: { slackUserIds: [user] } } } }).length,
        ).toBeGreaterThan(0);
        expect(
          problemsOf({ organizationalUnits: { [unit]: { approvalTimeoutSeconds: timeout } } }).length,
        ).toBeGreaterThan(0);
        expect(
          problemsOf({ organizationalUnits: { [unit.replace('ou-', 'xx-')]: {} } }).length,
        ).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  test('never throws anything but AccountSettingsError, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        problemsOf(text);
      }),
      RUNS,
    );
  });

  test('refuses duplicate keys, an approver list naming nobody, a list matching no action', () => {
    expect(problemsOf('{"accounts":{"111122223333":{},"111122223333":{}}}').join()).toMatch(/duplicate/);
    expect(problemsOf({ accounts: { '111122223333': { approvers: {} } } }).join()).toMatch(/names nobody/);
    expect(
      problemsOf({ accounts: { '111122223333': { restrictedActions: ['nosuch:Thing*'] } } }).length,
    ).toBe(1);
    expect(problemsOf({ version: 2 }).join()).toMatch(/version/);
  });
});

describe('resolveAccountSettings (property)', () => {
  test('field by field: the account entry, else the nearest OU of the path that sets it, else the stage', () => {
    fc.assert(
      fc.property(documentArb, accountId, fc.uniqueArray(unitId, { maxLength: 4 }), (doc, id, extraPath) => {
        const settings = parseAccountSettings(doc, catalogue);
        const path = [...new Set([...Object.keys(doc.organizationalUnits ?? {}), ...extraPath])];
        const resolved = resolveAccountSettings(settings, id, path, stage);
        const own = doc.accounts?.[id];
        const nearest = <K extends keyof NonNullable<typeof own>>(field: K) =>
          path.find((unit) => doc.organizationalUnits?.[unit]?.[field] !== undefined);
        const expectField = <K extends 'slackChannelId' | 'approvalTimeoutSeconds' | 'approvers'>(
          field: K,
        ) => {
          const unit = nearest(field);
          const expected = own?.[field] !== undefined ? `account ${id}` : unit !== undefined ? unit : 'stage';
          expect(resolved.from[field]).toBe(expected);
        };
        expectField('slackChannelId');
        expectField('approvalTimeoutSeconds');
        expectField('approvers');
        if (resolved.from.approvers === 'stage') expect(resolved.approvers).toEqual(stage.approvers);
        if (resolved.from.restricted === 'stage') expect(resolved.restricted).toBe(stage.restricted);
      }),
      RUNS,
    );
  });

  test("approvers are never merged: an OU's approvers alone decide for its accounts", () => {
    const settings = parseAccountSettings(
      {
        organizationalUnits: {
          'ou-abcd-aaaaaaaa': { approvers: { slackUserIds: ['U0A'] } },
          'ou-abcd-bbbbbbbb': { approvers: { slackUserIds: ['U0B'] } },
        },
      },
      catalogue,
    );
    const inA = resolveAccountSettings(settings, '111111111111', ['ou-abcd-aaaaaaaa', 'r-abcd'], stage);
    const inB = resolveAccountSettings(settings, '222222222222', ['ou-abcd-bbbbbbbb', 'r-abcd'], stage);
    expect(inA.approvers.slackUserIds).toEqual(['U0A']);
    expect(inB.approvers.slackUserIds).toEqual(['U0B']);
  });
});
