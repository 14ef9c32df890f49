import { createHash } from 'node:crypto';
import type { ApprovalRecord, DecisionOutput } from './approval';

/**
 * What a seal covers, as pure logic. A seal is an HMAC (made by KMS with a key only one function may use
 * to generate) over a digest of part of an approval record, so a record changed in the table by anyone
 * else (a PowerUser's `UpdateItem`) no longer verifies:
 *
 * - the *record* seal, made by AnalyseChange when it creates the record: everything the record says about
 *   the change and what approving it would write back (the change and its actor, the original, the
 *   findings shown, the deadline), i.e. the record minus the fields later steps set;
 * - the *quarantine* seal, made by AnalyseChange once the change is contained: what the quarantine did
 *   (the versions it deleted, the quarantine version), who the grant reaches and the record's concerns,
 *   chained to the record seal;
 * - the *approvals* seal, made by the deciding function with its key whenever it counts an approval that
 *   is not yet enough (the first of two approvers), over the approvals so far and the attribution it found
 *   at the click, chained to both seals above;
 * - the *decision* seal, made by the function that takes the decision (its own key): the decision and
 *   who took it, the approvals before it and the attribution at the click, chained to the record and
 *   quarantine seals, so a decision covers exactly what was shown.
 *
 * KMS takes at most 4,096 bytes to MAC, so the MAC is over a purpose-tagged SHA-256 of canonical JSON.
 */

/** Record fields set after creation; the record seal leaves them out (the later seals cover some of them). */
const SET_AFTER_CREATION: ReadonlySet<string> = new Set([
  'status',
  'updatedAt',
  'taskToken',
  'decision',
  'slackMessage',
  'outcome',
  'failure',
  'restore',
  'recordSeal',
  'quarantineSeal',
  'decisionSeal',
  'approvalsSeal',
  // What the quarantine seal covers (attribution: the trail is followed once the change is contained).
  'quarantine',
  'reach',
  'concerns',
  'attribution',
  'requiredApprovals',
  // What the approvals and decision seals cover.
  'approvals',
  'reattribution',
]);

/** Canonical JSON: object keys sorted, `undefined` members dropped, so equal content gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('not a finite number');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value instanceof Set) return canonicalJson([...value].sort());
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function digestMessage(purpose: string, content: unknown): Uint8Array {
  const digest = createHash('sha256').update(canonicalJson(content)).digest('hex');
  return new TextEncoder().encode(`policy-gate/${purpose}/v1:${digest}`);
}

/** The bytes the record seal is a MAC of. */
export function recordSealMessage(record: ApprovalRecord): Uint8Array {
  const content: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!SET_AFTER_CREATION.has(key)) content[key] = value;
  }
  return digestMessage('record', content);
}

/** The bytes the quarantine seal is a MAC of: the quarantine, reach and concerns, chained to the record seal. */
export function quarantineSealMessage(record: ApprovalRecord): Uint8Array {
  return digestMessage('quarantine', {
    approvalId: record.approvalId,
    recordSeal: record.recordSeal ?? null,
    quarantine: record.quarantine ?? null,
    reach: record.reach ?? null,
    concerns: record.concerns ?? null,
    attribution: record.attribution ?? null,
    requiredApprovals: record.requiredApprovals ?? null,
  });
}

/**
 * The bytes the approvals seal is a MAC of: the approvals counted so far and the attribution found at a
 * click, chained to the record and quarantine seals.
 */
export function approvalsSealMessage(
  record: ApprovalRecord,
  approvals: readonly DecisionOutput[],
  reattribution: ApprovalRecord['reattribution'],
): Uint8Array {
  return digestMessage('approvals', {
    approvalId: record.approvalId,
    executionId: record.executionId,
    recordSeal: record.recordSeal ?? null,
    quarantineSeal: record.quarantineSeal ?? null,
    approvals,
    reattribution: reattribution ?? null,
  });
}

/** The bytes the decision seal is a MAC of: the decision, chained to the two seals of what was shown. */
export function decisionSealMessage(record: ApprovalRecord, decision: DecisionOutput): Uint8Array {
  return digestMessage('decision', {
    approvalId: record.approvalId,
    executionId: record.executionId,
    recordSeal: record.recordSeal ?? null,
    quarantineSeal: record.quarantineSeal ?? null,
    approvals: record.approvals ?? [],
    reattribution: record.reattribution ?? null,
    decision,
  });
}
