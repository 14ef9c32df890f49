import type { Finding, GrantingStatement } from './analyse-policy';
import type { Attribution } from './attribution';
import { documentsEqual } from './document-equality';
import { parseStrictJson } from './json-strict';
import type { PolicyChange, PrincipalType } from './policy-change';
import { decodePolicyText } from './policy-text';

/**
 * Lifecycle of an approval. The record is written PENDING before anything is quarantined, and moves on
 * only through conditional writes, so each transition happens exactly once:
 *
 * - PENDING → APPROVED | DENIED (a human decided) | EXPIRED (deadline) | FAILED (the workflow failed)
 * - APPROVED → RESTORING (the restore began, bound to the approval's execution) | CONFLICT | FAILED
 * - RESTORING → RESTORED (written back once) | CONFLICT (the target changed while waiting; nothing was
 *   overwritten) | FAILED
 * - APPROVED | DENIED → EXPIRED when the decision reached the workflow only after its deadline
 *   (the decision then never took effect, so the change stays quarantined)
 *
 * RESTORED is final: a second restore of the same approval changes nothing, so it can never re-grant what
 * security removed after the first.
 */
export type ApprovalStatus =
  | 'PENDING'
  | 'APPROVED'
  | 'DENIED'
  | 'EXPIRED'
  | 'FAILED'
  | 'CONFLICT'
  | 'RESTORING'
  | 'RESTORED';

/** Which statuses may follow which; anything else is refused by the store. */
export const ALLOWED_TRANSITIONS: Readonly<Record<ApprovalStatus, readonly ApprovalStatus[]>> = {
  PENDING: ['APPROVED', 'DENIED', 'EXPIRED', 'FAILED'],
  APPROVED: ['RESTORING', 'CONFLICT', 'FAILED', 'EXPIRED'],
  RESTORING: ['RESTORED', 'CONFLICT', 'FAILED'],
  DENIED: ['EXPIRED', 'FAILED'],
  EXPIRED: [],
  FAILED: [],
  CONFLICT: [],
  RESTORED: [],
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
      /**
       * Versions of the policy under a pending approval at the time (its default then held PolicyGate's
       * quarantine document). They were analysed too, since approving them puts them in force on this
       * principal; restoring the attachment accepts them as the policy's default.
       */
      readonly pendingVersions?: readonly PendingVersion[];
    }
  | {
      readonly kind: 'group-membership';
      readonly groupName: string;
      readonly userName: string;
      /** Every policy the group granted at the time, analysed together (pending versions included). */
      readonly grants: readonly GrantSource[];
      /** The document shown in full to reviewers: the first grant (the findings name each grant they come from). */
      readonly document: string;
    };

/** A version of a managed policy that waits for an approval, as PolicyGate read it from IAM. */
export interface PendingVersion {
  /** The approval that holds it quarantined. */
  readonly approvalId: string;
  readonly versionId: string;
  readonly document: string;
}

/** One policy a principal holds: an inline policy by name, or an attached managed policy's version. */
export interface GrantSource {
  /** `inline:<policy name>` or the managed policy's ARN. */
  readonly source: string;
  /** Managed policies: the version read (the default, or a version under a pending approval). */
  readonly versionId?: string;
  readonly document: string;
  /** Set when this is a version under a pending approval rather than what is in force now. */
  readonly pendingApprovalId?: string;
}

/** A role, user or group, by name. */
export interface PrincipalRef {
  readonly type: PrincipalType;
  readonly name: string;
}

/** The users of one group a grant reaches, as {@link Reach} records them. */
export interface GroupMembers {
  readonly group: string;
  readonly users: readonly string[];
}

/**
 * Who a change's grant reaches beyond its own target, recorded when it is quarantined so a restore can
 * tell whether the grant would now reach principals nobody reviewed: for a managed policy, the principals
 * it is attached to and the members of those groups; for an inline policy or attachment on a group, the
 * group's members.
 */
