import { type DocumentNode, parse, type ValueNode } from '@humanwhocodes/momoa';
import fc from 'fast-check';
import { type JsonValue, parseStrictJson } from '../../src/domain/json-strict';
import { type PolicyDocument, parsePolicyDocument } from '../../src/domain/policy-document';
import { decodePolicyText } from '../../src/domain/policy-text';
import { PolicyParseError } from '../../src/errors';

// Attacker input is the point here: more runs than fast-check's default 100.
const RUNS = { numRuns: 400 };

/** Runs `fn`; a PolicyParseError is an answer, anything else thrown fails the property. */
function returnsOrRefuses(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (error instanceof PolicyParseError) return true;
    throw error;
  }
}

/** Values the strict reading accepts on their own (so that an injected duplicate is their only fault). */
const acceptable = (value: JsonValue) => strictReading(JSON.stringify(value)).ok;

/**
 * The reading before strict parsing (JSON.parse, last duplicate wins), kept here as the reference the
 * new reading must agree with wherever both accept a document.
 */
function oldReading(input: unknown): PolicyDocument {
  let raw = input;
  if (typeof input === 'string') {
    const trimmed = input.trim();
    raw = JSON.parse(
      !trimmed.startsWith('{') && !trimmed.startsWith('[') && /%[0-9a-f]{2}/i.test(trimmed)
        ? decodeURIComponent(trimmed).trim()
        : trimmed,
    );
  }
  const document = raw as Record<string, unknown>;
  const list = (value: unknown) => (typeof value === 'string' ? [value] : (value as string[]));
  const statementsRaw = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  return {
    ...(document.Version !== undefined && { version: document.Version as string }),
    ...(document.Id !== undefined && { id: document.Id as string }),
    statements: statementsRaw.map((s: Record<string, unknown>, index: number) => ({
      index,
      ...(s.Sid !== undefined && { sid: s.Sid as string }),
      effect: s.Effect as 'Allow' | 'Deny',
      ...(s.Action !== undefined && { action: list(s.Action) }),
      ...(s.NotAction !== undefined && { notAction: list(s.NotAction) }),
      ...(s.Resource !== undefined && { resource: list(s.Resource) }),
      ...(s.NotResource !== undefined && { notResource: list(s.NotResource) }),
      ...(s.Condition !== undefined &&
        Object.keys(s.Condition as object).length > 0 && {
          condition: s.Condition as Record<string, unknown>,
        }),
    })),
  };
}

// --- documents made only of allowed constructs -------------------------------------------------------

const service = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
const actionName = fc.stringMatching(/^[A-Za-z0-9*?-]{1,16}$/);
const action = fc.oneof(
  { weight: 1, arbitrary: fc.constant('*') },
  { weight: 9, arbitrary: fc.tuple(service, actionName).map(([s, a]) => `${s}:${a}`) },
);
const resource = fc.oneof(
  fc.constant('*'),
  fc.stringMatching(/^(?:[\x21-\x7e](?:[\x20-\x7e]{0,30}[\x21-\x7e])?)?$/),
);
const oneOrMany = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, fc.array(arb, { maxLength: 4 }));
const conditionValue = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.integer(),
  fc.boolean(),
  // -0 would come back from JSON text as 0.
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }).map((n) => n + 0),
);
const conditionKeys = fc
  .uniqueArray(fc.stringMatching(/^[\x21-\x7e]{1,20}$/), {
    minLength: 1,
    maxLength: 3,
    selector: (k) => k.toLowerCase(),
  })
  .chain((keys) =>
    fc
      .tuple(...keys.map(() => oneOrMany(conditionValue)))
      .map((values) => Object.fromEntries(keys.map((k, i) => [k, values[i]]))),
  );
const condition = fc
  .uniqueArray(
    fc.constantFrom(
      'StringEquals',
      'StringLike',
      'ArnLike',
      'Bool',
      'NumericLessThan',
      'ForAllValues:StringEquals',
      'Null',
    ),
    {
      maxLength: 3,
    },
  )
  .chain((operators) =>
    fc
      .tuple(...operators.map(() => conditionKeys))
      .map((blocks) => Object.fromEntries(operators.map((op, i) => [op, blocks[i]]))),
  );
const statement = fc
  .record(
    {
      Sid: fc.stringMatching(/^[A-Za-z0-9]{0,10}$/),
      Effect: fc.constantFrom('Allow', 'Deny'),
      actions: fc.tuple(fc.boolean(), oneOrMany(action)),
      resources: fc.option(fc.tuple(fc.boolean(), oneOrMany(resource)), { nil: undefined }),
      Condition: condition,
    },
    { requiredKeys: ['Effect', 'actions'] },
  )
  .map(({ actions, resources, ...rest }) => ({
    ...rest,
    [actions[0] ? 'Action' : 'NotAction']: actions[1],
    ...(resources && { [resources[0] ? 'Resource' : 'NotResource']: resources[1] }),
  }));
