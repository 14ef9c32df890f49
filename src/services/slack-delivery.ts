import type { ApprovalStore } from '../adapters/approval-store';
import type { ApprovalRecord, MessageRef } from '../domain/approval';
import { GroupMessagePendingError, SlackApiError } from '../errors';
import type { Logger } from '../logger';
import { outcomeUnknown, rateLimitWaitMs } from '../slack/call-outcome';
import type { ApprovalChannel } from './approval-channel';

/** What one {@link SlackRequestDelivery.deliver} did. */
export type DeliveryOutcome =
  /** Posted now, or an earlier post found in the channel and adopted (`adopted`). */
  | {
      readonly kind: 'posted';
      readonly record: ApprovalRecord;
      readonly ref: MessageRef;
      readonly adopted: boolean;
    }
  /** A message was recorded already (by an earlier attempt or another poster): nothing posted. */
  | { readonly kind: 'already-posted' }
  /**
   * Another attempt holds the claim, or (a grouped request) its group's message is not posted yet:
   * nothing posted; it (or the delivery worker) will.
   */
  | { readonly kind: 'busy' }
  /** Slack said to wait (HTTP 429): nothing posted. */
  | { readonly kind: 'rate-limited'; readonly waitMs: number }
  /** Slack refused, failed, or did not answer; `unknownOutcome` when it may have posted. */
  | { readonly kind: 'failed'; readonly error: unknown; readonly unknownOutcome: boolean };

export interface SlackRequestDeliveryDependencies {
  readonly store: Pick<ApprovalStore, 'claimSlackPost' | 'releaseSlackPost' | 'setSlackMessage'>;
  readonly channel: ApprovalChannel;
  readonly logger: Logger;
  /** How long one attempt holds the claim; longer than a post can take. Default 60 s. */
  readonly claimMs?: number;
  /** The shortest wait after a 429 (the channel's pacing); default 1 s. */
  readonly minRateLimitWaitMs?: number;
  readonly now?: () => Date;
}

const DEFAULT_CLAIM_MS = 60_000;

/**
 * Posts an approval request to Slack at most once. chat.postMessage has no idempotency key and an attempt
 * whose answer is lost (timeout, reset, 5xx) may have posted, so every attempt first claims the record
 * (one poster at a time, whoever it is: the request step, a retried step, the delivery worker), and an
 * attempt after one of unknown outcome searches the channel for the message by its metadata before
 * posting. A message found is adopted only after it is updated with the request's real content: anyone
 * with the bot token could have planted one that looks like it.
 */
export class SlackRequestDelivery {
  private readonly now: () => Date;

  constructor(private readonly deps: SlackRequestDeliveryDependencies) {
    this.now = deps.now ?? (() => new Date());
  }

  async deliver(record: ApprovalRecord): Promise<DeliveryOutcome> {
    const { store, logger } = this.deps;
    const { approvalId } = record;
    if (record.slackMessage) return { kind: 'already-posted' };
    const now = this.now();
    const until = new Date(now.getTime() + (this.deps.claimMs ?? DEFAULT_CLAIM_MS));
    const claim = await store.claimSlackPost(approvalId, now.toISOString(), until.toISOString());
    if (!claim.claimed) return claim.reason === 'busy' ? { kind: 'busy' } : { kind: 'already-posted' };
    // Whether an earlier attempt that may have posted is ruled out (none, or searched for and not found).
    let resolved = claim.uncertainSince === undefined;
    try {
      if (claim.uncertainSince !== undefined) {
        const found = await this.find(record, claim.uncertainSince);
        if (found === 'cannot-look') {
          logger.warn(
            'cannot search Slack for an earlier post of unknown outcome; posting (it may show twice)',
            {
              approvalId,
            },
          );
        } else if (found !== undefined) {
          const adopted = await this.adopt(record, found);
          if (adopted) return adopted;
        }
        resolved = true;
      }
      const ref = await this.deps.channel.postRequest(record);
      const stored = await store.setSlackMessage(approvalId, ref);
      return { kind: 'posted', record: stored, ref, adopted: false };
    } catch (error) {
      if (error instanceof GroupMessagePendingError) {
        // Its group's message is another attempt's to post first: nothing was posted by this one.
        await store.releaseSlackPost(approvalId, resolved ? 'not-posted' : 'unknown');
        return { kind: 'busy' };
      }
      const waitMs = rateLimitWaitMs(error, this.deps.minRateLimitWaitMs ?? 1_000);
      const unknownOutcome = waitMs === undefined && outcomeUnknown(error);
      await store.releaseSlackPost(approvalId, resolved && !unknownOutcome ? 'not-posted' : 'unknown');
      if (waitMs !== undefined) return { kind: 'rate-limited', waitMs };
      return { kind: 'failed', error, unknownOutcome };
    }
  }

  /** The earlier post, `undefined` when there is none, `cannot-look` when the app may not search. */
  private async find(record: ApprovalRecord, since: string): Promise<MessageRef | undefined | 'cannot-look'> {
    const { channel } = this.deps;
    if (!channel.findRequest) return 'cannot-look';
    try {
      return await channel.findRequest(record, since);
    } catch (error) {
      // An install without the history scopes (or a channel the bot cannot read): posting twice is
      // better than never posting; every other failure ends this attempt.
      if (error instanceof SlackApiError && CANNOT_LOOK.has(error.code)) return 'cannot-look';
      throw error;
    }
  }

  /**
   * Takes over the message an earlier attempt posted: replaces its content with the request's own, then
   * records it. `undefined` when it is gone or not the bot's to update (then a new one is posted).
   */
  private async adopt(record: ApprovalRecord, found: MessageRef): Promise<DeliveryOutcome | undefined> {
    const { channel, store, logger } = this.deps;
    let shown: MessageRef;
    try {
      // A group's post may have been recorded otherwise meanwhile (a member took over and found another
      // post of the page first): the message the group shows it on is the one recorded.
      shown = await channel.showState({ ...record, slackMessage: found });
    } catch (error) {
      if (error instanceof SlackApiError && NOT_ADOPTABLE.has(error.code)) return undefined;
      throw error;
    }
    const ref = found.groupId ? shown : found;
    const stored = await store.setSlackMessage(record.approvalId, ref);
    logger.warn('request found in Slack after a post of unknown outcome; adopted, not posted again', {
      approvalId: record.approvalId,
    });
    return { kind: 'posted', record: stored, ref, adopted: true };
  }
}

const CANNOT_LOOK = new Set(['missing_scope', 'not_in_channel', 'channel_not_found']);
const NOT_ADOPTABLE = new Set(['message_not_found', 'cant_update_message']);
