import type { IamGateway, PolicyVersionInfo } from '../adapters/iam-gateway';
import {
  type DeletedVersion,
  isQuarantineDocument,
  type OriginalState,
  type QuarantineState,
  quarantineDocument,
} from '../domain/approval';
import { documentsEqual } from '../domain/document-equality';
import type { ChangeTarget, PolicyChange, PrincipalType } from '../domain/policy-change';
import { ApprovalStateError, AwsOperationError, EventNormalisationError, NotFoundError } from '../errors';

/** IAM keeps at most this many versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;

/** Whether the change is still in force, and if so what it put in force. */
export type CaptureResult = { inForce: true; original: OriginalState } | { inForce: false; reason: string };

/** How a restore ended; on CONFLICT nothing was changed. */
export type RestoreResult = { outcome: 'RESTORED' } | { outcome: 'CONFLICT'; detail: string };

/** Callbacks the quarantine makes before destructive steps, so the caller can persist what is lost. */
export interface QuarantineHooks {
  /**
   * Called with a version's document before PolicyGate deletes it to make room; when it throws, the
   * version is not deleted and the quarantine fails with that error.
   */
  beforeDeleteVersion(version: DeletedVersion): Promise<void>;
}

type ManagedOriginal = Extract<OriginalState, { kind: 'managed-policy' }>;
type InlineOriginal = Extract<OriginalState, { kind: 'inline-policy' }>;
type AttachmentOriginal = Extract<OriginalState, { kind: 'attachment' }>;

/**
 * Captures, quarantines and restores the target of a risky IAM change. Reads IAM's current state rather
 * than trusting CloudTrail's copy, never overwrites a change someone else made in between (it reports a
 * conflict instead), and may be re-run after a crash at any point. It logs nothing: documents are the
 * caller's to handle.
 */
