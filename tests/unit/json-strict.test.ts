import fc from 'fast-check';
import {
  type JsonValue,
  type MemberTally,
  parseStrictJson,
  parseStrictJsonAs,
} from '../../src/domain/json-strict';
import { PolicyParseError } from '../../src/errors';
import { thrownBy } from '../support/thrown';

/** Counts every member of a value, as a reader that walks all of it would. */
function countAll(value: JsonValue, tally: MemberTally): void {
  if (typeof value === 'number') tally.complete = false;
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) countAll(item, tally);
    return;
  }
  tally.members += Object.keys(value).length;
  for (const item of Object.values(value)) countAll(item, tally);
}

// Texts that are valid JSON but for a duplicate key, which JSON.parse alone would resolve silently.
const duplicates = [
  '{"a":1,"a":2}',
  '{"a":{"b":[1,{"c":"x","c":"y"}]}}',
  '[{"k":"v"},{"k":"v","\\u006b":"w"}]',
];

describe('parseStrictJsonAs: the reader counts the members it visits, sparing a second walk', () => {
  test.each(duplicates)('a duplicate key is refused whatever the reader counts: %s', (text) => {
    for (const reader of [
      (value: JsonValue, tally: MemberTally) => countAll(value, tally),
      () => undefined, // counts nothing
      (_value: JsonValue, tally: MemberTally) => {
        tally.members = 1_000; // counts too many
      },
    ]) {
      // Act
      const error = thrownBy(() => parseStrictJsonAs(text, reader));
      // Assess
      expect(error).toBeInstanceOf(PolicyParseError);
      expect((error as PolicyParseError).message).toMatch(/duplicate key/);
    }
  });

  test("the strict reading's error comes first when the reader refuses a document too", () => {
    // Prepare
    const reader = () => {
      throw new PolicyParseError('Statement', 'the reader refuses it');
    };
    // Act
    const duplicate = thrownBy(() => parseStrictJsonAs('{"Statement":1,"Statement":2}', reader));
    const unsafe = thrownBy(() => parseStrictJsonAs('{"Statement":9007199254740993}', reader));
    const sound = thrownBy(() => parseStrictJsonAs('{"Statement":1}', reader));
    // Assess
    expect((duplicate as PolicyParseError).message).toMatch(/duplicate key/);
    expect((unsafe as PolicyParseError).message).toMatch(/beyond 2\^53/);
    expect((sound as PolicyParseError).message).toMatch(/the reader refuses it/);
  });

  test('a number the reader met and flagged is checked as parseStrictJson checks it', () => {
    // Act
    const error = thrownBy(() => parseStrictJsonAs('{"a":[1e400]}', countAll));
    // Assess
    expect((error as PolicyParseError).path).toBe('a[0]');
  });

  test('on any JSON text, it accepts and refuses what parseStrictJson does, and the reader sees the same value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          // Duplicates spliced into real objects: the text keeps both, JSON.parse the last.
          fc
            .tuple(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue())
            .map(([object, value]) => {
              const text = JSON.stringify(object);
              const key = JSON.stringify(Object.keys(object)[0]);
              return `${text.slice(0, -1)},${key}:${JSON.stringify(value)}}`;
            }),
        ),
        (text) => {
          // Act
          let expected: { value: JsonValue } | { error: string };
          try {
            expected = { value: parseStrictJson(text) };
          } catch (error) {
            expected = { error: (error as Error).message };
          }
          let actual: { value: JsonValue } | { error: string };
          try {
            actual = {
              value: parseStrictJsonAs(text, (value, tally) => {
                countAll(value, tally);
                return value;
              }),
            };
          } catch (error) {
            actual = { error: (error as Error).message };
          }
          // Assess
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
