/**
 * The sandbox console over real HTTP on 127.0.0.1, against the whole sandbox: its pages, its JSON endpoint,
 * Approve/Deny through the real signed interactivity path, and what it refuses (another Host, a form post
 * from another origin, a JSON call a browser could forge).
 */
import http from 'node:http';
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { SAMPLES } from '../../local/console/samples';
import type { ConsoleServer } from '../../local/console/server';
import { type Sandbox, SLACK_CHANNEL, SLACK_USERS } from '../../local/sandbox';
import { findButton } from '../../local/slack';
import { mainAsync } from '../../src/cli/main';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/messages/approval-message';
import { eventually, waitForPending } from '../support/approvals';
import { postConsoleForm, simulateViaApi, startSandboxConsole } from '../support/console';

jest.setTimeout(60_000);

let sandbox: Sandbox | undefined;
let web: ConsoleServer | undefined;

afterEach(async () => {
  await web?.close();
  web = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

async function start(): Promise<{ s: Sandbox; w: ConsoleServer }> {
  ({ sandbox, web } = await startSandboxConsole());
  return { s: sandbox, w: web };
}

const get = (w: ConsoleServer, path: string, headers: Record<string, string> = {}) =>
  fetch(`${w.url}${path}`, { headers, redirect: 'manual' });

/** A GET with a Host header of our choosing (fetch may not set it): what a DNS-rebound page sends. */
function rawGet(w: ConsoleServer, path: string, host: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${w.url}${path}`, { headers: { host } }, (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0 });
    });
    request.on('error', reject);
  });
}

function defaultDocumentOf(s: Sandbox, name: string): string | undefined {
  return s.iam.state.policies.find((p) => p.name === name)?.defaultDocument;
}

function messageTsOf(s: Sandbox, approvalId: string): string {
  const message = s.slack
    .messages(SLACK_CHANNEL)
    .find((m) => findButton(m.blocks, APPROVE_ACTION_ID)?.button.value === approvalId);
  if (!message) throw new Error(`no request message for ${approvalId}`);
  return message.ts;
}

async function clickVia(w: ConsoleServer, s: Sandbox, userId: string, action: string, approvalId: string) {
  const response = await postConsoleForm(w, '/slack/click', {
    channel: SLACK_CHANNEL,
    ts: messageTsOf(s, approvalId),
    user: userId,
    action,
  });
  return { status: response.status, html: await response.text() };
}

describe('sandbox console', () => {
  test('every view answers with a strict CSP and no external assets', async () => {
    // Prepare
    const { w } = await start();
    // Act
    const responses = await Promise.all(
      ['/slack', '/mail', '/iam', '/executions', '/simulate'].map((p) => get(w, p)),
    );
    // Assess
    for (const response of responses) {
      expect(response.status).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|data:|blob:/);
      expect(csp).toMatch(/script-src 'self';/);
      const html = await response.text();
      // The one script is the console's own file: nothing inline, nothing from elsewhere.
      const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
      for (const [tag, content] of scripts) {
        expect(tag).toMatch(/^<script src="\/console\.js" defer>/);
        expect(content).toBe('');
      }
      expect(html).not.toMatch(/src="http|href="https?:\/\/(?!127\.0\.0\.1)|\son[a-z]+=/);
    }
    expect((await get(w, '/')).headers.get('location')).toBe('/slack');
  });

  test('a risky change made through the JSON endpoint is quarantined and shown in Slack, IAM and Executions', async () => {
    // Prepare
    const { s, w } = await start();
    // Act
    const [change] = await simulateViaApi(w, { sample: 'risky-create-policy' });
    await waitForPending(s);
    const [slack, iam, executions] = await Promise.all(
      ['/slack', '/iam', '/executions'].map(async (p) => (await get(w, p)).text()),
    );
    // Assess
    expect(change).toMatchObject({ eventName: 'CreatePolicy', status: 'PENDING' });
    const record = await s.store.get(change?.approvalId ?? '');
    expect(record?.status).toBe('PENDING');
    expect(slack).toContain('Approval needed');
    expect(slack).toContain(`value="${APPROVE_ACTION_ID}"`);
    expect(iam).toContain('QUARANTINED by PolicyGate');
    expect(executions).toContain('RequestApproval');
    expect(executions).toContain('RUNNING');
    // The document under review is a code block, shown as written: no fences, nothing bolded inside.
    const block = /<pre class="code">([\s\S]*?)<\/pre>/.exec(slack ?? '')?.[1] ?? '';
    expect(block).toContain('s3:DeleteBucket');
    expect(block).not.toMatch(/&#96;|<b>|<code>/);
    // Task tokens never reach a page.
    for (const html of [slack, iam, executions]) expect(html).not.toContain(record?.taskToken ?? 'no-token');
  });

  test('Approve as an authorised user restores the policy; Mallory is refused and it stays quarantined', async () => {
    // Prepare
    const { s, w } = await start();
    const [change] = await simulateViaApi(w, { sample: 'risky-create-policy' });
    const approvalId = change?.approvalId ?? '';
    const [record] = await waitForPending(s);
    const name = s.iam.state.policies.find((p) => !p.awsManaged)?.name ?? '';
    const original = SAMPLES['risky-create-policy']?.calls('x')[0]?.requestParameters.policyDocument;
    // Act
    const refused = await clickVia(w, s, SLACK_USERS.mallory.id, APPROVE_ACTION_ID, approvalId);
    const stillPending = await s.store.get(approvalId);
    const whileRefused = defaultDocumentOf(s, name);
    const approved = await clickVia(w, s, SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await s.settle();
    // Assess
    expect(refused.status).toBe(200);
    expect(refused.html).toContain('Only visible to you');
    expect(stillPending?.status).toBe('PENDING');
    expect(documentsEqual(whileRefused, quarantineDocument(approvalId))).toBe(true);
    expect(approved.status).toBe(200);
    expect((await s.store.get(approvalId))?.status).toBe('RESTORED');
    expect(documentsEqual(defaultDocumentOf(s, name), original)).toBe(true);
    const slack = await (await get(w, '/slack')).text();
    expect(slack).toMatch(/Restored/);
    // The approver is named as Slack shows a mention, not as raw `<@U…>` markup.
    expect(slack).toContain(`@${SLACK_USERS.ana.name}`);
    expect(slack).not.toContain(`&lt;@${SLACK_USERS.ana.id}&gt;`);
    expect(slack).not.toContain(`value="${APPROVE_ACTION_ID}"`);
    const again = await postConsoleForm(w, '/slack/click', {
      channel: SLACK_CHANNEL,
      ts: record?.slackMessage?.ts ?? '',
      user: SLACK_USERS.sam.id,
      action: DENY_ACTION_ID,
    });
    expect(await again.text()).toContain('no longer shows that button');
  });

  test('Deny keeps the change quarantined', async () => {
    // Prepare
    const { s, w } = await start();
    const [change] = await simulateViaApi(w, { sample: 'risky-create-policy', actor: 'role' });
    const approvalId = change?.approvalId ?? '';
    await waitForPending(s);
    const name = s.iam.state.policies.find((p) => !p.awsManaged)?.name ?? '';
    // Act
    const denied = await clickVia(w, s, SLACK_USERS.sam.id, DENY_ACTION_ID, approvalId);
    await s.settle();
    // Assess
    expect(denied.status).toBe(200);
    expect((await s.store.get(approvalId))?.status).toBe('DENIED');
    expect(documentsEqual(defaultDocumentOf(s, name), quarantineDocument(approvalId))).toBe(true);
    expect(await (await get(w, '/iam')).text()).toContain('QUARANTINED by PolicyGate');
  });

  test('the mailbox shows the request e-mail with its decision links, and nothing else as a link', async () => {
    // Prepare
    const { s, w } = await start();
    await simulateViaApi(w, { sample: 'risky-create-policy' });
    await waitForPending(s);
    // Act
    const html = await (await get(w, '/mail')).text();
    // Assess
    const hrefs = [...html.matchAll(/<a href="([^"]*)"/g)].map((m) => m[1]?.replace(/&amp;/g, '&'));
    const links = hrefs.filter((h) => !h?.startsWith('/'));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link?.startsWith(s.decisionPage.url)).toBe(true);
    const page = await fetch(links[0] ?? '');
    expect(page.status).toBe(200);
  });

  test('attacker text in a change is escaped on every page', async () => {
    // Prepare
    const { s, w } = await start();
    const evil = '<img src=x onerror=alert(1)>';
    // Act
    await s.developer.send(
      new CreatePolicyCommand({
        PolicyName: 'evil',
        Description: evil,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Sid: 'X', Effect: 'Allow', Action: 's3:DeleteBucket', Resource: `arn:aws:s3:::${evil}` },
          ],
        }),
      }),
    );
    await waitForPending(s);
    const pages = await Promise.all(['/slack', '/mail', '/iam'].map(async (p) => (await get(w, p)).text()));
    // Assess
    for (const html of pages) expect(html).not.toContain('<img');
    expect(pages[2]).toContain('&lt;img');
  });

  test('refuses another Host, cross-origin form posts and JSON calls a browser could forge', async () => {
    // Prepare
    const { s, w } = await start();
    // Act
    const rebound = await rawGet(w, '/slack', 'evil.example');
    const crossOrigin = await fetch(`${w.url}/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: 'sample=risky-create-policy',
    });
    const noOrigin = await fetch(`${w.url}/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'sample=risky-create-policy',
    });
    const textPlain = await fetch(`${w.url}/api/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ sample: 'risky-create-policy' }),
    });
    // Assess
    expect(rebound.status).toBe(421);
    expect(crossOrigin.status).toBe(403);
    expect(noOrigin.status).toBe(403);
    expect(textPlain.status).toBe(415);
    expect(s.executions).toEqual([]);
  });

  test('a click as someone not in the workspace, or on a message that does not exist, is refused', async () => {
    // Prepare
    const { s, w } = await start();
    // Act
    const unknownUser = await postConsoleForm(w, '/slack/click', {
      channel: SLACK_CHANNEL,
      ts: '1.2',
      user: 'U0EVE',
      action: APPROVE_ACTION_ID,
    });
    const unknownMessage = await postConsoleForm(w, '/slack/click', {
      channel: SLACK_CHANNEL,
      ts: '1.2',
      user: SLACK_USERS.ana.id,
      action: APPROVE_ACTION_ID,
    });
    // Assess
    expect(await unknownUser.text()).toContain('Click refused');
    expect(await unknownMessage.text()).toContain('Click refused');
    expect(s.slack.calls).toEqual([]);
  });

  test('bad simulate input is a 400 with a reason; a harmless policy starts a run that needs no approval', async () => {
    // Prepare
    const { s, w } = await start();
    // Act
    const bad = await fetch(`${w.url}/api/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sample: '__proto__' }),
    });
    const [harmless] = await simulateViaApi(w, { sample: 'read-only' });
    await s.settle();
    // Assess
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/no sample/);
    expect(harmless?.status).not.toBe('PENDING');
    expect((await s.store.get(harmless?.approvalId ?? ''))?.status).not.toBe('PENDING');
  });

  test('policy-gate simulate sends a policy file and a recorded CloudTrail event and prints what they started', async () => {
    // Prepare
    const { s, w } = await start();
    const files: Record<string, string> = {
      'policy.json': JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:DeleteBucket', Resource: '*' }],
      }),
      'event.json': JSON.stringify({
        detail: {
          eventName: 'AttachRolePolicy',
          requestParameters: {
            roleName: 'app-server',
            policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
          },
        },
      }),
    };
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      readFile: (path: string) => {
        const text = files[path];
        if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
        return text;
      },
      readStdin: () => '',
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      catalogue: () => {
        throw new Error('not needed');
      },
    };
    // Act
    const policyStatus = await mainAsync(['simulate', '--console', w.url, 'policy.json'], io);
    const eventStatus = await mainAsync(
      ['simulate', '--console', w.url, '--actor', 'role', 'event.json'],
      io,
    );
    const missing = await mainAsync(['simulate', '--console', w.url, 'nope.json'], io);
    const unreachable = await mainAsync(['simulate', '--console', 'http://127.0.0.1:1', 'policy.json'], io);
    await waitForPending(s, 2);
    // Assess
    expect([policyStatus, eventStatus, missing, unreachable]).toEqual([0, 0, 2, 4]);
    const printed = out.join('');
    expect(printed).toMatch(/CreatePolicy: approval [0-9a-f-]{36} \(PENDING\)/);
    expect(printed).toMatch(/AttachRolePolicy: approval [0-9a-f-]{36} \(PENDING\)/);
    expect(printed).toContain('execution arn:aws:states:');
    expect(err.join('')).toMatch(/cannot reach the sandbox/);
    await eventually(() => s.executions.length >= 2);
  });
});
