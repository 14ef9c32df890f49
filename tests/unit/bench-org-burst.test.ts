/**
 * The org-burst section's per-change arithmetic, which docs/scaling.md multiplies out: each figure is the
 * difference of two counter snapshots divided by the changes made, reads are told from writes by
 * operation, and a counter that did not move is left out.
 */
import { type Counts, perChangeRows } from '../../bench/org-burst';

const before: Counts = {
  lambda: { analyseChange: 4, notifyChange: 1 },
  slack: { 'auth.test': 1, 'chat.postMessage': 2 },
  dynamo: { GetItem: 3, UpdateItem: 1 },
  kms: 5,
  sns: 2,
};

/** `before` plus `changes` × the per-change counts given. */
function after(
  changes: number,
  each: { analyse: number; posts: number; gets: number; updates: number },
): Counts {
  return {
    lambda: { analyseChange: 4 + changes * each.analyse, notifyChange: 1 },
    slack: { 'auth.test': 1, 'chat.postMessage': 2 + changes * each.posts },
    dynamo: { GetItem: 3 + changes * each.gets, UpdateItem: 1 + changes * each.updates, Query: changes },
    kms: 5 + changes * 2,
    sns: 2 + changes,
  };
}

const figureOf = (rows: ReturnType<typeof perChangeRows>, metric: RegExp) =>
  rows.find((row) => metric.test(row.metric))?.value;

describe('org-burst per-change figures', () => {
  test('each figure is the counters’ growth divided by the changes, whatever the starting counts', () => {
    // Prepare
    const changes = 4;
    const each = { analyse: 3, posts: 3, gets: 5, updates: 8 };
    // Act
    const rows = perChangeRows('risky', changes, before, after(changes, each), [7, 7, 7, 7, 3, 3, 3, 3], 8);
    // Assess
    expect(figureOf(rows, /state transitions/)).toBe(`${(4 * 7 + 4 * 3) / changes} over 2 executions (n 4)`);
    expect(figureOf(rows, /Lambda invocations/)).toBe(`${each.analyse} (analyseChange ${each.analyse})`);
    expect(figureOf(rows, /DynamoDB/)).toBe(
      `${each.gets + each.updates + 1}: ${each.gets + 1} reads, ${each.updates} writes ` +
        `(GetItem ${each.gets}, Query 1, UpdateItem ${each.updates})`,
    );
    expect(figureOf(rows, /KMS/)).toBe('2');
    expect(figureOf(rows, /SNS/)).toBe('1');
    expect(figureOf(rows, /Slack/)).toBe(`${each.posts} (chat.postMessage ${each.posts})`);
  });

  test('fractions keep two decimals at most, and no calls at all read as a plain 0', () => {
    // Prepare
    const changes = 3;
    // Act
    const rows = perChangeRows('harmless', changes, before, { ...before, kms: before.kms + 1 }, [4, 4, 4], 3);
    // Assess
    expect(figureOf(rows, /KMS/)).toBe((1 / changes).toFixed(2));
    expect(figureOf(rows, /Slack/)).toBe('0');
    expect(figureOf(rows, /Lambda invocations/)).toBe('0');
    expect(rows.every((row) => row.section === 'org-burst' && row.met === undefined)).toBe(true);
  });
});
