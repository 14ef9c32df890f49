/** The queued thread lines in the approvals table (dynalite): kept in order, removed only once posted. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoSlackNoteOutbox } from '../../src/adapters/slack-note-outbox';
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

describe('DynamoSlackNoteOutbox', () => {
  test('lines come back in the order queued; done removes only the first ones', async () => {
    // Prepare
    const id = approvalId();
    for (const text of ['one', 'two', 'three']) await notes.add(id, { text }, TTL);
    // Act
    await notes.done(id, 2);
    // Assess
    expect(await notes.get(id)).toEqual([{ text: 'three' }]);
    expect(await notes.pending(100)).toContain(id);
  });

  test('a line queued while others were being posted survives their removal', async () => {
    // Prepare
    const id = approvalId();
    await notes.add(id, { text: 'first' }, TTL);
    const read = await notes.get(id);
    await notes.add(id, { text: 'late' }, TTL);
    // Act: the poster removes what it read and posted.
    await notes.done(id, read.length);
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
    await notes.done(id, 1);
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
});
