import { createHash } from 'node:crypto';
import type { AlarmMetrics } from '../adapters/alarm-metrics';
import type { ApprovalStore } from '../adapters/approval-store';
import type { Notifier } from '../adapters/notifier';
import type { Finding } from '../domain/analyse-policy';
import {
  type ApprovalRecord,
  approvalsRequired,
  type DecisionOutput,
  isRestored,
  type OriginalState,
  type QuarantineState,
  type Reach,
  storedFindings,
  totalFindings,
} from '../domain/approval';
import {
  type Attribution,
  type AttributionSettings,
  approvalsNeededFor,
  attributeDirectly,
  attributeFromEvent,
  NO_ATTRIBUTION_SETTINGS,
} from '../domain/attribution';
import { analyseDocuments, type SourcedDocument } from '../domain/change-analysis';
import { eventIdentifiers, normaliseEvent } from '../domain/cloudtrail';
import { eventAccount } from '../domain/event-account';
import {
  approvalRequestedMessage,
  changeLines,
  describeActor,
  describeTarget,
  outcomeMessage,
} from '../domain/messages';
import { boundedNotice, type Notice, noticeFindings, noticeText } from '../domain/notices';
import { isDeployer, ownRoleTargeted, roleNameOfArn } from '../domain/own-roles';
import { type OwnWrite, ownWriteFor } from '../domain/own-writes';
import { isRemovalEventName, isReportedEventName, type PolicyChange } from '../domain/policy-change';
import { criticalActionsOf, type RestrictedActionSet } from '../domain/restricted-actions';
import { canonicalJson } from '../domain/seal';
import { summariseTrustPolicy } from '../domain/trust-policy';
import {
  ApprovalStateError,
  EventNormalisationError,
  PolicyGateError,
  SealError,
  SlackApiError,
} from '../errors';
import type { Logger } from '../logger';
import type { AccountContext, AccountRouting } from './account-routing';
import type { ApprovalChannel } from './approval-channel';
import type { AttributionService } from './attribution-service';
import { type DecisionLinks, type EmailLinkSettings, emailLinksFor } from './decision-links';
import type { QuarantineService } from './quarantine-service';
import type { RecordSeals, SealRequirements } from './record-seals';
import { SlackRequestDelivery } from './slack-delivery';
import { repostDeleted } from './slack-recovery';
import { withTimeout } from './with-timeout';

/** Verdicts that only notify: nothing is quarantined, nobody is asked to decide. */
export type NoticeVerdict = 'harmless' | 'not-in-force' | 'self-protection' | 'reported';

/** What the first step hands the state machine; `verdict` drives its routing. */
export type AnalysisResult =
  | { verdict: 'ignored'; reason: string; eventId?: string }
  | {
      verdict: NoticeVerdict;
      eventId: string;
      eventName: string;
      target: string;
      reason: string;
      /** What NotifyChange tells the team (e-mail, and Slack for self-protection and reported changes). */
      notice: Notice;
      /**
       * `not-in-force` on the first look only: the state machine waits `afterSeconds` and runs the analysis
       * again on `event`, since IAM is eventually consistent and a single read may miss a change in force.
       */
      recheck?: { event: unknown; afterSeconds: number };
    }
  | {
      verdict: 'quarantined';
      approvalId: string;
      /** Seconds left until the deadline: the approval task's TimeoutSecondsPath. */
      timeoutSeconds: number;
      deadline: string;
      eventName: string;
      target: string;
      restrictedActions: number;
    };

export interface WorkflowSettings {
  readonly approvalTimeoutSeconds: number;
  readonly retentionDays: number;
  /** PolicyGate's own roles: their calls are its own, and changes to them are never quarantined. */
  readonly ownRoleArns: readonly string[];
  /** The stack's deployer role: its changes to PolicyGate's roles are a notice, not a critical alert. */
  readonly deployerRoleArn?: string;
  /** How long to wait before looking again at a change IAM showed as not in force; 0 = never. */
  readonly recheckDelaySeconds?: number;
  /** The operator's service-identity and person-session role declarations (from the identity map). */
  readonly attribution?: AttributionSettings;
}

export interface WorkflowDependencies {
  readonly store: ApprovalStore;
  readonly quarantine: QuarantineService;
  readonly notifier: Notifier;
  readonly restricted: RestrictedActionSet;
  readonly settings: WorkflowSettings;
  readonly logger: Logger;
  /** Slack; absent when the stage has no channel configured (the e-mail then is the only notice). */
  readonly channel?: ApprovalChannel;
  /** The metrics the critical-alert alarm watches; absent in tests that do not look. */
  readonly metrics?: AlarmMetrics;
  /** How long the request step waits for Slack before it gives up and relies on the e-mail. */
  readonly channelTimeoutMs?: number;
  /** Makes and checks the records' seals; nothing is restored or trusted as PolicyGate's own unsealed. */
  readonly seals: RecordSeals;
  /** Signs the e-mail's decision links (the request-approval function only); absent = no links. */
  readonly emailLinks?: { readonly links: DecisionLinks; readonly settings: EmailLinkSettings };
  /**
   * Follows an assumed-role session back through CloudTrail to the person behind it, once the change is
   * contained; absent = the change's own event is all there is to go on.
   */
  readonly attributor?: AttributionService;
  readonly now?: () => Date;
  /**
   * Which account an event acts in, and the IAM client, own roles and settings there (`account-routing.ts`).
   * Absent (tests of single steps) = the event's account is not checked and `quarantine` acts everywhere.
   */
  readonly accounts?: AccountRouting;
}

/** The account an admitted event acts in, PolicyGate's own roles there, and the settings that apply. */
interface EventScope {
  readonly accountId?: string;
  readonly ownRoleArns: readonly string[];
  readonly ownRoleNames: readonly string[];
  readonly context?: AccountContext;
}

/** How long the request step waits out Slack's rate limit before leaving the post to the delivery worker. */
const REQUEST_RATE_LIMIT_WAIT_MS = 3_000;

/** The error a workflow step reports to `HandleFailure` (Step Functions' `$.error`). */
export interface StepError {
  readonly Error?: string;
  readonly Cause?: string;
}

