/**
 * A group message deleted in Slack (issue 12), through the real state machine, handlers, delivery worker
 * and the Slack stand-in with Slack's rate limits on: the delivery worker posts the page again exactly once
 * (one new message listing every change once, decided ones as decided), every record moves to it, the
 * thread says why, a click on the deleted message decides nothing and one on the new message restores;
 * two workers seeing the deletion at once still post one message.
 */
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { type Sandbox, SLACK_CHANNEL, SLACK_USERS, startSandbox } from '../../local/sandbox';
import type { SlackMessage } from '../../local/slack';
import { GROUP_REPOSTED_NOTE } from '../../src/adapters/slack-approval-channel';
import type { ApprovalRecord } from '../../src/domain/approval';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/messages/approval-message';
import { listings, memberNumber, pendingApprovals, requestMessages, until } from '../support/slack-groups';

const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});
const WINDOW_SECONDS = 3600;

let sandbox: Sandbox | undefined;

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

/** Runs the delivery worker until every record names one message; the records then. */
async function onOneMessage(s: Sandbox, ids: readonly string[]): Promise<ApprovalRecord[]> {
  for (let run = 0; run < 200; run += 1) {
    const records = (await Promise.all(ids.map((id) => s.store.get(id)))) as ApprovalRecord[];
    if (records.every((r) => r.slackMessage) && new Set(records.map((r) => r.slackMessage?.ts)).size === 1) {
      return records;
    }
    await s.recoverSlack();
  }
  throw new Error('the requests never reached one Slack message');
}

/** The action ids of a message's buttons. */
function buttons(message: SlackMessage | undefined): string[] {
  return ((message?.blocks ?? []) as { elements?: { action_id?: string }[] }[]).flatMap((b) =>
    (b.elements ?? []).flatMap((e) => (e.action_id ? [e.action_id] : [])),
  );
}

async function groupOf(s: Sandbox, count: number): Promise<ApprovalRecord[]> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      s.developer.send(new CreatePolicyCommand({ PolicyName: `deleted-${i}`, PolicyDocument: RISKY })),
    ),
  );
  const ids = (await pendingApprovals(s, count)).map((r) => r.approvalId);
  return onOneMessage(s, ids);
}

describe('the delivery worker checking a group message', () => {
  test('redraws a message once per run, not once per request it lists', async () => {
    // Prepare: five changes on one message, all drawn and on the worker's watch list.
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS });
    const s = sandbox;
    const records = await groupOf(s, 5);
    const ref = records[0]?.slackMessage as NonNullable<ApprovalRecord['slackMessage']>;
    // Let the channel's Tier 3 allowance recover from the burst's own updates.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = s.slack.message(SLACK_CHANNEL, ref.ts)?.edits ?? 0;

    // Act
    const report = await s.recoverSlack();

    // Assess: several of its requests checked (those still on the watch list), the message updated once.
    expect(report?.checked).toBeGreaterThanOrEqual(2);
    expect(report?.reposted).toEqual([]);
    expect((s.slack.message(SLACK_CHANNEL, ref.ts)?.edits ?? 0) - before).toBe(1);
  });
});

