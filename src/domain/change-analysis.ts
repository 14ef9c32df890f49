import { AnalysisBudgetError, PolicyParseError } from '../errors';
import {
  analysePolicy,
  DEFAULT_ANALYSIS_BUDGET,
  type Finding,
  type GrantingStatement,
  type WorkMeter,
} from './analyse-policy';
import { parsePolicyDocument } from './policy-document';
import type { RestrictedActionSet } from './restricted-actions';

const MAX_LISTED_ERRORS = 3;

/** One document a change put (or may put) in force, and where it comes from. */
export interface SourcedDocument {
  /** `inline:<name>`, a policy ARN, or absent for the change's only document. */
  readonly source?: string;
  readonly document: string;
}

/** A granting statement, and which of the analysed documents holds it. */
export interface SourcedStatement extends GrantingStatement {
  readonly source?: string;
}

/** What the analysis of a change's documents found. */
export interface ChangeAnalysis {
  /** Restricted actions granted by any of the documents, in the restricted list's order. */
  readonly findings: Finding[];
  /**
   * Set when some document could not be analysed (unreadable, a construct IAM may read differently, the
   * work budget exceeded): the change is then risky, never harmless. Names the document when there are
   * several.
   */
  readonly error?: string;
}

/**
 * Analyses every document a change puts in force and merges the findings: an action is granted when any
 * document grants it, and conditional only when every granting statement, in every document, is. All the
 * documents share one work budget (`DEFAULT_ANALYSIS_BUDGET`). Nothing
 * escapes as an exception: a document PolicyGate cannot read, or whose analysis runs past its budget, or
 * even a bug in the analysis, becomes `error`, so an unreadable change is treated as risky and contained
 * rather than left in force by a failed step.
 */
export function analyseDocuments(
  documents: readonly SourcedDocument[],
  restricted: RestrictedActionSet,
  options: { readonly kind?: 'identity' | 'trust' } = {},
): ChangeAnalysis {
  const byAction = new Map<string, { conditional: boolean; statements: SourcedStatement[] }>();
  const errors: string[] = [];
  // One budget for the whole change: a group with many policies costs no more than one large policy.
  const meter: WorkMeter = { units: 0 };
  for (const { source, document } of documents) {
    let findings: Finding[];
    try {
      const parsed =
        options.kind === 'trust'
          ? parsePolicyDocument(document, { kind: 'trust' })
          : parsePolicyDocument(document);
      findings = analysePolicy(parsed, restricted, {
        budget: Math.max(0, DEFAULT_ANALYSIS_BUDGET - meter.units),
        meter,
      });
    } catch (error) {
      errors.push(`${source === undefined ? '' : `${source}: `}${describeError(error)}`);
      // The budget is spent: the change is risky already, and the rest would only cost more.
      if (error instanceof AnalysisBudgetError) break;
      continue;
    }
    for (const finding of findings) {
      const entry = byAction.get(finding.action) ?? { conditional: true, statements: [] };
      entry.conditional &&= finding.conditional;
      entry.statements.push(...finding.statements.map((s) => (source === undefined ? s : { ...s, source })));
      byAction.set(finding.action, entry);
    }
  }
  const findings: Finding[] = [];
  for (const action of restricted.actions) {
    const entry = byAction.get(action.action);
    if (entry) findings.push({ action: action.action, ...entry });
  }
  if (errors.length === 0) return { findings };
  // Stored in the record and shown in Slack: a change with many unreadable documents stays readable.
  const listed = errors.slice(0, MAX_LISTED_ERRORS).join('; ');
  const more =
    errors.length > MAX_LISTED_ERRORS ? `; and ${errors.length - MAX_LISTED_ERRORS} more documents` : '';
  return { findings, error: `${listed}${more}` };
}

function describeError(error: unknown): string {
  // PolicyGate's own errors (unreadable document, budget exceeded) explain themselves; anything else is a
  // bug, named but not echoed (its message may quote the document).
  if (error instanceof PolicyParseError || error instanceof AnalysisBudgetError) return error.message;
  return `PolicyGate could not analyse the document (internal ${error instanceof Error ? error.name : 'error'})`;
}

/**
 * Whether one document is risky: it grants a restricted action, or it cannot be analysed (never harmless
 * by default). For checks that need only the verdict, such as the sweep and a membership restore.
 */
export function riskTest(restricted: RestrictedActionSet): (document: string) => boolean {
  return (document) => {
    const analysis = analyseDocuments([{ document }], restricted);
    return analysis.findings.length > 0 || analysis.error !== undefined;
  };
}