/** The documents a captured change put (or, once approved, would put) in force. */
function documentsOf(original: OriginalState): SourcedDocument[] {
  switch (original.kind) {
    case 'managed-policy':
    case 'inline-policy':
      return [{ document: original.document }];
    case 'attachment':
      return [
        { source: `${original.policyArn} ${original.versionId}`, document: original.document },
        ...(original.pendingVersions ?? []).map((p) => ({
          source: `${original.policyArn} ${p.versionId} (under approval ${p.approvalId})`,
          document: p.document,
        })),
      ];
    case 'group-membership':
      return original.grants.map((g) => ({
        source: `${g.source}${g.versionId ? ` ${g.versionId}` : ''}${g.pendingApprovalId ? ` (under approval ${g.pendingApprovalId})` : ''}`,
        document: g.document,
      }));
  }
}

/**
 * The approval workflow's steps, one method per Task state of `stepfunctions/approval-workflow.asl.json`.
 * Every step is safe to retry: records are created and moved with conditional writes, and the
 * quarantine and restore check IAM's state before they act.
 */
export class ApprovalWorkflow {
  private readonly now: () => Date;
  private readonly ownRoleNames: readonly string[];
  private readonly delivery: SlackRequestDelivery | undefined;

  constructor(private readonly deps: WorkflowDependencies) {
    this.now = deps.now ?? (() => new Date());
    this.ownRoleNames = deps.settings.ownRoleArns.flatMap((arn) => roleNameOfArn(arn) ?? []);
    this.delivery =
      deps.channel &&
      new SlackRequestDelivery({
        store: deps.store,
        channel: deps.channel,
        logger: deps.logger,
        ...(deps.now && { now: deps.now }),
      });
  }

  /**
   * First step: normalise the event, read what the change put in force, analyse it, and for a risky
   * change write the approval record and quarantine at once, in this one invocation. A change to one of
   * PolicyGate's own roles is never quarantined but raised as a critical alert; boundary and trust-policy
   * changes are reported. `attempt` 2 is the state machine's re-check of a "not in force" verdict.
   *
   * @throws EventNormalisationError when the event does not say what it changed (HandleFailure then alerts
   *   that the change is NOT contained, with the identifiers the event carried).
   */
  async analyse(event: unknown, executionId: string, attempt = 1): Promise<AnalysisResult> {
    const { store, settings, logger } = this.deps;
    let { quarantine } = this.deps;
    // PolicyGate's own roles in the account the event names (checked below, before anything is read).
    const normalised = normaliseEvent(event, { ownRoleArns: this.ownRoleArnsOf(event) });
    if (normalised.kind === 'ignored') {
      logger.info('event ignored', {
        reason: normalised.reason,
        detail: normalised.detail,
        eventId: normalised.eventId,
      });
      return {
        verdict: 'ignored',
        reason: normalised.detail,
        ...(normalised.eventId && { eventId: normalised.eventId }),
      };
    }
    const { change } = normalised;
    const target = describeTarget(change.target);
    const scope = await this.scopeOf(event);
    if ('refused' in scope) return scope.refused;
    const restricted = scope.context?.restricted ?? this.deps.restricted;

    const ownRole = ownRoleTargeted(change.target, scope.ownRoleNames);
    if (ownRole !== undefined) return this.selfProtection(change, ownRole);
    // What PolicyGate's roles do is its own only when an approval expects exactly that write.
    const extraConcerns: string[] = [];
    if (change.madeByOwnRole !== undefined) {
      const own = await this.recogniseOwnWrite(change);
      if (own !== undefined) {
        logger.info('own write recognised', {
          eventId: change.eventId,
          approvalId: own.approvalId,
          write: own.write,
        });
        return {
          verdict: 'ignored',
          reason: `${change.eventName} on ${target} is PolicyGate's own ${own.write} of approval ${own.approvalId}`,
          eventId: change.eventId,
        };
      }
      this.deps.metrics?.count('SelfProtectionAlerts');
      logger.error('write by a PolicyGate role that no approval expects', {
        eventId: change.eventId,
        eventName: change.eventName,
        role: change.madeByOwnRole,
      });
      if (isReportedEventName(change.eventName) || isRemovalEventName(change.eventName)) {
        return this.unexpectedOwnWrite(change);
      }
      extraConcerns.push(
        `made by PolicyGate's own role ${change.madeByOwnRole}, but no approval expects this write: the role's code or configuration may be compromised`,
      );
    }
    if (isReportedEventName(change.eventName)) return this.report(change, restricted);
    if (isRemovalEventName(change.eventName)) {
      return {
        verdict: 'ignored',
        reason: `${change.eventName} only removes permissions from ${target}, which is not one of PolicyGate's roles`,
        eventId: change.eventId,
      };
    }

    let approvalId = change.eventId;
    // A retry of this step (or a duplicate delivery) finds the record first: after a quarantine, IAM no
    // longer shows the change in force, so capturing again would misread it as gone.
    let current = await store.get(approvalId);
    if (current && current.executionId !== executionId) {
      if (sameEvent(current.change, change)) {
        // EventBridge delivers at least once: the other execution owns this change.
        logger.warn('duplicate event ignored', { eventId: change.eventId, owner: current.executionId });
        return {
          verdict: 'ignored',
          reason: `duplicate delivery of ${change.eventId}, handled by ${current.executionId}`,
          eventId: change.eventId,
        };
      }
      // Same event id, different content: one of the two was forged (anyone with states:StartExecution
      // can start this workflow). Neither may hide the other, so this one is contained under its own id.
      this.deps.metrics?.count('SelfProtectionAlerts');
      logger.error('event id reused with different content', {
        eventId: change.eventId,
        owner: current.executionId,
      });
      extraConcerns.push(
        `another workflow (${current.executionId}, approval ${current.approvalId}) already holds event id ${change.eventId} with different content: one of the two events is forged, so both are contained`,
      );
      approvalId = derivedApprovalId(change.eventId, executionId);
      await this.freezeDisputed(current, approvalId);
      current = await store.get(approvalId);
    }
    if (current && current.status !== 'PENDING') {
      throw new ApprovalStateError(`approval ${approvalId} is already ${current.status}`);
    }
    quarantine = await this.quarantineFor(change.accountId, approvalId);
    if (!current) {
      const captured = await quarantine.captureOriginal(change);
      if (!captured.inForce) return this.notInForce(change, captured.reason, event, attempt);
      const { original } = captured;
      const analysis = analyseDocuments(documentsOf(original), restricted);
      const concerns = [...extraConcerns, ...(captured.concerns ?? [])];
      const problems = change.problems ?? [];
      const risky =
        analysis.findings.length > 0 ||
        analysis.error !== undefined ||
        concerns.length > 0 ||
        problems.length > 0;
      if (!risky) {
        // A managed policy attached to one of PolicyGate's roles: a harmless-looking version (a Deny) can
        // disable the gate, so it is raised as critical rather than only noted.
        const holders =
          original.kind === 'managed-policy'
            ? await quarantine.ownRolesHolding(original.policyArn, scope.ownRoleNames)
            : [];
        if (holders.length > 0 && original.kind === 'managed-policy') {
          return this.selfProtection(change, holders.join(', '), original.policyArn);
        }
        logger.info('change is harmless', { eventId: change.eventId });
        return this.notice(change, 'harmless', 'grants no restricted action', {
          severity: 'info',
          title: `${change.eventName} checked: it grants no restricted action`,
          lines: [
            `Checked ${change.eventName} on ${target}: it grants no restricted action.`,
            '',
            ...changeLines(change),
          ],
        });
      }
      // The record goes in before anything is touched, so nothing is lost if this execution dies.
      const now = this.now();
      const timeoutSeconds = scope.context?.approvalTimeoutSeconds ?? settings.approvalTimeoutSeconds;
      const deadline = new Date(now.getTime() + timeoutSeconds * 1000);
      // From the event alone, conservatively: a session still to be followed counts as unattributed (two
      // approvers) until the trail says otherwise, after the quarantine.
      const attribution = attributeFromEvent(change.actor, settings.attribution ?? NO_ATTRIBUTION_SETTINGS);
      const criticalActions = criticalActionsOf(
        analysis.findings.map((f) => f.action),
        restricted,
      );
      const record: ApprovalRecord = {
        approvalId,
        status: 'PENDING',
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        deadline: deadline.toISOString(),
        ttl: Math.floor(deadline.getTime() / 1000) + settings.retentionDays * 86_400,
        executionId,
        change,
        ...storedFindingsOf(analysis.findings),
        ...(analysis.error !== undefined && { analysisError: analysis.error }),
        ...(concerns.length > 0 && { concerns }),
        original,
        attribution,
        ...(criticalActions.length > 0 && { criticalActions }),
        requiredApprovals: approvalsRequired({ attribution, criticalActions }),
        ...accountFields(scope.context),
      };
      const sealed: ApprovalRecord = { ...record, recordSeal: await this.deps.seals.sealRecord(record) };
      const created = await store.create(sealed);
      if (!created.created) {
        // Lost a race with a concurrent delivery of the same event: let the winner own it.
        return {
          verdict: 'ignored',
          reason: `duplicate delivery of ${change.eventId}, handled by ${created.existing.executionId}`,
          eventId: change.eventId,
        };
      }
      current = sealed;
    } else {
      // A retry acts on the record as stored: it must still be the one this step sealed, and what an
      // earlier attempt recorded about the quarantine counts only under its seal.
      await this.requireSeals(current, { quarantine: current.quarantineSeal !== undefined });
      if (current.quarantineSeal === undefined) current = { ...current, reach: undefined };
    }
    const state = await quarantine.quarantine(approvalId, current.original, {
      beforeDeleteVersion: (version) => store.addDeletedVersion(approvalId, version),
    });
    // Only once the change is contained: who its grant reaches (so a restore can tell whether anyone was
    // added while it waited), and whether it reaches PolicyGate's own roles.
    const reach = current.reach ?? (await quarantine.captureReach(current.original));
    const concerns = this.ownRoleConcerns(current, reach, scope.ownRoleNames);
    const attribution = await this.attributeContained(current);
    const contained = await store.setQuarantine(approvalId, state, {
      ...(reach && { reach }),
      ...(concerns && { concerns }),
      ...(attribution && {
        attribution,
        requiredApprovals: approvalsRequired({
          attribution,
          ...(current.criticalActions && { criticalActions: current.criticalActions }),
        }),
      }),
    });
    await store.setQuarantineSeal(approvalId, await this.deps.seals.sealQuarantine(contained));
    logger.info('change quarantined', {
      approvalId,
      eventId: change.eventId,
      restrictedActions: totalFindings(current),
    });
    const remaining = Math.ceil((new Date(current.deadline).getTime() - this.now().getTime()) / 1000);
    return {
      verdict: 'quarantined',
      approvalId,
      timeoutSeconds: Math.max(1, remaining),
      deadline: current.deadline,
      eventName: change.eventName,
      target,
      restrictedActions: totalFindings(current),
    };
  }

