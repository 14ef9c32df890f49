/**
 * The e-mail decision page in a real browser: Debian's Chromium, headless, driven by playwright-core, with
 * a fresh profile per test, against the whole sandbox (the real handlers, state machine, local KMS, Slack
 * and the page behind its local Function URL). A link scanner (plain GETs and HEADs, or a browser that
 * loads the page with JavaScript on) decides nothing; only pressing the button does, once.
 *
 * These tests never skip: without Chromium they fail and say how to install it.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import type { BrowserContext, Page } from 'playwright-core';
import { DECISION_EMAIL, type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { findButton } from '../../local/slack';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { waitForPending } from '../support/approvals';
import { launchBrowser, requireChromium } from '../support/browser';
import { linksInMail, signedLinks } from '../support/decision-page';

jest.setTimeout(90_000);

let sandbox: Sandbox | undefined;
let launched: { context: BrowserContext; close(): Promise<void> } | undefined;

beforeAll(() => requireChromium());

afterEach(async () => {
  await launched?.close();
  launched = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

/** A fresh browser profile: no cookies, cache or history from another test. */
async function browser(options: { javaScriptEnabled?: boolean } = {}): Promise<BrowserContext> {
  launched = await launchBrowser(options);
  return launched.context;
}

/** A risky CreatePolicy pending approval, with the links of its e-mail; Slack down meanwhile if asked. */
async function pendingRequest(options: { slackDown?: boolean } = {}) {
  const s = await startSandbox();
  sandbox = s;
  if (options.slackDown) s.slack.setDown(true);
  await s.developer.send(
    new CreatePolicyCommand({
      PolicyName: 'cleanup',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Sid: 'Cleanup', Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      }),
    }),
  );
  const [record] = await waitForPending(s);
  if (!record) throw new Error('no pending approval');
  const links = linksInMail(s, record.approvalId);
  if (!links.approve || !links.deny) throw new Error('the request e-mail has no links');
  return { s, approvalId: record.approvalId, record, approve: links.approve, deny: links.deny };
}

/** What a reader sees of the page (its body text). */
const textOf = async (page: Page): Promise<string> => (await page.locator('body').textContent()) ?? '';

type Styled = { getComputedStyle(element: unknown): { backgroundColor: string } };

const successes = (s: Sandbox) => s.sfn.callbacks.filter((c) => c.operation === 'SendTaskSuccess').length;
const posts = (s: Sandbox) =>
  s.decisionPage.events.filter((e) => e.requestContext.http.method === 'POST').length;