describe('a group message deleted in Slack', () => {
  test('posted again once by the delivery worker: every change listed once, records moved, clicks bound', async () => {
    // Prepare: four changes on one message; one denied on it; then someone deletes the message.
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS });
    const s = sandbox;
    const records = await groupOf(s, 4);
    const ids = records.map((r) => r.approvalId);
    const old = records[0]?.slackMessage as NonNullable<ApprovalRecord['slackMessage']>;
    const denied = records[1] as ApprovalRecord;
    const deny = await s.click(
      SLACK_USERS.ana.id,
      `${DENY_ACTION_ID}_m${memberNumber(s.slack.message(SLACK_CHANNEL, old.ts), denied.approvalId)}`,
      denied.approvalId,
    );
    expect(deny.status).toBe(200);
    await until(async () => (await s.store.get(denied.approvalId))?.status === 'DENIED');
    // The denial's own steps are done with the message (its thread lines), so the deletion is all that is left.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(s.slack.deleteMessage(old.channel, old.ts)).toBe(true);
    expect(requestMessages(s)).toHaveLength(0);

    // Act: the delivery worker's run (again only if Slack's channel limit made it wait for the next).
    let reposted: string[] = [];
    for (let run = 0; run < 5 && requestMessages(s).length === 0; run += 1) {
      reposted = [...reposted, ...((await s.recoverSlack())?.reposted ?? [])];
    }

    // Assess: one new message, each change listed once, posted in a member's name with the group's id.
    const messages = requestMessages(s);
    expect(messages).toHaveLength(1);
    const [message] = messages as [SlackMessage];
    expect(message.ts).not.toBe(old.ts);
    expect(listings(messages, ids)).toEqual(ids.map(() => 1));
    expect(reposted).toHaveLength(1);
    const payload = (message.metadata as { event_payload?: Record<string, unknown> }).event_payload;
    expect(ids).toContain(payload?.approval_id);
    expect(payload?.group_id).toBe(old.groupId);
    // Every record now names the new message (a PENDING one by the repost, the denied one as well).
    const moved = (await Promise.all(ids.map((id) => s.store.get(id)))) as ApprovalRecord[];
    expect(moved.map((r) => r.slackMessage)).toEqual(
      ids.map(() => ({ channel: old.channel, ts: message.ts, groupId: old.groupId })),
    );
    // The denied change is shown decided (no buttons of its own); the three others keep theirs.
    const shown = s.slack.message(SLACK_CHANNEL, message.ts);
    const own = buttons(shown).filter((id) => /_m\d+$/.test(id));
    expect(own).toHaveLength(6);
    expect(own).not.toContain(`${APPROVE_ACTION_ID}_m${memberNumber(shown, denied.approvalId)}`);
    expect(s.slack.replies(old.channel, message.ts).map((m) => m.text)).toContain(GROUP_REPOSTED_NOTE);

    // A click on the deleted message cannot happen any more (Slack, like its stand-in, has no such message).
    const target = moved.find((r) => r.status === 'PENDING') as ApprovalRecord;
    const n = memberNumber(shown, target.approvalId);
    expect(s.slack.message(SLACK_CHANNEL, old.ts)).toBeUndefined();

    // Act: Ana approves it on the new message.
    const click = await s.click(SLACK_USERS.ana.id, `${APPROVE_ACTION_ID}_m${n}`, target.approvalId);
    expect(click.status).toBe(200);
    await until(async () => (await s.store.get(target.approvalId))?.status === 'RESTORED');

    // Assess: restored; later worker runs post nothing more.
    await s.recoverSlack();
    expect(requestMessages(s)).toHaveLength(1);
    expect(listings(requestMessages(s), ids)).toEqual(ids.map(() => 1));
  }, 180_000);

  test('two delivery workers seeing the deletion at once: one new message', async () => {
    // Prepare
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS });
    const s = sandbox;
    const records = await groupOf(s, 5);
    const ids = records.map((r) => r.approvalId);
    const old = records[0]?.slackMessage as NonNullable<ApprovalRecord['slackMessage']>;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    s.slack.deleteMessage(old.channel, old.ts);

    // Act: two runs at the same moment (two invocations of the worker), then more until it is posted.
    await Promise.all([s.recoverSlack(), s.recoverSlack()]);
    for (let run = 0; run < 5 && requestMessages(s).length === 0; run += 1) await s.recoverSlack();

    // Assess
    const messages = requestMessages(s);
    expect(messages).toHaveLength(1);
    expect(listings(messages, ids)).toEqual(ids.map(() => 1));
    const moved = (await Promise.all(ids.map((id) => s.store.get(id)))) as ApprovalRecord[];
    expect(new Set(moved.map((r) => r.slackMessage?.ts))).toEqual(new Set([messages[0]?.ts]));
  }, 180_000);
});
