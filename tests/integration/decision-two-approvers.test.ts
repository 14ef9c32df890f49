/**
 * The two-approver rule in the decision service, on the real approvals store (dynalite): counting, the same
 * approver twice, one Deny ending it, records from before attribution, and asking the trail again at the
 * first approval (bounded in time).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoApprovalStore } from '../../src/adapters/approval-store';
import type { IssuingEventFinder } from '../../src/adapters/assume-role-finder';
import type { TaskCallback, TokenRejection } from '../../src/adapters/task-callback';
import type { ApprovalRecord } from '../../src/domain/approval';
import { parseIdentityMap } from '../../src/domain/approvers';
import { type Attribution, NO_ATTRIBUTION_SETTINGS } from '../../src/domain/attribution';
import type { Actor } from '../../src/domain/policy-change';
import { createLogger } from '../../src/logger';
import { AttributionService } from '../../src/services/attribution-service';
import { DecisionService, type DirectoryEntry } from '../../src/services/decision-service';
import { EmailLinkDirectory } from '../../src/services/email-directory';
import fixture from '../fixtures/approvals/record.json';
import { createSealed, type LocalApprovals, startLocalApprovals } from '../support/seals';

const TABLE = 'policy-gate-two-approvers-test';
const NOW = new Date('2025-03-11T10:00:00.000Z');
const PEOPLE: Record<string, DirectoryEntry> = {
  U0ANA: { approver: true, identity: { id: 'U0ANA', name: 'Ana', email: 'ana@example.com' } },
  U0SAM: { approver: true, identity: { id: 'U0SAM', name: 'Sam', email: 'sam@example.com' } },
  U0ALICE: { approver: true, identity: { id: 'U0ALICE', name: 'Alice', email: 'alice@example.com' } },
};
const SPOOFED: Actor = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::111122223333:assumed-role/ops-admin/deploy-bot',
  sessionName: 'deploy-bot',
  sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/ops-admin', userName: 'ops-admin' },
  accessKeyId: 'ASIAEXAMPLE0000001',
  sessionCreatedAt: '2025-03-11T09:50:00.000Z',
};
const NOT_YET: Attribution = { method: 'unattributed', reason: 'not searchable yet', retryable: true };

class Callback implements TaskCallback {
  readonly sent: unknown[] = [];
  async sendSuccess(_token: string, output: unknown): Promise<TokenRejection | undefined> {
    this.sent.push(output);
    return undefined;
  }
}

/** A trail that answers with the AssumeRole Alice made, after `delayMs`. */
function trail(delayMs: number): IssuingEventFinder {
  return {
    find: async (query) => {
      // Unreferenced, so a test that stops waiting does not keep the run alive.
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      return {
        kind: 'found',
        eventId: 'evt-1',
        record: {
          eventTime: '2025-03-11T09:50:00Z',
          userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', userName: 'alice' },
          responseElements: { credentials: { accessKeyId: query.accessKeyId } },
        },
      };
    },
  };
}

let local: LocalApprovals;
let client: DynamoDBClient;
let store: DynamoApprovalStore;
let sequence = 0;

beforeAll(async () => {
  local = await startLocalApprovals(TABLE);
  ({ client, store } = local);
});
afterAll(() => local.close());

async function pending(changes: Partial<ApprovalRecord> = {}, actor: Actor = SPOOFED): Promise<string> {
  sequence += 1;
  const approvalId = `two-approvers-${sequence}`;
  const { quarantine: _q, taskToken: _t, ...rest } = fixture as ApprovalRecord;
  await createSealed(store, local.seals, {
    ...rest,
    approvalId,
    status: 'PENDING',
    deadline: '2025-03-12T10:00:00.000Z',
    change: { ...rest.change, actor },
    ...changes,
  });
  await store.setTaskToken(approvalId, `token-${approvalId}`);
  return approvalId;
}

function service(callback: TaskCallback, reattributor?: AttributionService, timeoutMs = 1_500) {
  return new DecisionService(
    store,
    callback,
    createLogger('test', () => {}),
    {
      directories: { slack: { lookUp: async (id) => PEOPLE[id] ?? { approver: false, reason: 'unknown' } } },
      identityMap: parseIdentityMap(undefined).map,
      seals: local.seals,
      ...(reattributor && { reattributor, reattributionTimeoutMs: timeoutMs }),
      now: () => NOW,
    },
  );
}

const as = (id: string) => ({ channel: 'slack' as const, id });

