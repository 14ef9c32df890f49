/**
 * Slack grouping (issue 12) through the real state machine, handlers, delivery worker and the Slack
 * stand-in with Slack's rate limits on (its own figures): one actor's burst of changes shows as one
 * message, or a few at Slack's block limits, listing every change exactly once; each change is decided on
 * its own (its own buttons, or "Approve all" / "Deny all" deciding each listed change through the decision
 * service, with the self-approval and two-approver rules per change); a click is bound to the message that
 * showed the change; a group post whose answer was lost is found, never posted twice.
 */
import { CreatePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  ACCOUNT,
  type Sandbox,
  SLACK_CHANNEL,
  SLACK_SIGNING_SECRET,
  SLACK_USERS,
  startSandbox,
} from '../../local/sandbox';
import type { SlackMessage } from '../../local/slack';
import { DynamoSlackGroupStore, posterOf } from '../../src/adapters/slack-group-store';
import type { ApprovalRecord } from '../../src/domain/approval';
import { groupIdOf } from '../../src/domain/slack-group';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/messages/approval-message';
import { APPROVE_ALL_ACTION_ID } from '../../src/slack/messages/group-message';
import { mails } from '../support/approvals';
import { listings, memberNumber, pendingApprovals, requestMessages } from '../support/slack-groups';

// Risky, one approver decides it.
const RISKY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
});
// Grants everything: critical, two different approvers must approve it.
const CRITICAL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
// An hour: a burst made in a few seconds never straddles two windows (a window starts on its multiple).
const WINDOW_SECONDS = 3600;

let sandbox: Sandbox | undefined;

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

/** Runs the delivery worker until every record has its message; the records as stored then. */
async function drained(s: Sandbox, ids: readonly string[], timeoutMs = 60_000): Promise<ApprovalRecord[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const records = (await Promise.all(ids.map((id) => s.store.get(id)))) as ApprovalRecord[];
    if (records.every((r) => r.slackMessage)) return records;
    if (Date.now() > until) throw new Error('some requests never reached Slack');
    await s.recoverSlack();
  }
}

