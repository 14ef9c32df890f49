/**
 * The sandbox's web console: server-rendered pages to watch the gate (the Slack channel, the mailbox, IAM,
 * the workflow runs) and drive it (Approve/Deny as a local Slack user through the real signed interactivity
 * path, and IAM changes made as a chosen actor). No inline script, no external assets, a strict CSP,
 * everything escaped; the list views update live through one same-origin script (./live.ts) and degrade to a
 * meta refresh without JavaScript. It binds to loopback and refuses requests whose Host is not its own (DNS rebinding) and form posts
 * from another origin (a web page in the same browser must not approve a change).
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, readBody } from '../http-util';
import {
  ACCOUNT,
  POLICY_GATE_ROLE,
  type Sandbox,
  SLACK_CHANNEL,
  SLACK_SIGNING_SECRET,
  SLACK_USERS,
} from '../sandbox';
import { findButton } from '../slack';
import {
  CONSOLE_SCRIPT,
  createLiveHub,
  isLiveView,
  type LiveOptions,
  type LiveView,
  versionOf,
} from './live';
import {
  ACTORS,
  type Actor,
  APP_ROLE,
  callOfEvent,
  clientFor,
  type IamCall,
  makeCall,
  pastedPolicy,
  SAMPLES,
  SimulateError,
} from './samples';

const MAX_BODY = 256 * 1024;

export interface ConsoleOptions {
  /** Port; 0 picks a free one. Default 3000. */
  port?: number;
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** Seconds between refreshes of the list views (0 = none); default 5. */
  refreshSeconds?: number;
  /** Live updates' limits and timings (see ./live.ts). */
  live?: LiveOptions;
}

export interface ConsoleServer {
  readonly url: string;
  close(): Promise<void>;
}

