/**
 * `bench/RESULTS.md`: the latest full run's table in Markdown with the machine it came from, so every
 * figure the README or the operations guide quotes can be traced to a run and a commit.
 */
import { type Machine, machineMarkdown } from './machine';
import { markdownTable } from './print';
import type { BenchRow } from './table';

/** The whole results file for `rows` measured on `machine`. */
export function resultsMarkdown(rows: readonly BenchRow[], machine: Machine): string {
  const missed = rows.filter((row) => row.met === false).length;
  return [
    '# Benchmark results',
    '',
    'Written by the latest full `npm run bench` (`--quick` and `--only` runs leave this file alone). What',
    'each figure measures is described at the top of its section under `bench/`; targets come from issue 12.',
    '',
    '## Machine',
    '',
    machineMarkdown(machine),
    '',
    '## Figures',
    '',
    markdownTable(rows),
    '',
    missed === 0 ? 'Every target met.' : `${missed} target(s) missed.`,
    '',
  ].join('\n');
}
