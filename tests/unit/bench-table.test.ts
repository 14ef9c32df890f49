/**
 * The benchmark's one table: every row keeps its verdict, columns line up in the terminal, the Markdown
 * file has one cell per column whatever a value holds, and a burst figure that was not measured can never
 * read as met.
 */
import { type BurstFigures, burstResultRows } from '../../bench/burst-rows';
import { roundsUntilStable } from '../../bench/detection';
import { describeMachine, type Machine } from '../../bench/machine';
import { anyMissed, formatTable, markdownTable, verdict } from '../../bench/print';
import { resultsMarkdown } from '../../bench/results';
import { median, quantile, summarise } from '../../bench/stats';
import type { BenchRow } from '../../bench/table';

const rows: BenchRow[] = [
  { section: 'detection', metric: 'checks/s', value: '31,000/s', target: '≥ 20,000/s', met: true },
  {
    section: 'cold init',
    metric: 'analyseChange init (ratio to aws-sdk v2)',
    value: '0.61×',
    target: '≤ 0.5×',
    met: false,
  },
  { section: 'burst', metric: 'Slack messages', value: '12' },
];

const machine: Machine = {
  cpuModel: 'Test CPU',
  cpuCount: 2,
  memoryGiB: 7.8,
  node: 'v20.0.0',
  os: 'Linux 6 (linux/x64)',
  loadAverage: 1.5,
  date: '2026-12-02T01:00:00.000Z',
  commit: 'abc123',
};

/** The starting column (in code points) of each cell of a plain-text line, given the header's cells. */
function columnStarts(line: string, cells: readonly string[]): number[] {
  const points = [...line];
  let from = 0;
  return cells.map((cell) => {
    const at = points.join('').indexOf(cell, from);
    from = at + cell.length;
    return [...points.join('').slice(0, at)].length;
  });
}

describe('the benchmark table', () => {
  test('a row is met, MISSED or (without a target) neither, and any miss is reported', () => {
    // Act
    const verdicts = rows.map(verdict);
    // Assess
    expect(verdicts).toEqual(['met', 'MISSED', '']);
    expect(anyMissed(rows)).toBe(true);
    expect(anyMissed(rows.filter((row) => row.met !== false))).toBe(false);
  });

  test('the plain-text table has a header, a rule and one line per row, columns aligned', () => {
    // Act
    const lines = formatTable(rows).split('\n');
    // Assess
    expect(lines).toHaveLength(rows.length + 2);
    const header = columnStarts(lines[0] as string, ['section', 'metric', 'value', 'target', 'result']);
    for (const [index, row] of rows.entries()) {
      const cells = [row.section, row.metric, row.value, row.target, verdict(row)].filter(
        (cell): cell is string => cell !== undefined && cell !== '',
      );
      const starts = columnStarts(lines[index + 2] as string, cells);
      // Each present cell starts where its header does, the empty ones skipped.
      const expected = [0, 1, 2, 3, 4]
        .filter((column) => [row.section, row.metric, row.value, row.target, verdict(row)][column])
        .map((column) => header[column]);
      expect(starts).toEqual(expected);
    }
    for (const line of lines) expect(line).toBe(line.trimEnd());
  });

  test('the Markdown table keeps five cells per row even when a value holds a pipe or a newline', () => {
    // Prepare
    const awkward: BenchRow[] = [
      { section: 's', metric: 'a | b', value: 'one\ntwo', target: 'x\\', met: true },
    ];
    // Act
    const lines = markdownTable(awkward).split('\n');
    // Assess
    expect(lines).toHaveLength(3);
    const unescapedPipes = (line: string) =>
      line.replace(/\\\\/g, '').replace(/\\\|/g, '').split('|').length - 1;
    for (const line of lines) expect(unescapedPipes(line)).toBe(6);
    expect(lines[2]).toContain('a \\| b');
    expect(lines[2]).not.toContain('\n');
  });

  test('the results file carries the machine, every row and whether targets were missed', () => {
    // Act
    const text = resultsMarkdown(rows, machine);
    // Assess
    for (const value of [machine.cpuModel, machine.node, machine.os, machine.date, machine.commit]) {
      expect(text).toContain(value);
    }
    for (const row of rows) expect(text).toContain(row.metric);
    expect(text).toContain('1 target(s) missed');
    expect(resultsMarkdown(rows.slice(0, 1), machine)).toContain('Every target met');
  });

  test('the machine description names this machine and a commit', () => {
    // Act
    const described = describeMachine(process.cwd());
    // Assess
    expect(described.cpuCount).toBeGreaterThan(0);
    expect(described.node).toBe(process.version);
    expect(described.commit).toMatch(/^([0-9a-f]{40}|unknown)/);
  });
});

