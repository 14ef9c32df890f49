/**
 * The approvals store's two-approver writes on dynalite: a first approval is counted only while the count
 * read still holds, and the last approval is one conditional write on that count, so concurrent clicks can
 * neither count twice nor both complete an approval.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createApprovalsTable, type LocalDynamoDb, startDynalite } from '../../local/dynamodb';
import { DynamoApprovalStore } from '../../src/adapters/approval-store';
import type { ApprovalRecord, DecisionOutput } from '../../src/domain/approval';
import fixture from '../fixtures/approvals/record.json';

const TABLE = 'policy-gate-approvals-two-approvers-test';
const FULL = fixture as ApprovalRecord;

let sequence = 0;
const newId = (label: string) => `appr-two-${label}-${++sequence}`;

function pendingRecord(approvalId: string): ApprovalRecord {
  const { quarantine: _q, taskToken: _t, decision: _d, outcome: _o, ...rest } = FULL;
  return { ...rest, approvalId, status: 'PENDING', requiredApprovals: 2 };
}

/** A seal as the deciding function would store it (this store does not check it; the decision service does). */
const SEALED = { approvalsSeal: 'AAAA' };

function approval(approvalId: string, who: string): DecisionOutput {
  return {
    decision: 'APPROVED',
    decidedBy: { id: who, name: who, channel: 'slack' },
    decidedAt: '2025-03-11T10:05:00.000Z',
    approvalId,
  };
}

describe('two-approver writes of the approvals store', () => {
  let dynamo: LocalDynamoDb;
  let raw: DynamoDBClient;
  let store: DynamoApprovalStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    raw = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'x' },
    });
    await createApprovalsTable(raw, TABLE);
    store = new DynamoApprovalStore(
      DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }),
      TABLE,
    );
  });
  afterAll(async () => {
    raw.destroy();
    await dynamo.close();
  });

  test('of two concurrent first approvals, exactly one is counted', async () => {
    // Prepare
    const id = newId('first');
    await store.create(pendingRecord(id));
    // Act
    const results = await Promise.all([
      store.addApproval(id, approval(id, 'U0ANA'), 0, SEALED),
      store.addApproval(id, approval(id, 'U0SAM'), 0, SEALED),
    ]);
    // Assess
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await store.get(id))?.approvals).toHaveLength(1);
  });

  test('the last approval is conditional on the count read: a second one on a stale count fails', async () => {
    // Prepare
    const id = newId('last');
    await store.create(pendingRecord(id));
    await store.addApproval(id, approval(id, 'U0ANA'), 0, SEALED);
    // Act
    const stale = await store.transition(
      id,
      'APPROVED',
      { decision: approval(id, 'U0SAM') },
      { from: ['PENDING'], approvalsBefore: 0 },
    );
    const results = await Promise.all([
      store.transition(
        id,
        'APPROVED',
        { decision: approval(id, 'U0SAM') },
        { from: ['PENDING'], approvalsBefore: 1 },
      ),
      store.transition(
        id,
        'APPROVED',
        { decision: approval(id, 'U0ALICE') },
        { from: ['PENDING'], approvalsBefore: 1 },
      ),
    ]);
    // Assess
    expect(stale.ok).toBe(false);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await store.get(id))?.status).toBe('APPROVED');
  });

  test('no approval is counted on a decided record', async () => {
    // Prepare
    const id = newId('decided');
    await store.create(pendingRecord(id));
    await store.transition(
      id,
      'DENIED',
      { decision: { ...approval(id, 'U0SAM'), decision: 'DENIED' } },
      { from: ['PENDING'] },
    );
    // Act
    const counted = await store.addApproval(id, approval(id, 'U0ANA'), 0, SEALED);
    // Assess
    expect(counted).toMatchObject({ ok: false, current: { status: 'DENIED' } });
    expect((await store.get(id))?.approvals).toBeUndefined();
  });

  test("an approval is stored with its seal and the click's attribution, in the same conditional write", async () => {
    // Prepare
    const id = newId('reattribute');
    await store.create(pendingRecord(id));
    const person = { method: 'assume-role-chain', person: 'alice', via: 'iam-user' } as const;
    // Act
    const counted = await store.addApproval(id, approval(id, 'U0ANA'), 0, {
      approvalsSeal: 'c2VhbA==',
      reattribution: person,
    });
    const late = await store.addApproval(id, approval(id, 'U0SAM'), 0, { approvalsSeal: 'b3RoZXI=' });
    // Assess
    expect(counted).toMatchObject({ ok: true, record: { reattribution: person, approvalsSeal: 'c2VhbA==' } });
    expect(late.ok).toBe(false);
    expect(await store.get(id)).toMatchObject({
      approvalsSeal: 'c2VhbA==',
      approvals: [{ decidedBy: { id: 'U0ANA' } }],
    });
  });

  test('attribution and the required count are recorded with the quarantine', async () => {
    // Prepare
    const id = newId('quarantine');
    await store.create(pendingRecord(id));
    // Act
    const record = await store.setQuarantine(
      id,
      { appliedAt: '2025-03-11T10:00:00.000Z' },
      { attribution: { method: 'iam-user', person: 'jdoe', via: 'iam-user' }, requiredApprovals: 1 },
    );
    // Assess
    expect(record.attribution).toEqual({ method: 'iam-user', person: 'jdoe', via: 'iam-user' });
    expect(record.requiredApprovals).toBe(1);
  });
});
