import { createHash } from 'node:crypto';
import type { ApprovalIndex } from '../adapters/approval-store';
import type { IamGateway, PolicyVersionInfo } from '../adapters/iam-gateway';
import {
  type ApprovalRecord,
  type DeletedVersion,
  type GrantSource,
  type GroupMembers,
  isQuarantineDocument,
  isRestored,
  looksLikeQuarantineDocument,
  type OriginalState,
  type PendingVersion,
  type PrincipalRef,
  type QuarantineState,
  quarantineDocument,
  type Reach,
  reachGroupMembers,
} from '../domain/approval';
import { sameDocument } from '../domain/document-equality';
import type { ChangeTarget, PolicyChange, PrincipalType } from '../domain/policy-change';
import {
  ApprovalStateError,
  AwsOperationError,
  EventNormalisationError,
  NotFoundError,
  TransientError,
} from '../errors';

/** IAM keeps at most this many versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;
/** How many principals and group members a record keeps by name; the digest covers all of them. */
const MAX_REACH_ENTRIES = 500;

/**
 * Whether the change is still in force, and if so what it put in force. `concerns` are reasons to treat
 * the change as risky whatever its documents grant (e.g. a policy held by an approval PolicyGate cannot
 * find, whose version under approval is therefore unknown).
 */
export type CaptureResult =
  | { inForce: true; original: OriginalState; concerns?: string[] }
  | { inForce: false; reason: string };

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

export interface QuarantineServiceOptions {
  /**
   * Approvals by what they govern. Without it, attachments are analysed against the policy's default
   * version only and a restore that finds new principals always reports CONFLICT.
   */
  readonly index?: ApprovalIndex;
  /**
   * Whether a document grants something restricted (or cannot be read). A group-membership restore
   * refuses when the group gained a risky grant since the review; without it every new grant counts.
   */
  readonly isRisky?: (document: string) => boolean;
  /**
   * Whether a restored approval found in the index may be relied on to cover a principal (its seals
   * verify). Without it no approval covers anything, so a widened grant always reports CONFLICT.
   */
  readonly trusts?: (record: ApprovalRecord) => Promise<boolean>;
  readonly now?: () => Date;
}

type ManagedOriginal = Extract<OriginalState, { kind: 'managed-policy' }>;
type InlineOriginal = Extract<OriginalState, { kind: 'inline-policy' }>;
type AttachmentOriginal = Extract<OriginalState, { kind: 'attachment' }>;
type MembershipOriginal = Extract<OriginalState, { kind: 'group-membership' }>;

/** The complete reach, before it is cut down for the record. */
interface FullReach {
  attachedTo: PrincipalRef[];
  groupMembers: Map<string, string[]>;
}

/**
 * Captures, quarantines and restores the target of a risky IAM change. Reads IAM's current state rather
 * than trusting CloudTrail's copy, never overwrites a change someone else made in between (it reports a
 * conflict instead), and may be re-run after a crash at any point. It logs nothing: documents are the
 * caller's to handle.
 */
export class QuarantineService {
  private readonly now: () => Date;