  /**
   * The approval whose expected write `change` is (see `domain/own-writes.ts`), or `undefined`. Candidates
   * come from the index by the change's target; a restore write counts only on a record whose seals
   * (record, quarantine and decision) verify, so a record edited in the table cannot cover a write.
   */
  private async recogniseOwnWrite(
    change: PolicyChange,
  ): Promise<{ approvalId: string; write: OwnWrite } | undefined> {
    const { store } = this.deps;
    const { target } = change;
    let candidates: ApprovalRecord[];
    switch (target.kind) {
      case 'managed-policy':
        candidates = await store.byPolicy(target.policyArn);
        break;
      case 'inline-policy':
      case 'attachment':
        candidates = await store.byPrincipal(target.principalType, target.principalName);
        break;
      case 'group-membership':
        candidates = await store.byPrincipal('user', target.userName);
        break;
      case 'permissions-boundary':
      case 'trust-policy':
        return undefined;
    }
    // Names repeat across accounts: only an approval of the same account can expect this write.
    const sameAccount = candidates.filter((record) => record.change.accountId === change.accountId);
    for (const record of sameAccount.slice(0, MAX_OWN_WRITE_CANDIDATES)) {
      const write = ownWriteFor(change, record);
      if (write === undefined) continue;
      if (write === 'restore') {
        const check = await this.deps.seals.check(record, { quarantine: true, decision: true });
        if (!check.ok) {
          this.deps.logger.error('restore write on a record whose seals do not verify', {
            eventId: change.eventId,
            approvalId: record.approvalId,
            problem: check.problem,
          });
          continue;
        }
      }
      return { approvalId: record.approvalId, write };
    }
    return undefined;
  }

