import type { Finding } from './analyse-policy';
import { type ApprovalRecord, approvalsRequired, reachGroupMembers, totalFindings } from './approval';
import { describeAttribution } from './attribution';
import type { ChangeTarget, PolicyChange } from './policy-change';

/**
 * Plain-text notifications for the security team's mailbox (SNS e-mail). Pure functions: they never
 * see a task token, and the record's token is never read here.
 */
export interface MessageText {
  readonly subject: string;
  readonly message: string;
}

/** A short human name for what a change touched. */
export function describeTarget(target: ChangeTarget): string {
  switch (target.kind) {
    case 'managed-policy':
      return `managed policy ${target.policyArn}`;
    case 'inline-policy':
      return `inline policy ${target.policyName} on ${target.principalType} ${target.principalName}`;
    case 'attachment':
      return `${target.policyArn} attached to ${target.principalType} ${target.principalName}`;
    case 'group-membership':
      return `user ${target.userName} in group ${target.groupName}`;
    case 'permissions-boundary':
      return `permissions boundary of ${target.principalType} ${target.principalName}${target.policyArn ? ` (${target.policyArn})` : ''}`;
    case 'trust-policy':
      return `trust policy of role ${target.roleName}`;
  }
}

/** Who made a change, as one line: the ARN, else whatever identifies the actor. */
export function describeActor(change: PolicyChange): string {
  const { actor } = change;
  return actor.arn ?? actor.userName ?? actor.principalId ?? actor.type;
}

/** The change as e-mail lines: what, where, who, the event id, and what of the event could not be read. */
export function changeLines(change: PolicyChange): string[] {
  return [
    `Change:   ${change.eventName} (${describeTarget(change.target)})`,
    `Account:  ${change.accountId}, region ${change.region}, at ${change.eventTime}`,
    `Actor:    ${describeActor(change)}${change.sourceIp ? ` from ${change.sourceIp}` : ''}`,
    ...(change.userAgent ? [`Agent:    ${change.userAgent}`] : []),
    `Event id: ${change.eventId}`,
    ...(change.origin === 'sweep'
      ? [
          'Found by: the reconciliation sweep (no CloudTrail event reached PolicyGate; who made it is unknown)',
        ]
      : []),
    ...(change.problems && change.problems.length > 0
      ? [
          'The event could not be read in full, so PolicyGate treats the change as risky:',
          ...change.problems.slice(0, 20).map((p) => `  - ${p}`),
        ]
      : []),
  ];
}

/** Who the change is attributed to, and how many different approvers it needs (and why). */
export function describeApprovalRule(record: ApprovalRecord): string[] {
  const required = approvalsRequired(record);
  const approvals = record.approvals ?? [];
  return [
    ...(record.attribution ? [`Attributed to: ${describeAttribution(record.attribution)}`] : []),
    ...(required > 1
      ? [
          `Approvals: ${record.status === 'APPROVED' ? required : approvals.length} of ${required} (two different approvers${record.criticalActions?.length ? `; critical: ${record.criticalActions.slice(0, 10).join(', ')}` : ''})`,
          ...approvals.map(
            (a) =>
              `  - approved by ${a.decidedBy.name} (${a.decidedBy.channel} ${a.decidedBy.id}) at ${a.decidedAt}`,
          ),
        ]
      : []),
  ];
}

// A reach line lists this many principals by name.
const MAX_LISTED_PRINCIPALS = 50;

/** Who else the grant reaches (attachments, group members), as recorded at quarantine time. */
export function describeReach(record: ApprovalRecord): string[] {
  const { reach } = record;
  if (!reach) return [];
  if (reach.unreadable !== undefined) {
    return [
      `Reaches: could not be read (${reach.unreadable}); a restore will refuse, since it cannot tell whether the grant then reaches anyone nobody reviewed.`,
    ];
  }
  const names = [
    ...reach.attachedTo.map((p) => `${p.type} ${p.name}`),
    ...reachGroupMembers(reach).flatMap(({ group, users }) =>
      users.map((user) => `user ${user} (group ${group})`),
    ),
  ];
  if (reach.count === 0) {
    return [
      record.original.kind === 'managed-policy'
        ? 'Attached to: nothing at quarantine time'
        : 'Group members: none at quarantine time',
    ];
  }
  const listed = names.slice(0, MAX_LISTED_PRINCIPALS);
  return [
    `Reaches at quarantine time (${reach.count}): ${listed.join(', ')}${reach.count > listed.length ? `, and ${reach.count - listed.length} more` : ''}`,
    'A restore that finds the grant reaching anyone else (not covered by an approval of its own) stops with CONFLICT.',
  ];
}

// SNS caps a message at 256 KB; a wide restricted list against a large policy can grant thousands.
const MAX_LISTED_FINDINGS = 200;

