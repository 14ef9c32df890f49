/**
 * The sandbox console in a real browser (Debian's Chromium, headless, playwright-core, a fresh profile per
 * test) against the whole sandbox: simulate the risky CreatePolicy, watch it quarantined in the IAM view
 * and requested in the Slack view, then decide it there (or through the mailbox's e-mail link) and watch
 * the outcome.
 *
 * These tests never skip: without Chromium they fail and say how to install it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { SAMPLES } from '../../local/console/samples';
import type { ConsoleServer } from '../../local/console/server';
import { type Sandbox, SLACK_USERS } from '../../local/sandbox';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { waitForPending } from '../support/approvals';
import { startSandboxConsole } from '../support/console';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

jest.setTimeout(90_000);

let sandbox: Sandbox | undefined;
let web: ConsoleServer | undefined;
let context: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(() => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the console browser tests need it (Debian: apt-get install -y chromium, as .ci/run does; or set CHROMIUM_PATH). They never skip.`,
    );
  }
});

afterEach(async () => {
  await context?.close();
  context = undefined;
  if (profile) rmSync(profile, { recursive: true, force: true });
  profile = undefined;
  await web?.close();
  web = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

const RISKY = SAMPLES['risky-create-policy']?.calls('x')[0]?.requestParameters.policyDocument;

/** Starts sandbox and console, opens a fresh browser on the console, and simulates the risky CreatePolicy. */
async function riskyChangeInBrowser(): Promise<{ s: Sandbox; page: Page; approvalId: string; name: string }> {
  ({ sandbox, web } = await startSandboxConsole());
  const s = sandbox;
  profile = mkdtempSync(join(tmpdir(), 'policy-gate-console-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
  });
  const page = await context.newPage();
  await page.goto(`${web.url}/simulate`);
  const form = page.locator('form', { hasText: 'Risky CreatePolicy' });
  await Promise.all([page.waitForLoadState('load'), form.locator('button[type=submit]').click()]);
  await page.locator('.simulated').waitFor();
  const [record] = await waitForPending(s);
  if (!record) throw new Error('no pending approval');
  const name = s.iam.state.policies.find((p) => !p.awsManaged)?.name ?? '';
  return { s, page, approvalId: record.approvalId, name };
}

async function expectQuarantinedInViews(page: Page, name: string): Promise<void> {
  await page.goto(`${web?.url}/iam`);
  await expect(page.locator(`.policy[data-name="${name}"] .quarantined`).count()).resolves.toBe(1);
  await page.goto(`${web?.url}/slack`);
  await expect(page.locator('.msg').first().textContent()).resolves.toContain('Approval needed');
}

/** Clicks a button of the newest message in the Slack view as the chosen user; returns the reply page text. */
async function clickInSlackView(page: Page, userId: string, label: RegExp): Promise<string> {
  await page.goto(`${web?.url}/slack`);
  const form = page.locator('.msg').first().locator('form');
  await form.locator('select[name=user]').selectOption(userId);
  await Promise.all([page.waitForURL(/\/slack\/click$/), form.getByRole('button', { name: label }).click()]);
  return (await page.locator('body').textContent()) ?? '';
}

const defaultDocument = (s: Sandbox, name: string) =>
  s.iam.state.policies.find((p) => p.name === name)?.defaultDocument;

describe('the sandbox console in Chromium', () => {
  test('approve in the Slack view as an authorised user: the message shows the outcome and the policy is restored', async () => {
    // Prepare
    const { s, page, approvalId, name } = await riskyChangeInBrowser();
    await expectQuarantinedInViews(page, name);
    // Act
    await clickInSlackView(page, SLACK_USERS.ana.id, /^Approve$/);
    await s.settle();
    await page.goto(`${web?.url}/slack`);
    const message = (await page.locator('.msg').first().textContent()) ?? '';
    await page.goto(`${web?.url}/iam`);
    const quarantinedBadges = await page.locator(`.policy[data-name="${name}"] .quarantined`).count();
    // Assess
    expect((await s.store.get(approvalId))?.status).toBe('RESTORED');
    expect(message).toMatch(/Restored/);
    expect(quarantinedBadges).toBe(0);
    expect(documentsEqual(defaultDocument(s, name), RISKY)).toBe(true);
  });

  test('deny in the Slack view keeps the policy quarantined', async () => {
    // Prepare
    const { s, page, approvalId, name } = await riskyChangeInBrowser();
    // Act
    await clickInSlackView(page, SLACK_USERS.sam.id, /^Deny$/);
    await s.settle();
    await page.goto(`${web?.url}/slack`);
    const message = (await page.locator('.msg').first().textContent()) ?? '';
    // Assess
    expect((await s.store.get(approvalId))?.status).toBe('DENIED');
    expect(message).toMatch(/Denied/);
    expect(documentsEqual(defaultDocument(s, name), quarantineDocument(approvalId))).toBe(true);
    await page.goto(`${web?.url}/iam`);
    expect(await page.locator(`.policy[data-name="${name}"] .quarantined`).count()).toBe(1);
  });

  test('an unauthorised user is refused with a private reply and the policy stays quarantined', async () => {
    // Prepare
    const { s, page, approvalId, name } = await riskyChangeInBrowser();
    // Act
    const reply = await clickInSlackView(page, SLACK_USERS.mallory.id, /^Approve$/);
    // Assess
    expect(reply).toContain('Only visible to you');
    expect((await s.store.get(approvalId))?.status).toBe('PENDING');
    expect(documentsEqual(defaultDocument(s, name), quarantineDocument(approvalId))).toBe(true);
    await expectQuarantinedInViews(page, name);
  });

  test('the e-mail link in the mailbox opens the real decision page, which approves', async () => {
    // Prepare
    const { s, page, approvalId, name } = await riskyChangeInBrowser();
    await page.goto(`${web?.url}/mail`);
    const link = page.locator('.mail a', { hasText: /^http/ }).first();
    // Act
    await Promise.all([
      page.waitForURL((url) => url.origin === new URL(s.decisionPage.url).origin),
      link.click(),
    ]);
    await Promise.all([page.waitForURL(/\?a=/), page.click('button[type=submit]')]);
    await s.settle();
    // Assess
    expect((await s.store.get(approvalId))?.status).toBe('RESTORED');
    expect(documentsEqual(defaultDocument(s, name), RISKY)).toBe(true);
  });
});
