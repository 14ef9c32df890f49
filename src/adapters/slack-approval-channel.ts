import type { ApprovalRecord, MessageRef } from '../domain/approval';
import type { Notice } from '../domain/notices';
import { groupIdOf, posterOf } from '../domain/slack-group';
import { GroupMessagePendingError, PolicyGateError, SlackApiError } from '../errors';
import type { ApprovalChannel } from '../services/approval-channel';
import { outcomeUnknown, rateLimitWaitMs, slackCall, type WebClient } from '../slack/client';
import {
  approvalRequestMessage,
  auditReply,
  decisionHeadline,
  resolvedMessage,
} from '../slack/messages/approval-message';
import { groupRequestMessage, layoutGroupPages } from '../slack/messages/group-message';
import { plainText } from '../slack/messages/mrkdwn';
import { noticeMessage } from '../slack/messages/notice-message';
import { statusHeadline } from '../slack/messages/status-headline';
import type { PostPacer } from '../slack/post-pacer';
import type { ApprovalStore } from './approval-store';
import type { GroupPage, SlackGroupStore, StoredSlackGroup } from './slack-group-store';
import type { SlackNoteOutbox } from './slack-note-outbox';

/**
 * {@link ApprovalChannel} over the Slack Web API: `chat.postMessage` for the request and its thread,
 * `chat.update` to replace the buttons with the outcome, `chat.postEphemeral` for replies to one person.
 * Failures throw {@link SlackApiError}; the callers decide whether that may stop them (it never stops a
 * decision or a restore).
 */
