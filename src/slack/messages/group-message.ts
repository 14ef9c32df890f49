import type { types } from '@slack/bolt';
import { type ApprovalRecord, approvalsRequired, totalFindings } from '../../domain/approval';
import { groupActionValue } from '../../domain/slack-group';
import { PolicyGateError } from '../../errors';
import {
  APPROVE_ACTION_ID,
  accountMrkdwn,
  approvalRequestMessage,
  DENY_ACTION_ID,
  decisionButtons,
  type KnownBlock,
  resolvedMessage,
  type SlackMessage,
  shortTarget,
} from './approval-message';
import { MESSAGE_TEXT_BUDGET, SLACK_LIMITS } from './limits';
import { clipMrkdwn, clipPlain, inlineCode } from './mrkdwn';
import { statusHeadline } from './status-headline';

/**
 * The message that shows several requests by one actor together: one line per change with its own
 * Approve / Deny, and "Approve all" / "Deny all" for the members the message lists. Pure, like the
 * single-request messages; a message that fits while every member is pending still fits once they are
 * decided (their buttons go, their status line is capped).
 */

/** "Approve all" / "Deny all": the value is the group and the version of its member list shown. */
export const APPROVE_ALL_ACTION_ID = 'policy_gate_approve_all';
export const DENY_ALL_ACTION_ID = 'policy_gate_deny_all';
/** The per-change buttons of a group message: Slack wants action ids unique within a message. */
export const GROUP_APPROVE_ACTION = /^policy_gate_approve_m\d{1,3}$/;
export const GROUP_DENY_ACTION = /^policy_gate_deny_m\d{1,3}$/;
const ALL_BLOCK_ID = 'policy_gate_group_all';
/**
 * The most changes one group message can list: Slack's block limit less the header, intro, all-buttons
 * and footer, two blocks per pending change. Their buttons are numbered 1 to this.
 */
export const MAX_MEMBERS_PER_MESSAGE = Math.floor((SLACK_LIMITS.blocksPerMessage - 4) / 2);

// One change's line: the change (≤ ~300), its findings and a status line capped here.
const STATUS_MAX = 300;
const MEMBER_TEXT_MAX = 800;

/** Which group and which version of its member list a message shows. */
export interface GroupView {
  readonly groupId: string;
  readonly version: number;
}

function mrkdwn(text: string): types.MrkdwnElement {
  return { type: 'mrkdwn', text };
}

function plain(text: string, max: number): types.PlainTextElement {
  return { type: 'plain_text', text: clipPlain(text, max), emoji: true };
}

function textLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + textLength(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let sum = 0;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    sum += key === 'text' && typeof child === 'string' ? child.length : textLength(child);
  }
  return sum;
}

function actorName(record: ApprovalRecord): string {
  const { actor } = record.change;
  return actor.sessionIssuer?.arn
    ? `${actor.sessionIssuer.userName ?? actor.sessionIssuer.arn}${actor.sessionName ? ` (${actor.sessionName})` : ''}`
    : (actor.arn ?? actor.principalId ?? actor.type);
}

/** The status line of a member whose record fails its seals: listed, never decidable from the message. */
export const UNTRUSTED_MEMBER_STATUS =
  ':warning: Changed outside PolicyGate: it cannot be decided here and stays quarantined';

/** "3 restricted action(s): `iam:PassRole`, `s3:DeleteBucket`, `kms:Decrypt`" (the first few named). */
function restrictedSummary(record: ApprovalRecord): string {
  const names = [...new Set(record.findings.map((f) => f.action))];
  const shown = names.slice(0, NAMED_ACTIONS).map((action) => inlineCode(action, 80));
  const more = names.length - shown.length + (record.findingsOmitted ?? 0);
  return `${totalFindings(record)} restricted action(s)${shown.length > 0 ? `: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}` : ''}`;
}

const NAMED_ACTIONS = 3;

/** ` · 1 of 2 approvals` for a change that needs two approvers and has one, as its own message says. */
function approvalsSoFar(record: ApprovalRecord): string {
  const required = approvalsRequired(record);
  const given = record.approvals?.length ?? 0;
  return required >= 2 && given > 0 ? ` · ${given} of ${required} approvals` : '';
}

