/**
 * Nothing missed goes unnoticed: the reconciliation sweep finds grants whose events never arrived, re-drives
 * the event rule's dead-letter queue, and alerts when no trail delivers IAM events; the workflow looks again
 * at a "not in force" verdict. Through the real sweep and workflow handlers and the stand-ins.
 */
import type { CloudTrailEvent } from '../../local/iam/cloudtrail';
import {
  DEAD_LETTER_QUEUE,
  decisions,
  GOOD_TRAIL,
  type Sandbox,
  SLACK_USERS,
  startSandbox,
} from '../../local/sandbox';
import { quarantineDocument } from '../../src/domain/approval';
import { approveFully, mails, waitForPending } from '../support/approvals';
import { createRole, putRolePolicy } from '../support/iam';

const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }],
});
const approver = { channel: 'slack' as const, id: SLACK_USERS.ana.id };

function putRisky(sandbox: Sandbox, role: string, policy = 'wide'): Promise<CloudTrailEvent> {
  return putRolePolicy(sandbox, role, policy, RISKY);
}

describe('reconciliation sweep', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('the first run takes a baseline and only reports what is in force', async () => {
    // Prepare: a risky grant already in force before PolicyGate looked.
    sandbox = await startSandbox();
    sandbox.route(() => 'lose');
    await createRole(sandbox, 'legacy');
    await putRisky(sandbox, 'legacy');
    // Act
    const report = await sandbox.sweep();
    // Assess
    expect(report).toMatchObject({ baselineTaken: true, riskyGrants: 1, started: [] });
    expect(sandbox.executions).toEqual([]);
    expect(mails(sandbox, /baseline taken \(1 restricted grants in force\)/)[0]?.message).toMatch(
      /inline policy wide on role legacy/,
    );
  });

  test('a risky grant whose event was lost is found and quarantined at once; nobody may approve it (author unknown)', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    await sandbox.sweep();
    sandbox.route((event) => (event.detail.eventName === 'PutRolePolicy' ? 'lose' : 'deliver'));
    await putRisky(sandbox, 'app');
    // Act
    const report = await sandbox.sweep();
    const [record] = await waitForPending(sandbox);
    // Assess
    expect(report.started).toEqual(['inline policy wide on role app']);
    expect(record?.change).toMatchObject({
      origin: 'sweep',
      eventName: 'PutRolePolicy',
      actor: { type: 'Unknown' },
    });
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'wide')).toBe(
      quarantineDocument(record?.approvalId ?? ''),
    );
    expect(mails(sandbox, /the sweep found 1 restricted grant/)).toHaveLength(1);
    expect(mails(sandbox, /approval needed/)[0]?.message).toMatch(/Found by: the reconciliation sweep/);
    // Act again: an approver cannot approve a change whose author is unknown (it could be their own).
    const approval = await decisions().decide(record?.approvalId ?? '', 'APPROVED', approver);
    // Assess
    expect(approval).toMatchObject({ status: 'self-approval', reason: expect.stringMatching(/unknown/) });
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'wide')).toBe(
      quarantineDocument(record?.approvalId ?? ''),
    );
  });

  test('a found grant that was approved (its event arrived after all) is covered: the next run starts nothing', async () => {
    // Prepare: the event is delivered late, and its approval restores the grant.
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    await sandbox.sweep();
    await putRisky(sandbox, 'app');
    const [record] = await waitForPending(sandbox);
    // iam:PassRole is critical: two approvers.
    await approveFully(record?.approvalId ?? '');
    await sandbox.settle();
    // Act
    const next = await sandbox.sweep();
    // Assess
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'wide')).toBe(RISKY);
    expect(next.started).toEqual([]);
    expect(next.riskyGrants).toBe(1);
  });

  test('a found grant that is still quarantined is not started again; one back in force after a denial is', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    await sandbox.sweep();
    sandbox.route(() => 'lose');
    await putRisky(sandbox, 'app');
    await sandbox.sweep();
    const [record] = await waitForPending(sandbox);
    await decisions().decide(record?.approvalId ?? '', 'DENIED', approver);
    await sandbox.settle();
    // Act
    const quiet = await sandbox.sweep();
    await putRisky(sandbox, 'app');
    const again = await sandbox.sweep();
    await waitForPending(sandbox);
    // Assess
    expect(quiet.started).toEqual([]);
    expect(again.started).toEqual(['inline policy wide on role app']);
  });

  test('dead-lettered events are re-driven into the workflow and leave the queue', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    await sandbox.sweep();
    // The developer's change is dead-lettered; PolicyGate's own quarantine write is delivered (and ignored).
    sandbox.route((event) =>
      event.detail.eventName === 'PutRolePolicy' && event.detail.userIdentity.arn?.endsWith('user/alice')
        ? 'dead-letter'
        : 'deliver',
    );
    await putRisky(sandbox, 'app');
    expect(sandbox.sqs.messages(DEAD_LETTER_QUEUE)).toHaveLength(1);
    // Act
    const report = await sandbox.sweep();
    const [record] = await waitForPending(sandbox);
    // Assess: contained through its real event (its real actor), and not started a second time by the diff.
    expect(report).toMatchObject({ redriven: 1, started: [] });
    expect(record?.change.origin).toBeUndefined();
    expect(record?.change.actor.arn).toMatch(/user\/alice$/);
    expect(sandbox.sqs.messages(DEAD_LETTER_QUEUE)).toEqual([]);
    expect(mails(sandbox, /1 undelivered IAM event\(s\) re-driven/)).toHaveLength(1);
  });

  test('a dead letter that holds no event is dropped loudly', async () => {
    // Prepare
    sandbox = await startSandbox();
    sandbox.sqs.deliver(DEAD_LETTER_QUEUE, 'not json at all');
    // Act
    const report = await sandbox.sweep();
    // Assess
    expect(report.discarded).toHaveLength(1);
    expect(sandbox.sqs.messages(DEAD_LETTER_QUEUE)).toEqual([]);
    const alert = sandbox.sns.messages.find((m) => /dropped/.test(m.message));
    expect(alert?.messageAttributes.severity?.stringValue).toBe('alert');
  });

  test('no trail delivering IAM events: alerted, and not again at every run', async () => {
    // Prepare
    sandbox = await startSandbox({ trails: [{ ...GOOD_TRAIL, IsLogging: false }] });
    // Act
    const first = await sandbox.sweep();
    const second = await sandbox.sweep();
    // Assess
    expect(first.deliveringTrails).toEqual([]);
    expect(first.trailReasons.join()).toMatch(/logging is off/);
    expect(second.deliveringTrails).toEqual([]);
    const alerts = mails(sandbox, /no CloudTrail trail delivers IAM changes/);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.message).toMatch(/management-events: logging is off/);
  });

  test('a trail that delivers IAM events raises no alert', async () => {
    // Prepare
    sandbox = await startSandbox();
    // Act
    const report = await sandbox.sweep();
    // Assess
    expect(report.deliveringTrails).toEqual([GOOD_TRAIL.Name]);
    expect(mails(sandbox, /no CloudTrail trail/)).toEqual([]);
  });
});

