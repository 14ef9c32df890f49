import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
/**
 * How long one `serverless package` may take: it bundles every function with esbuild, and on CI's two cores
 * it shares them with every other suite (browser tests included), so a minute alone can be four under load.
 */
export const PACKAGE_TIMEOUT_MS = 300_000;

/**
 * serverless-esbuild bundles in `.esbuild/` of the project and deletes it afterwards, so two packagings of
 * this working tree at once (suites run in parallel Jest workers) would delete each other's bundles. Every
 * packaging that gets as far as bundling takes this lock (a directory, created atomically).
 */
const PACKAGING_LOCK = join(
  tmpdir(),
  `policy-gate-packaging-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`,
);

function lockHolderIsGone(): boolean {
  try {
    const pid = Number(readFileSync(join(PACKAGING_LOCK, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    // No pid yet (the holder is between mkdir and write): only a lock left for minutes is stale.
    if (code === 'ENOENT') {
      try {
        return Date.now() - statSync(PACKAGING_LOCK).mtimeMs > 5 * 60_000;
      } catch {
        return false;
      }
    }
    return false;
  }
}

/** Runs `run` while holding the packaging lock of this working tree. */
export async function withPackagingLock<T>(run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + PACKAGE_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(PACKAGING_LOCK);
      writeFileSync(join(PACKAGING_LOCK, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockHolderIsGone()) rmSync(PACKAGING_LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another packaging still holds ${PACKAGING_LOCK}`);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await run();
  } finally {
    rmSync(PACKAGING_LOCK, { recursive: true, force: true });
  }
}

/** One `serverless package` run. */
export interface PackageRun {
  /** The exit code; null when the process was killed (e.g. timed out). */
  code: number | null;
  /** Standard output and standard error together: osls prints errors to either. */
  output: string;
  /** What the run wrote to its package directory. */
  packaged: string[];
  packageDir: string;
}

/**
 * `serverless package --package <a fresh temporary directory> ...args` with the project's osls, offline and
 * with no AWS profile (packaging needs no account; a developer's profile must not change the result). The
 * caller removes `packageDir`.
 */
export function serverlessPackage(args: readonly string[]): Promise<PackageRun> {
  const packageDir = mkdtempSync(join(tmpdir(), 'policy-gate-package-'));
  const env = { ...process.env };
  delete env.AWS_PROFILE;
  delete env.AWS_DEFAULT_PROFILE;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js'),
        'package',
        ...args,
        '--package',
        packageDir,
      ],
      { cwd: ROOT, env, timeout: PACKAGE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({
          code,
          output: `${stdout}\n${stderr}`,
          packaged: readdirSync(packageDir).sort(),
          packageDir,
        });
      },
    );
  });
}
