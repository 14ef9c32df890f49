import fc from 'fast-check';
import {
  compileGlob,
  globWorkBound,
  MATCH,
  matchGlob,
  matchGlobCounted,
  NO_MATCH,
  OUT_OF_BUDGET,
} from '../../src/domain/glob-match';

/**
 * The textbook dynamic-programming glob matcher, written independently as the reference:
 * `dp[i][j]` says whether the first `i` characters of the pattern match the first `j` of the name.
 */
function referenceMatch(pattern: string, name: string): boolean {
  const m = pattern.length;
  const n = name.length;
  let previous: boolean[] = Array.from({ length: n + 1 }, (_, j) => j === 0);
  for (let i = 1; i <= m; i++) {
    const p = pattern[i - 1];
    const current: boolean[] = [p === '*' && (previous[0] as boolean)];
    for (let j = 1; j <= n; j++) {
      if (p === '*') current[j] = (previous[j] as boolean) || (current[j - 1] as boolean);
      else current[j] = (previous[j - 1] as boolean) && (p === '?' || p === name[j - 1]);
    }
    previous = current;
  }
  return previous[n] as boolean;
}

// Small alphabets make matches, near-misses and repeated substrings (the hard cases) common.
const patternArb = fc.string({ unit: fc.constantFrom('a', 'b', ':', '*', '?'), maxLength: 12 });
const nameArb = fc.string({ unit: fc.constantFrom('a', 'b', ':'), maxLength: 14 });
const unlimited = () => ({ units: 0, limit: Number.POSITIVE_INFINITY });

describe('glob matching agrees with the reference', () => {
  test('on small random patterns and names', () => {
    fc.assert(
      fc.property(patternArb, nameArb, (pattern, name) => {
        // Act
        const result = matchGlob(compileGlob(pattern), name);
        // Assess
        expect(result).toBe(referenceMatch(pattern, name));
      }),
      { numRuns: 5_000 },
    );
  });

  test('on names built to almost match (the pattern with its wildcards filled in, then one change)', () => {
    // Prepare: filling each wildcard makes a matching name; mutating one character makes a near miss.
    const arb = fc
      .tuple(
        patternArb,
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 3 }), { maxLength: 12 }),
      )
      .chain(([pattern, fills]) => {
        let name = '';
        [...pattern].forEach((c, i) => {
          const fill = fills[i % Math.max(fills.length, 1)] ?? '';
          name += c === '*' ? fill : c === '?' ? (fill[0] ?? 'a') : c;
        });
        return fc.tuple(
          fc.constant(pattern),
          fc.constant(name),
          fc.nat({ max: Math.max(name.length - 1, 0) }),
          fc.constantFrom('a', 'b', ':'),
        );
      });
    fc.assert(
      fc.property(arb, ([pattern, name, at, c]) => {
        const glob = compileGlob(pattern);
        const mutated = `${name.slice(0, at)}${c}${name.slice(at + 1)}`;
        // Act / Assess
        expect(matchGlob(glob, name)).toBe(true);
        expect(matchGlob(glob, mutated)).toBe(referenceMatch(pattern, mutated));
      }),
      { numRuns: 3_000 },
    );
  });

  test.each([
    ['', '', true],
    ['', 'a', false],
    ['*', '', true],
    ['?', '', false],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['*a*', 'bbb', false],
    ['a*b*a', 'abba', true],
    ['a*b*a', 'aba', true],
    ['a*b*a', 'ab', false],
    ['*aab', 'aaab', true],
    ['*ab*ab*', 'abab', true],
    ['*ab*ab*', 'aba', false],
    ['??*?', 'aa', false],
    ['??*?', 'aaa', true],
  ])('%j against %j → %s', (pattern, name, expected) => {
    expect(matchGlob(compileGlob(pattern), name)).toBe(expected);
    expect(referenceMatch(pattern, name)).toBe(expected);
  });
});