/** The restricted actions granted, each with the statements granting it (capped for SNS's size limit). */
export function describeFindings(findings: readonly Finding[], omitted = 0): string[] {
  const total = findings.length + omitted;
  if (total === 0) return ['Restricted actions granted: none'];
  const listed = findings.slice(0, MAX_LISTED_FINDINGS);
  return [
    `Restricted actions granted (${total}):`,
    ...listed.map((finding) => {
      const statements = finding.statements
        .map(
          (s: Finding['statements'][number] & { readonly source?: string }) =>
            `statement #${s.index}${s.sid ? ` (${s.sid})` : ''}${s.source ? ` of ${s.source}` : ''} via ${s.matchedBy}`,
        )
        .join('; ');
      return `  - ${finding.action}${finding.conditional ? ' [conditional]' : ''}: ${statements}`;
    }),
    ...(total > listed.length
      ? [
          `  … and ${total - listed.length} more (run \`npx policy-gate check\` on the policy for all of them)`,
        ]
      : []),
  ];
}

/** The decision page links an approval e-mail carries (see `decision-link.ts`), and who they were sent to. */
export interface EmailLinks {
  readonly address: string;
  readonly approve?: string;
  readonly deny?: string;
  /** Why a link is missing (deny-only stage, two approvers needed, signing failed). */
  readonly note?: string;
}

/** The e-mail's "decide here" lines: plain text, each link alone on its line so mail clients keep it whole. */
function linkLines(links: EmailLinks | undefined): string[] {
  if (!links) return [];
  return [
    '',
    'Decide here (each link opens a page; nothing is decided until you press its button):',
    ...(links.approve ? ['Approve:', links.approve] : []),
    ...(links.deny ? ['Deny:', links.deny] : []),
    ...(links.note ? [links.note] : []),
    `A decision made there is recorded as made through the link sent to ${links.address}; that is all a link proves.`,
    'The links expire with the request. Do not forward this e-mail.',
    '',
  ];
}

/**
 * Asks for a decision on a quarantined change. `slackProblem` says why the Slack request could not be
 * posted: the e-mail is then the only notice, and it must say so.
 */
export function approvalRequestedMessage(
  record: ApprovalRecord,
  options: { readonly slackProblem?: string; readonly links?: EmailLinks } = {},
): MessageText {
  const where = options.slackProblem
    ? [
        `The Slack request could NOT be posted (${options.slackProblem}).`,
        'The change stays quarantined; it is restored only after an approval, and the request expires at',
        `${record.deadline}. Fix Slack and the outcome will be posted there when the workflow ends.`,
        ...(options.links?.approve || options.links?.deny ? ['Meanwhile, decide with a link below.'] : []),
        ...linkLines(options.links),
      ]
    : ['Decide in the PolicyGate Slack channel.', ...linkLines(options.links)];
  return {
    subject: `PolicyGate: approval needed for ${record.change.eventName} (${totalFindings(record)} restricted actions)${options.slackProblem ? ' [Slack unavailable]' : ''}`,
    message: [
      'A risky IAM change was quarantined and waits for a decision.',
      '',
      ...changeLines(record.change),
      ...accountLines(record),
      ...describeApprovalRule(record),
      '',
      ...describeFindings(record.findings, record.findingsOmitted),
      ...(record.analysisError ? [`The policy could not be analysed: ${record.analysisError}`] : []),
      ...(record.concerns ?? []).map((concern) => `Treated as risky: ${concern}`),
      ...describeReach(record),
      '',
      `Quarantined since ${record.quarantine?.appliedAt ?? record.createdAt}; the request expires at ${record.deadline}.`,
      ...where,
      `Approval id: ${record.approvalId}`,
    ].join('\n'),
  };
}

/** Reports how an approval ended. */
export function outcomeMessage(record: ApprovalRecord, headline: string): MessageText {
  const decision = record.decision
    ? [
        `Decision: ${record.decision.decision} by ${record.decision.decidedBy.name} (${record.decision.decidedBy.channel}) at ${record.decision.decidedAt}`,
      ]
    : [];
  return {
    subject: `PolicyGate: ${headline} (${record.change.eventName})`,
    message: [
      headline,
      '',
      ...changeLines(record.change),
      ...accountLines(record),
      ...describeApprovalRule(record),
      ...decision,
      `Approval id: ${record.approvalId}`,
    ].join('\n'),
  };
}

/** The account's name and OU path (from Organizations, when the stage gates an organization). */
export function accountLines(record: ApprovalRecord): string[] {
  const { account } = record;
  if (!account) return [];
  const units = account.organizationalUnits?.join(' < ');
  return [`Account name: ${account.name ?? 'unknown'}${units ? ` (OU ${units})` : ''}`];
}
