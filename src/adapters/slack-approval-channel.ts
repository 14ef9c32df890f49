import type { ApprovalRecord, MessageRef } from '../domain/approval';
import type { Notice } from '../domain/notices';
import type { ApprovalChannel } from '../services/approval-channel';
import { rateLimitWaitMs, slackCall, type WebClient } from '../slack/client';
import {
  approvalRequestMessage,
  auditReply,
  decisionHeadline,
  resolvedMessage,
} from '../slack/messages/approval-message';
import { plainText } from '../slack/messages/mrkdwn';
import { noticeMessage } from '../slack/messages/notice-message';
import { statusHeadline } from '../slack/messages/status-headline';

/**
 * {@link ApprovalChannel} over the Slack Web API: `chat.postMessage` for the request and its thread,
 * `chat.update` to replace the buttons with the outcome, `chat.postEphemeral` for replies to one person.
 * Failures throw {@link SlackApiError}; the callers decide whether that may stop them (it never stops a
 * decision or a restore).
 */
export class SlackApprovalChannel implements ApprovalChannel {
  private botId: Promise<string | undefined> | undefined;

  constructor(
    private readonly client: () => Promise<WebClient>,
    private readonly channelId: string,
    private readonly options: SlackApprovalChannelOptions = {},
  ) {}

  /**
   * One attempt, never retried here (chat.postMessage is not idempotent): the message carries the approval
   * id as metadata, so a post whose answer was lost can be found again ({@link findRequest}).
   */
  async postRequest(record: ApprovalRecord): Promise<MessageRef> {
    const client = await this.client();
    return this.postOnce(client, approvalRequestMessage(record), requestMetadata(record.approvalId));
  }