describe('glob matching work is bounded', () => {
  test('work ≤ the documented bound ≤ (pattern length + 1) × (name length + 1)', () => {
    fc.assert(
      fc.property(patternArb, nameArb, (pattern, name) => {
        // Prepare
        const glob = compileGlob(pattern);
        const counter = unlimited();
        // Act
        matchGlobCounted(glob, name, counter);
        // Assess
        expect(counter.units).toBeGreaterThanOrEqual(1);
        expect(counter.units).toBeLessThanOrEqual(globWorkBound(glob, name.length));
        expect(globWorkBound(glob, name.length)).toBeLessThanOrEqual(
          (pattern.length + 1) * (name.length + 1),
        );
      }),
      { numRuns: 5_000 },
    );
  });

  test('runs of * cost nothing: the bound follows the pattern with its runs collapsed', () => {
    fc.assert(
      fc.property(patternArb, nameArb, fc.integer({ min: 2, max: 50 }), (pattern, name, run) => {
        // Prepare: every * made into a run of `run` stars.
        const widened = pattern.replace(/\*/g, '*'.repeat(run));
        const counter = unlimited();
        const widenedCounter = unlimited();
        // Act
        const result = matchGlobCounted(compileGlob(pattern), name, counter);
        const widenedResult = matchGlobCounted(compileGlob(widened), name, widenedCounter);
        // Assess
        expect(widenedResult).toBe(result);
        expect(widenedCounter.units).toBe(counter.units);
      }),
    );
  });

  test('a pattern with more fixed characters than the name is rejected in one unit', () => {
    // Prepare
    const glob = compileGlob(`${'*?'.repeat(3_000)}*`);
    const counter = unlimited();
    // Act
    const result = matchGlobCounted(glob, 'iam:passrole', counter);
    // Assess
    expect(result).toBe(NO_MATCH);
    expect(counter.units).toBe(1);
  });

  test('adversarial shapes stay linear in the name: alternating wildcards, near-miss segments', () => {
    // Prepare: each of these backtracks exponentially or quadratically as a regular expression.
    const name = `${'a'.repeat(60)}b`;
    const patterns = [
      `${'*a'.repeat(30)}*c`,
      `${'*?'.repeat(30)}*c`,
      `*${'a'.repeat(30)}c*`,
      `${'*a?'.repeat(15)}*`,
    ];
    for (const pattern of patterns) {
      const glob = compileGlob(pattern);
      const counter = unlimited();
      // Act
      const result = matchGlobCounted(glob, name, counter);
      // Assess
      expect(result === MATCH).toBe(referenceMatch(pattern, name));
      expect(counter.units).toBeLessThanOrEqual(globWorkBound(glob, name.length));
    }
  });
});

describe('glob matching under a limit', () => {
  test('stops exactly when the whole match would need more than the limit, never counting past it', () => {
    fc.assert(
      fc.property(
        patternArb,
        nameArb,
        fc.nat({ max: 60 }),
        fc.nat({ max: 5 }),
        (pattern, name, limit, start) => {
          // Prepare: the counter already holds `start` units of earlier work.
          const glob = compileGlob(pattern);
          const free = unlimited();
          const expected = matchGlobCounted(glob, name, free);
          const counter = { units: start, limit: start + limit };
          // Act
          const result = matchGlobCounted(glob, name, counter);
          // Assess
          if (free.units <= limit) {
            expect(result).toBe(expected);
            expect(counter.units).toBe(start + free.units);
          } else {
            expect(result).toBe(OUT_OF_BUDGET);
            expect(counter.units).toBe(start);
          }
        },
      ),
      { numRuns: 3_000 },
    );
  });

  test('a limit at the documented bound is always enough', () => {
    fc.assert(
      fc.property(patternArb, nameArb, (pattern, name) => {
        const glob = compileGlob(pattern);
        const counter = { units: 0, limit: globWorkBound(glob, name.length) };
        expect(matchGlobCounted(glob, name, counter)).not.toBe(OUT_OF_BUDGET);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('compileGlob', () => {
  test.each([
    ['a**b', 'a*b', 2, true],
    ['***', '*', 0, true],
    ['?a?', '?a?', 3, false],
    ['', '', 0, false],
  ])('%j is %j with %i fixed characters (star: %s)', (pattern, text, fixed, hasStar) => {
    const glob = compileGlob(pattern);
    expect(glob.text).toBe(text);
    expect(glob.fixed).toBe(fixed);
    expect(glob.hasStar).toBe(hasStar);
  });

  test.each([
    ['s3:get*', 's3:get'],
    ['s3:g?t*', 's3:g'],
    ['*', ''],
    ['iam:passrole', 'iam:passrole'],
  ])('the literal prefix of %j is %j', (pattern, prefix) => {
    expect(compileGlob(pattern).literalPrefix).toBe(prefix);
  });
});
