import type { ApprovalStore } from '../adapters/approval-store';
import type { Notifier } from '../adapters/notifier';
import { analysePolicy, type Finding } from '../domain/analyse-policy';
import { type ApprovalRecord, type DecisionOutput, storedFindings, totalFindings } from '../domain/approval';
import { normaliseEvent } from '../domain/cloudtrail';
import { approvalRequestedMessage, describeTarget, outcomeMessage } from '../domain/messages';
import type { PolicyChange } from '../domain/policy-change';
import { parsePolicyDocument } from '../domain/policy-document';
import type { RestrictedActionSet } from '../domain/restricted-actions';
import { ApprovalStateError, PolicyGateError, PolicyParseError } from '../errors';
import type { Logger } from '../logger';
import type { ApprovalChannel } from './approval-channel';
import type { QuarantineService } from './quarantine-service';

/** What the first step hands the state machine; `verdict` drives its routing. */
export type AnalysisResult =
  | { verdict: 'ignored'; reason: string; eventId?: string }
  | {
      verdict: 'harmless' | 'not-in-force';
      eventId: string;
      eventName: string;
      target: string;
      reason: string;
      findings: Finding[];
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
  readonly ownRoleArns: readonly string[];
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
  /** How long the request step waits for Slack before it gives up and relies on the e-mail. */
  readonly channelTimeoutMs?: number;
  readonly now?: () => Date;
}

/** The error a workflow step reports to `HandleFailure` (Step Functions' `$.error`). */
export interface StepError {
  readonly Error?: string;
  readonly Cause?: string;
}

function analyseDocument(
  document: string,
  restricted: RestrictedActionSet,
): { findings: Finding[]; error?: string } {
  try {
    return { findings: analysePolicy(parsePolicyDocument(document), restricted) };
  } catch (error) {
    // A policy IAM accepted but PolicyGate cannot read is treated as risky: unknown is never harmless.
    if (error instanceof PolicyParseError) return { findings: [], error: error.message };
    throw error;
  }
}

/**
 * The approval workflow's steps, one method per Task state of `stepfunctions/approval-workflow.asl.json`.
 * Every step is safe to retry: records are created and moved with conditional writes, and the
 * quarantine and restore check IAM's state before they act.
 */
export class ApprovalWorkflow {
  private readonly now: () => Date;