const validDocument = fc.record(
  {
    Version: fc.constantFrom('2012-10-17', '2008-10-17'),
    Id: fc.string({ unit: 'grapheme' }),
    Statement: fc.oneof(statement, fc.array(statement, { maxLength: 5 })),
  },
  { requiredKeys: ['Statement'] },
);

// --- attacker documents: policy-shaped, with anything anywhere ---------------------------------------

const nastyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    ' *',
    '* ',
    '\u00a0*',
    '*\u200b',
    '\t*',
    'ſ3:GetObject',
    'iam:\u212aill',
    '\uFEFF',
    '%',
    '%ZZ',
    '\ud800',
    '__proto__',
    'constructor',
  ),
  action,
  resource,
);
// Mostly values the JSON layer accepts, so the policy rules get exercised rather than the number rule.
const anyJson = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).filter((v) => acceptable(v as JsonValue)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const nasty = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 6, arbitrary: arb },
    { weight: 1, arbitrary: nastyString },
    { weight: 1, arbitrary: anyJson },
  );
const attackStatement = fc
  .record(
    {
      Sid: nasty(fc.stringMatching(/^[A-Za-z0-9]{0,6}$/)),
      Effect: nasty(fc.constantFrom('Allow', 'Deny', 'allow', ' Allow')),
      Action: nasty(oneOrMany(nasty(action))),
      NotAction: nasty(oneOrMany(nasty(action))),
      Resource: nasty(oneOrMany(nasty(resource))),
      NotResource: nasty(oneOrMany(nasty(resource))),
      Condition: nasty(condition),
      Principal: nasty(fc.oneof(fc.constant('*'), fc.record({ AWS: oneOrMany(nasty(resource)) }))),
    },
    { requiredKeys: [] },
  )
  .chain((s) => fc.tuple(fc.constant(s as Record<string, unknown>), fc.option(anyJson, { nil: undefined })))
  .map(([s, proto]) => {
    // A `__proto__` member, as JSON.stringify writes an own `__proto__` key.
    if (proto !== undefined) Object.defineProperty(s, '__proto__', { value: proto, enumerable: true });
    return s;
  });
/** Documents of allowed constructs whose strings are now and then swapped for nasty ones. */
const rarelyNasty = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 15, arbitrary: arb }, { weight: 1, arbitrary: nastyString });
const nearlyValidStatement = fc
  .record(
    {
      Sid: rarelyNasty(fc.stringMatching(/^[A-Za-z0-9]{0,6}$/)),
      Effect: fc.constantFrom('Allow', 'Deny'),
      Action: oneOrMany(rarelyNasty(action)),
      Resource: oneOrMany(rarelyNasty(resource)),
      Condition: condition,
    },
    { requiredKeys: ['Effect', 'Action'] },
  )
  .map((s) => s as Record<string, unknown>);
const nearlyValidDocument = fc.record({
  Version: fc.constant('2012-10-17'),
  Statement: fc.array(nearlyValidStatement, { maxLength: 4 }),
});
const attackDocument = fc.record(
  {
    Version: nasty(fc.constantFrom('2012-10-17', '2008-10-17')),
    Id: nasty(fc.string()),
    Statement: nasty(fc.oneof(attackStatement, fc.array(attackStatement, { maxLength: 4 }))),
  },
  { requiredKeys: [] },
);

/** Writes `value` as JSON text with one extra member in its `target`-th non-empty object (in text order). */
interface Injection {
  readonly target: number;
  /** Which existing key to repeat (modulo the object's size). */
  readonly key: number;
  /** Where among the members the repeat goes (modulo the object's size + 1). */
  readonly position: number;
  readonly value: JsonValue;
  /** Write every key fully `\u`-escaped, so duplicates are only equal once unescaped. */
  readonly escapeKeys: boolean;
}
function printWithDuplicate(root: JsonValue, injection: Injection): string {
  let seen = 0;
  const key = (name: string) =>
    injection.escapeKeys
      ? `"${name
          .split('')
          .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
          .join('')}"`
      : JSON.stringify(name);
  const write = (value: JsonValue): string => {
    if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
    if (value === null || typeof value !== 'object') return JSON.stringify(value);
    const names = Object.keys(value);
    const members = names.map((name) => `${key(name)}:${write(value[name] as JsonValue)}`);
    if (names.length > 0 && seen++ === injection.target) {
      const repeated = names[injection.key % names.length] as string;
      members.splice(
        injection.position % (names.length + 1),
        0,
        `${key(repeated)}:${write(injection.value)}`,
      );
    }
    return `{${members.join(',')}}`;
  };
  return write(root);
}
function nonEmptyObjects(value: JsonValue): number {
  if (Array.isArray(value)) return value.reduce<number>((n, item) => n + nonEmptyObjects(item), 0);
  if (value === null || typeof value !== 'object') return 0;
  const names = Object.keys(value);
  return (
    (names.length > 0 ? 1 : 0) + names.reduce((n, name) => n + nonEmptyObjects(value[name] as JsonValue), 0)
  );
}
const cleanJson = (maxDepth: number) =>
  fc
    .jsonValue({ maxDepth })
    .map((v) => v as JsonValue)
    .filter(acceptable);

