import type { Finding } from '../domain/analyse-policy';

const HEADERS = ['ACTION', 'CONDITIONAL', 'STATEMENT', 'MATCHED BY', 'RESOURCES'] as const;

function resourcesText(resources: readonly string[], notResources: readonly string[] | undefined): string {
  if (notResources) return `all except ${notResources.join(', ')}`;
  return resources.length === 0 ? '(none given)' : resources.join(', ');
}

/**
 * Renders one file's findings as a readable table: one row per granting statement, so a reader sees
 * each restricted action, which statement grants it, the pattern responsible and where it applies.
 */
export function formatFileReport(file: string, findings: readonly Finding[]): string {
  if (findings.length === 0) return `${file}: OK, grants no restricted action\n\n`;
  const rows: string[][] = [];
  for (const finding of findings) {
    finding.statements.forEach((statement, i) => {
      rows.push([
        i === 0 ? finding.action : '',
        i === 0 ? (finding.conditional ? 'yes' : 'no') : '',
        statement.sid ? `#${statement.index} ${statement.sid}` : `#${statement.index}`,
        statement.matchedBy,
        resourcesText(statement.resources, statement.notResources),
      ]);
    });
  }
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const count = findings.length;
  const heading = `${file}: RESTRICTED, grants ${count} restricted action${count === 1 ? '' : 's'}`;
  return `${heading}\n  ${line(HEADERS)}\n${rows.map((row) => `  ${line(row)}`).join('\n')}\n\n`;
}
