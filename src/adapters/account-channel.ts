import type { ApprovalRecord, MessageRef } from '../domain/approval';
import type { Notice } from '../domain/notices';
import { SlackApiError } from '../errors';
import type { ApprovalChannel } from '../services/approval-channel';
import type { AccountContextSource } from './account-approver-directory';

/**
 * The request channel of the record's account: its entry's or nearest OU's Slack channel, else the
 * stage's (issue 13). A request already posted stays where it is (its message names its channel); notices
 * about no approval go to the stage's channel. One channel object per Slack channel.
 */
export class AccountRoutedChannel implements ApprovalChannel {
  private readonly channels = new Map<string, ApprovalChannel>();

  constructor(
    private readonly stage: ApprovalChannel,
    private readonly stageChannelId: string | undefined,
    private readonly channelFor: (channelId: string) => ApprovalChannel,
    private readonly contextOf: AccountContextSource,
  ) {}

  async postRequest(record: ApprovalRecord): Promise<MessageRef> {
    return (await this.pick(record)).postRequest(record);
  }

  /** Looks where the request was posted: the channel its account's settings name (or the stage's). */
  async findRequest(record: ApprovalRecord, since: string): Promise<MessageRef | undefined> {
    const channel = await this.pick(record);
    // Every channel here is Slack's; one that could not search is treated as the app lacking the scope.
    if (!channel.findRequest) throw new SlackApiError('conversations.history', 'missing_scope');
    return channel.findRequest(record, since);
  }

  async showState(record: ApprovalRecord, event?: string, formatted?: boolean): Promise<MessageRef> {
    return (await this.pick(record)).showState(record, event, formatted);
  }

  async note(record: ApprovalRecord, event: string, formatted?: boolean): Promise<void> {
    return (await this.pick(record)).note(record, event, formatted);
  }

  async queueNote(record: ApprovalRecord, event: string, formatted?: boolean): Promise<void> {
    const channel = await this.pick(record);
    return channel.queueNote
      ? channel.queueNote(record, event, formatted)
      : channel.note(record, event, formatted);
  }

  async flushNotes(record: ApprovalRecord): Promise<number> {
    const channel = await this.pick(record);
    return channel.flushNotes ? channel.flushNotes(record) : 0;
  }

  async showDecision(record: ApprovalRecord): Promise<MessageRef> {
    return (await this.pick(record)).showDecision(record);
  }

  async tell(userId: string, text: string, record?: ApprovalRecord): Promise<void> {
    return (record ? await this.pick(record) : this.stage).tell(userId, text, record);
  }

  postNotice(notice: Notice): Promise<MessageRef> {
    return this.stage.postNotice(notice);
  }

  private async pick(record: ApprovalRecord): Promise<ApprovalChannel> {
    // A posted request is updated where it was posted, whatever the settings say now.
    const id = record.slackMessage?.channel ?? (await this.contextOf(record.change.accountId)).slackChannelId;
    if (id === undefined || id === this.stageChannelId) return this.stage;
    let channel = this.channels.get(id);
    if (!channel) {
      channel = this.channelFor(id);
      this.channels.set(id, channel);
    }
    return channel;
  }
}
