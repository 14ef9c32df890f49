/**
 * A click answers Slack without waiting on the channel's posting limit (issue 12, Slack acknowledgement
 * p99 < 500 ms): it only updates the message (`chat.update`, Tier 3) and replies privately; its thread
 * line is queued and posted by the workflow's next step before that step's own line, so the audit trail
 * keeps its order and loses nothing. Through the real handlers and the Slack stand-in, its limits on.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { type Sandbox, SLACK_USERS, startSandbox } from '../../local/sandbox';
import type { ApprovalRecord } from '../../src/domain/approval';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { waitForPending } from '../support/approvals';

const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});

let sandbox: Sandbox | undefined;

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function posted(s: Sandbox): Promise<ApprovalRecord> {
  for (let i = 0; i < 400; i += 1) {
    const [record] = await waitForPending(s, 1);
    if (record?.slackMessage) return record;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the request never reached Slack');
}

describe('the click path and the channel’s posting limit', () => {
  test('an approval click posts nothing in the channel; its "Approved by" precedes "Restored" in the thread', async () => {
    // Prepare: the channel's posting slot is used up just before the click (the request was just posted).
    sandbox = await startSandbox();
    const s = sandbox;
    await s.developer.send(new CreatePolicyCommand({ PolicyName: 'ack', PolicyDocument: RISKY }));
    const record = await posted(s);
    const ref = record.slackMessage as NonNullable<ApprovalRecord['slackMessage']>;
    const before = s.slack.calls.length;

    // Act
    const click = await s.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, record.approvalId);
    const during = s.slack.calls.slice(before).map((c) => c.method);

    // Assess: answered, and nothing in the click waited on (or used) the per-channel posting limit.
    expect(click.status).toBe(200);
    expect(during).toContain('chat.update');
    expect(during).not.toContain('chat.postMessage');
    await s.settle();
    expect((await s.store.get(record.approvalId))?.status).toBe('RESTORED');
    const lines = s.slack.replies(ref.channel, ref.ts).map((m) => m.text);
    const approved = lines.findIndex((t) => /Approved by/.test(t));
    const restored = lines.findIndex((t) => /[Rr]estored/.test(t) && !/Approved by/.test(t));
    expect(approved).toBeGreaterThanOrEqual(0);
    expect(restored).toBeGreaterThan(approved);
    expect(lines.filter((t) => /Approved by/.test(t))).toHaveLength(1);
  }, 60_000);
});
