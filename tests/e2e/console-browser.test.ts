/**
 * The sandbox console in a real browser (Debian's Chromium, headless, playwright-core, a fresh browser
 * context per test) against the whole sandbox, shared by the tests of this file: each makes its own change
 * and follows only its own approval. Simulate the risky CreatePolicy, watch it quarantined in the IAM view
 * and requested in the Slack view, then decide it there or through the mailbox's e-mail link (approve, deny,
 * an unauthorised user, two approvers) and watch the outcome; a burst of 50; the views updating live.
 *
 * With POLICY_GATE_SCREENSHOTS=DIR (`npm run screenshots`) the approve and e-mail tests also save the
 * README's screenshots there; without it they write nothing.
 *
 * These tests never skip: without Chromium they fail and say how to install it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_POLICY_ARN, APP_ROLE, SAMPLES } from '../../local/console/samples';
import { type ConsoleServer, startConsole } from '../../local/console/server';
import { type Sandbox, SLACK_USERS } from '../../local/sandbox';
import { type ApprovalRecord, quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { eventually, settleApproval, waitForRequest } from '../support/approvals';
import { launchChromium, requireChromium } from '../support/browser';
import { simulateViaApi, startSandboxConsole } from '../support/console';

/** Where to save the README's screenshots; unset (as in CI) saves none. */
const SCREENSHOTS = process.env.POLICY_GATE_SCREENSHOTS;
const VIEWPORT = { width: 1280, height: 800 };

jest.setTimeout(120_000);

let sandbox: Sandbox;
let web: ConsoleServer;
let browser: Browser;
let context: BrowserContext | undefined;

beforeAll(async () => {
  requireChromium();
  ({ sandbox, web } = await startSandboxConsole());
  browser = await launchChromium();
});

afterEach(async () => {
  await context?.close();
  context = undefined;
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await sandbox?.close();
});

const RISKY = SAMPLES['risky-create-policy']?.calls('x')[0]?.requestParameters.policyDocument;

/** A fresh browser context (no cookies or cache from another test) and a page in it. */
async function newPage(options: { javaScriptEnabled?: boolean } = {}): Promise<Page> {
  context = await browser.newContext({ viewport: VIEWPORT, ...options });
  return context.newPage();
}

/** Saves a screenshot of the page's viewport for the README, when asked to. */
async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Makes a sample change from the Simulate page; returns the approvals it started, each requested. */
async function simulateInBrowser(page: Page, title: string, base = web.url): Promise<string[]> {
  await page.goto(`${base}/simulate`);
  const form = page.locator('form', { hasText: title });
  await Promise.all([page.waitForURL(`${base}/simulate`), form.locator('button[type=submit]').click()]);
  const ids = await page.locator('.simulated li code').allTextContents();
  for (const id of ids) await waitForRequest(sandbox, id);
  return ids;
}

/** The risky CreatePolicy made from the Simulate page: its approval and the policy's name. */
async function riskyChange(page: Page): Promise<{ approvalId: string; name: string; ts: string }> {
  const [approvalId] = await simulateInBrowser(page, 'Risky CreatePolicy');
  if (!approvalId) throw new Error('no approval started');
  const record = await waitForRequest(sandbox, approvalId);
  return { approvalId, name: managedPolicyOf(record).name, ts: record.slackMessage?.ts ?? '' };
}

/** The managed policy an approval's change made, by ARN and name. */
function managedPolicyOf(record: ApprovalRecord): { arn: string; name: string } {
  const target = record.change.target;
  if (target.kind !== 'managed-policy') throw new Error('the change is no managed policy');
  return { arn: target.policyArn, name: target.policyArn.split('/').pop() ?? '' };
}

const messageOf = (page: Page, ts: string) => page.locator(`.msg[data-ts="${ts}"]`);
const policyCard = (page: Page, name: string) => page.locator(`.policy[data-name="${name}"]`);

/** Clicks a button of the message in the Slack view as the chosen user; returns the reply page's text. */
async function clickInSlackView(page: Page, ts: string, userId: string, label: RegExp): Promise<string> {
  await page.goto(`${web.url}/slack`);
  const form = messageOf(page, ts).locator('form');
  await form.locator('select[name=user]').selectOption(userId);
  await Promise.all([page.waitForURL(/\/slack\/click$/), form.getByRole('button', { name: label }).click()]);
  return (await page.locator('main').textContent()) ?? '';
}

