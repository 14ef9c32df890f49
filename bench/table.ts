/**
 * The one table `npm run bench` prints and `bench/RESULTS.md` keeps: every section of the benchmark returns
 * rows of this shape, so each figure is printed with its target and whether it was met.
 */
export interface BenchRow {
  /** The part of PolicyGate measured: `detection`, `cold init`, `sandbox latency`, `burst`, … */
  section: string;
  /** What was measured, e.g. `analyseChange init (ratio to aws-sdk v2)`. */
  metric: string;
  /** The figure as printed, with its unit and spread where there is one (`0.42× (p25 0.40, p75 0.45)`). */
  value: string;
  /** The target as printed (`≤ 0.5×`); absent for figures reported without one. */
  target?: string;
  /** Whether the target was met; absent when there is no target. */
  met?: boolean;
}
