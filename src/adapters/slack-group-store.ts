import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { MessageRef } from '../domain/approval';
import {
  GROUP_ID,
  type GroupMember,
  MAX_GROUP_VERSION,
  posterOf,
  type SlackGroup,
} from '../domain/slack-group';
import { ApprovalStateError } from '../errors';
import { mapError } from './approval-store';

/** One Slack message of a group: where it is (once posted) and the requests it lists, in order. */
export interface GroupPage {
  readonly message?: MessageRef;
  readonly members: readonly string[];
  /**
   * How many of `members` (the first ones: members are only appended) a successful redraw of the message
   * has shown; a member among them needs no update of its own.
   */
  readonly drawn?: number;
  /**
   * The request whose attempt posts the message (its approval id is the message's metadata); default the
   * first member. Changed only by a layout write (under the revision), when a waiting member takes over
   * from a poster that cannot post.
   */
  readonly poster?: string;
  /** When the page was laid out (ISO): how long its members have waited for the first post. */
  readonly laidOutAt?: string;
  /**
   * When the poster's post attempt began (ISO), written under the revision before it posts: while it is
   * recent a post may be under way, so nobody takes over. Cleared when Slack said it did not post.
   */
  readonly attemptAt?: string;
  /**
   * The messages (their ts) this page had that were found deleted in Slack, oldest first: a record still
   * naming one is moved to the page's current message, never shown on the deleted one again.
   */
  readonly deleted?: readonly string[];
}

export { posterOf };

/** A group as stored: its members and the messages that show them, with the revision of that layout. */
export interface StoredSlackGroup extends SlackGroup {
  readonly pages: readonly GroupPage[];
  /** Counts layout writes, for {@link SlackGroupStore.setPages}'s optimistic check. */
  readonly revision: number;
}

/**
 * The Slack groups, as items of the approvals table under their own ids (`group#…`, which no approval id
 * can be) and marked `kind`, so the approvals store never reads one as an approval. Not sealed and not
 * needed to be: a group only says which requests a message shows; every decision loads each member's
 * own sealed record and is bound to the message recorded on it.
 */
export interface SlackGroupStore {
  /** Adds the request to the group (created on first use), once: the group as it is after. */
  join(groupId: string, approvalId: string, ttl: number): Promise<StoredSlackGroup>;
  get(groupId: string): Promise<StoredSlackGroup | undefined>;
  /**
   * Stores the group's message layout if nobody stored another since `revision`: `false` when someone
   * did (then read it again). Pages are only ever appended to, and members only to the last page.
   */
  setPages(groupId: string, pages: readonly GroupPage[], revision: number): Promise<boolean>;
  /** Records that page `index`'s message now shows its first `count` members (only ever raised). */
  markDrawn(groupId: string, index: number, count: number): Promise<void>;
  /**
   * Claims redrawing page `index`'s message until `until` (ISO), unless another claim has not lapsed by
   * `now`: one redraw of a message at a time, whoever asks (a burst's request steps, the worker, a
   * click), so a burst costs one `chat.update` per change of the page, not one per request.
   */
  claimDraw(groupId: string, index: number, now: string, until: string): Promise<boolean>;
  /** Ends the claim made until `until`, unless it lapsed and another was made since. */
  releaseDraw(groupId: string, index: number, until: string): Promise<void>;
}

const KIND = 'slack-group';

const NAMES = {
  '#id': 'approvalId',
  '#kind': 'kind',
  '#version': 'version',
  '#members': 'members',
  '#memberIds': 'memberIds',
  '#pages': 'pages',
  '#revision': 'revision',
  '#ttl': 'ttl',
} as const;

function namesFor(...expressions: string[]): Record<string, string> {
  const text = expressions.join(' ');
  return Object.fromEntries(Object.entries(NAMES).filter(([placeholder]) => text.includes(placeholder)));
}

/** The attribute of a page's redraw claim: beside the pages, so a layout write never drops or revives one. */
function drawClaimName(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > MAX_PAGE_INDEX) {
    throw new ApprovalStateError('not a page of a Slack group');
  }
  return `drawClaim${index}`;
}

// A group has at most MAX_GROUP_VERSION members, each on one page.
const MAX_PAGE_INDEX = MAX_GROUP_VERSION;

function checkedGroupId(groupId: string): string {
  if (!GROUP_ID.test(groupId)) throw new ApprovalStateError('not a Slack group id');
  return groupId;
}

function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value));
}

/** The group an item holds; `undefined` for anything else (an approval, a lookup item, a malformed one). */
function fromItem(item: Record<string, unknown> | undefined): StoredSlackGroup | undefined {
  if (!item || item.kind !== KIND || typeof item.approvalId !== 'string') return undefined;
  // Each join increments the version and appends its member in one write: the member at index i joined
  // at version i + 1, so the order is the versioning and nothing else needs storing.
  const members: GroupMember[] = Array.isArray(item.members)
    ? item.members.map((m, i) => ({ approvalId: typeof m === 'string' ? m : '', version: i + 1 }))
    : [];
  const pages = Array.isArray(item.pages)
    ? item.pages.flatMap((p): GroupPage[] => {
        const page = p as { message?: { channel?: unknown; ts?: unknown }; members?: unknown };
        const listed = Array.isArray(page.members)
          ? page.members.filter((m): m is string => typeof m === 'string')
          : [];
        const message =
          typeof page.message?.channel === 'string' && typeof page.message.ts === 'string'
            ? { channel: page.message.channel, ts: page.message.ts }
            : undefined;
        const { drawn, poster, laidOutAt, attemptAt, deleted } = p as Record<string, unknown>;
        const gone = Array.isArray(deleted)
          ? deleted.filter((ts): ts is string => typeof ts === 'string')
          : [];
        return [
          {
            members: listed,
            ...(message && { message }),
            ...(typeof drawn === 'number' && Number.isInteger(drawn) && drawn > 0 && { drawn }),
            ...(typeof poster === 'string' && listed.includes(poster) && { poster }),
            ...(isTime(laidOutAt) && { laidOutAt }),
            ...(isTime(attemptAt) && { attemptAt }),
            ...(gone.length > 0 && { deleted: gone }),
          },
        ];
      })
    : [];
  return {
    groupId: item.approvalId,
    version: members.length,
    members,
    pages,
    revision: typeof item.revision === 'number' ? item.revision : 0,
  };
}

