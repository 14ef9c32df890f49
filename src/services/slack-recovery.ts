import type { AlarmMetrics } from '../adapters/alarm-metrics';
import type { ApprovalStore, QueuedSlackNote, SlackBacklog } from '../adapters/approval-store';
import type { Notifier } from '../adapters/notifier';
import type { SlackNoteOutbox } from '../adapters/slack-note-outbox';
import type { ApprovalRecord, MessageRef } from '../domain/approval';
import { describeTarget } from '../domain/messages';
import { SlackApiError } from '../errors';
import type { Logger } from '../logger';
import { PostPacer } from '../slack/post-pacer';
import type { ApprovalChannel } from './approval-channel';
import type { RecordSeals } from './record-seals';
import { type DeliveryOutcome, SlackRequestDelivery } from './slack-delivery';
import { withTimeout } from './with-timeout';

/** The thread line of a request posted late. */
export function postedLateNote(since: string): string {
  return `Posted late: Slack could not be reached at ${since}; this request was first sent by e-mail.`;
}

/** The thread line of a request that ended while Slack could not be reached, posted once it answers. */
export function endedLateNote(since: string): string {
  return `Posted late: Slack could not be reached at ${since}; this request was sent by e-mail and ended before Slack answered again.`;
}

/**
 * The thread line of a request frozen because another event claimed its event id with different content
 * (analyseChange fails the record; the delivery worker, which holds the bot token, posts this).
 */
export function frozenNote(otherApprovalId: string): string {
  return `Frozen: another event claimed this request's event id with different content (approval ${otherApprovalId}). One of the two is forged; neither can be approved. Check both by hand.`;
}

// What an approval id looks like (an event id, or one derived from it): the only text a note takes from
// the table, so nothing else written there reaches Slack.
const APPROVAL_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The thread line of a request posted again after its message was deleted in Slack. */
export const REPOSTED_NOTE =
  'Posted again: the request message was deleted in Slack. Only this message decides it now.';

const SUPERSEDED_NOTE =
  'This copy was posted while another message of the same request was recorded: that one decides it, not this.';

/**
 * Posts a record's request again after its recorded message was deleted in Slack (`chat.update` said
 * `message_not_found`), then moves the record to the new message in a conditional write from the old one.
 * Clicks are bound to the recorded message, so the deleted one (should a stale payload of it arrive) no
 * longer decides. `event`, when given, goes to the new thread as it would have gone to the old one.
 */
export async function repostDeleted(
  store: Pick<ApprovalStore, 'replaceSlackMessage'>,
  channel: ApprovalChannel,
  record: ApprovalRecord,
  event?: string,
): Promise<MessageRef | undefined> {
  const { slackMessage: old, ...unposted } = record;
  if (!old) return undefined;
  // Without a recorded message, showState posts a new one (with the buttons only while PENDING).
  const ref = await channel.showState(unposted, event);
  const moved = await store.replaceSlackMessage(record.approvalId, old, ref);
  if (!moved) {
    // Another repost was recorded first: this copy must say it is not the one that decides.
    await channel.note({ ...record, slackMessage: ref }, SUPERSEDED_NOTE);
    return undefined;
  }
  await channel.note(moved, REPOSTED_NOTE);
  return ref;
}