  /**
   * A removal, boundary or trust-policy change by a PolicyGate role that no approval expects: nothing to
   * contain (a removal) or nothing PolicyGate contains (reported changes), but never silent.
   */
  private unexpectedOwnWrite(change: PolicyChange): AnalysisResult {
    const target = describeTarget(change.target);
    const role = change.madeByOwnRole ?? 'unknown';
    return this.notice(change, 'self-protection', `made by PolicyGate's own role ${role}, unexpected`, {
      severity: 'critical',
      title: `${change.eventName} on ${target} by PolicyGate's own role, which no approval expects`,
      lines: [
        `PolicyGate's own role ${role} made ${change.eventName} on ${target}, and no approval expects that write.`,
        "PolicyGate's roles only quarantine and restore what an approval records: the role's code or configuration may be compromised.",
        'Check the role, its functions and their recent changes now.',
        '',
        ...changeLines(change),
      ],
    });
  }

  /**
   * The approval an event with a reused id disputes: PolicyGate cannot tell which of the two events is
   * real, so neither may be approved. A PENDING one is failed (its change stays quarantined and can no
   * longer be decided), and the delivery worker says so in its Slack thread; the team sorts it out by hand.
   */
  private async freezeDisputed(disputed: ApprovalRecord, otherApprovalId: string): Promise<void> {
    if (disputed.status !== 'PENDING') return;
    const moved = await this.deps.store.transition(
      disputed.approvalId,
      'FAILED',
      {
        failure: {
          error: 'PolicyGate.EventIdReused',
          cause: `another event with the same id (${disputed.change.eventId}) and different content arrived (approval ${otherApprovalId}): one of the two is forged, so neither can be approved`,
          at: this.now().toISOString(),
        },
      },
      { from: ['PENDING'] },
    );
    if (!moved.ok) return;
    // AnalyseChange holds no bot token: the delivery worker, which does, says it in the thread (and posts
    // the request first if Slack never showed it). The record and the refused clicks do not wait for it.
    try {
      await this.deps.store.queueSlackNote(disputed.approvalId, { kind: 'event-id-reused', otherApprovalId });
    } catch (error) {
      this.deps.logger.warn('frozen request not put on the Slack note list', {
        approvalId: disputed.approvalId,
        error,
      });
    }
  }

  /** Throws SealError (and counts a critical alert) unless the record's seals verify as `require` asks. */
  private async requireSeals(record: ApprovalRecord, require: SealRequirements): Promise<void> {
    const check = await this.deps.seals.check(record, require);
    if (check.ok) return;
    this.deps.metrics?.count('SelfProtectionAlerts');
    this.deps.logger.error('approval record seal check failed', {
      approvalId: record.approvalId,
      problem: check.problem,
    });
    throw new SealError(
      `approval ${record.approvalId} was changed outside PolicyGate (${check.problem}): nothing is restored and the change stays quarantined`,
    );
  }

  /**
   * Once the change is contained (the search takes seconds and must not delay the quarantine), follows an
   * assumed-role session the event alone could not attribute through CloudTrail to the person behind it.
   * `undefined` when there is nothing to add to the record's attribution.
   */
  private async attributeContained(record: ApprovalRecord): Promise<Attribution | undefined> {
    const { attributor, settings, logger } = this.deps;
    if (!attributor) return undefined;
    const direct = attributeDirectly(record.change.actor, settings.attribution ?? NO_ATTRIBUTION_SETTINGS);
    const sourceIdentity = direct.kind === 'person' && direct.attribution.method === 'source-identity';
    if (direct.kind !== 'follow' && !(sourceIdentity && record.change.actor.accessKeyId)) return undefined;
    const attribution = await attributor.attribute(record.change);
    logger.info('change attributed', {
      approvalId: record.approvalId,
      method: attribution.method,
      approvalsNeeded: approvalsNeededFor(attribution),
    });
    return attribution;
  }

  /**
   * A contained managed policy that is attached to one of PolicyGate's roles: PolicyGate's roles hold only
   * inline policies, so quarantining it cannot hurt PolicyGate, but someone attached it there; raised as
   * critical (the alarm's metric) and said in the request. The record's concerns with it, or `undefined`.
   */
  private ownRoleConcerns(
    record: ApprovalRecord,
    reach: Reach | undefined,
    ownRoleNames: readonly string[] = this.ownRoleNames,
  ): string[] | undefined {
    const holders = (reach?.attachedTo ?? [])
      .filter(
        (p) => p.type === 'role' && ownRoleNames.some((own) => own.toLowerCase() === p.name.toLowerCase()),
      )
      .map((p) => p.name);
    if (holders.length === 0 || record.original.kind !== 'managed-policy') return undefined;
    const concern = `the policy is attached to PolicyGate's own role ${holders.join(', ')}: find out who attached it`;
    if (record.concerns?.includes(concern)) return undefined;
    this.deps.metrics?.count('SelfProtectionAlerts');
    return [...(record.concerns ?? []), concern];
  }

  private notice(
    change: PolicyChange,
    verdict: NoticeVerdict,
    reason: string,
    notice: Notice,
  ): Extract<AnalysisResult, { notice: Notice }> {
    return {
      verdict,
      eventId: change.eventId,
      eventName: change.eventName,
      target: describeTarget(change.target),
      reason,
      notice: boundedNotice(notice),
    };
  }

  /** Not in force now: look again after a delay (first attempt), else report what the event carried. */
  private notInForce(change: PolicyChange, reason: string, event: unknown, attempt: number): AnalysisResult {
    const delay = this.deps.settings.recheckDelaySeconds ?? 0;
    const findings: Finding[] = change.document
      ? analyseDocuments([{ document: change.document }], this.deps.restricted).findings
      : [];
    this.deps.logger.info('change not in force', { eventId: change.eventId, reason, attempt });
    const target = describeTarget(change.target);
    const result = this.notice(change, 'not-in-force', reason, {
      severity: findings.length > 0 ? 'warning' : 'info',
      title: `${change.eventName} not in force: nothing quarantined`,
      lines: [
        `${change.eventName} on ${target} is no longer in force (${reason}); nothing was quarantined.`,
        ...(attempt > 1
          ? ['PolicyGate looked again after a delay (IAM is eventually consistent) and found the same.']
          : []),
        ...(findings.length > 0 ? ['The document the event carried grants restricted actions (below).'] : []),
        '',
        ...changeLines(change),
      ],
      ...noticeFindings(findings),
    });
    return attempt === 1 && delay > 0 ? { ...result, recheck: { event, afterSeconds: delay } } : result;
  }

