/**
 * A pending approval across a restart of `npm start` with `--data-dir`, in a real browser: simulate the
 * risky CreatePolicy in the console, stop the process with Ctrl-C (SIGINT), start it again on the same
 * directory, and approve in the Slack view as an authorised user: the IAM view shows the original version
 * restored. Headless Chromium (playwright-core); never skips.
 */

import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
  for (const child of children.splice(0)) {
    if (child.exitCode !== null) continue;
    // SIGTERM, which tsx passes on to the sandbox process (a SIGKILL would leave that one running).
    child.kill('SIGTERM');
    const exited = await Promise.race([exitOf(child), new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (exited === undefined) child.kill('SIGKILL');
  }
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

/** Fetches a console page's text until `check` holds; fails after about 20 s. */
async function waitForPage(url: string, check: (text: string) => boolean): Promise<string> {
  let text = '';
  for (let i = 0; i < 80; i += 1) {
    text = await (await fetch(url)).text();
    if (check(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} never showed what was expected`);
}

describe('the console across a restart with --data-dir', () => {
  test('after a crash (SIGKILL) the pending request is still there: the state was saved as it changed', async () => {
    // Prepare
    const first = await startOnDataDir();
    const simulated = await fetch(`${first.url}/api/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sample: 'risky-create-policy' }),
    });
    await waitForPage(`${first.url}/mail`, (text) => /approval needed/i.test(text));
    // The autosave runs every half second: give it one round after the request was e-mailed.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Act: kill the sandbox process itself (tsx runs it as a child of the process spawned here); its pid
    // is the one in the data directory's lock.
    const killed = exitOf(first.child);
    const pid = Number(await readFile(join(dir, 'data', 'sandbox.lock'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await killed;
    const second = await startOnDataDir();
    const executions = await waitForPage(`${second.url}/executions`, (text) => /RUNNING/.test(text));
    const slack = await (await fetch(`${second.url}/slack`)).text();
    // Assess
    expect(simulated.status).toBe(200);
    expect(second.output()).toMatch(/\(restored\)/);
    expect(executions).toMatch(/CreatePolicy · <span class="status">RUNNING/);
    expect(slack).toMatch(/Approval needed/);
    expect(slack).toMatch(/>Approve</);
    second.child.kill('SIGINT');
    expect(await exitOf(second.child)).toBe(0);
  });

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
