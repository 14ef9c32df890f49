import { parseArgs } from 'node:util';
import { analysePolicy, type Finding } from '../domain/analyse-policy';
import type { ActionCatalogue } from '../domain/catalogue';
import { parseStrictJson } from '../domain/json-strict';
import { parsePolicyDocument } from '../domain/policy-document';
import { locatePolicyDocument } from '../domain/policy-source';
import {
  defaultRestrictedEntries,
  parseRestrictedText,
  type RestrictedActionSet,
  type RestrictedEntry,
  resolveRestrictedActions,
} from '../domain/restricted-actions';
import { PolicyGateError } from '../errors';
import { formatFileReport } from './format';

/** What the CLI needs from the outside world; injected so tests run it in process. */
export interface CliIo {
  readFile(path: string): string;
  readStdin(): string;
  stdout(text: string): void;
  stderr(text: string): void;
  catalogue(): ActionCatalogue;
}

/** Exit statuses, as documented in the README. */
export const EXIT_CLEAN = 0;
export const EXIT_RESTRICTED = 1;
export const EXIT_BAD_INPUT = 2;

/** A usage mistake: reported with the usage text, exit status 2. */
export class UsageError extends PolicyGateError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const CHECK_USAGE = `Usage: policy-gate check [--restricted a,b,c | --restricted-file FILE] [--json] FILE... (or - for stdin)

Checks IAM policy documents (or CloudTrail records / EventBridge events holding one, or the output of
\`aws iam get-policy-version\` / \`get-role-policy\`) against the restricted actions.

Options:
  --restricted a,b,c      restricted actions (wildcards allowed, e.g. kms:Disable*); default: the shipped list
  --restricted-file FILE  restricted actions from a JSON array, or a text file with one entry a line
  --json                  one JSON object per input file, one per line
  -h, --help              show this help

Exit status: 0 nothing restricted is granted, 1 some file grants a restricted action,
2 bad input or usage, or a file that could not be checked (e.g. its analysis ran past the work
budget); 2 takes precedence over 1.`;

/** The outcome for one input file. */
export type FileResult =
  | { file: string; restricted: boolean; findings: Finding[] }
  | { file: string; error: string };

function restrictedEntries(
  values: { restricted?: string; 'restricted-file'?: string },
  io: CliIo,
): RestrictedEntry[] {
  if (values.restricted !== undefined && values['restricted-file'] !== undefined) {
    throw new UsageError('use either --restricted or --restricted-file, not both');
  }
  if (values.restricted !== undefined) {
    const entries = values.restricted
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (entries.length === 0) throw new UsageError('--restricted needs at least one action');
    return entries.map((action) => ({ action }));
  }
  const file = values['restricted-file'];
  if (file !== undefined) {
    let text: string;
    try {
      text = io.readFile(file);
    } catch (cause) {
      throw new UsageError(`cannot read --restricted-file ${file}: ${(cause as Error).message}`);
    }
    return parseRestrictedText(text, file);
  }
  return defaultRestrictedEntries();
}

/**
 * Checks one input's text; never throws for bad input, which becomes an error result. So does a document
 * whose analysis runs past the work budget (`AnalysisBudgetError`, "analysis budget exceeded ..."): it
 * could not be checked, so it counts as bad input (exit 2), never as clean.
 */
export function checkText(file: string, text: string, restricted: RestrictedActionSet): FileResult {
  try {
    let value: unknown;
    try {
      // The strict reading: duplicate keys must reach the parser, not be resolved away here.
      value = parseStrictJson(text);
    } catch {
      // Not JSON as a whole (or JSON PolicyGate refuses): perhaps a URL-encoded document; the parser then
      // says what is wrong, naming the element.
      value = text;
    }
    const located = locatePolicyDocument(value);
    const findings = analysePolicy(parsePolicyDocument(located.document), restricted);
    return { file, restricted: findings.length > 0, findings };
  } catch (error) {
    if (error instanceof PolicyGateError) return { file, error: error.message };
    throw error;
  }
}

function readInput(file: string, io: CliIo): { text: string } | { error: string } {
  try {
    return { text: file === '-' ? io.readStdin() : io.readFile(file) };
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (cause as Error).message;
    return { error: `cannot read ${file}: ${reason}` };
  }
}

/**
 * Runs `policy-gate check`. Returns the exit status; output goes through `io`.
 */
export function runCheck(args: string[], io: CliIo): number {
  let parsed: ReturnType<typeof parseCheckArgs>;
  try {
    parsed = parseCheckArgs(args);
  } catch (error) {
    io.stderr(`policy-gate check: ${(error as Error).message}\n\n${CHECK_USAGE}\n`);
    return EXIT_BAD_INPUT;
  }
  if (parsed.values.help) {
    io.stdout(`${CHECK_USAGE}\n`);
    return EXIT_CLEAN;
  }
  let restricted: RestrictedActionSet;
  try {
    if (parsed.positionals.length === 0) throw new UsageError('no FILE given (use - to read standard input)');
    restricted = resolveRestrictedActions(restrictedEntries(parsed.values, io), io.catalogue());
  } catch (error) {
    if (!(error instanceof PolicyGateError)) throw error;
    const usage = error instanceof UsageError ? `\n\n${CHECK_USAGE}` : '';
    io.stderr(`policy-gate check: ${error.message}${usage}\n`);
    return EXIT_BAD_INPUT;
  }

  const json = parsed.values.json === true;
  let status = EXIT_CLEAN;
  // Output is buffered and flushed in chunks: thousands of files should not mean thousands of writes.
  let buffer = '';
  const flush = () => {
    if (buffer) io.stdout(buffer);
    buffer = '';
  };
  for (const file of parsed.positionals) {
    const input = readInput(file, io);
    const result = 'error' in input ? { file, error: input.error } : checkText(file, input.text, restricted);
    if ('error' in result) {
      status = EXIT_BAD_INPUT;
      if (json) buffer += `${JSON.stringify(result)}\n`;
      else {
        flush();
        io.stderr(`${file}: error: ${result.error}\n`);
      }
    } else {
      if (result.restricted && status === EXIT_CLEAN) status = EXIT_RESTRICTED;
      buffer += json ? `${JSON.stringify(result)}\n` : formatFileReport(result.file, result.findings);
    }
    if (buffer.length > 64 * 1024) flush();
  }
  flush();
  return status;
}

function parseCheckArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      restricted: { type: 'string' },
      'restricted-file': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