async function expectNothingDecided(s: Sandbox, approvalId: string): Promise<void> {
  expect(await s.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  expect(successes(s)).toBe(0);
  expect(s.sfn.pendingTasks()).toHaveLength(1);
}

describe('the decision page in Chromium', () => {
  test('opening a link shows the request and its form, under its CSP, and decides nothing', async () => {
    // Prepare
    const { s, approvalId, approve } = await pendingRequest();
    const ctx = await browser();
    const page = await ctx.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    // Act
    const response = await page.goto(approve);
    const heading = await page.locator('h1').textContent();
    const body = await textOf(page);
    const color = await page.locator('button').evaluate(
      // The page's own window (tsconfig has no DOM library).
      (el) => (globalThis as unknown as Styled).getComputedStyle(el).backgroundColor,
    );
    // Assess
    expect(response?.status()).toBe(200);
    expect(heading).toBe('Approve a quarantined IAM change?');
    expect(body).toContain('Nothing has been decided by opening this page');
    expect(body).toContain('s3:DeleteBucket');
    expect(body).toContain(DECISION_EMAIL);
    expect(color).toBe('rgb(11, 110, 46)'); // the inline style ran: its CSP hash is right
    expect(violations).toEqual([]);
    await expectNothingDecided(s, approvalId);
  });

  test('a scanner’s plain GETs and HEADs of both links decide nothing', async () => {
    // Prepare
    const { s, approvalId, approve, deny } = await pendingRequest();
    const ctx = await browser();
    // Act
    const statuses: number[] = [];
    for (const link of [approve, deny, approve, deny]) {
      statuses.push((await ctx.request.get(link)).status(), (await ctx.request.head(link)).status());
    }
    // Assess
    expect(statuses).toEqual(Array(8).fill(200));
    expect(posts(s)).toBe(0);
    await expectNothingDecided(s, approvalId);
  });

  test('a scanner that loads both pages with JavaScript on, and waits, decides nothing', async () => {
    // Prepare
    const { s, approvalId, approve, deny } = await pendingRequest();
    const ctx = await browser({ javaScriptEnabled: true });
    // Act
    for (const link of [approve, deny]) {
      const page = await ctx.newPage();
      await page.goto(link, { waitUntil: 'networkidle' });
      await page.waitForTimeout(500);
      await page.close();
    }
    // Assess
    expect(posts(s)).toBe(0);
    await expectNothingDecided(s, approvalId);
  });

  test('pressing Approve decides once and the workflow restores; a reload says already decided', async () => {
    // Prepare
    const { s, approvalId, approve } = await pendingRequest();
    const ctx = await browser();
    const page = await ctx.newPage();
    await page.goto(approve);
    // Act
    await Promise.all([page.waitForURL(/\?a=/), page.click('button[type=submit]')]);
    await s.settle();
    const after = await textOf(page);
    const reload = await page.reload();
    const reloaded = await textOf(page);
    // Assess
    expect(after).toContain('already been decided');
    expect(after).toContain(`Approved via e-mail link`);
    expect(reload?.status()).toBe(200);
    expect(reloaded).toContain('already been decided');
    expect(successes(s)).toBe(1);
    const record = await s.store.get(approvalId);
    expect(record).toMatchObject({
      status: 'RESTORED',
      decision: { decision: 'APPROVED', decidedBy: { channel: 'email', id: DECISION_EMAIL } },
    });
    const ref = record?.slackMessage;
    expect(JSON.stringify(ref && s.slack.message(ref.channel, ref.ts)?.blocks)).toContain(
      'Approved via e-mail link at',
    );
  });

  test('Slack down at request time: the e-mail link decides meanwhile, and once Slack is back the request appears there, decided', async () => {
    // Prepare: Slack cannot be reached when the request is made.
    const { s, approvalId, approve } = await pendingRequest({ slackDown: true });
    const unavailable = s.sns.messages.find((m) => /Slack unavailable/.test(m.subject ?? ''));
    const ctx = await browser();
    const page = await ctx.newPage();
    // Act: decide through the e-mail while Slack is still down, then Slack comes back.
    await page.goto(approve);
    await Promise.all([page.waitForURL(/\?a=/), page.click('button[type=submit]')]);
    await s.settle();
    const decided = await s.store.get(approvalId);
    s.slack.setDown(false);
    await s.recoverSlack();
    // Assess
    expect(unavailable?.message).toMatch(/Decide here/);
    expect(decided).toMatchObject({
      status: 'RESTORED',
      decision: { decision: 'APPROVED', decidedBy: { channel: 'email', id: DECISION_EMAIL } },
    });
    const shown = JSON.stringify(s.slack.messages().map((m) => m.blocks));
    expect(shown).toContain('Approved via e-mail link at');
    expect(s.slack.messages().some((m) => findButton(m.blocks, APPROVE_ACTION_ID))).toBe(false);
    expect(successes(s)).toBe(1);
  });

  test('Slack down at request time, then back: the request appears in Slack and can be decided there', async () => {
    // Prepare
    const { s, approvalId, approve } = await pendingRequest({ slackDown: true });
    s.slack.setDown(false);
    // Act
    await s.recoverSlack();
    const posted = (await s.store.get(approvalId))?.slackMessage;
    const click = await s.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await s.settle();
    const ctx = await browser();
    const page = await ctx.newPage();
    const later = await page.goto(approve);
    // Assess
    expect(posted).toBeDefined();
    expect(click.status).toBe(200);
    expect(await s.store.get(approvalId)).toMatchObject({
      status: 'RESTORED',
      decision: { decidedBy: { channel: 'slack', id: SLACK_USERS.ana.id } },
    });
    expect(later?.status()).toBe(200);
    expect(await textOf(page)).toContain('already been decided');
    expect(await page.locator('button[type=submit]').count()).toBe(0);
  });

  test('a tampered link gets 403 and an expired one 410, each a clear page', async () => {
    // Prepare
    const { s, approvalId, approve } = await pendingRequest();
    const expired = await signedLinks(s, { approvalId, deadline: new Date(Date.now() - 1000).toISOString() });
    const ctx = await browser();
    const page = await ctx.newPage();
    // Act
    const tampered = await page.goto(approve.replace('d=approve', 'd=deny'));
    const tamperedText = await textOf(page);
    const gone = await page.goto(expired.approve);
    const goneText = await textOf(page);
    // Assess
    expect(tampered?.status()).toBe(403);
    expect(tamperedText).toContain('Invalid link');
    expect(gone?.status()).toBe(410);
    expect(goneText).toContain('Link expired');
    await expectNothingDecided(s, approvalId);
  });

  test('after a Slack decision the page says so, and its button (from before) decides nothing', async () => {
    // Prepare
    const { s, approvalId, deny } = await pendingRequest();
    const ctx = await browser();
    const early = await ctx.newPage();
    await early.goto(deny);
    // Act
    await s.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    await s.settle();
    const page = await ctx.newPage();
    await page.goto(deny);
    const text = await textOf(page);
    const late = await Promise.all([early.waitForNavigation(), early.click('button[type=submit]')]);
    const lateText = await textOf(early);
    // Assess
    expect(text).toContain('already been decided');
    expect(text).toContain(`Approved by ${SLACK_USERS.ana.realName}`);
    expect(late[0]?.status()).toBe(409);
    expect(lateText).toContain('already been decided');
    expect(await s.store.get(approvalId)).toMatchObject({
      status: 'RESTORED',
      decision: { decidedBy: { channel: 'slack', id: SLACK_USERS.ana.id } },
    });
  });
});
