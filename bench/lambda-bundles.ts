/**
 * The Lambda functions as they ship: their list and handlers read from serverless.yml, each bundled with the
 * options serverless-esbuild packages it with (scripts/lambda-esbuild.js). The cold-start benchmark measures
 * these bundles and the bundled-handler tests run them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';

const ROOT = join(__dirname, '..');

/** The options serverless-esbuild bundles every function with (serverless.yml names the same module). */
export const LAMBDA_ESBUILD_OPTIONS: BuildOptions = (
  require(join(ROOT, 'scripts', 'lambda-esbuild.js')) as { esbuildOptions: BuildOptions }
).esbuildOptions;

export interface LambdaFunction {
  /** The function's name in serverless.yml. */
  readonly name: string;
  /** Its handler module, relative to the project (`src/handlers/analyse-change.ts`). */
  readonly entry: string;
}

export interface ServerlessFunctions {
  readonly functions: readonly LambdaFunction[];
  /** `provider.environment.NODE_OPTIONS`, as every function runs with it. */
  readonly nodeOptions: string;
}

/**
 * The functions of serverless.yml and their handlers, and the provider's NODE_OPTIONS. Read line by line (the
 * file's CloudFormation tags need no parser here): function names are the two-space keys under `functions:`,
 * their `handler:` the `file.export` serverless-esbuild bundles from `file.ts`, which must exist under
 * `root` (this checkout by default).
 *
 * @throws Error when a function has no handler or its module does not exist.
 */
export function serverlessFunctions(
  text = readFileSync(join(ROOT, 'serverless.yml'), 'utf8'),
  root = ROOT,
): ServerlessFunctions {
  const functions: LambdaFunction[] = [];
  let section = '';
  let current: string | undefined;
  let inProviderEnvironment = false;
  let nodeOptions = '';
  for (const line of text.split('\n')) {
    const top = /^([A-Za-z][\w-]*):/.exec(line);
    if (top) {
      section = top[1] as string;
      current = undefined;
      continue;
    }
    if (section === 'provider') {
      if (/^ {2}\S/.test(line)) inProviderEnvironment = /^ {2}environment:\s*$/.test(line);
      const option = inProviderEnvironment && /^ {4}NODE_OPTIONS:\s*(.*?)\s*$/.exec(line);
      if (option) nodeOptions = (option[1] as string).replace(/^(["'])(.*)\1$/, '$2');
    }
    if (section !== 'functions') continue;
    const name = /^ {2}([A-Za-z][\w-]*):\s*$/.exec(line);
    if (name) {
      current = name[1] as string;
      continue;
    }
    const handler = current && /^ {4}handler:\s*(\S+)\s*$/.exec(line);
    if (handler && current) {
      const module = (handler[1] as string).replace(/\.[^./]+$/, '');
      const entry = `${module}.ts`;
      statSync(join(root, entry));
      functions.push({ name: current, entry });
      current = undefined;
    }
  }
  if (functions.length === 0) throw new Error('serverless.yml declares no function with a handler');
  return { functions, nodeOptions };
}

/** One function's bundle, laid out as serverless-esbuild lays it out (the handler's path under `outDir`). */
export interface LambdaBundle {
  /** The bundle's JavaScript file. */
  readonly file: string;
  readonly bytes: number;
  /** Its source map's size (0 without one). */
  readonly mapBytes: number;
  /** The files shipped beside it and read only on first use (the IAM action catalogue). */
  readonly besideBytes: number;
  /** What went into it (esbuild's metafile). */
  readonly metafile: Metafile;
}

/**
 * Bundles `fn` into `outDir` exactly as the package does; `checkout` (default this one) is the project
 * whose sources and bundle options (its scripts/lambda-esbuild.js) are used.
 */
export async function bundleLambda(
  fn: LambdaFunction,
  outDir: string,
  checkout = ROOT,
): Promise<LambdaBundle> {
  const options =
    checkout === ROOT
      ? LAMBDA_ESBUILD_OPTIONS
      : (require(join(checkout, 'scripts', 'lambda-esbuild.js')) as { esbuildOptions: BuildOptions })
          .esbuildOptions;
  const outdir = join(outDir, fn.entry.replace(/\/[^/]+$/, ''));
  const result = await build({
    ...options,
    absWorkingDir: checkout,
    entryPoints: [fn.entry],
    outdir,
    metafile: true,
    logLevel: 'error',
  });
  const file = join(outdir, fn.entry.replace(/^.*\//, '').replace(/\.ts$/, '.js'));
  const mapBytes = options.sourcemap ? statSync(`${file}.map`).size : 0;
  const besideBytes = readdirSync(outdir)
    .filter((name) => name.endsWith('.json'))
    .reduce((sum, name) => sum + statSync(join(outdir, name)).size, 0);
  return { file, bytes: statSync(file).size, mapBytes, besideBytes, metafile: result.metafile };
}