export interface Reach {
  /** Managed policy: the roles, users and groups it is attached to. */
  readonly attachedTo: readonly PrincipalRef[];
  /**
   * Users who hold the grant through a group, per group. A list, not an object keyed by group name: group
   * names are attacker-chosen, and `constructor` or `__proto__` as an object key breaks the DynamoDB
   * marshaller (the record could not be stored, so the change stayed in force) or reads inherited members.
   */
  readonly groupMembers: readonly GroupMembers[];
  /** More principals than the record keeps: only `digest` and the counts are exact. */
  readonly truncated?: boolean;
  /** SHA-256 of the complete, sorted reach, so a truncated one can still be compared. */
  readonly digest: string;
  /** How many principals and group members in all. */
  readonly count: number;
  /**
   * Set (to the reason) when IAM would not say who the grant reaches: a restore then refuses, since it
   * cannot tell whether the grant would reach anyone nobody reviewed.
   */
  readonly unreadable?: string;
}

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
  /**
   * The Slack group (`group#…`) when the message shows several requests together: its updates redraw
   * every request it lists, never one request's view over the others.
   */
  readonly groupId?: string;
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
  /**
   * The change's account as Organizations described it when the change was recorded (name, and the OUs
   * from the nearest to the root), for the people deciding; absent on a single-account stage.
   */
  readonly account?: { readonly name?: string; readonly organizationalUnits?: readonly string[] };
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
  /**
   * Other reasons the change is treated as risky whatever its documents grant, in plain words: e.g. a
   * policy held by an approval PolicyGate cannot find. The event's own problems are in `change.problems`.
   */
  readonly concerns?: readonly string[];
  readonly original: OriginalState;
  /** Who the grant reached when it was quarantined (see {@link Reach}); absent where nobody else can hold it. */
  readonly reach?: Reach;
  readonly quarantine?: QuarantineState;
  /** Step Functions task token; stored, never logged, never sent to a client. */
  readonly taskToken?: string;
  readonly decision?: DecisionOutput;
  /** The Slack message of the request, kept up to date until the approval ends. */
  readonly slackMessage?: MessageRef;
  readonly outcome?: Outcome;
  readonly failure?: { readonly error: string; readonly cause?: string; readonly at: string };
  /** The restore in progress or done: which execution began it, and when (RESTORING and RESTORED). */
  readonly restore?: RestoreMark;
  /** AnalyseChange's seal over what the record says about the change (see `domain/seal.ts`). */
  readonly recordSeal?: string;
  /** AnalyseChange's seal over what the quarantine did, who the grant reaches and the concerns. */
  readonly quarantineSeal?: string;
  /** The deciding function's seal over the decision, chained to the two seals above. */
  readonly decisionSeal?: string;
  /** Who the change is attributed to, and how (see `domain/attribution.ts`). */
  readonly attribution?: Attribution;
  /**
   * How many different approvers must approve: 2 when no person could be named as the change's author, or
   * when it grants a critical restricted action; absent = 1.
   */
  readonly requiredApprovals?: 1 | 2;
  /** The critical restricted actions the change grants (why it needs two approvers). */
  readonly criticalActions?: readonly string[];
  /** Approvals given while more were needed, oldest first (the first of two approvers). */
  readonly approvals?: readonly DecisionOutput[];
  /**
   * The attribution the deciding function found at the first approval click, for a change the trail could
   * not attribute yet when it was contained; it takes the place of `attribution` (sealed with the approvals).
   */
  readonly reattribution?: Attribution;
  /** The deciding function's seal over `approvals` and `reattribution` (see `domain/seal.ts`). */
  readonly approvalsSeal?: string;
}

/** Which execution moved an approval to RESTORING, and when; a restore by anything else is refused. */
export interface RestoreMark {
  readonly executionId: string;
  readonly startedAt: string;
  /** Set with RESTORED: when the change was back in force. */
  readonly finishedAt?: string;
}

/**
 * Whether an approval was approved and written back: RESTORED, or (records written before RESTORED
 * existed) APPROVED with a RESTORED outcome.
 */
export function isRestored(record: Pick<ApprovalRecord, 'status' | 'outcome'>): boolean {
  return (
    record.status === 'RESTORED' || (record.status === 'APPROVED' && record.outcome?.result === 'RESTORED')
  );
}

/**
 * How many different approvers a record needs: the most any of its reasons asks for (the stored count, its
 * critical actions, its attribution), so a record missing one field never needs fewer than it should.
 */
export function approvalsRequired(
  record: Pick<ApprovalRecord, 'requiredApprovals' | 'criticalActions' | 'attribution' | 'reattribution'>,
): 1 | 2 {
  if ((record.criticalActions?.length ?? 0) > 0) return 2;
  const attribution = record.reattribution ?? record.attribution;
  if (attribution?.method === 'unattributed') return 2;
  // A click's attribution of a person replaces AnalyseChange's count, which said nobody could be named.
  if (record.reattribution === undefined && record.requiredApprovals === 2) return 2;
  return 1;
}

