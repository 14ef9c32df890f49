/** The queued thread lines in the approvals table (dynalite): kept in order, removed only once posted. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type LocalSlackServer, startSlackServer } from '../../local/slack';
import { SealedSlackNoteOutbox } from '../../src/adapters/sealed-note-outbox';
import { SlackApprovalChannel } from '../../src/adapters/slack-approval-channel';
import { DynamoSlackNoteOutbox } from '../../src/adapters/slack-note-outbox';
import type { ApprovalRecord } from '../../src/domain/approval';
import { createLogger } from '../../src/logger';
import { createSlackClient } from '../../src/slack/client';
import record from '../fixtures/approvals/record.json';
import { type LocalApprovals, startLocalApprovals } from '../support/seals';

const TABLE = 'policy-gate-slack-note-outbox-test';
const TTL = 2_000_000_000;
let local: LocalApprovals;
let notes: DynamoSlackNoteOutbox;
let sequence = 0;

beforeAll(async () => {
  local = await startLocalApprovals(TABLE);
  notes = new DynamoSlackNoteOutbox(
    DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } }),
    TABLE,
  );
});

afterAll(() => local.close());

const approvalId = () => `outbox-${++sequence}`;
const at = (seconds: number) => new Date(Date.UTC(2026, 11, 2, 8, 0, seconds)).toISOString();

describe('DynamoSlackNoteOutbox', () => {
  test('lines come back in the order queued; done removes only the first ones', async () => {
    // Prepare
    const id = approvalId();
    for (const text of ['one', 'two', 'three']) await notes.add(id, { text }, TTL);
    // Act
    const taken = await notes.take(id, at(0), at(60));
    await notes.done(id, 2, at(60));
    // Assess
    expect(taken?.map((n) => n.text)).toEqual(['one', 'two', 'three']);
    expect(await notes.get(id)).toEqual([{ text: 'three' }]);
    expect(await notes.pending(100)).toContain(id);
  });

  test('a line queued while others were being posted survives their removal', async () => {
    // Prepare
    const id = approvalId();
    await notes.add(id, { text: 'first' }, TTL);
    const read = (await notes.take(id, at(0), at(60))) ?? [];
    await notes.add(id, { text: 'late' }, TTL);
    // Act: the poster removes what it read and posted.
    await notes.done(id, read.length, at(60));
    // Assess
    expect(await notes.get(id)).toEqual([{ text: 'late' }]);
  });

  test('once every line is posted the request leaves the list; a redraw mark is kept as such', async () => {
    // Prepare
    const id = approvalId();
    const other = approvalId();
    await notes.add(id, { text: 'only' }, TTL);
    await notes.add(other, { text: '', redraw: true }, TTL);
    // Act
    await notes.take(id, at(0), at(60));
    await notes.done(id, 1, at(60));
    // Assess
    expect(await notes.get(id)).toEqual([]);
    expect(await notes.pending(100)).not.toContain(id);
    expect(await notes.get(other)).toEqual([{ text: '', redraw: true }]);
  });

  test('concurrent lines for one request are all kept', async () => {
    // Prepare
    const id = approvalId();
    const texts = Array.from({ length: 10 }, (_, i) => `line ${i}`);
    // Act
    await Promise.all(texts.map((text) => notes.add(id, { text }, TTL)));
    // Assess
    expect(new Set((await notes.get(id)).map((n) => n.text))).toEqual(new Set(texts));
  });

  test('one poster at a time: a second is refused the lines while the first holds them, and a lapsed claim removes nothing', async () => {
    // Prepare
    const id = approvalId();
    await notes.add(id, { text: 'approved by alice' }, TTL);
    // Act: two posters (the restore step and the delivery worker) at once.
    const [first, second] = await Promise.all([notes.take(id, at(0), at(60)), notes.take(id, at(0), at(60))]);
    // Assess: exactly one of them got the line.
    expect([first, second].filter((t) => t === undefined)).toHaveLength(1);
    expect([first, second].find((t) => t !== undefined)).toEqual([{ text: 'approved by alice' }]);
    // Act: the holder stalls past its claim; another takes the line and a line is queued meanwhile.
    await notes.done(id, 0, at(60));
    const late = await notes.take(id, at(1), at(61));
    const stalled = await notes.take(id, at(62), at(122));
    await notes.add(id, { text: 'restored' }, TTL);
    await notes.done(id, 1, at(61));
    // Assess: the stalled poster's removal came after its claim lapsed: nothing it did not post is gone.
    expect(late).toEqual([{ text: 'approved by alice' }]);
    expect(stalled).toEqual([{ text: 'approved by alice' }]);
    expect((await notes.get(id)).map((n) => n.text)).toEqual(['approved by alice', 'restored']);
    // Its current holder removes what it posted, and the line queued after stays.
    await notes.done(id, 1, at(122));
    expect((await notes.get(id)).map((n) => n.text)).toEqual(['restored']);
    // No lines: nothing to claim.
    expect(await notes.take(approvalId(), at(0), at(60))).toEqual([]);
    // A claim running past any made now (parked by a table writer) holds nothing back.
    await notes.take(id, at(200), '2999-01-01T00:00:00.000Z');
    expect(await notes.take(id, at(201), at(261))).toEqual([{ text: 'restored' }]);
  });
});

describe('a thread line while another poster posts the queued ones', () => {
  const TOKEN = 'xoxb-outbox-test-token';
  let slack: LocalSlackServer;
  beforeAll(async () => {
    slack = await startSlackServer({ botToken: TOKEN });
  });
  afterAll(() => slack.close());

  test('goes after them, through the outbox: every line posted once, in order', async () => {
    // Prepare: a posted request with a click's line queued, and the delivery worker holding that line.
    const silent = createLogger('test', () => {});
    const channel = new SlackApprovalChannel(
      () => Promise.resolve(createSlackClient(TOKEN, 'workflow', silent, slack.url)),
      'C0POLICYGATE',
      { notes },
    );
    const base = record as unknown as ApprovalRecord;
    const posted = { ...base, approvalId: approvalId() };
    const ref = await channel.postRequest(posted);
    const shown = { ...posted, slackMessage: ref };
    await channel.queueNote(shown, 'Approved by ana');
    const held = new Date(Date.now() + 59_000).toISOString();
    const worker = await notes.take(shown.approvalId, new Date().toISOString(), held);
    // Act: the restore step's line, while the worker holds the queued one; then the worker's next run.
    await channel.note(shown, 'Restored');
    const before = slack.replies(ref.channel, ref.ts).length;
    await notes.done(shown.approvalId, 0, held);
    const flushed = await channel.flushNotes(shown);
    // Assess: nothing posted past the held line; then both, once each, the click's first.
    expect(worker).toHaveLength(1);
    expect(before).toBe(0);
    expect(flushed).toBe(2);
    const lines = slack.replies(ref.channel, ref.ts).map((r) => r.text);
    expect(lines).toEqual([expect.stringContaining('Approved by ana'), expect.stringContaining('Restored')]);
    expect(await notes.get(shown.approvalId)).toEqual([]);
  });
});

describe('SealedSlackNoteOutbox: lines only PolicyGate wrote are posted', () => {
  function sealed(token = 'xoxb-current-token') {
    const reported: Record<string, unknown>[] = [];
    const outbox = new SealedSlackNoteOutbox(notes, async () => token, {
      error: (_message, fields) => reported.push(fields),
    });
    return { outbox, reported };
  }

  test('a line written to the table by anyone else, or moved from another request, reads back forged and is reported', async () => {
    // Prepare: a genuine line, then one written straight into the table (as PowerUser could), in order.
    const { outbox, reported } = sealed();
    const id = approvalId();
    await outbox.add(id, { text: 'Approved by <@U0ANA>' }, TTL);
    await notes.add(id, { text: 'Approved by <@U0BOSS>' }, TTL);
    await notes.add(id, { text: 'Restored', seal: 'not-a-seal' }, TTL);
    const stored = await notes.get(id);
    const other = approvalId();
    await notes.add(other, stored[0] as { text: string; seal: string }, TTL);
    // Act
    const read = await outbox.take(id, at(0), at(60));
    const moved = await outbox.take(other, at(0), at(60));
    const afterRotation = await sealed('xoxb-rotated-token').outbox.get(id);
    // Assess: positions kept (removal is by position), the genuine one as written, the others forged.
    expect(read).toEqual([
      { text: 'Approved by <@U0ANA>' },
      { text: '', forged: true },
      { text: '', forged: true },
    ]);
    expect(moved).toEqual([{ text: '', forged: true }]);
    expect(afterRotation?.every((n) => n.forged)).toBe(true);
    // Reported once, when taken, with the request and the count, never the forged text.
    expect(await outbox.get(id)).toEqual(read);
    expect(reported).toEqual([
      { approvalId: id, forged: 2 },
      { approvalId: other, forged: 1 },
    ]);
    expect(JSON.stringify(reported)).not.toContain('BOSS');
  });

  test('the channel posts the genuine lines of a thread and takes the forged one off without posting it', async () => {
    // Prepare
    const slack = await startSlackServer({ botToken: 'xoxb-outbox-test-token' });
    try {
      const { outbox } = sealed();
      const silent = createLogger('test', () => {});
      const channel = new SlackApprovalChannel(
        () => Promise.resolve(createSlackClient('xoxb-outbox-test-token', 'workflow', silent, slack.url)),
        'C0POLICYGATE',
        { notes: outbox },
      );
      const base = record as unknown as ApprovalRecord;
      const posted = { ...base, approvalId: approvalId() };
      const shown = { ...posted, slackMessage: await channel.postRequest(posted) };
      await channel.queueNote(shown, 'Approved by ana');
      await notes.add(shown.approvalId, { text: 'Approved by the boss' }, TTL);
      // Act
      await channel.note(shown, 'Restored');
      // Assess
      const ref = shown.slackMessage;
      const lines = slack.replies(ref.channel, ref.ts).map((r) => r.text);
      expect(lines).toEqual([
        expect.stringContaining('Approved by ana'),
        expect.stringContaining('Restored'),
      ]);
      expect(lines.join('\n')).not.toContain('boss');
      expect(await notes.get(shown.approvalId)).toEqual([]);
    } finally {
      await slack.close();
    }
  });
});
