/**
 * Cold initialisation of every Lambda function, as it ships: each function of serverless.yml is bundled with
 * the options serverless-esbuild packages it with (scripts/lambda-esbuild.js, which serverless.yml names),
 * then loaded in a fresh `node` process, as a new Lambda container loads it, with the function's
 * NODE_OPTIONS from serverless.yml.
 *
 * For each bundle: its size, and the time from the start to the end of `require(bundle)` measured inside
 * the child with `process.hrtime` (init), as a ratio to `require('aws-sdk')` v2 (the AWS sample's only
 * dependency) measured the same way; and the child's whole-process wall time, as a ratio to `node -e 0`.
 * Every round runs each bundle and both baselines once, round-robin from a rotating start, so machine noise
 * hits all alike; ratios are taken within a round, and the median of the rounds is reported with p25–p75.
 *
 * Also measured the same way: the structured logger candidates (PolicyGate's own `src/logger.ts` and
 * `@aws-lambda-powertools/logger`), each bundled alone, as their share of aws-sdk v2's init.
 *
 * Targets: every function ≤ 0.5× aws-sdk v2's init, the Slack interactivity function ≤ 0.8×.
 *
 * `npm run bench:init` runs this alone (`COLD_INIT_RUNS` rounds, default 25, at least 15); `npm run bench` includes it.
 * `COLD_INIT_COMPARE=<another checkout>` also bundles that checkout's functions (its own serverless.yml and
 * sources, e.g. the commit before a change) and measures them in the same interleaved rounds, so a
 * before/after ratio comes from one run on one machine state.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { bundleLambda, LAMBDA_ESBUILD_OPTIONS, serverlessFunctions } from './lambda-bundles';
import type { BenchRow } from './table';

const ROOT = join(__dirname, '..');
const SECTION = 'cold init';
/** The interactivity function answers Slack within 3 s and alone carries Bolt. */
const SLACK_FUNCTION = 'slackInteractivity';
const TARGET_RATIO = 0.5;
const SLACK_TARGET_RATIO = 0.8;
const MIN_RUNS = 15;
/** The full bench's rounds: more than the minimum, so a median moves less with the machine's noise. */
const DEFAULT_RUNS = 25;

interface Target {
  readonly name: string;
  /** The module the child requires; none for `node -e 0`. */
  readonly module?: string;
  readonly nodeOptions: string;
}

interface Sample {
  /** `require(module)` inside the child, in ms (0 for `node -e 0`). */
  readonly initMs: number;
  /** The CPU time (user and system) `require(module)` took, in ms: steadier than wall time on a busy machine. */
  readonly initCpuMs: number;
  /** The child process from spawn to exit, in ms. */
  readonly wallMs: number;
}

// The child's own measurement: from just before `require` to just after it, as the module's load ends.
const CHILD = [
  'const cpu = process.cpuUsage();',
  'const start = process.hrtime.bigint();',
  'require(process.argv[1]);',
  'const initMs = Number(process.hrtime.bigint() - start) / 1e6;',
  'const used = process.cpuUsage(cpu);',
  'process.stdout.write(JSON.stringify({ initMs, initCpuMs: (used.user + used.system) / 1000 }));',
].join('\n');

function childEnv(nodeOptions: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' };
  // The bench's own runner (tsx) must not leak into the children: they run as Lambda runs them.
  delete env.NODE_OPTIONS;
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  return env;
}

function runOnce(target: Target): Sample {
  const args = target.module ? ['-e', CHILD, target.module] : ['-e', '0'];
  const start = process.hrtime.bigint();
  const out = execFileSync(process.execPath, args, {
    env: childEnv(target.nodeOptions),
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const measured = target.module ? (JSON.parse(out) as Omit<Sample, 'wallMs'>) : { initMs: 0, initCpuMs: 0 };
  return { ...measured, wallMs };
}

/** Runs every target once per round, round-robin from a rotating start; one warm-up round is dropped. */
function measure(targets: readonly Target[], runs: number): Map<string, Sample[]> {
  const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
  for (let round = -1; round < runs; round++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(Math.max(round, 0) + i) % targets.length] as Target;
      const sample = runOnce(target);
      if (round >= 0) samples.get(target.name)?.push(sample);
    }
  }
  return samples;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (at - low);
}

/** Per-round ratios of `of` to `to` (rounds line up: every target runs once per round). */
function ratios(of: readonly number[], to: readonly number[]): number[] {
  return of.map((value, i) => value / (to[i] as number));
}

const times = (n: number) => `${n.toFixed(2)}×`;
const spread = (values: readonly number[]) =>
  `p25 ${quantile(values, 0.25).toFixed(2)}, p75 ${quantile(values, 0.75).toFixed(2)}`;
