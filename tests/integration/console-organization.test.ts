/**
 * The sandbox console over HTTP with an organization (what `npm start -- --organization` runs): a sample
 * made in a member account is contained there, shown in Slack with the account's name and OU, approved with
 * a click on the console and restored in that account; the console refuses an account it does not have and
 * the assumed-role actor outside the central account.
 */
import { seedAccount } from '../../local/console/samples';
import { type ConsoleServer, startConsole } from '../../local/console/server';
import { DEMO_ORGANIZATION } from '../../local/organization-sandbox';
import { type Sandbox, SLACK_CHANNEL, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { findButton } from '../../local/slack';
import { quarantineDocument } from '../../src/domain/approval';
import { documentsEqual } from '../../src/domain/document-equality';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { eventually } from '../support/approvals';
import { postConsoleForm, simulateViaApi } from '../support/console';

jest.setTimeout(60_000);

const PAYMENTS = '111111111111';
let sandbox: Sandbox | undefined;
let web: ConsoleServer | undefined;

afterEach(async () => {
  await web?.close();
  await sandbox?.close();
  web = undefined;
  sandbox = undefined;
});

async function start(): Promise<{ s: Sandbox; w: ConsoleServer }> {
  sandbox = await startSandbox({ organization: DEMO_ORGANIZATION, slackRateLimits: { scale: 20 } });
  await seedAccount(sandbox);
  web = await startConsole(sandbox, { port: 0, refreshSeconds: 0 });
  return { s: sandbox, w: web };
}

describe('the console with an organization', () => {
  test('a member account’s change: contained there, shown with its account and OU, approved from the console, restored there', async () => {
    // Prepare
    const { s, w } = await start();
    // Act
    const [change] = await simulateViaApi(w, { sample: 'risky-create-policy', account: PAYMENTS });
    const approvalId = change?.approvalId as string;
    const message = await eventually(() =>
      s.slack
        .messages(SLACK_CHANNEL)
        .find((m) => findButton(m.blocks, APPROVE_ACTION_ID)?.button.value === approvalId),
    );
    const slackPage = await (await fetch(`${w.url}/slack`)).text();
    const member = s.organization?.members[PAYMENTS];
    const policyOf = () => member?.iam.state.policies.find((p) => !p.awsManaged);
    const whileWaiting = policyOf()?.defaultDocument;
    const click = await postConsoleForm(w, '/slack/click', {
      user: SLACK_USERS.ana.id,
      channel: SLACK_CHANNEL,
      ts: message.ts,
      action: APPROVE_ACTION_ID,
    });
    await s.settle();
    // Assess
    expect(change?.status).toBe('PENDING');
    expect(documentsEqual(whileWaiting, quarantineDocument(approvalId))).toBe(true);
    expect(s.iam.state.policies.filter((p) => !p.awsManaged)).toEqual([]);
    expect(slackPage).toMatch(/Account name:.*payments-prod.*OU:.*Payments/s);
    expect(click.status).toBe(200);
    expect((await s.store.get(approvalId))?.status).toBe('RESTORED');
    expect(policyOf()?.defaultVersionId).toBe('v1');
  });

  test('the simulate form names every account with its OU, and a form post makes the change in the chosen one', async () => {
    // Prepare
    const { s, w } = await start();
    // Act
    const form = await (await fetch(`${w.url}/simulate`)).text();
    const posted = await postConsoleForm(w, '/simulate', {
      sample: 'risky-create-policy',
      actor: 'alice',
      account: '222222222222',
    });
    const answer = await posted.text();
    // Assess
    expect(form).toContain('<option value="111111111111">111111111111 payments-prod (OU Payments)</option>');
    expect(form).toContain('123456789012 security (central account)');
    expect(posted.status).toBe(200);
    expect(answer).toMatch(/in account 222222222222 data-prod \(OU Data platform\): approval/);
    const approvalId = /approval <code>([^<]+)<\/code>/.exec(answer)?.[1] as string;
    // The console answers once the record exists; the quarantine in the member account follows it.
    for (let i = 0; i < 200 && (await s.store.get(approvalId))?.quarantine === undefined; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const policy = s.organization?.members['222222222222']?.iam.state.policies.find((p) => !p.awsManaged);
    expect(documentsEqual(policy?.defaultDocument, quarantineDocument(approvalId))).toBe(true);
    expect(s.iam.state.policies.filter((p) => !p.awsManaged)).toEqual([]);
  });

  test.each([
    [{ sample: 'read-only', account: '999999999999' }, /account must be one of the sandbox/],
    [
      { sample: 'read-only', account: PAYMENTS, actor: 'role' },
      /assumed-role actor exists only in the central account/,
    ],
  ])('refuses %j', async (body, message) => {
    // Prepare
    const { w } = await start();
    // Act
    const response = await fetch(`${w.url}/api/simulate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(message);
  });
});
