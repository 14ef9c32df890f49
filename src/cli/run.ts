import { mainAsync, processIo } from './main';

/** Exit status for a bug in PolicyGate itself, distinct from 1 (restricted) and 2 (bad input). */
const EXIT_INTERNAL = 3;

mainAsync(process.argv.slice(2), processIo).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(
      `policy-gate: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT_INTERNAL;
  },
);
