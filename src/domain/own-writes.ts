import { type ApprovalRecord, quarantineDocument } from './approval';
import { documentsEqual } from './document-equality';
import type { PolicyChange } from './policy-change';

/**
 * PolicyGate's own IAM writes, recognised by what they are rather than by who made them: whoever can run
 * code as a PolicyGate role (a PowerUser with `lambda:UpdateFunctionCode`) must not get an ungated write
 * out of that role. A call by a PolicyGate role is its own only when it is exactly a write an approval
 * record expects:
 *
 * - **quarantine**: the record's quarantine document put on the record's own target (a managed policy's
 *   new default version, an inline policy), or the detach of the record's attachment. Such a write grants
 *   nothing (the quarantine document allows only `sts:GetCallerIdentity`), so the record's state does not
 *   matter: CloudTrail may deliver the event after the approval moved on.
 * - **restore**: the reviewed original written back to the record's target while the record is RESTORING
 *   (or RESTORED, for an event that arrives late), within the restore's time window. The caller must also
 *   have verified the record's seals: a restore write is trusted only on a sealed, sealed-approved record.
 */
export type OwnWrite = 'quarantine' | 'restore';

/** How far a restore write's CloudTrail time may fall outside the restore's recorded window. */
export const RESTORE_WINDOW_SLACK_MS = 60_000;

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Whether `change` happened while `record` was being restored (CloudTrail times have whole seconds). */
function duringRestore(change: PolicyChange, record: ApprovalRecord): boolean {
  const mark = record.restore;
  if (mark === undefined || (record.status !== 'RESTORING' && record.status !== 'RESTORED')) return false;
  const at = Date.parse(change.eventTime);
  const started = Date.parse(mark.startedAt);
  if (!Number.isFinite(at) || !Number.isFinite(started)) return false;
  if (at < started - 1000) return false;
  if (record.status === 'RESTORING') return true;
  const finished = mark.finishedAt === undefined ? Number.NaN : Date.parse(mark.finishedAt);
  return Number.isFinite(finished) && at <= finished + RESTORE_WINDOW_SLACK_MS;
}

/**
 * Which of PolicyGate's own writes `change` is for `record`, or `undefined` when it is none: then the call
 * is gated like anyone's change and alerted. Pure: the caller finds the candidate records and checks their
 * seals (required for `restore`).
 */
export function ownWriteFor(change: PolicyChange, record: ApprovalRecord): OwnWrite | undefined {
  const { target } = change;
  const { original } = record;
  const isQuarantineDocument =
    change.document !== undefined && documentsEqual(change.document, quarantineDocument(record.approvalId));
  switch (target.kind) {
    case 'managed-policy': {
      if (original.kind !== 'managed-policy' || !same(original.policyArn, target.policyArn)) return undefined;
      if (change.eventName === 'CreatePolicyVersion' && isQuarantineDocument) return 'quarantine';
      if (
        change.eventName === 'SetDefaultPolicyVersion' &&
        change.versionId === original.offendingVersionId &&
        duringRestore(change, record)
      ) {
        return 'restore';
      }
      return undefined;
    }
    case 'inline-policy': {
      if (
        original.kind !== 'inline-policy' ||
        original.principalType !== target.principalType ||
        !same(original.principalName, target.principalName) ||
        !same(original.policyName, target.policyName) ||
        !change.eventName.startsWith('Put')
      ) {
        return undefined;
      }
      if (isQuarantineDocument) return 'quarantine';
      const restoresOriginal =
        change.document !== undefined && documentsEqual(change.document, original.document);
      return restoresOriginal && duringRestore(change, record) ? 'restore' : undefined;
    }
    case 'attachment': {
      if (
        original.kind !== 'attachment' ||
        original.principalType !== target.principalType ||
        !same(original.principalName, target.principalName) ||
        !same(original.policyArn, target.policyArn)
      ) {
        return undefined;
      }
      if (change.eventName.startsWith('Detach')) return 'quarantine';
      return change.eventName.startsWith('Attach') && duringRestore(change, record) ? 'restore' : undefined;
    }
    case 'group-membership': {
      if (
        original.kind !== 'group-membership' ||
        !same(original.groupName, target.groupName) ||
        !same(original.userName, target.userName)
      ) {
        return undefined;
      }
      return change.eventName === 'AddUserToGroup' && duringRestore(change, record) ? 'restore' : undefined;
    }
    case 'permissions-boundary':
    case 'trust-policy':
      // PolicyGate never writes boundaries or trust policies.
      return undefined;
  }
}
