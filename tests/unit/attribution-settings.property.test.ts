import fc from 'fast-check';
import { parseIdentityMap } from '../../src/domain/approvers';
import { isIdentityCenterRole } from '../../src/domain/attribution';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import {
  parseRestrictedEntries,
  parseRestrictedText,
  resolveRestrictedActions,
} from '../../src/domain/restricted-actions';
import { RestrictedActionError } from '../../src/errors';

/*
 * The identity map and the restricted list are operator input read at cold start; an attacker who can
 * change a function's environment (PowerUser: lambda:UpdateFunctionConfiguration) writes them too. Their
 * parsers must never throw, never accept a declaration that is not exactly a role ARN with a note, and read
 * the critical marker the same way in every form.
 */

const RUNS = { numRuns: 300 };
// The IAM role grammar (roleNameType 1-64 of [\w+=,.@-], pathType "/" or "/[\x21-\x7e]+/"), written out here.
const nameChar = fc.constantFrom(...'abcXYZ019_+=,.@-'.split(''));
const roleName = fc.string({ unit: nameChar, minLength: 1, maxLength: 20 });
const pathSegment = fc.string({ unit: fc.constantFrom(...'abc-_.'.split('')), minLength: 1, maxLength: 8 });
const rolePath = fc
  .array(pathSegment, { maxLength: 3 })
  .map((parts) => (parts.length ? `${parts.join('/')}/` : ''));
const account = fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 12, maxLength: 12 });
const roleArn = fc
  .tuple(fc.constantFrom('aws', 'aws-cn', 'aws-us-gov'), account, rolePath, roleName)
  .map(([partition, acct, path, name]) => `arn:${partition}:iam::${acct}:role/${path}${name}`);
const note = fc.string({ minLength: 1, maxLength: 50 }).filter((s) => s.trim() !== '');
const declaration = fc.oneof(
  note.map((n) => ({ service: n })),
  note.map((n) => ({ personSessions: n })),
);

describe('parseIdentityMap (property)', () => {
  test('never throws, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const parsed = parseIdentityMap(text);
          for (const arn of [...parsed.serviceRoles.keys(), ...parsed.personSessionRoles.keys()]) {
            expect(arn).toMatch(/^arn:aws[a-z-]*:iam::\d{12}:role\//);
          }
        },
      ),
      RUNS,
    );
  });

  test('valid declarations are read exactly, keyed by the lower-cased ARN', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(roleArn, declaration), { selector: ([a]) => a.toLowerCase(), maxLength: 5 }),
        (entries) => {
          const parsed = parseIdentityMap(JSON.stringify(Object.fromEntries(entries)));
          expect(parsed.problems).toEqual([]);
          for (const [arn, value] of entries) {
            if ('service' in value)
              expect(parsed.serviceRoles.get(arn.toLowerCase())).toBe(value.service.trim());
            else expect(parsed.personSessionRoles.get(arn.toLowerCase())).toBe(value.personSessions.trim());
          }
          expect(parsed.serviceRoles.size + parsed.personSessionRoles.size).toBe(entries.length);
        },
      ),
      RUNS,
    );
  });

  test('a declaration that is not exactly {service|personSessions: note} on a role ARN is a problem, never a role', () => {
    const badKey = fc.oneof(
      fc.string(),
      roleArn.map((arn) => `${arn}*`),
      roleArn.map((arn) => arn.replace(':role/', ':user/')),
      roleArn.map((arn) => ` ${arn}`),
    );
    const badValue = fc.oneof(
      fc.record({ service: fc.oneof(fc.constant(''), fc.constant('   '), fc.integer(), fc.constant(null)) }),
      fc.record({ service: note, extra: note }),
      fc.record({ servic: note }),
      fc.constant({}),
      fc.record({ service: fc.string({ minLength: 201, maxLength: 300 }) }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(
            badKey.filter((k) => !/^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/.test(k)),
            declaration,
          ),
          fc.tuple(roleArn, badValue),
        ),
        ([key, value]) => {
          const parsed = parseIdentityMap(JSON.stringify({ [key]: value }));
          expect(parsed.problems.length).toBeGreaterThan(0);
          expect(parsed.serviceRoles.size + parsed.personSessionRoles.size).toBe(0);
        },
      ),
      RUNS,
    );
  });

  test('an Identity Center role is never a service identity', () => {
    fc.assert(
      fc.property(account, roleName, note, (acct, name, n) => {
        const arn = `arn:aws:iam::${acct}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_${name}`;
        expect(isIdentityCenterRole(arn)).toBe(true);
        const parsed = parseIdentityMap(JSON.stringify({ [arn]: { service: n } }));
        expect(parsed.serviceRoles.size).toBe(0);
        expect(parsed.problems.join(' ')).toMatch(/Identity Center/);
      }),
      RUNS,
    );
  });
});

describe('the critical marker (property)', () => {
  const catalogue = loadGeneratedCatalogue();
  const service = fc.constantFrom('s3', 'iam', 'kms', 'ec2', 'lambda');
  const action = fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.split('')),
    minLength: 1,
    maxLength: 12,
  });
  const reason = fc.option(
    fc
      .string({ unit: fc.constantFrom(...'abc def,.()'.split('')), maxLength: 30 })
      .filter((r) => r.trim() !== ''),
    { nil: undefined },
  );
  const entry = fc.record({
    action: fc.tuple(service, action).map(([s, a]) => `${s}:${a}`),
    critical: fc.boolean(),
    reason,
  });

  test('the JSON form and the text form read the same entries', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), (entries) => {
        const json = parseRestrictedEntries(
          entries.map((e) => ({
            action: e.action,
            ...(e.critical && { critical: true }),
            ...(e.reason && { reason: e.reason }),
          })),
          'json',
        );
        const text = parseRestrictedText(
          entries
            .map((e) => `${e.critical ? '!' : ''}${e.action}${e.reason ? ` # ${e.reason}` : ''}`)
            .join('\n'),
          'text',
        );
        // RESTRICTED_ACTIONS, as the config loader reads it: comma-separated entries.
        const commas = parseRestrictedText(
          entries
            .map((e) => `${e.critical ? '!' : ''}${e.action}`)
            .join(',')
            .split(',')
            .join('\n'),
          'RESTRICTED_ACTIONS',
        );
        expect(text).toEqual(json);
        expect(commas.map((e) => [e.action, e.critical === true])).toEqual(
          entries.map((e) => [e.action, e.critical]),
        );
        const resolved = resolveRestrictedActions(json, catalogue);
        for (const e of entries) {
          const found = resolved.actions.find((a) => a.lower === e.action.toLowerCase());
          // Critical if any entry for the same action says so.
          const anyCritical = entries.some(
            (o) => o.critical && o.action.toLowerCase() === e.action.toLowerCase(),
          );
          expect(found?.critical === true).toBe(anyCritical);
        }
      }),
      RUNS,
    );
  });

  test('a non-boolean critical, or a marker inside an object’s action, is refused with a RestrictedActionError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({
            action: fc.constant('s3:DeleteBucket'),
            critical: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
          }),
          fc.record({ action: fc.constant('!s3:DeleteBucket'), critical: fc.boolean() }),
        ),
        (item) => {
          expect(() => parseRestrictedEntries([item], 'list')).toThrow(RestrictedActionError);
        },
      ),
      RUNS,
    );
  });

  test('parsing arbitrary text fails only with RestrictedActionError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          resolveRestrictedActions(parseRestrictedText(text, 'text'), catalogue);
        } catch (error) {
          expect(error).toBeInstanceOf(RestrictedActionError);
        }
      }),
      RUNS,
    );
  });
});