const ms = (values: readonly number[]) => `${quantile(values, 0.5).toFixed(1)} ms`;
const size = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MB`;

/** An entry module bundling only one library, for its share of the init budget. */
const LIBRARY_CANDIDATES: ReadonlyArray<{ name: string; source: string }> = [
  {
    name: 'logger: src/logger.ts (hand-written)',
    source: `import { createLogger } from ${JSON.stringify(join(ROOT, 'src', 'logger'))};\nexport const logger = createLogger('bench');\n`,
  },
  {
    name: 'logger: @aws-lambda-powertools/logger',
    source:
      "import { Logger } from '@aws-lambda-powertools/logger';\nexport const logger = new Logger({ serviceName: 'bench' });\n",
  },
];

/**
 * Bundles every Lambda function as the package does and measures its size and cold initialisation; see the
 * module comment. `runs` is the number of interleaved rounds (at least 15).
 */
export async function coldInitRows(options: { runs?: number; compare?: string } = {}): Promise<BenchRow[]> {
  const runs = Math.max(MIN_RUNS, options.runs ?? DEFAULT_RUNS);
  const { functions, nodeOptions } = serverlessFunctions();
  const outDir = mkdtempSync(join(tmpdir(), 'policy-gate-cold-init-'));
  try {
    const bundles = [];
    for (const fn of functions) bundles.push({ ...fn, ...(await bundleLambda(fn, join(outDir, fn.name))) });
    if (options.compare) {
      // The other checkout's functions, bundled from its sources with its own options, named after it.
      const other = resolve(options.compare);
      const theirs = serverlessFunctions(readFileSync(join(other, 'serverless.yml'), 'utf8'), other);
      for (const fn of theirs.functions) {
        const bundle = await bundleLambda(fn, join(outDir, 'compare', fn.name), other);
        bundles.push({ ...fn, ...bundle, name: `${fn.name} @${basename(other)}` });
      }
    }
    const libraries: Array<{ name: string; file: string }> = [];
    for (const [i, candidate] of LIBRARY_CANDIDATES.entries()) {
      const entry = join(outDir, `library-${i}.ts`);
      writeFileSync(entry, candidate.source);
      const file = join(outDir, `library-${i}.js`);
      await build({
        ...LAMBDA_ESBUILD_OPTIONS,
        absWorkingDir: ROOT,
        nodePaths: [join(ROOT, 'node_modules')],
        entryPoints: [entry],
        outfile: file,
        logLevel: 'error',
      });
      libraries.push({ name: candidate.name, file });
    }

    const AWS_SDK = 'aws-sdk v2';
    const NODE = 'node -e 0';
    const targets: Target[] = [
      { name: AWS_SDK, module: require.resolve('aws-sdk', { paths: [ROOT] }), nodeOptions: '' },
      { name: NODE, nodeOptions: '' },
      ...bundles.map((b) => ({ name: b.name, module: b.file, nodeOptions })),
      ...libraries.map((l) => ({ name: l.name, module: l.file, nodeOptions: '' })),
    ];
    const samples = measure(targets, runs);
    const of = (name: string, key: keyof Sample) => (samples.get(name) ?? []).map((s) => s[key]);
    const sdkInit = of(AWS_SDK, 'initMs');
    const sdkCpu = of(AWS_SDK, 'initCpuMs');
    const nodeWall = of(NODE, 'wallMs');

    const rows: BenchRow[] = [
      {
        section: SECTION,
        metric: `baselines (median of ${runs} interleaved runs, Node ${process.version}${nodeOptions ? `, functions with NODE_OPTIONS=${nodeOptions}` : ''})`,
        value: `require('aws-sdk') v2 ${ms(sdkInit)} (CPU ${ms(sdkCpu)}), process ${ms(of(AWS_SDK, 'wallMs'))}; node -e 0 ${ms(nodeWall)}`,
      },
    ];
    for (const b of bundles) {
      const init = ratios(of(b.name, 'initMs'), sdkInit);
      const cpu = ratios(of(b.name, 'initCpuMs'), sdkCpu);
      const wall = ratios(of(b.name, 'wallMs'), nodeWall);
      const target = b.name.split(' @')[0] === SLACK_FUNCTION ? SLACK_TARGET_RATIO : TARGET_RATIO;
      const median = quantile(init, 0.5);
      rows.push(
        {
          section: SECTION,
          metric: `${b.name} bundle size`,
          value: [
            size(b.bytes),
            ...(b.mapBytes ? [`+ ${size(b.mapBytes)} source map (never read at start)`] : []),
            ...(b.besideBytes ? [`+ ${size(b.besideBytes)} catalogue (read on first invocation)`] : []),
          ].join(' '),
        },
        {
          section: SECTION,
          metric: `${b.name} init (ratio to aws-sdk v2)`,
          value: `${times(median)} (${spread(init)}; ${ms(of(b.name, 'initMs'))}; CPU time ${times(quantile(cpu, 0.5))})`,
          target: `≤ ${times(target)}`,
          met: median <= target,
        },
        {
          section: SECTION,
          metric: `${b.name} process wall (ratio to node -e 0)`,
          value: `${times(quantile(wall, 0.5))} (${spread(wall)}; ${ms(of(b.name, 'wallMs'))})`,
        },
      );
    }
    for (const l of libraries) {
      const init = ratios(of(l.name, 'initMs'), sdkInit);
      const cpu = ratios(of(l.name, 'initCpuMs'), sdkCpu);
      rows.push({
        section: SECTION,
        metric: `${l.name} init alone (ratio to aws-sdk v2)`,
        value: `${times(quantile(init, 0.5))} (${spread(init)}; ${ms(of(l.name, 'initMs'))}; CPU time ${times(quantile(cpu, 0.5))})`,
      });
    }
    return rows;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const runs = Number(process.env.COLD_INIT_RUNS ?? DEFAULT_RUNS);
  const compare = process.env.COLD_INIT_COMPARE;
  coldInitRows({ runs, ...(compare && { compare }) }).then(
    (rows) => {
      const width = Math.max(...rows.map((r) => r.metric.length));
      for (const r of rows) {
        const verdict = r.met === undefined ? '' : `  target ${r.target}: ${r.met ? 'met' : 'MISSED'}`;
        console.log(`${r.metric.padEnd(width)}  ${r.value}${verdict}`);
      }
      if (rows.some((r) => r.met === false)) process.exitCode = 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 2;
    },
  );
}