  /**
   * A change to one of PolicyGate's own roles: never quarantined (that would disable the gate, or be
   * undone by the next deploy) but always a critical alert naming the actor, unless the stack's deployer
   * made it, which is the stack's own update and only a notice.
   */
  private selfProtection(change: PolicyChange, role: string, throughPolicy?: string): AnalysisResult {
    const deployer = isDeployer(change.actor, this.deps.settings.deployerRoleArn);
    const kind = change.target.kind === 'trust-policy' ? 'trust' : 'identity';
    const findings = change.document
      ? analyseDocuments([{ document: change.document }], this.deps.restricted, { kind }).findings
      : [];
    const actor = describeActor(change);
    this.deps.logger.warn('change to a PolicyGate role', { eventId: change.eventId, role, deployer });
    const lines = deployer
      ? [
          `${change.eventName} on PolicyGate's own role ${role} was made by the stack's deployer role: this is a PolicyGate deploy.`,
          'Nothing to do, unless nobody deployed PolicyGate just now.',
        ]
      : [
          throughPolicy
            ? `${actor} made ${change.eventName} on ${throughPolicy}, which is attached to PolicyGate's own role ${role}.`
            : `${actor} made ${change.eventName} on PolicyGate's own role ${role}.`,
          'PolicyGate never quarantines its own roles (that would disable the gate), so this change is in force NOW.',
          'A Deny or a removed permission there can make every later quarantine fail; a grant there is a way around the gate.',
          'Check it now: unless it was a PolicyGate deploy, revert it and investigate the actor.',
        ];
    return this.notice(change, 'self-protection', `targets PolicyGate's own role ${role}`, {
      severity: deployer ? 'info' : 'critical',
      title: deployer
        ? `PolicyGate deploy changed its role ${role}`
        : `${change.eventName} on PolicyGate's own role ${role} by ${actor}`,
      lines: [...lines, '', ...changeLines(change)],
      ...noticeFindings(findings),
    });
  }

  /**
   * A permissions boundary or trust policy changed: reported with the new document's findings, never
   * contained. What is in force is read from IAM, not taken from the event.
   */
  private async report(
    change: PolicyChange,
    restricted: RestrictedActionSet = this.deps.restricted,
  ): Promise<AnalysisResult> {
    const { target } = change;
    const read = await (await this.quarantineFor(change.accountId, change.eventId)).readReported(change);
    const kind = target.kind === 'trust-policy' ? 'trust' : 'identity';
    const analysis = read.document
      ? analyseDocuments([{ document: read.document }], restricted, { kind })
      : undefined;
    const findings = analysis?.findings ?? [];
    const lines: string[] = [];
    let risky = findings.length > 0 || analysis?.error !== undefined;
    if (target.kind === 'trust-policy') {
      lines.push(`The trust policy of role ${target.roleName} changed. Who may assume the role now:`);
      if (read.document) {
        const summary = summariseTrustPolicy(read.document);
        lines.push(...summary.lines.map((line) => `  ${line}`));
        if (!summary.readable) risky = true;
        if (summary.open) {
          risky = true;
          lines.push('ANYONE may assume this role without a condition.');
        }
      }
    } else if (target.kind === 'permissions-boundary') {
      const who = `${target.principalType} ${target.principalName}`;
      if (change.eventName.startsWith('Delete')) {
        risky = true;
        lines.push(
          `The permissions boundary of ${who} was removed: it may now use everything its policies grant.`,
        );
      } else if (target.policyArn === undefined) {
        lines.push(
          `The permissions boundary of ${who} was set; the event does not say to which policy (IAM is read below).`,
        );
      } else {
        lines.push(
          `The permissions boundary of ${who} is now ${target.policyArn}. A boundary caps what the principal may do; the restricted actions it permits are listed below.`,
        );
      }
    }
    lines.push(...read.facts);
    if (analysis?.error) lines.push(`The document could not be analysed: ${analysis.error}`);
    lines.push(
      'Reported, not contained: PolicyGate does not quarantine boundaries or trust policies.',
      '',
      ...changeLines(change),
    );
    this.deps.logger.info('change reported', { eventId: change.eventId, risky });
    return this.notice(change, 'reported', 'reported, not contained', {
      severity: risky ? 'warning' : 'info',
      title: `${change.eventName}: ${describeTarget(target)}`,
      lines,
      ...noticeFindings(findings),
    });
  }

  /**
   * The notify-only path: harmless, not in force, reported, or a change to PolicyGate's own roles. The
   * e-mail always goes out; reported changes and changes to PolicyGate's roles are also posted to Slack,
   * and a critical one counts on the metric the stack's alarm watches. Slack failing never fails the step.
   */
  async notify(analysis: AnalysisResult): Promise<void> {
    if (analysis.verdict === 'ignored' || analysis.verdict === 'quarantined') {
      throw new ApprovalStateError(`notify step got a ${analysis.verdict} verdict`);
    }
    const { notifier, channel, metrics, logger } = this.deps;
    const notice = boundedNotice(analysis.notice);
    if (notice.severity === 'critical') metrics?.count('SelfProtectionAlerts');
    await notifier.notify({
      ...noticeText(notice),
      severity: notice.severity === 'critical' ? 'alert' : notice.severity,
    });
    if (channel && (analysis.verdict === 'self-protection' || analysis.verdict === 'reported')) {
      try {
        await withTimeout(
          channel.postNotice(notice),
          this.deps.channelTimeoutMs ?? 20_000,
          'Slack did not answer in time',
        );
      } catch (error) {
        logger.warn('notice not posted to Slack', { eventId: analysis.eventId, error });
      }
    }
  }

