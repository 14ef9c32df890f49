import { createHash } from 'node:crypto';
import type { ApprovalIndex } from '../adapters/approval-store';
import type { DeadLetterQueue } from '../adapters/dead-letter-queue';
import type { InventorySource } from '../adapters/iam-inventory';
import type { Notifier } from '../adapters/notifier';
import type { SweepState, SweepStateStore } from '../adapters/sweep-state-store';
import type { TrailInspector } from '../adapters/trail-inspector';
import type { WorkflowStarter } from '../adapters/workflow-starter';
import { type ApprovalRecord, isRestored, reachGroupMembers } from '../domain/approval';
import { normaliseEvent, sweepFindingEvent } from '../domain/cloudtrail';
import { sameDocument } from '../domain/document-equality';
import type { ChangeTarget, GatedEventName } from '../domain/policy-change';
import {
  attachmentKey,
  baselineOf,
  type Coverage,
  compareWithBaseline,
  describeSweepGrant,
  type GrantMap,
  inlineKey,
  mapGrants,
  membershipKey,
  policySourceKey,
  type RiskTest,
  type SweepGrant,
} from '../domain/sweep';
import { evaluateTrails } from '../domain/trails';
import type { Logger } from '../logger';

export interface SweepSettings {
  readonly accountId: string;
  readonly region: string;
  /** PolicyGate's own roles (their calls are its own; a re-driven event by them is ignored downstream). */
  readonly ownRoleArns: readonly string[];
  /** At most this many dead letters are re-driven per run (the rest wait for the next run). */
  readonly maxRedrivesPerRun?: number;
  /** A missing trail is alerted again after this many hours while it stays missing. */
  readonly trailAlertRepeatHours?: number;
  /**
   * A member account's sweep (issue 13): only its grants are compared; the dead-letter queue and the trail
   * check are the central run's. Its e-mails name the account; its baseline is
   * reported by the organization sweep's summary, not one e-mail per account.
   */
  readonly member?: boolean;
}

export interface SweepDependencies {
  readonly inventory: InventorySource;
  readonly state: SweepStateStore;
  readonly approvals: ApprovalIndex;
  readonly starter: WorkflowStarter;
  readonly deadLetters: DeadLetterQueue;
  readonly trails: TrailInspector;
  readonly notifier: Notifier;
  readonly isRisky: RiskTest;
  /** Whether a restored approval may be relied on to cover a grant (its seals verify). */
  readonly trusts: (record: ApprovalRecord) => Promise<boolean>;
  readonly settings: SweepSettings;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** What one run did; also what the e-mail reports. */
export interface SweepReport {
  readonly baselineTaken: boolean;
  readonly riskyGrants: number;
  /** Grants the workflow was started for, described. */
  readonly started: string[];
  /** New grants an approval is handling right now. */
  readonly inProgress: string[];
  /** Dead-lettered events re-driven into the workflow. */
  readonly redriven: number;
  /** Dead letters that held no event and were dropped (alerted). */
  readonly discarded: string[];
  /** Trails that deliver IAM write events; empty = PolicyGate hears of no IAM change at all. */
  readonly deliveringTrails: readonly string[];
  readonly trailReasons: readonly string[];
}

// An approval younger than this that has not quarantined (or restored) yet is still at work.
const IN_PROGRESS_MS = 60 * 60 * 1000;
const DEFAULT_MAX_REDRIVES = 100;
const DEFAULT_TRAIL_REPEAT_HOURS = 6;
// Dead letters stay hidden this long while one run handles them; a failed start shows them again later.
const REDRIVE_VISIBILITY_SECONDS = 300;
// A report lists this many grants by name.
const MAX_LISTED = 50;

/**
 * The reconciliation sweep (a scheduled function): re-drives the event rule's dead-letter queue, checks
 * that a trail delivers IAM's write events, and compares every grant in force in the account with what it
 * saw last time. Every new or changed grant of a restricted action that no approval record covers starts
 * the normal workflow (recorded as "found by the sweep"), which contains it at once. The first run only
 * takes the baseline and reports it. Posting what Slack missed is not its work: the Slack delivery worker
 * is a function of its own (issue 12), so the sweep holds no Slack secret.
 */
export class SweepService {
  private readonly now: () => Date;

