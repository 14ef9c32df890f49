import { createHash } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { APPROVAL_INDEXES, mapError } from './approval-store';

/**
 * One thread line waiting to be posted, as it will be posted (composed, escaped, when it was queued); or
 * (`redraw`) a group message update Slack refused, to be done again from the records as they are then.
 */
export interface QueuedNote {
  readonly text: string;
  readonly redraw?: boolean;
  /** The line's seal (`SealedSlackNoteOutbox`), as stored. */
  readonly seal?: string;
  /**
   * Read back with a seal that does not verify (written outside PolicyGate): never posted, only taken
   * off the outbox. Set when read, never stored.
   */
  readonly forged?: true;
}

/**
 * The thread lines (the audit trail) that could not, or must not, be posted at once: a click's
 * "Approved by …" and its refusals (a click never waits on Slack's one-post-a-second-per-channel limit),
 * and any line whose post failed. The next thread post for the request (its workflow step: restore,
 * denial, expiry) posts them first, in order; the delivery worker posts what is left. A line is removed
 * only after it is posted, so none disappears.
 */
export interface SlackNoteOutbox {
  /** Queues `note` for the request's thread, after those queued before it. */
  add(approvalId: string, note: QueuedNote, ttl: number): Promise<void>;
  /** The request's queued lines, oldest first. */
  get(approvalId: string): Promise<QueuedNote[]>;
  /**
   * Claims posting the request's queued lines until `until` (ISO) and returns them, oldest first:
   * `undefined` while another poster's claim has not lapsed by `now` (it posts them; two posters at once
   * would post each line twice). No lines: `[]`, and nothing is claimed.
   */
  take(approvalId: string, now: string, until: string): Promise<QueuedNote[] | undefined>;
  /**
   * Removes the first `count` lines (posted) and ends the claim made until `until`; lines queued
   * meanwhile stay. A claim that lapsed and was taken by another poster removes nothing: that poster
   * posts them again (a line twice, never a line lost).
   */
  done(approvalId: string, count: number, until: string): Promise<void>;
  /** At most `limit` requests with queued lines, those waiting longest first. */
  pending(limit: number): Promise<string[]>;
}

const KIND = 'slack-notes';
// Items live in the approvals table as `notes#<approval id>` (`#` is outside approval ids), listed in its
// byLookup index under their own key, so the delivery worker finds them with one query.
const PREFIX = 'notes#';
const LIST_KEY = createHash('sha256').update('slack#notes').digest('hex');
const MAX_ATTEMPTS = 5;

function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

function notesOf(item: Record<string, unknown> | undefined): QueuedNote[] {
  if (!item || item.kind !== KIND || !Array.isArray(item.notes)) return [];
  // Every stored entry keeps its place (done() removes lines by position): one that is no line at all
  // reads as a line without a seal, which the sealed outbox reports and never posts.
  return item.notes.map((n): QueuedNote => {
    const note = (n ?? {}) as { text?: unknown; redraw?: unknown; seal?: unknown };
    return {
      text: typeof note.text === 'string' ? note.text : '',
      ...(note.redraw === true && { redraw: true }),
      ...(typeof note.seal === 'string' && { seal: note.seal }),
    };
  });
}

/** {@link SlackNoteOutbox} over the approvals table. */
export class DynamoSlackNoteOutbox implements SlackNoteOutbox {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async add(approvalId: string, note: QueuedNote, ttl: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { approvalId: `${PREFIX}${approvalId}` },
          UpdateExpression:
            'SET #kind = :kind, #request = :request, #notes = list_append(if_not_exists(#notes, :empty), :note), #lookupKey = :key, #createdAt = if_not_exists(#createdAt, :now), #ttl = if_not_exists(#ttl, :ttl)',
          ExpressionAttributeNames: {
            '#kind': 'kind',
            '#request': 'request',
            '#notes': 'notes',
            '#lookupKey': APPROVAL_INDEXES.byLookup.partitionKey,
            '#createdAt': APPROVAL_INDEXES.byLookup.sortKey,
            '#ttl': 'ttl',
          },
          ExpressionAttributeValues: {
            ':kind': KIND,
            ':request': approvalId,
            ':empty': [],
            ':note': [
              {
                text: note.text,
                ...(note.redraw && { redraw: true }),
                ...(note.seal && { seal: note.seal }),
              },
            ],
            ':key': LIST_KEY,
            ':now': this.now().toISOString(),
            ':ttl': ttl,
          },
        }),
      );
    } catch (err) {
      throw mapError('UpdateItem', err);
    }
  }

  async get(approvalId: string): Promise<QueuedNote[]> {
    return notesOf(await this.item(approvalId));
  }

  async take(approvalId: string, now: string, until: string): Promise<QueuedNote[] | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { approvalId: `${PREFIX}${approvalId}` },
          UpdateExpression: 'SET #flushing = :until',
          ConditionExpression:
            '#kind = :kind AND size(#notes) > :zero AND (attribute_not_exists(#flushing) OR #flushing < :now OR #flushing > :until)',
          ExpressionAttributeNames: { '#kind': 'kind', '#notes': 'notes', '#flushing': 'flushing' },
          ExpressionAttributeValues: { ':kind': KIND, ':zero': 0, ':until': until, ':now': now },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return notesOf(Attributes);
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw mapError('UpdateItem', err);
    }
    // Refused: no lines (nothing to claim), or another poster holds them.
    const item = await this.item(approvalId);
    return notesOf(item).length === 0 ? [] : undefined;
  }

  async done(approvalId: string, count: number, until: string): Promise<void> {
    const key = { approvalId: `${PREFIX}${approvalId}` };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const item = await this.item(approvalId);
      if (item?.flushing !== until) return;
      const notes = notesOf(item);
      const rest = notes.slice(Math.max(0, count));
      // On the count read and the claim: a line queued meanwhile makes this fail, and it is read again.
      const condition = 'size(#notes) = :n AND #flushing = :until';
      const names = { '#notes': 'notes', '#flushing': 'flushing' };
      try {
        if (rest.length === 0) {
          await this.client.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: key,
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: { ':n': notes.length, ':until': until },
            }),
          );
        } else {
          await this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: key,
              UpdateExpression: 'SET #notes = :rest REMOVE #flushing',
              ConditionExpression: condition,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: { ':n': notes.length, ':rest': rest, ':until': until },
            }),
          );
        }
        return;
      } catch (err) {
        if (!isConditionalCheckFailed(err))
          throw mapError(rest.length === 0 ? 'DeleteItem' : 'UpdateItem', err);
      }
    }
  }

  async pending(limit: number): Promise<string[]> {
    try {
      const output = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byLookup',
          KeyConditionExpression: '#key = :key',
          ExpressionAttributeNames: { '#key': APPROVAL_INDEXES.byLookup.partitionKey },
          ExpressionAttributeValues: { ':key': LIST_KEY },
          ScanIndexForward: true,
          Limit: limit,
        }),
      );
      return (output.Items ?? []).flatMap((item) =>
        item.kind === KIND && typeof item.request === 'string' ? [item.request] : [],
      );
    } catch (err) {
      throw mapError('Query', err);
    }
  }

  private async item(approvalId: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { approvalId: `${PREFIX}${approvalId}` },
          ConsistentRead: true,
        }),
      );
      return Item;
    } catch (err) {
      throw mapError('GetItem', err);
    }
  }
}
