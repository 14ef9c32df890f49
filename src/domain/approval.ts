import type { Finding, GrantingStatement } from './analyse-policy';
import { documentsEqual } from './document-equality';
import type { PolicyChange, PrincipalType } from './policy-change';

/**
 * Lifecycle of an approval. The record is written PENDING before anything is quarantined, and moves on
 * only through conditional writes, so each transition happens exactly once:
 *
 * - PENDING → APPROVED | DENIED (a human decided) | EXPIRED (deadline) | FAILED (the workflow failed)
 * - APPROVED → CONFLICT (the target changed while waiting; nothing was overwritten) | FAILED
 * - APPROVED | DENIED → EXPIRED when the decision reached the workflow only after its deadline
 *   (the decision then never took effect, so the change stays quarantined)
 */
export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'DENIED' | 'EXPIRED' | 'FAILED' | 'CONFLICT';

/** Which statuses may follow which; anything else is refused by the store. */
export const ALLOWED_TRANSITIONS: Readonly<Record<ApprovalStatus, readonly ApprovalStatus[]>> = {
  PENDING: ['APPROVED', 'DENIED', 'EXPIRED', 'FAILED'],
  APPROVED: ['CONFLICT', 'FAILED', 'EXPIRED'],
  DENIED: ['EXPIRED', 'FAILED'],
  EXPIRED: [],
  FAILED: [],
  CONFLICT: [],
};

export type Decision = 'APPROVED' | 'DENIED';

/** Who decided, through which channel. */
export interface Decider {
  /** Channel-specific id, e.g. the Slack user id `U012ABC`. */
  readonly id: string;
  readonly name: string;
  readonly channel: 'slack' | 'email' | 'cli';
}

/** What the approval task returns to the workflow via `SendTaskSuccess`. */
export interface DecisionOutput {
  readonly decision: Decision;
  readonly decidedBy: Decider;
  readonly decidedAt: string;
  readonly approvalId: string;
}

/** What PolicyGate saved before quarantining, so approve can restore it exactly. */
export type OriginalState =
  | {
      readonly kind: 'managed-policy';
      readonly policyArn: string;
      /** The version the change made default (the one under review). */
      readonly offendingVersionId: string;
      /** Its document, as JSON text. */
      readonly document: string;
    }
  | {
      readonly kind: 'inline-policy';
      readonly principalType: PrincipalType;
      readonly principalName: string;
      readonly policyName: string;
      readonly document: string;
    }
  | {
      readonly kind: 'attachment';
      readonly principalType: PrincipalType;
      readonly principalName: string;
      readonly policyArn: string;
      /** Default version id and document of the attached policy at the time, for the record. */
      readonly versionId: string;
      readonly document: string;
    };

/** A non-default managed-policy version PolicyGate had to delete to make room (IAM allows 5). */
export interface DeletedVersion {
  readonly versionId: string;
  readonly document: string;
  readonly createDate?: string;
}

/** What the quarantine did. */
export interface QuarantineState {
  readonly appliedAt: string;
  /** managed policy: the version holding the quarantine document, now default. */
  readonly quarantineVersionId?: string;
  /** managed policy: versions deleted (documents saved here first) to stay within IAM's limit. */
  readonly deletedVersions?: readonly DeletedVersion[];
}

export type OutcomeResult = 'RESTORED' | 'KEPT_QUARANTINED' | 'EXPIRED' | 'CONFLICT' | 'FAILED';

export interface Outcome {
  readonly result: OutcomeResult;
  readonly at: string;
  readonly detail?: string;
}

/** Where the approval request was posted (Slack channel id and message `ts`). */
export interface MessageRef {
  readonly channel: string;
  readonly ts: string;
}

