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
  /** Removes the first `count` lines (posted); lines queued meanwhile stay. */
  done(approvalId: string, count: number): Promise<void>;
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
  return item.notes.flatMap((n): QueuedNote[] => {
    const note = n as { text?: unknown; redraw?: unknown };
    if (typeof note.text !== 'string') return [];
    return [{ text: note.text, ...(note.redraw === true && { redraw: true }) }];
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
            ':note': [{ text: note.text, ...(note.redraw && { redraw: true }) }],
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

  async done(approvalId: string, count: number): Promise<void> {
    if (count <= 0) return;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const notes = notesOf(await this.item(approvalId));
      const rest = notes.slice(count);
      const key = { approvalId: `${PREFIX}${approvalId}` };
      try {
        // On the count read: a line queued meanwhile makes this fail, and it is read again.
        if (rest.length === 0) {
          await this.client.send(
            new DeleteCommand({
              TableName: this.tableName,
              Key: key,
              ConditionExpression: 'size(#notes) = :n',
              ExpressionAttributeNames: { '#notes': 'notes' },
              ExpressionAttributeValues: { ':n': notes.length },
            }),
          );
        } else {
          await this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: key,
              UpdateExpression: 'SET #notes = :rest',
              ConditionExpression: 'size(#notes) = :n',
              ExpressionAttributeNames: { '#notes': 'notes' },
              ExpressionAttributeValues: { ':n': notes.length, ':rest': rest },
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