  /**
   * The request message of `approvalId` PolicyGate's bot posted in the channel since `since` (ISO time,
   * looked at from two minutes earlier for clock skew), by its metadata; at most {@link HISTORY_PAGES}
   * pages. A message with the metadata but another author is never taken.
   */
  async findRequest(record: ApprovalRecord, since: string): Promise<MessageRef | undefined> {
    const { approvalId } = record;
    const client = await this.client();
    const botId = await this.ownBotId(client);
    const oldest = Math.max(0, Date.parse(since) / 1000 - HISTORY_SKEW_SECONDS).toFixed(6);
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page += 1) {
      const result = await slackCall('conversations.history', () =>
        client.conversations.history({
          channel: this.channelId,
          oldest,
          limit: HISTORY_PAGE_SIZE,
          include_all_metadata: true,
          ...(cursor && { cursor }),
        }),
      );
      for (const message of result.messages ?? []) {
        const metadata = message.metadata as
          | { event_type?: unknown; event_payload?: Record<string, unknown> }
          | undefined;
        if (
          metadata?.event_type === REQUEST_EVENT_TYPE &&
          metadata.event_payload?.approval_id === approvalId &&
          botId !== undefined &&
          message.bot_id === botId &&
          typeof message.ts === 'string'
        ) {
          return { channel: this.channelId, ts: message.ts };
        }
      }
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!result.has_more || !cursor) break;
    }
    return undefined;
  }

  async showState(record: ApprovalRecord, event?: string, formatted = false): Promise<MessageRef> {
    const message =
      record.status === 'PENDING'
        ? approvalRequestMessage(record)
        : resolvedMessage(record, statusHeadline(record));
    let ref = record.slackMessage;
    if (ref) {
      const { channel, ts } = ref;
      const client = await this.client();
      await slackCall('chat.update', () =>
        client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never }),
      );
    } else {
      ref = await this.post(message);
    }
    if (event !== undefined) await this.reply(ref, record, event, formatted);
    return ref;
  }

  async note(record: ApprovalRecord, event: string, formatted = false): Promise<void> {
    if (record.slackMessage) await this.reply(record.slackMessage, record, event, formatted);
  }

  async showDecision(record: ApprovalRecord): Promise<MessageRef> {
    return this.showState(record, record.decision ? decisionHeadline(record.decision) : undefined, true);
  }

  async tell(userId: string, text: string, record?: ApprovalRecord): Promise<void> {
    const client = await this.client();
    const channel = record?.slackMessage?.channel ?? this.channelId;
    await slackCall('chat.postEphemeral', () => client.chat.postEphemeral({ channel, user: userId, text }));
  }

  async postNotice(notice: Notice): Promise<MessageRef> {
    return this.post(noticeMessage(notice));
  }

  private async reply(
    ref: MessageRef,
    record: ApprovalRecord,
    event: string,
    formatted: boolean,
  ): Promise<void> {
    const client = await this.client();
    await this.whileRateLimited(() =>
      slackCall('chat.postMessage', () =>
        client.chat.postMessage({
          channel: ref.channel,
          thread_ts: ref.ts,
          text: auditReply(record, formatted ? event : plainText(event, 2_000)),
          unfurl_links: false,
          unfurl_media: false,
        }),
      ),
    );
  }

  /** A post that is not a request (a notice, a late outcome): retried only on a rate limit. */
  private async post(message: { text: string; blocks: unknown[] }): Promise<MessageRef> {
    const client = await this.client();
    return this.whileRateLimited(() => this.postOnce(client, message));
  }

  private async postOnce(
    client: WebClient,
    message: { text: string; blocks: unknown[] },
    metadata?: { event_type: string; event_payload: Record<string, string> },
  ): Promise<MessageRef> {
    const result = await slackCall('chat.postMessage', () =>
      client.chat.postMessage({
        channel: this.channelId,
        text: message.text,
        blocks: message.blocks as never,
        unfurl_links: false,
        unfurl_media: false,
        ...(metadata && { metadata }),
      }),
    );
    if (!result.ts || !result.channel) {
      throw new Error('chat.postMessage answered ok without channel and ts');
    }
    return { channel: result.channel, ts: result.ts };
  }

  /**
   * Retries `call` after each 429 (Slack did not post), waiting its `Retry-After`, for at most
   * `rateLimitBudgetMs` in all; then the rate limit is the caller's.
   */
  private async whileRateLimited<T>(call: () => Promise<T>): Promise<T> {
    const budget = this.options.rateLimitBudgetMs ?? DEFAULT_RATE_LIMIT_BUDGET_MS;
    const sleep = this.options.sleep ?? defaultSleep;
    let waited = 0;
    for (;;) {
      try {
        return await call();
      } catch (error) {
        const wait = rateLimitWaitMs(error, 0);
        if (wait === undefined || waited + wait > budget) throw error;
        waited += wait;
        await sleep(wait);
      }
    }
  }

  /** The bot's own `bot_id` (auth.test), asked once; `undefined` when Slack does not say. */
  private ownBotId(client: WebClient): Promise<string | undefined> {
    this.botId ??= slackCall('auth.test', () => client.auth.test()).then(
      (identity) => identity.bot_id,
      (error: unknown) => {
        this.botId = undefined;
        throw error;
      },
    );
    return this.botId;
  }
}

export interface SlackApprovalChannelOptions {
  /** How long a thread reply or notice may wait on rate limits in all; default 10 s. */
  readonly rateLimitBudgetMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The metadata event type of PolicyGate's request messages. */
export const REQUEST_EVENT_TYPE = 'policy_gate_request';
const DEFAULT_RATE_LIMIT_BUDGET_MS = 10_000;
const HISTORY_SKEW_SECONDS = 120;
// conversations.history is Tier 3 (50+ per minute) for internal apps and takes up to 999 per page; 200
// is Slack's recommendation. A commercially distributed non-Marketplace app gets 1 call a minute and 15.
const HISTORY_PAGE_SIZE = 200;
const HISTORY_PAGES = 3;

/** Only the approval id: metadata is readable by anyone who can read the channel's history. */
function requestMetadata(approvalId: string): { event_type: string; event_payload: Record<string, string> } {
  return { event_type: REQUEST_EVENT_TYPE, event_payload: { approval_id: approvalId } };
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
