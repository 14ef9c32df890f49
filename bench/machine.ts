/**
 * The machine a benchmark run came from, kept beside its figures in `bench/RESULTS.md`: figures from a
 * 2-core shared runner and a laptop are not comparable, and the commit says which code was measured.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type } from 'node:os';

export interface Machine {
  cpuModel: string;
  cpuCount: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** The 1-minute load average when the run started (others' work on a shared machine shows here). */
  loadAverage: number;
  date: string;
  /** `git rev-parse HEAD`, with ` (uncommitted changes)` when the work tree differs from it. */
  commit: string;
}

function git(args: string[], cwd: string): string | undefined {
  const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Describes this machine and the checked-out commit under `root`. */
export function describeMachine(root: string, now: Date = new Date()): Machine {
  const processors = cpus();
  const head = git(['rev-parse', 'HEAD'], root);
  // The results file itself is rewritten by the run: only other changes make the figures unattributable.
  const dirty = git(['status', '--porcelain', '--', '.', ':!bench/RESULTS.md', ':!node_modules'], root);
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cpuCount: processors.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${type()} ${release()} (${process.platform}/${process.arch})`,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    date: now.toISOString(),
    commit: head === undefined ? 'unknown' : dirty ? `${head} (uncommitted changes)` : head,
  };
}

/** The machine as a Markdown list. */
export function machineMarkdown(machine: Machine): string {
  return [
    `- CPU: ${machine.cpuModel} × ${machine.cpuCount}`,
    `- Memory: ${machine.memoryGiB} GiB`,
    `- Node: ${machine.node}`,
    `- OS: ${machine.os}`,
    `- Load average (1 min) at start: ${machine.loadAverage}`,
    `- Date: ${machine.date}`,
    `- Commit: ${machine.commit}`,
  ].join('\n');
}