/** Waits until every request step has tried Slack once (each sends its approval e-mail after). */
async function requested(s: Sandbox, count: number): Promise<void> {
  for (let i = 0; i < 600 && mails(s, /^PolicyGate: approval needed/).length < count; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(mails(s, /^PolicyGate: approval needed/)).toHaveLength(count);
}

/** The request that posts the first message of the records' group (its poster), as stored. */
async function posterOfGroup(s: Sandbox, record: ApprovalRecord): Promise<string> {
  const { client, tableName } = s.store.tableAccess();
  const groupId = groupIdOf(record, SLACK_CHANNEL, WINDOW_SECONDS) as string;
  const page = (await new DynamoSlackGroupStore(client, tableName).get(groupId))?.pages[0];
  const poster = page && posterOf(page);
  if (!poster) throw new Error('the group has no page yet');
  return poster;
}

async function makeChanges(s: Sandbox, documents: readonly string[]): Promise<void> {
  await Promise.all(
    documents.map((doc, i) =>
      s.developer.send(new CreatePolicyCommand({ PolicyName: `grouped-${i}`, PolicyDocument: doc })),
    ),
  );
}

describe('Slack grouping under Slack rate limits', () => {
  test('25 changes by one actor: a few messages listing each change once; each decided on its own', async () => {
    // Prepare
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS });
    const s = sandbox;
    await makeChanges(s, [CRITICAL, ...Array.from({ length: 24 }, () => RISKY)]);
    const ids = (await pendingApprovals(s, 25)).map((r) => r.approvalId);

    // Act: the delivery worker takes whatever the request steps left (Slack's limits, a page not posted yet).
    const records = await drained(s, ids);

    // Assess: contained as they arrived, listed exactly once, each bound to the message listing it.
    expect(records.every((r) => r.quarantine !== undefined)).toBe(true);
    const messages = requestMessages(s);
    expect(messages.length).toBeGreaterThanOrEqual(2);
    expect(messages.length).toBeLessThanOrEqual(3);
    expect(listings(messages, ids)).toEqual(ids.map(() => 1));
    for (const record of records) {
      const shown = s.slack.message(SLACK_CHANNEL, record.slackMessage?.ts ?? '');
      expect(record.slackMessage?.groupId).toMatch(/^group#[0-9a-f]{32}$/);
      expect(JSON.stringify(shown?.blocks)).toContain(`approval \`${record.approvalId}\``);
    }
    const [first, second] = messages as [SlackMessage, SlackMessage];
    const onFirst = records.filter((r) => r.slackMessage?.ts === first.ts);
    const onSecond = records.filter((r) => r.slackMessage?.ts === second.ts);

    // Act: Alice made every change; her "Approve all" is refused change by change.
    const own = await s.click(SLACK_USERS.alice.id, APPROVE_ALL_ACTION_ID, onFirst[0]?.approvalId ?? '');
    // Assess
    expect(own.status).toBe(200);
    expect(s.slack.ephemerals.at(-1)?.text).toMatch(/refused: you made this change/);
    for (const r of onFirst) expect((await s.store.get(r.approvalId))?.status).toBe('PENDING');

    // Act: Ana denies one change with its own button.
    const denied = onFirst.find((r) => (r.requiredApprovals ?? 1) === 1) as ApprovalRecord;
    const n = memberNumber(s.slack.message(SLACK_CHANNEL, first.ts), denied.approvalId);
    const deny = await s.click(SLACK_USERS.ana.id, `${DENY_ACTION_ID}_m${n}`, denied.approvalId);
    // Assess
    expect(deny.status).toBe(200);
    expect((await s.store.get(denied.approvalId))?.status).toBe('DENIED');

    // Act: a change of the second message clicked from the first (its button value copied there).
    const other = onSecond[0] as ApprovalRecord;
    const copied = await s.slack.deliverBlockAction({
      url: s.interactivity.url,
      signingSecret: SLACK_SIGNING_SECRET,
      user: { id: SLACK_USERS.ana.id },
      action: {
        actionId: `${APPROVE_ACTION_ID}_m1`,
        blockId: 'policy_gate_decision_m1',
        value: other.approvalId,
      },
      message: { channel: first.channel, ts: first.ts },
    });
    // Assess: refused, nothing decided.
    expect(copied.status).toBe(200);
    expect((await s.store.get(other.approvalId))?.status).toBe('PENDING');
    expect(s.slack.ephemerals.at(-1)?.text).toMatch(/not on the request’s own Slack message/);

    // Act: Ana approves all, on each message.
    for (const message of messages) {
      const member = records.find((r) => r.slackMessage?.ts === message.ts) as ApprovalRecord;
      const all = await s.click(SLACK_USERS.ana.id, APPROVE_ALL_ACTION_ID, member.approvalId);
      expect(all.status).toBe(200);
    }
    // Every execution but the critical change's (which waits for a second approver) ends.
    let ended: ApprovalRecord[] = [];
    for (let i = 0; i < 600; i += 1) {
      ended = (await Promise.all(ids.map((id) => s.store.get(id)))) as ApprovalRecord[];
      if (ended.filter((r) => r.status === 'RESTORED' || r.status === 'DENIED').length === 24) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Assess: each change decided once, by its own rules: restored, the denied one stays denied, the
    // critical one counted and waiting for a second, different approver.
    const critical = ended.find((r) => (r.requiredApprovals ?? 1) > 1) as ApprovalRecord;
    expect(critical).toMatchObject({ status: 'PENDING', approvals: [expect.anything()] });
    expect(ended.find((r) => r.approvalId === denied.approvalId)?.status).toBe('DENIED');
    const restored = ended.filter((r) => r !== critical && r.approvalId !== denied.approvalId);
    expect(restored.map((r) => r.status)).toEqual(restored.map(() => 'RESTORED'));
    // Every message redrawn as its group: only the critical change keeps buttons.
    const buttons = requestMessages(s).flatMap((m) =>
      (m.blocks as { elements?: { action_id?: string }[] }[]).flatMap((b) =>
        (b.elements ?? []).flatMap((e) => (e.action_id ? [e.action_id] : [])),
      ),
    );
    expect(buttons.filter((id) => /_m\d+$/.test(id))).toHaveLength(2);
    // The audit trail: each restored change's "Approved by" once, in its message's thread.
    // Lines the restores could not post at once under the channel's limit wait for the delivery worker.
    const approvedLines = (r: ApprovalRecord) => {
      const ref = r.slackMessage as NonNullable<ApprovalRecord['slackMessage']>;
      return s.slack
        .replies(ref.channel, ref.ts)
        .filter((m) => m.text.includes(r.approvalId) && /Approved by/.test(m.text)).length;
    };
    for (let run = 0; run < 10 && restored.some((r) => approvedLines(r) === 0); run += 1) {
      await s.recoverSlack();
    }
    expect(restored.map(approvedLines)).toEqual(restored.map(() => 1));
  }, 240_000);

  test('Approve all decides only what its message shows: a change written into the group outside PolicyGate stays pending', async () => {
    // Prepare: three changes by the developer on one message; another person's change on its own.
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS });
    const s = sandbox;
    await makeChanges(s, [RISKY, RISKY, RISKY]);
    const shown = await drained(
      s,
      (await pendingApprovals(s, 3)).map((r) => r.approvalId),
    );
    s.iam.setIdentity('AKIDMALLORY', {
      type: 'IAMUser',
      arn: `arn:aws:iam::${ACCOUNT}:user/mallory`,
      userName: 'mallory',
    });
    const mallory = new IAMClient({
      region: 'us-east-1',
      endpoint: process.env.AWS_ENDPOINT_URL_IAM as string,
      credentials: { accessKeyId: 'AKIDMALLORY', secretAccessKey: 'local' },
    });
    await mallory.send(new CreatePolicyCommand({ PolicyName: 'mallory-wants-this', PolicyDocument: RISKY }));
    mallory.destroy();
    const target = (await pendingApprovals(s, 4)).find(
      (r) => !shown.some((m) => m.approvalId === r.approvalId),
    ) as ApprovalRecord;
    await drained(s, [target.approvalId]);
    const [a1, a2, a3] = shown.map((r) => r.approvalId) as [string, string, string];
    const message = shown[0]?.slackMessage as NonNullable<ApprovalRecord['slackMessage']>;
    // Act (someone with write access to the table): the target pointed at the group's message and
    // written into the group's list among the members the message's buttons name; the message is not
    // redrawn, so Slack still shows the developer's three.
    const { client, tableName } = s.store.tableAccess();
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { approvalId: target.approvalId },
        UpdateExpression: 'SET slackMessage = :m',
        ExpressionAttributeValues: { ':m': message },
      }),
    );
    const group = (
      await client.send(new GetCommand({ TableName: tableName, Key: { approvalId: message.groupId } }))
    ).Item as { pages: { members: string[] }[] };
    const members = [a1, target.approvalId, a2, a3];
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { approvalId: message.groupId },
        UpdateExpression: 'SET members = :m, pages = :p ADD memberIds :id',
        ExpressionAttributeValues: {
          ':m': members,
          ':p': [{ ...group.pages[0], members }],
          ':id': new Set([target.approvalId]),
        },
      }),
    );
    // Act (an approver): "Approve all" on the message as Slack shows it.
    const all = await s.click(SLACK_USERS.ana.id, APPROVE_ALL_ACTION_ID, a1);

    // Assess: the change the message never showed is not decided; the ones it showed are.
    expect(all.status).toBe(200);
    expect(s.slack.ephemerals.at(-1)?.text).not.toContain(target.approvalId);
    for (let i = 0; i < 300 && (await s.store.get(a1))?.status === 'PENDING'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await s.store.get(a1))?.status).not.toBe('PENDING');
    expect((await s.store.get(target.approvalId))?.status).toBe('PENDING');
    expect((await s.store.get(target.approvalId))?.decision).toBeUndefined();
  }, 120_000);

  test('a group post whose answer Slack lost: found by its metadata, never posted twice', async () => {
    // Prepare: the first post is stored by Slack, and its answer lost.
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS });
    const s = sandbox;
    s.slack.failNext('chat.postMessage', 1, { afterStore: { status: 500 } });
    await makeChanges(
      s,
      Array.from({ length: 5 }, () => RISKY),
    );
    const ids = (await pendingApprovals(s, 5)).map((r) => r.approvalId);

    // Act
    const records = await drained(s, ids);

    // Assess: one message lists all five, once each, and every record points at it.
    const messages = requestMessages(s);
    expect(messages).toHaveLength(1);
    expect(listings(messages, ids)).toEqual([1, 1, 1, 1, 1]);
    expect(new Set(records.map((r) => r.slackMessage?.ts))).toEqual(new Set([messages[0]?.ts]));
  }, 120_000);

  test('a group whose first request is changed outside PolicyGate before it posted: the others reach Slack once and can be approved', async () => {
    // Prepare: the first request's post fails (Slack said so), then its record is changed in the table.
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS });
    const s = sandbox;
    s.slack.failNext('chat.postMessage', 1, { error: 'internal_error' });
    await makeChanges(s, [RISKY, RISKY, RISKY]);
    const records = await pendingApprovals(s, 3);
    await requested(s, 3);
    const poster = await posterOfGroup(s, records[0] as ApprovalRecord);
    const others = records.map((r) => r.approvalId).filter((id) => id !== poster);
    const { client, tableName } = s.store.tableAccess();
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { approvalId: poster },
        UpdateExpression: 'SET requiredApprovals = :one',
        ExpressionAttributeValues: { ':one': 9 },
      }),
    );

    // Act: the delivery worker refuses the tampered one; a member takes its page over.
    const shown = await drained(s, others);

    // Assess: one message, every request listed once, posted in a member's name, the tampered one
    // listed without buttons, alerted, and never given a message of its own.
    const messages = requestMessages(s);
    expect(messages).toHaveLength(1);
    const [message] = messages as [SlackMessage];
    expect(listings(messages, [poster, ...others])).toEqual([1, 1, 1]);
    const payload = (message.metadata as { event_payload?: Record<string, unknown> }).event_payload;
    expect(others).toContain(payload?.approval_id);
    expect(shown.map((r) => r.slackMessage?.ts)).toEqual([message.ts, message.ts]);
    const blocks = JSON.stringify(s.slack.message(SLACK_CHANNEL, message.ts)?.blocks);
    expect(blocks).not.toContain(`policy_gate_decision_m${memberNumber(message, poster)}`);
    for (const id of others) expect(blocks).toContain(`policy_gate_decision_m${memberNumber(message, id)}`);
    expect((await s.store.get(poster))?.slackMessage).toBeUndefined();
    expect(mails(s, /ALERT: approval .* changed outside PolicyGate/)).toHaveLength(1);

    // Act: Ana approves all on the message.
    const all = await s.click(SLACK_USERS.ana.id, APPROVE_ALL_ACTION_ID, others[0] as string);
    expect(all.status).toBe(200);
    let ended: (ApprovalRecord | undefined)[] = [];
    for (let i = 0; i < 300; i += 1) {
      ended = await Promise.all(others.map((id) => s.store.get(id)));
      if (ended.every((r) => r?.status === 'RESTORED')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Assess: the members restored, each on its own record; the tampered one still quarantined, pending.
    expect(ended.map((r) => r?.status)).toEqual(['RESTORED', 'RESTORED']);
    expect((await s.store.get(poster))?.status).toBe('PENDING');
    expect(requestMessages(s)).toHaveLength(1);
  }, 120_000);

  test('a slow first poster whose answer was lost: a member finds its post after the bound, one message', async () => {
    // Prepare: the first post is stored by Slack and its answer lost; its request then stays busy (a
    // step still holding its claim), so only the members can bring the page to Slack.
    sandbox = await startSandbox({ slackGroupWindowSeconds: WINDOW_SECONDS, slackGroupTakeoverSeconds: 1 });
    const s = sandbox;
    s.slack.failNext('chat.postMessage', 1, { afterStore: { status: 500 } });
    await makeChanges(s, [RISKY, RISKY, RISKY]);
    const records = await pendingApprovals(s, 3);
    await requested(s, 3);
    const poster = await posterOfGroup(s, records[0] as ApprovalRecord);
    const others = records.map((r) => r.approvalId).filter((id) => id !== poster);
    const now = new Date();
    const held = await s.store.claimSlackPost(
      poster,
      now.toISOString(),
      new Date(now.getTime() + 4_000).toISOString(),
    );

    // Act
    const shown = await drained(s, others);

    // Assess: the poster's own post is the page's message (found by its metadata), never posted again.
    const messages = requestMessages(s);
    expect(messages).toHaveLength(1);
    const [message] = messages as [SlackMessage];
    const payload = (message.metadata as { event_payload?: Record<string, unknown> }).event_payload;
    expect(payload?.approval_id).toBe(poster);
    expect(shown.map((r) => r.slackMessage?.ts)).toEqual([message.ts, message.ts]);
    // The poster was busy all along; once its claim lapses it finds its post recorded, and is shown on it.
    expect(held).toMatchObject({ claimed: true });
    await new Promise((resolve) => setTimeout(resolve, 4_100));
    const all = await drained(
      s,
      records.map((r) => r.approvalId),
    );
    expect(new Set(all.map((r) => r.slackMessage?.ts))).toEqual(new Set([message.ts]));
    expect(requestMessages(s)).toHaveLength(1);
    expect(
      listings(
        requestMessages(s),
        records.map((r) => r.approvalId),
      ),
    ).toEqual([1, 1, 1]);
  }, 120_000);
});
