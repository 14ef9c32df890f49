/**
 * A pending approval across a restart of `npm start` with `--data-dir`, in a real browser: simulate the
 * risky CreatePolicy in the console, stop the process with Ctrl-C (SIGINT), start it again on the same
 * directory, and approve in the Slack view as an authorised user: the IAM view shows the original version
 * restored. Headless Chromium (playwright-core); never skips.
 */

import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { SLACK_USERS } from '../../local/sandbox';
import { launchBrowser, requireChromium } from '../support/browser';
import { exitOf, startProcess } from '../support/npm-start';

jest.setTimeout(120_000);

let dir: string;
const children: ChildProcess[] = [];
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;

beforeAll(() => requireChromium());

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-gate-restart-'));
});

afterEach(async () => {
  await browser?.close();
  browser = undefined;
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function startOnDataDir(): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const started = startProcess(['--port', '0', '--data-dir', join(dir, 'data')]);
  children.push(started.child);
  return { url: await started.url, child: started.child, output: started.output };
}

/** Reloads `path` until `check` holds for the page's text; fails after about 20 s. */
async function waitForText(page: Page, url: string, check: (text: string) => boolean): Promise<string> {
  let text = '';
  for (let i = 0; i < 80; i += 1) {
    await page.goto(url);
    text = (await page.locator('main').textContent()) ?? '';
    if (check(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} never showed what was expected; last: ${text.slice(0, 500)}`);
}

describe('the console across a restart with --data-dir', () => {
  test('a request made before Ctrl-C is approved in the Slack view after the restart and the policy is restored', async () => {
    // Prepare: the risky change, pending in Slack, then Ctrl-C.
    const first = await startOnDataDir();
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    await page.goto(`${first.url}/simulate`);
    const form = page.locator('form', { hasText: 'Risky CreatePolicy' });
    await Promise.all([page.waitForLoadState('load'), form.locator('button[type=submit]').click()]);
    await page.locator('.simulated').waitFor();
    await waitForText(page, `${first.url}/slack`, (text) => /Approval needed/.test(text));
    const iamBefore = await waitForText(page, `${first.url}/iam`, (text) => /QUARANTINED/.test(text));
    const name = /bucket-cleanup-[\w-]+/.exec(iamBefore)?.[0] ?? '';
    const stopped = exitOf(first.child);
    first.child.kill('SIGINT');
    const code = await stopped;

    // Act: start again on the same directory and approve as Ana in the Slack view.
    const second = await startOnDataDir();
    const executions = await waitForText(page, `${second.url}/executions`, (text) => /RUNNING/.test(text));
    await page.goto(`${second.url}/slack`);
    const message = page.locator('.msg').first();
    const requestText = (await message.textContent()) ?? '';
    const buttons = message.locator('form');
    await buttons.locator('select[name=user]').selectOption(SLACK_USERS.ana.id);
    await Promise.all([
      page.waitForURL(/\/slack\/click$/),
      buttons.getByRole('button', { name: /^Approve$/ }).click(),
    ]);
    const slackAfter = await waitForText(page, `${second.url}/slack`, (text) => /Restored/.test(text));
    const iamAfter = await waitForText(page, `${second.url}/iam`, (text) => !/QUARANTINED/.test(text));
    const policy = page.locator(`.policy[data-name="${name}"]`);
    const defaultVersion = (await policy.locator('details[open] pre').textContent()) ?? '';

    // Assess
    expect(code).toBe(0);
    expect(first.output()).toMatch(/data\s+.*\/data\n/);
    expect(second.output()).toMatch(/data\s+.*\/data \(restored\)/);
    expect(requestText).toMatch(/Approval needed/);
    expect(executions).toMatch(/CreatePolicy · RUNNING/);
    expect(slackAfter).toMatch(/Restored/);
    expect(iamAfter).toContain(name);
    expect(defaultVersion).toContain('s3:DeleteBucket');
    expect(await policy.locator('.quarantined').count()).toBe(0);
    // Nothing the process printed carries a task token.
    expect(`${first.output()}${second.output()}`).not.toMatch(/[A-Za-z0-9_-]{500,}/);
    second.child.kill('SIGINT');
    expect(await exitOf(second.child)).toBe(0);
  });
});