/** What of the findings a record keeps; see {@link storedFindings}. */
export interface StoredFindings {
  readonly findings: Finding[];
  /** How many findings did not fit. */
  readonly omitted: number;
}

const QUARANTINE_SID_PREFIX = 'PolicyGateQuarantine';
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
  // `from` may come from a stored item anyone with DynamoDB write access could edit: own keys only.
  return Object.hasOwn(ALLOWED_TRANSITIONS, from) && ALLOWED_TRANSITIONS[from].includes(to);
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
  const sid = `${QUARANTINE_SID_PREFIX}${approvalId.replace(/[^A-Za-z0-9]/g, '')}`.slice(0, 100);
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Allow', Action: 'sts:GetCallerIdentity', Resource: '*' }],
  });
}

/** Whether a document (JSON text or object) is a PolicyGate quarantine document for `approvalId`. */
export function isQuarantineDocument(document: unknown, approvalId: string): boolean {
  return documentsEqual(document, quarantineDocument(approvalId));
}

/**
 * What an approval governs, as lookup keys: the managed policy of a managed-policy or attachment approval,
 * the group whose members a grant reaches, and the principal an inline policy, attachment or membership is
 * on. The store indexes approvals by these so an attachment can be analysed against a version under
 * approval, and a restore or the sweep can find the approval that covers a grant.
 */
export function lookupKeysOf(target: PolicyChange['target']): string[] {
  switch (target.kind) {
    case 'managed-policy':
      return [policyKeyOf(target.policyArn)];
    case 'attachment':
      return [
        policyKeyOf(target.policyArn),
        principalKeyOf(target.principalType, target.principalName),
        ...(target.principalType === 'group' ? [groupKeyOf(target.principalName)] : []),
      ];
    case 'inline-policy':
      return [
        principalKeyOf(target.principalType, target.principalName),
        ...(target.principalType === 'group' ? [groupKeyOf(target.principalName)] : []),
      ];
    case 'group-membership':
      return [groupKeyOf(target.groupName), principalKeyOf('user', target.userName)];
    case 'permissions-boundary':
    case 'trust-policy':
      return [];
  }
}

/** The lookup key of a principal (IAM names are case-insensitive). */
export function principalKeyOf(type: PrincipalType, name: string): string {
  return `principal:${type}:${name.toLowerCase()}`;
}

/** The lookup key of a managed policy: IAM policy names are case-insensitive, so the ARN is lower-cased. */
export function policyKeyOf(policyArn: string): string {
  return `policy:${policyArn.toLowerCase()}`;
}

/**
 * The group members a reach lists. Records stored before the list form keyed them by group name; their own
 * keys are read (never inherited ones), and anything else yields nothing.
 */
export function reachGroupMembers(reach: Pick<Reach, 'groupMembers'>): readonly GroupMembers[] {
  const value: unknown = reach.groupMembers;
  if (Array.isArray(value)) return value as GroupMembers[];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value)
    .filter((entry): entry is [string, string[]] => Array.isArray(entry[1]))
    .map(([group, users]) => ({ group, users }));
}

/** The lookup key of a group whose members a grant reaches (group names are case-insensitive in IAM). */
export function groupKeyOf(groupName: string): string {
  return `group:${groupName.toLowerCase()}`;
}

/**
 * Whether a document has the shape of a PolicyGate quarantine document, whichever approval it names. Used
 * only to be more careful (a policy held by an approval PolicyGate cannot find is treated as risky), never
 * to trust a document: anyone with IAM write access can write this shape.
 */
export function looksLikeQuarantineDocument(document: unknown): boolean {
  let value: unknown;
  try {
    value = typeof document === 'string' ? parseStrictJson(decodePolicyText(document)) : document;
  } catch {
    return false;
  }
  const statements = (value as { Statement?: unknown } | null)?.Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  if (list.length !== 1) return false;
  const sid = (list[0] as { Sid?: unknown } | null)?.Sid;
  if (typeof sid !== 'string' || !sid.startsWith(QUARANTINE_SID_PREFIX)) return false;
  return documentsEqual(value, quarantineDocument(sid.slice(QUARANTINE_SID_PREFIX.length)));
}
