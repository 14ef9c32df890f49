import type { Finding } from './analyse-policy';
import type { ApprovalRecord } from './approval';
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
  }
}

function describeChange(change: PolicyChange): string[] {
  const actor = change.actor.arn ?? change.actor.type;
  return [
    `Change:   ${change.eventName} (${describeTarget(change.target)})`,
    `Account:  ${change.accountId}, region ${change.region}, at ${change.eventTime}`,
    `Actor:    ${actor}${change.sourceIp ? ` from ${change.sourceIp}` : ''}`,
    ...(change.userAgent ? [`Agent:    ${change.userAgent}`] : []),
    `Event id: ${change.eventId}`,
  ];
}

function describeFindings(findings: readonly Finding[]): string[] {
  if (findings.length === 0) return ['Restricted actions granted: none'];
  return [
    `Restricted actions granted (${findings.length}):`,
    ...findings.map((finding) => {
      const statements = finding.statements
        .map((s) => `statement #${s.index}${s.sid ? ` (${s.sid})` : ''} via ${s.matchedBy}`)
        .join('; ');
      return `  - ${finding.action}${finding.conditional ? ' [conditional]' : ''}: ${statements}`;
    }),
  ];
}

/** Asks for a decision on a quarantined change. */
export function approvalRequestedMessage(record: ApprovalRecord): MessageText {
  return {
    subject: `PolicyGate: approval needed for ${record.change.eventName} (${record.findings.length} restricted actions)`,
    message: [
      'A risky IAM change was quarantined and waits for a decision.',
      '',
      ...describeChange(record.change),
      '',
      ...describeFindings(record.findings),
      ...(record.analysisError ? [`The policy could not be analysed: ${record.analysisError}`] : []),
      '',
      `Quarantined since ${record.quarantine?.appliedAt ?? record.createdAt}; the request expires at ${record.deadline}.`,
      `Decide in the PolicyGate Slack channel. Approval id: ${record.approvalId}`,
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
      ...describeChange(record.change),
      ...decision,
      `Approval id: ${record.approvalId}`,
    ].join('\n'),
  };
}