/** Injects a copy of one existing key (with any value) into one object, at any position. */
const withDuplicate = (value: fc.Arbitrary<JsonValue>) =>
  value
    .filter((v) => nonEmptyObjects(v) > 0)
    .chain((root) =>
      fc.tuple(
        fc.constant(root),
        fc.record({
          target: fc.nat(nonEmptyObjects(root) - 1),
          key: fc.nat(),
          position: fc.nat(),
          value: cleanJson(2),
          escapeKeys: fc.boolean(),
        }),
      ),
    )
    .map(([root, injection]) => printWithDuplicate(root, injection));

// --- an independent reading with momoa, for the differential property -------------------------------

type Verdict = { ok: true; value: JsonValue } | { ok: false };
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function momoaReading(text: string): Verdict {
  let ast: DocumentNode;
  try {
    // momoa lets raw control characters through in strings: ECMA-404 validity is JSON.parse's to say.
    JSON.parse(text);
    ast = parse(text, { mode: 'json' });
  } catch {
    return { ok: false };
  }
  const read = (node: ValueNode): JsonValue | typeof REFUSED => {
    switch (node.type) {
      case 'String':
        return LONE.test(node.value) ? REFUSED : node.value;
      case 'Number':
        return Number.isFinite(node.value) &&
          (!Number.isInteger(node.value) || Number.isSafeInteger(node.value))
          ? node.value
          : REFUSED;
      case 'Boolean':
        return node.value;
      case 'Null':
        return null;
      case 'Array': {
        const items = node.elements.map((e) => read(e.value));
        return items.includes(REFUSED) ? REFUSED : (items as JsonValue[]);
      }
      case 'Object': {
        const result: Record<string, JsonValue> = {};
        for (const member of node.members) {
          if (member.name.type !== 'String' || LONE.test(member.name.value)) return REFUSED;
          if (Object.hasOwn(result, member.name.value)) return REFUSED;
          const value = read(member.value);
          if (value === REFUSED) return REFUSED;
          Object.defineProperty(result, member.name.value, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return result;
      }
      default:
        return REFUSED;
    }
  };
  const value = read(ast.body);
  return value === REFUSED ? { ok: false } : { ok: true, value };
}
const REFUSED = Symbol('refused');

function strictReading(text: string): Verdict {
  try {
    return { ok: true, value: parseStrictJson(text) };
  } catch (error) {
    if (error instanceof PolicyParseError) return { ok: false };
    throw error;
  }
}

const jsonText = fc.oneof(
  fc.json({ maxDepth: 4, stringUnit: 'binary' }),
  fc.json({ maxDepth: 4 }).map((t) => t.replace(/,/g, ' , ')),
  withDuplicate(cleanJson(4)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, 2)),
);

// --- the properties ----------------------------------------------------------------------------------

describe('parsePolicyDocument over attacker input', () => {
  test('any string is read or refused with a PolicyParseError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.json({ stringUnit: 'binary' }), jsonText),
        (text) => returnsOrRefuses(() => parsePolicyDocument(text)),
      ),
      RUNS,
    );
  });

  test('any policy-shaped document, as text, URL-encoded or as an object, is read or refused', () => {
    fc.assert(
      fc.property(
        attackDocument,
        fc.constantFrom<'identity' | 'trust'>('identity', 'trust'),
        (document, kind) => {
          const text = JSON.stringify(document);
          return (
            returnsOrRefuses(() => parsePolicyDocument(document, { kind })) &&
            returnsOrRefuses(() => parsePolicyDocument(text, { kind })) &&
            returnsOrRefuses(() =>
              parsePolicyDocument(encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '?')), { kind }),
            )
          );
        },
      ),
      RUNS,
    );
  });

  test('any JavaScript value is read or refused, whatever its prototype, holes or types', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
          withTypedArray: true,
          withUnicodeString: true,
        }),
        (value) =>
          returnsOrRefuses(() => parsePolicyDocument(value)) &&
          returnsOrRefuses(() => parsePolicyDocument({ Statement: [value] })),
      ),
      RUNS,
    );
  });

  test('whatever is accepted has action and resource strings in printable ASCII, with nothing to trim', () => {
    fc.assert(
      fc.property(fc.oneof(attackDocument, nearlyValidDocument), (document) => {
        let parsed: PolicyDocument;
        try {
          parsed = parsePolicyDocument(JSON.stringify(document));
        } catch (error) {
          if (error instanceof PolicyParseError) return true;
          throw error;
        }
        return parsed.statements.every((s) =>
          [
            ...(s.action ?? []),
            ...(s.notAction ?? []),
            ...(s.resource ?? []),
            ...(s.notResource ?? []),
            s.sid ?? '',
          ].every((text) => /^[\x20-\x7e]*$/.test(text) && text.trim() === text),
        );
      }),
      RUNS,
    );
  });
});