  constructor(private readonly deps: SweepDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  async run(): Promise<SweepReport> {
    const { logger } = this.deps;
    const member = this.deps.settings.member === true;
    const now = this.now();
    const redrive = member
      ? { redriven: 0, discarded: [], targets: new Set<string>() }
      : await this.redrive();
    const previous = await this.deps.state.load();
    const trailCheck = member
      ? { delivering: ['the central account'], reasons: [] }
      : await this.checkTrails();
    const inventory = await this.deps.inventory.read();
    const grants = mapGrants(inventory, this.deps.isRisky);
    const trailState = this.trailState(previous, trailCheck.delivering.length === 0, now);

    let report: SweepReport;
    if (previous === undefined) {
      await this.deps.state.save(
        {
          baseline: baselineOf(grants),
          firstTakenAt: now.toISOString(),
          takenAt: now.toISOString(),
          ...trailState.state,
        },
        undefined,
      );
      report = {
        baselineTaken: true,
        riskyGrants: grants.sources.size,
        started: [],
        inProgress: [],
        redriven: redrive.redriven,
        discarded: redrive.discarded,
        deliveringTrails: trailCheck.delivering,
        trailReasons: trailCheck.reasons,
      };
      logger.info('sweep baseline taken', { sources: grants.sources.size, links: grants.links.size });
    } else {
      const comparison = await compareWithBaseline(grants, previous.baseline, (grant) =>
        this.coverage(grant),
      );
      const started: string[] = [];
      for (const grant of comparison.findings) {
        if (redrive.targets.has(grantKey(grant))) continue;
        await this.startWorkflow(grant, now);
        started.push(describeSweepGrant(grant));
      }
      await this.deps.state.save(
        {
          baseline: comparison.baseline,
          firstTakenAt: previous.firstTakenAt,
          takenAt: now.toISOString(),
          ...trailState.state,
        },
        previous,
      );
      report = {
        baselineTaken: false,
        riskyGrants: grants.sources.size,
        started,
        inProgress: comparison.inProgress.map(describeSweepGrant),
        redriven: redrive.redriven,
        discarded: redrive.discarded,
        deliveringTrails: trailCheck.delivering,
        trailReasons: trailCheck.reasons,
      };
      logger.info('sweep done', {
        started: started.length,
        inProgress: report.inProgress.length,
        redriven: redrive.redriven,
      });
    }
    await this.report(report, grants, trailState.alert);
    return report;
  }

  /** Starts the workflow for every dead-lettered event, then removes it from the queue. */
  private async redrive(): Promise<{ redriven: number; discarded: string[]; targets: Set<string> }> {
    const { deadLetters, starter, logger, settings } = this.deps;
    const max = settings.maxRedrivesPerRun ?? DEFAULT_MAX_REDRIVES;
    let redriven = 0;
    const discarded: string[] = [];
    const targets = new Set<string>();
    while (redriven + discarded.length < max) {
      const letters = await deadLetters.receive(
        Math.min(10, max - redriven - discarded.length),
        REDRIVE_VISIBILITY_SECONDS,
      );
      if (letters.length === 0) break;
      for (const letter of letters) {
        let event: unknown;
        try {
          event = JSON.parse(letter.body);
        } catch {
          event = undefined;
        }
        if (typeof event !== 'object' || event === null || Array.isArray(event)) {
          // Not an event: nothing to re-drive. Said loudly, with enough to find it, and dropped.
          discarded.push(`message ${letter.messageId} (${JSON.stringify(letter.body.slice(0, 120))})`);
          await deadLetters.remove(letter);
          continue;
        }
        const name = `redrive-${digest(letter.messageId).slice(0, 40)}`;
        await starter.start(name, event);
        await deadLetters.remove(letter);
        redriven += 1;
        const key = targetKeyOf(event, settings.ownRoleArns);
        if (key) targets.add(key);
        logger.info('dead letter re-driven', { messageId: letter.messageId, errorCode: letter.errorCode });
      }
    }
    return { redriven, discarded, targets };
  }

  private async checkTrails(): Promise<{ delivering: string[]; reasons: string[] }> {
    const described = await this.deps.trails.describe();
    const verdict = evaluateTrails(described.trails);
    return {
      delivering: [...verdict.delivering],
      reasons: [
        ...verdict.reasons,
        ...described.unreadable.map((t) => `${t}: its status or selectors could not be read`),
      ],
    };
  }

  /** The trail fields of the new state, and whether to alert now. */
  private trailState(
    previous: SweepState | undefined,
    missing: boolean,
    now: Date,
  ): { state: Pick<SweepState, 'trailProblemSince' | 'trailAlertedAt'>; alert: boolean } {
    if (!missing) return { state: {}, alert: false };
    const repeatMs = (this.deps.settings.trailAlertRepeatHours ?? DEFAULT_TRAIL_REPEAT_HOURS) * 3_600_000;
    const since = previous?.trailProblemSince ?? now.toISOString();
    const last = previous?.trailAlertedAt;
    const alert = last === undefined || now.getTime() - Date.parse(last) >= repeatMs;
    return { state: { trailProblemSince: since, trailAlertedAt: alert ? now.toISOString() : last }, alert };
  }

  /**
   * Whether an approval covers a grant found in force: one approved and restored for exactly this grant
   * (or one whose recorded reach named this principal), or one at work on it right now.
   */
  private async coverage(grant: SweepGrant): Promise<Coverage> {
    const { approvals } = this.deps;
    const now = this.now().getTime();
    const candidates: ApprovalRecord[] = [];
    const reachCovers: ApprovalRecord[] = [];
    switch (grant.kind) {
      case 'policy':
        for (const r of await approvals.byPolicy(grant.policyArn)) {
          // The document too: a policy deleted and created again under its name starts over at v1.
          if (
            r.original.kind === 'managed-policy' &&
            r.original.offendingVersionId === grant.versionId &&
            sameDocument(r.original.document, grant.document)
          ) {
            candidates.push(r);
          }
        }
        break;
      case 'inline':
        for (const r of await approvals.byPrincipal(grant.principalType, grant.principalName)) {
          if (
            r.original.kind === 'inline-policy' &&
            r.original.policyName === grant.policyName &&
            sameDocument(r.original.document, grant.document)
          ) {
            candidates.push(r);
          }
        }
        break;
      case 'attachment':
        for (const r of await approvals.byPrincipal(grant.principalType, grant.principalName)) {
          if (r.original.kind === 'attachment' && sameText(r.original.policyArn, grant.policyArn))
            candidates.push(r);
        }
        for (const r of await approvals.byPolicy(grant.policyArn)) {
          if (r.original.kind !== 'managed-policy') continue;
          if (
            r.reach?.attachedTo.some(
              (p) => p.type === grant.principalType && sameText(p.name, grant.principalName),
            )
          )
            reachCovers.push(r);
        }
        break;
      case 'membership':
        for (const r of await approvals.byPrincipal('user', grant.userName)) {
          if (r.original.kind === 'group-membership' && sameText(r.original.groupName, grant.groupName))
            candidates.push(r);
        }
        for (const r of await approvals.byGroup(grant.groupName)) {
          const members = (r.reach ? reachGroupMembers(r.reach) : []).find(({ group }) =>
            sameText(group, grant.groupName),
          )?.users;
          if (members?.some((u) => sameText(u, grant.userName))) reachCovers.push(r);
        }
        break;
    }
    // The index hands back records read strongly, so their status can be relied on as it is; what they
    // say covers a grant only under their seals (a record edited in the table covers nothing).
    for (const record of [...candidates, ...reachCovers]) {
      if (!restored(record)) continue;
      if (await this.deps.trusts(record)) return 'covered';
      this.deps.logger.error('a restored approval whose seals do not verify covers nothing', {
        approvalId: record.approvalId,
      });
    }
    return candidates.some((record) => atWork(record, now)) ? 'in-progress' : 'none';
  }

  private async startWorkflow(grant: SweepGrant, now: Date): Promise<void> {
    const { settings } = this.deps;
    // One finding per grant and run: a grant still uncovered next run (its workflow failed) starts anew.
    const event = sweepFindingEvent({
      findingId: digest(`${grantKey(grant)}\n${now.toISOString()}`).slice(0, 32),
      time: now,
      accountId: settings.accountId,
      region: settings.region,
      reason: `${describeSweepGrant(grant)} is in force, but no CloudTrail event of it reached PolicyGate`,
      ...eventCall(grant),
    });
    const eventId = event.detail.eventID;
    await this.deps.starter.start(eventId, event);
    this.deps.logger.warn('sweep found an uncovered restricted grant', {
      eventId,
      grant: describeSweepGrant(grant),
    });
  }

  private async report(report: SweepReport, grants: GrantMap, trailAlert: boolean): Promise<void> {
    const lines: string[] = [];
    let severity: 'info' | 'warning' | 'alert' = 'info';
    let subject = '';
    if (trailAlert) {
      severity = 'alert';
      subject = 'PolicyGate ALERT: no CloudTrail trail delivers IAM changes';
      lines.push(
        "No CloudTrail trail with logging on records IAM's write management events for us-east-1, so EventBridge delivers PolicyGate NO IAM change: only this sweep, every run, will notice them.",
        'Create or fix a trail (multi-region, or in us-east-1 with global service events; management events, write or all).',
        ...report.trailReasons.map((r) => `  - ${r}`),
        '',
      );
    }
    if (report.started.length > 0) {
      if (severity !== 'alert') severity = 'warning';
      subject ||= `PolicyGate: the sweep found ${report.started.length} restricted grant(s) no approval covers`;
      lines.push(
        `The reconciliation sweep found ${report.started.length} new or changed grant(s) of restricted actions in force that no approval covers (their CloudTrail events never reached PolicyGate). The approval workflow was started for each: it quarantines them at once and asks for a decision.`,
        ...report.started.slice(0, MAX_LISTED).map((g) => `  - ${g}`),
        ...(report.started.length > MAX_LISTED ? [`  … and ${report.started.length - MAX_LISTED} more`] : []),
        '',
      );
    }
    if (report.redriven > 0 || report.discarded.length > 0) {
      if (severity !== 'alert') severity = report.discarded.length > 0 ? 'alert' : 'warning';
      subject ||= `PolicyGate: ${report.redriven} undelivered IAM event(s) re-driven`;
      lines.push(
        `${report.redriven} IAM event(s) that the event rule could not deliver (dead-letter queue) were re-driven into the workflow.`,
        ...(report.discarded.length > 0
          ? [
              'These dead letters held no event and were dropped:',
              ...report.discarded.slice(0, MAX_LISTED).map((d) => `  - ${d}`),
            ]
          : []),
        '',
      );
    }
    if (report.baselineTaken) {
      subject ||= `PolicyGate: sweep baseline taken (${report.riskyGrants} restricted grants in force)`;
      const listed = [...grants.sources.values()]
        .slice(0, MAX_LISTED)
        .map((s) => `  - ${describeSweepGrant(s.grant)}`);
      lines.push(
        `The reconciliation sweep took its baseline: ${report.riskyGrants} grant(s) of restricted actions are in force now, and ${grants.links.size} attachments and group memberships. They are accepted as they are; from now on, every new or changed one that no approval covers starts the workflow.`,
        ...listed,
        ...(report.riskyGrants > listed.length ? [`  … and ${report.riskyGrants - listed.length} more`] : []),
      );
    }
    if (lines.length === 0) return;
    const { settings } = this.deps;
    if (settings.member && report.started.length === 0) return;
    await this.deps.notifier.notify({
      subject: `${subject || 'PolicyGate: sweep report'}${settings.member ? ` in account ${settings.accountId}` : ''}`,
      message: lines.join('\n').trim(),
      severity,
    });
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function restored(record: ApprovalRecord): boolean {
  return isRestored(record);
}

/** An approval not yet through its first step: it will contain (or restore) the grant itself. */
function atWork(record: ApprovalRecord, now: number): boolean {
  if (record.status === 'PENDING')
    return record.quarantine === undefined && now - Date.parse(record.createdAt) < IN_PROGRESS_MS;
  if (record.status === 'RESTORING' || (record.status === 'APPROVED' && record.outcome === undefined)) {
    return now - Date.parse(record.decision?.decidedAt ?? record.updatedAt) < IN_PROGRESS_MS;
  }
  return false;
}

/** The sweep's key for a grant, as for the target of a normalised change. */
function grantKey(grant: SweepGrant): string {
  switch (grant.kind) {
    case 'policy':
      return policySourceKey(grant.policyArn);
    case 'inline':
      return inlineKey(grant.principalType, grant.principalName, grant.policyName);
    case 'attachment':
      return attachmentKey(grant.principalType, grant.principalName, grant.policyArn);
    case 'membership':
      return membershipKey(grant.userName, grant.groupName);
  }
}

function keyOfTarget(target: ChangeTarget): string | undefined {
  switch (target.kind) {
    case 'managed-policy':
      return policySourceKey(target.policyArn);
    case 'inline-policy':
      return inlineKey(target.principalType, target.principalName, target.policyName);
    case 'attachment':
      return attachmentKey(target.principalType, target.principalName, target.policyArn);
    case 'group-membership':
      return membershipKey(target.userName, target.groupName);
    default:
      return undefined;
  }
}

/** The grant key a re-driven event is about, so the same run does not start a second workflow for it. */
function targetKeyOf(event: unknown, ownRoleArns: readonly string[]): string | undefined {
  try {
    const normalised = normaliseEvent(event, { ownRoleArns });
    return normalised.kind === 'change' ? keyOfTarget(normalised.change.target) : undefined;
  } catch {
    return undefined;
  }
}

/** The IAM call a finding stands for, with CloudTrail's request parameters for it. */
function eventCall(grant: SweepGrant): {
  eventName: GatedEventName;
  requestParameters: Record<string, string>;
} {
  const nameKey = { role: 'roleName', user: 'userName', group: 'groupName' } as const;
  const title = { role: 'Role', user: 'User', group: 'Group' } as const;
  switch (grant.kind) {
    case 'policy':
      return {
        eventName: 'SetDefaultPolicyVersion',
        requestParameters: { policyArn: grant.policyArn, versionId: grant.versionId },
      };
    case 'inline':
      return {
        eventName: `Put${title[grant.principalType]}Policy` as const,
        requestParameters: {
          [nameKey[grant.principalType]]: grant.principalName,
          policyName: grant.policyName,
        },
      };
    case 'attachment':
      return {
        eventName: `Attach${title[grant.principalType]}Policy` as const,
        requestParameters: {
          [nameKey[grant.principalType]]: grant.principalName,
          policyArn: grant.policyArn,
        },
      };
    case 'membership':
      return {
        eventName: 'AddUserToGroup',
        requestParameters: { groupName: grant.groupName, userName: grant.userName },
      };
  }
}