export interface SlackRecoveryDependencies {
  readonly store: Pick<
    ApprovalStore,
    'get' | 'setSlackMessage' | 'replaceSlackMessage' | 'watchPosted' | 'claimSlackPost' | 'releaseSlackPost'
  > &
    SlackBacklog;
  readonly channel: ApprovalChannel;
  readonly seals: RecordSeals;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** At most this many backlog entries are looked at per run (the rest wait for the next). */
  readonly maxPerRun?: number;
  /** How long one Slack post may take before the run gives up on Slack until the next. */
  readonly channelTimeoutMs?: number;
  /**
   * How long one run keeps draining the backlog, batch after batch, paced and waiting out rate limits;
   * 0 (the default) looks at one batch. The delivery worker's schedule gives it most of its interval.
   */
  readonly drainBudgetMs?: number;
  /** The least time between two posts to the channel (Slack allows about one a second); default 1000. */
  readonly postIntervalMs?: number;
  /**
   * The pacer the channel's own posts take their slots from (then nothing else is paced here: a
   * request shown by a redraw already, or a group message's update, waits for no post slot). Without
   * it, every delivery and thread line waits for a slot of `postIntervalMs`.
   */
  readonly pacer?: PostPacer;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The thread lines waiting to be posted (a click's decision and refusals, failed posts). */
  readonly notes?: Pick<SlackNoteOutbox, 'pending'>;
  /** Counts requests that reached their deadline never posted (the stack alarms on it). */
  readonly metrics?: AlarmMetrics;
  readonly now?: () => Date;
}

/** What one recovery run did. */
export interface SlackRecoveryReport {
  /** Requests posted to Slack now, by approval id. */
  readonly posted: string[];
  /** PENDING requests whose message was deleted in Slack, posted again now, by approval id. */
  readonly reposted: string[];
  /** Requests whose thread got a line another function left for the worker (a frozen request), by id. */
  readonly noted: string[];
  /** PENDING requests whose message was checked (and found) in Slack. */
  readonly checked: number;
  /** Requests not posted because their seals did not verify (alerted), by approval id. */
  readonly tampered: string[];
  /** Entries taken off the backlog without posting (decided, expired, posted by someone else). */
  readonly cleared: number;
  /** Whether Slack still did not answer (the rest of the backlog waits for the next run). */
  readonly slackDown: boolean;
  /** Whether the run ended on a rate limit it had no time left to wait out (the rest waits for the next). */
  readonly rateLimited: boolean;
}

const DEFAULT_MAX_PER_RUN = 25;
const MAX_NOTE_FAILURES = 3;

/**
 * Posts the requests that did not reach Slack (the backlog the request step writes when its post fails),
 * once Slack answers again: the same request message, recorded first-message-wins, with a thread line
 * that says it is late. Then checks that the PENDING requests posted still have their message, by showing
 * the record on it again (`chat.update`, the one scope the app has for it): one deleted in Slack
 * (`message_not_found`) is posted again and the record moved to the new message. Only PENDING requests
 * still before their deadline, and only under their record and quarantine seals: a record changed outside
 * PolicyGate is alerted, never shown to approvers. Bounded: two list queries of at most `maxPerRun`
 * entries each, and the run stops at the first call Slack refuses.
 */
export class SlackRecovery {
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly delivery: SlackRequestDelivery;
  private readonly pacer: PostPacer;

  constructor(private readonly deps: SlackRecoveryDependencies) {
    this.now = deps.now ?? (() => new Date());
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.pacer = deps.pacer ?? new PostPacer(this.postInterval(), this.sleep);
    this.delivery = new SlackRequestDelivery({
      store: deps.store,
      channel: deps.channel,
      logger: deps.logger,
      minRateLimitWaitMs: this.postInterval(),
      ...(deps.now && { now: deps.now }),
    });
  }

  private postInterval(): number {
    return this.deps.postIntervalMs ?? 1_000;
  }

  /**
   * Waits for the channel's next posting slot, unless the channel takes its own slot as it posts: the
   * worker never asks Slack faster than it allows.
   */
  private async pace(): Promise<void> {
    if (!this.deps.pacer) await this.pacer.turn();
  }

  /**
   * Delivers one request, waiting out rate limits while the run's budget lasts; `undefined` when the
   * budget ran out first.
   */
  private async deliverPaced(
    record: ApprovalRecord,
    endsAt: number,
  ): Promise<Exclude<DeliveryOutcome, { kind: 'rate-limited' }> | undefined> {
    for (;;) {
      await this.pace();
      let outcome: DeliveryOutcome;
      try {
        outcome = await withTimeout(
          this.delivery.deliver(record),
          this.deps.channelTimeoutMs ?? 10_000,
          'Slack did not answer in time',
        );
      } catch (error) {
        outcome = { kind: 'failed', error, unknownOutcome: true };
      }
      if (outcome.kind !== 'rate-limited') return outcome;
      if (Date.now() + outcome.waitMs > endsAt) return undefined;
      this.pacer.holdUntil(Date.now() + outcome.waitMs);
      // The channel's pacer holds its next post; an update (another tier) is waited for here.
      if (this.deps.pacer) await this.sleep(outcome.waitMs);
    }
  }