/** {@link SlackGroupStore} over the approvals table (the same client and table as the approvals store). */
export class DynamoSlackGroupStore implements SlackGroupStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async join(groupId: string, approvalId: string, ttl: number): Promise<StoredSlackGroup> {
    checkedGroupId(groupId);
    const update =
      'SET #kind = :kind, #version = if_not_exists(#version, :zero) + :one, #members = list_append(if_not_exists(#members, :empty), :member), #ttl = if_not_exists(#ttl, :ttl) ADD #memberIds :ids';
    // Never an approval's item, never twice the same request, never past the last version a button carries.
    const condition =
      '(attribute_not_exists(#id) OR (#kind = :kind AND NOT contains(#memberIds, :approvalId) AND #version < :max))';
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { approvalId: groupId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: namesFor(update, condition),
          ExpressionAttributeValues: {
            ':kind': KIND,
            ':zero': 0,
            ':one': 1,
            ':empty': [],
            ':ttl': ttl,
            ':ids': new Set([approvalId]),
            ':approvalId': approvalId,
            ':max': MAX_GROUP_VERSION,
            ':member': [approvalId],
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const group = fromItem(Attributes);
      if (!group) throw new ApprovalStateError(`Slack group ${groupId} is not a group`);
      return group;
    } catch (err) {
      if (!isConditionalCheckFailed(err))
        throw err instanceof ApprovalStateError ? err : mapError('UpdateItem', err);
    }
    const current = await this.get(groupId);
    if (current?.members.some((m) => m.approvalId === approvalId)) return current;
    throw new ApprovalStateError(`request ${approvalId} cannot join Slack group ${groupId}`);
  }

  async get(groupId: string): Promise<StoredSlackGroup | undefined> {
    checkedGroupId(groupId);
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { approvalId: groupId }, ConsistentRead: true }),
      );
      return fromItem(Item);
    } catch (err) {
      throw mapError('GetItem', err);
    }
  }

  async setPages(groupId: string, pages: readonly GroupPage[], revision: number): Promise<boolean> {
    return this.updateIf(
      groupId,
      'SET #pages = :pages, #revision = :next',
      '#kind = :kind AND ((attribute_not_exists(#revision) AND :revision = :zero) OR #revision = :revision)',
      { '#pages': 'pages', '#revision': 'revision', '#kind': 'kind' },
      {
        ':pages': pages.map((p) => ({
          members: [...p.members],
          ...(p.message && { message: { channel: p.message.channel, ts: p.message.ts } }),
          ...(p.drawn !== undefined && { drawn: p.drawn }),
          ...(p.poster !== undefined && { poster: p.poster }),
          ...(p.laidOutAt !== undefined && { laidOutAt: p.laidOutAt }),
          ...(p.attemptAt !== undefined && { attemptAt: p.attemptAt }),
          ...(p.deleted !== undefined && p.deleted.length > 0 && { deleted: [...p.deleted] }),
        })),
        ':next': revision + 1,
        ':revision': revision,
        ':zero': 0,
        ':kind': KIND,
      },
    );
  }

  async markDrawn(groupId: string, index: number, count: number): Promise<void> {
    if (!Number.isInteger(index) || index < 0 || !Number.isInteger(count) || count < 1) {
      checkedGroupId(groupId);
      return;
    }
    // The index is PolicyGate's own (a page it read), never input: safe in the expression's path.
    const path = `#pages[${index}].#drawn`;
    await this.updateIf(
      groupId,
      `SET ${path} = :count`,
      `#kind = :kind AND size(#pages) > :index AND (attribute_not_exists(${path}) OR ${path} < :count)`,
      { '#pages': 'pages', '#drawn': 'drawn', '#kind': 'kind' },
      { ':count': count, ':kind': KIND, ':index': index },
    );
  }

  async claimDraw(groupId: string, index: number, now: string, until: string): Promise<boolean> {
    return this.updateIf(
      groupId,
      'SET #claim = :until',
      // A claim running past one made now was never PolicyGate's (the table is not sealed): taken.
      '#kind = :kind AND (attribute_not_exists(#claim) OR #claim < :now OR #claim > :until)',
      { '#claim': drawClaimName(index), '#kind': 'kind' },
      { ':until': until, ':now': now, ':kind': KIND },
    );
  }

  async releaseDraw(groupId: string, index: number, until: string): Promise<void> {
    await this.updateIf(
      groupId,
      'REMOVE #claim',
      '#claim = :until',
      { '#claim': drawClaimName(index) },
      { ':until': until },
    );
  }

  /** A conditional UpdateItem on the group's item: whether it applied (`false`: its condition refused). */
  private async updateIf(
    groupId: string,
    update: string,
    condition: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    checkedGroupId(groupId);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { approvalId: groupId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw mapError('UpdateItem', err);
    }
  }
}