export class SlackApprovalChannel implements ApprovalChannel {
  private botId: Promise<string | undefined> | undefined;
  /** Seal verdicts by record version ({@link trusted}). */
  private readonly trust = new Map<string, boolean>();

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
    const groupId = this.groupOf(record);
    if (groupId) return this.showMember(record, groupId);
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
    const ownGroup = this.groupOf(record);
    let found: MessageRef | undefined;
    await this.searchHistory(since, (payload, ts) => {
      if (payload.approval_id !== approvalId) return false;
      // A group's message carries its group: adopting it redraws the whole message, not this request
      // alone. Only the request's own group counts; a message naming another is not this request's.
      const groupId = payload.group_id;
      if (groupId === undefined) {
        found = { channel: this.channelId, ts };
        return true;
      }
      if (typeof groupId === 'string' && GROUP_ID_FORMAT.test(groupId) && groupId === ownGroup) {
        found = { channel: this.channelId, ts, groupId };
        return true;
      }
      return false;
    });
    return found;
  }

  /**
   * The first message PolicyGate's bot posted in the channel since `since` (ISO time, looked at from two
   * minutes earlier for clock skew) whose request metadata `matches`; at most {@link HISTORY_PAGES}
   * pages. A message with the metadata but another author is never taken.
   */
  private async searchHistory(
    since: string,
    matches: (payload: Record<string, unknown>, ts: string) => boolean,
  ): Promise<MessageRef | undefined> {
    const client = await this.client();
    const botId = await this.ownBotId(client);
    if (botId === undefined) return undefined;
    const from = Date.parse(since);
    const oldest = Math.max(0, (Number.isNaN(from) ? 0 : from / 1000) - HISTORY_SKEW_SECONDS).toFixed(6);
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
          metadata.event_payload &&
          message.bot_id === botId &&
          typeof message.ts === 'string' &&
          matches(metadata.event_payload, message.ts)
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
    let ref = record.slackMessage;
    const groupId = ref ? ref.groupId : this.groupOf(record);
    if (groupId && this.options.grouping) {
      // A group's message: redrawn with every request it lists, this one as given.
      try {
        ref = await this.showMember(record, groupId);
      } catch (error) {
        // A redraw Slack refused (its Tier 3 limit, under a burst of decisions on one message) is done
        // later by the delivery worker, so the message never stays behind its records.
        const { notes } = this.options;
        if (notes && record.slackMessage) {
          await notes.add(record.approvalId, { text: '', redraw: true }, record.ttl);
          // And its thread line after it, in order, rather than lost with the redraw.
          if (event !== undefined) {
            await notes.add(
              record.approvalId,
              { text: this.auditText(record, event, formatted) },
              record.ttl,
            );
          }
        }
        throw error;
      }
    } else if (ref) {
      const message = this.viewOf(record);
      const { channel, ts } = ref;
      const client = await this.client();
      await slackCall('chat.update', () =>
        client.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never }),
      );
    } else {
      ref = await this.post(this.viewOf(record));
    }
    if (event !== undefined) await this.reply(ref, record, event, formatted);
    return ref;
  }

  async note(record: ApprovalRecord, event: string, formatted = false): Promise<void> {
    if (record.slackMessage) await this.reply(record.slackMessage, record, event, formatted);
  }

  /**
   * Queues `event` for the request's thread without posting it: a click answers Slack without waiting on
   * the channel's posting limit. The next thread post for the request, or the delivery worker
   * ({@link flushNotes}), posts it. Without an outbox it is posted at once, as {@link note} does.
   */
  async queueNote(record: ApprovalRecord, event: string, formatted = false): Promise<void> {
    const { notes } = this.options;
    if (!record.slackMessage) return;
    if (!notes) return this.note(record, event, formatted);
    await notes.add(record.approvalId, { text: this.auditText(record, event, formatted) }, record.ttl);
  }

  /** Posts the request's queued thread lines, oldest first; how many were posted. */
  async flushNotes(record: ApprovalRecord): Promise<number> {
    if (!record.slackMessage) return 0;
    return (await this.flushQueued(record.slackMessage, record)) ?? 0;
  }

  /**
   * The message shows the decision: `chat.update` only (Slack's Tier 3, never the channel's
   * one-post-a-second limit), so a click is answered fast. Its thread line ("Approved by …") is queued
   * for the workflow's next step (restore, denial), which posts it before its own line.
   */
  async showDecision(record: ApprovalRecord): Promise<MessageRef> {
    const event = record.decision ? decisionHeadline(record.decision) : undefined;
    if (!this.options.notes || !record.slackMessage) return this.showState(record, event, true);
    const ref = await this.showState(record);
    if (event !== undefined) await this.queueNote(record, event, true);
    return ref;
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
    const text = this.auditText(record, event, formatted);
    const { notes } = this.options;
    let flushed: number | undefined;
    try {
      // Lines queued before this one (a click's decision, a refusal) go first, in order.
      flushed = await this.flushQueued(ref, record);
      if (flushed !== undefined) await this.postReply(ref, text);
    } catch (error) {
      // Never lost: the line waits in the outbox for the next post or the delivery worker.
      if (notes) await notes.add(record.approvalId, { text }, record.ttl);
      throw error;
    }
    // Another poster is posting the queued lines: this one goes after them, through the outbox.
    if (flushed === undefined && notes) await notes.add(record.approvalId, { text }, record.ttl);
  }

  private auditText(record: ApprovalRecord, event: string, formatted: boolean): string {
    return auditReply(record, formatted ? event : plainText(event, 2_000));
  }

  private async postReply(ref: MessageRef, text: string): Promise<void> {
    const client = await this.client();
    await this.whileRateLimited(async () => {
      await this.options.pacer?.turn(ref.channel);
      return slackCall('chat.postMessage', () =>
        client.chat.postMessage({
          channel: ref.channel,
          thread_ts: ref.ts,
          text,
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
    });
  }

  /**
   * Posts the request's queued lines in its thread, under the outbox's claim (one poster at a time, so
   * none is posted twice); each is taken off the outbox once posted. `undefined` when another poster
   * holds the claim: it posts them.
   */
  private async flushQueued(ref: MessageRef, record: ApprovalRecord): Promise<number | undefined> {
    const { notes } = this.options;
    if (!notes) return 0;
    // Most threads have nothing queued: one read, no claim written.
    if ((await notes.get(record.approvalId)).length === 0) return 0;
    const now = this.now();
    const until = new Date(now + NOTE_CLAIM_MS).toISOString();
    const queued = await notes.take(record.approvalId, new Date(now).toISOString(), until);
    if (queued === undefined) return undefined;
    if (queued.length === 0) return 0;
    let posted = 0;
    try {
      for (const note of queued) {
        if (note.forged || (!note.redraw && note.text === '')) {
          // Written outside PolicyGate (the outbox reported it), or nothing to say: taken off, not posted.
        } else if (note.redraw) {
          // A redraw that failed earlier: the message as its records are now.
          if (ref.groupId) await this.showMember(record, ref.groupId);
        } else {
          await this.postReply(ref, note.text);
        }
        posted += 1;
      }
    } finally {
      await notes.done(record.approvalId, posted, until);
    }
    return posted;
  }

  private viewOf(record: ApprovalRecord) {
    return record.status === 'PENDING'
      ? approvalRequestMessage(record)
      : resolvedMessage(record, statusHeadline(record));
  }

  /** The group a new request of this channel joins; `undefined` when grouping is off or it cannot be. */
  private groupOf(record: ApprovalRecord): string | undefined {
    const { grouping } = this.options;
    return grouping && groupIdOf(record, this.channelId, grouping.windowSeconds);
  }

  /**
   * Shows a request as a member of its group: joins it (one atomic write; a second join is a no-op),
   * places it on the group's last message while that fits Slack's limits (a new message otherwise), and
   * redraws that message with every request it lists. The page's poster (its first request, unless a
   * member took over) posts it, with its own approval id as metadata so a post whose answer was lost is
   * found again; the others update it, waiting a little for that post, else
   * {@link GroupMessagePendingError}. A member takes over a page whose poster cannot post (see
   * {@link takeOver}), so a request never waits on another that will never be shown.
   */
  private async showMember(record: ApprovalRecord, groupId: string): Promise<MessageRef> {
    const grouping = this.requireGrouping();
    const { approvalId } = record;
    const sleep = this.options.sleep ?? defaultSleep;
    const waitUntil = Date.now() + (grouping.pageWaitMs ?? DEFAULT_PAGE_WAIT_MS);
    // A request already on a message of its group is not joined again (a write for nothing).
    let group = record.slackMessage?.groupId
      ? await grouping.groups.get(groupId)
      : await grouping.groups.join(groupId, approvalId, record.ttl);
    if (!group) throw new PolicyGateError(`Slack group ${groupId} is gone`);
    // Whether each poster seen could post, asked once per attempt (not on every poll of the wait).
    const checked = new Map<string, boolean>();
    for (;;) {
      group = await this.place(group, record);
      const index = group.pages.findIndex((p) => p.members.includes(approvalId));
      const page = group.pages[index];
      if (!page) throw new PolicyGateError(`request ${approvalId} is not on any message of its group`);
      // A message of this page found deleted in Slack is never adopted or drawn again.
      const known =
        record.slackMessage && !page.deleted?.includes(record.slackMessage.ts)
          ? record.slackMessage
          : undefined;
      if (page.message) {
        // Shown already by a redraw since it was placed (a burst's members, drawn by one update):
        // no update of its own, which Slack's Tier 3 limit would make the burst wait for.
        const drawnAlready =
          !known && record.status === 'PENDING' && page.members.indexOf(approvalId) < (page.drawn ?? 0);
        let drawn = true;
        try {
          if (!drawnAlready) drawn = await this.drawPage(group, page.message, record);
        } catch (error) {
          if (!(error instanceof SlackApiError && error.code === 'message_not_found')) throw error;
          // Deleted in Slack: posted again once (whoever wins the write that retires it), then shown there.
          const reposted = await this.repostPage(groupId, page.message, record);
          if (reposted) return reposted;
          group = (await grouping.groups.get(groupId)) ?? group;
          continue;
        }
        if (!drawn) {
          // Another redraw of the message is under way: it reads the records after its claim ends, so
          // it shows this request too; waited for (as drawn) a little, else the worker's.
          if (Date.now() >= waitUntil) {
            throw new GroupMessagePendingError(
              `the message of request ${approvalId}'s group is being redrawn`,
            );
          }
          await sleep(PAGE_POLL_MS);
          group = (await grouping.groups.get(groupId)) ?? group;
          continue;
        }
        if (record.slackMessage && record.slackMessage.ts !== page.message.ts && known === undefined) {
          // Still naming the deleted message (its move was missed): moved now, so its clicks are bound.
          await this.moveRecords([record.approvalId], page.deleted ?? [], { ...page.message, groupId });
        }
        return { ...page.message, groupId };
      }
      if (known) {
        // Its own post of this page, found in the channel after a lost answer (adopted): the page's message,
        // whoever is its poster now (a member that took over meanwhile finds it too, before posting).
        return this.adoptPage(groupId, index, known, record);
      }
      // A repost under way (its page's message deleted in Slack) may be this very request's, by another
      // worker or step: it is waited for as any member waits, never claimed again within the bound.
      const reposting = page.deleted !== undefined && page.attemptAt !== undefined;
      if (posterOf(page) === approvalId && !reposting) {
        const claimed = await this.claimPost(group, index, approvalId);
        if (claimed) return this.postPage(claimed, index, record);
      } else {
        const shown = await this.takeOver(group, index, record, checked);
        if (shown) return shown;
      }
      if (Date.now() >= waitUntil) {
        throw new GroupMessagePendingError(`the message of request ${approvalId}'s group is not posted yet`);
      }
      await sleep(PAGE_POLL_MS);
      group = (await grouping.groups.get(groupId)) ?? group;
    }
  }

  /**
   * Posts page `index`'s message, its attempt claimed by `record` (the page's poster): with the
   * request's own approval id and the group as metadata. A post Slack said it did not make frees the
   * attempt (another member may take over at once if this request cannot post again).
   */
  private async postPage(
    group: StoredSlackGroup,
    index: number,
    record: ApprovalRecord,
  ): Promise<MessageRef> {
    const { groups } = this.requireGrouping();
    const { groupId } = group;
    const page = group.pages[index];
    if (!page) throw new PolicyGateError(`Slack group ${groupId} has no message ${index}`);
    const { records, untrusted } = await this.pageView(page, record);
    const message = groupRequestMessage({ groupId, version: group.version }, records, untrusted);
    const client = await this.client();
    let ref: MessageRef;
    try {
      ref = await this.postOnce(client, message, requestMetadata(record.approvalId, groupId));
    } catch (error) {
      if (rateLimitWaitMs(error) !== undefined || !outcomeUnknown(error)) {
        await this.releaseAttempt(groupId, index, record.approvalId, page.attemptAt).catch(() => undefined);
      }
      throw error;
    }
    const recorded = await this.recordPage(groupId, index, ref);
    const shown = recorded.pages[index]?.message ?? ref;
    if (shown.channel !== ref.channel || shown.ts !== ref.ts) {
      // Another post of this page was recorded first (a lost answer found by a member that took over):
      // that one is the page's; this copy must not keep buttons that decide nothing.
      await this.retireCopy(ref);
      await this.drawPage(recorded, shown, record);
      return { channel: shown.channel, ts: shown.ts, groupId };
    }
    await groups.markDrawn(groupId, index, page.members.length);
    const posted = { ...ref, groupId };
    if (page.deleted) await this.afterRepost(recorded.pages[index] ?? page, posted, record);
    return posted;
  }

  /**
   * After a page whose message was deleted in Slack is posted again: its records still naming a deleted
   * message move to the new one (clicks are bound to the recorded message), and the new thread says why.
   */
  private async afterRepost(page: GroupPage, ref: MessageRef, self: ApprovalRecord): Promise<void> {
    await this.moveRecords(page.members, page.deleted ?? [], ref);
    try {
      await this.postReply(ref, GROUP_REPOSTED_NOTE);
    } catch {
      // The line waits with the poster's, for its next thread post or the delivery worker (without an
      // outbox it is lost: the message itself, posted and recorded, matters more than failing for it).
      await this.options.notes?.add(self.approvalId, { text: GROUP_REPOSTED_NOTE }, self.ttl);
    }
  }

  /**
   * Posts a page again whose message `gone` was found deleted in Slack (`chat.update` said
   * `message_not_found`), exactly once: a write under the group's revision that still finds `gone` as
   * the page's message retires it (kept in the page's `deleted`) and claims the post for `self`, so of
   * two workers or steps that see the deletion at once, one posts. The winner posts the page as
   * {@link postPage} does (its own approval id and the group as metadata, every member as its record is
   * now, decided ones without buttons), moves each listed record from `gone` to the new message (clicks
   * are bound to the recorded message) and says in the new thread why it was posted again. `undefined`
   * for the loser, or when the page had moved on already: read the group again.
   */
  private async repostPage(
    groupId: string,
    gone: MessageRef,
    self: ApprovalRecord,
  ): Promise<MessageRef | undefined> {
    const { groups } = this.requireGrouping();
    let claimed: StoredSlackGroup | undefined;
    let index = -1;
    for (let attempt = 0; attempt < MAX_LAYOUT_ATTEMPTS && !claimed; attempt += 1) {
      const group = await groups.get(groupId);
      index = group?.pages.findIndex((p) => p.message?.ts === gone.ts) ?? -1;
      const page = group?.pages[index];
      if (!group || !page?.message) return undefined;
      const { message: _gone, drawn: _drawn, ...rest } = page;
      const retired = {
        ...rest,
        poster: self.approvalId,
        attemptAt: new Date(this.now()).toISOString(),
        deleted: [...(page.deleted ?? []), gone.ts],
      };
      const pages = group.pages.map((p, i) => (i === index ? retired : p));
      if (await groups.setPages(groupId, pages, group.revision)) {
        claimed = { ...group, pages, revision: group.revision + 1 };
      }
    }
    if (!claimed) return undefined;
    return this.postPage(claimed, index, self);
  }

  /**
   * Moves the records of `ids` still naming one of `deleted` (their page's messages deleted in Slack) to
   * `to`, each in a conditional write from the message it names: one naming another by now is left as is.
   */
  private async moveRecords(
    ids: readonly string[],
    deleted: readonly string[],
    to: MessageRef,
  ): Promise<void> {
    const { records } = this.requireGrouping();
    if (!records.replaceSlackMessage || deleted.length === 0) return;
    for (const id of ids) {
      const shown = (await records.get(id))?.slackMessage;
      if (!shown || shown.channel !== to.channel || !deleted.includes(shown.ts)) continue;
      await records.replaceSlackMessage(id, shown, to);
    }
  }

  /** Records a found post of page `index` as its message (the first recorded wins) and shows the page. */
  private async adoptPage(
    groupId: string,
    index: number,
    found: MessageRef,
    self: ApprovalRecord,
  ): Promise<MessageRef> {
    const recorded = await this.recordPage(groupId, index, found);
    const shown = recorded.pages[index]?.message ?? found;
    if (shown.channel !== found.channel || shown.ts !== found.ts) await this.retireCopy(found);
    await this.drawPage(recorded, shown, self);
    const ref = { channel: shown.channel, ts: shown.ts, groupId };
    // A repost whose answer was lost, found: its records move to it as the poster's would have.
    const page = recorded.pages[index];
    if (page?.deleted) await this.moveRecords(page.members, page.deleted, ref);
    return ref;
  }

  /**
   * Claims the page's post attempt for `poster` in a write under the group's revision (so a member taking
   * over and the poster never both post): the group as stored after, `undefined` when the layout changed
   * since it was read (read it again; someone else may be the poster now).
   */
  private async claimPost(
    group: StoredSlackGroup,
    index: number,
    poster: string,
  ): Promise<StoredSlackGroup | undefined> {
    const { groups } = this.requireGrouping();
    const at = new Date(this.now()).toISOString();
    const pages = group.pages.map((p, i) => (i === index ? { ...p, poster, attemptAt: at } : p));
    if (!(await groups.setPages(group.groupId, pages, group.revision))) return undefined;
    return { ...group, pages, revision: group.revision + 1 };
  }

  /** Frees the attempt `poster` claimed at `since`, unless the page moved on meanwhile. */
  private async releaseAttempt(
    groupId: string,
    index: number,
    poster: string,
    since: string | undefined,
  ): Promise<void> {
    const { groups } = this.requireGrouping();
    const group = await groups.get(groupId);
    const page = group?.pages[index];
    if (!group || !page || page.message || posterOf(page) !== poster) return;
    if (since !== undefined && page.attemptAt !== since) return;
    const { attemptAt: _freed, ...rest } = page;
    const pages = group.pages.map((p, i) => (i === index ? rest : p));
    await groups.setPages(groupId, pages, group.revision);
  }

  /**
   * Takes over page `index` from a poster that cannot post, when it may: the page has no message, no
   * attempt began within the takeover bound (one may be posting now), and its poster is not deliverable
   * (record gone, no longer PENDING, past its deadline, or failing its seals) or the page has waited
   * longer than the bound. The channel is searched first for a post of the page (any of its members'
   * metadata with the group's id): a post whose answer was lost is adopted, never posted again. Then the
   * poster is changed to `self` in a write under the group's revision (of two members taking over at
   * once, one wins) and `self` posts with its own approval id. `undefined` when it may not (yet).
   */
  private async takeOver(
    group: StoredSlackGroup,
    index: number,
    self: ApprovalRecord,
    checked: Map<string, boolean>,
  ): Promise<MessageRef | undefined> {
    const grouping = this.requireGrouping();
    const page = group.pages[index];
    const poster = page && posterOf(page);
    if (!page || !poster || page.message) return undefined;
    const now = this.now();
    const bound = grouping.takeoverAfterMs ?? DEFAULT_TAKEOVER_AFTER_MS;
    const attemptAt = page.attemptAt === undefined ? undefined : Date.parse(page.attemptAt);
    if (attemptAt !== undefined && now - attemptAt < bound) return undefined;
    const waitingSince = attemptAt ?? (page.laidOutAt === undefined ? undefined : Date.parse(page.laidOutAt));
    const overdue = waitingSince !== undefined && now - waitingSince >= bound;
    if (!overdue) {
      const deliverable = checked.get(poster) ?? (await this.deliverable(poster));
      checked.set(poster, deliverable);
      if (deliverable) return undefined;
    }
    const since = page.laidOutAt ?? self.createdAt;
    const found = await this.findPagePost(group.groupId, page.members, since);
    if (found) return this.adoptPage(group.groupId, index, found, self);
    const claimed = await this.claimPost(group, index, self.approvalId);
    if (!claimed) return undefined;
    return this.postPage(claimed, index, self);
  }

  /**
   * Whether the page's poster can still post: its record exists, is PENDING before its deadline, and
   * (when this channel can check seals) its seals verify, as the delivery worker requires before it
   * posts. A check that fails to run says yes: the takeover bound still frees the page.
   */
  private async deliverable(posterId: string): Promise<boolean> {
    const grouping = this.requireGrouping();
    const record = await grouping.records.get(posterId);
    if (record?.status !== 'PENDING' || Date.parse(record.deadline) <= this.now()) return false;
    return (await this.trusted(record)) !== false;
  }

  /**
   * Whether the record's seals verify (`undefined` when this channel cannot check, or the check failed
   * to run), remembered per version of the record: a redraw checks each member without a KMS call each.
   */
  private async trusted(record: ApprovalRecord): Promise<boolean | undefined> {
    const { trusts } = this.requireGrouping();
    if (!trusts) return undefined;
    const key = JSON.stringify([
      record.approvalId,
      record.updatedAt,
      record.recordSeal,
      record.quarantineSeal,
    ]);
    const known = this.trust.get(key);
    if (known !== undefined) return known;
    let verdict: boolean;
    try {
      verdict = await trusts(record);
    } catch {
      return undefined;
    }
    if (this.trust.size >= MAX_TRUST_CACHE) this.trust.clear();
    this.trust.set(key, verdict);
    return verdict;
  }

  /**
   * A post of the page PolicyGate's bot made in the channel since `since`: its metadata names the group
   * and one of the page's members (each page's posters are its own members). An app that may not read
   * the channel's history cannot look: `undefined`, as the delivery worker does (posting twice is
   * better than never posting).
   */
  private async findPagePost(
    groupId: string,
    members: readonly string[],
    since: string,
  ): Promise<MessageRef | undefined> {
    try {
      return await this.searchHistory(
        since,
        (payload) =>
          payload.group_id === groupId &&
          typeof payload.approval_id === 'string' &&
          members.includes(payload.approval_id),
      );
    } catch (error) {
      if (error instanceof SlackApiError && CANNOT_LOOK.has(error.code)) return undefined;
      throw error;
    }
  }

  /** Edits a second post of a page so it no longer shows buttons: the recorded one decides. */
  private async retireCopy(ref: MessageRef): Promise<void> {
    const client = await this.client();
    try {
      await slackCall('chat.update', () =>
        client.chat.update({
          channel: ref.channel,
          ts: ref.ts,
          text: DUPLICATE_GROUP_POST,
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: DUPLICATE_GROUP_POST } }],
        }),
      );
    } catch {
      // Its buttons decide nothing anyway (clicks are bound to the recorded message).
    }
  }

  /** Places the group's unplaced members on its messages (stored under the layout's revision). */
  private async place(group: StoredSlackGroup, self: ApprovalRecord): Promise<StoredSlackGroup> {
    const { groups } = this.requireGrouping();
    let current = group;
    for (let attempt = 0; attempt < MAX_LAYOUT_ATTEMPTS; attempt += 1) {
      const placed = new Set(current.pages.flatMap((p) => p.members));
      const ids = current.members.map((m) => m.approvalId);
      const needed = [...(current.pages.at(-1)?.members ?? []), ...ids.filter((id) => !placed.has(id))];
      if (needed.length === current.pages.at(-1)?.members.length) return current;
      const records = new Map<string, ApprovalRecord>();
      for (const id of new Set(needed)) {
        const found = id === self.approvalId ? self : await this.requireGrouping().records.get(id);
        if (found) records.set(id, found);
      }
      const view = { groupId: current.groupId, version: current.version };
      const laidOutAt = new Date(this.now()).toISOString();
      // A new page's time: how long its members have waited on its poster (the takeover bound).
      const pages = layoutGroupPages<GroupPage>(view, ids, current.pages, records).map((p, i) =>
        i < current.pages.length ? p : { ...p, laidOutAt },
      );
      if (await groups.setPages(current.groupId, pages, current.revision)) {
        return { ...current, pages, revision: current.revision + 1 };
      }
      current = (await groups.get(current.groupId)) ?? current;
    }
    // Other requests of the burst are placing theirs: nothing was posted, so it is the worker's, not a failure.
    throw new GroupMessagePendingError(
      `the layout of Slack group ${group.groupId} kept changing; tried again later`,
    );
  }

  /** Records `ref` as the message of page `index`; the group as stored after. */
  private async recordPage(groupId: string, index: number, ref: MessageRef): Promise<StoredSlackGroup> {
    const { groups } = this.requireGrouping();
    for (let attempt = 0; attempt < MAX_LAYOUT_ATTEMPTS; attempt += 1) {
      const group = await groups.get(groupId);
      const page = group?.pages[index];
      if (!group || !page) break;
      if (page.message) return group;
      const pages = group.pages.map((p, i) =>
        i === index ? { ...p, message: { channel: ref.channel, ts: ref.ts } } : p,
      );
      if (await groups.setPages(groupId, pages, group.revision)) {
        return { ...group, pages, revision: group.revision + 1 };
      }
    }
    throw new PolicyGateError(`the message of Slack group ${groupId} could not be recorded`);
  }

  /** The records a page lists, in order, `self` as given (a newer stored one wins). */
  private async pageRecords(page: GroupPage, self?: ApprovalRecord): Promise<ApprovalRecord[]> {
    const { records } = this.requireGrouping();
    const read = await Promise.all(page.members.map((id) => records.get(id)));
    return read.flatMap((stored, i): ApprovalRecord[] => {
      const id = page.members[i];
      if (self && id === self.approvalId && (!stored || stored.updatedAt <= self.updatedAt)) {
        return [{ ...self, ...(stored?.slackMessage && { slackMessage: stored.slackMessage }) }];
      }
      return stored ? [stored] : [];
    });
  }

  /**
   * What a page shows: its records, and which PENDING ones fail their seals (listed without buttons; a
   * click would be refused anyway, but the message must not offer what its record claims).
   */
  private async pageView(
    page: GroupPage,
    self?: ApprovalRecord,
  ): Promise<{ records: ApprovalRecord[]; untrusted: Set<string> }> {
    const records = await this.pageRecords(page, self);
    const verdicts = await Promise.all(
      records.map(async (r) => (r.status === 'PENDING' ? this.trusted(r) : undefined)),
    );
    return {
      records,
      untrusted: new Set(records.filter((_, i) => verdicts[i] === false).map((r) => r.approvalId)),
    };
  }

  /**
   * Redraws one message of a group from its members' records, under the page's redraw claim: one redraw
   * of a message at a time, whoever asks. Without the claim (another redraw holds it) nothing is drawn:
   * `false`. The holder reads the records again after each update and once more after its claim ends
   * (anyone refused the claim wrote before that), and draws again while anything it shows changed, for
   * at most {@link DRAW_LOOP_MS}; what changes after is drawn by the next claimant or the delivery
   * worker. So a burst of requests or decisions on one message costs an update per change Slack can
   * see, not one per request (`chat.update` is Tier 3: about 50 a minute for the whole workspace).
   */
  private async drawPage(group: StoredSlackGroup, ref: MessageRef, self?: ApprovalRecord): Promise<boolean> {
    const { groups } = this.requireGrouping();
    const index = group.pages.findIndex((p) => p.message?.channel === ref.channel && p.message.ts === ref.ts);
    if (index < 0)
      throw new PolicyGateError(`message ${ref.ts} is not one of Slack group ${group.groupId}'s`);
    const endsAt = Date.now() + DRAW_LOOP_MS;
    let current = group;
    for (let claim = 0; ; claim += 1) {
      const now = this.now();
      const until = new Date(now + DRAW_CLAIM_MS).toISOString();
      if (!(await groups.claimDraw(group.groupId, index, new Date(now).toISOString(), until))) {
        // A later claimant reads after this one's release: it shows everything this one saw changed.
        return claim > 0;
      }
      let shown: string;
      try {
        shown = await this.drawClaimed(current, index, ref, self);
      } finally {
        await groups.releaseDraw(group.groupId, index, until).catch(() => undefined);
      }
      if (Date.now() >= endsAt) return true;
      const after = await groups.get(group.groupId);
      const page = after?.pages[index];
      if (!after || page?.message?.ts !== ref.ts) return true;
      if (viewState(await this.pageView(page, self)) === shown) return true;
      current = after;
    }
  }

  /**
   * The redraw itself, the claim held: a member decided while it ran would be shown stale, so the records
   * are read again after and the message redrawn once more if any changed. What it showed last.
   */
  private async drawClaimed(
    group: StoredSlackGroup,
    index: number,
    ref: MessageRef,
    self?: ApprovalRecord,
  ): Promise<string> {
    const page = group.pages[index];
    if (!page) throw new PolicyGateError(`Slack group ${group.groupId} has no message ${index}`);
    const client = await this.client();
    let shown = await this.pageView(page, self);
    for (let pass = 0; ; pass += 1) {
      const message = groupRequestMessage(
        { groupId: group.groupId, version: group.version },
        shown.records,
        shown.untrusted,
      );
      // chat.update is Tier 3: many decisions on one message at once meet its limit; waited out briefly.
      await this.whileRateLimited(() =>
        slackCall('chat.update', () =>
          client.chat.update({
            channel: ref.channel,
            ts: ref.ts,
            text: message.text,
            blocks: message.blocks as never,
          }),
        ),
      );
      await this.requireGrouping().groups.markDrawn(group.groupId, index, page.members.length);
      const again = await this.pageView(page, self);
      if (pass >= 1 || viewState(again) === viewState(shown)) return viewState(shown);
      shown = again;
    }
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private requireGrouping(): SlackGrouping {
    const { grouping } = this.options;
    if (!grouping) throw new PolicyGateError('this Slack channel has no group store');
    return grouping;
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
    await this.options.pacer?.turn(this.channelId);
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
        if (isPostLimit(error)) this.options.pacer?.holdUntil(Date.now() + wait, this.channelId);
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
  /** Slack groups (issue 12): with it, group messages are redrawn as groups and new requests grouped. */
  readonly grouping?: SlackGrouping;
  /** Where thread lines wait when they must not (or could not) be posted at once. */
  readonly notes?: SlackNoteOutbox;
  /**
   * Spaces this poster's `chat.postMessage` calls (the delivery worker's, which posts for a whole
   * backlog); without it each call goes at once and meets Slack's limit as it comes.
   */
  readonly pacer?: PostPacer;
  /** The clock (ms) for a group page's waits; default `Date.now`. */
  readonly now?: () => number;
}

/** What grouping needs: the groups, the members' records, and the window. */
export interface SlackGrouping {
  readonly groups: SlackGroupStore;
  /**
   * The members' records; with `replaceSlackMessage`, the records of a page posted again after its
   * message was deleted in Slack are moved to the new message (without it, the delivery worker's check
   * of each record moves it).
   */
  readonly records: Pick<ApprovalStore, 'get'> & Partial<Pick<ApprovalStore, 'replaceSlackMessage'>>;
  /** New requests by one actor within this many seconds share a message; 0 = none is grouped. */
  readonly windowSeconds: number;
  /** How long a member waits for its message's first post by another attempt; default 5 s. */
  readonly pageWaitMs?: number;
  /**
   * How long a page may wait on its poster's first post (from its layout or the poster's last attempt)
   * before a member takes over, after searching the channel for it; default 2 minutes. Longer than a
   * post can take, so a post still under way is never posted again.
   */
  readonly takeoverAfterMs?: number;
  /**
   * Whether a record's seals verify (record and quarantine seals, as the delivery worker requires). With
   * it, a poster that fails them is taken over at once and a member that fails them is shown without
   * buttons; without it (a function without the record key), only the takeover bound frees a page.
   */
  readonly trusts?: (record: ApprovalRecord) => Promise<boolean>;
}

/** The metadata event type of PolicyGate's request messages. */
export const REQUEST_EVENT_TYPE = 'policy_gate_request';
const DEFAULT_RATE_LIMIT_BUDGET_MS = 10_000;
const HISTORY_SKEW_SECONDS = 120;
// conversations.history is Tier 3 (50+ per minute) for internal apps and takes up to 999 per page; 200
// is Slack's recommendation. A commercially distributed non-Marketplace app gets 1 call a minute and 15.
const HISTORY_PAGE_SIZE = 200;
const HISTORY_PAGES = 3;

/**
 * What a group message shows of a request (its line and whether it has buttons): a redraw is needed
 * again only when this changed, not for bookkeeping writes (a token stored, a message recorded).
 */
function viewState(view: { records: readonly ApprovalRecord[]; untrusted: ReadonlySet<string> }): string {
  return view.records.map((r) => `${shownState(r)}${view.untrusted.has(r.approvalId) ? '!' : ''}`).join('\n');
}

function shownState(record: ApprovalRecord): string {
  return JSON.stringify([
    record.approvalId,
    record.status,
    record.approvals?.length ?? 0,
    record.decision?.decidedAt,
    record.outcome?.result,
  ]);
}

const DEFAULT_PAGE_WAIT_MS = 5_000;
/** How long a redraw claim holds: longer than a redraw's rate-limit waits (10 s) can make it take. */
const DRAW_CLAIM_MS = 30_000;
/** How long a claim on a thread's queued lines holds: longer than posting a thread's lines can take. */
const NOTE_CLAIM_MS = 60_000;
/** How long one claimant keeps drawing a message while its records change (a burst still arriving). */
const DRAW_LOOP_MS = 5_000;
const DEFAULT_TAKEOVER_AFTER_MS = 120_000;
const MAX_TRUST_CACHE = 1_000;
// As the delivery worker: an app that may not read the channel's history posts rather than never posts.
const CANNOT_LOOK = new Set(['missing_scope', 'not_in_channel', 'channel_not_found']);
const DUPLICATE_GROUP_POST =
  'A second copy of a PolicyGate group message (posted while another was recorded): that one lists these changes and decides them, not this.';
/** The thread line of a group message posted again after it was deleted in Slack. */
export const GROUP_REPOSTED_NOTE =
  'Posted again: this group message was deleted in Slack. Only this message decides the changes it lists now.';
const PAGE_POLL_MS = 200;
const MAX_LAYOUT_ATTEMPTS = 8;
const GROUP_ID_FORMAT = /^group#[0-9a-f]{32}$/;

/**
 * Only ids: metadata is readable by anyone who can read the channel's history. A group's message names
 * the request that posted it (the first it lists) and its group.
 */
function requestMetadata(
  approvalId: string,
  groupId?: string,
): { event_type: string; event_payload: Record<string, string> } {
  return {
    event_type: REQUEST_EVENT_TYPE,
    event_payload: { approval_id: approvalId, ...(groupId && { group_id: groupId }) },
  };
}

/** A 429 on a post: the channel's own limit, which every later post of this poster must wait out too. */
function isPostLimit(error: unknown): boolean {
  return error instanceof SlackApiError && error.method === 'chat.postMessage';
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
