import type { ApprovalRecord, MessageRef } from '../domain/approval';
import type { Notice } from '../domain/notices';

/**
 * Where the humans see an approval (Slack). The workflow posts the request and keeps the message in line
 * with the record until the end; the interactivity handler does the same after a click.
 */
export interface ApprovalChannel {
  /**
   * Posts the request with its Approve / Deny buttons and says where it went. One attempt: a failure whose
   * outcome is unknown (timeout, 5xx) may still have posted, so callers go through `SlackRequestDelivery`.
   */
  postRequest(record: ApprovalRecord): Promise<MessageRef>;
  /**
   * The request message of `record` this channel's bot posted since `since` (ISO time), if any: how a
   * post whose answer was lost is found instead of posted twice, in the channel the post went to. Absent
   * where it cannot look.
   */
  findRequest?(record: ApprovalRecord, since: string): Promise<MessageRef | undefined>;
  /**
   * Makes the request message show the record's state (the buttons go once it is no longer PENDING) and,
   * when `event` is given, adds it to the message's thread, the audit trail. `event` is plain text (it
   * may quote IAM names and error details) unless `formatted` says the channel's own code composed it
   * with its markup already escaped. A request that was never posted (Slack was down) is posted now,
   * without buttons unless still PENDING. Returns the message.
   */
  showState(record: ApprovalRecord, event?: string, formatted?: boolean): Promise<MessageRef>;
  /**
   * Adds `event` to the request's thread only, leaving the message as it is (for attempts that changed
   * nothing; re-rendering from a record read earlier could undo a newer update). No-op without a message.
   */
  note(record: ApprovalRecord, event: string, formatted?: boolean): Promise<void>;
  /**
   * Adds `event` to the request's thread later, never waiting on Slack's posting limit (a click must
   * answer fast): the next thread post for the request, or the delivery worker, posts it. Absent where
   * lines cannot wait; use {@link note} then.
   */
  queueNote?(record: ApprovalRecord, event: string, formatted?: boolean): Promise<void>;
  /** Posts the thread lines queued for the request (the delivery worker's part); how many. */
  flushNotes?(record: ApprovalRecord): Promise<number>;
  /**
   * Shows a just-taken decision: the buttons give way to "Approved by …", and the thread records it (at
   * once, or queued for the workflow's next step where the channel has {@link queueNote}).
   */
  showDecision(record: ApprovalRecord): Promise<MessageRef>;
  /** A reply only `userId` sees, in the channel of the request. */
  tell(userId: string, text: string, record?: ApprovalRecord): Promise<void>;
  /** Posts a notice (nothing to decide: a report, an alert) to the channel. */
  postNotice(notice: Notice): Promise<MessageRef>;
}
