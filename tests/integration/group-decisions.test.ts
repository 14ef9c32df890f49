/**
 * "Approve all" / "Deny all" on the real approvals store (dynalite) and the real decision service: each
 * listed change is decided on its own, exactly once, sealed, with the self-approval and two-approver
 * rules per change; only the members of the clicked message and version are decided.
 */
import type { DynamoApprovalStore } from '../../src/adapters/approval-store';
import type { TaskCallback, TokenRejection } from '../../src/adapters/task-callback';
import type { ApprovalRecord } from '../../src/domain/approval';
import { parseIdentityMap } from '../../src/domain/approvers';
import { membersListedIn, type SlackGroup } from '../../src/domain/slack-group';
import { createLogger } from '../../src/logger';
import {
  type ApproverDirectory,
  DecisionService,
  type DirectoryEntry,
} from '../../src/services/decision-service';
import { decideGroup, groupSummaryReply } from '../../src/services/group-decisions';
import fixture from '../fixtures/approvals/record.json';
import { createSealed, type LocalApprovals, startLocalApprovals } from '../support/seals';

const TABLE = 'policy-gate-group-decisions-test';
const NOW = new Date('2025-03-11T10:00:00.000Z');
const MESSAGE = { channel: 'C0APPROVALS', ts: '1741687371.000100' };
const OTHER_MESSAGE = { channel: 'C0APPROVALS', ts: '1741687399.000200' };
// The fixture's change was made by the SSO session priya.raman@example.com.
const PEOPLE: Record<string, DirectoryEntry> = {
  U0ANA: { approver: true, identity: { id: 'U0ANA', name: 'Ana', email: 'ana@example.com' } },
  U0SAM: { approver: true, identity: { id: 'U0SAM', name: 'Sam', email: 'sam@example.com' } },
  U0PRIYA: { approver: true, identity: { id: 'U0PRIYA', name: 'Priya', email: 'priya.raman@example.com' } },
};

class ScriptedDirectory implements ApproverDirectory {
  async lookUp(id: string): Promise<DirectoryEntry> {
    return PEOPLE[id] ?? { approver: false, reason: 'unknown user' };
  }
}

class RecordingCallback implements TaskCallback {
  readonly sent: string[] = [];
  async sendSuccess(token: string): Promise<TokenRejection | undefined> {
    this.sent.push(token);
    return undefined;
  }
}

let local: LocalApprovals;
let store: DynamoApprovalStore;
let sequence = 0;

beforeAll(async () => {
  local = await startLocalApprovals(TABLE);
  ({ store } = local);
});

afterAll(() => local.close());

/** `count` PENDING approvals by the fixture's actor, shown in `message`. */
async function members(
  count: number,
  message = MESSAGE,
  extra: Partial<ApprovalRecord> = {},
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    sequence += 1;
    const approvalId = `group-test-${sequence}`;
    const { taskToken: _t, ...rest } = fixture as ApprovalRecord;
    await createSealed(store, local.seals, {
      ...rest,
      ...extra,
      approvalId,
      status: 'PENDING',
      deadline: '2025-03-12T10:00:00.000Z',
    });
    await store.setTaskToken(approvalId, `token-${approvalId}`);
    await store.setSlackMessage(approvalId, message);
    ids.push(approvalId);
  }
  return ids;
}

function service(callback: TaskCallback): DecisionService {
  return new DecisionService(
    store,
    callback,
    createLogger('test', () => {}),
    {
      directories: { slack: new ScriptedDirectory() },
      identityMap: parseIdentityMap(undefined).map,
      seals: local.seals,
      now: () => NOW,
    },
  );
}

const click = (id: string, origin = MESSAGE) => ({ channel: 'slack' as const, id, origin });