  /**
   * The waitForTaskToken step: keep the token server-side and ask the humans, in Slack and by e-mail.
   * Slack being down never fails this step: the e-mail says so and the workflow keeps waiting (the
   * change stays quarantined), so no request is lost. A retried step does not post a second message.
   *
   * The request goes on the Slack outbox (the backlog) before the one attempt to post it, so a step that
   * dies mid-post loses nothing; under a burst Slack's per-channel limit refuses most attempts (429), and
   * the delivery worker (the Slack recovery) posts them paced, until their deadline.
   */
  async requestApproval(approvalId: string, taskToken: string): Promise<void> {
    const { store, channel, notifier, logger } = this.deps;
    let record = await store.setTaskToken(approvalId, taskToken);
    let slackProblem: string | undefined;
    if (!channel || !this.delivery) {
      slackProblem = 'no Slack channel is configured for this stage';
    } else if (!record.slackMessage) {
      // Not caught: a request that neither reached Slack nor the outbox would never be posted, so the
      // step retries.
      await store.markUnposted(approvalId, this.now().toISOString(), 'queued');
      let outcome: Awaited<ReturnType<SlackRequestDelivery['deliver']>>;
      let waited = 0;
      for (;;) {
        try {
          outcome = await withTimeout(
            this.delivery.deliver(record),
            this.deps.channelTimeoutMs ?? 20_000,
            'Slack did not answer in time',
          );
        } catch (error) {
          // The claim lapses; the worker searches the channel before posting (the outcome is unknown).
          outcome = { kind: 'failed', error, unknownOutcome: true };
        }
        // A short rate limit is waited out here; a longer one (a burst) is the delivery worker's.
        if (outcome.kind !== 'rate-limited' || waited + outcome.waitMs > REQUEST_RATE_LIMIT_WAIT_MS) break;
        waited += outcome.waitMs;
        await new Promise((resolve) =>
          setTimeout(resolve, outcome.kind === 'rate-limited' ? outcome.waitMs : 0),
        );
      }
      if (outcome.kind === 'posted') {
        record = outcome.record;
        await this.watchPosted(approvalId);
      } else if (outcome.kind === 'failed') {
        slackProblem = problemOf(outcome.error);
        logger.error('approval request not posted to Slack', { approvalId, error: outcome.error });
        await store.markUnposted(approvalId, this.now().toISOString(), 'down');
      } else if (outcome.kind !== 'already-posted') {
        logger.info('approval request queued for Slack', { approvalId, reason: outcome.kind });
      }
    }
    const { emailLinks } = this.deps;
    const links = emailLinks && (await emailLinksFor(emailLinks.links, emailLinks.settings, record));
    await notifier.notify({
      ...approvalRequestedMessage(record, { ...(slackProblem && { slackProblem }), ...(links && { links }) }),
      severity: slackProblem ? 'alert' : 'warning',
    });
    logger.info('approval requested', { approvalId, slack: slackProblem ? 'failed' : 'posted' });
  }

  /**
   * Puts a posted request on the list the sweep's Slack recovery checks (a message deleted in Slack is
   * posted again). Never throws: the request is posted, and the e-mail and the record are what count.
   */
  private async watchPosted(approvalId: string): Promise<void> {
    try {
      await this.deps.store.watchPosted(approvalId);
    } catch (error) {
      this.deps.logger.warn('posted request not put on the Slack check list', { approvalId, error });
    }
  }

  /**
   * Shows the record's state in Slack (and `event` in the thread). Never throws: Slack is where people
   * look, but the record and the e-mail are what count, and a restore must not fail over a chat message.
   */
  private async showInChannel(record: ApprovalRecord, event: string): Promise<void> {
    const { store, channel, logger } = this.deps;
    if (!channel) return;
    const timeout = this.deps.channelTimeoutMs ?? 20_000;
    try {
      const ref = await withTimeout(
        channel.showState(record, event),
        timeout,
        'Slack did not answer in time',
      );
      if (!record.slackMessage) await store.setSlackMessage(record.approvalId, ref);
    } catch (error) {
      if (record.slackMessage && error instanceof SlackApiError && error.code === 'message_not_found') {
        try {
          await withTimeout(
            repostDeleted(store, channel, record, event),
            timeout,
            'Slack did not answer in time',
          );
          logger.warn('request message deleted in Slack; reposted', { approvalId: record.approvalId });
        } catch (repostError) {
          logger.warn('deleted request message not reposted', {
            approvalId: record.approvalId,
            error: repostError,
          });
        }
        return;
      }
      logger.warn('Slack message not updated', { approvalId: record.approvalId, error });
    }
  }

  /**
   * Approved: put the change back exactly, unless someone changed the target meanwhile. Only the
   * approval's own execution restores, only on a record whose three seals verify, and only once: the
   * record moves APPROVED → RESTORING (bound to `executionId`) → RESTORED in conditional writes, so a
   * second invocation after the restore writes nothing, even if security removed the grant since.
   */
  async restore(approvalId: string, executionId: string): Promise<{ outcome: 'RESTORED' | 'CONFLICT' }> {
    const { store, notifier, logger } = this.deps;
    let record = await this.requireRecord(approvalId);
    if (isRestored(record)) {
      logger.warn('restore asked again; nothing written', { approvalId, executionId });
      return { outcome: 'RESTORED' };
    }
    // Only a decision recorded by the decision service can restore: a bare SendTaskSuccess cannot.
    if (record.status !== 'APPROVED' && record.status !== 'RESTORING') {
      throw new ApprovalStateError(
        `approval ${approvalId} is ${record.status}, not APPROVED: nothing restored`,
      );
    }
    if (record.executionId !== executionId) {
      throw new ApprovalStateError(`approval ${approvalId} belongs to another execution: nothing restored`);
    }
    await this.requireSeals(record, { quarantine: true, decision: true });
    if (!record.quarantine) throw new ApprovalStateError(`approval ${approvalId} has no quarantine to lift`);
    // The record's own (sealed) account, never one from the step's input.
    const quarantine = await this.quarantineFor(record.change.accountId, approvalId);
    if (record.status === 'APPROVED') {
      const began = await store.transition(
        approvalId,
        'RESTORING',
        { restore: { executionId, startedAt: this.now().toISOString() } },
        { from: ['APPROVED'], executionId },
      );
      if (!began.ok) {
        throw new ApprovalStateError(
          `approval ${approvalId} changed before its restore began (now ${began.current?.status ?? 'missing'}): nothing restored`,
        );
      }
      record = began.record;
    } else if (record.restore?.executionId !== executionId) {
      throw new ApprovalStateError(`approval ${approvalId} is being restored by another execution`);
    }
    const result = await quarantine.restore(
      approvalId,
      record.original,
      record.quarantine as QuarantineState,
      record.reach,
    );
    const at = this.now().toISOString();
    if (result.outcome === 'CONFLICT') {
      const moved = await store.transition(
        approvalId,
        'CONFLICT',
        { outcome: { result: 'CONFLICT', at, detail: result.detail } },
        { from: ['RESTORING'], restoringExecutionId: executionId },
      );
      logger.warn('restore conflict', { approvalId, detail: result.detail });
      await this.showInChannel(
        moved.ok ? moved.record : record,
        `Approved, but NOT restored: ${result.detail}. Nothing was overwritten; check the target by hand.`,
      );
      await notifier.notify({
        ...outcomeMessage(
          moved.ok ? moved.record : record,
          `Approved, but NOT restored: ${result.detail}. Nothing was overwritten; check the target by hand.`,
        ),
        severity: 'alert',
      });
      return { outcome: 'CONFLICT' };
    }
    const mark = record.restore ?? { executionId, startedAt: at };
    const finished = await store.transition(
      approvalId,
      'RESTORED',
      { outcome: { result: 'RESTORED', at }, restore: { ...mark, finishedAt: at } },
      { from: ['RESTORING'], restoringExecutionId: executionId },
    );
    if (!finished.ok) {
      throw new ApprovalStateError(
        `approval ${approvalId} changed during its restore (now ${finished.current?.status ?? 'missing'})`,
      );
    }
    const updated = finished.record;
    logger.info('change restored', { approvalId });
    await this.showInChannel(updated, 'Restored: the change is in force again.');
    await notifier.notify({
      ...outcomeMessage(updated, 'Approved and restored: the change is in force again.'),
      severity: 'info',
    });
    return { outcome: 'RESTORED' };
  }