/** What one simulated change started. */
export interface SimulatedChange {
  eventName: string;
  approvalId: string;
  executionArn: string;
  /** The approval's status once it was recorded, or the execution's when no approval was needed. */
  status: string;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1c1d;background:#f8f8f8}
nav{background:#3f0e40;padding:8px 16px}nav a{color:#fff;margin-right:16px;text-decoration:none}
main{padding:16px;max-width:1100px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;margin:10px 0}
.reply{margin-left:32px;border-left:3px solid #ddd}.header{font-weight:700;font-size:16px}.ctx{color:#616061;font-size:12px}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px}.txt{white-space:pre-wrap}
button{margin:4px 6px 4px 0;padding:4px 12px}button.primary{background:#007a5a;color:#fff}button.danger{background:#e01e5a;color:#fff}
pre{background:#f4f4f4;padding:8px;overflow:auto;white-space:pre-wrap}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.note{background:#fff8e1;border:1px solid #e0c36d;padding:8px;border-radius:6px}.muted{color:#777}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
// script-src 'self' admits only /console.js (no inline script, no eval); connect-src 'self' its event stream and fragments.
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

/** HTML-escapes text for element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(
    /[&<>"'`]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] ?? c,
  );
}

function page(title: string, body: string): string {
  return pageWith(title, body, '');
}

/**
 * A list view: its fragment inside the live region the script keeps current. Without JavaScript the
 * `<noscript>` meta refresh reloads it instead (with JavaScript a noscript's content is inert text).
 */
function livePage(view: LiveView, fragment: string, refreshSeconds: number): string {
  const refresh =
    refreshSeconds > 0 ? `<noscript><meta http-equiv="refresh" content="${refreshSeconds}"></noscript>` : '';
  return pageWith(
    LIVE_TITLES[view],
    `<div id="live" data-view="${esc(view)}" data-version="${esc(versionOf(fragment))}" data-refresh="${refreshSeconds}">${fragment}</div>`,
    `${refresh}<script src="/console.js" defer></script>`,
  );
}

function pageWith(title: string, body: string, head: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">${head}<title>${esc(title)} · PolicyGate sandbox</title><style>${STYLE}</style></head><body><nav><a href="/slack">Slack channel</a><a href="/mail">Mailbox</a><a href="/iam">IAM</a><a href="/executions">Executions</a><a href="/simulate">Simulate a change</a></nav><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

// ---------- Block Kit ----------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (t: unknown): string => (isObj(t) && typeof t.text === 'string' ? t.text : '');

/**
 * Slack mrkdwn, escaped first and then given back only its harmless formatting: code blocks (shown as
 * written, with nothing formatted inside), bold, inline code, and the fallback text of dates and links
 * (links are not made clickable: their targets come from change data).
 */
function mrkdwn(text: string): string {
  return esc(text)
    .split(/&#96;&#96;&#96;([\s\S]*?)&#96;&#96;&#96;/)
    .map((part, i) =>
      i % 2 === 1 ? `<pre class="code">${part.replace(/^\n/, '')}</pre>` : inlineMrkdwn(part),
    )
    .join('');
}

/** Slack shows a user mention `<@U…>` as the person's name. */
const USER_NAMES = new Map<string, string>(Object.values(SLACK_USERS).map((u) => [u.id, u.name]));

function inlineMrkdwn(escaped: string): string {
  return escaped
    .replace(/&lt;@([UW][A-Z0-9]{2,20})&gt;/g, (_, id: string) => `<b>@${USER_NAMES.get(id) ?? id}</b>`)
    .replace(/&lt;!date\^\d+\^[^|\n]*\|([^\n]*?)&gt;/g, '$1')
    .replace(/&lt;[^|\n]*?\|([^\n]*?)&gt;/g, '$1')
    .replace(/&#96;([^\n]+?)&#96;/g, '<code>$1</code>')
    .replace(/\*([^*\n]+)\*/g, '<b>$1</b>');
}

function userOptions(): string {
  return Object.values(SLACK_USERS)
    .map((u) => `<option value="${esc(u.id)}">${esc(u.realName)} (${esc(u.id)})</option>`)
    .join('');
}

function renderButtons(elements: unknown[], channel: string, ts: string): string {
  const buttons = elements.filter((e): e is Obj => isObj(e) && e.type === 'button');
  if (buttons.length === 0) return '';
  if (buttons.every((b) => typeof b.url === 'string')) {
    return buttons.map((b) => `<span class="muted">[link button: ${esc(textOf(b.text))}]</span>`).join(' ');
  }
  const confirms: string[] = [];
  const html = buttons
    .map((b) => {
      if (typeof b.url === 'string')
        return `<span class="muted">[link button: ${esc(textOf(b.text))}]</span>`;
      const style = b.style === 'primary' || b.style === 'danger' ? ` class="${b.style}"` : '';
      if (isObj(b.confirm)) {
        confirms.push(
          `<div class="ctx">Slack asks before "${esc(textOf(b.text))}": <b>${esc(textOf(b.confirm.title))}</b> ${esc(textOf(b.confirm.text))} [${esc(textOf(b.confirm.confirm))} / ${esc(textOf(b.confirm.deny))}]</div>`,
        );
      }
      return `<button type="submit" name="action" value="${esc(b.action_id)}"${style}>${esc(textOf(b.text))}</button>`;
    })
    .join('');
  return `<form method="post" action="/slack/click" data-key="${esc(ts)}"><input type="hidden" name="channel" value="${esc(channel)}"><input type="hidden" name="ts" value="${esc(ts)}"><label>Click as <select name="user">${userOptions()}</select></label> ${html}${confirms.join('')}</form>`;
}

function renderBlocks(blocks: unknown[] | undefined, text: string, channel: string, ts: string): string {
  if (!blocks || blocks.length === 0) return `<div class="txt">${mrkdwn(text)}</div>`;
  return blocks
    .map((block) => {
      if (!isObj(block)) return '';
      switch (block.type) {
        case 'header':
          return `<div class="header">${esc(textOf(block.text))}</div>`;
        case 'section': {
          const main = textOf(block.text) ? `<div class="txt">${mrkdwn(textOf(block.text))}</div>` : '';
          const fields = Array.isArray(block.fields)
            ? `<div class="fields">${block.fields.map((f) => `<div class="txt">${mrkdwn(textOf(f))}</div>`).join('')}</div>`
            : '';
          const accessory = isObj(block.accessory) ? renderButtons([block.accessory], channel, ts) : '';
          return main + fields + accessory;
        }
        case 'context':
          return `<div class="ctx">${(Array.isArray(block.elements) ? block.elements : []).map((e) => mrkdwn(textOf(e))).join(' · ')}</div>`;
        case 'divider':
          return '<hr>';
        case 'actions':
          return renderButtons(Array.isArray(block.elements) ? block.elements : [], channel, ts);
        default:
          return `<div class="ctx">[${esc(block.type)} block]</div>`;
      }
    })
    .join('');
}

const LIVE_TITLES: Readonly<Record<LiveView, string>> = {
  slack: `Slack #${SLACK_CHANNEL}`,
  mail: 'Mailbox',
  iam: `IAM (account ${ACCOUNT})`,
  executions: 'Executions',
};

/** A list view's fragment: what its page shows inside the live region. */
function fragmentOf(sandbox: Sandbox, view: LiveView): string {
  switch (view) {
    case 'slack':
      return slackFragment(sandbox);
    case 'mail':
      return mailFragment(sandbox);
    case 'iam':
      return iamFragment(sandbox);
    case 'executions':
      return executionsFragment(sandbox);
  }
}

function slackFragment(sandbox: Sandbox): string {
  const messages = sandbox.slack.messages(SLACK_CHANNEL).reverse();
  const body = messages
    .map((m) => {
      const replies = sandbox.slack
        .replies(SLACK_CHANNEL, m.ts)
        .map(
          (r) =>
            `<div class="card reply"><div class="ctx">reply · ${esc(r.ts)}</div>${renderBlocks(r.blocks, r.text, SLACK_CHANNEL, r.ts)}</div>`,
        )
        .join('');
      const edited = m.edits > 0 ? ` · edited ${m.edits}×` : '';
      return `<div class="card msg" data-ts="${esc(m.ts)}"><div class="ctx">PolicyGate bot · ${esc(m.ts)}${edited}</div>${renderBlocks(m.blocks, m.text, SLACK_CHANNEL, m.ts)}</div>${replies}`;
    })
    .join('');
  return body || '<p class="muted">No messages yet. Simulate a change.</p>';
}

function mailFragment(sandbox: Sandbox): string {
  const pageUrl = sandbox.decisionPage.url;
  const linkify = (text: string) =>
    text
      .split('\n')
      .map((line) =>
        // Only the sandbox's own decision page becomes a link: a mail quoting attacker text stays text.
        line.startsWith(pageUrl) && /^\S+$/.test(line)
          ? `<a href="${esc(line)}">${esc(line)}</a>`
          : esc(line),
      )
      .join('\n');
  const body = [...sandbox.sns.messages]
    .reverse()
    .map(
      (m) =>
        `<div class="card mail"><div class="header">${esc(m.subject ?? '(no subject)')}</div><div class="ctx">to the alert topic</div><pre>${linkify(m.message)}</pre></div>`,
    )
    .join('');
  return body || '<p class="muted">No e-mail yet.</p>';
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** PolicyGate's quarantine documents: one statement whose Sid starts so (src/domain/approval.ts). */
function isQuarantine(document: string): boolean {
  try {
    const statements = (JSON.parse(document) as { Statement?: unknown }).Statement;
    return (
      Array.isArray(statements) &&
      statements.length === 1 &&
      /^PolicyGateQuarantine/.test(String(statements[0]?.Sid))
    );
  } catch {
    return false;
  }
}

function iamFragment(sandbox: Sandbox): string {
  const members = Object.values(sandbox.organization?.members ?? {});
  if (members.length === 0) return accountIamFragment(sandbox.iam.state);
  return [
    `<h2 class="account">Account ${esc(ACCOUNT)} security (central)</h2>${accountIamFragment(sandbox.iam.state)}`,
    ...members.map(
      (m) => `<h2 class="account">Account ${esc(m.id)} ${esc(m.name)}</h2>${accountIamFragment(m.iam.state)}`,
    ),
  ].join('');
}

function accountIamFragment(state: Sandbox['iam']['state']): string {
  const policies = state.policies
    .filter((p) => !p.awsManaged)
    .map((p) => {
      const versions = p.versions
        .map(
          (v) =>
            `<details data-key="${esc(`policy/${p.name}/${v.versionId}`)}"${v.isDefaultVersion ? ' open' : ''}><summary>${esc(v.versionId)}${v.isDefaultVersion ? ' (default)' : ''}</summary><pre>${esc(prettyJson(v.document))}</pre></details>`,
        )
        .join('');
      const quarantined = isQuarantine(p.defaultDocument)
        ? ' <span class="quarantined note">QUARANTINED by PolicyGate</span>'
        : '';
      return `<div class="card policy" data-name="${esc(p.name)}"><div class="header">${esc(p.name)}${quarantined}</div><div class="ctx">${esc(p.arn)} · default version <b class="default-version">${esc(p.defaultVersionId)}</b> · ${p.attachmentCount} attachment(s)</div>${versions}</div>`;
    })
    .join('');
  const principals = [...state.roles, ...state.users, ...state.groups]
    .map((p) => {
      const inline = Object.entries(p.inlinePolicies)
        .map(
          ([name, d]) =>
            `<details data-key="${esc(`inline/${p.kind}/${p.name}/${name}`)}"><summary>inline ${esc(name)}</summary><pre>${esc(prettyJson(d))}</pre></details>`,
        )
        .join('');
      const attached = p.attachedPolicyArns.map((a) => `<li>${esc(a)}</li>`).join('');
      const members = p.members ? `<div>members: ${esc(p.members.join(', ') || 'none')}</div>` : '';
      return `<div class="card principal"><div class="header">${esc(p.kind)} ${esc(p.name)}</div>${attached ? `<div>attached:<ul>${attached}</ul></div>` : ''}${inline}${members}</div>`;
    })
    .join('');
  return `<h2>Customer managed policies</h2>${policies || '<p class="muted">None yet.</p>'}<h2>Roles, users and groups</h2>${principals}`;
}

function executionsFragment(sandbox: Sandbox): string {
  const body = [...sandbox.executions]
    .reverse()
    .map(({ eventName, execution }) => {
      const d = sandbox.sfn.describeExecution(execution.executionArn);
      // State names, types and error names only: inputs and outputs carry task tokens.
      const rows = sandbox.sfn.runner
        .getExecutionEvents(execution.executionArn)
        .map(
          (e) =>
            `<tr><td>${esc(e.timestamp.toISOString())}</td><td>${esc(e.type)}</td><td>${esc(e.stateName ?? '')}</td><td>${esc(e.error ?? '')}</td></tr>`,
        )
        .join('');
      return `<div class="card execution"><div class="header">${esc(eventName)} · <span class="status">${esc(d.status)}</span></div><div class="ctx">${esc(d.name)} · started ${esc(d.startDate.toISOString())}${d.error ? ` · error ${esc(d.error)}` : ''}</div><details data-key="${esc(`execution/${d.name}`)}"><summary>history</summary><table><tr><th>time</th><th>event</th><th>state</th><th>error</th></tr>${rows}</table></details></div>`;
    })
    .join('');
  return body || '<p class="muted">No workflow runs yet.</p>';
}

/** The accounts a change can be made in: the central one, and an organization sandbox's members. */
function accountsOf(sandbox: Sandbox): { id: string; label: string }[] {
  const organization = sandbox.organization;
  if (!organization) return [];
  return [
    { id: ACCOUNT, label: `${ACCOUNT} security (central account)` },
    ...Object.values(organization.members).map((m) => ({
      id: m.id,
      label: `${m.id} ${m.name} (OU ${m.unitName})`,
    })),
  ];
}

function accountSelect(sandbox: Sandbox): string {
  const accounts = accountsOf(sandbox);
  if (accounts.length === 0) return '';
  return ` <label>Account <select name="account">${accounts
    .map((a) => `<option value="${esc(a.id)}">${esc(a.label)}</option>`)
    .join('')}</select></label>`;
}

function actorSelect(): string {
  return `<label>Actor <select name="actor">${Object.entries(ACTORS)
    .map(([k, v]) => `<option value="${esc(k)}">${esc(v)}</option>`)
    .join('')}</select></label>`;
}

function simulatePage(sandbox: Sandbox, note = ''): string {
  const where = accountSelect(sandbox);
  const samples = Object.entries(SAMPLES)
    .map(
      ([key, s]) =>
        `<form method="post" action="/simulate" class="card"><input type="hidden" name="sample" value="${esc(key)}"><b>${esc(s.title)}</b><br>${actorSelect()}${where} <button type="submit">Make this change</button></form>`,
    )
    .join('');
  const paste = `<form method="post" action="/simulate" class="card"><b>Paste a policy document (made as CreatePolicy)</b><br><textarea name="policy" rows="10" cols="80"></textarea><br>${actorSelect()}${where} <button type="submit">Create the policy</button></form>`;
  return page('Simulate a change', `${note}${samples}${paste}`);
}

// ---------- actions ----------

/** Makes the calls as the actor and returns what each started. */
export async function simulate(
  sandbox: Sandbox,
  calls: IamCall[],
  actor: Actor,
  accountId: string = ACCOUNT,
): Promise<SimulatedChange[]> {
  const client = await clientFor(sandbox, actor, accountId);
  const own = client === sandbox.developer || client === sandbox.organization?.members[accountId]?.developer;
  const started: { eventName: string; executionArn: string }[] = [];
  try {
    for (const call of calls) {
      const before = sandbox.executions.length;
      try {
        await makeCall(client, call);
      } catch (error) {
        const e = error as { name?: string; message?: string };
        throw new SimulateError(`IAM refused ${call.eventName}: ${e.name ?? 'Error'}: ${e.message ?? ''}`);
      }
      // The IAM stand-in emits the event before it answers, so the execution has already started. Runs
      // started meanwhile by PolicyGate's own writes (the quarantine of an earlier call of a burst) are not
      // this call's.
      for (const e of sandbox.executions.slice(before)) {
        if (byPolicyGate(sandbox.sfn.describeExecution(e.execution.executionArn).input)) continue;
        started.push({ eventName: e.eventName, executionArn: e.execution.executionArn });
      }
    }
  } finally {
    if (!own) client.destroy();
  }
  return Promise.all(
    started.map(async ({ eventName, executionArn }) => {
      const input = sandbox.sfn.describeExecution(executionArn).input as { detail?: { eventID?: unknown } };
      const approvalId = String(input?.detail?.eventID ?? '');
      return {
        eventName,
        executionArn,
        approvalId,
        status: await statusOf(sandbox, approvalId, executionArn),
      };
    }),
  );
}

/** Whether an execution's CloudTrail event is a call PolicyGate's own workflow role made. */
function byPolicyGate(input: unknown): boolean {
  const identity = (input as { detail?: { userIdentity?: unknown } } | null)?.detail?.userIdentity as
    | { sessionContext?: { sessionIssuer?: { arn?: unknown } } }
    | undefined;
  const issuer = identity?.sessionContext?.sessionIssuer?.arn;
  // In a member account PolicyGate writes through the member roles (policy-gate-member-quarantine, ...).
  return (
    issuer === POLICY_GATE_ROLE ||
    (typeof issuer === 'string' && /^arn:aws:iam::\d{12}:role\/policy-gate-member-/.test(issuer))
  );
}

async function statusOf(sandbox: Sandbox, approvalId: string, executionArn: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const record = await sandbox.store.get(approvalId);
    if (record) return record.status;
    const d = sandbox.sfn.describeExecution(executionArn);
    if (d.status !== 'RUNNING') return `execution ${d.status}`;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return 'execution RUNNING';
}

function callsOf(input: Record<string, unknown>, suffix: string): IamCall[] {
  if (typeof input.sample === 'string' && input.sample !== '') {
    const sample = Object.hasOwn(SAMPLES, input.sample) ? SAMPLES[input.sample] : undefined;
    if (!sample) throw new SimulateError(`no sample ${JSON.stringify(input.sample)}`);
    return sample.calls(suffix);
  }
  if (input.event !== undefined) return [callOfEvent(input.event)];
  if (typeof input.policy === 'string' && input.policy.trim() !== '')
    return pastedPolicy(input.policy, suffix);
  if (isObj(input.policy)) return pastedPolicy(JSON.stringify(input.policy), suffix);
  throw new SimulateError('give a sample, a policy document or a CloudTrail event');
}

/** The account a change is made in: the central one unless an organization sandbox's member is named. */
function accountOf(sandbox: Sandbox, value: unknown): string {
  if (value === undefined || value === '') return ACCOUNT;
  if (typeof value !== 'string' || !accountsOf(sandbox).some((a) => a.id === value)) {
    throw new SimulateError('account must be one of the sandbox’s accounts');
  }
  return value;
}

const actorOf = (value: unknown): Actor => {
  if (value === undefined || value === '') return 'alice';
  if (value === 'alice' || value === 'role') return value;
  throw new SimulateError('actor must be "alice" or "role"');
};

async function clickAs(sandbox: Sandbox, form: URLSearchParams): Promise<string> {
  const user = Object.values(SLACK_USERS).find((u) => u.id === form.get('user'));
  const channel = form.get('channel') ?? '';
  const ts = form.get('ts') ?? '';
  const action = form.get('action') ?? '';
  if (!user) return page('Click refused', '<p class="note">Choose one of the sandbox\'s Slack users.</p>');
  const message = channel === SLACK_CHANNEL ? sandbox.slack.message(channel, ts) : undefined;
  if (!message) return page('Click refused', '<p class="note">That message no longer exists.</p>');
  // As in Slack, only a button the message shows now can be clicked.
  if (!findButton(message.blocks, action)) {
    return page('Click refused', '<p class="note">The message no longer shows that button.</p>');
  }
  const ephemeralsBefore = sandbox.slack.ephemerals.length;
  const postsBefore = sandbox.slack.responseUrlPosts.length;
  const result = await sandbox.slack.deliverBlockAction({
    url: sandbox.interactivity.url,
    signingSecret: SLACK_SIGNING_SECRET,
    user: { id: user.id },
    action: { actionId: action },
    message: { channel, ts },
  });
  const replies = [
    ...sandbox.slack.ephemerals
      .slice(ephemeralsBefore)
      .filter((e) => e.user === user.id)
      .map((e) => e.text),
    ...sandbox.slack.responseUrlPosts
      .slice(postsBefore)
      .filter((p) => p.userId === user.id && isObj(p.body) && p.body.response_type === 'ephemeral')
      .map((p) => textOf(p.body)),
  ];
  const shown = replies.length
    ? replies
        .map(
          (r) => `<div class="note ephemeral">Only visible to you: <span class="txt">${esc(r)}</span></div>`,
        )
        .join('')
    : '<p class="muted">No private reply.</p>';
  return page(
    `Clicked as ${user.realName}`,
    `<p>Slack delivered the signed click; the interactivity endpoint answered HTTP ${result.status}.</p>${shown}<p><a href="/slack">Back to the channel</a></p>`,
  );
}

// ---------- HTTP ----------

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: http.OutgoingHttpHeaders = {},
) {
  res.writeHead(status, {
    'content-type': type,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the console's own form posts.
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(body);
}

/** Starts the console for a running sandbox. */
export async function startConsole(sandbox: Sandbox, options: ConsoleOptions = {}): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const refresh = options.refreshSeconds ?? 5;
  const live = createLiveHub((view) => fragmentOf(sandbox, view), options.live);
  let allowedHosts = new Set<string>();
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof SimulateError ? error.message : 'internal error';
      if (!(error instanceof SimulateError))
        console.error('console: request failed:', (error as Error)?.name);
      if (!res.headersSent) {
        if (req.url?.startsWith('/api/'))
          send(
            res,
            error instanceof SimulateError ? 400 : 500,
            'application/json',
            JSON.stringify({ error: message }),
          );
        else
          send(
            res,
            error instanceof SimulateError ? 400 : 500,
            'text/html; charset=utf-8',
            simulatePage(sandbox, `<p class="note">${esc(message)}</p>`),
          );
      } else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own name as Host.
    if (!allowedHosts.has(req.headers.host ?? '')) return send(res, 421, 'text/plain', 'unknown host\n');
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      const html = 'text/html; charset=utf-8';
      const name = url.pathname.slice(1);
      if (isLiveView(name)) return send(res, 200, html, livePage(name, fragmentOf(sandbox, name), refresh));
      const fragment = /^\/fragment\/([a-z]+)$/.exec(url.pathname)?.[1] ?? '';
      if (url.pathname === '/events' || isLiveView(fragment)) {
        // Read-only, and readable only by the console's own pages: Host is checked above (DNS rebinding), and
        // a request another site's page makes is refused though the browser would not let it read the answer.
        if (!sameOriginRead(req, allowedHosts))
          return send(res, 403, 'text/plain', 'cross-site read refused\n');
        if (isLiveView(fragment)) {
          const body = fragmentOf(sandbox, fragment);
          return send(res, 200, html, body, { 'x-fragment-version': versionOf(body) });
        }
        const view = url.searchParams.get('view') ?? '';
        if (!isLiveView(view)) return send(res, 400, 'text/plain', 'unknown view\n');
        if (method !== 'GET') return send(res, 405, 'text/plain', 'GET only\n', { allow: 'GET' });
        return live.serve(req, res, view);
      }
      switch (url.pathname) {
        case '/':
          return send(res, 303, 'text/plain', '', { location: '/slack' });
        case '/console.js':
          return send(res, 200, 'text/javascript; charset=utf-8', CONSOLE_SCRIPT);
        case '/simulate':
          return send(res, 200, html, simulatePage(sandbox));
        case '/api/state':
          return send(res, 200, 'application/json', JSON.stringify(apiState(sandbox)));
        default:
          return send(res, 404, html, page('Not found', '<p>No such page.</p>'));
      }
    }
    if (method !== 'POST')
      return send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, POST' });
    const body = (await readBody(req, MAX_BODY)).toString('utf8');
    if (url.pathname === '/api/simulate') {
      // A browser cannot send application/json cross-origin without a preflight, which is never answered.
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
        return send(res, 415, 'application/json', JSON.stringify({ error: 'send application/json' }));
      }
      let input: unknown;
      try {
        input = JSON.parse(body);
      } catch {
        throw new SimulateError('the body is not JSON');
      }
      if (!isObj(input)) throw new SimulateError('the body must be a JSON object');
      const changes = await simulate(
        sandbox,
        callsOf(input, suffix()),
        actorOf(input.actor),
        accountOf(sandbox, input.account),
      );
      return send(res, 200, 'application/json', JSON.stringify({ changes }));
    }
    // Form posts: only from the console's own pages (a browser always sends Origin on a form POST).
    if (
      !allowedHosts.has((req.headers.origin ?? '').replace(/^http:\/\//, '')) ||
      !req.headers.origin?.startsWith('http://')
    ) {
      return send(res, 403, 'text/plain', 'cross-origin form post refused\n');
    }
    const form = new URLSearchParams(body);
    if (url.pathname === '/slack/click')
      return send(res, 200, 'text/html; charset=utf-8', await clickAs(sandbox, form));
    if (url.pathname === '/simulate') {
      const input = Object.fromEntries(form.entries());
      const accountId = accountOf(sandbox, input.account);
      const changes = await simulate(sandbox, callsOf(input, suffix()), actorOf(input.actor), accountId);
      const label = accountsOf(sandbox).find((a) => a.id === accountId)?.label;
      const list = changes
        .map(
          (c) =>
            `<li>${esc(c.eventName)}${label ? ` in account ${esc(label)}` : ''}: approval <code>${esc(c.approvalId)}</code> · ${esc(c.status)}</li>`,
        )
        .join('');
      return send(
        res,
        200,
        'text/html; charset=utf-8',
        simulatePage(
          sandbox,
          `<div class="note simulated"><b>Started ${changes.length} workflow run(s)</b><ul>${list}</ul><a href="/slack">See the Slack channel</a> · <a href="/iam">IAM</a></div>`,
        ),
      );
    }
    return send(res, 404, 'text/plain', 'not found\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  allowedHosts = new Set([`${shownHost}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`]);
  return {
    url: `http://${shownHost}:${port}`,
    close: async () => {
      // End the event streams first: they are requests in flight, which would hold the close back.
      live.close();
      await closeServer(server);
    },
  };
}

/**
 * A GET the console's own page made: no Origin, or its own; and no Sec-Fetch-Site naming another site.
 * (Browsers send Origin on a cross-origin EventSource or fetch, and Sec-Fetch-Site on every request.)
 */
function sameOriginRead(req: http.IncomingMessage, allowedHosts: Set<string>): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && !(origin.startsWith('http://') && allowedHosts.has(origin.slice(7))))
    return false;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

function suffix(): string {
  return randomUUID().slice(0, 8);
}

function apiState(sandbox: Sandbox) {
  return {
    slackMessages: sandbox.slack.messages(SLACK_CHANNEL).length,
    mails: sandbox.sns.messages.length,
    executions: sandbox.executions.map(({ eventName, execution }) => ({
      eventName,
      executionArn: execution.executionArn,
      status: sandbox.sfn.describeExecution(execution.executionArn).status,
    })),
    sampleRole: APP_ROLE,
  };
}