describe('decideGroup', () => {
  test('Approve all by an approver decides every listed change exactly once, sealed', async () => {
    // Prepare
    const ids = await members(10);
    const callback = new RecordingCallback();
    const decisions = service(callback);
    // Act
    const first = await decideGroup(decisions, ids, 'APPROVED', click('U0ANA'));
    const again = await decideGroup(decisions, ids, 'APPROVED', click('U0SAM'));
    // Assess
    expect(first.results.map((r) => [r.approvalId, r.outcome])).toEqual(ids.map((id) => [id, 'approved']));
    expect(again.results.every((r) => r.outcome === 'already-decided')).toBe(true);
    expect(callback.sent.sort()).toEqual(ids.map((id) => `token-${id}`).sort());
    for (const id of ids) {
      const record = await store.get(id);
      expect(record).toMatchObject({ status: 'APPROVED', decision: { decidedBy: { id: 'U0ANA' } } });
      expect(record?.decisionSeal).toEqual(expect.any(String));
      expect((await local.seals.check(record as ApprovalRecord, { quarantine: true })).ok).toBe(true);
    }
    expect(groupSummaryReply(first).split('\n')).toHaveLength(10);
  });

  test('Approve all by the author of the changes is refused change by change, and nothing is decided', async () => {
    // Prepare
    const ids = await members(3);
    const callback = new RecordingCallback();
    // Act
    const summary = await decideGroup(service(callback), ids, 'APPROVED', click('U0PRIYA'));
    // Assess
    expect(summary.results.map((r) => r.outcome)).toEqual([
      'self-approval',
      'self-approval',
      'self-approval',
    ]);
    expect(callback.sent).toEqual([]);
    for (const id of ids) expect(await store.get(id)).toMatchObject({ status: 'PENDING' });
    expect(groupSummaryReply(summary)).toMatch(/you made this change/);
  });

  test('a member added after the clicked version, or shown in another message, is not decided by the click', async () => {
    // Prepare
    const [a, b, late] = await members(3);
    const [elsewhere] = await members(1, OTHER_MESSAGE);
    const group: SlackGroup = {
      groupId: `group#${'1'.repeat(32)}`,
      version: 4,
      members: [
        { approvalId: a ?? '', version: 1 },
        { approvalId: b ?? '', version: 2 },
        { approvalId: elsewhere ?? '', version: 3 },
        { approvalId: late ?? '', version: 4 },
      ],
    };
    const callback = new RecordingCallback();
    // Act: the message showed version 3.
    const summary = await decideGroup(service(callback), membersListedIn(group, 3), 'DENIED', click('U0ANA'));
    // Assess
    expect(summary.results.map((r) => r.approvalId)).toEqual([a, b]);
    expect(await store.get(late ?? '')).toMatchObject({ status: 'PENDING' });
    expect(await store.get(elsewhere ?? '')).toMatchObject({ status: 'PENDING' });
  });

  test('Deny all keeps every change quarantined; a change needing two approvers only counts one approval', async () => {
    // Prepare
    const denied = await members(2);
    const [critical] = await members(1, MESSAGE, { requiredApprovals: 2 });
    const [plain] = await members(1);
    const callback = new RecordingCallback();
    const decisions = service(callback);
    // Act
    const deny = await decideGroup(decisions, denied, 'DENIED', click('U0ANA'));
    const approve = await decideGroup(decisions, [critical ?? '', plain ?? ''], 'APPROVED', click('U0ANA'));
    // Assess
    expect(deny.results.map((r) => r.outcome)).toEqual(['denied', 'denied']);
    for (const id of denied) expect(await store.get(id)).toMatchObject({ status: 'DENIED' });
    expect(approve.results.map((r) => r.outcome)).toEqual(['needs-second-approver', 'approved']);
    expect(await store.get(critical ?? '')).toMatchObject({
      status: 'PENDING',
      approvals: [expect.anything()],
    });
    expect(callback.sent.sort()).toEqual([...denied, plain].map((id) => `token-${id}`).sort());
  });

  test('a change’s own button in a group message still decides it alone', async () => {
    // Prepare
    const [one, two] = await members(2);
    const callback = new RecordingCallback();
    // Act
    const result = await service(callback).decide(one ?? '', 'APPROVED', click('U0SAM'));
    // Assess
    expect(result.status).toBe('recorded');
    expect(await store.get(two ?? '')).toMatchObject({ status: 'PENDING' });
    expect(callback.sent).toEqual([`token-${one}`]);
  });
});
