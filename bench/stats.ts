/**
 * Order statistics for the benchmark: every figure is a median with its spread, never a best run, so one
 * lucky round on a shared machine cannot meet a target.
 */

/** The `q` quantile (0..1) of `values` by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  const lower = sorted[low] as number;
  const upper = sorted[high] as number;
  return lower + (upper - lower) * (at - low);
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The spread of a set of samples as the benchmark prints it. */
export interface Summary {
  n: number;
  median: number;
  p25: number;
  p75: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
}

/** Median, quartiles, tail and extremes of `values`. */
export function summarise(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: median(values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    p95: quantile(values, 0.95),
    p99: quantile(values, 0.99),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** Rounds `n` and groups its thousands (`12,345`). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en');
}

/** Milliseconds with one decimal below 100 ms, whole above (`4.2 ms`, `215 ms`). */
export function formatMs(ms: number): string {
  return `${ms < 100 ? ms.toFixed(1) : Math.round(ms).toLocaleString('en')} ms`;
}
