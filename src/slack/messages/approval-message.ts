import type { types } from '@slack/bolt';
import type { Finding, GrantingStatement } from '../../domain/analyse-policy';
import {
  type ApprovalRecord,
  type ApprovalStatus,
  approvalsRequired,
  type DecisionOutput,
  type OutcomeResult,
  reachGroupMembers,
  totalFindings,
} from '../../domain/approval';
import { describeAttribution } from '../../domain/attribution';
import { describeTarget } from '../../domain/messages';
import type { Actor, ChangeTarget, PolicyChange, PrincipalType } from '../../domain/policy-change';
import { PolicyGateError } from '../../errors';
import { consoleUrl, partitionOf } from './console-url';
import { MESSAGE_TEXT_BUDGET, SLACK_LIMITS } from './limits';
import {
  clipMrkdwn,
  clipPlain,
  codeBlockBody,
  cutNote,
  fitCodeBlock,
  inlineCode,
  neutraliseBroadcasts,
  plainText,
  slackDate,
} from './mrkdwn';

/**
 * The Block Kit messages PolicyGate posts to Slack for an approval, as pure functions: no network, and
 * the record's task token is never read. Everything taken from the event is escaped (see `mrkdwn.ts`),
 * and every message stays within Slack's limits however large the policy is, saying what was cut.
 */

export { consoleUrl } from './console-url';
export { escapeMrkdwn } from './mrkdwn';

export type KnownBlock = types.KnownBlock;

export const APPROVE_ACTION_ID = 'policy_gate_approve';
export const DENY_ACTION_ID = 'policy_gate_deny';
/** The console link button; Slack still sends an action for it, which the app only acknowledges. */
export const CONSOLE_ACTION_ID = 'policy_gate_open_console';
/** The actions block holding Approve/Deny (and the console link) on a pending request. */
export const DECISION_BLOCK_ID = 'policy_gate_decision';
/** The actions block holding only the console link once the request is resolved. */
export const LINKS_BLOCK_ID = 'policy_gate_links';

export interface SlackMessage {
  /** Notification fallback: a short mrkdwn summary. */
  readonly text: string;
  readonly blocks: KnownBlock[];
}

// Caps for single values taken from the event, in characters of mrkdwn.
const NAME_MAX = 250;
const SHORT_MAX = 100;
const USER_AGENT_MAX = 300;
const ERROR_MAX = 600;
// A status line, not an essay: the rest of the message keeps its room.
const HEADLINE_MAX = 1500;
// Findings may use up to this much text, leaving the policy view at least POLICY_MIN.
const FINDINGS_MAX = 6000;
const POLICY_MIN = 1200;
// Room kept free in a section for the "… and N more" line.
const FINDINGS_NOTE_ROOM = 120;

function mrkdwn(text: string): types.MrkdwnElement {
  return { type: 'mrkdwn', text };
}

function plain(text: string, max: number): types.PlainTextElement {
  return { type: 'plain_text', text: clipPlain(text, max), emoji: true };
}

function section(text: string): types.SectionBlock {
  return { type: 'section', text: mrkdwn(clipMrkdwn(text, SLACK_LIMITS.sectionText)) };
}

/** Sum of the text of every text object in `value`, as Slack counts towards `msg_blocks_too_long`. */
function textLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + textLength(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  const record = value as Record<string, unknown>;
  let sum = 0;
  for (const [key, child] of Object.entries(record)) {
    if (key === 'text' && typeof child === 'string') sum += child.length;
    else sum += textLength(child);
  }
  return sum;
}

