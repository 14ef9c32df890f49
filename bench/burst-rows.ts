/**
 * Bursts: many risky changes at once through the sandbox with Slack's rate limits enforced by the
 * stand-in, from one actor (a Terraform apply, with Slack grouping on at the stage default's 60 s window)
 * and from as many actors as changes. Targets per burst: every change recorded and quarantined (0 lost),
 * each shown in Slack exactly once (as its own request or as a member of a group message): none twice,
 * none left unshown.
 */
import { burstRun } from './burst';
import type { SectionOptions } from './section';
import { formatCount, formatMs } from './stats';
import type { BenchRow } from './table';

/** One burst: its changes, from how many actors, and the Slack grouping window (0 = off). */
export interface BurstShape {
  readonly changes: number;
  readonly actors: number;
  readonly groupWindowSeconds: number;
}

/** The stage's default grouping window (serverless.yml), which a one-actor burst runs with. */
const GROUP_WINDOW_SECONDS = 60;

/** The bursts `npm run bench` runs (the quick smoke runs small ones). */
export function burstShapes(quick: boolean): BurstShape[] {
  const grouped = GROUP_WINDOW_SECONDS;
  return quick
    ? [
        { changes: 20, actors: 1, groupWindowSeconds: grouped },
        { changes: 20, actors: 20, groupWindowSeconds: 0 },
      ]
    : [
        { changes: 100, actors: 1, groupWindowSeconds: grouped },
        { changes: 500, actors: 1, groupWindowSeconds: grouped },
        { changes: 100, actors: 100, groupWindowSeconds: 0 },
        { changes: 500, actors: 500, groupWindowSeconds: 0 },
      ];
}

/** How a burst is named in the table: "500 changes, 1 actor, grouped (60 s)". */
export function burstLabel({ changes, actors, groupWindowSeconds }: BurstShape): string {
  const grouping = groupWindowSeconds > 0 ? `, grouped (${formatCount(groupWindowSeconds)} s)` : '';
  return `${formatCount(changes)} changes, ${formatCount(actors)} actor${actors === 1 ? '' : 's'}${grouping}`;
}

/** A figure as printed: a count, or `not measured` when the run produced none. */
const figure = (n: number) => (Number.isFinite(n) ? formatCount(n) : 'not measured');

/** The figures `burstRun` returns for one burst. */
export type BurstFigures = Awaited<ReturnType<typeof burstRun>>;

/**
 * The six rows of one burst: records and quarantines must equal the changes made (0 lost), duplicates and
 * never-posted requests must be 0; a figure that is not a finite number was not measured and misses.
 */
export function burstResultRows(shape: BurstShape, result: BurstFigures): BenchRow[] {
  const section = 'burst';
  const { changes } = shape;
  const label = burstLabel(shape);
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
    {
      section,
      metric: `${label}: Slack messages showing them`,
      value: figure(result.slackMessages),
    },
    {
      section,
      metric: `${label}: changes shown more than once (duplicates)`,
      value: figure(result.duplicates),
      target: '0',
      met: none(result.duplicates),
    },
    {
      section,
      metric: `${label}: changes never shown in Slack`,
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
    log(`burst: ${burstLabel(shape)}, Slack rate limit on`);
    rows.push(...burstResultRows(shape, await burstRun({ ...shape, rateLimit: true })));
  }
  return rows;
}