describe('"not in force" is looked at again', () => {
  let sandbox: Sandbox;
  afterEach(async () => {
    await sandbox?.close();
  });

  test('IAM answering from before the change (eventual consistency): the second look contains it', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    await sandbox.settle();
    // Act: the first read after the write answers from before it.
    sandbox.iam.serveStaleReads(1);
    await putRisky(sandbox, 'app');
    const [record] = await waitForPending(sandbox);
    const first = sandbox.executions[0]?.execution.executionArn ?? '';
    // Assess
    expect(sandbox.sfn.runner.getExecutionEvents(first).map((e) => e.stateName)).toEqual(
      expect.arrayContaining(['WaitBeforeRecheck', 'RecheckChange', 'RequestApproval']),
    );
    expect(sandbox.iam.getInlinePolicy('role', 'app', 'wide')).toBe(
      quarantineDocument(record?.approvalId ?? ''),
    );
  });

  test('still not in force on the second look: notified once, after the look', async () => {
    // Prepare
    sandbox = await startSandbox();
    await createRole(sandbox, 'app');
    await sandbox.settle();
    sandbox.route(() => 'lose');
    const event = await putRisky(sandbox, 'app');
    sandbox.iam.reset();
    // Act
    sandbox.sfn.startExecution(event);
    const [result] = await sandbox.settle();
    // Assess
    expect(result?.history).toEqual(
      expect.arrayContaining(['WaitBeforeRecheck', 'RecheckChange', 'RouteRecheck', 'NotifyChange']),
    );
    const notices = mails(sandbox, /not in force/);
    expect(notices).toHaveLength(1);
    expect(notices[0]?.message).toMatch(/looked again after a delay/);
  });
});