  /** Denied or expired: the change stays quarantined; record why and tell the team. */
  async recordOutcome(
    approvalId: string,
    outcome: 'DENIED' | 'EXPIRED',
    decision?: DecisionOutput,
  ): Promise<void> {
    const { store, notifier, logger } = this.deps;
    const at = this.now().toISOString();
    let record = await this.requireRecord(approvalId);
    if (outcome === 'DENIED') {
      if (record.status === 'PENDING') {
        const moved = await store.transition(
          approvalId,
          'DENIED',
          { ...(decision && { decision }) },
          { from: ['PENDING'] },
        );
        if (!moved.ok)
          throw new ApprovalStateError(`approval ${approvalId} changed while recording the denial`);
        record = moved.record;
      } else if (record.status !== 'DENIED') {
        throw new ApprovalStateError(`approval ${approvalId} is ${record.status}; cannot record a denial`);
      }
      record = await store.setOutcome(approvalId, { result: 'KEPT_QUARANTINED', at });
      await this.showInChannel(record, 'Denied: the change stays quarantined.');
      await notifier.notify({
        ...outcomeMessage(record, 'Denied: the change stays quarantined.'),
        severity: 'info',
      });
    } else {
      const moved = await store.transition(approvalId, 'EXPIRED', {
        outcome: { result: 'EXPIRED', at, detail: 'no decision before the deadline' },
      });
      if (!moved.ok && moved.current?.status !== 'EXPIRED') {
        throw new ApprovalStateError(
          `approval ${approvalId} is ${moved.current?.status ?? 'missing'}; cannot expire it`,
        );
      }
      record = moved.ok ? moved.record : (moved.current as ApprovalRecord);
      await this.showInChannel(
        record,
        'Expired: no decision before the deadline; the change stays quarantined. It can no longer be approved.',
      );
      await notifier.notify({
        ...outcomeMessage(record, 'Expired: no decision before the deadline; the change stays quarantined.'),
        severity: 'warning',
      });
    }
    logger.info('outcome recorded', { approvalId, outcome });
  }

  /**
   * The catch-all: mark the approval FAILED (when there is one) and alert loudly, saying whether the
   * risky change is contained, so a failure is never silent. Without a confirmed quarantine the alert says
   * plainly that the change is NOT contained and names what the event identified.
   */
  async handleFailure(input: Record<string, unknown>, executionId: string): Promise<void> {
    const { store, notifier, logger, channel } = this.deps;
    const error = (input.error ?? {}) as StepError;
    const errorName = error.Error ?? 'unknown error';
    const cause = causeOf(error.Cause);
    const event = eventOf(input);
    const identifiers = event === undefined ? {} : eventIdentifiers(event);
    // When AnalyseChange itself failed, the state is still the event; its id is the approval id.
    const approvalId =
      typeof input.approvalId === 'string' ? input.approvalId : idOfEvent(event, this.deps.settings);
    let containment: string | undefined;
    let change: PolicyChange | undefined;
    let record: ApprovalRecord | undefined;
    // Only this execution's own approval is marked FAILED: a forged execution failing on purpose with a
    // real event id must not end the real approval.
    const owned = approvalId ? await store.get(approvalId) : undefined;
    if (approvalId && owned && owned.executionId === executionId) {
      const moved = await store.transition(
        approvalId,
        'FAILED',
        { failure: { error: errorName, cause, at: this.now().toISOString() } },
        { executionId },
      );
      record = moved.ok ? moved.record : moved.current;
      change = record?.change;
      if (record?.quarantine) {
        containment = `The change is quarantined (status ${record.status}) and stays so until someone acts.`;
      }
      if (record) {
        await this.showInChannel(
          record,
          `Workflow failed (${errorName}). ${containment ?? 'The quarantine was NOT confirmed: the change may be in force. Check it now.'}`,
        );
      }
    }
    const contained = containment !== undefined;
    const identified = Object.entries(identifiers).map(([key, value]) => `  ${key}: ${value}`);
    const lines = contained
      ? [containment as string]
      : [
          'The change is NOT contained: PolicyGate could not confirm a quarantine, so whatever it granted may be in force NOW. Check it and contain it by hand.',
          ...(identified.length > 0 ? ['What the event identified:', ...identified] : []),
        ];
    const eventLine = change
      ? `Change: ${change.eventName} (${describeTarget(change.target)}) by ${describeActor(change)}, event ${change.eventId}`
      : undefined;
    logger.error('workflow failed', { executionId, approvalId, error: errorName, contained });
    await notifier.notify({
      subject: `PolicyGate ALERT: workflow failed (${errorName})${contained ? '' : ', change NOT contained'}`,
      message: [
        'A PolicyGate workflow failed.',
        '',
        ...lines,
        ...(eventLine ? [eventLine] : []),
        `Execution: ${executionId}`,
        `Error: ${errorName}`,
        ...(cause ? [`Cause: ${cause}`] : []),
      ].join('\n'),
      severity: 'alert',
    });
    if (!contained && !record?.slackMessage && channel) {
      try {
        await withTimeout(
          channel.postNotice(
            boundedNotice({
              severity: 'critical',
              title: `Workflow failed (${errorName}): change NOT contained`,
              lines: [...lines, ...(eventLine ? [eventLine] : []), `Execution: ${executionId}`],
            }),
          ),
          this.deps.channelTimeoutMs ?? 20_000,
          'Slack did not answer in time',
        );
      } catch (slackError) {
        logger.warn('failure notice not posted to Slack', { executionId, error: slackError });
      }
    }
  }