describe('the benchmark statistics', () => {
  test('quantiles interpolate between ranks and ignore input order', () => {
    // Prepare
    const values = [40, 10, 30, 20];
    // Act / Assess
    expect(median(values)).toBe(25);
    expect(quantile(values, 0)).toBe(10);
    expect(quantile(values, 1)).toBe(40);
    expect(quantile(values, 0.25)).toBe(17.5);
    expect(summarise(values)).toMatchObject({ n: 4, min: 10, max: 40 });
    expect(() => quantile([], 0.5)).toThrow();
  });

  test('rounds continue past the minimum while the spread is wide and stop once it settles', () => {
    // Prepare: wild first rounds, then steady ones.
    const figures = [1, 10, 1, 10, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5];
    let next = 0;
    // Act
    const samples = roundsUntilStable(() => figures[next++] ?? 5, {
      minRounds: 4,
      maxRounds: 50,
      tolerance: 0.05,
    });
    const capped = roundsUntilStable(() => (next++ % 2 === 0 ? 1 : 10), {
      minRounds: 4,
      maxRounds: 9,
      tolerance: 0.05,
    });
    // Assess
    expect(samples.length).toBeGreaterThan(4);
    expect(samples.length).toBeLessThan(figures.length);
    const { p25, p75, median: middle } = summarise(samples);
    expect((p75 - p25) / middle).toBeLessThanOrEqual(0.05);
    expect(capped).toHaveLength(9);
  });
});

describe('the burst rows', () => {
  const shape = { changes: 100, actors: 1, groupWindowSeconds: 60 };
  const perfect: BurstFigures = {
    records: 100,
    quarantines: 100,
    slackMessages: 3,
    duplicates: 0,
    neverPosted: 0,
    drainMs: 12_000,
  };

  test('a burst with nothing lost, duplicated or unposted meets every target', () => {
    // Act
    const result = burstResultRows(shape, perfect);
    // Assess
    expect(anyMissed(result)).toBe(false);
    expect(result.filter((row) => row.met === true)).toHaveLength(4);
  });

  test.each([
    ['one record lost', { records: 99 }, 'approval records'],
    ['one quarantine lost', { quarantines: 99 }, 'quarantines'],
    ['one change shown twice', { duplicates: 1 }, 'duplicates'],
    ['one change never shown', { neverPosted: 1 }, 'never shown'],
  ])('%s misses exactly that target', (_label, change, metric) => {
    // Act
    const result = burstResultRows(shape, { ...perfect, ...change });
    // Assess
    expect(result.filter((row) => row.met === false).map((row) => row.metric)).toEqual([
      expect.stringContaining(metric),
    ]);
  });

  test('a grouped burst says so in its label, an ungrouped one does not', () => {
    // Act
    const grouped = burstResultRows(shape, perfect)[0]?.metric;
    const single = burstResultRows({ changes: 500, actors: 500, groupWindowSeconds: 0 }, perfect)[0]?.metric;
    // Assess
    expect(grouped).toBe('100 changes, 1 actor, grouped (60 s): approval records');
    expect(single).toBe('500 changes, 500 actors: approval records');
  });

  test('figures that were not measured print as such and miss every target', () => {
    // Prepare
    const nothing: BurstFigures = { ...perfect };
    for (const key of Object.keys(nothing) as (keyof BurstFigures)[]) nothing[key] = Number.NaN;
    // Act
    const result = burstResultRows(shape, nothing);
    // Assess
    expect(result.every((row) => row.value === 'not measured')).toBe(true);
    expect(result.filter((row) => row.target !== undefined).every((row) => row.met === false)).toBe(true);
  });
});
