import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createApprovalsTable, type LocalDynamoDb, startDynalite } from '../../local/dynamodb';
import { DynamoApprovalStore } from '../../src/adapters/approval-store';
import {
  ALLOWED_TRANSITIONS,
  type ApprovalRecord,
  type ApprovalStatus,
  canTransition,
  type DecisionOutput,
  type DeletedVersion,
} from '../../src/domain/approval';
import { ApprovalStateError, AwsOperationError, TransientError } from '../../src/errors';
import fixture from '../fixtures/approvals/record.json';

const TABLE = 'policy-gate-approvals-store-test';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };
const STATUSES = Object.keys(ALLOWED_TRANSITIONS) as ApprovalStatus[];

const FULL = fixture as ApprovalRecord;

let sequence = 0;
/** A fresh approval id per test, so tests share one table without seeing each other's records. */
function newId(label: string): string {
  sequence += 1;
  return `appr-test-${label}-${sequence}`;
}

/** The fixture as a freshly created approval: PENDING, nothing quarantined or requested yet. */
function pendingRecord(approvalId: string): ApprovalRecord {
  const { quarantine: _q, taskToken: _t, ...rest } = FULL;
  return { ...rest, approvalId, status: 'PENDING' };
}

function decisionFor(approvalId: string, decision: 'APPROVED' | 'DENIED', who = 'U012ABC'): DecisionOutput {
  return {
    decision,
    decidedBy: { id: who, name: `user ${who}`, channel: 'slack' },
    decidedAt: '2025-03-11T10:05:00.000Z',
    approvalId,
  };
}

/** The shortest chain of allowed transitions from PENDING to each status, found from ALLOWED_TRANSITIONS. */
function pathsFromPending(): Record<ApprovalStatus, ApprovalStatus[]> {
  const paths = { PENDING: [] } as unknown as Record<ApprovalStatus, ApprovalStatus[]>;
  const queue: ApprovalStatus[] = ['PENDING'];
  for (let status = queue.shift(); status !== undefined; status = queue.shift()) {
    for (const next of ALLOWED_TRANSITIONS[status]) {
      if (paths[next]) continue;
      paths[next] = [...paths[status], next];
      queue.push(next);
    }
  }
  return paths;
}

const VERSION_V1: DeletedVersion = {
  versionId: 'v1',
  document:
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}',
  createDate: '2024-06-02T14:11:09Z',
};
const VERSION_V2: DeletedVersion = {
  versionId: 'v2',
  document: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:List*","Resource":"*"}]}',
};
const VERSION_V3: DeletedVersion = {
  versionId: 'v3',
  document: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:List*","Resource":"*"}]}',
  createDate: '2024-11-20T08:00:00Z',
};