  // ---- accounts (issue 13): which account an event acts in, and acting there --------------------------

  /**
   * PolicyGate's own roles in the account the event names, for reading the event (whether its caller is
   * one of them); the account itself is admitted (or the event refused) by {@link scopeOf} right after.
   */
  private ownRoleArnsOf(event: unknown): readonly string[] {
    const { accounts, settings } = this.deps;
    const named = eventAccount(event);
    return accounts && named.ok
      ? accounts.ownRoleArnsIn(named.accountId, settings.ownRoleArns)
      : settings.ownRoleArns;
  }

  /**
   * The event's account, admitted by the routing, with PolicyGate's own roles there and the settings that
   * apply; or the critical `self-protection` notice of a refused event (nothing is read or changed in any
   * account; NotifyChange sends the alert e-mail and the Slack notice and counts SelfProtectionAlerts).
   */
  private async scopeOf(event: unknown): Promise<EventScope | { refused: AnalysisResult }> {
    const { accounts, settings, logger } = this.deps;
    if (!accounts) return { ownRoleArns: settings.ownRoleArns, ownRoleNames: this.ownRoleNames };
    const admission = await accounts.admit(event);
    if (!admission.ok) {
      const identifiers = eventIdentifiers(event);
      logger.error('event refused: not for an account PolicyGate may act in', {
        reason: admission.reason,
        claimed: admission.claimed,
        eventId: identifiers.eventID,
      });
      return {
        refused: {
          verdict: 'self-protection',
          eventId: identifiers.eventID ?? 'unknown',
          eventName: identifiers.eventName ?? 'unknown',
          target: `account ${admission.claimed.join(' / ') || 'unknown'}`,
          reason: `refused: ${admission.reason}`,
          notice: boundedNotice(accounts.refusalNotice(event, admission)),
        },
      };
    }
    const ownRoleArns = accounts.ownRoleArnsIn(admission.accountId, settings.ownRoleArns);
    return {
      accountId: admission.accountId,
      ownRoleArns,
      ownRoleNames: ownRoleArns.flatMap((arn) => roleNameOfArn(arn) ?? []),
      context: await accounts.contextOf(admission.accountId),
    };
  }

  /** The quarantine service acting in `accountId` (a session named after `label`, the approval id). */
  private quarantineFor(accountId: string, label: string): Promise<QuarantineService> {
    const { accounts, quarantine } = this.deps;
    return accounts ? accounts.quarantineIn(accountId, label) : Promise.resolve(quarantine);
  }

  private async requireRecord(approvalId: string): Promise<ApprovalRecord> {
    const record = await this.deps.store.get(approvalId);
    if (!record) throw new ApprovalStateError(`no approval ${approvalId}`);
    return record;
  }
}

/** The record's account fields: the account's name and OU path as Organizations showed them. */
function accountFields(context: AccountContext | undefined): Pick<ApprovalRecord, 'account'> {
  const label = context?.label;
  if (!label) return {};
  const units = label.path.map((p) => p.name ?? p.id);
  return {
    account: {
      ...(label.name && { name: label.name }),
      ...(units.length > 0 && { organizationalUnits: units }),
    },
  };
}

/** At most this many approvals on one target are compared with a write by a PolicyGate role. */
const MAX_OWN_WRITE_CANDIDATES = 50;

/**
 * Whether two readings of an event id are the same event (a duplicate delivery, or the sweep re-driving
 * it) rather than one forged with a real id: the call, its time, caller, target and document agree.
 */
function sameEvent(a: PolicyChange, b: PolicyChange): boolean {
  const core = (c: PolicyChange) =>
    canonicalJson({
      eventId: c.eventId,
      eventName: c.eventName,
      eventTime: c.eventTime,
      accountId: c.accountId,
      region: c.region,
      actor: c.actor,
      target: c.target,
      document: c.document,
      versionId: c.versionId,
      setAsDefault: c.setAsDefault,
      requestId: c.requestId,
    });
  return core(a) === core(b);
}

/**
 * The approval id of a change whose event id another execution already holds with other content: a UUID
 * derived from the event id and this execution, so it is stable across retries of this execution.
 */
function derivedApprovalId(eventId: string, executionId: string): string {
  const hex = createHash('sha256').update(`${eventId}\n${executionId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The record's findings fields: as many as fit, and how many did not. */
function storedFindingsOf(all: readonly Finding[]): Pick<ApprovalRecord, 'findings' | 'findingsOmitted'> {
  const { findings, omitted } = storedFindings(all);
  return omitted > 0 ? { findings, findingsOmitted: omitted } : { findings };
}

/** A short, secret-free reason for an e-mail: PolicyGate's own errors explain themselves. */
function problemOf(error: unknown): string {
  if (error instanceof PolicyGateError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A Lambda error's cause as people read it: Step Functions passes the handler's error as JSON with a stack
 * trace; its type and message say what happened, the trace is for the logs.
 */
function causeOf(raw: string | undefined): string {
  const text = raw ?? '';
  try {
    const parsed = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') {
      return `${typeof parsed.errorType === 'string' ? `${parsed.errorType}: ` : ''}${parsed.errorMessage}`.slice(
        0,
        2000,
      );
    }
  } catch {
    // Not JSON: a cause the state machine wrote itself.
  }
  return text.slice(0, 2000);
}

/** The CloudTrail event a failed execution was about: the state itself, or the event kept for a re-check. */
function eventOf(input: Record<string, unknown>): unknown {
  if (typeof input.detail === 'object' && input.detail !== null) return input;
  const recheck = input.recheck as { event?: unknown } | undefined;
  return recheck?.event;
}

/** The approval id of an event, when it can be normalised; the failure may be about exactly that. */
function idOfEvent(event: unknown, settings: WorkflowSettings): string | undefined {
  if (event === undefined) return undefined;
  try {
    const normalised = normaliseEvent(event, { ownRoleArns: settings.ownRoleArns });
    return normalised.kind === 'change' ? normalised.change.eventId : undefined;
  } catch (error) {
    if (error instanceof EventNormalisationError) return undefined;
    throw error;
  }
}

/** Whether an error is PolicyGate's own (expected, explainable) rather than a bug. */
export function isPolicyGateError(error: unknown): error is PolicyGateError {
  return error instanceof PolicyGateError;
}
