import { createHash } from 'node:crypto';
import { type ApprovalRecord, approvalsRequired } from '../domain/approval';
import type { Attribution } from '../domain/attribution';
import { type DecisionLink, decisionWord, type FormToken } from '../domain/decision-link';
import { changeLines, describeApprovalRule, describeFindings, describeReach } from '../domain/messages';

/**
 * The decision page's HTML: self-contained (no script, no external asset, one inline style allowed by its
 * hash), every value escaped. Pure.
 */

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#111}' +
  'pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f4f4;padding:.75rem;border-radius:4px}' +
  'button{font-size:1.1rem;padding:.6rem 1.6rem;border-radius:4px;border:1px solid #333;cursor:pointer}' +
  '.approve{background:#0b6e2e;color:#fff}.deny{background:#a4161a;color:#fff}.note{color:#555}';

/** The Content-Security-Policy: nothing but this page's one style; the form may post only to the page. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function page(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(title)} – PolicyGate</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    `<h1>${escapeHtml(title)}</h1>`,
    body,
    '</body></html>',
  ].join('\n');
}

const paragraph = (text: string, cls?: string): string =>
  `<p${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</p>`;
const block = (lines: readonly string[]): string =>
  lines.length > 0 ? `<pre>${escapeHtml(lines.join('\n'))}</pre>` : '';

/** A page that only explains (refusals, errors). */
export function messagePage(title: string, lines: readonly string[]): string {
  return page(title, lines.map((line) => paragraph(line)).join('\n'));
}

/** What the page shows of a request: the same facts as the e-mail, from the sealed record. */
function details(record: ApprovalRecord): string {
  return [
    '<h2>The change</h2>',
    block([...changeLines(record.change), ...describeApprovalRule(record)]),
    '<h2>What it grants</h2>',
    block([
      ...describeFindings(record.findings, record.findingsOmitted),
      ...(record.analysisError ? [`The policy could not be analysed: ${record.analysisError}`] : []),
      ...(record.concerns ?? []).map((concern) => `Treated as risky: ${concern}`),
    ]),
    '<h2>Who it reaches</h2>',
    block(describeReach(record).length > 0 ? describeReach(record) : ['Not recorded']),
    '<h2>State</h2>',
    block([
      `Status: ${record.status}`,
      `Quarantined since ${record.quarantine?.appliedAt ?? record.createdAt}`,
      `The request expires at ${record.deadline}`,
      `Approval id: ${record.approvalId}`,
    ]),
  ].join('\n');
}

export interface DecisionPageView {
  readonly record: ApprovalRecord;
  readonly link: DecisionLink;
  readonly address: string;
  /** The form token, when this link may decide now; else `refusal` says why not. */
  readonly token?: FormToken;
  readonly refusal?: string;
}

/**
 * The page a link opens: the request, and a form that decides only when its button is pressed (a POST).
 * No script: a scanner that loads the page, with or without JavaScript, submits nothing.
 */
export function decisionPage(view: DecisionPageView): string {
  const { record, link, token } = view;
  const approve = link.decision === 'APPROVED';
  const verb = approve ? 'Approve' : 'Deny';
  const hidden = (name: string, value: string | number): string =>
    `<input type="hidden" name="${name}" value="${escapeHtml(String(value))}">`;
  const form = token
    ? [
        '<form method="post" action="/">',
        hidden('a', link.approvalId),
        hidden('d', decisionWord(link.decision)),
        hidden('e', link.expiresAt),
        hidden('s', link.signature),
        hidden('n', token.nonce),
        hidden('t', token.issuedAt),
        hidden('f', token.mac),
        paragraph(
          approve
            ? 'Approving restores the change exactly as it was made.'
            : 'Denying keeps the change quarantined.',
        ),
        `<button type="submit" class="${approve ? 'approve' : 'deny'}">${verb} this change</button>`,
        '</form>',
      ].join('\n')
    : paragraph(view.refusal ?? 'This link cannot decide now.');
  return page(
    `${verb} a quarantined IAM change?`,
    [
      paragraph(
        `Nothing has been decided by opening this page. Pressing the button records the decision as made through the link sent to ${view.address}.`,
        'note',
      ),
      details(record),
      `<h2>${verb}</h2>`,
      form,
    ].join('\n'),
  );
}

/** The page for a request that is no longer pending: who decided (or that it expired), and its details. */
export function settledPage(record: ApprovalRecord, headline: string): string {
  const decision = record.decision;
  const by = decision
    ? decision.decidedBy.channel === 'email'
      ? `${decision.decision === 'APPROVED' ? 'Approved' : 'Denied'} via e-mail link at ${decision.decidedAt} (through the link sent to ${decision.decidedBy.id})`
      : `${decision.decision === 'APPROVED' ? 'Approved' : 'Denied'} by ${decision.decidedBy.name} (${decision.decidedBy.channel} ${decision.decidedBy.id}) at ${decision.decidedAt}`
    : undefined;
  return page(
    headline,
    [
      ...(by ? [paragraph(by)] : []),
      ...(record.outcome ? [paragraph(`Outcome: ${record.outcome.result} at ${record.outcome.at}`)] : []),
      paragraph('Nothing was changed by opening this page.', 'note'),
      details(record),
    ].join('\n'),
  );
}

/** How many approvers a record needs, with its current attribution. */
export function requiredApprovals(record: ApprovalRecord, attribution: Attribution): number {
  return approvalsRequired({ ...record, attribution });
}