describe('DynamoApprovalStore on dynalite', () => {
  let dynamo: LocalDynamoDb;
  let raw: DynamoDBClient;
  let client: DynamoDBDocumentClient;
  let store: DynamoApprovalStore;
  let clock: Date;

  /** Moves a new approval along the allowed chain to `status` through the store itself. */
  async function recordIn(status: ApprovalStatus, approvalId: string): Promise<ApprovalRecord> {
    await store.create(pendingRecord(approvalId));
    let record = (await store.get(approvalId)) as ApprovalRecord;
    for (const next of pathsFromPending()[status]) {
      const decision = next === 'APPROVED' || next === 'DENIED' ? decisionFor(approvalId, next) : undefined;
      const result = await store.transition(approvalId, next, { decision });
      if (!result.ok) throw new Error(`could not prepare ${approvalId} in ${status} (stuck at ${next})`);
      record = result.record;
    }
    return record;
  }

  beforeAll(async () => {
    dynamo = await startDynalite();
    raw = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
    await createApprovalsTable(raw, TABLE);
  });

  beforeEach(() => {
    clock = new Date('2025-03-11T09:50:00.000Z');
    store = new DynamoApprovalStore(client, TABLE, { now: () => clock });
  });

  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  describe('create', () => {
    it('writes once; a duplicate delivery gets the stored record back and changes nothing', async () => {
      // Prepare
      const approvalId = newId('create');
      const first = pendingRecord(approvalId);
      const duplicate: ApprovalRecord = { ...first, executionId: 'arn:aws:states:::execution:other:retry' };

      // Act
      const created = await store.create(first);
      const again = await store.create(duplicate);
      const stored = await store.get(approvalId);

      // Assess
      expect(created).toEqual({ created: true });
      expect(again).toEqual({ created: false, existing: first });
      expect(stored).toEqual(first);
    });

    it('does not overwrite a record that has moved on', async () => {
      // Prepare
      const approvalId = newId('create-decided');
      const decided = await recordIn('APPROVED', approvalId);

      // Act
      const again = await store.create(pendingRecord(approvalId));

      // Assess
      expect(again).toEqual({ created: false, existing: decided });
      expect((await store.get(approvalId))?.status).toBe('APPROVED');
    });

    it('refuses to create a record in any status but PENDING', async () => {
      // Prepare
      const approvalId = newId('create-approved');

      // Act
      const attempt = store.create({ ...pendingRecord(approvalId), status: 'APPROVED' });

      // Assess
      await expect(attempt).rejects.toThrow(/must be created PENDING/);
      expect(await store.get(approvalId)).toBeUndefined();
    });
  });

  describe('finding approvals by what they govern', () => {
    const policyArn = 'arn:aws:iam::123456789012:policy/Shared';
    function withTarget(approvalId: string, target: ApprovalRecord['change']['target'], createdAt: string) {
      const record = pendingRecord(approvalId);
      return { ...record, createdAt, change: { ...record.change, target } };
    }

    it('finds an attachment approval by its policy (any case), its principal and its group, newest first', async () => {
      // Prepare
      const older = newId('lookup');
      const newer = newId('lookup');
      const elsewhere = newId('lookup');
      const attachment = {
        kind: 'attachment' as const,
        principalType: 'group' as const,
        principalName: 'Ops',
        policyArn,
      };
      await store.create(withTarget(older, attachment, '2025-03-01T00:00:00.000Z'));
      await store.create(
        withTarget(newer, { kind: 'managed-policy', policyArn }, '2025-03-02T00:00:00.000Z'),
      );
      await store.create(
        withTarget(elsewhere, { ...attachment, policyArn: `${policyArn}-other` }, '2025-03-03T00:00:00.000Z'),
      );
      // Act
      const byPolicy = await store.byPolicy(policyArn.toUpperCase().replace('ARN:AWS:IAM', 'arn:aws:iam'));
      const byGroup = await store.byGroup('OPS');
      const byPrincipal = await store.byPrincipal('group', 'ops');
      // Assess
      expect(byPolicy.map((r) => r.approvalId)).toEqual([newer, older]);
      expect(byGroup.map((r) => r.approvalId)).toEqual([elsewhere, older]);
      expect(byPrincipal.map((r) => r.approvalId)).toEqual([elsewhere, older]);
      expect(await store.byPrincipal('user', 'ops')).toEqual([]);
    });

    it("a lookup item is never read as an approval, and a policy ARN of IAM's full length still fits", async () => {
      // Prepare
      const approvalId = newId('lookup');
      const longArn = `arn:aws:iam::123456789012:policy/${'p/'.repeat(990)}Name`;
      await store.create(
        withTarget(approvalId, { kind: 'managed-policy', policyArn: longArn }, '2025-03-04T00:00:00.000Z'),
      );
      const items = await client.send(new GetCommand({ TableName: TABLE, Key: { approvalId } }));
      // Act
      const found = await store.byPolicy(longArn);
      // Assess
      expect(longArn.length).toBeGreaterThan(1_900);
      expect(found.map((r) => r.approvalId)).toEqual([approvalId]);
      expect(items.Item?.ref).toBeUndefined();
      const lookups = await client.send(
        new ScanCommand({
          TableName: TABLE,
          FilterExpression: '#ref = :ref',
          ExpressionAttributeNames: { '#ref': 'ref' },
          ExpressionAttributeValues: { ':ref': approvalId },
        }),
      );
      expect(lookups.Items).toHaveLength(1);
      expect(await store.get(String(lookups.Items?.[0]?.approvalId))).toBeUndefined();
    });
  });

  describe('get', () => {
    it('round-trips a full record, deleted versions included, with ttl still a number', async () => {
      // Prepare
      const approvalId = newId('roundtrip');
      const record: ApprovalRecord = { ...FULL, approvalId };

      // Act
      await store.create(record);
      const read = await store.get(approvalId);

      // Assess
      expect(read).toEqual(record);
      expect(typeof read?.ttl).toBe('number');
    });

    it('returns undefined for an unknown id', async () => {
      // Act
      const read = await store.get(newId('unknown'));

      // Assess
      expect(read).toBeUndefined();
    });

    it('keeps the bookkeeping attributes out of the record', async () => {
      // Prepare
      const approvalId = newId('internal');
      await store.create(pendingRecord(approvalId));
      await store.addDeletedVersion(approvalId, VERSION_V1);

      // Act
      const read = (await store.get(approvalId)) as unknown as Record<string, unknown>;

      // Assess
      expect(Object.keys(read).sort()).toEqual(
        [...Object.keys(pendingRecord(approvalId)), 'quarantine'].sort(),
      );
    });
  });

  describe('deleted versions and quarantine', () => {
    it('saves deleted versions before the quarantine is recorded, and keeps them when it is', async () => {
      // Prepare
      const approvalId = newId('deleted');
      await store.create(pendingRecord(approvalId));
      const quarantineStarted = clock.toISOString();

      // Act
      await store.addDeletedVersion(approvalId, VERSION_V1);
      clock = new Date('2025-03-11T09:50:01.000Z');
      await store.addDeletedVersion(approvalId, VERSION_V2);
      const midway = await store.get(approvalId);
      clock = new Date('2025-03-11T09:50:02.000Z');
      const quarantined = await store.setQuarantine(approvalId, {
        appliedAt: clock.toISOString(),
        quarantineVersionId: 'v6',
      });
      const stored = await store.get(approvalId);

      // Assess
      expect(midway?.quarantine).toEqual({
        appliedAt: quarantineStarted,
        deletedVersions: [VERSION_V1, VERSION_V2],
      });
      expect(quarantined.quarantine).toEqual({
        appliedAt: '2025-03-11T09:50:02.000Z',
        quarantineVersionId: 'v6',
        deletedVersions: [VERSION_V1, VERSION_V2],
      });
      expect(stored).toEqual(quarantined);
      expect(stored?.updatedAt).toBe('2025-03-11T09:50:02.000Z');
    });

    it('saves a version once however often the save is retried', async () => {
      // Prepare
      const approvalId = newId('deleted-retry');
      await store.create(pendingRecord(approvalId));

      // Act
      await store.addDeletedVersion(approvalId, VERSION_V1);
      await store.addDeletedVersion(approvalId, VERSION_V2);
      await store.addDeletedVersion(approvalId, VERSION_V1);
      await Promise.all([1, 2, 3].map(() => store.addDeletedVersion(approvalId, VERSION_V3)));
      const stored = await store.get(approvalId);

      // Assess
      expect(stored?.quarantine?.deletedVersions).toEqual([VERSION_V1, VERSION_V2, VERSION_V3]);
    });

    it('refuses a different document under a version id already saved', async () => {
      // Prepare
      const approvalId = newId('deleted-conflict');
      await store.create(pendingRecord(approvalId));
      await store.addDeletedVersion(approvalId, VERSION_V1);

      // Act
      const attempt = store.addDeletedVersion(approvalId, { ...VERSION_V1, document: VERSION_V2.document });

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ApprovalStateError);
      expect((await store.get(approvalId))?.quarantine?.deletedVersions).toEqual([VERSION_V1]);
    });

    it('refuses to save a deleted version for an unknown approval, creating nothing', async () => {
      // Prepare
      const approvalId = newId('deleted-unknown');

      // Act
      const attempt = store.addDeletedVersion(approvalId, VERSION_V1);

      // Assess
      await expect(attempt).rejects.toThrow(ApprovalStateError);
      await expect(attempt).rejects.toThrow(/not found/);
      const item = await client.send(new GetCommand({ TableName: TABLE, Key: { approvalId } }));
      expect(item.Item).toBeUndefined();
    });

    it('saves the deleted versions passed to setQuarantine that were not saved yet, without duplicates', async () => {
      // Prepare
      const approvalId = newId('quarantine-merge');
      await store.create(pendingRecord(approvalId));
      await store.addDeletedVersion(approvalId, VERSION_V1);

      // Act
      const record = await store.setQuarantine(approvalId, {
        appliedAt: clock.toISOString(),
        quarantineVersionId: 'v6',
        deletedVersions: [VERSION_V1, VERSION_V3],
      });

      // Assess
      expect(record.quarantine?.deletedVersions).toEqual([VERSION_V1, VERSION_V3]);
      expect(await store.get(approvalId)).toEqual(record);
    });

    it('records an inline-policy quarantine (no versions) as given', async () => {
      // Prepare
      const approvalId = newId('quarantine-inline');
      await store.create(pendingRecord(approvalId));

      // Act
      const record = await store.setQuarantine(approvalId, { appliedAt: clock.toISOString() });

      // Assess
      expect(record.quarantine).toEqual({ appliedAt: clock.toISOString() });
      expect(await store.get(approvalId)).toEqual(record);
    });

    it.each(['APPROVED', 'DENIED', 'FAILED'] as const)(
      'refuses to record a quarantine when %s',
      async (status) => {
        // Prepare
        const approvalId = newId(`quarantine-${status}`);
        const before = await recordIn(status, approvalId);

        // Act
        const attempt = store.setQuarantine(approvalId, {
          appliedAt: clock.toISOString(),
          quarantineVersionId: 'v6',
        });

        // Assess
        await expect(attempt).rejects.toThrow(ApprovalStateError);
        await expect(attempt).rejects.toThrow(new RegExp(`status ${status}`));
        expect(await store.get(approvalId)).toEqual(before);
      },
    );

    it('refuses to record a quarantine for an unknown approval', async () => {
      // Act
      const attempt = store.setQuarantine(newId('quarantine-unknown'), { appliedAt: clock.toISOString() });

      // Assess
      await expect(attempt).rejects.toThrow(ApprovalStateError);
    });
  });

  describe('setTaskToken', () => {
    const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAZ+secret-task-token/only-for-this-test==';

    it('stores the token on a PENDING approval and returns the updated record', async () => {
      // Prepare
      const approvalId = newId('token');
      await store.create(pendingRecord(approvalId));
      clock = new Date('2025-03-11T09:51:00.000Z');

      // Act
      const record = await store.setTaskToken(approvalId, TOKEN);

      // Assess
      expect(record).toEqual({
        ...pendingRecord(approvalId),
        taskToken: TOKEN,
        updatedAt: clock.toISOString(),
      });
      expect(await store.get(approvalId)).toEqual(record);
    });

    it.each(STATUSES.filter((s) => s !== 'PENDING'))(
      'refuses a token once the approval is %s, without revealing the token',
      async (status) => {
        // Prepare
        const approvalId = newId(`token-${status}`);
        const before = await recordIn(status, approvalId);

        // Act
        const error = await store.setTaskToken(approvalId, TOKEN).catch((err: unknown) => err);

        // Assess
        expect(error).toBeInstanceOf(ApprovalStateError);
        expect((error as Error).message).toContain(status);
        expect(JSON.stringify(error)).not.toContain(TOKEN);
        expect((error as Error).message).not.toContain(TOKEN);
        expect(await store.get(approvalId)).toEqual(before);
      },
    );

    it('refuses a token for an unknown approval, creating nothing', async () => {
      // Prepare
      const approvalId = newId('token-unknown');

      // Act
      const attempt = store.setTaskToken(approvalId, TOKEN);

      // Assess
      await expect(attempt).rejects.toThrow(/not found/);
      expect(await store.get(approvalId)).toBeUndefined();
    });
  });

  describe('transition', () => {
    const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to] as const));

    it.each(pairs)('%s -> %s succeeds exactly when ALLOWED_TRANSITIONS allows it', async (from, to) => {
      // Prepare
      const approvalId = newId(`t-${from}-${to}`);
      const before = await recordIn(from, approvalId);
      clock = new Date('2025-03-11T10:30:00.000Z');
      const decision =
        to === 'APPROVED' || to === 'DENIED' ? decisionFor(approvalId, to, 'U0WINNER') : undefined;

      // Act
      const result = await store.transition(approvalId, to, { decision });
      const stored = await store.get(approvalId);

      // Assess
      const allowed = canTransition(from, to);
      expect(result.ok).toBe(allowed);
      expect(stored?.status).toBe(allowed ? to : from);
      if (result.ok) {
        expect(result.record).toEqual(stored);
        expect(stored?.updatedAt).toBe(clock.toISOString());
        expect(stored?.decision).toEqual(decision ?? before.decision);
      } else {
        expect(result.current).toEqual(before);
        expect(stored).toEqual(before);
      }
    });

    it('records the decision, outcome and failure given, leaving the rest of the record alone', async () => {
      // Prepare
      const approvalId = newId('t-changes');
      await store.create({ ...FULL, approvalId });
      const decision = decisionFor(approvalId, 'DENIED');
      const outcome = { result: 'KEPT_QUARANTINED', at: '2025-03-11T10:05:01.000Z' } as const;

      // Act
      const denied = await store.transition(approvalId, 'DENIED', { decision, outcome });
      const failed = await store.transition(approvalId, 'FAILED', {
        failure: { error: 'States.Timeout', at: '2025-03-11T10:06:00.000Z' },
      });

      // Assess
      expect(denied).toEqual({
        ok: true,
        record: { ...FULL, approvalId, status: 'DENIED', decision, outcome, updatedAt: clock.toISOString() },
      });
      expect(failed).toEqual({
        ok: true,
        record: {
          ...FULL,
          approvalId,
          status: 'FAILED',
          decision,
          outcome,
          failure: { error: 'States.Timeout', at: '2025-03-11T10:06:00.000Z' },
          updatedAt: clock.toISOString(),
        },
      });
    });

    it('a restore begins only for the execution that owns the approval, and ends only for the one that began it', async () => {
      // Prepare
      const approvalId = newId('t-restore-owner');
      const owner = (await recordIn('APPROVED', approvalId)).executionId;
      const mark = { executionId: owner, startedAt: '2025-03-11T10:10:00.000Z' };

      // Act
      const byStranger = await store.transition(
        approvalId,
        'RESTORING',
        { restore: { ...mark, executionId: 'stranger' } },
        { from: ['APPROVED'], executionId: 'stranger' },
      );
      const byOwner = await store.transition(
        approvalId,
        'RESTORING',
        { restore: mark },
        { from: ['APPROVED'], executionId: owner },
      );
      const endedByStranger = await store.transition(
        approvalId,
        'RESTORED',
        {},
        { restoringExecutionId: 'stranger' },
      );
      const ended = await store.transition(
        approvalId,
        'RESTORED',
        { restore: { ...mark, finishedAt: '2025-03-11T10:10:01.000Z' } },
        { restoringExecutionId: owner },
      );
      const again = await store.transition(
        approvalId,
        'RESTORING',
        { restore: mark },
        { executionId: owner },
      );

      // Assess
      expect(byStranger).toMatchObject({ ok: false, current: { status: 'APPROVED' } });
      expect(byOwner).toMatchObject({ ok: true, record: { status: 'RESTORING', restore: mark } });
      expect(endedByStranger).toMatchObject({ ok: false, current: { status: 'RESTORING' } });
      expect(ended).toMatchObject({
        ok: true,
        record: { status: 'RESTORED', restore: { finishedAt: '2025-03-11T10:10:01.000Z' } },
      });
      expect(again).toMatchObject({ ok: false, current: { status: 'RESTORED' } });
    });

    it('moves only from the statuses given in `from`', async () => {
      // Prepare
      const approvedId = newId('t-from-approved');
      const pendingId = newId('t-from-pending');
      await recordIn('APPROVED', approvedId);
      await recordIn('PENDING', pendingId);

      // Act
      const fromApproved = await store.transition(approvedId, 'EXPIRED', {}, { from: ['PENDING'] });
      const fromPending = await store.transition(pendingId, 'EXPIRED', {}, { from: ['PENDING'] });

      // Assess
      expect(fromApproved).toMatchObject({ ok: false, current: { status: 'APPROVED' } });
      expect(fromPending).toMatchObject({ ok: true, record: { status: 'EXPIRED' } });
      expect((await store.get(approvedId))?.status).toBe('APPROVED');
    });

    it('treats an empty `from` as "from nowhere": refused, record returned', async () => {
      // Prepare
      const approvalId = newId('t-from-empty');
      const before = await recordIn('PENDING', approvalId);

      // Act
      const result = await store.transition(approvalId, 'EXPIRED', {}, { from: [] });

      // Assess
      expect(result).toEqual({ ok: false, current: before });
    });

    it('throws on a `from` naming a status that cannot lead to the target, writing nothing', async () => {
      // Prepare
      const approvalId = newId('t-from-bad');
      const before = await recordIn('CONFLICT', approvalId);

      // Act
      const attempt = store.transition(approvalId, 'EXPIRED', {}, { from: ['PENDING', 'CONFLICT'] });

      // Assess
      await expect(attempt).rejects.toThrow(/from CONFLICT/);
      expect(await store.get(approvalId)).toEqual(before);
    });

    it('throws on a decision that contradicts the target status or names another approval', async () => {
      // Prepare
      const approvalId = newId('t-decision-bad');
      const before = await recordIn('PENDING', approvalId);

      // Act
      const contradicting = store.transition(approvalId, 'APPROVED', {
        decision: decisionFor(approvalId, 'DENIED'),
      });
      const foreign = store.transition(approvalId, 'APPROVED', {
        decision: decisionFor('appr-someone-else', 'APPROVED'),
      });

      // Assess
      await expect(contradicting).rejects.toThrow(/DENIED cannot move/);
      await expect(foreign).rejects.toThrow(/appr-someone-else/);
      expect(await store.get(approvalId)).toEqual(before);
    });

    it('lets exactly one of ten concurrent decisions win; every loser sees the winner', async () => {
      // Prepare
      const approvalId = newId('t-race');
      await recordIn('PENDING', approvalId);
      const attempts = [
        ...[1, 2, 3, 4, 5].map((n) => decisionFor(approvalId, 'APPROVED', `U0APPROVER${n}`)),
        ...[1, 2, 3, 4, 5].map((n) => decisionFor(approvalId, 'DENIED', `U0DENIER${n}`)),
      ];

      // Act
      const results = await Promise.all(
        attempts.map((decision) => store.transition(approvalId, decision.decision, { decision })),
      );

      // Assess
      const winners = results.flatMap((r) => (r.ok ? [r.record] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0] as ApprovalRecord;
      const stored = await store.get(approvalId);
      expect(stored?.status).toBe(winner.decision?.decision);
      expect(stored?.decision).toEqual(winner.decision);
      expect(attempts).toContainEqual(winner.decision);
      for (const result of results) {
        if (result.ok) continue;
        expect(result.current?.status).toBe(winner.status);
        expect(result.current?.decision).toEqual(winner.decision);
      }
    });

    it('refuses an unknown approval without creating it', async () => {
      // Prepare
      const approvalId = newId('t-unknown');

      // Act
      const result = await store.transition(approvalId, 'APPROVED', {
        decision: decisionFor(approvalId, 'APPROVED'),
      });

      // Assess
      expect(result).toEqual({ ok: false, current: undefined });
      const item = await client.send(new GetCommand({ TableName: TABLE, Key: { approvalId } }));
      expect(item.Item).toBeUndefined();
    });
  });

  describe('setOutcome', () => {
    it('records the outcome of a decided approval without changing its status', async () => {
      // Prepare
      const approvalId = newId('outcome');
      const approved = await recordIn('APPROVED', approvalId);
      clock = new Date('2025-03-11T10:07:00.000Z');
      const outcome = { result: 'RESTORED', at: clock.toISOString(), detail: 'v4 is default again' } as const;

      // Act
      const record = await store.setOutcome(approvalId, outcome);

      // Assess
      expect(record).toEqual({ ...approved, outcome, updatedAt: clock.toISOString() });
      expect(await store.get(approvalId)).toEqual(record);
    });

    it('refuses an outcome for a PENDING approval', async () => {
      // Prepare
      const approvalId = newId('outcome-pending');
      const before = await recordIn('PENDING', approvalId);

      // Act
      const attempt = store.setOutcome(approvalId, { result: 'RESTORED', at: clock.toISOString() });

      // Assess
      await expect(attempt).rejects.toThrow(ApprovalStateError);
      expect(await store.get(approvalId)).toEqual(before);
    });

    it('refuses an outcome for an unknown approval, creating nothing', async () => {
      // Prepare
      const approvalId = newId('outcome-unknown');

      // Act
      const attempt = store.setOutcome(approvalId, { result: 'RESTORED', at: clock.toISOString() });

      // Assess
      await expect(attempt).rejects.toThrow(/not found/);
      const item = await client.send(new GetCommand({ TableName: TABLE, Key: { approvalId } }));
      expect(item.Item).toBeUndefined();
    });
  });

  describe('errors', () => {
    it('maps a missing table to AwsOperationError with the AWS code', async () => {
      // Prepare
      const missing = new DynamoApprovalStore(client, 'no-such-table');

      // Act
      const error = await missing.get('appr-x').catch((err: unknown) => err);

      // Assess
      expect(error).toBeInstanceOf(AwsOperationError);
      expect(error).toMatchObject({ code: 'ResourceNotFoundException' });
    });

    it('maps an unreachable endpoint to TransientError', async () => {
      // Prepare
      const gone = await startDynalite();
      await gone.close();
      const unreachable = DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: gone.endpoint,
          region: 'us-east-1',
          credentials: CREDENTIALS,
          maxAttempts: 1,
        }),
      );

      try {
        // Act
        const error = await new DynamoApprovalStore(unreachable, TABLE)
          .get('appr-x')
          .catch((err: unknown) => err);

        // Assess
        expect(error).toBeInstanceOf(TransientError);
        expect((error as Error).name).toBe('PolicyGate.TransientError');
      } finally {
        unreachable.destroy();
      }
    });
  });

  describe('setSlackMessage', () => {
    it('records the first message only, in any status: a retried step cannot orphan it', async () => {
      // Prepare
      const approvalId = newId('slack');
      await recordIn('DENIED', approvalId);
      // Act
      const first = await store.setSlackMessage(approvalId, { channel: 'C0ONE', ts: '1700000000.000100' });
      const second = await store.setSlackMessage(approvalId, { channel: 'C0TWO', ts: '1700000001.000100' });
      // Assess
      expect(first.slackMessage).toEqual({ channel: 'C0ONE', ts: '1700000000.000100' });
      expect(second.slackMessage).toEqual({ channel: 'C0ONE', ts: '1700000000.000100' });
      expect((await store.get(approvalId))?.status).toBe('DENIED');
    });

    it('refuses an unknown approval', async () => {
      await expect(
        store.setSlackMessage(newId('slack-missing'), { channel: 'C0', ts: '1.2' }),
      ).rejects.toThrow(ApprovalStateError);
    });
  });

  describe('the Slack lists (unposted and posted requests)', () => {
    it('lists an unposted request until a message is recorded; the record reads as before, without the entry', async () => {
      // Prepare
      const approvalId = newId('unposted');
      await store.create(pendingRecord(approvalId));
      const before = await store.get(approvalId);
      // Act
      await store.markUnposted(approvalId, '2025-03-11T10:00:00.000Z');
      await store.markUnposted(approvalId, '2025-03-11T10:30:00.000Z');
      const listed = await store.unposted(100);
      const marked = await store.get(approvalId);
      const lookups = await store.byPolicy('arn:aws:iam::111122223333:policy/does-not-exist');
      await store.setSlackMessage(approvalId, { channel: 'C0ONE', ts: '1700000000.000100' });
      const afterPost = await store.unposted(100);
      // Assess
      expect(listed.filter((entry) => entry.approvalId === approvalId)).toEqual([
        { approvalId, since: '2025-03-11T10:00:00.000Z' },
      ]);
      expect(marked).toEqual(before);
      expect(lookups).toEqual([]);
      expect(afterPost.map((entry) => entry.approvalId)).not.toContain(approvalId);
    });

    it('marks nothing once a message is recorded, and lists only PENDING posted requests', async () => {
      // Prepare
      const posted = newId('posted');
      const decided = newId('posted-decided');
      await store.create(pendingRecord(posted));
      await recordIn('DENIED', decided);
      for (const id of [posted, decided]) {
        await store.setSlackMessage(id, { channel: 'C0ONE', ts: `1700000000.${id.length}` });
      }
      // Act
      await store.markUnposted(posted, '2025-03-11T10:00:00.000Z');
      await store.watchPosted(posted);
      await store.watchPosted(decided);
      const unposted = (await store.unposted(100)).map((entry) => entry.approvalId);
      const listed = await store.posted(100);
      await store.clearSlackWatch(posted);
      const cleared = await store.posted(100);
      // Assess
      expect(unposted).not.toContain(posted);
      expect(listed).toContain(posted);
      expect(listed).not.toContain(decided);
      expect(cleared).not.toContain(posted);
    });

    it('keeps a thread line for the worker, posted or not, until cleared; the record reads as before', async () => {
      // Prepare
      const posted = newId('noted-posted');
      const unposted = newId('noted-unposted');
      const missing = newId('noted-missing');
      await recordIn('FAILED', posted);
      await store.setSlackMessage(posted, { channel: 'C0ONE', ts: '1700000000.000200' });
      await store.create(pendingRecord(unposted));
      await store.markUnposted(unposted, '2025-03-11T10:00:00.000Z');
      const before = await store.get(posted);
      // Act
      for (const id of [posted, unposted, missing]) {
        await store.queueSlackNote(id, { kind: 'event-id-reused', otherApprovalId: 'other-approval-1' });
      }
      const listed = (await store.notes(100)).filter((n) =>
        [posted, unposted, missing].includes(n.approvalId),
      );
      const read = await store.get(posted);
      const backlog = (await store.unposted(100)).map((entry) => entry.approvalId);
      await store.clearSlackWatch(posted);
      const raw = await client.send(new GetCommand({ TableName: TABLE, Key: { approvalId: posted } }));
      const afterClear = (await store.notes(100)).map((n) => n.approvalId);
      // Assess: a missing record gets no entry; the unposted one moves to the note list (the worker posts it).
      expect(listed.sort((a, b) => a.approvalId.localeCompare(b.approvalId))).toEqual(
        [posted, unposted].sort().map((approvalId) => ({
          approvalId,
          kind: 'event-id-reused',
          otherApprovalId: 'other-approval-1',
        })),
      );
      expect(await store.get(missing)).toBeUndefined();
      expect(read).toEqual(before);
      expect(backlog).not.toContain(unposted);
      expect(afterClear).not.toContain(posted);
      expect(raw.Item).not.toHaveProperty('slackNote');
      expect(raw.Item).not.toHaveProperty('lookupKey');
    });

    it('bounds a listing by its limit, oldest first', async () => {
      // Prepare
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const approvalId = newId('bounded');
        await store.create({ ...pendingRecord(approvalId), createdAt: `2020-01-01T00:00:0${i}.000Z` });
        await store.markUnposted(approvalId, `2020-01-01T00:00:0${i}.000Z`);
        ids.push(approvalId);
      }
      // Act
      const listed = await store.unposted(4);
      // Assess
      expect(listed.map((entry) => entry.approvalId)).toEqual(ids.slice(0, 4));
    });

    it('moves the recorded message only from the one recorded, once', async () => {
      // Prepare
      const approvalId = newId('replace');
      await store.create(pendingRecord(approvalId));
      const old = { channel: 'C0ONE', ts: '1700000000.000100' };
      await store.setSlackMessage(approvalId, old);
      // Act
      const moved = await store.replaceSlackMessage(approvalId, old, { channel: 'C0ONE', ts: '2.0' });
      const again = await store.replaceSlackMessage(approvalId, old, { channel: 'C0ONE', ts: '3.0' });
      const forged = await store.replaceSlackMessage(approvalId, { channel: 'C0TWO', ts: '2.0' }, old);
      // Assess
      expect(moved?.slackMessage).toEqual({ channel: 'C0ONE', ts: '2.0' });
      expect(again).toBeUndefined();
      expect(forged).toBeUndefined();
      expect((await store.get(approvalId))?.slackMessage).toEqual({ channel: 'C0ONE', ts: '2.0' });
    });
  });

  describe('the Slack post claim (one poster at a time, lost answers remembered)', () => {
    const at = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();
    const T0 = '2025-03-11T10:00:00.000Z';

    it('lets one attempt post at a time, remembers an unknown outcome until Slack answers, and stops once posted', async () => {
      // Prepare
      const approvalId = newId('claim');
      await store.create(pendingRecord(approvalId));
      const before = await store.get(approvalId);
      // Act
      const first = await store.claimSlackPost(approvalId, T0, at(T0, 60));
      const concurrent = await store.claimSlackPost(approvalId, at(T0, 1), at(T0, 61));
      await store.releaseSlackPost(approvalId, 'unknown');
      const afterLost = await store.claimSlackPost(approvalId, at(T0, 2), at(T0, 62));
      const whileHeld = await store.get(approvalId);
      await store.releaseSlackPost(approvalId, 'not-posted');
      const afterRefused = await store.claimSlackPost(approvalId, at(T0, 3), at(T0, 63));
      const lapsed = await store.claimSlackPost(approvalId, at(T0, 64), at(T0, 124));
      await store.setSlackMessage(approvalId, { channel: 'C0ONE', ts: '1.0' });
      const posted = await store.claimSlackPost(approvalId, at(T0, 200), at(T0, 260));
      // Assess
      expect(first).toEqual({ claimed: true });
      expect(concurrent).toEqual({ claimed: false, reason: 'busy' });
      expect(afterLost).toEqual({ claimed: true, uncertainSince: T0 });
      expect(whileHeld).toEqual(before);
      expect(afterRefused).toEqual({ claimed: true });
      // A claimant that died mid-post leaves its attempt uncertain for the next.
      expect(lapsed).toEqual({ claimed: true, uncertainSince: at(T0, 3) });
      expect(posted).toEqual({ claimed: false, reason: 'posted' });
    });

    it('takes a claim that runs past one made now: written outside PolicyGate, it must not hold the request back', async () => {
      // Prepare: someone with table access parks a claim until the year 2999.
      const approvalId = newId('parked');
      await store.create(pendingRecord(approvalId));
      await client.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { approvalId },
          UpdateExpression: 'SET postClaim = :forever',
          ExpressionAttributeValues: { ':forever': '2999-01-01T00:00:00.000Z' },
        }),
      );
      // Act
      const claim = await store.claimSlackPost(approvalId, T0, at(T0, 60));
      // Assess
      expect(claim).toMatchObject({ claimed: true });
    });

    it('says missing for an unknown approval', async () => {
      // Act
      const claim = await store.claimSlackPost(newId('nothing'), T0, at(T0, 60));
      // Assess
      expect(claim).toEqual({ claimed: false, reason: 'missing' });
    });

    it('keeps a failed attempt reported over a later queued entry', async () => {
      // Prepare
      const approvalId = newId('reason');
      await store.create(pendingRecord(approvalId));
      // Act
      await store.markUnposted(approvalId, T0, 'queued');
      const queued = (await store.unposted(500)).find((e) => e.approvalId === approvalId);
      await store.markUnposted(approvalId, at(T0, 5), 'down');
      await store.markUnposted(approvalId, at(T0, 9), 'queued');
      const down = (await store.unposted(500)).find((e) => e.approvalId === approvalId);
      // Assess
      expect(queued).toEqual({ approvalId, since: T0, queued: true });
      expect(down).toEqual({ approvalId, since: T0 });
    });
  });
});