describe('the two-approver rule in the decision service', () => {
  test('an unattributed change: counted once, not twice by the same approver, completed by another', async () => {
    // Prepare
    const approvalId = await pending({ attribution: NOT_YET, requiredApprovals: 2 });
    const callback = new Callback();
    const decisions = service(callback);
    // Act
    const first = await decisions.decide(approvalId, 'APPROVED', as('U0ANA'));
    const again = await decisions.decide(approvalId, 'APPROVED', as('U0ANA'));
    const sentAfterOne = callback.sent.length;
    const second = await decisions.decide(approvalId, 'APPROVED', as('U0SAM'));
    // Assess
    expect(first).toMatchObject({ status: 'approval-counted', required: 2 });
    expect(again).toMatchObject({ status: 'duplicate-approval' });
    expect(sentAfterOne).toBe(0);
    expect(second.status).toBe('recorded');
    expect(callback.sent).toHaveLength(1);
    expect(await store.get(approvalId)).toMatchObject({
      status: 'APPROVED',
      approvals: [{ decidedBy: { id: 'U0ANA' } }],
      decision: { decidedBy: { id: 'U0SAM' } },
    });
  });

  test.each([
    ['the count lowered to one', 'SET #f = :v', { '#f': 'requiredApprovals' }, { ':v': 1 }],
    [
      'the attribution replaced by a person',
      'SET #f = :v',
      { '#f': 'attribution' },
      { ':v': { method: 'iam-user', person: 'bob' } },
    ],
    [
      'a first approval added',
      'SET #f = :v',
      { '#f': 'approvals' },
      {
        ':v': [
          {
            decision: 'APPROVED',
            decidedBy: { id: 'U0SAM', name: 'Sam', channel: 'slack' },
            decidedAt: '2025-03-11T09:59:00.000Z',
            approvalId: 'x',
          },
        ],
      },
    ],
  ])(
    'an unattributed change with %s in the table is not decided on by one approver',
    async (_what, set, names, values) => {
      // Prepare
      const approvalId = await pending({ attribution: NOT_YET, requiredApprovals: 2 });
      const forged = names['#f'] === 'approvals' ? (values[':v'] as { approvalId: string }[])[0] : undefined;
      if (forged) forged.approvalId = approvalId;
      await DynamoDBDocumentClient.from(client).send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { approvalId },
          UpdateExpression: set,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      const callback = new Callback();
      // Act
      const result = await service(callback).decide(approvalId, 'APPROVED', as('U0ANA'));
      // Assess
      expect(result.status).toBe('tampered');
      expect(callback.sent).toHaveLength(0);
      expect((await store.get(approvalId))?.status).toBe('PENDING');
    },
  );

  test('a counted first approval rewritten in the table to name someone else is refused at the second', async () => {
    // Prepare
    const approvalId = await pending({ attribution: NOT_YET, requiredApprovals: 2 });
    const callback = new Callback();
    await service(callback).decide(approvalId, 'APPROVED', as('U0ANA'));
    await DynamoDBDocumentClient.from(client).send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { approvalId },
        UpdateExpression: 'SET #a[0].#d.#i = :sam',
        ExpressionAttributeNames: { '#a': 'approvals', '#d': 'decidedBy', '#i': 'id' },
        ExpressionAttributeValues: { ':sam': 'U0SAM' },
      }),
    );
    // Act: Ana, whose approval now reads as Sam's, approves "again".
    const result = await service(callback).decide(approvalId, 'APPROVED', as('U0ANA'));
    // Assess
    expect(result.status).toBe('tampered');
    expect(callback.sent).toHaveLength(0);
  });

  test('one Deny after the first approval ends it', async () => {
    const approvalId = await pending({ attribution: NOT_YET, requiredApprovals: 2 });
    const callback = new Callback();
    await service(callback).decide(approvalId, 'APPROVED', as('U0ANA'));
    const denied = await service(callback).decide(approvalId, 'DENIED', as('U0SAM'));
    expect(denied.status).toBe('recorded');
    expect(callback.sent).toEqual([expect.objectContaining({ decision: 'DENIED' })]);
    expect((await store.get(approvalId))?.status).toBe('DENIED');
  });

  test('a record from before attribution, by a session on a plain role, needs two approvers', async () => {
    const approvalId = await pending();
    const result = await service(new Callback()).decide(approvalId, 'APPROVED', as('U0ANA'));
    expect(result).toMatchObject({ status: 'approval-counted', required: 2 });
  });

  test('the trail asked again at the first approval names the author, who then cannot approve', async () => {
    // Prepare
    const approvalId = await pending({ attribution: NOT_YET, requiredApprovals: 2 });
    const reattributor = new AttributionService(
      trail(0),
      NO_ATTRIBUTION_SETTINGS,
      createLogger('test', () => {}),
    );
    const callback = new Callback();
    // Act
    const own = await service(callback, reattributor).decide(approvalId, 'APPROVED', as('U0ALICE'));
    const other = await service(callback, reattributor).decide(approvalId, 'APPROVED', as('U0ANA'));
    const late = await service(callback, reattributor).decide(approvalId, 'APPROVED', as('U0SAM'));
    // Assess
    expect(own.status).toBe('self-approval');
    expect(other.status).toBe('recorded');
    // Decided with the attribution the click found: a late click is told so (the decision seal covers it).
    expect(late.status).toBe('already-decided');
    expect(await store.get(approvalId)).toMatchObject({
      status: 'APPROVED',
      attribution: { method: 'unattributed' },
      reattribution: { method: 'assume-role-chain', person: 'alice' },
    });
  });

  test('a trail that does not answer in time leaves the change unattributed and the approval counted', async () => {
    // Prepare
    const approvalId = await pending({ attribution: NOT_YET, requiredApprovals: 2 });
    const slow = new AttributionService(
      trail(2_000),
      NO_ATTRIBUTION_SETTINGS,
      createLogger('test', () => {}),
    );
    // Act
    const started = Date.now();
    const result = await service(new Callback(), slow, 100).decide(approvalId, 'APPROVED', as('U0ALICE'));
    const took = Date.now() - started;
    // Assess
    expect(result.status).toBe('approval-counted');
    expect(took).toBeLessThan(1_500);
    expect((await store.get(approvalId))?.attribution).toEqual(NOT_YET);
  });
});

