/**
 * The sandbox's data directory (`--data-dir`): a pending approval survives a restart of the whole sandbox
 * (same execution, same task token, same Slack message, the policy still quarantined) and is then decided
 * through the real paths (a signed Slack click, an e-mail link from before the restart, the deadline);
 * the files are private, and a directory the sandbox cannot read stops the start.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { SandboxDataError, STATE_FILE } from '../../local/persistence';
import { type Sandbox, SLACK_CHANNEL, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { findButton } from '../../local/slack';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { handler as analyseChange } from '../../src/handlers/analyse-change';
import { handler as requestApproval } from '../../src/handlers/request-approval';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/messages/approval-message';
import { waitForPending } from '../support/approvals';
import { formBodyOf, linksInMail, postForm } from '../support/decision-page';

jest.setTimeout(60_000);

const risky = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Cleanup', Effect: 'Allow', Action: ['s3:DeleteBucket', 's3:GetObject'], Resource: '*' },
  ],
};

let dir: string;
const open: Sandbox[] = [];

beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'policy-gate-data-')), 'data');
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await rm(join(dir, '..'), { recursive: true, force: true });
});

async function start(options: Parameters<typeof startSandbox>[0] = {}): Promise<Sandbox> {
  const s = await startSandbox({ dataDir: dir, ...options });
  open.push(s);
  return s;
}

async function stop(s: Sandbox): Promise<void> {
  open.splice(open.indexOf(s), 1);
  await s.close();
}

/** The risky CreatePolicy as the developer, up to its pending approval; then the sandbox is stopped. */
async function pendingThenRestart(options: Parameters<typeof startSandbox>[0] = {}) {
  const before = await start(options);
  await before.developer.send(
    new CreatePolicyCommand({ PolicyName: 'cleanup', PolicyDocument: JSON.stringify(risky) }),
  );
  const [record] = await waitForPending(before);
  if (!record) throw new Error('no pending approval');
  const execution = before.executions[0]?.execution;
  if (!execution) throw new Error('no execution');
  const mailLinks = linksInMail(before, record.approvalId);
  const historyBefore = before.sfn.runner.getExecutionHistory(execution.executionArn);
  const messageBefore = before.slack.message(SLACK_CHANNEL, record.slackMessage?.ts ?? '');
  const pageUrl = before.decisionPage.url;
  await stop(before);
  const after = await start(options);
  return {
    after,
    record,
    executionArn: execution.executionArn,
    historyBefore,
    messageBefore,
    mailLinks,
    pageUrl,
  };
}

function defaultDocument(s: Sandbox): string | undefined {
  return s.iam.state.policies.find((p) => p.name === 'cleanup')?.defaultDocument;
}

