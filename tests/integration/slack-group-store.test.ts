/** The Slack groups in the approvals table (dynalite): joining once, in order, and never as an approval. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoSlackGroupStore, posterOf } from '../../src/adapters/slack-group-store';
import type { ApprovalRecord } from '../../src/domain/approval';
import { membersListedIn } from '../../src/domain/slack-group';
import fixture from '../fixtures/approvals/record.json';
import { createSealed, type LocalApprovals, startLocalApprovals } from '../support/seals';

const TABLE = 'policy-gate-slack-group-store-test';
let local: LocalApprovals;
let groups: DynamoSlackGroupStore;
let sequence = 0;

beforeAll(async () => {
  local = await startLocalApprovals(TABLE);
  groups = new DynamoSlackGroupStore(
    DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } }),
    TABLE,
  );
});

afterAll(() => local.close());

function groupId(): string {
  sequence += 1;
  return `group#${sequence.toString(16).padStart(32, '0')}`;
}

describe('DynamoSlackGroupStore', () => {
  test('concurrent joins each get their own version, a repeated join changes nothing', async () => {
    // Prepare
    const id = groupId();
    const ids = Array.from({ length: 12 }, (_, i) => `member-${i}`);
    // Act
    await Promise.all(ids.map((m) => groups.join(id, m, 2_000_000_000)));
    const again = await groups.join(id, 'member-3', 2_000_000_000);
    // Assess
    const group = await groups.get(id);
    expect(group?.version).toBe(12);
    expect(again.version).toBe(12);
    expect(new Set(group?.members.map((m) => m.approvalId))).toEqual(new Set(ids));
    expect(group?.members.map((m) => m.version)).toEqual(ids.map((_, i) => i + 1));
    expect(membersListedIn(group ?? { groupId: id, version: 0, members: [] }, 5)).toHaveLength(5);
  });

  test('a poster change is a layout write: of two members taking over from one revision, one wins', async () => {
    // Prepare: a page laid out for its first member, not posted.
    const id = groupId();
    for (const m of ['p', 'a', 'b']) await groups.join(id, m, 2_000_000_000);
    const laidOutAt = '2026-12-02T04:00:00.000Z';
    expect(await groups.setPages(id, [{ members: ['p', 'a', 'b'], laidOutAt }], 0)).toBe(true);
    const read = await groups.get(id);
    const takeOver = (poster: string) =>
      groups.setPages(
        id,
        (read?.pages ?? []).map((p) => ({ ...p, poster, attemptAt: '2026-12-02T04:05:00.000Z' })),
        read?.revision ?? 0,
      );
    // Act
    const results = await Promise.all([takeOver('a'), takeOver('b')]);
    // Assess: exactly one write took; the page names its poster, when it was laid out and the attempt.
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? 'a' : 'b';
    const after = await groups.get(id);
    expect(after?.revision).toBe(2);
    expect(after?.pages).toEqual([
      { members: ['p', 'a', 'b'], poster: winner, laidOutAt, attemptAt: '2026-12-02T04:05:00.000Z' },
    ]);
    expect(posterOf(after?.pages[0] ?? { members: [] })).toBe(winner);
  });

  test('a stored poster that is not one of the page’s members is not read as its poster', async () => {
    // Prepare
    const id = groupId();
    await groups.join(id, 'a', 2_000_000_000);
    // Act
    await groups.setPages(id, [{ members: ['a'], poster: 'someone-else' }], 0);
    // Assess: the page's first member posts it.
    const page = (await groups.get(id))?.pages[0];
    expect(page?.poster).toBeUndefined();
    expect(posterOf(page ?? { members: [] })).toBe('a');
  });

  test('the layout is written only from the revision read', async () => {
    // Prepare
    const id = groupId();
    await groups.join(id, 'a', 2_000_000_000);
    const page = { members: ['a'], message: { channel: 'C0APPROVALS', ts: '1741687371.000100' } };
    // Act
    const first = await groups.setPages(id, [page], 0);
    const stale = await groups.setPages(id, [{ members: ['a', 'b'] }], 0);
    // Assess
    expect([first, stale]).toEqual([true, false]);
    expect(await groups.get(id)).toMatchObject({ pages: [page], revision: 1 });
  });

  test('how many of a page’s members its message shows is only ever raised, and survives a layout write', async () => {
    // Prepare
    const id = groupId();
    for (const m of ['a', 'b', 'c']) await groups.join(id, m, 2_000_000_000);
    const message = { channel: 'C0APPROVALS', ts: '1741687371.000200' };
    await groups.setPages(id, [{ members: ['a', 'b'], message }], 0);
    // Act
    await groups.markDrawn(id, 0, 2);
    await groups.markDrawn(id, 0, 1);
    const read = await groups.get(id);
    await groups.setPages(id, [{ ...(read?.pages[0] ?? { members: [] }), members: ['a', 'b', 'c'] }], 1);
    await groups.markDrawn(id, 5, 1);
    // Assess
    expect((await groups.get(id))?.pages).toEqual([{ members: ['a', 'b', 'c'], message, drawn: 2 }]);
  });

  test('one redraw claim per message at a time: refused while held, taken after release or lapse, never released by a lapsed holder', async () => {
    // Prepare
    const id = groupId();
    await groups.join(id, 'a', 2_000_000_000);
    await groups.setPages(id, [{ members: ['a'] }, { members: [] }], 0);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    // Act
    const first = await groups.claimDraw(id, 0, at(0), at(30));
    const whileHeld = await groups.claimDraw(id, 0, at(10), at(40));
    const otherPage = await groups.claimDraw(id, 1, at(10), at(40));
    await groups.releaseDraw(id, 0, at(30));
    const afterRelease = await groups.claimDraw(id, 0, at(11), at(41));
    const afterLapse = await groups.claimDraw(id, 0, at(42), at(72));
    // The holder whose claim lapsed ends it late: the new claim stays.
    await groups.releaseDraw(id, 0, at(41));
    const stillHeld = await groups.claimDraw(id, 0, at(50), at(80));
    const layoutWrite = await groups.setPages(id, [{ members: ['a'] }, { members: [] }], 1);
    const afterLayout = await groups.claimDraw(id, 0, at(51), at(81));
    // Assess
    expect([first, whileHeld, otherPage, afterRelease, afterLapse, stillHeld]).toEqual([
      true,
      false,
      true,
      true,
      true,
      false,
    ]);
    // A layout write neither drops nor revives a claim.
    expect([layoutWrite, afterLayout]).toEqual([true, false]);
    await expect(groups.claimDraw(id, -1, at(0), at(1))).rejects.toThrow(/not a page/);
    // A claim running past any made now was never PolicyGate's: parked by a table writer, it is taken.
    const parked = await groups.claimDraw(id, 2, at(11), '2999-01-01T00:00:00.000Z');
    const taken = await groups.claimDraw(id, 2, at(12), at(42));
    expect([parked, taken]).toEqual([true, true]);
  });

  test('a group is never read as an approval, and an approval never joins as a group', async () => {
    // Prepare
    const id = groupId();
    await groups.join(id, 'a', 2_000_000_000);
    const { taskToken: _t, ...rest } = fixture as ApprovalRecord;
    await createSealed(local.store, local.seals, {
      ...rest,
      approvalId: 'plain-approval',
      status: 'PENDING',
    });
    // Act / Assess
    expect(await local.store.get(id)).toBeUndefined();
    await expect(groups.join('plain-approval', 'a', 1)).rejects.toThrow(/not a Slack group id/);
    expect(await local.store.get('plain-approval')).toMatchObject({ status: 'PENDING' });
  });
});
