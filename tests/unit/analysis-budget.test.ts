import fc from 'fast-check';
import {
  analysePolicy,
  DEFAULT_ANALYSIS_BUDGET,
  type Finding,
  type WorkMeter,
} from '../../src/domain/analyse-policy';
import { catalogueFromData } from '../../src/domain/catalogue';
import { loadGeneratedCatalogue } from '../../src/domain/catalogue-data';
import type { PolicyDocument, PolicyStatement } from '../../src/domain/policy-document';
import {
  defaultRestrictedEntries,
  type RestrictedActionSet,
  resolveRestrictedActions,
} from '../../src/domain/restricted-actions';
import { AnalysisBudgetError, PolicyGateError } from '../../src/errors';

// IAM's largest document: a role's inline policies, 10,240 characters without white space in all.
const IAM_MAX_CHARACTERS = 10_240;

// A deterministic pseudo-random generator, so the wide synthetic list is the same on every run.
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

// A wide list over a two-letter alphabet: patterns over the same letters then nearly match everywhere,
// which is what makes glob matching expensive.
function syntheticList(services: number, perService: number): RestrictedActionSet {
  const random = lcg(7);
  const data: Record<string, string[]> = {};
  for (let s = 0; s < services; s++) {
    const names = new Set<string>();
    while (names.size < perService) {
      const length = 8 + Math.floor(random() * 40);
      names.add(Array.from({ length }, () => (random() < 0.5 ? 'a' : 'b')).join(''));
    }
    data[`s${s}`] = [...names];
  }
  return resolveRestrictedActions(
    ['*:*'],
    catalogueFromData({ source: 'test', generatedFrom: 'test', services: data }),
  );
}

const wide = syntheticList(3, 150);
const longestName = Math.max(...wide.actions.map((a) => a.lower.length));

interface Outcome {
  findings?: Finding[];
  error?: unknown;
  units: number;
}

function run(document: PolicyDocument, set: RestrictedActionSet, budget?: number): Outcome {
  const meter: WorkMeter = { units: 0 };
  try {
    const findings = analysePolicy(document, set, budget === undefined ? { meter } : { budget, meter });
    return { findings, units: meter.units };
  } catch (error) {
    return { error, units: meter.units };
  }
}

const patternArb = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), minLength: 1, maxLength: 10 }),
  fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), maxLength: 10 }).map((p) => `s1:${p}`),
  fc.constantFrom('*', '*:*', `${'*?'.repeat(40)}*`, `*${'a'.repeat(30)}b*`),
);
const statementArb = fc.record({
  effect: fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Deny'),
  notAction: fc.boolean(),
  // Duplicates on purpose: repeated patterns are a cheap way to ask for a lot of work.
  patterns: fc
    .array(patternArb, { maxLength: 12 })
    .chain((ps) => fc.array(fc.constantFrom(...(ps.length > 0 ? ps : ['*'])), { maxLength: 24 })),
  resource: fc.constantFrom<readonly string[]>(['*'], [' *'], ['arn:aws:s3:::x', '*'], ['arn:aws:s3:::x']),
  condition: fc.boolean(),
});
const documentArb = fc.array(statementArb, { minLength: 1, maxLength: 6 }).map(
  (statements): PolicyDocument => ({
    statements: statements.map(
      (s, index): PolicyStatement => ({
        index,
        effect: s.effect,
        ...(s.notAction ? { notAction: s.patterns } : { action: s.patterns }),
        resource: s.resource,
        ...(s.condition && { condition: { Bool: { 'aws:SecureTransport': 'true' } } }),
      }),
    ),
  }),
);

function size(document: PolicyDocument): number {
  return JSON.stringify(document).length;
}

