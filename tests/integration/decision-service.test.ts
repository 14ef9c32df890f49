/**
 * The decision service on the real approvals store (dynalite): authorisation, the self-approval rule,
 * exactly-once decisions and what happens when Step Functions no longer accepts the token. The channel
 * directory and the task callback are small scripted implementations of their interfaces.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoApprovalStore } from '../../src/adapters/approval-store';
import type { TaskCallback, TokenRejection } from '../../src/adapters/task-callback';
import type { ApprovalRecord } from '../../src/domain/approval';
import { parseIdentityMap } from '../../src/domain/approvers';
import { TransientError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import type { ApprovalChannel } from '../../src/services/approval-channel';
import {
  type ApproverDirectory,
  DecisionService,
  type DirectoryEntry,
} from '../../src/services/decision-service';
import fixture from '../fixtures/approvals/record.json';
import { createSealed, type LocalApprovals, startLocalApprovals } from '../support/seals';

const TABLE = 'policy-gate-decision-service-test';
const NOW = new Date('2025-03-11T10:00:00.000Z');
// The fixture's change was made by the SSO session priya.raman@example.com.
const PEOPLE: Record<string, DirectoryEntry> = {
  U0ANA: { approver: true, identity: { id: 'U0ANA', name: 'Ana', email: 'ana@example.com' } },
  U0SAM: { approver: true, identity: { id: 'U0SAM', name: 'Sam', email: 'sam@example.com' } },
  U0PRIYA: { approver: true, identity: { id: 'U0PRIYA', name: 'Priya', email: 'priya.raman@example.com' } },
  U0MAL: {
    approver: false,
    reason: 'you are not one of the approvers',
    identity: { id: 'U0MAL', name: 'Mal' },
  },
};

class ScriptedDirectory implements ApproverDirectory {
  async lookUp(id: string): Promise<DirectoryEntry> {
    return PEOPLE[id] ?? { approver: false, reason: 'unknown user' };
  }
}

/** Records each SendTaskSuccess; answers with `answer` (a rejection, an error, or success). */
class ScriptedCallback implements TaskCallback {
  readonly sent: { token: string; output: unknown }[] = [];
  constructor(private readonly answer: () => Promise<TokenRejection | undefined> = async () => undefined) {}
  async sendSuccess(token: string, output: unknown): Promise<TokenRejection | undefined> {
    this.sent.push({ token, output });
    return this.answer();
  }
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

/** A PENDING approval with a task token, deadline a day after {@link NOW}. */
async function pending(): Promise<string> {
  sequence += 1;
  const approvalId = `decision-test-${sequence}`;
  const { taskToken: _t, ...rest } = fixture as ApprovalRecord;
  await createSealed(store, local.seals, {
    ...rest,
    approvalId,
    status: 'PENDING',
    deadline: '2025-03-12T10:00:00.000Z',
  });
  await store.setTaskToken(approvalId, `token-${approvalId}`);
  return approvalId;
}

function service(callback: TaskCallback, options: { map?: string; slack?: boolean } = {}) {
  return new DecisionService(
    store,
    callback,
    createLogger('test', () => {}),
    {
      directories: options.slack === false ? {} : { slack: new ScriptedDirectory() },
      identityMap: parseIdentityMap(options.map).map,
      seals: local.seals,
      now: () => NOW,
    },
  );
}

describe('DecisionService', () => {
  test('an approver’s decision is stored once and sent with decision, decider, time and channel', async () => {
    // Prepare
    const approvalId = await pending();
    const callback = new ScriptedCallback();
    // Act
    const result = await service(callback).decide(approvalId, 'APPROVED', { channel: 'slack', id: 'U0ANA' });
    // Assess
    const output = {
      decision: 'APPROVED',
      decidedBy: { id: 'U0ANA', name: 'Ana', channel: 'slack' },
      decidedAt: NOW.toISOString(),
      approvalId,
    };
    expect(result).toMatchObject({ status: 'recorded', output });
    expect(callback.sent).toEqual([{ token: `token-${approvalId}`, output }]);
    expect(await store.get(approvalId)).toMatchObject({ status: 'APPROVED', decision: output });
  });

  test.each([
    ['someone who is no approver', 'U0MAL', 'unauthorised', /not one of the approvers/],
    ['someone unknown to the channel', 'U0NOBODY', 'unauthorised', /unknown user/],
    ['the author of the change', 'U0PRIYA', 'self-approval', /priya\.raman@example\.com/],
  ])('%s cannot approve, and nothing changes', async (_label, id, status, reason) => {
    // Prepare
    const approvalId = await pending();
    const callback = new ScriptedCallback();
    // Act
    const result = await service(callback).decide(approvalId, 'APPROVED', { channel: 'slack', id });
    // Assess
    expect(result).toMatchObject({ status, reason: expect.stringMatching(reason) });
    expect(callback.sent).toEqual([]);
    expect(await store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  });

  test.each([
    ['deadline', '#f = :v', { '#f': 'deadline' }, { ':v': '2099-01-01T00:00:00.000Z' }],
    [
      'actor',
      '#c.#a = :v',
      { '#c': 'change', '#a': 'actor' },
      { ':v': { type: 'IAMUser', userName: 'other' } },
    ],
    [
      'reach',
      '#f = :v',
      { '#f': 'reach' },
      { ':v': { attachedTo: [], groupMembers: [], digest: 'x', count: 0 } },
    ],
  ])(
    'a record whose %s was changed in the table after it was sealed is never decided on',
    async (_f, set, names, values) => {
      // Prepare
      const approvalId = await pending();
      await DynamoDBDocumentClient.from(client).send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { approvalId },
          UpdateExpression: `SET ${set}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      const callback = new ScriptedCallback();
      // Act
      const result = await service(callback).decide(approvalId, 'APPROVED', {
        channel: 'slack',
        id: 'U0ANA',
      });
      // Assess
      expect(result.status).toBe('tampered');
      expect((await store.get(approvalId))?.status).toBe('PENDING');
      expect(callback.sent).toHaveLength(0);
    },
  );

  test('the identity map catches an author whose e-mail does not match the session name', async () => {
    // Prepare
    const approvalId = await pending();
    const callback = new ScriptedCallback();
    // Act
    const result = await service(callback, { map: '{"priya.raman@example.com": "U0SAM"}' }).decide(
      approvalId,
      'APPROVED',
      { channel: 'slack', id: 'U0SAM' },
    );
    // Assess
    expect(result.status).toBe('self-approval');
    expect(callback.sent).toEqual([]);
  });

  test('a channel without a directory cannot decide at all (fail closed)', async () => {
    // Prepare
    const approvalId = await pending();
    // Act
    const result = await service(new ScriptedCallback(), { slack: false }).decide(approvalId, 'DENIED', {
      channel: 'slack',
      id: 'U0ANA',
    });
    // Assess
    expect(result).toMatchObject({ status: 'unauthorised', reason: expect.stringMatching(/not enabled/) });
  });

  test('ten concurrent clicks by two approvers: one decision, one SendTaskSuccess', async () => {
    // Prepare
    const approvalId = await pending();
    const callback = new ScriptedCallback();
    const decisions = service(callback);
    // Act
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        decisions.decide(approvalId, i % 2 ? 'DENIED' : 'APPROVED', {
          channel: 'slack',
          id: i % 2 ? 'U0SAM' : 'U0ANA',
        }),
      ),
    );
    // Assess
    const recorded = results.filter((r) => r.status === 'recorded');
    expect(recorded).toHaveLength(1);
    expect(results.filter((r) => r.status === 'already-decided')).toHaveLength(9);
    expect(callback.sent).toHaveLength(1);
    const stored = await store.get(approvalId);
    for (const loser of results.filter((r) => r.status === 'already-decided')) {
      expect(loser).toMatchObject({ record: { decision: stored?.decision } });
    }
  });

  test.each<TokenRejection>(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])(
    'Step Functions answering %s marks the approval EXPIRED: the decision never took effect',
    async (rejection) => {
      // Prepare
      const approvalId = await pending();
      const decisions = service(new ScriptedCallback(async () => rejection));
      // Act
      const result = await decisions.decide(approvalId, 'APPROVED', { channel: 'slack', id: 'U0ANA' });
      const retry = await decisions.decide(approvalId, 'APPROVED', { channel: 'slack', id: 'U0SAM' });
      // Assess
      expect(result.status).toBe('expired');
      expect(retry.status).toBe('expired');
      expect(await store.get(approvalId)).toMatchObject({
        status: 'EXPIRED',
        outcome: { result: 'EXPIRED', detail: expect.stringContaining(rejection) },
      });
    },
  );

  test('a click after the deadline is expired without asking Step Functions', async () => {
    // Prepare
    const approvalId = await pending();
    const callback = new ScriptedCallback();
    const late = new DecisionService(
      store,
      callback,
      createLogger('test', () => {}),
      {
        directories: { slack: new ScriptedDirectory() },
        identityMap: parseIdentityMap(undefined).map,
        seals: local.seals,
        now: () => new Date('2025-03-12T10:00:00.000Z'),
      },
    );
    // Act
    const result = await late.decide(approvalId, 'APPROVED', { channel: 'slack', id: 'U0ANA' });
    // Assess
    expect(result.status).toBe('expired');
    expect(callback.sent).toEqual([]);
    expect(await store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  });

  test('SendTaskSuccess failing is reported as undelivered; the decision stays, the change quarantined', async () => {
    // Prepare
    const approvalId = await pending();
    const decisions = service(
      new ScriptedCallback(async () => {
        throw new TransientError('SendTaskSuccess failed: ThrottlingException');
      }),
    );
    // Act
    const result = await decisions.decide(approvalId, 'DENIED', { channel: 'slack', id: 'U0ANA' });
    // Assess
    expect(result).toMatchObject({ status: 'undelivered', reason: expect.stringMatching(/Throttling/) });
    expect(await store.get(approvalId)).toMatchObject({ status: 'DENIED' });
  });

  test('the decision is shown after the write and before the workflow is resumed; a display failure is ignored', async () => {
    // Prepare
    const approvalId = await pending();
    const order: string[] = [];
    const callback = new ScriptedCallback(async () => {
      order.push('resumed');
      return undefined;
    });
    const display: ApprovalChannel = {
      postRequest: async () => ({ channel: 'C0', ts: '1' }),
      showState: async () => ({ channel: 'C0', ts: '1' }),
      tell: async () => {},
      note: async () => {},
      postNotice: async () => ({ channel: 'C0', ts: '2' }),
      showDecision: async (record) => {
        order.push(`shown ${record.status}`);
        throw new Error('Slack is down');
      },
    };
    const decisions = new DecisionService(
      store,
      callback,
      createLogger('test', () => {}),
      {
        directories: { slack: new ScriptedDirectory() },
        identityMap: parseIdentityMap(undefined).map,
        display,
        seals: local.seals,
        now: () => NOW,
      },
    );
    // Act
    const result = await decisions.decide(approvalId, 'APPROVED', { channel: 'slack', id: 'U0ANA' });
    // Assess
    expect(result.status).toBe('recorded');
    expect(order).toEqual(['shown APPROVED', 'resumed']);
  });
});