describe('sandbox data directory', () => {
  test('a pending approval survives a restart: same record, message, quarantine and execution at RequestApproval', async () => {
    // Prepare / Act
    const { after, record, executionArn, historyBefore, messageBefore } = await pendingThenRestart();
    // Assess
    const now = await after.store.get(record.approvalId);
    expect(now).toMatchObject({ status: 'PENDING', executionId: executionArn, taskToken: record.taskToken });
    expect(now?.slackMessage).toEqual(record.slackMessage);
    expect(after.slack.message(SLACK_CHANNEL, record.slackMessage?.ts ?? '')).toEqual(messageBefore);
    expect(
      findButton(after.slack.message(SLACK_CHANNEL, record.slackMessage?.ts ?? '')?.blocks, APPROVE_ACTION_ID)
        ?.button.value,
    ).toBe(record.approvalId);
    expect(documentsEqual(defaultDocument(after) ?? '', quarantineDocument(record.approvalId))).toBe(true);
    expect(after.sfn.describeExecution(executionArn).status).toBe('RUNNING');
    expect(after.sfn.pendingTasks()).toEqual([
      expect.objectContaining({ executionArn, stateName: 'RequestApproval' }),
    ]);
    expect(after.sfn.runner.getExecutionHistory(executionArn)).toEqual(historyBefore);
    expect(historyBefore.at(-1)).toBe('RequestApproval');
    expect(after.restored).toBe(true);
    // The approval-request step is not run again: no second Slack post, no second e-mail.
    expect(after.sfn.invocations.filter((i) => i.functionKey === 'requestApproval')).toHaveLength(0);
    expect(
      after.slack.messages(SLACK_CHANNEL).filter((m) => m.threadTs === undefined || m.threadTs === m.ts),
    ).toHaveLength(1);
  });

  test('approved in Slack after the restart: the original version is restored and the execution succeeds', async () => {
    // Prepare
    const { after, record, executionArn, historyBefore } = await pendingThenRestart();
    // Act
    const clicked = await after.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, record.approvalId);
    const [result] = await after.settle();
    // Assess
    expect(clicked.status).toBe(200);
    expect(result).toMatchObject({ executionArn, status: 'SUCCEEDED' });
    expect(result?.history.slice(0, historyBefore.length)).toEqual(historyBefore);
    expect(result?.history).toContain('RestoreChange');
    expect(result?.history.filter((state) => state === 'RequestApproval')).toHaveLength(1);
    expect(await after.store.get(record.approvalId)).toMatchObject({ status: 'RESTORED' });
    expect(documentsEqual(defaultDocument(after) ?? '', JSON.stringify(risky))).toBe(true);
    const message = after.slack.message(SLACK_CHANNEL, record.slackMessage?.ts ?? '');
    expect(message?.edits).toBeGreaterThan(0);
    expect(findButton(message?.blocks, APPROVE_ACTION_ID)).toBeUndefined();
  });

  test('denied in Slack after the restart: the policy stays quarantined and the execution succeeds as Denied', async () => {
    // Prepare
    const { after, record, executionArn } = await pendingThenRestart();
    // Act
    await after.click(SLACK_USERS.ana.id, DENY_ACTION_ID, record.approvalId);
    const [result] = await after.settle();
    // Assess
    expect(result).toMatchObject({ executionArn, status: 'SUCCEEDED' });
    expect(result?.history.at(-1)).toBe('Denied');
    expect(await after.store.get(record.approvalId)).toMatchObject({ status: 'DENIED' });
    expect(documentsEqual(defaultDocument(after) ?? '', quarantineDocument(record.approvalId))).toBe(true);
  });

  test('an unauthorised click after the restart is still refused, and the approval stays pending', async () => {
    // Prepare
    const { after, record } = await pendingThenRestart();
    // Act
    await after.click(SLACK_USERS.mallory.id, APPROVE_ACTION_ID, record.approvalId);
    // Assess
    expect(await after.store.get(record.approvalId)).toMatchObject({ status: 'PENDING' });
    expect(after.sfn.pendingTasks()).toHaveLength(1);
  });

  test('the e-mail link sent before the restart opens the page at the same URL and its form decides', async () => {
    // Prepare
    const { after, record, mailLinks, pageUrl } = await pendingThenRestart({ emailDecisions: 'on' });
    // Act
    const page = await fetch(mailLinks.approve ?? '');
    const form = formBodyOf(await page.text()) ?? '';
    const posted = await postForm(after.decisionPage.url, form);
    const [result] = await after.settle();
    // Assess
    expect(after.decisionPage.url).toBe(pageUrl);
    expect(page.status).toBe(200);
    expect(posted.status).toBe(303);
    expect(result?.status).toBe('SUCCEEDED');
    expect(await after.store.get(record.approvalId)).toMatchObject({ status: 'RESTORED' });
    expect(documentsEqual(defaultDocument(after) ?? '', JSON.stringify(risky))).toBe(true);
  });

  test('time spent stopped counts toward the deadline: the resumed wait expires at the original time', async () => {
    // Prepare
    const approvalTimeoutMs = 4_000;
    const before = await start({ approvalTimeoutMs });
    await before.developer.send(
      new CreatePolicyCommand({ PolicyName: 'cleanup', PolicyDocument: JSON.stringify(risky) }),
    );
    const [record] = await waitForPending(before);
    const waitingSince = before.sfn.pendingTasks()[0]?.startedAt.getTime() ?? 0;
    await stop(before);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Act
    const after = await start({ approvalTimeoutMs });
    const resumedAt = Date.now();
    const [result] = await after.settle();
    const endedAt = Date.now();
    // Assess
    expect(result?.history).toContain('RecordExpiry');
    expect(await after.store.get(record?.approvalId ?? '')).toMatchObject({ status: 'EXPIRED' });
    // Not a fresh 4 s after the restart: what was left of the original 4 s.
    expect(endedAt - resumedAt).toBeLessThan(approvalTimeoutMs - 1_000);
    expect(endedAt - waitingSince).toBeGreaterThanOrEqual(approvalTimeoutMs - 50);
  });

  test('re-entering a step after a crash is harmless: analyseChange finds its own record, requestApproval posts no second message', async () => {
    // Prepare
    const s = await start();
    await s.developer.send(
      new CreatePolicyCommand({ PolicyName: 'cleanup', PolicyDocument: JSON.stringify(risky) }),
    );
    const [record] = await waitForPending(s);
    const execution = s.executions[0]?.execution;
    if (!record || !execution) throw new Error('no pending approval');
    const input = s.sfn.describeExecution(execution.executionArn).input;
    const versionsBefore = s.iam.state.policies.find((p) => p.name === 'cleanup')?.versions.length;
    const postsBefore = s.slack.calls.filter((c) => c.method === 'chat.postMessage').length;
    // Act: the two steps again, as a resumed execution would run them, with the same execution id.
    const analysed = await analyseChange({ event: input, executionId: execution.executionArn });
    await requestApproval({
      approvalId: record.approvalId,
      taskToken: record.taskToken,
      timeoutSeconds: 86_400,
      executionId: execution.executionArn,
    });
    // Assess
    expect(analysed).toMatchObject({ approvalId: record.approvalId });
    expect(s.iam.state.policies.find((p) => p.name === 'cleanup')?.versions.length).toBe(versionsBefore);
    expect(documentsEqual(defaultDocument(s) ?? '', quarantineDocument(record.approvalId))).toBe(true);
    expect(s.slack.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(postsBefore);
    expect(await s.store.get(record.approvalId)).toMatchObject({
      status: 'PENDING',
      slackMessage: record.slackMessage,
      taskToken: record.taskToken,
    });
  });

  test('the data directory is private: the directory 0700, the state file 0600, with no lock left after close', async () => {
    // Prepare
    const s = await start();
    // Act
    await stop(s);
    // Assess
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, STATE_FILE))).mode & 0o777).toBe(0o600);
    await expect(stat(join(dir, 'sandbox.lock'))).rejects.toThrow();
  });

  test('a corrupt state file, one of another version, or a foreign directory stops the start and is kept', async () => {
    // Prepare
    await stop(await start());
    const file = join(dir, STATE_FILE);
    const good = JSON.parse(await readFile(file, 'utf8')) as { version: number; state: { kms: unknown } };
    const cases = [
      '{"format":"policy-gate-sandbox","version":1,"state":',
      JSON.stringify({ ...good, version: 99 }),
      JSON.stringify({ ...good, state: { ...good.state, kms: 'gone' } }),
    ];
    for (const text of cases) {
      await writeFile(file, text);
      // Act / Assess
      await expect(startSandbox({ dataDir: dir })).rejects.toThrow(SandboxDataError);
      expect(await readFile(file, 'utf8')).toBe(text);
    }
    await writeFile(join(dir, '..', 'notes.txt'), 'x');
    await expect(startSandbox({ dataDir: join(dir, '..') })).rejects.toThrow(
      /not a PolicyGate sandbox data directory/,
    );
    expect(await readFile(join(dir, '..', 'notes.txt'), 'utf8')).toBe('x');
  });

  test('a second sandbox on a directory in use is refused', async () => {
    // Prepare
    await start();
    // Act / Assess
    await expect(startSandbox({ dataDir: dir })).rejects.toThrow(/in use by another running sandbox/);
  });

  test('without a data directory nothing is written and a new sandbox starts empty', async () => {
    // Prepare
    const s = await startSandbox();
    open.push(s);
    await s.developer.send(
      new CreatePolicyCommand({ PolicyName: 'cleanup', PolicyDocument: JSON.stringify(risky) }),
    );
    await waitForPending(s);
    await stop(s);
    // Act
    const next = await startSandbox();
    open.push(next);
    // Assess
    expect(next.restored).toBe(false);
    expect(next.iam.state.policies).toHaveLength(0);
    await expect(stat(dir)).rejects.toThrow();
  });
});
