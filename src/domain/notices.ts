import type { Finding } from './analyse-policy';
import type { MessageText } from './messages';

/**
 * Notices: what PolicyGate tells the team about a change it does not ask them to decide (a harmless
 * change, one reported rather than contained, a change to PolicyGate's own roles, a change it could NOT
 * contain). Plain data, rendered as e-mail text here and as Block Kit by the Slack channel, so both say
 * the same thing. Everything in a notice is plain text; the renderers escape it.
 */
export type NoticeSeverity = 'critical' | 'warning' | 'info';

export interface Notice {
  readonly severity: NoticeSeverity;
  /** One line, e.g. "CRITICAL: a change to PolicyGate's own role policy-gate-prod-analyse". */
  readonly title: string;
  readonly lines: readonly string[];
  /** The restricted actions involved, at most {@link MAX_NOTICE_FINDINGS}; `findingsTotal` counts all. */
  readonly findings?: readonly string[];
  readonly findingsTotal?: number;
}

/** A notice carries at most this many finding names (Step Functions payloads are capped at 256 KB). */
export const MAX_NOTICE_FINDINGS = 200;
// Lines and their length are capped for the same reason, and so junk from an event cannot flood a mailbox.
const MAX_LINES = 60;
const MAX_LINE = 2_000;

/** The notice's findings fields for a list of findings. */
export function noticeFindings(findings: readonly Finding[]): Pick<Notice, 'findings' | 'findingsTotal'> {
  if (findings.length === 0) return {};
  return {
    findings: findings
      .slice(0, MAX_NOTICE_FINDINGS)
      .map((f) => `${f.action}${f.conditional ? ' [conditional]' : ''}`),
    findingsTotal: findings.length,
  };
}

/** Caps a notice's size, whatever its builder put in. */
export function boundedNotice(notice: Notice): Notice {
  const clip = (line: string) => (line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line);
  return {
    ...notice,
    title: clip(notice.title).slice(0, 200),
    lines: notice.lines.slice(0, MAX_LINES).map(clip),
    ...(notice.findings && { findings: notice.findings.slice(0, MAX_NOTICE_FINDINGS).map(clip) }),
  };
}

const SUBJECT_PREFIX: Readonly<Record<NoticeSeverity, string>> = {
  critical: 'PolicyGate CRITICAL: ',
  warning: 'PolicyGate: ',
  info: 'PolicyGate: ',
};

/** The e-mail form of a notice. */
export function noticeText(notice: Notice): MessageText {
  const total = notice.findingsTotal ?? notice.findings?.length ?? 0;
  const listed = notice.findings ?? [];
  return {
    subject: `${SUBJECT_PREFIX[notice.severity]}${notice.title}`,
    message: [
      notice.title,
      '',
      ...notice.lines,
      ...(total > 0
        ? [
            '',
            `Restricted actions involved (${total}):`,
            ...listed.map((f) => `  - ${f}`),
            ...(total > listed.length ? [`  … and ${total - listed.length} more`] : []),
          ]
        : []),
    ].join('\n'),
  };
}