/** The approvals-store record for one risky change. */
export interface ApprovalRecord {
  readonly approvalId: string;
  readonly status: ApprovalStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the approval expires (ISO time); decisions after it are refused. */
  readonly deadline: string;
  /** Epoch seconds after which DynamoDB's TTL may delete the record (deadline + retention). */
  readonly ttl: number;
  readonly executionId: string;
  readonly change: PolicyChange;
  readonly findings: readonly Finding[];
  /**
   * Findings left out of `findings` to keep the record within DynamoDB's 400 KB item limit (a wide
   * restricted list against a large policy yields thousands); they are counted, never dropped silently.
   */
  readonly findingsOmitted?: number;
  /**
   * Set when the policy in force could not be analysed (e.g. a grammar PolicyGate does not know yet):
   * the change is then treated as risky, never as harmless.
   */
  readonly analysisError?: string;
  readonly original: OriginalState;
  readonly quarantine?: QuarantineState;
  /** Step Functions task token; stored, never logged, never sent to a client. */
  readonly taskToken?: string;
  readonly decision?: DecisionOutput;
  /** The Slack message of the request, kept up to date until the approval ends. */
  readonly slackMessage?: MessageRef;
  readonly outcome?: Outcome;
  readonly failure?: { readonly error: string; readonly cause?: string; readonly at: string };
}

/** What of the findings a record keeps; see {@link storedFindings}. */
export interface StoredFindings {
  readonly findings: Finding[];
  /** How many findings did not fit. */
  readonly omitted: number;
}

const MAX_STATEMENTS_PER_FINDING = 10;
const MAX_RESOURCES_PER_STATEMENT = 5;
/** Findings budget in JSON characters: a quarter of DynamoDB's item limit, leaving room for documents. */
export const FINDINGS_BUDGET = 100_000;

function trimStatement(statement: GrantingStatement): GrantingStatement {
  const { resources, notResources, ...rest } = statement;
  return {
    ...rest,
    resources: resources.slice(0, MAX_RESOURCES_PER_STATEMENT),
    ...(notResources && { notResources: notResources.slice(0, MAX_RESOURCES_PER_STATEMENT) }),
  };
}

/**
 * The findings an approval record keeps: every action while they fit in {@link FINDINGS_BUDGET}, each
 * with at most 10 granting statements of at most 5 resources (the policy itself is in the record too).
 * The first findings are the analysis' order (restricted-list order), so what is kept is stable.
 */
export function storedFindings(findings: readonly Finding[], budget = FINDINGS_BUDGET): StoredFindings {
  const kept: Finding[] = [];
  let used = 2;
  for (const finding of findings) {
    const trimmed: Finding = {
      ...finding,
      statements: finding.statements.slice(0, MAX_STATEMENTS_PER_FINDING).map(trimStatement),
    };
    const size = JSON.stringify(trimmed).length + 1;
    if (used + size > budget) break;
    kept.push(trimmed);
    used += size;
  }
  return { findings: kept, omitted: findings.length - kept.length };
}

/** How many restricted actions the change grants, stored or not. */
export function totalFindings(record: Pick<ApprovalRecord, 'findings' | 'findingsOmitted'>): number {
  return record.findings.length + (record.findingsOmitted ?? 0);
}

/** Whether `to` may follow `from`. */
export function canTransition(from: ApprovalStatus, to: ApprovalStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** The statuses from which `to` may be reached. */
export function statusesLeadingTo(to: ApprovalStatus): ApprovalStatus[] {
  return (Object.keys(ALLOWED_TRANSITIONS) as ApprovalStatus[]).filter((from) => canTransition(from, to));
}

/**
 * The document PolicyGate puts in place of a risky one. It must grant nothing of consequence and must
 * not Deny: a Deny would also strip the permissions the principal has from its other policies, turning
 * a quarantine into an outage. IAM needs at least one statement, so it allows only
 * `sts:GetCallerIdentity`, which every principal may call without any permission anyway. The Sid
 * carries the approval id so the quarantine is recognisable in the console and on restore.
 */
export function quarantineDocument(approvalId: string): string {
  const sid = `PolicyGateQuarantine${approvalId.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 100);
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }],
  });
}

/** Whether a document (JSON text or object) is a PolicyGate quarantine document for `approvalId`. */
export function isQuarantineDocument(document: unknown, approvalId: string): boolean {
  return documentsEqual(document, quarantineDocument(approvalId));
}
