/**
 * Bursts: many risky changes at once through the sandbox with Slack's rate limits enforced by the
 * stand-in, from one actor (a Terraform apply) and from many. Targets per burst: every change recorded
 * and quarantined (0 lost), no request posted twice, none left unposted.
 */
import { burstRun } from './burst';
import type { SectionOptions } from './section';
import { formatCount, formatMs } from './stats';
import type { BenchRow } from './table';

/** The bursts `npm run bench` runs (the quick smoke runs small ones). */
export function burstShapes(quick: boolean): { changes: number; actors: number }[] {
  return quick
    ? [
        { changes: 20, actors: 1 },
        { changes: 20, actors: 20 },
      ]
    : [
        { changes: 100, actors: 1 },
        { changes: 500, actors: 1 },
        { changes: 500, actors: 500 },
      ];
}

/** A figure as printed: a count, or `not measured` when the run produced none. */
const figure = (n: number) => (Number.isFinite(n) ? formatCount(n) : 'not measured');

/** The figures `burstRun` returns for one burst. */
export type BurstFigures = Awaited<ReturnType<typeof burstRun>>;

/**
 * The six rows of one burst: records and quarantines must equal the changes made (0 lost), duplicates and
 * never-posted requests must be 0; a figure that is not a finite number was not measured and misses.
 */
export function burstResultRows(
  { changes, actors }: { changes: number; actors: number },
  result: BurstFigures,
): BenchRow[] {
  const section = 'burst';
  const label = `${formatCount(changes)} changes, ${formatCount(actors)} actor${actors === 1 ? '' : 's'}`;
  const exactly = (n: number) => Number.isFinite(n) && n === changes;
  const none = (n: number) => Number.isFinite(n) && n === 0;
  return [
    {
      section,
      metric: `${label}: approval records`,
      value: figure(result.records),
      target: `${formatCount(changes)} (0 lost)`,
      met: exactly(result.records),
    },
    {
      section,
      metric: `${label}: quarantines`,
      value: figure(result.quarantines),
      target: `${formatCount(changes)} (0 lost)`,
      met: exactly(result.quarantines),
    },
    { section, metric: `${label}: Slack messages`, value: figure(result.slackMessages) },
    {
      section,
      metric: `${label}: duplicate posts`,
      value: figure(result.duplicates),
      target: '0',
      met: none(result.duplicates),
    },
    {
      section,
      metric: `${label}: requests never posted`,
      value: figure(result.neverPosted),
      target: '0',
      met: none(result.neverPosted),
    },
    {
      section,
      metric: `${label}: time to drain`,
      value: Number.isFinite(result.drainMs) ? formatMs(result.drainMs) : 'not measured',
    },
  ];
}

/** The burst rows: six per burst, with the rate limit on. */
export async function burstRows({ quick, log }: SectionOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const shape of burstShapes(quick)) {
    log(`burst: ${shape.changes} changes from ${shape.actors} actor(s), Slack rate limit on`);
    rows.push(...burstResultRows(shape, await burstRun({ ...shape, rateLimit: true })));
  }
  return rows;
}