describe('analysis under a work budget', () => {
  test('generated adversarial documents either return or throw AnalysisBudgetError, never past the budget', () => {
    fc.assert(
      fc.property(documentArb, fc.double({ min: 0, max: 1.5, noNaN: true }), (document, fraction) => {
        // Prepare: the work the document needs, measured without a limit.
        const free = run(document, wide, Number.POSITIVE_INFINITY);
        expect(free.error).toBeUndefined();
        const budget = Math.floor(free.units * fraction);
        // Act
        const limited = run(document, wide, budget);
        // Assess
        expect(limited.units).toBeLessThanOrEqual(budget);
        if (free.units <= budget) {
          expect(limited.error).toBeUndefined();
          expect(limited.findings).toEqual(free.findings);
          expect(limited.units).toBe(free.units);
        } else {
          expect(limited.error).toBeInstanceOf(AnalysisBudgetError);
          expect((limited.error as AnalysisBudgetError).budget).toBe(budget);
          expect((limited.error as Error).message).toMatch(/^analysis budget exceeded/);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('the work is at most proportional to document size × list size × name length', () => {
    fc.assert(
      fc.property(documentArb, (document) => {
        // Act
        const { units } = run(document, wide, Number.POSITIVE_INFINITY);
        // Assess: a loose linear bound; the point is that no document can ask for more than this.
        const bound = 64 * (wide.actions.length + 1) * (longestName + 2) * (size(document) + 1);
        expect(units).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 200 },
    );
  });

  test('a repeated pattern is read again but never matched again', () => {
    // Prepare
    const expensive = `*${'a'.repeat(12)}b*b*a`;
    const once: PolicyDocument = { statements: [{ index: 0, effect: 'Allow', action: [expensive] }] };
    const repeated: PolicyDocument = {
      statements: [{ index: 0, effect: 'Allow', action: Array.from({ length: 1_000 }, () => expensive) }],
    };
    // Act
    const single = run(once, wide, Number.POSITIVE_INFINITY);
    const many = run(repeated, wide, Number.POSITIVE_INFINITY);
    // Assess
    expect(many.findings).toEqual(single.findings);
    expect(many.units).toBeLessThanOrEqual(single.units + 999 * (expensive.length + 1));
  });

  test('a budget of zero stops at once; a negative or NaN budget is a programming error', () => {
    // Prepare
    const document: PolicyDocument = { statements: [{ index: 0, effect: 'Allow', action: ['*'] }] };
    // Act
    const zero = run(document, wide, 0);
    const negative = run(document, wide, -1);
    const nan = run(document, wide, Number.NaN);
    // Assess
    expect(zero.error).toBeInstanceOf(AnalysisBudgetError);
    expect(zero.units).toBe(0);
    for (const bad of [negative, nan]) {
      expect(bad.error).toBeInstanceOf(PolicyGateError);
      expect(bad.error).not.toBeInstanceOf(AnalysisBudgetError);
    }
  });
});

describe('the default budget', () => {
  // Long names no pattern below can place a segment in: every match scans the whole name.
  const scanned = resolveRestrictedActions(
    ['*:*'],
    catalogueFromData({
      source: 'test',
      generatedFrom: 'test',
      services: { svc: Array.from({ length: 2_000 }, (_, i) => `${'a'.repeat(56)}${i}`) },
    }),
  );
  const patterns = (count: number) => Array.from({ length: count }, (_, i) => `*b${i}*`);

  test('applies when no budget is given, and the error names it', () => {
    // Prepare
    const document: PolicyDocument = { statements: [{ index: 0, effect: 'Allow', action: patterns(1_200) }] };
    const needed = run(document, scanned, Number.POSITIVE_INFINITY).units;
    // Act
    const result = run(document, scanned);
    // Assess
    expect(needed).toBeGreaterThan(DEFAULT_ANALYSIS_BUDGET);
    expect(result.error).toBeInstanceOf(AnalysisBudgetError);
    expect((result.error as AnalysisBudgetError).budget).toBe(DEFAULT_ANALYSIS_BUDGET);
    expect((result.error as Error).message).toContain(DEFAULT_ANALYSIS_BUDGET.toLocaleString('en-US'));
    expect(result.units).toBeLessThanOrEqual(DEFAULT_ANALYSIS_BUDGET);
  });

  test('lets a document through that needs less', () => {
    // Prepare
    const document: PolicyDocument = { statements: [{ index: 0, effect: 'Allow', action: patterns(50) }] };
    // Act
    const result = run(document, scanned);
    // Assess
    expect(result.error).toBeUndefined();
    expect(result.findings).toEqual([]);
    expect(result.units).toBeLessThan(DEFAULT_ANALYSIS_BUDGET);
  });
});

describe('documents within IAM limits against the shipped list', () => {
  const shipped = resolveRestrictedActions(defaultRestrictedEntries(), loadGeneratedCatalogue());
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-:*?'.split('');

  // The document as IAM would store it (compact JSON, so no white space to discount).
  function iamCharacters(document: PolicyDocument): number {
    const statements = document.statements.map((s) => ({
      Effect: s.effect,
      ...(s.action && { Action: s.action }),
      ...(s.notAction && { NotAction: s.notAction }),
      ...(s.resource && { Resource: s.resource }),
    }));
    return JSON.stringify({ Version: '2012-10-17', Statement: statements }).length;
  }

  // One statement holding as many patterns as IAM's size limit leaves room for.
  function filled(pattern: (i: number) => string, key: 'action' | 'notAction' = 'action'): PolicyDocument {
    const list: string[] = [];
    const make = (): PolicyDocument => ({
      statements: [
        {
          index: 0,
          effect: 'Allow',
          ...(key === 'action' ? { action: list } : { notAction: list }),
          resource: ['*'],
        },
      ],
    });
    for (let i = 0; ; i++) {
      list.push(pattern(i));
      if (iamCharacters(make()) > IAM_MAX_CHARACTERS) {
        list.pop();
        return make();
      }
    }
  }
  const word = (i: number, length: number) =>
    Array.from({ length }, (_, k) => alphabet[Math.floor(i / alphabet.length ** k) % alphabet.length]).join(
      '',
    );

  test.each<[string, () => PolicyDocument]>([
    [
      'short patterns tried against every action, each scanning the name',
      () => filled((i) => `*${word(i, 3)}*`),
    ],
    ['the same as NotAction', () => filled((i) => `*${word(i, 3)}*`, 'notAction')],
    ['alternating wildcards', () => filled((i) => `${'*?'.repeat(15)}${word(i, 2)}*`)],
    [
      'one huge pattern',
      () => ({ statements: [{ index: 0, effect: 'Allow', action: ['*?'.repeat(5_000)] }] }),
    ],
    [
      'hundreds of statements granting everything',
      () => {
        const statements: PolicyStatement[] = [];
        while (iamCharacters({ statements }) <= IAM_MAX_CHARACTERS) {
          statements.push({ index: statements.length, effect: 'Allow', action: ['*'] });
        }
        statements.pop();
        return { statements };
      },
    ],
  ])('%s: finishes well inside the default budget', (_label, make) => {
    // Prepare
    const document = make();
    expect(iamCharacters(document)).toBeLessThanOrEqual(IAM_MAX_CHARACTERS);
    // Act
    const result = run(document, shipped);
    // Assess
    expect(result.error).toBeUndefined();
    expect(result.units).toBeLessThan(DEFAULT_ANALYSIS_BUDGET / 10);
  });

  test('random documents of the largest size IAM accepts finish well inside the default budget', () => {
    const seedArb = fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.array(seedArb, { minLength: 1, maxLength: 50 }), (seeds) => {
        // Prepare: the seed patterns, numbered so none repeats, until the document is as big as IAM allows.
        const document = filled((i) => `${seeds[i % seeds.length]}${i}`);
        // Act
        const result = run(document, shipped);
        // Assess
        expect(result.error).toBeUndefined();
        expect(result.units).toBeLessThan(DEFAULT_ANALYSIS_BUDGET / 10);
      }),
      { numRuns: 25 },
    );
  });
});