describe('the strict reading agrees with the old one wherever the old one was unambiguous', () => {
  test('a document of allowed constructs without duplicates gives the same statements, in every form', () => {
    fc.assert(
      fc.property(validDocument, (document) => {
        // Prepare
        const compact = JSON.stringify(document);
        const forms = [compact, JSON.stringify(document, null, 2), encodeURIComponent(compact), document];
        // Act
        const expected = oldReading(compact);
        // Assess
        for (const form of forms) expect(parsePolicyDocument(form)).toEqual(expected);
      }),
      RUNS,
    );
  });
});

describe('a duplicate key is refused wherever it is injected', () => {
  test('in a policy document, at any level, written plainly or escaped', () => {
    fc.assert(
      fc.property(withDuplicate(validDocument.map((d) => d as JsonValue)), (text) => {
        expect(() => parsePolicyDocument(text)).toThrow(/duplicate key/);
        expect(() => parsePolicyDocument(encodeURIComponent(text))).toThrow(/duplicate key/);
      }),
      RUNS,
    );
  });

  test('in any JSON value', () => {
    fc.assert(
      fc.property(withDuplicate(cleanJson(5)), (text) => {
        expect(() => parseStrictJson(text)).toThrow(PolicyParseError);
        expect(() => parseStrictJson(text)).toThrow(/duplicate key/);
      }),
      RUNS,
    );
  });

  test('the strict reading accepts and refuses exactly what an independent momoa reading does, with the same values', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        // Act
        const strict = strictReading(text);
        const reference = momoaReading(text);
        // Assess
        expect(strict.ok).toBe(reference.ok);
        if (strict.ok && reference.ok) expect(strict.value).toStrictEqual(reference.value);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodePolicyText', () => {
  const iamEncode = (text: string) =>
    encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

  test('decodes any URL-encoded JSON back to exactly that JSON', () => {
    fc.assert(
      fc.property(fc.json({ stringUnit: 'grapheme' }), fc.constantFrom('', ' ', '\n  '), (json, space) => {
        const text = `${space}${json}${space}`;
        expect(decodePolicyText(encodeURIComponent(text))).toBe(text);
        expect(decodePolicyText(iamEncode(text))).toBe(text);
      }),
      RUNS,
    );
  });

  test('returns raw JSON objects and lists unchanged, "%" and escape-like text included', () => {
    const percentText = fc.stringMatching(/^(?:[^"\\]|%[0-9A-Fa-f]{2}|%[G-Zg-z]{0,2}|%)*$/);
    fc.assert(
      fc.property(
        fc.oneof(fc.dictionary(percentText, fc.oneof(percentText, fc.jsonValue())), fc.array(percentText)),
        fc.constantFrom('', ' ', '\r\n\t', '\n'),
        fc.constantFrom<number | undefined>(undefined, 2),
        (value, space, indent) => {
          const text = `${space}${JSON.stringify(value, null, indent)}${space}`;
          expect(decodePolicyText(text)).toBe(text);
        },
      ),
      RUNS,
    );
  });

  test('never throws anything but a PolicyParseError, and never returns text that was not decoded from it', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.stringMatching(/^(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9%+])*$/)),
        (text) => {
          let decoded: string;
          try {
            decoded = decodePolicyText(text);
          } catch (error) {
            if (error instanceof PolicyParseError) return;
            throw error;
          }
          const unchanged = decoded === text;
          const decodedOnce =
            !unchanged && decoded === decodeURIComponent(text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, ''));
          expect(unchanged || decodedOnce).toBe(true);
        },
      ),
      RUNS,
    );
  });
});
