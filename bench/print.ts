/**
 * Prints the benchmark's one table: aligned plain text for the terminal and the same rows in Markdown for
 * `bench/RESULTS.md`. Each row's verdict is derived from `met` alone, so a row without a target never
 * reads as met and a missed target is never hidden.
 */
import type { BenchRow } from './table';

const HEADERS = ['section', 'metric', 'value', 'target', 'result'] as const;

/** `met`, `MISSED` or empty (no target) for a row. */
export function verdict(row: BenchRow): string {
  if (row.met === undefined) return '';
  return row.met ? 'met' : 'MISSED';
}

function cells(row: BenchRow): string[] {
  return [row.section, row.metric, row.value, row.target ?? '', verdict(row)];
}

/** Whether any row misses its target (the benchmark then exits 1). */
export function anyMissed(rows: readonly BenchRow[]): boolean {
  return rows.some((row) => row.met === false);
}

/**
 * The rows as plain text: one header line, a rule, one line per row, columns padded to their widest cell
 * (measured in code points, so `≥` and `×` count as one column).
 */
export function formatTable(rows: readonly BenchRow[]): string {
  const table = [[...HEADERS], ...rows.map(cells)];
  const width = (text: string) => [...text].length;
  const widths = HEADERS.map((_, column) => Math.max(...table.map((line) => width(line[column] ?? ''))));
  const render = (line: readonly string[]) =>
    line
      .map((cell, column) => cell + ' '.repeat((widths[column] ?? 0) - width(cell)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [render(table[0] as string[]), rule, ...table.slice(1).map(render)].join('\n');
}

/** A cell safe inside a Markdown table: pipes escaped, line breaks folded. */
function markdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The rows as a Markdown table with the same columns as {@link formatTable}. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const line = (values: readonly string[]) => `| ${values.map(markdownCell).join(' | ')} |`;
  return [line(HEADERS), line(HEADERS.map(() => '---')), ...rows.map((row) => line(cells(row)))].join('\n');
}
