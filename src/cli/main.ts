import { readFileSync } from 'node:fs';
import { loadGeneratedCatalogue } from '../domain/catalogue-data';
import { type CliIo, EXIT_BAD_INPUT, EXIT_CLEAN, runCheck } from './check-command';
import { type Fetch, runSimulate } from './simulate-command';

const USAGE = `Usage: policy-gate <command> [options]

Commands:
  check    check IAM policy documents against the restricted actions (policy-gate check --help)
  simulate send an IAM change to a running sandbox, npm start (policy-gate simulate --help)

Options:
  -h, --help     show this help
  --version      print the version`;

declare const POLICY_GATE_VERSION: string | undefined;

/** Runs the `policy-gate` command line; returns the exit status. */
export function main(argv: string[], io: CliIo): number {
  const [command, ...rest] = argv;
  if (command === 'check') return runCheck(rest, io);
  if (command === '--version') {
    io.stdout(`${typeof POLICY_GATE_VERSION === 'string' ? POLICY_GATE_VERSION : 'development'}\n`);
    return EXIT_CLEAN;
  }
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.stdout(`${USAGE}\n`);
    return command === undefined ? EXIT_BAD_INPUT : EXIT_CLEAN;
  }
  io.stderr(`policy-gate: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
  return EXIT_BAD_INPUT;
}

/** Runs the command line, including the commands that talk to a running sandbox; returns the exit status. */
export async function mainAsync(argv: string[], io: CliIo, fetchFn: Fetch = fetch): Promise<number> {
  if (argv[0] === 'simulate') return runSimulate(argv.slice(1), io, fetchFn);
  return main(argv, io);
}

/** The real process's I/O. */
export const processIo: CliIo = {
  readFile: (path) => readFileSync(path, 'utf8'),
  readStdin: () => readFileSync(0, 'utf8'),
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  catalogue: loadGeneratedCatalogue,
};