  async run(): Promise<SlackRecoveryReport> {
    const { store } = this.deps;
    const posted: string[] = [];
    const tampered: string[] = [];
    let cleared = 0;
    let slackDown = false;
    let rateLimited = false;
    const endsAt = Date.now() + (this.deps.drainBudgetMs ?? 0);
    const tally = { posted, tampered, cleared: 0 };
    // Batch after batch while the budget lasts and a batch makes progress (a batch of entries another
    // poster holds would otherwise spin).
    // Whether the backlog still holds more than this run took (a burst still draining).
    let backlogLeft = false;
    for (let batch = 0; ; batch += 1) {
      if (batch > 0 && Date.now() >= endsAt) break;
      const limit = this.deps.maxPerRun ?? DEFAULT_MAX_PER_RUN;
      const backlog = await store.unposted(limit);
      backlogLeft = backlog.length >= limit;
      const before = posted.length + tampered.length + tally.cleared;
      const state = await this.drainBatch(backlog, endsAt, tally);
      if (state === 'slack-down') slackDown = true;
      if (state === 'rate-limited') rateLimited = true;
      if (state !== 'ok' || backlog.length < limit) break;
      if (posted.length + tampered.length + tally.cleared === before) break;
    }
    cleared += tally.cleared;
    const noted: string[] = [];
    if (!slackDown && !rateLimited) {
      const notes = await this.drainNotes(await store.notes(this.deps.maxPerRun ?? DEFAULT_MAX_PER_RUN), {
        noted,
        tampered,
      });
      if (notes === 'slack-down') slackDown = true;
      cleared += notes === 'slack-down' ? 0 : notes;
    }
    const reposted: string[] = [];
    let checked = 0;
    // While a burst drains, the check of messages already shown waits for a run with the backlog done:
    // its updates share Slack's Tier 3 budget with the group messages the backlog still has to grow.
    if (!slackDown && !rateLimited && !backlogLeft) {
      // A group message is redrawn from every request it lists, so one check shows them all: checking each
      // member would spend one chat.update (Tier 3, ~50 a minute) per member on the same message.
      const groupMessagesChecked = new Set<string>();
      for (const approvalId of await store.posted(this.deps.maxPerRun ?? DEFAULT_MAX_PER_RUN)) {
        const record = await store.get(approvalId);
        if (!record) continue;
        if (
          !record.slackMessage ||
          record.status !== 'PENDING' ||
          Date.parse(record.deadline) <= this.now().getTime()
        ) {
          // Decided (its steps keep the message in line from now on) or past its deadline.
          await store.clearSlackWatch(approvalId);
          cleared += 1;
          continue;
        }
        if (!(await this.sealed(record, true, tampered))) continue;
        const { groupId, channel: where, ts } = record.slackMessage;
        const shownWith = groupId ? `${where}/${ts}` : undefined;
        if (shownWith && groupMessagesChecked.has(shownWith)) {
          checked += 1;
          continue;
        }
        const outcome = await this.check(record);
        if (outcome === 'slack-down') {
          slackDown = true;
          break;
        }
        if (outcome === 'reposted') reposted.push(approvalId);
        else checked += 1;
        if (shownWith && outcome === 'found') groupMessagesChecked.add(shownWith);
      }
    }
    if (!slackDown) slackDown = await this.postNotes();
    return { posted, reposted, noted, checked, tampered, cleared, slackDown, rateLimited };
  }

