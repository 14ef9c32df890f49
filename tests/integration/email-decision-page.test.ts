/**
 * The e-mail decision channel through the real handlers: the request-approval function e-mails signed
 * links (local SNS), the page behind its own local Function URL verifies them with the local KMS, GET and
 * HEAD only show, and only the page's own single-use POST decides, through the same decision service as
 * Slack, resuming the real state machine.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { DECISION_EMAIL, type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { mails, waitForPending } from '../support/approvals';
import { formBodyOf, linksInMail, postForm, signedLinks } from '../support/decision-page';
import { captureLogs } from '../support/slack';

const risky = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
};

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function pendingRequest(options: Parameters<typeof startSandbox>[0] = {}) {
  const started = await startSandbox(options);
  sandbox = started;
  await started.developer.send(
    new CreatePolicyCommand({ PolicyName: 'cleanup', PolicyDocument: JSON.stringify(risky) }),
  );
  const [record] = await waitForPending(started);
  if (!record) throw new Error('no pending approval');
  return { sandbox: started, approvalId: record.approvalId, record };
}

const successes = (s: Sandbox) => s.sfn.callbacks.filter((c) => c.operation === 'SendTaskSuccess').length;

/** Replaces one query parameter's value, keeping the rest byte for byte. */
function withParam(link: string, name: string, value: string): string {
  const url = new URL(link);
  const parts = url.search
    .slice(1)
    .split('&')
    .map((pair) => (pair.startsWith(`${name}=`) ? `${name}=${value}` : pair));
  return `${url.origin}${url.pathname}?${parts.join('&')}`;
}