  constructor(private readonly deps: WorkflowDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * First step: normalise the event, read what the change put in force, analyse it, and for a risky
   * change write the approval record and quarantine at once, in this one invocation.
   */
  async analyse(event: unknown, executionId: string): Promise<AnalysisResult> {
    const { store, quarantine, restricted, settings, logger } = this.deps;
    const normalised = normaliseEvent(event, { ownRoleArns: settings.ownRoleArns });
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
    const approvalId = change.eventId;

    // A retry of this step (or a duplicate delivery) finds the record first: after a quarantine, IAM no
    // longer shows the change in force, so capturing again would misread it as gone.
    let current = await store.get(approvalId);
    if (current && current.executionId !== executionId) {
      // EventBridge delivers at least once: the other execution owns this change.
      logger.warn('duplicate event ignored', { eventId: change.eventId, owner: current.executionId });
      return {
        verdict: 'ignored',
        reason: `duplicate delivery of ${change.eventId}, handled by ${current.executionId}`,
        eventId: change.eventId,
      };
    }
    if (current && current.status !== 'PENDING') {
      throw new ApprovalStateError(`approval ${approvalId} is already ${current.status}`);
    }
    if (!current) {
      const captured = await quarantine.captureOriginal(change);
      if (!captured.inForce) {
        const findings = change.document ? analyseDocument(change.document, restricted).findings : [];
        logger.info('change not in force', { eventId: change.eventId, reason: captured.reason });
        return {
          verdict: 'not-in-force',
          eventId: change.eventId,
          eventName: change.eventName,
          target,
          reason: captured.reason,
          findings,
        };
      }
      const { original } = captured;
      const analysis = analyseDocument(original.document, restricted);
      if (analysis.findings.length === 0 && analysis.error === undefined) {
        logger.info('change is harmless', { eventId: change.eventId });
        return {
          verdict: 'harmless',
          eventId: change.eventId,
          eventName: change.eventName,
          target,
          reason: 'grants no restricted action',
          findings: [],
        };
      }
      // The record goes in before anything is touched, so nothing is lost if this execution dies.
      const now = this.now();
      const deadline = new Date(now.getTime() + settings.approvalTimeoutSeconds * 1000);
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
        original,
      };
      const created = await store.create(record);
      if (!created.created) {
        // Lost a race with a concurrent delivery of the same event: let the winner own it.
        return {
          verdict: 'ignored',
          reason: `duplicate delivery of ${change.eventId}, handled by ${created.existing.executionId}`,
          eventId: change.eventId,
        };
      }
      current = record;
    }
    const state = await quarantine.quarantine(approvalId, current.original, {
      beforeDeleteVersion: (version) => store.addDeletedVersion(approvalId, version),
    });
    await store.setQuarantine(approvalId, state);
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

  /** Notify-only path for harmless or no-longer-in-force changes. */
  async notify(analysis: AnalysisResult): Promise<void> {
    if (analysis.verdict !== 'harmless' && analysis.verdict !== 'not-in-force') {
      throw new ApprovalStateError(`notify step got a ${analysis.verdict} verdict`);
    }
    const headline =
      analysis.verdict === 'harmless'
        ? `Checked ${analysis.eventName} on ${analysis.target}: it grants no restricted action.`
        : `${analysis.eventName} on ${analysis.target} is no longer in force (${analysis.reason}); nothing was quarantined.`;
    await this.deps.notifier.notify({
      subject: `PolicyGate: ${analysis.eventName} ${analysis.verdict === 'harmless' ? 'checked, nothing restricted' : 'not in force'}`,
      message: [
        headline,
        '',
        `Event id: ${analysis.eventId}`,
        ...analysis.findings.slice(0, 200).map((f) => `  - ${f.action}`),
        ...(analysis.findings.length > 200 ? [`  … and ${analysis.findings.length - 200} more`] : []),
      ].join('\n'),
      severity: analysis.findings.length > 0 ? 'warning' : 'info',
    });
  }

  /**
   * The waitForTaskToken step: keep the token server-side and ask the humans, in Slack and by e-mail.
   * Slack being down never fails this step: the e-mail says so and the workflow keeps waiting (the
   * change stays quarantined), so no request is lost. A retried step does not post a second message.
   */
  async requestApproval(approvalId: string, taskToken: string): Promise<void> {
    const { store, channel, notifier, logger } = this.deps;
    let record = await store.setTaskToken(approvalId, taskToken);
    let slackProblem: string | undefined;
    if (!channel) {
      slackProblem = 'no Slack channel is configured for this stage';
    } else if (!record.slackMessage) {
      try {
        const ref = await withTimeout(
          channel.postRequest(record),
          this.deps.channelTimeoutMs ?? 20_000,
          'Slack did not answer in time',
        );
        record = await store.setSlackMessage(approvalId, ref);
      } catch (error) {
        slackProblem = problemOf(error);
        logger.error('approval request not posted to Slack', { approvalId, error });
      }
    }
    await notifier.notify({
      ...approvalRequestedMessage(record, slackProblem ? { slackProblem } : {}),
      severity: slackProblem ? 'alert' : 'warning',
    });
    logger.info('approval requested', { approvalId, slack: slackProblem ? 'failed' : 'posted' });
  }

  /**
   * Shows the record's state in Slack (and `event` in the thread). Never throws: Slack is where people
   * look, but the record and the e-mail are what count, and a restore must not fail over a chat message.
   */
  private async showInChannel(record: ApprovalRecord, event: string): Promise<void> {
    const { store, channel, logger } = this.deps;
    if (!channel) return;
    try {
      const ref = await withTimeout(
        channel.showState(record, event),
        this.deps.channelTimeoutMs ?? 20_000,
        'Slack did not answer in time',
      );
      if (!record.slackMessage) await store.setSlackMessage(record.approvalId, ref);
    } catch (error) {
      logger.warn('Slack message not updated', { approvalId: record.approvalId, error });
    }
  }

  /** Approved: put the change back exactly, unless someone changed the target meanwhile. */
  async restore(approvalId: string): Promise<{ outcome: 'RESTORED' | 'CONFLICT' }> {
    const { store, quarantine, notifier, logger } = this.deps;
    const record = await this.requireRecord(approvalId);
    // Only a decision recorded by the decision service can restore: a bare SendTaskSuccess cannot.
    if (record.status !== 'APPROVED') {
      throw new ApprovalStateError(
        `approval ${approvalId} is ${record.status}, not APPROVED: nothing restored`,
      );
    }
    if (!record.quarantine) throw new ApprovalStateError(`approval ${approvalId} has no quarantine to lift`);
    const result = await quarantine.restore(approvalId, record.original, record.quarantine);
    const at = this.now().toISOString();
    if (result.outcome === 'CONFLICT') {
      const moved = await store.transition(
        approvalId,
        'CONFLICT',
        { outcome: { result: 'CONFLICT', at, detail: result.detail } },
        { from: ['APPROVED'] },
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
    const updated = await store.setOutcome(approvalId, { result: 'RESTORED', at });
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
   * risky change is contained, so a failure is never silent.
   */
  async handleFailure(input: Record<string, unknown>, executionId: string): Promise<void> {
    const { store, notifier, logger } = this.deps;
    const error = (input.error ?? {}) as StepError;
    const errorName = error.Error ?? 'unknown error';
    const cause = (error.Cause ?? '').slice(0, 2000);
    const detail = (input.detail ?? {}) as Record<string, unknown>;
    // When AnalyseChange itself failed, the state is still the event; its id is the approval id.
    const approvalId =
      typeof input.approvalId === 'string'
        ? input.approvalId
        : typeof detail.eventID === 'string'
          ? detail.eventID
          : undefined;
    let containment = 'No approval record exists: the change may still be in force. Check it now.';
    let change: PolicyChange | undefined;
    if (approvalId && (typeof input.approvalId === 'string' || (await store.get(approvalId)))) {
      const moved = await store.transition(approvalId, 'FAILED', {
        failure: { error: errorName, cause, at: this.now().toISOString() },
      });
      const record = moved.ok ? moved.record : moved.current;
      change = record?.change;
      containment = record?.quarantine
        ? `The change is quarantined (status ${record.status}) and stays so until someone acts.`
        : 'The quarantine was NOT confirmed: the change may still be in force. Check it now.';
      if (record) await this.showInChannel(record, `Workflow failed (${errorName}). ${containment}`);
    }
    const eventLine = change
      ? `Change: ${change.eventName} (${describeTarget(change.target)}) by ${change.actor.arn ?? change.actor.type}, event ${change.eventId}`
      : `Event: ${String(detail.eventName ?? 'unknown')} ${String(detail.eventID ?? '')}`.trim();
    logger.error('workflow failed', { executionId, approvalId, error: errorName });
    await notifier.notify({
      subject: `PolicyGate ALERT: workflow failed (${errorName})`,
      message: [
        'A PolicyGate workflow failed.',
        '',
        containment,
        eventLine,
        `Execution: ${executionId}`,
        `Error: ${errorName}`,
        ...(cause ? [`Cause: ${cause}`] : []),
      ].join('\n'),
      severity: 'alert',
    });
  }

  private async requireRecord(approvalId: string): Promise<ApprovalRecord> {
    const record = await this.deps.store.get(approvalId);
    if (!record) throw new ApprovalStateError(`no approval ${approvalId}`);
    return record;
  }
}

/** The record's findings fields: as many as fit, and how many did not. */
function storedFindingsOf(all: readonly Finding[]): Pick<ApprovalRecord, 'findings' | 'findingsOmitted'> {
  const { findings, omitted } = storedFindings(all);
  return omitted > 0 ? { findings, findingsOmitted: omitted } : { findings };
}

/** Rejects with `message` when `promise` takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short, secret-free reason for an e-mail: PolicyGate's own errors explain themselves. */
function problemOf(error: unknown): string {
  if (error instanceof PolicyGateError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** Whether an error is PolicyGate's own (expected, explainable) rather than a bug. */
export function isPolicyGateError(error: unknown): error is PolicyGateError {
  return error instanceof PolicyGateError;
}
