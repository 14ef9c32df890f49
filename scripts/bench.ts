/**
 * `npm run bench`: policy checks per second over the whole AWS managed policy corpus with the default
 * restricted list (target ≥ 20,000/s in process), and the wall time of `policy-gate check --json` over
 * every corpus document as a file (target < 2 s including Node start-up). Exits 1 when a target is missed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { analysePolicy } from '../src/domain/analyse-policy';
import { loadGeneratedCatalogue } from '../src/domain/catalogue-data';
import { parsePolicyDocument } from '../src/domain/policy-document';
import { defaultRestrictedEntries, resolveRestrictedActions } from '../src/domain/restricted-actions';

const CHECKS_PER_SECOND_TARGET = 20_000;
const CLI_SECONDS_TARGET = 2;
const root = join(__dirname, '..');
const corpusPath = resolve(
  process.env.POLICY_GATE_CORPUS ?? join(root, '..', 'shared', 'corpus', 'aws-managed-policies.json'),
);

const corpus = JSON.parse(readFileSync(corpusPath, 'utf8')) as Record<string, { document: unknown }>;
// Documents are checked from their JSON text, as they arrive from IAM and CloudTrail.
const texts = Object.values(corpus).map((p) => JSON.stringify(p.document));
const restricted = resolveRestrictedActions(defaultRestrictedEntries(), loadGeneratedCatalogue());
console.log(
  `corpus: ${texts.length} policies; default restricted list: ${restricted.actions.length} actions`,
);

function checkAll(): number {
  let findings = 0;
  for (const text of texts) findings += analysePolicy(parsePolicyDocument(text), restricted).length;
  return findings;
}

checkAll(); // warm-up: JIT and the pattern cache
const rounds: number[] = [];
let findings = 0;
for (let round = 0; round < 5; round++) {
  const start = process.hrtime.bigint();
  findings = checkAll();
  rounds.push(Number(process.hrtime.bigint() - start) / 1e9);
}
const best = Math.min(...rounds);
const median = [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)] as number;
const perSecond = texts.length / median;
console.log(
  `in process: ${Math.round(perSecond).toLocaleString('en')} checks/s (median of 5 rounds; best ${Math.round(texts.length / best).toLocaleString('en')}/s), ${findings} findings per round`,
);

const cli = join(root, 'dist', 'policy-gate.js');
if (!existsSync(cli)) {
  console.error('dist/policy-gate.js missing: run `npm run build` first');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'policy-gate-bench-'));
try {
  const files = Object.entries(corpus).map(([name, policy]) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(policy.document, null, 2));
    return file;
  });
  const times: number[] = [];
  let lines = 0;
  for (let run = 0; run < 3; run++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(
      process.execPath,
      [join(root, 'bin', 'policy-gate.js'), 'check', '--json', ...files],
      {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    if (result.status !== 1) throw new Error(`CLI exited ${result.status}: ${result.stderr}`);
    lines = result.stdout.trimEnd().split('\n').length;
  }
  const cliSeconds = Math.min(...times);
  console.log(
    `CLI: policy-gate check --json over ${files.length} files: ${cliSeconds.toFixed(2)} s wall (best of 3), ${lines} lines`,
  );
  const ok =
    perSecond >= CHECKS_PER_SECOND_TARGET && cliSeconds < CLI_SECONDS_TARGET && lines === files.length;
  console.log(
    ok
      ? `targets met (≥ ${CHECKS_PER_SECOND_TARGET.toLocaleString('en')} checks/s, < ${CLI_SECONDS_TARGET} s)`
      : 'TARGET MISSED',
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