  /**
   * Posts the thread lines other functions left (a frozen request): the record shown on its message (no
   * buttons: it is no longer PENDING) with the line in its thread, or posted now with it when Slack never
   * showed it. Only under the record's seals (and its quarantine seal once it claims a quarantine): a
   * record changed outside PolicyGate is alerted instead. Stops at the first call Slack refuses; the rest
   * waits for the next run. Returns how many entries were taken off without a post.
   */
  private async drainNotes(
    notes: readonly QueuedSlackNote[],
    tally: { noted: string[]; tampered: string[] },
  ): Promise<number | 'slack-down'> {
    const { store, channel, logger } = this.deps;
    const timeout = this.deps.channelTimeoutMs ?? 10_000;
    let cleared = 0;
    for (const { approvalId, otherApprovalId } of notes) {
      const record = await store.get(approvalId);
      if (!record || !APPROVAL_ID.test(otherApprovalId)) {
        if (record) logger.error('Slack note names no approval id; dropped', { approvalId });
        await store.clearSlackWatch(approvalId);
        cleared += 1;
        continue;
      }
      if (!(await this.sealed(record, record.quarantine !== undefined, tally.tampered))) continue;
      const note = frozenNote(otherApprovalId);
      await this.pace();
      try {
        const ref = await withTimeout(
          channel.showState(record, note),
          timeout,
          'Slack did not answer in time',
        );
        if (!record.slackMessage) await store.setSlackMessage(approvalId, ref);
      } catch (error) {
        if (!(record.slackMessage && error instanceof SlackApiError && error.code === 'message_not_found')) {
          logger.warn('Slack unavailable; thread lines left for the next run', { approvalId, error });
          return 'slack-down';
        }
        try {
          await withTimeout(
            repostDeleted(store, channel, record, note),
            timeout,
            'Slack did not answer in time',
          );
        } catch (repostError) {
          logger.warn('deleted request message not posted again', { approvalId, error: repostError });
          return 'slack-down';
        }
      }
      await store.clearSlackWatch(approvalId);
      tally.noted.push(approvalId);
      logger.info('thread line posted for another function', { approvalId });
    }
    return cleared;
  }

  /**
   * Posts the thread lines that wait in the outbox (a click queues its audit line rather than wait on
   * the channel's posting limit; a failed line post queues it), oldest first, paced; whether Slack
   * stopped answering.
   */
  private async postNotes(): Promise<boolean> {
    const { notes, channel, store, logger } = this.deps;
    if (!notes || !channel.flushNotes) return false;
    // One request's lines that keep failing (its message deleted in Slack) must not hold up the others':
    // the run goes on past a failure and stops only when Slack fails several times in a row.
    let failures = 0;
    for (const approvalId of await notes.pending(this.deps.maxPerRun ?? DEFAULT_MAX_PER_RUN)) {
      const record = await store.get(approvalId);
      // Without a message there is no thread yet: its lines wait until it is posted (or expire).
      if (!record?.slackMessage) continue;
      await this.pace();
      try {
        const count = await withTimeout(
          channel.flushNotes(record),
          this.deps.channelTimeoutMs ?? 10_000,
          'Slack did not answer in time',
        );
        if (count > 0) logger.info('queued thread lines posted', { approvalId, count });
        failures = 0;
      } catch (error) {
        logger.warn('queued thread lines not posted; kept for the next run', { approvalId, error });
        failures += 1;
        if (failures >= MAX_NOTE_FAILURES) return true;
      }
    }
    return false;
  }