describe('decision links in the request e-mail', () => {
  test('the e-mail carries an Approve and a Deny link to the page, signed, expiring with the request, no task token', async () => {
    // Prepare
    const { sandbox: s, approvalId, record } = await pendingRequest();
    // Act
    const links = linksInMail(s, approvalId);
    const mail = mails(s, /approval needed/)[0]?.message ?? '';
    // Assess
    for (const link of [links.approve, links.deny]) {
      const url = new URL(link ?? '');
      expect(`${url.origin}/`).toBe(s.decisionPage.url);
      expect(url.searchParams.get('a')).toBe(approvalId);
      expect(Number(url.searchParams.get('e'))).toBeLessThanOrEqual(
        new Date(record.deadline).getTime() / 1000,
      );
      expect(url.searchParams.get('s')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(new URL(links.approve ?? '').searchParams.get('d')).toBe('approve');
    expect(new URL(links.deny ?? '').searchParams.get('d')).toBe('deny');
    expect(mail).toContain(`through the link sent to ${DECISION_EMAIL}`);
    expect(mail).not.toContain(record.taskToken ?? 'no token');
  });

  test('with EMAIL_DECISIONS=off the e-mail has no links and the page decides nothing', async () => {
    // Prepare
    const { sandbox: s, approvalId } = await pendingRequest({ emailDecisions: 'off' });
    const [forged] = [
      (await signedLinks(s, (await s.store.get(approvalId)) ?? { approvalId, deadline: '' })).deny,
    ];
    // Act
    const page = await fetch(forged ?? '');
    // Assess
    expect(linksInMail(s, approvalId)).toEqual({});
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('switched off');
    expect(await s.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  });

  test('with EMAIL_DECISIONS=deny-only only the Deny link is sent, and an Approve link shows no form', async () => {
    // Prepare
    const { sandbox: s, approvalId, record } = await pendingRequest({ emailDecisions: 'deny-only' });
    const forged = await signedLinks(s, record);
    // Act
    const page = await fetch(forged.approve);
    const html = await page.text();
    // Assess
    expect(Object.keys(linksInMail(s, approvalId))).toEqual(['deny']);
    expect(page.status).toBe(200);
    expect(formBodyOf(html)).toBeUndefined();
    expect(html).toContain('switched off');
  });
});

describe('the decision page', () => {
  test('GET and HEAD of both links only show the request, with strict headers; nothing is decided', async () => {
    // Prepare
    const { sandbox: s, approvalId } = await pendingRequest();
    const links = linksInMail(s, approvalId);
    const logs = captureLogs();
    // Act
    const responses: Response[] = [];
    try {
      for (const link of [links.approve, links.deny, links.approve, links.deny]) {
        responses.push(await fetch(link ?? ''), await fetch(link ?? '', { method: 'HEAD' }));
      }
    } finally {
      logs.restore();
    }
    // Assess
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toMatch(
        /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
      );
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const html = await (await fetch(links.approve ?? '')).text();
    expect(html).toContain('Nothing has been decided by opening this page');
    expect(html).toContain('s3:*');
    expect(html).not.toMatch(/<script|src=|href=/i);
    expect(await s.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
    expect(successes(s)).toBe(0);
    const signature = new URL(links.approve ?? '').searchParams.get('s') ?? '';
    expect(logs.text()).not.toContain(signature);
    expect(logs.text()).not.toContain('e=');
  });

  test('the Approve form decides once, recorded as the link sent to the address; the workflow restores; reload says already decided', async () => {
    // Prepare
    const { sandbox: s, approvalId } = await pendingRequest();
    const link = linksInMail(s, approvalId).approve ?? '';
    const form = formBodyOf(await (await fetch(link)).text()) ?? '';
    const logs = captureLogs();
    // Act
    let posted: Response;
    let again: Response;
    try {
      posted = await postForm(s.decisionPage.url, form);
      again = await postForm(s.decisionPage.url, form);
    } finally {
      logs.restore();
    }
    await s.settle();
    const reload = await fetch(new URL(posted.headers.get('location') ?? '', s.decisionPage.url));
    // Assess
    expect(posted.status).toBe(303);
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('already submitted');
    expect(successes(s)).toBe(1);
    const record = await s.store.get(approvalId);
    expect(record).toMatchObject({
      status: 'RESTORED',
      decision: {
        decision: 'APPROVED',
        decidedBy: { channel: 'email', id: DECISION_EMAIL, name: `the link sent to ${DECISION_EMAIL}` },
      },
    });
    expect(reload.status).toBe(200);
    expect(await reload.text()).toContain('already been decided');
    const ref = record?.slackMessage;
    const message = ref && s.slack.message(ref.channel, ref.ts);
    expect(JSON.stringify(message?.blocks)).toContain('Approved via e-mail link at');
    expect(logs.text()).not.toContain(new URL(link).searchParams.get('s') ?? 'x');
  });

  test('tampered id, decision, expiry or signature → 403; expired → 410; unknown id → 404; nothing decided', async () => {
    // Prepare
    const { sandbox: s, approvalId, record } = await pendingRequest();
    const link = linksInMail(s, approvalId).approve ?? '';
    const sig = new URL(link).searchParams.get('s') ?? '';
    const expired = await signedLinks(s, { approvalId, deadline: new Date(Date.now() - 1000).toISOString() });
    const unknown = await signedLinks(s, { approvalId: 'no-such-approval', deadline: record.deadline });
    // Act
    const tampered = await Promise.all(
      [
        withParam(link, 'a', `${approvalId.slice(0, -1)}${approvalId.endsWith('0') ? '1' : '0'}`),
        withParam(link, 'd', 'deny'),
        withParam(link, 'e', String(Number(new URL(link).searchParams.get('e')) + 60)),
        withParam(link, 's', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`),
        `${link}&x=1`,
        `${link}&s=${sig}`,
        s.decisionPage.url,
      ].map((url) => fetch(url)),
    );
    const gone = await fetch(expired.approve);
    const missing = await fetch(unknown.approve);
    // Assess
    expect(tampered.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect(gone.status).toBe(410);
    expect(await gone.text()).toContain('expired');
    expect(missing.status).toBe(404);
    expect(await s.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  });

  test('a Slack decision first: the page says already decided, and an earlier form decides nothing', async () => {
    // Prepare
    const { sandbox: s, approvalId } = await pendingRequest();
    const deny = linksInMail(s, approvalId).deny ?? '';
    const form = formBodyOf(await (await fetch(deny)).text()) ?? '';
    // Act
    await s.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await s.settle();
    const page = await fetch(deny);
    const posted = await postForm(s.decisionPage.url, form);
    // Assess
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(
      new RegExp(`already been decided[\\s\\S]*Approved by ${SLACK_USERS.ana.realName}`),
    );
    expect(posted.status).toBe(409);
    expect(await s.store.get(approvalId)).toMatchObject({
      status: 'RESTORED',
      decision: { decidedBy: { channel: 'slack' } },
    });
  });

  test('the address mapped to the change’s author cannot approve (self-approval), but can deny', async () => {
    // Prepare
    const { sandbox: s, approvalId } = await pendingRequest({
      identityMap: JSON.stringify({ alice: DECISION_EMAIL }),
    });
    const links = linksInMail(s, approvalId);
    const approveForm = formBodyOf(await (await fetch(links.approve ?? '')).text()) ?? '';
    const denyForm = formBodyOf(await (await fetch(links.deny ?? '')).text()) ?? '';
    // Act
    const approved = await postForm(s.decisionPage.url, approveForm);
    const approvedText = await approved.text();
    const denied = await postForm(s.decisionPage.url, denyForm);
    await s.settle();
    // Assess
    expect(approved.status).toBe(403);
    expect(approvedText).toContain('Nothing was decided');
    expect(denied.status).toBe(303);
    expect(await s.store.get(approvalId)).toMatchObject({ status: 'DENIED' });
  });

  test('other methods get 405, a malformed or foreign body 400, a form with a changed token 403', async () => {
    // Prepare
    const { sandbox: s, approvalId } = await pendingRequest();
    const link = linksInMail(s, approvalId).approve ?? '';
    const form = formBodyOf(await (await fetch(link)).text()) ?? '';
    // Act
    const put = await fetch(link, { method: 'PUT' });
    const json = await fetch(s.decisionPage.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const garbage = await postForm(s.decisionPage.url, 'a=%E0%A4%A&d=approve');
    const forgedToken = await postForm(
      s.decisionPage.url,
      form.replace(/t=(\d+)/, (_, t) => `t=${Number(t) - 1}`),
    );
    // Assess
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(json.status).toBe(400);
    expect(garbage.status).toBe(400);
    expect(forgedToken.status).toBe(403);
    expect(await s.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  });
});
