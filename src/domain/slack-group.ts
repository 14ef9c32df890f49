import { createHash } from 'node:crypto';
import type { ApprovalRecord } from './approval';

/**
 * Grouping of approval requests for Slack, as pure logic: changes by the same actor in the same channel
 * within one window share a message. A group is only a display: its member list says which requests a
 * message shows (and which an "Approve all" click names), never what may be decided; every decision
 * still loads and checks each member's own sealed record.
 */

/** A group's id: a prefix no approval id can carry (`#` is outside approval ids), then a digest. */
export const GROUP_ID = /^group#[0-9a-f]{32}$/;
/** What an "Approve all" / "Deny all" button carries: the group and the version of its member list shown. */
const GROUP_ACTION_VALUE = /^(group#[0-9a-f]{32}):([1-9][0-9]{0,5})$/;
/** The most versions (members) one group takes; the next change starts a new group. */
export const MAX_GROUP_VERSION = 999_999;

/** One request in a group and the version of the member list it first appeared in. */
export interface GroupMember {
  readonly approvalId: string;
  readonly version: number;
}

/** A group of requests shown together; `version` counts the members added so far. */
export interface SlackGroup {
  readonly groupId: string;
  readonly version: number;
  readonly members: readonly GroupMember[];
}

/**
 * Who made a change, for grouping: the session's issuer (the role) and session name for an assumed role,
 * the principal's ARN otherwise; `undefined` when the event names nobody (such a change is never grouped:
 * "the same actor" cannot be shown).
 */
export function groupActor(record: ApprovalRecord): string | undefined {
  const { actor } = record.change;
  if (actor.sessionIssuer?.arn) return `${actor.sessionIssuer.arn}|${actor.sessionName ?? ''}`;
  return actor.arn ?? actor.principalId;
}

/**
 * The group a request belongs to in `channel`: same actor, same account, same window of `windowSeconds`
 * (by the change's event time). `undefined` when grouping is off (`windowSeconds` ≤ 0) or the actor is
 * unknown: the request then gets a message of its own.
 */
export function groupIdOf(
  record: ApprovalRecord,
  channel: string,
  windowSeconds: number,
): string | undefined {
  if (!(windowSeconds > 0)) return undefined;
  const actor = groupActor(record);
  const at = Date.parse(record.change.eventTime);
  if (actor === undefined || Number.isNaN(at)) return undefined;
  const windowStart = Math.floor(at / (windowSeconds * 1000));
  const digest = createHash('sha256')
    .update(JSON.stringify([actor, record.change.accountId, channel, windowSeconds, windowStart]))
    .digest('hex')
    .slice(0, 32);
  return `group#${digest}`;
}

/** The members listed in `version` of the group: those added at or before it, in the order added. */
export function membersListedIn(group: SlackGroup, version: number): string[] {
  return group.members.filter((m) => m.version <= version).map((m) => m.approvalId);
}

/** The value an all-button carries for `version` of the group. */
export function groupActionValue(groupId: string, version: number): string {
  if (!GROUP_ID.test(groupId) || !Number.isInteger(version) || version < 1 || version > MAX_GROUP_VERSION) {
    throw new RangeError('not a group id and version an all-button can carry');
  }
  return `${groupId}:${version}`;
}

/** Reads an all-button's value (attacker input: anyone can send any value); `undefined` if malformed. */
export function parseGroupActionValue(value: unknown): { groupId: string; version: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = GROUP_ACTION_VALUE.exec(value);
  if (!match?.[1] || !match[2]) return undefined;
  return { groupId: match[1], version: Number(match[2]) };
}

/**
 * The request that posts a page's message: the one recorded, else the page's first member. Here, not
 * beside the store, so that a function that only draws messages does not bundle the DynamoDB client.
 */
export function posterOf(page: {
  readonly poster?: string;
  readonly members: readonly string[];
}): string | undefined {
  return page.poster ?? page.members[0];
}