async function messageText(page: Page, ts: string): Promise<string> {
  await page.goto(`${web.url}/slack`);
  return (await messageOf(page, ts).textContent()) ?? '';
}

async function isQuarantinedInIamView(page: Page, name: string): Promise<boolean> {
  await page.goto(`${web.url}/iam`);
  return (await policyCard(page, name).locator('.quarantined').count()) === 1;
}

const policyOf = (name: string) => sandbox.iam.state.policies.find((p) => p.name === name);
const attachedToAppRole = () =>
  sandbox.iam.state.roles.find((r) => r.name === APP_ROLE)?.attachedPolicyArns.includes(ADMIN_POLICY_ARN);

describe('the sandbox console in Chromium', () => {
  test('approve in the Slack view as an authorised user: the message shows the outcome and the policy is restored', async () => {
    // Prepare
    const page = await newPage();
    const { approvalId, name, ts } = await riskyChange(page);
    const requested = await messageText(page, ts);
    await screenshot(page, 'slack-request');
    const quarantinedBefore = await isQuarantinedInIamView(page, name);
    await policyCard(page, name).locator('summary', { hasText: /^v1$/ }).click();
    await screenshot(page, 'iam-quarantined');
    // Act
    await clickInSlackView(page, ts, SLACK_USERS.ana.id, /^Approve$/);
    await settleApproval(sandbox, approvalId);
    const message = await messageText(page, ts);
    await screenshot(page, 'slack-approved');
    const quarantinedAfter = await isQuarantinedInIamView(page, name);
    // Assess
    expect(requested).toContain('Approval needed');
    expect(quarantinedBefore).toBe(true);
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
    expect(message).toMatch(/Restored/);
    expect(quarantinedAfter).toBe(false);
    expect(documentsEqual(policyOf(name)?.defaultDocument, RISKY)).toBe(true);
  });

  test('deny in the Slack view: the message shows the denial, the policy stays quarantined and the original is kept', async () => {
    // Prepare
    const page = await newPage();
    const { approvalId, name, ts } = await riskyChange(page);
    // Act
    await clickInSlackView(page, ts, SLACK_USERS.sam.id, /^Deny$/);
    await settleApproval(sandbox, approvalId);
    const message = await messageText(page, ts);
    const quarantined = await isQuarantinedInIamView(page, name);
    const shownVersions = await policyCard(page, name).locator('details:not([open]) pre').allTextContents();
    // Assess
    expect((await sandbox.store.get(approvalId))?.status).toBe('DENIED');
    expect(message).toMatch(/Denied/);
    expect(message).toContain(`@${SLACK_USERS.sam.name}`);
    expect(quarantined).toBe(true);
    const policy = policyOf(name);
    expect(documentsEqual(policy?.defaultDocument, quarantineDocument(approvalId))).toBe(true);
    // The original version is still there, not the default: nothing lost, nothing granted.
    expect(policy?.versions.some((v) => !v.isDefaultVersion && documentsEqual(v.document, RISKY))).toBe(true);
    expect(shownVersions.some((text) => text.includes('s3:DeleteBucket'))).toBe(true);
  });

  test('an unauthorised user is refused with a private reply and nothing is restored', async () => {
    // Prepare
    const page = await newPage();
    const { approvalId, name, ts } = await riskyChange(page);
    // Act
    const reply = await clickInSlackView(page, ts, SLACK_USERS.mallory.id, /^Approve$/);
    const message = await messageText(page, ts);
    const quarantined = await isQuarantinedInIamView(page, name);
    // Assess
    expect(reply).toContain('Only visible to you');
    expect(reply).toMatch(/not (allowed|authori[sz]ed|an approver)|cannot/i);
    expect((await sandbox.store.get(approvalId))?.status).toBe('PENDING');
    expect(documentsEqual(policyOf(name)?.defaultDocument, quarantineDocument(approvalId))).toBe(true);
    expect(quarantined).toBe(true);
    expect(message).toContain('Approval needed');
    expect(message).not.toMatch(/Restored|Approved by/);
  });

  test('the e-mail link in the mailbox opens the real decision page, which approves; Slack and IAM show it', async () => {
    // Prepare
    const page = await newPage();
    const { approvalId, name, ts } = await riskyChange(page);
    await page.goto(`${web.url}/mail`);
    await screenshot(page, 'mailbox');
    const mail = page.locator('.mail', { hasText: `Approval id: ${approvalId}` });
    const link = mail.locator('a', { hasText: /d=approve/ });
    // Act
    await Promise.all([
      page.waitForURL((url) => url.origin === new URL(sandbox.decisionPage.url).origin),
      link.click(),
    ]);
    const decisionPage = (await page.locator('body').textContent()) ?? '';
    await screenshot(page, 'decision-page');
    await Promise.all([page.waitForURL(/\?a=/), page.click('button[type=submit]')]);
    await settleApproval(sandbox, approvalId);
    const message = await messageText(page, ts);
    const quarantined = await isQuarantinedInIamView(page, name);
    // Assess
    expect(decisionPage).toMatch(/approve/i);
    expect(decisionPage).toContain(name);
    expect((await sandbox.store.get(approvalId))?.status).toBe('RESTORED');
    expect(message).toMatch(/Restored/);
    expect(message).toMatch(/e-mail|link/i);
    expect(quarantined).toBe(false);
    expect(documentsEqual(policyOf(name)?.defaultDocument, RISKY)).toBe(true);
  });

  test('a critical grant needs two approvers: the first is counted, the same person cannot give the second, another restores', async () => {
    // Prepare
    const page = await newPage();
    const [approvalId] = await simulateInBrowser(page, 'AdministratorAccess attached');
    const ts = (await waitForRequest(sandbox, approvalId ?? '')).slackMessage?.ts ?? '';
    const detachedWhilePending = !attachedToAppRole();
    // Act
    await clickInSlackView(page, ts, SLACK_USERS.ana.id, /^Approve$/);
    const afterFirst = await messageText(page, ts);
    const firstStatus = (await sandbox.store.get(approvalId ?? ''))?.status;
    const again = await clickInSlackView(page, ts, SLACK_USERS.ana.id, /^Approve$/);
    const afterAgain = await sandbox.store.get(approvalId ?? '');
    const stillDetached = !attachedToAppRole();
    await clickInSlackView(page, ts, SLACK_USERS.sam.id, /^Approve$/);
    await settleApproval(sandbox, approvalId ?? '');
    const afterSecond = await messageText(page, ts);
    await page.goto(`${web.url}/iam`);
    const role = (await page.locator('.principal', { hasText: `role ${APP_ROLE}` }).textContent()) ?? '';
    // Assess
    expect(detachedWhilePending).toBe(true);
    expect(afterFirst).toMatch(/1 of 2 approvals/);
    expect(afterFirst).toContain(SLACK_USERS.ana.id);
    expect(firstStatus).toBe('PENDING');
    expect(again).toContain('Only visible to you');
    expect(afterAgain?.status).toBe('PENDING');
    expect(afterAgain?.approvals).toHaveLength(1);
    expect(stillDetached).toBe(true);
    expect((await sandbox.store.get(approvalId ?? ''))?.status).toBe('RESTORED');
    expect(afterSecond).toMatch(/Restored/);
    expect(attachedToAppRole()).toBe(true);
    expect(role).toContain(ADMIN_POLICY_ARN);
  });

  test('a burst of 50: every policy quarantined and every request in the Slack view', async () => {
    // Prepare
    const page = await newPage();
    // Act
    const ids = await simulateInBrowser(page, 'A burst of 50');
    const records = await Promise.all(ids.map((id) => waitForRequest(sandbox, id)));
    await page.goto(`${web.url}/slack`);
    const shown = await Promise.all(records.map((r) => messageOf(page, r.slackMessage?.ts ?? '').count()));
    await page.goto(`${web.url}/iam`);
    const quarantinedCards = await page.locator('.policy', { hasText: 'QUARANTINED' }).allTextContents();
    // Assess
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);
    for (const record of records) {
      expect(record.status).toBe('PENDING');
      const { arn } = managedPolicyOf(record);
      const policy = sandbox.iam.state.policies.find((p) => p.arn === arn);
      expect(documentsEqual(policy?.defaultDocument, quarantineDocument(record.approvalId))).toBe(true);
    }
    expect(shown).toEqual(records.map(() => 1));
    const burstCards = quarantinedCards.filter((text) => /burst-[0-9a-f]{8}-\d+/.test(text));
    expect(burstCards).toHaveLength(50);
  });

  test('live: a change made from another tab or the HTTP API appears in open views without a reload', async () => {
    // Prepare
    const slack = await newPage();
    await slack.goto(`${web.url}/slack`);
    const iam = await context?.newPage();
    if (!iam) throw new Error('no second page');
    await iam.goto(`${web.url}/iam`);
    const executions = await context?.newPage();
    await executions?.goto(`${web.url}/executions`);
    const other = await context?.newPage();
    for (const p of [slack, iam, executions]) {
      await p?.evaluate(() => {
        (globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true;
      });
      await p?.locator('#live[data-state="live"]').waitFor();
    }
    // Act: one change from another tab, one through the JSON endpoint.
    const [fromTab] = await simulateInBrowser(other as Page, 'Risky CreatePolicy');
    const [fromApi] = await simulateViaApi(web, { sample: 'not-action' });
    const tabRecord = await waitForRequest(sandbox, fromTab ?? '');
    const apiRecord = await waitForRequest(sandbox, fromApi?.approvalId ?? '');
    const names = [tabRecord, apiRecord].map((r) => managedPolicyOf(r).name);
    // Assess
    for (const r of [tabRecord, apiRecord]) {
      await messageOf(slack, r.slackMessage?.ts ?? '')
        .getByText('Approval needed')
        .waitFor();
    }
    for (const name of names) await policyCard(iam, name).locator('.quarantined').waitFor();
    await eventually(
      async () => ((await executions?.locator('.execution').count()) ?? 0) >= sandbox.executions.length,
    );
    for (const p of [slack, iam, executions]) {
      await expect(
        p?.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce),
      ).resolves.toBe(true);
    }
  });

  test('live: an update keeps the user a click is sent as, and the view follows the decision', async () => {
    // Prepare
    const page = await newPage();
    const { approvalId, ts } = await riskyChange(page);
    await page.goto(`${web.url}/slack`);
    await page.locator('#live[data-state="live"]').waitFor();
    await messageOf(page, ts).locator('select[name=user]').selectOption(SLACK_USERS.mallory.id);
    const updatesBefore = Number(await page.locator('#live').getAttribute('data-updates'));
    // Act: another change posts a message, so the view is swapped under the open form.
    await simulateViaApi(web, { sample: 'read-only' });
    await simulateViaApi(web, { sample: 'risky-create-policy' });
    await eventually(
      async () => Number(await page.locator('#live').getAttribute('data-updates')) > updatesBefore,
    );
    const chosen = await messageOf(page, ts).locator('select[name=user]').inputValue();
    await sandbox.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, approvalId);
    const decided = await eventually(
      async () => (await sandbox.store.get(approvalId))?.status === 'RESTORED',
    );
    // Assess
    expect(chosen).toBe(SLACK_USERS.mallory.id);
    expect(decided).toBe(true);
    await messageOf(page, ts)
      .locator('.header', { hasText: /Restored/ })
      .waitFor();
  });

  test('without JavaScript the views fall back to the meta refresh', async () => {
    // Prepare: a console with a one-second refresh on the same sandbox.
    const refreshing = await startConsole(sandbox, { port: 0, refreshSeconds: 1 });
    try {
      const page = await newPage({ javaScriptEnabled: false });
      await page.goto(`${refreshing.url}/slack`);
      let loads = 0;
      page.on('load', () => {
        loads += 1;
      });
      // Act
      const [change] = await simulateViaApi(web, { sample: 'risky-create-policy' });
      const record = await waitForRequest(sandbox, change?.approvalId ?? '');
      await messageOf(page, record.slackMessage?.ts ?? '').waitFor();
      // Assess
      expect(loads).toBeGreaterThan(0);
    } finally {
      await refreshing.close();
    }
  });
});