export class QuarantineService {
  constructor(
    private readonly iam: IamGateway,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * What the change put in force, read from IAM now: the offending managed-policy version, the inline
   * document, or the attached policy's default version. `inForce: false` (with a reason) when the change
   * no longer has effect, e.g. a newer default version or a deleted inline policy.
   */
  async captureOriginal(change: PolicyChange): Promise<CaptureResult> {
    const target: ChangeTarget = change.target;
    switch (target.kind) {
      case 'managed-policy':
        return this.captureManaged(change, target.policyArn);
      case 'inline-policy':
        return this.captureInline(target.principalType, target.principalName, target.policyName);
      case 'attachment':
        return this.captureAttachment(target.principalType, target.principalName, target.policyArn);
    }
  }

  /**
   * Takes the captured change out of force without losing it: a managed policy gets a new default version
   * holding {@link quarantineDocument} (the offending version stays, non-default; if the policy already has
   * 5 versions the oldest other non-default one is handed to `hooks.beforeDeleteVersion` and then deleted);
   * an inline policy gets the quarantine document under its name; an attachment is detached.
   *
   * Idempotent: a re-run finds its own quarantine and changes nothing more. Fails with
   * `AwsOperationError` code `TargetChanged`, changing nothing, when the target is neither as captured nor
   * already quarantined by this approval (a newer change, which PolicyGate gates separately).
   */
  async quarantine(
    approvalId: string,
    original: OriginalState,
    hooks: QuarantineHooks,
  ): Promise<QuarantineState> {
    switch (original.kind) {
      case 'managed-policy':
        return this.quarantineManaged(approvalId, original, hooks);
      case 'inline-policy':
        return this.quarantineInline(approvalId, original);
      case 'attachment':
        return this.quarantineAttachment(original);
    }
  }

  /**
   * Puts the original back, provided the target is still exactly as the quarantine left it; otherwise
   * returns CONFLICT with what changed and touches nothing. Verifies afterwards that the document in force
   * equals `original.document` and throws `AwsOperationError` code `RestoreVerificationFailed` if not.
   * Idempotent: a target already restored returns RESTORED.
   */
  async restore(
    approvalId: string,
    original: OriginalState,
    quarantine: QuarantineState,
  ): Promise<RestoreResult> {
    switch (original.kind) {
      case 'managed-policy':
        return this.restoreManaged(approvalId, original, quarantine);
      case 'inline-policy':
        return this.restoreInline(approvalId, original);
      case 'attachment':
        return this.restoreAttachment(original);
    }
  }

  // ---- capture ----------------------------------------------------------------------------------------

  private async captureManaged(change: PolicyChange, policyArn: string): Promise<CaptureResult> {
    const { eventName } = change;
    if (
      eventName !== 'CreatePolicy' &&
      eventName !== 'CreatePolicyVersion' &&
      eventName !== 'SetDefaultPolicyVersion'
    ) {
      throw new EventNormalisationError(`${eventName} does not change a managed policy's versions`);
    }
    if (eventName === 'CreatePolicyVersion' && change.setAsDefault !== true) {
      const which = change.versionId === undefined ? 'new version' : `new version ${change.versionId}`;
      return { inForce: false, reason: `the ${which} was not made the default version` };
    }
    const policy = await orUndefinedIfNotFound(this.iam.getPolicy(policyArn));
    if (policy === undefined) return { inForce: false, reason: 'the policy no longer exists' };

    const offendingVersionId =
      change.versionId ?? (eventName === 'CreatePolicy' ? policy.defaultVersionId : undefined);
    if (offendingVersionId === undefined) {
      throw new EventNormalisationError(`${eventName} event for ${policyArn} carries no versionId`);
    }
    if (policy.defaultVersionId !== offendingVersionId) {
      return {
        inForce: false,
        reason: `${offendingVersionId} is no longer the default version (${policy.defaultVersionId} is)`,
      };
    }
    const version = await orUndefinedIfNotFound(this.iam.getPolicyVersion(policyArn, offendingVersionId));
    if (version === undefined) return { inForce: false, reason: `${offendingVersionId} no longer exists` };
    // The default may have moved between the two reads.
    if (!version.isDefaultVersion) {
      return { inForce: false, reason: `${offendingVersionId} is no longer the default version` };
    }
    return {
      inForce: true,
      original: { kind: 'managed-policy', policyArn, offendingVersionId, document: version.document },
    };
  }

  private async captureInline(
    principalType: PrincipalType,
    principalName: string,
    policyName: string,
  ): Promise<CaptureResult> {
    const document = await this.iam.getInlinePolicy(principalType, principalName, policyName);
    if (document === undefined) return { inForce: false, reason: 'the inline policy no longer exists' };
    return {
      inForce: true,
      original: { kind: 'inline-policy', principalType, principalName, policyName, document },
    };
  }

  private async captureAttachment(
    principalType: PrincipalType,
    principalName: string,
    policyArn: string,
  ): Promise<CaptureResult> {
    const attached = await orUndefinedIfNotFound(
      this.iam.listAttachedPolicyArns(principalType, principalName),
    );
    if (attached === undefined) {
      return { inForce: false, reason: `the ${principalType} ${principalName} no longer exists` };
    }
    const attachedArn = findArn(attached, policyArn);
    if (attachedArn === undefined) {
      return {
        inForce: false,
        reason: `the policy is no longer attached to ${principalType} ${principalName}`,
      };
    }
    const policy = await this.iam.getPolicy(attachedArn);
    const version = await this.iam.getPolicyVersion(attachedArn, policy.defaultVersionId);
    return {
      inForce: true,
      original: {
        kind: 'attachment',
        principalType,
        principalName,
        policyArn: attachedArn,
        versionId: version.versionId,
        document: version.document,
      },
    };
  }

  // ---- quarantine -------------------------------------------------------------------------------------

  private async quarantineManaged(
    approvalId: string,
    original: ManagedOriginal,
    hooks: QuarantineHooks,
  ): Promise<QuarantineState> {
    const { policyArn, offendingVersionId } = original;
    const policy = await this.iam.getPolicy(policyArn);
    if (policy.defaultVersionId !== offendingVersionId) {
      const current = await this.iam.getPolicyVersion(policyArn, policy.defaultVersionId);
      if (isQuarantineDocument(current.document, approvalId)) {
        // An earlier run got this far; its deleted versions were saved through the hook then.
        return { appliedAt: this.timestamp(), quarantineVersionId: policy.defaultVersionId };
      }
      throw targetChanged(
        'quarantine',
        `${offendingVersionId} is no longer the default version of the policy (${policy.defaultVersionId} is)`,
      );
    }

    const deletedVersions: DeletedVersion[] = [];
    let versions = await this.iam.listPolicyVersions(policyArn);
    while (versions.length >= MAX_POLICY_VERSIONS) {
      const victim = oldestDeletable(versions, offendingVersionId);
      if (victim === undefined) {
        throw new AwsOperationError(
          'quarantine',
          'LimitExceeded',
          `the policy has ${versions.length} versions and none that PolicyGate may delete`,
        );
      }
      const version = await this.iam.getPolicyVersion(policyArn, victim.versionId);
      const saved: DeletedVersion = {
        versionId: version.versionId,
        document: version.document,
        ...(version.createDate === undefined ? {} : { createDate: version.createDate }),
      };
      // The caller persists the document first; if that fails, the version must survive.
      await hooks.beforeDeleteVersion(saved);
      await this.iam.deletePolicyVersion(policyArn, victim.versionId);
      deletedVersions.push(saved);
      versions = versions.filter((v) => v.versionId !== victim.versionId);
    }

    const quarantineVersionId = await this.iam.createPolicyVersion(
      policyArn,
      quarantineDocument(approvalId),
      true,
    );
    return {
      appliedAt: this.timestamp(),
      quarantineVersionId,
      ...(deletedVersions.length === 0 ? {} : { deletedVersions }),
    };
  }

  private async quarantineInline(approvalId: string, original: InlineOriginal): Promise<QuarantineState> {
    const { principalType, principalName, policyName } = original;
    const current = await this.iam.getInlinePolicy(principalType, principalName, policyName);
    if (current !== undefined && isQuarantineDocument(current, approvalId)) {
      return { appliedAt: this.timestamp() };
    }
    if (current === undefined) {
      throw targetChanged('quarantine', 'the inline policy no longer exists');
    }
    if (!documentsEqual(current, original.document)) {
      throw targetChanged('quarantine', 'the inline policy was replaced after it was captured');
    }
    await this.iam.putInlinePolicy(principalType, principalName, policyName, quarantineDocument(approvalId));
    return { appliedAt: this.timestamp() };
  }

  private async quarantineAttachment(original: AttachmentOriginal): Promise<QuarantineState> {
    const { principalType, principalName, policyArn } = original;
    // A principal that is gone can hold no attachment: nothing left to take out of force.
    const attached = await orUndefinedIfNotFound(
      this.iam.listAttachedPolicyArns(principalType, principalName),
    );
    const attachedArn = attached === undefined ? undefined : findArn(attached, policyArn);
    if (attachedArn !== undefined) {
      // NotFound here means someone detached it in the meantime, which is the state we want.
      await orUndefinedIfNotFound(this.iam.detachPolicy(principalType, principalName, attachedArn));
    }
    return { appliedAt: this.timestamp() };
  }

  // ---- restore ----------------------------------------------------------------------------------------

  private async restoreManaged(
    approvalId: string,
    original: ManagedOriginal,
    quarantine: QuarantineState,
  ): Promise<RestoreResult> {
    const { policyArn, offendingVersionId } = original;
    const quarantineVersionId = quarantine.quarantineVersionId;
    if (quarantineVersionId === undefined) {
      throw new ApprovalStateError(
        'the quarantine of a managed policy has no quarantineVersionId to restore from',
      );
    }
    const policy = await orUndefinedIfNotFound(this.iam.getPolicy(policyArn));
    if (policy === undefined) return conflict('the policy no longer exists');

    if (policy.defaultVersionId !== offendingVersionId) {
      if (policy.defaultVersionId !== quarantineVersionId) {
        return conflict(
          `the default version is now ${policy.defaultVersionId}, not PolicyGate's quarantine version ${quarantineVersionId}`,
        );
      }
      const offending = await orUndefinedIfNotFound(this.iam.getPolicyVersion(policyArn, offendingVersionId));
      if (offending === undefined) {
        return conflict(`${offendingVersionId}, the version under review, no longer exists`);
      }
      if (!documentsEqual(offending.document, original.document)) {
        return conflict(`${offendingVersionId} no longer holds the document that was reviewed`);
      }
      await this.iam.setDefaultPolicyVersion(policyArn, offendingVersionId);
    }
    // Also reached when an earlier attempt set the default but stopped before removing the quarantine.
    await this.removeQuarantineVersion(policyArn, quarantineVersionId, approvalId);

    const after = await this.iam.getPolicy(policyArn);
    const inForce = await this.iam.getPolicyVersion(policyArn, after.defaultVersionId);
    if (
      after.defaultVersionId !== offendingVersionId ||
      !documentsEqual(inForce.document, original.document)
    ) {
      throw verificationFailed(
        `the default version is ${after.defaultVersionId}; expected ${offendingVersionId} with the reviewed document`,
      );
    }
    return { outcome: 'RESTORED' };
  }

  /** Deletes the quarantine version if it still exists and still is PolicyGate's, never anything else. */
  private async removeQuarantineVersion(
    policyArn: string,
    versionId: string,
    approvalId: string,
  ): Promise<void> {
    const version = await orUndefinedIfNotFound(this.iam.getPolicyVersion(policyArn, versionId));
    if (version === undefined || !isQuarantineDocument(version.document, approvalId)) return;
    await orUndefinedIfNotFound(this.iam.deletePolicyVersion(policyArn, versionId));
  }

  private async restoreInline(approvalId: string, original: InlineOriginal): Promise<RestoreResult> {
    const { principalType, principalName, policyName } = original;
    const current = await this.iam.getInlinePolicy(principalType, principalName, policyName);
    if (current !== undefined && documentsEqual(current, original.document)) return { outcome: 'RESTORED' };
    if (current === undefined) {
      return conflict(`the inline policy (or the ${principalType} ${principalName}) no longer exists`);
    }
    if (!isQuarantineDocument(current, approvalId)) {
      return conflict("the inline policy no longer holds PolicyGate's quarantine document");
    }
    await this.iam.putInlinePolicy(principalType, principalName, policyName, original.document);

    const after = await this.iam.getInlinePolicy(principalType, principalName, policyName);
    if (after === undefined || !documentsEqual(after, original.document)) {
      throw verificationFailed('the inline policy does not hold the reviewed document after the restore');
    }
    return { outcome: 'RESTORED' };
  }

  private async restoreAttachment(original: AttachmentOriginal): Promise<RestoreResult> {
    const { principalType, principalName, policyArn } = original;
    const attached = await orUndefinedIfNotFound(
      this.iam.listAttachedPolicyArns(principalType, principalName),
    );
    if (attached === undefined) return conflict(`the ${principalType} ${principalName} no longer exists`);
    // IAM state cannot tell who attached it again, so this stays a conflict even after an interrupted restore.
    if (findArn(attached, policyArn) !== undefined) {
      return conflict(`the policy was attached to ${principalType} ${principalName} again while waiting`);
    }
    // Attaching grants whatever the policy holds now, which must still be what was reviewed.
    const policy = await orUndefinedIfNotFound(this.iam.getPolicy(policyArn));
    if (policy === undefined) return conflict('the policy no longer exists');
    if (policy.defaultVersionId !== original.versionId) {
      return conflict(
        `the policy's default version is now ${policy.defaultVersionId}, not the reviewed ${original.versionId}`,
      );
    }
    await this.iam.attachPolicy(principalType, principalName, policyArn);

    const after = await this.iam.listAttachedPolicyArns(principalType, principalName);
    const afterPolicy = await this.iam.getPolicy(policyArn);
    const inForce = await this.iam.getPolicyVersion(policyArn, afterPolicy.defaultVersionId);
    if (findArn(after, policyArn) === undefined || !documentsEqual(inForce.document, original.document)) {
      throw verificationFailed(
        `the policy is not attached to ${principalType} ${principalName} with the reviewed document`,
      );
    }
    return { outcome: 'RESTORED' };
  }

  private timestamp(): string {
    return this.now().toISOString();
  }
}

/** Resolves to `undefined` instead of failing when the target is gone. */
async function orUndefinedIfNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/**
 * The attached ARN matching `policyArn`, preferring an exact match. IAM policy names are case-insensitive,
 * so a differently cased ARN from CloudTrail must not make an attached policy look detached.
 */
function findArn(attached: readonly string[], policyArn: string): string | undefined {
  if (attached.includes(policyArn)) return policyArn;
  const lower = policyArn.toLowerCase();
  return attached.find((arn) => arn.toLowerCase() === lower);
}

function versionNumber(versionId: string): number {
  const match = /^v(\d+)/.exec(versionId);
  return match?.[1] === undefined ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}

/** The oldest non-default version other than the offending one, by creation time, then version number. */
function oldestDeletable(
  versions: readonly PolicyVersionInfo[],
  offendingVersionId: string,
): PolicyVersionInfo | undefined {
  const time = (v: PolicyVersionInfo): number => {
    const ms = v.createDate === undefined ? Number.NaN : Date.parse(v.createDate);
    return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
  };
  return versions
    .filter((v) => !v.isDefaultVersion && v.versionId !== offendingVersionId)
    .sort((a, b) => time(a) - time(b) || versionNumber(a.versionId) - versionNumber(b.versionId))[0];
}

function conflict(detail: string): RestoreResult {
  return { outcome: 'CONFLICT', detail };
}

function targetChanged(operation: string, detail: string): AwsOperationError {
  return new AwsOperationError(operation, 'TargetChanged', `${detail}; nothing was changed`);
}

function verificationFailed(detail: string): AwsOperationError {
  return new AwsOperationError('restore', 'RestoreVerificationFailed', detail);
}