function memberBlocks(record: ApprovalRecord, index: number, untrusted: boolean): KnownBlock[] {
  const n = index + 1;
  const findings = record.analysisError !== undefined ? 'could not be analysed' : restrictedSummary(record);
  const status = untrusted
    ? UNTRUSTED_MEMBER_STATUS
    : record.status === 'PENDING'
      ? `:hourglass_flowing_sand: Waiting for a decision${approvalsSoFar(record)}`
      : statusHeadline(record);
  const line: types.SectionBlock = {
    type: 'section',
    block_id: `policy_gate_member_m${n}`,
    // What an untrusted record says of its change is not shown: it may be anything its writer wanted.
    text: mrkdwn(
      clipMrkdwn(
        `*${n}.* ${untrusted ? '' : `${shortTarget(record)} · ${findings} · `}approval ${inlineCode(record.approvalId, 80)}\n${clipMrkdwn(status, STATUS_MAX)}`,
        MEMBER_TEXT_MAX,
      ),
    ),
  };
  if (untrusted || record.status !== 'PENDING') return [line];
  const [approve, deny] = decisionButtons(record);
  if (!approve || !deny) throw new PolicyGateError('a request without its decision buttons');
  const actions: types.ActionsBlock = {
    type: 'actions',
    block_id: `policy_gate_decision_m${n}`,
    elements: [
      { ...approve, action_id: `${APPROVE_ACTION_ID}_m${n}` },
      { ...deny, action_id: `${DENY_ACTION_ID}_m${n}` },
    ],
  };
  return [line, actions];
}

function allButtons(view: GroupView, pending: number): types.ActionsBlock {
  const value = groupActionValue(view.groupId, view.version);
  const count = `${pending} pending change${pending === 1 ? '' : 's'}`;
  return {
    type: 'actions',
    block_id: ALL_BLOCK_ID,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_ALL_ACTION_ID,
        text: plain('Approve all', SLACK_LIMITS.buttonText),
        style: 'primary',
        value,
        confirm: {
          title: plain('Approve every change listed?', SLACK_LIMITS.confirmTitle),
          text: mrkdwn(
            `Each of the ${count} listed here is decided on its own: restored if you may approve it, refused if you made it.`,
          ),
          confirm: plain('Approve all', SLACK_LIMITS.confirmButton),
          deny: plain('Cancel', SLACK_LIMITS.confirmButton),
          style: 'primary',
        },
      },
      {
        type: 'button',
        action_id: DENY_ALL_ACTION_ID,
        text: plain('Deny all', SLACK_LIMITS.buttonText),
        style: 'danger',
        value,
        confirm: {
          title: plain('Deny every change listed?', SLACK_LIMITS.confirmTitle),
          text: mrkdwn(`The ${count} listed here stay quarantined.`),
          confirm: plain('Deny all', SLACK_LIMITS.confirmButton),
          deny: plain('Cancel', SLACK_LIMITS.confirmButton),
          style: 'danger',
        },
      },
    ],
  };
}

/**
 * One group message for `members` (the requests this message lists, in the order they joined, all by
 * one actor). The all-buttons appear while any member is pending and name `view`'s version. A member in
 * `untrusted` (its record fails its seals) is listed without buttons and not counted as pending: what
 * its record says cannot be shown for a decision.
 */
export function groupRequestMessage(
  view: GroupView,
  members: readonly ApprovalRecord[],
  untrusted: ReadonlySet<string> = new Set(),
): SlackMessage {
  const [only, ...others] = members;
  // A group of one (the usual case outside a burst) is shown as a request of its own, with everything a
  // reviewer reads there (the grants, the document, who made it, the account's name and OU). Its buttons
  // are the single request's (value: its approval id), which the decision binds to this message as it
  // does a group member's; when a second change joins, the message becomes the group's list.
  if (only && others.length === 0 && !untrusted.has(only.approvalId)) {
    return only.status === 'PENDING'
      ? approvalRequestMessage(only)
      : resolvedMessage(only, statusHeadline(only));
  }
  return groupForm(view, members, untrusted);
}

function groupForm(
  view: GroupView,
  members: readonly ApprovalRecord[],
  untrusted: ReadonlySet<string>,
): SlackMessage {
  const first = members[0];
  if (!first) throw new PolicyGateError('a group message needs at least one request');
  const pending = members.filter((m) => m.status === 'PENDING' && !untrusted.has(m.approvalId)).length;
  // The actor and account named as a trusted member's record says (an untrusted one could name anyone).
  const named = members.find((m) => !untrusted.has(m.approvalId)) ?? first;
  const who = actorName(named);
  const count = `${members.length} change${members.length === 1 ? '' : 's'}`;
  const header: types.HeaderBlock = {
    type: 'header',
    text: plain(
      pending > 0
        ? `:rotating_light: ${count} by ${who}: ${pending} need${pending === 1 ? 's' : ''} approval`
        : `:white_check_mark: ${count} by ${who}: ${members.length === 1 ? 'decided' : 'all decided'}`,
      SLACK_LIMITS.headerText,
    ),
  };
  const intro: types.SectionBlock = {
    type: 'section',
    text: mrkdwn(
      clipMrkdwn(
        `*Who:* ${inlineCode(who, 250)} · *Account:* ${inlineCode(named.change.accountId, 40)}${named.account ? ` · ${accountMrkdwn(named.account)}` : ''}\nEach change is quarantined and decided on its own; its own buttons decide only it.`,
        SLACK_LIMITS.sectionText,
      ),
    ),
  };
  const footer: types.ContextBlock = {
    type: 'context',
    elements: [mrkdwn(`Group ${inlineCode(view.groupId, 60)} · list version ${view.version}`)],
  };
  const blocks: KnownBlock[] = [
    header,
    intro,
    ...members.flatMap((m, i) => memberBlocks(m, i, untrusted.has(m.approvalId))),
    ...(pending > 0 ? [allButtons(view, pending)] : []),
    footer,
  ];
  const text = clipMrkdwn(
    `${count} by ${inlineCode(who, 250)} (${pending} pending approval)`,
    SLACK_LIMITS.fallbackText,
  );
  return { text, blocks };
}

