/**
 * `npm run bench`: every performance target of PolicyGate, printed as one table (section, metric, value,
 * target, met or MISSED) on standard output, progress and detail on standard error. A full run also
 * writes the table in Markdown to `bench/RESULTS.md` with the machine it ran on. Exits 1 when any target
 * is missed (a section that fails counts as missed).
 *
 *   npm run bench                       every section, full rounds; rewrites bench/RESULTS.md
 *   npm run bench -- --quick            a fast smoke of every section (RESULTS.md untouched)
 *   npm run bench -- --only detection   some sections only (repeat or comma-separate; RESULTS.md untouched)
 *
 * Sections: detection, adversarial, cold-init, sandbox, burst, org-burst. The handlers' own log lines, written while
 * the sandbox sections run, go to a file under the temporary directory (named on standard error) rather
 * than into the table.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adversarialRows } from '../bench/adversarial';
import { burstRows } from '../bench/burst-rows';
import { coldInitRows } from '../bench/cold-init';
import { detectionRows } from '../bench/detection';
import { describeMachine } from '../bench/machine';
import { orgBurstRows } from '../bench/org-burst';
import { anyMissed, formatTable } from '../bench/print';
import { resultsMarkdown } from '../bench/results';
import { sandboxLatencyRows } from '../bench/sandbox-latency';
import type { SectionOptions } from '../bench/section';
import type { BenchRow } from '../bench/table';

const root = join(__dirname, '..');

const SECTIONS: Record<string, (options: SectionOptions) => Promise<BenchRow[]>> = {
  detection: detectionRows,
  adversarial: adversarialRows,
  'cold-init': ({ quick }) => coldInitRows(quick ? { runs: 3 } : undefined),
  sandbox: sandboxLatencyRows,
  burst: burstRows,
  'org-burst': orgBurstRows,
};

function parseArguments(argv: readonly string[]): { quick: boolean; only: string[] | undefined } {
  let quick = false;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i] as string;
    if (argument === '--quick') quick = true;
    else if (argument === '--only' || argument.startsWith('--only=')) {
      const value = argument === '--only' ? argv[++i] : argument.slice('--only='.length);
      if (!value) throw new Error('--only needs a section name');
      only.push(...value.split(',').filter((name) => name !== ''));
    } else throw new Error(`unknown option ${argument}`);
  }
  const unknown = only.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) {
    throw new Error(`unknown section ${unknown.join(', ')} (sections: ${Object.keys(SECTIONS).join(', ')})`);
  }
  return { quick, only: only.length > 0 ? only : undefined };
}

/** Sends everything written to standard output to `file` until the returned function is called. */
function divertStdout(file: string): () => void {
  const fd = openSync(file, 'a');
  const original = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk === 'string') writeSync(fd, chunk);
    else writeSync(fd, chunk);
    const callback = rest.find((value) => typeof value === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
    closeSync(fd);
  };
}

async function main(): Promise<number> {
  const { quick, only } = parseArguments(process.argv.slice(2));
  const machine = describeMachine(root);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const handlerLog = join(tmpdir(), `policy-gate-bench-${process.pid}.log`);
  log(`handler log lines: ${handlerLog}`);
  const rows: BenchRow[] = [];
  for (const [name, section] of Object.entries(SECTIONS)) {
    if (only && !only.includes(name)) continue;
    const started = Date.now();
    log(`— ${name}`);
    const restore = divertStdout(handlerLog);
    try {
      rows.push(...(await section({ quick, log })));
    } catch (error) {
      rows.push({
        section: name,
        metric: 'section run',
        value: `failed: ${error instanceof Error ? error.message : String(error)}`,
        target: 'completes',
        met: false,
      });
    } finally {
      restore();
    }
    log(`— ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const table = formatTable(rows);
  if (!quick && !only) {
    writeFileSync(join(root, 'bench', 'RESULTS.md'), resultsMarkdown(rows, machine));
    log('bench/RESULTS.md written');
  }
  const missed = rows.filter((row) => row.met === false).length;
  const summary = anyMissed(rows) ? `${missed} target(s) MISSED` : 'every target met';
  await new Promise<void>((resolve) => process.stdout.write(`${table}\n\n${summary}\n`, () => resolve()));
  return anyMissed(rows) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