describe('the e-mail channel under the two-approver rule', () => {
  const ADDRESS = 'secops-alerts@example.com';
  function emailService(callback: TaskCallback, limit: 'deny-only' | 'single-approver') {
    return new DecisionService(
      store,
      callback,
      createLogger('test', () => {}),
      {
        directories: {
          email: new EmailLinkDirectory(ADDRESS),
          slack: { lookUp: async (id) => PEOPLE[id] ?? { approver: false, reason: 'unknown' } },
        },
        channelLimits: { email: limit },
        identityMap: parseIdentityMap(undefined).map,
        seals: local.seals,
        now: () => NOW,
      },
    );
  }
  const byLink = { channel: 'email' as const, id: ADDRESS };

  test('a change that needs two approvers cannot be approved by the link, even after a Slack approval; it can be denied', async () => {
    // Prepare
    const approvalId = await pending({ attribution: NOT_YET, requiredApprovals: 2 });
    const callback = new Callback();
    const decisions = emailService(callback, 'single-approver');
    // Act
    const alone = await decisions.decide(approvalId, 'APPROVED', byLink);
    await decisions.decide(approvalId, 'APPROVED', as('U0ANA'));
    const second = await decisions.decide(approvalId, 'APPROVED', byLink);
    const denied = await decisions.decide(approvalId, 'DENIED', byLink);
    // Assess
    expect(alone).toMatchObject({
      status: 'unauthorised',
      reason: expect.stringMatching(/2 different approvers/),
    });
    expect(second.status).toBe('unauthorised');
    expect(denied).toMatchObject({
      status: 'recorded',
      output: { decidedBy: { channel: 'email', id: ADDRESS, name: `the link sent to ${ADDRESS}` } },
    });
  });

  test('deny-only: the link never approves, even a single-approver change; a link for another address decides nothing', async () => {
    // Prepare
    const approvalId = await pending(
      {},
      {
        type: 'IAMUser',
        arn: 'arn:aws:iam::111122223333:user/bob',
        userName: 'bob',
      },
    );
    const callback = new Callback();
    const decisions = emailService(callback, 'deny-only');
    // Act
    const approved = await decisions.decide(approvalId, 'APPROVED', byLink);
    const other = await decisions.decide(approvalId, 'DENIED', {
      channel: 'email',
      id: 'someone@example.com',
    });
    // Assess
    expect(approved).toMatchObject({ status: 'unauthorised', reason: expect.stringMatching(/switched off/) });
    expect(other.status).toBe('unauthorised');
    expect(callback.sent).toHaveLength(0);
    expect(await store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  });
});