/**
 * Whether one message can list `members` within Slack's limits (blocks, and text below
 * {@link MESSAGE_TEXT_BUDGET}); the next member of a group goes to a new message when it cannot.
 */
export function fitsInGroupMessage(view: GroupView, members: readonly ApprovalRecord[]): boolean {
  if (members.length === 0) return true;
  // Measured as if all were pending (the most blocks), with room for each line's longest status and
  // the other header, so a message that fits now still fits whatever its members' states become.
  const message = groupForm(
    view,
    members.map((m) => ({ ...m, status: 'PENDING' as const })),
    new Set(),
  );
  return (
    message.blocks.length <= SLACK_LIMITS.blocksPerMessage &&
    textLength(message.blocks) + members.length * STATUS_MAX + SLACK_LIMITS.headerText <= MESSAGE_TEXT_BUDGET
  );
}

/**
 * The changes a group message offers buttons for, read from Slack's own copy of the clicked message (in
 * the signed click payload): the values of its per-change Approve / Deny buttons. "Approve all" decides
 * only these: the group item that lists the members is not sealed, so a change written into it (and its
 * record pointed at this message) is never decided by a click on a message that did not show it.
 * Bounded by Slack's block limits; anything that is not such a button is ignored.
 */
export function offeredMembers(blocks: unknown): Set<string> {
  const offered = new Set<string>();
  if (!Array.isArray(blocks)) return offered;
  for (const block of blocks.slice(0, SLACK_LIMITS.blocksPerMessage)) {
    const { type, elements } = (block ?? {}) as { type?: unknown; elements?: unknown };
    if (type !== 'actions' || !Array.isArray(elements)) continue;
    for (const element of elements.slice(0, MAX_ACTION_ELEMENTS)) {
      const { action_id: actionId, value } = (element ?? {}) as { action_id?: unknown; value?: unknown };
      if (typeof actionId !== 'string' || typeof value !== 'string' || value.length > MAX_BUTTON_VALUE)
        continue;
      if (GROUP_APPROVE_ACTION.test(actionId) || GROUP_DENY_ACTION.test(actionId)) offered.add(value);
    }
  }
  return offered;
}

// Block Kit: an actions block holds at most 25 elements; a button's value at most 2,000 characters.
const MAX_ACTION_ELEMENTS = 25;
const MAX_BUTTON_VALUE = 2_000;

/** One message of a group, as {@link layoutGroupPages} places members: its members' approval ids, in order. */
export interface PageLayout {
  readonly members: readonly string[];
}

/**
 * Places the members no message lists yet: each on the group's last message while it still fits, on a
 * new one after it otherwise. Messages already laid out keep their members (a request's message never
 * changes under the people looking at it). `records` must hold every member's record; one missing (not
 * readable) is left unplaced, for a later run.
 */
export function layoutGroupPages<P extends PageLayout>(
  view: GroupView,
  memberIds: readonly string[],
  pages: readonly P[],
  records: ReadonlyMap<string, ApprovalRecord>,
): (P | PageLayout)[] {
  const placed = new Set(pages.flatMap((p) => p.members));
  const result: (P | PageLayout)[] = [...pages];
  for (const approvalId of memberIds) {
    const record = records.get(approvalId);
    if (placed.has(approvalId) || !record) continue;
    placed.add(approvalId);
    const last = result[result.length - 1];
    const lastRecords = last?.members.flatMap((id) => records.get(id) ?? []) ?? [];
    if (last && fitsInGroupMessage(view, [...lastRecords, record])) {
      result[result.length - 1] = { ...last, members: [...last.members, approvalId] };
    } else {
      result.push({ members: [approvalId] });
    }
  }
  return result;
}