function pluralise(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/** `describeTarget` over escaped, inline-code values, so the shared wording stays in one place. */
function targetMrkdwn(target: ChangeTarget, max = NAME_MAX): string {
  switch (target.kind) {
    case 'managed-policy':
      return describeTarget({ ...target, policyArn: inlineCode(target.policyArn, max) });
    case 'inline-policy':
      return describeTarget({
        ...target,
        principalType: plainText(target.principalType, 20) as PrincipalType,
        principalName: inlineCode(target.principalName, max),
        policyName: inlineCode(target.policyName, max),
      });
    case 'attachment':
      return describeTarget({
        ...target,
        principalType: plainText(target.principalType, 20) as PrincipalType,
        principalName: inlineCode(target.principalName, max),
        policyArn: inlineCode(target.policyArn, max),
      });
    case 'group-membership':
      return describeTarget({
        ...target,
        groupName: inlineCode(target.groupName, max),
        userName: inlineCode(target.userName, max),
      });
    case 'permissions-boundary':
      return describeTarget({
        ...target,
        principalType: plainText(target.principalType, 20) as 'role' | 'user',
        principalName: inlineCode(target.principalName, max),
        ...(target.policyArn !== undefined && { policyArn: inlineCode(target.policyArn, max) }),
      });
    case 'trust-policy':
      return describeTarget({ ...target, roleName: inlineCode(target.roleName, max) });
  }
}

function changeSection(change: PolicyChange, account?: ApprovalRecord['account']): types.SectionBlock {
  const version = change.versionId
    ? ` (version ${inlineCode(change.versionId, 40)}${change.setAsDefault ? ', set as default' : ''})`
    : '';
  return section(
    [
      `*What changed:* ${inlineCode(change.eventName, 60)} on ${targetMrkdwn(change.target)}${version}`,
      `*Account:* ${inlineCode(change.accountId, 40)} · *Region:* ${inlineCode(change.region, 40)} · *When:* ${slackDate(change.eventTime)}`,
      ...(account ? [accountMrkdwn(account)] : []),
    ].join('\n'),
  );
}

/** The account's name and OU path from Organizations (organization stages). */
export function accountMrkdwn(account: NonNullable<ApprovalRecord['account']>): string {
  const units = account.organizationalUnits?.map((u) => inlineCode(u, 60)).join(' < ');
  return `*Account name:* ${inlineCode(account.name ?? 'unknown', 60)}${units ? ` · *OU:* ${units}` : ''}`;
}

function actorLine(actor: Actor): string {
  const type = inlineCode(actor.type, 40);
  if (actor.arn) return `*Who:* ${inlineCode(actor.arn, NAME_MAX)} (${type})`;
  const id = actor.userName ?? actor.principalId;
  return `*Who:* ${id ? `${inlineCode(id, NAME_MAX)} (${type})` : type}`;
}

/** Who the change is attributed to, and how (escaped: names come from the event and the trail). */
function attributionLine(record: ApprovalRecord): string[] {
  if (!record.attribution) return [];
  return [`*Attributed to:* ${plainText(describeAttribution(record.attribution), ERROR_MAX)}`];
}

/** "n of 2 approvals" and who gave them, when the change needs two different approvers. */
function approvalCountLine(record: ApprovalRecord): string[] {
  const required = approvalsRequired(record);
  if (required < 2) return [];
  const approvals = record.approvals ?? [];
  const count = record.status === 'APPROVED' ? required : approvals.length;
  const why = [
    ...(record.attribution?.method === 'unattributed' ? ['no person could be named as its author'] : []),
    ...((record.criticalActions?.length ?? 0) > 0
      ? [
          `it grants critical ${record.criticalActions
            ?.slice(0, 3)
            .map((a) => inlineCode(a, 80))
            .join(', ')}`,
        ]
      : []),
  ];
  const given = approvals.map(decisionHeadline);
  return [
    `:busts_in_silhouette: *${count} of ${required} approvals*${why.length > 0 ? ` (two different approvers, since ${why.join(' and ')})` : ''}${given.length > 0 ? `: ${given.join('; ')}` : ''}`,
  ];
}

function actorSection(change: PolicyChange, record?: ApprovalRecord): types.SectionBlock {
  const { actor } = change;
  const session = [
    ...(actor.sessionName ? [`*Session:* ${inlineCode(actor.sessionName, SHORT_MAX)}`] : []),
    ...(actor.sessionIssuer ? [`*Issued by:* ${inlineCode(actor.sessionIssuer.arn, NAME_MAX)}`] : []),
    ...(actor.invokedBy ? [`*Invoked by:* ${inlineCode(actor.invokedBy, SHORT_MAX)}`] : []),
  ];
  const origin = [
    `*Source IP:* ${change.sourceIp ? inlineCode(change.sourceIp, SHORT_MAX) : '_unknown_'}`,
    ...(actor.mfaAuthenticated !== undefined ? [`*MFA:* ${actor.mfaAuthenticated ? 'yes' : 'no'}`] : []),
    ...(actor.accessKeyId ? [`*Access key:* ${inlineCode(actor.accessKeyId, 40)}`] : []),
  ];
  return section(
    [
      actorLine(actor),
      ...(record ? attributionLine(record) : []),
      ...(session.length > 0 ? [session.join(' · ')] : []),
      origin.join(' · '),
      `*User agent:* ${change.userAgent ? inlineCode(change.userAgent, USER_AGENT_MAX) : '_unknown_'}`,
    ].join('\n'),
  );
}

function analysisErrorSection(record: ApprovalRecord): types.SectionBlock[] {
  const problems = record.change.problems ?? [];
  const lines = [
    ...(record.analysisError === undefined
      ? []
      : [
          `:rotating_light: *The policy could not be analysed*, so PolicyGate treats the change as risky: ${plainText(record.analysisError, ERROR_MAX)}`,
        ]),
    ...(record.concerns ?? []).map(
      (concern) => `:rotating_light: *Treated as risky:* ${plainText(concern, ERROR_MAX)}`,
    ),
    ...(problems.length > 0
      ? [
          `:rotating_light: *The event could not be read in full*, so PolicyGate treats the change as risky: ${problems
            .slice(0, 5)
            .map((p) => plainText(p, 300))
            .join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
        ]
      : []),
    ...(record.change.origin === 'sweep'
      ? [
          ':mag: *Found by the reconciliation sweep*: no CloudTrail event for this change reached PolicyGate, so who made it is unknown.',
        ]
      : []),
    ...(record.change.actor.type === 'Unknown'
      ? [
          ':bust_in_silhouette: *Who made it is unknown*, so nobody can be ruled out as its author: it cannot be approved. Deny it, and have it made again so its event is read.',
        ]
      : []),
  ];
  return lines.length === 0 ? [] : [section(lines.join('\n'))];
}

// Principals a reach line names before it only counts.
const REACH_LISTED = 12;

/** Who else the grant reaches (attachments, group members), recorded at quarantine time. */
function reachSection(record: ApprovalRecord): types.SectionBlock[] {
  const { reach } = record;
  if (!reach) return [];
  if (reach.unreadable !== undefined) {
    return [
      section(
        `:warning: *Who it reaches could not be read* (${plainText(reach.unreadable, 80)}): approving will not restore it, since PolicyGate cannot tell whether it then reaches anyone nobody reviewed.`,
      ),
    ];
  }
  const names = [
    ...reach.attachedTo.map((p) => `${plainText(p.type, 10)} ${inlineCode(p.name, 80)}`),
    ...reachGroupMembers(reach).flatMap(({ group, users }) =>
      users.map((user) => `user ${inlineCode(user, 80)} (group ${inlineCode(group, 80)})`),
    ),
  ];
  const label = record.original.kind === 'managed-policy' ? 'Attached to' : 'Group members';
  if (reach.count === 0) return [section(`*${label}:* nobody at quarantine time.`)];
  const shown = names.slice(0, REACH_LISTED);
  const more = reach.count - shown.length;
  return [
    section(
      `*${label} (${reach.count.toLocaleString('en-US')}):* ${shown.join(', ')}${more > 0 ? `, and ${pluralise(more, 'more')}` : ''}\n_Approving restores it for these only: if it reaches anyone else by then, the restore stops with a conflict._`,
    ),
  ];
}

function describeDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return pluralise(Math.max(1, minutes), 'minute');
  const hours = Math.round(minutes / 60);
  if (hours < 72) return `about ${pluralise(hours, 'hour')}`;
  return `about ${pluralise(Math.round(hours / 24), 'day')}`;
}

function quarantineLine(record: ApprovalRecord): string {
  const { quarantine } = record;
  if (!quarantine) return ':warning: *Quarantine:* not recorded yet.';
  const details = [
    ...(quarantine.quarantineVersionId
      ? [`quarantine version ${inlineCode(quarantine.quarantineVersionId, 40)}`]
      : []),
    ...(quarantine.deletedVersions?.length
      ? [
          `${pluralise(quarantine.deletedVersions.length, 'older version')} deleted to make room, kept in the approval record`,
        ]
      : []),
  ];
  return `:lock: *Quarantined* since ${slackDate(quarantine.appliedAt)}: the policy in force grants nothing until someone decides${details.length > 0 ? ` (${details.join('; ')})` : ''}.`;
}

function pendingStateSection(record: ApprovalRecord, now: Date): types.SectionBlock {
  const left = Date.parse(record.deadline) - now.getTime();
  const when = Number.isFinite(left)
    ? left > 0
      ? ` (in ${describeDuration(left)})`
      : ' (already past)'
    : '';
  return section(
    [
      quarantineLine(record),
      ...approvalCountLine(record),
      `:hourglass_flowing_sand: *Expires* ${slackDate(record.deadline)}${when}. With no decision by then, the change stays quarantined.`,
    ].join('\n'),
  );
}

/**
 * `table[key]` when it is one of the table's own entries. Statuses, results and channels come from stored
 * items, which an edit can set to `constructor` or `toString`: those must read as unknown, not as a
 * function pasted into the message.
 */
function labelOf(table: Readonly<Record<string, string>>, key: unknown): string | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

const OUTCOME_LABELS: Readonly<Record<OutcomeResult, string>> = {
  RESTORED: 'Restored',
  KEPT_QUARANTINED: 'Kept quarantined',
  EXPIRED: 'Expired',
  CONFLICT: 'Conflict',
  FAILED: 'Workflow failed',
};

function resolvedStateSection(record: ApprovalRecord): types.SectionBlock {
  const { outcome, failure } = record;
  return section(
    [
      ...(record.decision ? [`*Decision:* ${decisionHeadline(record.decision)}`] : []),
      ...approvalCountLine(record),
      ...(outcome
        ? [
            `*Outcome:* ${labelOf(OUTCOME_LABELS, outcome.result) ?? plainText(String(outcome.result), 40)} at ${slackDate(outcome.at)}${outcome.detail ? `: ${plainText(outcome.detail, ERROR_MAX)}` : ''}`,
          ]
        : []),
      ...(failure
        ? [
            `*Failure:* ${inlineCode(failure.error, SHORT_MAX)} at ${slackDate(failure.at)}${failure.cause ? `: ${plainText(failure.cause, ERROR_MAX)}` : ''}`,
          ]
        : []),
      quarantineLine(record),
      `*Deadline:* ${slackDate(record.deadline)} · *Status:* ${inlineCode(record.status, 20)}`,
    ].join('\n'),
  );
}

interface FindingGroup {
  readonly conditional: boolean;
  readonly statements: readonly GrantingStatement[];
  readonly actions: string[];
}

/** Findings granted the same way (same statements, patterns, resources, conditionality) share a line. */
function groupFindings(findings: readonly Finding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const finding of findings) {
    const key = JSON.stringify([finding.conditional, finding.statements]);
    const group = groups.get(key);
    if (group) group.actions.push(finding.action);
    else
      groups.set(key, {
        conditional: finding.conditional,
        statements: finding.statements,
        actions: [finding.action],
      });
  }
  // Unconditional grants are the riskier ones: list them first.
  return [...groups.values()].sort((a, b) => Number(a.conditional) - Number(b.conditional));
}

function valueList(values: readonly string[], shown = 2): string {
  const listed = values.slice(0, shown).map((v) => inlineCode(v, 100));
  const more = values.length - listed.length;
  return [...listed, ...(more > 0 ? [`and ${more} more`] : [])].join(', ') || '_none_';
}

function describeGrant(statement: GrantingStatement & { readonly source?: string }): string {
  const sid = statement.sid ? ` ${inlineCode(statement.sid, 80)}` : '';
  // Which of several documents (group policies, versions under approval) the statement is in.
  const source = statement.source ? ` of ${inlineCode(statement.source, 160)}` : '';
  const resources = statement.notResources
    ? `every resource except ${valueList(statement.notResources)}`
    : valueList(statement.resources);
  return `statement #${plainText(String(statement.index), 12)}${sid}${source} via ${inlineCode(statement.matchedBy, 160)} on ${resources}`;
}

function groupHeader(group: FindingGroup): string {
  const shown = group.statements.slice(0, 3).map(describeGrant);
  const more = group.statements.length - shown.length;
  const grants = [...shown, ...(more > 0 ? [`and ${pluralise(more, 'more statement')}`] : [])].join('; ');
  const kind = group.conditional ? ':large_yellow_circle: *conditional*' : ':red_circle: *unconditional*';
  return `• ${kind}, granted by ${grants || '_no statement recorded_'}:`;
}

/**
 * The findings as section texts: as few sections as fit, at most `budget` characters and `maxSections`
 * sections in all, ending with "… and N more restricted actions" when some did not fit.
 */
function findingsTexts(record: ApprovalRecord, budget: number, maxSections: number): string[] {
  const total = totalFindings(record);
  if (total === 0) {
    return [
      record.analysisError !== undefined
        ? '*Restricted actions granted:* unknown, as the policy could not be analysed.'
        : '*Restricted actions granted:* none found.',
    ];
  }
  const sectionRoom = SLACK_LIMITS.sectionText - FINDINGS_NOTE_ROOM;
  const totalRoom = budget - FINDINGS_NOTE_ROOM;
  const sections: string[] = [];
  let current = `*Restricted actions granted: ${total.toLocaleString('en-US')}*`;
  let finished = 0;
  let shown = 0;

  // Appends a piece, moving to a new section when this one is full; `lead` is dropped at a section start.
  const place = (lead: string, body: string): boolean => {
    if (finished + current.length + lead.length + body.length > totalRoom) return false;
    if (current.length + lead.length + body.length <= sectionRoom) {
      current += lead + body;
      return true;
    }
    if (sections.length + 2 > maxSections || finished + current.length + body.length > totalRoom)
      return false;
    sections.push(current);
    finished += current.length;
    current = body;
    return true;
  };

  outer: for (const group of groupFindings(record.findings)) {
    const before = { sections: sections.length, current, finished };
    if (!place('\n', groupHeader(group))) break;
    for (const [i, action] of group.actions.entries()) {
      if (!place(i === 0 ? '\n' : ', ', inlineCode(action, 120))) {
        if (i === 0) {
          // A header without a single action says nothing: take it back.
          sections.length = before.sections;
          current = before.current;
          finished = before.finished;
        }
        break outer;
      }
      shown += 1;
    }
  }
  if (shown < total) {
    const where = record.findingsOmitted
      ? 'run `npx policy-gate check` on the policy for the full list'
      : 'the full list is in the approval record';
    current += `\n_… and ${pluralise(total - shown, 'more restricted action')}; ${where}._`;
  }
  sections.push(current);
  return sections;
}

function policySectionText(record: ApprovalRecord, budget: number): string {
  const { original } = record;
  const version =
    original.kind === 'managed-policy'
      ? ` (version ${inlineCode(original.offendingVersionId, 40)})`
      : original.kind === 'attachment'
        ? ` (${inlineCode(original.policyArn, NAME_MAX)}, version ${inlineCode(original.versionId, 40)}${original.pendingVersions?.length ? `; also ${pluralise(original.pendingVersions.length, 'version')} under approval, analysed too` : ''})`
        : original.kind === 'group-membership'
          ? ` (one of ${pluralise(original.grants.length, 'policy')} the group grants, all analysed)`
          : ` (${inlineCode(original.policyName, NAME_MAX)})`;
  const { body, json } = codeBlockBody(original.document);
  const title = `*Policy under review*${version}${json ? '' : ', not valid JSON, shown as received'}:\n`;
  const noteRoom = 120;
  const room = Math.min(SLACK_LIMITS.sectionText, budget) - title.length - noteRoom;
  const fitted = fitCodeBlock(body, Math.max(room, 40));
  const note =
    fitted.cut > 0
      ? `\n_${cutNote(fitted.cut)} cut; the full document is in the approval record and the AWS console._`
      : '';
  return `${title}${fitted.text}${note}`;
}

function consoleButton(record: ApprovalRecord): types.Button {
  const partition = partitionOf(record.change.actor.arn) ?? partitionOf(record.executionId);
  return {
    type: 'button',
    action_id: CONSOLE_ACTION_ID,
    text: plain('Open in AWS console', SLACK_LIMITS.buttonText),
    url: consoleUrl(record.change.target, partition),
  };
}

function checkedApprovalId(record: ApprovalRecord): string {
  const id = record.approvalId;
  if (typeof id !== 'string' || id.length === 0 || id.length > SLACK_LIMITS.buttonValue) {
    throw new PolicyGateError('approval id must be a non-empty string a Slack button can carry');
  }
  return id;
}

/** The Approve / Deny buttons of one request, each carrying its approval id, with confirmation dialogs. */
export function decisionButtons(record: ApprovalRecord): types.Button[] {
  const approvalId = checkedApprovalId(record);
  const target = targetMrkdwn(record.change.target, 80);
  const confirmText = (text: string) => mrkdwn(clipMrkdwn(text, SLACK_LIMITS.confirmText));
  return [
    {
      type: 'button',
      action_id: APPROVE_ACTION_ID,
      text: plain('Approve', SLACK_LIMITS.buttonText),
      style: 'primary',
      value: approvalId,
      confirm: {
        title: plain('Approve this change?', SLACK_LIMITS.confirmTitle),
        text: confirmText(`PolicyGate will restore the change to ${target} now.`),
        confirm: plain('Approve', SLACK_LIMITS.confirmButton),
        deny: plain('Cancel', SLACK_LIMITS.confirmButton),
        style: 'primary',
      },
    },
    {
      type: 'button',
      action_id: DENY_ACTION_ID,
      text: plain('Deny', SLACK_LIMITS.buttonText),
      style: 'danger',
      value: approvalId,
      confirm: {
        title: plain('Deny this change?', SLACK_LIMITS.confirmTitle),
        text: confirmText(`The change to ${target} stays quarantined.`),
        confirm: plain('Deny', SLACK_LIMITS.confirmButton),
        deny: plain('Cancel', SLACK_LIMITS.confirmButton),
        style: 'danger',
      },
    },
  ];
}

function footer(record: ApprovalRecord): types.ContextBlock {
  const { change } = record;
  return {
    type: 'context',
    elements: [
      mrkdwn(
        [
          `Approval ${inlineCode(record.approvalId, 120)}`,
          `event ${inlineCode(change.eventId, 80)}`,
          ...(change.requestId ? [`request ${inlineCode(change.requestId, 80)}`] : []),
        ].join(' · '),
      ),
    ],
  };
}

/**
 * Lays out a message: `top` blocks, the change details, findings and policy view, then `bottom`
 * blocks. Findings and the policy view share whatever text budget the other blocks leave.
 */
function layout(
  record: ApprovalRecord,
  top: KnownBlock[],
  state: KnownBlock,
  bottom: KnownBlock[],
): KnownBlock[] {
  const details: KnownBlock[] = [
    ...analysisErrorSection(record),
    changeSection(record.change, record.account),
    actorSection(record.change, record),
    ...reachSection(record),
    state,
  ];
  const fixed = [...top, ...details, ...bottom];
  const remaining = MESSAGE_TEXT_BUDGET - textLength(fixed);
  // One block each for the divider and the policy view.
  const maxSections = SLACK_LIMITS.blocksPerMessage - fixed.length - 2;
  const findings = findingsTexts(record, Math.min(FINDINGS_MAX, remaining - POLICY_MIN), maxSections).map(
    section,
  );
  const policy = section(policySectionText(record, remaining - textLength(findings)));
  return [...top, ...details, { type: 'divider' }, ...findings, policy, ...bottom];
}

/** "`EventName` on <target>", escaped. */
export function shortTarget(record: ApprovalRecord): string {
  return `${inlineCode(record.change.eventName, 60)} on ${targetMrkdwn(record.change.target, 200)}`;
}

/** The pending request: what changed, who did it, the findings, the policy, and Approve/Deny buttons. */
export function approvalRequestMessage(record: ApprovalRecord, options: { now?: Date } = {}): SlackMessage {
  const now = options.now ?? new Date();
  const header: types.HeaderBlock = {
    type: 'header',
    text: plain(`:rotating_light: Approval needed: ${record.change.eventName}`, SLACK_LIMITS.headerText),
  };
  const actions: types.ActionsBlock = {
    type: 'actions',
    block_id: DECISION_BLOCK_ID,
    elements: [...decisionButtons(record), consoleButton(record)],
  };
  const findings =
    record.analysisError !== undefined
      ? 'could not be analysed'
      : pluralise(totalFindings(record), 'restricted action');
  const text = clipMrkdwn(
    `Approval needed: ${shortTarget(record)} in account ${inlineCode(record.change.accountId, 40)} (${findings}).`,
    SLACK_LIMITS.fallbackText,
  );
  return {
    text,
    blocks: layout(record, [header], pendingStateSection(record, now), [actions, footer(record)]),
  };
}

const STATUS_HEADERS: Readonly<Record<ApprovalStatus, string>> = {
  PENDING: ':rotating_light: Approval pending',
  APPROVED: ':white_check_mark: Approved',
  DENIED: ':no_entry: Denied',
  EXPIRED: ':hourglass: Expired',
  FAILED: ':x: Workflow failed',
  CONFLICT: ':warning: Conflict',
  RESTORING: ':white_check_mark: Approved',
  RESTORED: ':white_check_mark: Restored',
};

const OUTCOME_HEADERS: Readonly<Record<OutcomeResult, string>> = {
  RESTORED: ':white_check_mark: Restored',
  KEPT_QUARANTINED: ':no_entry: Kept quarantined',
  EXPIRED: ':hourglass: Expired',
  CONFLICT: ':warning: Conflict',
  FAILED: ':x: Workflow failed',
};

/**
 * The request once it is no longer actionable: a status `headline` at the top, the same details, and
 * no Approve/Deny buttons. `headline` is mrkdwn the caller built (e.g. with {@link decisionHeadline});
 * values in it from outside must already be escaped. Broadcast mentions in it are neutralised anyway.
 */
export function resolvedMessage(record: ApprovalRecord, headline: string): SlackMessage {
  const label =
    (record.outcome && labelOf(OUTCOME_HEADERS, record.outcome.result)) ??
    labelOf(STATUS_HEADERS, record.status) ??
    ':information_source: Resolved';
  const header: types.HeaderBlock = {
    type: 'header',
    text: plain(`${label}: ${record.change.eventName}`, SLACK_LIMITS.headerText),
  };
  const safeHeadline = clipMrkdwn(neutraliseBroadcasts(headline.trim()), HEADLINE_MAX) || '_(no headline)_';
  const links: types.ActionsBlock = {
    type: 'actions',
    block_id: LINKS_BLOCK_ID,
    elements: [consoleButton(record)],
  };
  const text = clipMrkdwn(`${safeHeadline} (${shortTarget(record)})`, SLACK_LIMITS.fallbackText);
  return {
    text,
    blocks: layout(record, [header, section(safeHeadline)], resolvedStateSection(record), [
      links,
      footer(record),
    ]),
  };
}

/**
 * A thread reply for the audit trail: `event` (mrkdwn the caller built, values from outside already
 * escaped; broadcast mentions are neutralised anyway) and the approval it belongs to, ≤ 3,000 characters.
 */
export function auditReply(record: ApprovalRecord, event: string): string {
  const tail = ` _(approval ${inlineCode(record.approvalId, 120)}, status ${inlineCode(record.status, 20)})_`;
  const body = neutraliseBroadcasts(event.trim()) || '_(no event text)_';
  return `${clipMrkdwn(body, SLACK_LIMITS.reply - tail.length)}${tail}`;
}

const CHANNEL_NAMES: Readonly<Record<DecisionOutput['decidedBy']['channel'], string>> = {
  slack: 'Slack',
  email: 'e-mail',
  cli: 'the CLI',
};

/**
 * The headline for a decision, e.g. `Approved by <@U1> (Alice) via Slack at <date>`. A Slack decider is
 * mentioned by id (only when it looks like a Slack user id); names are escaped.
 */
export function decisionHeadline(decision: DecisionOutput): string {
  const verb = decision.decision === 'APPROVED' ? 'Approved' : 'Denied';
  const by = decision.decidedBy;
  // All an e-mail link proves is that its holder read the mail: the decision names the link, not a person.
  if (by.channel === 'email') {
    return `${verb} via e-mail link at ${slackDate(decision.decidedAt)} (through the link sent to ${inlineCode(by.id, 120)})`;
  }
  const who =
    by.channel === 'slack' && /^[UW][A-Z0-9]{2,30}$/.test(by.id) ? `<@${by.id}>` : inlineCode(by.id, 120);
  const name = by.name.trim() ? ` (${plainText(by.name, SHORT_MAX)})` : '';
  const via = labelOf(CHANNEL_NAMES, by.channel) ?? plainText(String(by.channel), 20);
  return `${verb} by ${who}${name} via ${via} at ${slackDate(decision.decidedAt)}`;
}
