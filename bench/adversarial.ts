/**
 * The matcher's worst case: documents built to make the analysis slow, each within IAM's size limit
 * (10,240 characters without white space, a role's inline policies), against the shipped list, every
 * action of the largest service and every action in the catalogue; and the units of work every corpus
 * version needs against the same lists. Targets: no analysis takes longer than
 * {@link WORST_CASE_MS_TARGET}, every corpus version and every adversarial document finishes against the
 * shipped list, and the CLI over the adversarial files neither crashes nor reports any as clean.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { AnalysisBudgetError, PolicyParseError } from '../src/errors';
import { loadCorpusVersions } from '../tests/support/corpus';
import type { SectionOptions } from './section';
import { formatCount, formatMs, median } from './stats';
import type { BenchRow } from './table';

/** The most one analysis may take, whatever the document and list: it must finish or give up by then. */
export const WORST_CASE_MS_TARGET = 1_000;
/** IAM's largest identity-based document: a role's inline policies together (managed: 6,144). */
const IAM_MAX_CHARACTERS = 10_240;

const root = join(__dirname, '..');

interface Measure {
  units: number;
  ms: number;
  finished: boolean;
}

/** Units of work and the median wall time of `runs` analyses of `document` against `set`. */
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
  return { units, ms: median(times), finished };
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

/** The adversarial rows: corpus units of work, the worst case per list, and the CLI over the documents. */
export async function adversarialRows({ quick, log }: SectionOptions): Promise<BenchRow[]> {
  const catalogue = loadGeneratedCatalogue();
  const restricted = resolveRestrictedActions(defaultRestrictedEntries(), catalogue);
  const lists: { label: string; set: RestrictedActionSet }[] = [
    { label: 'shipped list', set: restricted },
    { label: 'ec2:* (largest service)', set: resolveRestrictedActions(['ec2:*'], catalogue) },
    { label: '*:* (whole catalogue)', set: resolveRestrictedActions(['*:*'], catalogue) },
  ];
  const rows: BenchRow[] = [];

  // Units of work for ordinary documents (some far larger than customers write): every corpus version
  // that parses (the few unanalysable ones never reach the analysis).
  const versions = loadCorpusVersions();
  const parsed: { name: string; document: PolicyDocument }[] = [];
  for (const version of quick ? versions.filter((v) => v.latest) : versions) {
    try {
      parsed.push({
        name: `${version.name} ${version.versionId}`,
        document: parsePolicyDocument(JSON.stringify(version.document)),
      });
    } catch (error) {
      if (!(error instanceof PolicyParseError)) throw error;
    }
  }
  for (const { label, set } of lists) {
    let most = 0;
    let largest = '';
    let unfinished = 0;
    for (const { name, document } of parsed) {
      const { units, finished } = measure(document, set, 1);
      if (!finished) unfinished++;
      if (units > most) {
        most = units;
        largest = name;
      }
    }
    const shipped = set === restricted;
    rows.push({
      section: 'adversarial',
      metric: `corpus units of work, ${formatCount(parsed.length)} versions vs ${label} (${formatCount(set.actions.length)} actions)`,
      value: `at most ${formatCount(most)} (${largest}, ${((100 * most) / DEFAULT_ANALYSIS_BUDGET).toFixed(2)}% of the budget); ${unfinished} past the budget`,
      ...(shipped && { target: '0 past the budget', met: unfinished === 0 }),
    });
  }

  const dir = mkdtempSync(join(tmpdir(), 'policy-gate-bench-adversary-'));
  try {
    const adversarialFiles: string[] = [];
    let pastBudgetOnShipped = 0;
    log(
      `adversarial documents (≤ ${formatCount(IAM_MAX_CHARACTERS)} characters each; budget ${formatCount(DEFAULT_ANALYSIS_BUDGET)} units; median of 3 runs):`,
    );
    for (const { label, set } of lists) {
      let worst = { ms: 0, name: '' };
      log(`  against ${label}, ${formatCount(set.actions.length)} actions:`);
      for (const adversary of adversaries(set)) {
        const size = characters(adversary.statements);
        if (size > IAM_MAX_CHARACTERS)
          throw new Error(`${adversary.name}: ${size} characters, over IAM's limit`);
        const text = JSON.stringify({ Version: '2012-10-17', Statement: adversary.statements });
        // Grammar documents go through the parser, as in the workflow; engine ones straight to the analysis.
        const document =
          adversary.kind === 'grammar' ? parsePolicyDocument(text) : toDocument(adversary.statements);
        const result = measure(document, set);
        log(
          `    ${`[${adversary.kind}] ${adversary.name}`.padEnd(78)} ${formatCount(size).padStart(6)} chars ${formatCount(result.units).padStart(11)} units ${result.ms.toFixed(1).padStart(7)} ms  ${result.finished ? 'finished' : 'hit the budget'}`,
        );
        if (result.ms > worst.ms) worst = { ms: result.ms, name: `[${adversary.kind}] ${adversary.name}` };
        if (set === restricted && !result.finished) pastBudgetOnShipped++;
        if (adversary.kind === 'grammar' && set === lists[2]?.set) {
          const file = join(dir, `adversary-${adversarialFiles.length}.json`);
          writeFileSync(file, text);
          adversarialFiles.push(file);
        }
      }
      rows.push({
        section: 'adversarial',
        metric: `matcher worst case vs ${label} (median of 3)`,
        value: `${formatMs(worst.ms)} (${worst.name})`,
        target: `< ${formatCount(WORST_CASE_MS_TARGET)} ms`,
        met: worst.ms < WORST_CASE_MS_TARGET,
      });
    }
    rows.push({
      section: 'adversarial',
      metric: 'adversarial documents past the budget vs shipped list',
      value: String(pastBudgetOnShipped),
      target: '0',
      met: pastBudgetOnShipped === 0,
    });
    rows.push(adversarialCliRow(adversarialFiles));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * The CLI over the adversarial files against the whole catalogue: no crash, nothing reported clean that
 * could not be checked, exit 2 when any went past the budget (1 otherwise).
 */
function adversarialCliRow(files: readonly string[]): BenchRow {
  const start = process.hrtime.bigint();
  const result = spawnSync(
    process.execPath,
    [join(root, 'bin', 'policy-gate.js'), 'check', '--json', '--restricted', '*:*', ...files],
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
  const met =
    lines.length === files.length && otherErrors.length === 0 && result.status === (overBudget > 0 ? 2 : 1);
  return {
    section: 'adversarial',
    metric: `policy-gate check --json --restricted '*:*', ${files.length} grammar documents`,
    value: `exit ${result.status}, ${lines.length} lines, ${overBudget} past the budget, ${otherErrors.length} other errors, ${seconds.toFixed(2)} s`,
    target: 'one line each, none clean unchecked, exit 2 if any past the budget',
    met,
  };
}
