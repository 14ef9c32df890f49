/** What every section of `npm run bench` is given. */
export interface SectionOptions {
  /** A fast smoke run: fewer rounds and samples; its figures are printed, never written to RESULTS.md. */
  quick: boolean;
  /** Progress and detail, kept off the table (standard error). */
  log: (line: string) => void;
}