  /** Posts one batch of the backlog, oldest first; how it ended. */
  private async drainBatch(
    backlog: readonly { approvalId: string; since: string; queued?: boolean }[],
    endsAt: number,
    tally: { posted: string[]; tampered: string[]; cleared: number },
  ): Promise<'ok' | 'slack-down' | 'rate-limited'> {
    const { store, channel, logger } = this.deps;
    const { posted, tampered } = tally;
    for (const { approvalId, since, queued } of backlog) {
      const record = await store.get(approvalId);
      if (!record) continue;
      if (!record.slackMessage && record.status !== 'PENDING') {
        // Ended while Slack could not be reached (decided by e-mail, expired, failed): the channel is the
        // audit trail, so the outcome goes there, without buttons, once Slack answers again.
        const outcome = await this.postEnded(record, since);
        if (outcome === 'slack-down') {
          return 'slack-down';
        }
        if (outcome === 'posted') posted.push(approvalId);
        else if (outcome === 'tampered') tampered.push(approvalId);
        else tally.cleared += 1;
        continue;
      }
      if (
        record.slackMessage ||
        record.taskToken === undefined ||
        Date.parse(record.deadline) <= this.now().getTime()
      ) {
        // Posted meanwhile, never resumable, or past its deadline (its expiry step shows it).
        if (!record.slackMessage && record.taskToken !== undefined)
          await this.alertNeverPosted(record, since);
        await store.clearSlackWatch(approvalId);
        tally.cleared += 1;
        continue;
      }
      if (!(await this.sealed(record, true, tampered))) continue;
      const outcome = await this.deliverPaced(record, endsAt);
      if (outcome === undefined) {
        logger.info('Slack rate limit outlasts this run; backlog left for the next', { approvalId });
        return 'rate-limited';
      }
      if (outcome.kind === 'busy' || outcome.kind === 'already-posted') continue;
      if (outcome.kind === 'failed') {
        // Still down: nothing more this run; the backlog is as it was.
        logger.warn('Slack still unavailable; backlog left for the next run', {
          approvalId,
          error: outcome.error,
        });
        return 'slack-down';
      }
      const { record: stored, ref } = outcome;
      await store.watchPosted(approvalId);
      posted.push(approvalId);
      try {
        if (stored.slackMessage?.ts !== ref.ts || stored.slackMessage.channel !== ref.channel) {
          // Another message was recorded in between (a decision shown): this copy decides nothing.
          await channel.showState({ ...stored, slackMessage: ref }, SUPERSEDED_NOTE);
          continue;
        }
        // Only queued (a burst under Slack's rate limit): nothing went wrong, and a note would be one more
        // post in the channel everyone waits on.
        if (!queued) {
          await this.pace();
          await channel.note(stored, postedLateNote(since));
        }
        // Decided between the read and the post: the new message must not keep its buttons.
        if (stored.status !== 'PENDING') await channel.showState(stored);
      } catch (error) {
        logger.warn('late request posted, but its thread note failed', { approvalId, error });
      }
      logger.info('request posted late to Slack', { approvalId, since });
    }
    return 'ok';
  }

  /**
   * Posts the final state of a request that ended before Slack ever showed it (no buttons: it is no
   * longer PENDING), records the message and notes why it is late. A record whose seals do not verify is
   * alerted instead of shown.
   */
  private async postEnded(
    record: ApprovalRecord,
    since: string,
  ): Promise<'posted' | 'tampered' | 'slack-down' | 'gone'> {
    const { store, channel, logger } = this.deps;
    if (!(await this.sealed(record, true, []))) return 'tampered';
    let ref: MessageRef;
    try {
      ref = await withTimeout(
        channel.showState(record),
        this.deps.channelTimeoutMs ?? 10_000,
        'Slack did not answer in time',
      );
    } catch (error) {
      logger.warn('Slack still unavailable; backlog left for the next run', {
        approvalId: record.approvalId,
        error,
      });
      return 'slack-down';
    }
    const stored = await store.setSlackMessage(record.approvalId, ref);
    await store.clearSlackWatch(record.approvalId);
    if (stored.slackMessage?.ts !== ref.ts || stored.slackMessage.channel !== ref.channel) return 'gone';
    try {
      await channel.note(stored, endedLateNote(since));
    } catch (error) {
      logger.warn('late outcome posted, but its thread note failed', {
        approvalId: record.approvalId,
        error,
      });
    }
    logger.info('outcome posted late to Slack', { approvalId: record.approvalId, since });
    return 'posted';
  }

