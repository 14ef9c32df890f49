import type { ApprovalRecord, MessageRef } from '../domain/approval';
import type { Notice } from '../domain/notices';
import type { ApprovalChannel } from '../services/approval-channel';
import { slackCall, type WebClient } from '../slack/client';
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
  constructor(
    private readonly client: () => Promise<WebClient>,
    private readonly channelId: string,
  ) {}

  async postRequest(record: ApprovalRecord): Promise<MessageRef> {
    return this.post(approvalRequestMessage(record));
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
    await slackCall('chat.postMessage', () =>
      client.chat.postMessage({
        channel: ref.channel,
        thread_ts: ref.ts,
        text: auditReply(record, formatted ? event : plainText(event, 2_000)),
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
  }

  private async post(message: { text: string; blocks: unknown[] }): Promise<MessageRef> {
    const client = await this.client();
    const result = await slackCall('chat.postMessage', () =>
      client.chat.postMessage({
        channel: this.channelId,
        text: message.text,
        blocks: message.blocks as never,
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (!result.ts || !result.channel) {
      throw new Error('chat.postMessage answered ok without channel and ts');
    }
    return { channel: result.channel, ts: result.ts };
  }
}