  constructor(
    private readonly iam: IamGateway,
    private readonly options: QuarantineServiceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

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
      case 'group-membership':
        return this.captureMembership(target.groupName, target.userName);
      case 'permissions-boundary':
      case 'trust-policy':
        // Reported, never contained: the workflow does not ask for their capture.
        throw new EventNormalisationError(`${change.eventName} is reported, not contained`);
    }
  }

  /** The names of PolicyGate's roles (`ownRoleNames`, any case) a managed policy is attached to now. */
  async ownRolesHolding(policyArn: string, ownRoleNames: readonly string[]): Promise<string[]> {
    if (ownRoleNames.length === 0) return [];
    const entities = (await orUndefinedIfNotFound(this.iam.listEntitiesForPolicy(policyArn))) ?? [];
    return entities
      .filter((e) => e.type === 'role' && ownRoleNames.some((own) => sameName(own, e.name)))
      .map((e) => e.name);
  }

  /**
   * What a reported change (a permissions boundary or a trust policy) put in force, read from IAM now: the
   * boundary policy's default document, or the role's trust policy. `facts` says what IAM shows, e.g. that
   * the boundary changed again since; `document` is absent when there is nothing to analyse.
   */
  async readReported(change: PolicyChange): Promise<{ document?: string; facts: string[] }> {
    const { target } = change;
    if (target.kind === 'trust-policy') {
      const document = await orUndefinedIfNotFound(this.iam.getRoleTrustPolicy(target.roleName));
      return document === undefined
        ? { facts: [`The role ${target.roleName} no longer exists.`] }
        : { document, facts: [] };
    }
    if (target.kind !== 'permissions-boundary') {
      throw new EventNormalisationError(`${change.eventName} is not a reported change`);
    }
    const current = await orUndefinedIfNotFound(
      this.iam.getPermissionsBoundary(target.principalType, target.principalName),
    );
    const facts: string[] = [];
    if (current === undefined) {
      facts.push(`The ${target.principalType} ${target.principalName} has no permissions boundary now.`);
      return { facts };
    }
    if (target.policyArn === undefined || current.toLowerCase() !== target.policyArn.toLowerCase()) {
      facts.push(`Its permissions boundary is now ${current}.`);
    }
    const policy = await orUndefinedIfNotFound(this.iam.getPolicy(current));
    if (policy === undefined) return { facts: [...facts, `The boundary policy ${current} does not exist.`] };
    const version = await this.iam.getPolicyVersion(current, policy.defaultVersionId);
    return { document: version.document, facts };
  }

  /**
   * Who the captured grant reaches beyond its own target (see {@link Reach}), read from IAM now: the
   * principals a managed policy is attached to and the members of those groups, or the members of the
   * group an inline policy or attachment is on. `undefined` where nobody else can hold the grant.
   */
  async captureReach(original: OriginalState): Promise<Reach | undefined> {
    let full: FullReach | undefined;
    try {
      full = await this.readReach(original);
    } catch (error) {
      // Retried by the workflow; anything else (access denied) is recorded, and makes the restore refuse.
      if (error instanceof TransientError) throw error;
      const reason =
        error instanceof AwsOperationError ? error.code : error instanceof Error ? error.name : 'error';
      return { attachedTo: [], groupMembers: [], digest: '', count: 0, unreadable: reason };
    }
    return full === undefined ? undefined : summariseReach(full);
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
      case 'group-membership':
        return this.quarantineMembership(original);
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
    reach?: Reach,
  ): Promise<RestoreResult> {
    // The grant must not reach anyone the review did not cover: checked before anything is written.
    const widened = await this.widening(approvalId, original, reach);
    if (widened !== undefined) return conflict(widened);
    switch (original.kind) {
      case 'managed-policy':
        return this.restoreManaged(approvalId, original, quarantine);
      case 'inline-policy':
        return this.restoreInline(approvalId, original);
      case 'attachment':
        return this.restoreAttachment(original);
      case 'group-membership':
        return this.restoreMembership(original);
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
    if (
      eventName === 'CreatePolicyVersion' &&
      change.setAsDefault === false &&
      change.versionId === undefined
    ) {
      return { inForce: false, reason: 'the new version was not made the default version' };
    }
    const policy = await orUndefinedIfNotFound(this.iam.getPolicy(policyArn));
    if (policy === undefined) return { inForce: false, reason: 'the policy no longer exists' };

    // Without a version id in the event, the version in force now is the one to examine: it is what the
    // change may have put there, and examining it can only make PolicyGate more careful.
    const offendingVersionId = change.versionId ?? policy.defaultVersionId;
    if (policy.defaultVersionId !== offendingVersionId) {
      return {
        inForce: false,
        reason:
          eventName === 'CreatePolicyVersion' && change.setAsDefault === false
            ? `the new version ${offendingVersionId} was not made the default version`
            : `${offendingVersionId} is no longer the default version (${policy.defaultVersionId} is)`,
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
    const { pending, concerns } = await this.pendingVersions(attachedArn, version.document);
    return {
      inForce: true,
      original: {
        kind: 'attachment',
        principalType,
        principalName,
        policyArn: attachedArn,
        versionId: version.versionId,
        document: version.document,
        ...(pending.length > 0 && { pendingVersions: pending }),
      },
      ...(concerns.length > 0 && { concerns }),
    };
  }

  private async captureMembership(groupName: string, userName: string): Promise<CaptureResult> {
    const groups = await orUndefinedIfNotFound(this.iam.listGroupsForUser(userName));
    if (groups === undefined) return { inForce: false, reason: `the user ${userName} no longer exists` };
    const group = findName(groups, groupName);
    if (group === undefined) {
      return { inForce: false, reason: `the user ${userName} is no longer in the group ${groupName}` };
    }
    const { grants, concerns } = await this.groupGrants(group);
    const shown = grants[0]?.document ?? JSON.stringify({ Version: '2012-10-17', Statement: [] });
    return {
      inForce: true,
      original: { kind: 'group-membership', groupName: group, userName, grants, document: shown },
      ...(concerns.length > 0 && { concerns }),
    };
  }

  /**
   * Versions of `policyArn` that pending approvals hold out of force: approving them puts them in force
   * wherever the policy is attached, so an attachment is analysed against them too. A default version that
   * is a quarantine document of an approval PolicyGate cannot find is a concern (the version under
   * approval is unknown), never a reason to relax.
   */
  private async pendingVersions(
    policyArn: string,
    defaultDocument: string,
  ): Promise<{ pending: PendingVersion[]; concerns: string[] }> {
    const pending: PendingVersion[] = [];
    const records = this.options.index ? await this.options.index.byPolicy(policyArn) : [];
    for (const record of records) {
      const { original } = record;
      if (original.kind !== 'managed-policy' || !holdsOutOfForce(record)) continue;
      if (original.policyArn.toLowerCase() !== policyArn.toLowerCase()) continue;
      const version = await orUndefinedIfNotFound(
        this.iam.getPolicyVersion(policyArn, original.offendingVersionId),
      );
      if (version === undefined) continue;
      pending.push({
        approvalId: record.approvalId,
        versionId: version.versionId,
        document: version.document,
      });
    }
    const concerns =
      pending.length === 0 && looksLikeQuarantineDocument(defaultDocument)
        ? [
            `${policyArn} holds a PolicyGate quarantine document, but no pending approval of it was found: the version under approval is unknown`,
          ]
        : [];
    return { pending, concerns };
  }

  /**
   * Everything a group grants its members: its inline policies, the default versions of its attached
   * policies, and the documents pending approvals hold out of force on the group (quarantined inline
   * policies and attachments, managed policies awaiting approval), which approving would add.
   */
  private async groupGrants(groupName: string): Promise<{ grants: GrantSource[]; concerns: string[] }> {
    const grants: GrantSource[] = [];
    const concerns: string[] = [];
    const held = this.options.index ? await this.options.index.byGroup(groupName) : [];
    const pendingOnGroup = held.filter((r) => holdsOutOfForce(r) && r.original.kind !== 'group-membership');
    for (const name of await this.iam.listInlinePolicyNames('group', groupName)) {
      const document = await this.iam.getInlinePolicy('group', groupName, name);
      if (document === undefined) continue;
      grants.push({ source: `inline:${name}`, document });
      const waiting = pendingOnGroup.filter(
        (r) => r.original.kind === 'inline-policy' && r.original.policyName === name,
      );
      for (const record of waiting) {
        grants.push({
          source: `inline:${name}`,
          document: record.original.document,
          pendingApprovalId: record.approvalId,
        });
      }
      if (waiting.length === 0 && looksLikeQuarantineDocument(document)) {
        concerns.push(
          `the group's inline policy ${name} holds a PolicyGate quarantine document, but no pending approval of it was found`,
        );
      }
    }
    const attached = await this.iam.listAttachedPolicyArns('group', groupName);
    for (const arn of attached) {
      const policy = await this.iam.getPolicy(arn);
      const version = await this.iam.getPolicyVersion(arn, policy.defaultVersionId);
      grants.push({ source: arn, versionId: version.versionId, document: version.document });
      const { pending, concerns: policyConcerns } = await this.pendingVersions(arn, version.document);
      for (const p of pending) {
        grants.push({
          source: arn,
          versionId: p.versionId,
          document: p.document,
          pendingApprovalId: p.approvalId,
        });
      }
      concerns.push(...policyConcerns);
    }
    // Attachments of the group that approvals hold detached: approving re-attaches them.
    for (const record of pendingOnGroup) {
      const { original } = record;
      if (original.kind !== 'attachment' || findArn(attached, original.policyArn) !== undefined) continue;
      grants.push({
        source: original.policyArn,
        versionId: original.versionId,
        document: original.document,
        pendingApprovalId: record.approvalId,
      });
    }
    return { grants, concerns };
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
    if (!sameDocument(current, original.document)) {
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

  private async quarantineMembership(original: MembershipOriginal): Promise<QuarantineState> {
    const { groupName, userName } = original;
    // NotFound: the user left the group (or is gone) in the meantime, which is the state we want.
    await orUndefinedIfNotFound(this.iam.removeUserFromGroup(groupName, userName));
    return { appliedAt: this.timestamp() };
  }

  // ---- reach ------------------------------------------------------------------------------------------

  private async readReach(original: OriginalState): Promise<FullReach | undefined> {
    let attachedTo: PrincipalRef[];
    let groups: string[];
    if (original.kind === 'managed-policy') {
      attachedTo = await this.iam.listEntitiesForPolicy(original.policyArn);
      groups = attachedTo.filter((p) => p.type === 'group').map((p) => p.name);
    } else if (
      (original.kind === 'inline-policy' || original.kind === 'attachment') &&
      original.principalType === 'group'
    ) {
      attachedTo = [];
      groups = [original.principalName];
    } else {
      return undefined;
    }
    const groupMembers = new Map<string, string[]>();
    for (const group of groups) {
      groupMembers.set(group, (await orUndefinedIfNotFound(this.iam.listGroupMembers(group))) ?? []);
    }
    return { attachedTo, groupMembers };
  }

  /**
   * Why restoring would widen the grant beyond what was reviewed, or `undefined`: every principal (or
   * group member) the grant reaches now and did not at quarantine time must be covered by an approval of
   * its own that reviewed this approval's document (an attachment or group membership analysed against
   * the version under approval, approved and restored). Fewer principals than before is fine.
   */
  private async widening(
    approvalId: string,
    original: OriginalState,
    recorded: Reach | undefined,
  ): Promise<string | undefined> {
    if (recorded === undefined) return undefined;
    if (recorded.unreadable !== undefined) {
      return `who the grant reached when it was quarantined could not be read (${recorded.unreadable}), so PolicyGate cannot tell whether it now reaches anyone nobody reviewed; nothing was restored`;
    }
    const now = await this.readReach(original);
    if (now === undefined) return undefined;
    const current = summariseReach(now);
    if (current.digest === recorded.digest) return undefined;
    const before = new Set(reachEntries(recorded).map((e) => e.key));
    const newcomers = reachEntries(now).filter((entry) => !before.has(entry.key));
    if (recorded.truncated) {
      return `the grant now reaches ${current.count} principals and group members, not the ${recorded.count} recorded at quarantine, and the record is too large to tell which are new; nothing was restored`;
    }
    if (newcomers.length === 0) return undefined;
    const uncovered: string[] = [];
    for (const entry of newcomers) {
      if (!(await this.covered(approvalId, original, entry))) uncovered.push(entry.label);
    }
    if (uncovered.length === 0) return undefined;
    const listed = uncovered.slice(0, 10).join(', ');
    const more = uncovered.length > 10 ? ` and ${uncovered.length - 10} more` : '';
    return `since the quarantine the grant also reaches ${listed}${more}, which no approval covers; nothing was restored`;
  }

  /** Whether a principal the grant newly reaches was reviewed against this approval's document. */
  private async covered(approvalId: string, original: OriginalState, entry: ReachEntry): Promise<boolean> {
    const index = this.options.index;
    if (index === undefined) return false;
    if (entry.kind === 'attached' && original.kind === 'managed-policy') {
      const covering = await this.coveringAttachment(approvalId, original.policyArn, entry.principal);
      return covering !== undefined;
    }
    if (entry.kind !== 'member') return false;
    for (const record of await index.byGroup(entry.group)) {
      const o = record.original;
      if (
        o.kind === 'group-membership' &&
        sameName(o.userName, entry.user) &&
        sameName(o.groupName, entry.group) &&
        o.grants.some((g) => g.pendingApprovalId === approvalId) &&
        (await this.trusted(record))
      ) {
        return true;
      }
    }
    // A member of a group that was itself newly attached, and reviewed with it.
    if (original.kind === 'managed-policy') {
      const attachment = await this.coveringAttachment(approvalId, original.policyArn, {
        type: 'group',
        name: entry.group,
      });
      const members = attachment?.reach
        ? (reachGroupMembers(attachment.reach).find((g) => sameName(g.group, entry.group))?.users ?? [])
        : [];
      if (members.some((m) => sameName(m, entry.user))) return true;
    }
    return false;
  }

  private async coveringAttachment(
    approvalId: string,
    policyArn: string,
    principal: PrincipalRef,
  ): Promise<ApprovalRecord | undefined> {
    for (const record of (await this.options.index?.byPolicy(policyArn)) ?? []) {
      const o = record.original;
      if (
        o.kind === 'attachment' &&
        o.principalType === principal.type &&
        sameName(o.principalName, principal.name) &&
        (o.pendingVersions ?? []).some((p) => p.approvalId === approvalId) &&
        (await this.trusted(record))
      ) {
        return record;
      }
    }
    return undefined;
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
      if (!sameDocument(offending.document, original.document)) {
        return conflict(`${offendingVersionId} no longer holds the document that was reviewed`);
      }
      await this.iam.setDefaultPolicyVersion(policyArn, offendingVersionId);
    }
    // Also reached when an earlier attempt set the default but stopped before removing the quarantine.
    await this.removeQuarantineVersion(policyArn, quarantineVersionId, approvalId);

    const after = await this.iam.getPolicy(policyArn);
    const inForce = await this.iam.getPolicyVersion(policyArn, after.defaultVersionId);
    if (after.defaultVersionId !== offendingVersionId || !sameDocument(inForce.document, original.document)) {
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
    if (current !== undefined && sameDocument(current, original.document)) return { outcome: 'RESTORED' };
    if (current === undefined) {
      return conflict(`the inline policy (or the ${principalType} ${principalName}) no longer exists`);
    }
    if (!isQuarantineDocument(current, approvalId)) {
      return conflict("the inline policy no longer holds PolicyGate's quarantine document");
    }
    await this.iam.putInlinePolicy(principalType, principalName, policyName, original.document);

    const after = await this.iam.getInlinePolicy(principalType, principalName, policyName);
    if (after === undefined || !sameDocument(after, original.document)) {
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
    // Attaching grants whatever the policy holds now, which must still be what was reviewed: the default
    // version of the time, or a version that was under approval then (and reviewed with this attachment).
    const reviewed = [
      { versionId: original.versionId, document: original.document },
      ...(original.pendingVersions ?? []),
    ];
    const policy = await orUndefinedIfNotFound(this.iam.getPolicy(policyArn));
    if (policy === undefined) return conflict('the policy no longer exists');
    const expected = reviewed.filter((v) => v.versionId === policy.defaultVersionId);
    if (expected.length === 0) {
      return conflict(
        `the policy's default version is now ${policy.defaultVersionId}, not the reviewed ${reviewed.map((v) => v.versionId).join(' or ')}`,
      );
    }
    const current = await this.iam.getPolicyVersion(policyArn, policy.defaultVersionId);
    if (!expected.some((v) => sameDocument(current.document, v.document))) {
      return conflict(`${policy.defaultVersionId} no longer holds the document that was reviewed`);
    }
    await this.iam.attachPolicy(principalType, principalName, policyArn);

    const after = await this.iam.listAttachedPolicyArns(principalType, principalName);
    const afterPolicy = await this.iam.getPolicy(policyArn);
    const inForce = await this.iam.getPolicyVersion(policyArn, afterPolicy.defaultVersionId);
    if (
      findArn(after, policyArn) === undefined ||
      !reviewed.some((v) => sameDocument(inForce.document, v.document))
    ) {
      throw verificationFailed(
        `the policy is not attached to ${principalType} ${principalName} with the reviewed document`,
      );
    }
    return { outcome: 'RESTORED' };
  }

  private async restoreMembership(original: MembershipOriginal): Promise<RestoreResult> {
    const { groupName, userName } = original;
    const groups = await orUndefinedIfNotFound(this.iam.listGroupsForUser(userName));
    if (groups === undefined) return conflict(`the user ${userName} no longer exists`);
    if (findName(groups, groupName) !== undefined) {
      return conflict(`the user ${userName} was added to the group ${groupName} again while waiting`);
    }
    const now = await orUndefinedIfNotFound(this.groupGrants(groupName));
    if (now === undefined) return conflict(`the group ${groupName} no longer exists`);
    // Adding the user back grants what the group holds now: every risky grant in it must have been reviewed.
    const isRisky = this.options.isRisky ?? (() => true);
    for (const grant of now.grants) {
      if (grant.pendingApprovalId !== undefined) continue;
      const reviewed = original.grants.some(
        (g) =>
          g.source.toLowerCase() === grant.source.toLowerCase() && sameDocument(g.document, grant.document),
      );
      if (!reviewed && isRisky(grant.document)) {
        return conflict(
          `the group ${groupName} now grants ${grant.source}, which was not part of the review`,
        );
      }
    }
    await this.iam.addUserToGroup(groupName, userName);
    const after = await this.iam.listGroupsForUser(userName);
    if (findName(after, groupName) === undefined) {
      throw verificationFailed(`the user ${userName} is not in the group ${groupName} after the restore`);
    }
    return { outcome: 'RESTORED' };
  }

  /** A restored approval whose seals verify: only that covers a principal nobody else reviewed. */
  private async trusted(record: ApprovalRecord): Promise<boolean> {
    return isRestored(record) && this.options.trusts !== undefined && (await this.options.trusts(record));
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

/** The listed name matching `name` without case (IAM names are case-insensitive), preferring an exact match. */
function findName(names: readonly string[], name: string): string | undefined {
  if (names.includes(name)) return name;
  return names.find((n) => sameName(n, name));
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Whether an approval holds something out of force that approving it would put back: it is PENDING, or
 * APPROVED and not restored yet.
 */
function holdsOutOfForce(record: ApprovalRecord): boolean {
  return (
    record.status === 'PENDING' ||
    record.status === 'RESTORING' ||
    (record.status === 'APPROVED' && record.outcome === undefined)
  );
}

type ReachEntry =
  | { kind: 'attached'; key: string; label: string; principal: PrincipalRef }
  | { kind: 'member'; key: string; label: string; group: string; user: string };

function reachEntries(reach: FullReach | Reach): ReachEntry[] {
  const members: [string, readonly string[]][] =
    reach.groupMembers instanceof Map
      ? [...reach.groupMembers.entries()]
      : reachGroupMembers({ groupMembers: reach.groupMembers }).map(({ group, users }) => [group, users]);
  return [
    ...reach.attachedTo.map(
      (principal): ReachEntry => ({
        kind: 'attached',
        key: `${principal.type}:${principal.name.toLowerCase()}`,
        label: `${principal.type} ${principal.name}`,
        principal,
      }),
    ),
    ...members.flatMap(([group, users]) =>
      users.map(
        (user): ReachEntry => ({
          kind: 'member',
          key: `member:${group.toLowerCase()}:${user.toLowerCase()}`,
          label: `user ${user} (through the group ${group})`,
          group,
          user,
        }),
      ),
    ),
  ];
}

/** The record's form of a reach: names up to {@link MAX_REACH_ENTRIES}, and a digest of all of it. */
function summariseReach(full: FullReach): Reach {
  const entries = reachEntries(full);
  const digest = createHash('sha256')
    .update(
      entries
        .map((e) => e.key)
        .sort()
        .join('\n'),
    )
    .digest('hex');
  const truncated = entries.length > MAX_REACH_ENTRIES;
  let room = MAX_REACH_ENTRIES;
  const attachedTo = full.attachedTo.slice(0, room);
  room -= attachedTo.length;
  const groupMembers: GroupMembers[] = [];
  for (const [group, users] of full.groupMembers) {
    const kept = users.slice(0, Math.max(0, room));
    groupMembers.push({ group, users: kept });
    room -= kept.length;
  }
  return { attachedTo, groupMembers, digest, count: entries.length, ...(truncated && { truncated }) };
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