  /**
   * Shows a PENDING record on its message again: `message_not_found` means it was deleted, so it is posted
   * again. A decision taken meanwhile may have updated the message just before: the record is read again
   * after, and a newer one shown, so the message ends as the record is.
   */
  private async check(record: ApprovalRecord): Promise<'found' | 'reposted' | 'slack-down'> {
    const { store, channel, logger } = this.deps;
    const timeout = this.deps.channelTimeoutMs ?? 10_000;
    const { approvalId } = record;
    let outcome: 'found' | 'reposted' = 'found';
    try {
      const shown = await withTimeout(channel.showState(record), timeout, 'Slack did not answer in time');
      // A group's message deleted in Slack is posted again by the channel itself (once for the page,
      // whoever sees it first), its records moved to the new message: shown elsewhere means reposted.
      if (record.slackMessage?.groupId && shown.ts !== record.slackMessage.ts) {
        logger.warn('group message deleted in Slack; posted again', { approvalId });
        return 'reposted';
      }
    } catch (error) {
      if (!(error instanceof SlackApiError && error.code === 'message_not_found')) {
        logger.warn('Slack unavailable; request messages checked again next run', { approvalId, error });
        return 'slack-down';
      }
      try {
        await withTimeout(repostDeleted(store, channel, record), timeout, 'Slack did not answer in time');
      } catch (repostError) {
        logger.warn('deleted request message not posted again', { approvalId, error: repostError });
        return 'slack-down';
      }
      logger.warn('request message deleted in Slack; posted again', { approvalId });
      outcome = 'reposted';
    }
    const current = await store.get(approvalId);
    if (current && outcome === 'found' && current.updatedAt !== record.updatedAt) {
      try {
        await withTimeout(channel.showState(current), timeout, 'Slack did not answer in time');
      } catch (error) {
        logger.warn('request message not brought up to date', { approvalId, error });
      }
    }
    return outcome;
  }

  /** A PENDING request whose deadline came before Slack ever showed it: said loudly, once. */
  private async alertNeverPosted(record: ApprovalRecord, since: string): Promise<void> {
    const { notifier, logger, metrics } = this.deps;
    logger.error('approval request reached its deadline never posted to Slack', {
      approvalId: record.approvalId,
      since,
    });
    metrics?.count('SlackNeverPosted');
    await notifier.notify({
      subject: `PolicyGate ALERT: approval ${record.approvalId} was never shown in Slack`,
      message: [
        `The approval request ${record.approvalId} waited for Slack from ${since} until its deadline (${record.deadline}) and was never posted: Slack kept refusing or could not be reached.`,
        'Approvers only had the e-mail. The change stays quarantined unless it was decided by e-mail; check the Slack app and the delivery worker (the slackDelivery function and its schedule).',
        `The change: ${record.change.eventName} on ${safeTarget(record)}, event ${record.change.eventId}.`,
      ].join('\n'),
      severity: 'alert',
    });
  }

  /**
   * Whether the record's seals (and its quarantine seal, when `quarantine`) verify. A record that fails
   * them is alerted, taken off its Slack list and added to `tampered`: it is never shown to approvers.
   */
  private async sealed(record: ApprovalRecord, quarantine: boolean, tampered: string[]): Promise<boolean> {
    const check = await this.deps.seals.check(record, { quarantine });
    if (check.ok) return true;
    await this.alertTampered(record, check.problem);
    await this.deps.store.clearSlackWatch(record.approvalId);
    tampered.push(record.approvalId);
    return false;
  }

  private async alertTampered(record: ApprovalRecord, problem: string): Promise<void> {
    const { notifier, logger } = this.deps;
    logger.error('unposted request not posted: its seals do not verify', {
      approvalId: record.approvalId,
      problem,
    });
    await notifier.notify({
      subject: `PolicyGate ALERT: approval ${record.approvalId} was changed outside PolicyGate`,
      message: [
        `The approval request ${record.approvalId} did not reach Slack when it was made, and was not posted now: ${problem}.`,
        'Someone changed the approval record outside PolicyGate. It cannot be approved from Slack; the change stays quarantined and it will not be restored. Find out who wrote to the approvals table.',
        `What the record claims: ${record.change.eventName} on ${safeTarget(record)}, event ${record.change.eventId}.`,
      ].join('\n'),
      severity: 'alert',
    });
  }
}

function safeTarget(record: ApprovalRecord): string {
  try {
    return describeTarget(record.change.target);
  } catch {
    return 'an unreadable target';
  }
}
