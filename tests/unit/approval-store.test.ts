import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoApprovalStore } from '../../src/adapters/approval-store';
import type { ApprovalRecord } from '../../src/domain/approval';
import { ApprovalStateError, AwsOperationError, TransientError } from '../../src/errors';
import fixture from '../fixtures/approvals/record.json';

const TABLE = 'approvals-unit';
const RECORD = fixture as ApprovalRecord;
const TOKEN = 'AAAAKgAAAAIAAAAAAAAAAZ+unit-test-task-token==';
const meta = (httpStatusCode: number) => ({ httpStatusCode, attempts: 3, totalRetryDelay: 120 });

function serviceError(name: string, httpStatusCode: number, message = `${name} happened`): Error {
  return new DynamoDBServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    message,
    $metadata: meta(httpStatusCode),
  });
}

function conditionFailed(): Error {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: meta(400),
  });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code, $metadata: { attempts: 3 } });
}

const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

beforeEach(() => {
  ddb.reset();
});

afterAll(() => {
  ddb.restore();
  client.destroy();
});

describe('DynamoApprovalStore error mapping', () => {
  const transient: [string, Error][] = [
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: meta(400) }),
    ],
    ['ThrottlingException', new ThrottlingException({ message: 'throttled', $metadata: meta(400) })],
    ['RequestLimitExceeded', new RequestLimitExceeded({ message: 'account limit', $metadata: meta(400) })],
    ['InternalServerError', new InternalServerError({ message: 'oops', $metadata: meta(500) })],
    ['an unmodelled 503', serviceError('ServiceUnavailable', 503)],
    ['an unmodelled 502 with a name the SDK does not know', serviceError('BadGateway', 502)],
    ['ECONNRESET', networkError('ECONNRESET')],
    ['ETIMEDOUT without SDK metadata', Object.assign(new Error('socket timed out'), { code: 'ETIMEDOUT' })],
    ['a socket timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
    ['a wrapped socket error with no HTTP response', Object.assign(new Error('wrapper'), { $metadata: {} })],
  ];

  it.each(transient)('maps %s to TransientError, keeping the cause', async (_label, error) => {
    // Prepare
    ddb.on(GetCommand).rejects(error);
    const store = new DynamoApprovalStore(client, TABLE);

    // Act
    const mapped = await store.get('appr-1').catch((err: unknown) => err);

    // Assess
    expect(mapped).toBeInstanceOf(TransientError);
    expect((mapped as Error).message).toMatch(/^GetItem failed: /);
    expect((mapped as Error).cause).toBe(error);
  });

  const permanent: [string, Error, string][] = [
    [
      'ResourceNotFoundException',
      new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: meta(400) }),
      'ResourceNotFoundException',
    ],
    ['AccessDeniedException', serviceError('AccessDeniedException', 400), 'AccessDeniedException'],
    ['ValidationException', serviceError('ValidationException', 400), 'ValidationException'],
    [
      'a credentials failure',
      Object.assign(new Error('no creds'), { name: 'CredentialsProviderError', $metadata: {} }),
      'CredentialsProviderError',
    ],
    ['a plain client-side error', new Error('cannot marshall'), 'UnknownError'],
  ];

  it.each(permanent)('maps %s to AwsOperationError with its code', async (_label, error, code) => {
    // Prepare
    ddb.on(GetCommand).rejects(error);
    const store = new DynamoApprovalStore(client, TABLE);

    // Act
    const mapped = await store.get('appr-1').catch((err: unknown) => err);

    // Assess
    expect(mapped).toBeInstanceOf(AwsOperationError);
    expect(mapped).toMatchObject({ code, name: 'PolicyGate.AwsOperationError' });
    expect((mapped as Error).message).toContain(error.message);
    expect((mapped as Error).cause).toBe(error);
  });

  it.each([
    [
      'a permanent',
      serviceError('ValidationException', 400, `Invalid value ${TOKEN} for :taskToken`),
      AwsOperationError,
    ],
    ['a transient', serviceError('InternalServerError', 500, `failed writing ${TOKEN}`), TransientError],
  ] as const)('keeps the task token out of %s error from setTaskToken', async (_label, error, expected) => {
    // Prepare
    ddb.on(UpdateCommand).rejects(error);
    const store = new DynamoApprovalStore(client, TABLE);

    // Act
    const mapped = await store.setTaskToken('appr-1', TOKEN).catch((err: unknown) => err);

    // Assess
    expect(mapped).toBeInstanceOf(expected);
    expect((mapped as Error).message).not.toContain(TOKEN);
    expect((mapped as Error).message).toContain('[redacted]');
    // The original error carries the token, so it must not travel along as the cause.
    expect((mapped as Error).cause).toBeUndefined();
  });

  it('does not treat a conditional-check failure as an error on transition', async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { ...RECORD, status: 'DENIED', quarantine: undefined } });
    const store = new DynamoApprovalStore(client, TABLE);

    // Act
    const result = await store.transition(RECORD.approvalId, 'EXPIRED', {}, { from: ['PENDING'] });

    // Assess
    expect(result).toMatchObject({ ok: false, current: { status: 'DENIED' } });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: true });
  });
});

describe('DynamoApprovalStore requests', () => {
  it('answers a duplicate create from a consistent read of the stored record', async () => {
    // Prepare
    const stored = { ...RECORD, quarantine: undefined, executionId: 'arn:first' };
    // The lookup items (unconditional) are written; the record's conditional put finds it exists.
    ddb.on(PutCommand).resolves({});
    ddb
      .on(PutCommand, { ConditionExpression: 'attribute_not_exists(#approvalId)' })
      .rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: stored });
    const store = new DynamoApprovalStore(client, TABLE);

    // Act
    const result = await store.create({ ...RECORD, quarantine: undefined });

    // Assess
    expect(result).toEqual({ created: false, existing: stored });
    expect(ddb.commandCalls(PutCommand).at(-1)?.args[0].input).toMatchObject({
      TableName: TABLE,
      ConditionExpression: 'attribute_not_exists(#approvalId)',
      ExpressionAttributeNames: { '#approvalId': 'approvalId' },
    });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { approvalId: RECORD.approvalId },
      ConsistentRead: true,
    });
  });

  it('asks for a retry when a duplicate vanished before it could be read', async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});
    ddb
      .on(PutCommand, { ConditionExpression: 'attribute_not_exists(#approvalId)' })
      .rejects(conditionFailed());
    ddb.on(GetCommand).resolves({});
    const store = new DynamoApprovalStore(client, TABLE);

    // Act
    const attempt = store.create({ ...RECORD, quarantine: undefined });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(TransientError);
  });

  it('names every attribute through a placeholder, so reserved words (status, ttl, ...) never appear', async () => {
    // Prepare
    const approvalId = RECORD.approvalId;
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({ Attributes: { ...RECORD, status: 'APPROVED' } });
    const store = new DynamoApprovalStore(client, TABLE);
    const decision = {
      decision: 'APPROVED',
      decidedBy: { id: 'U1', name: 'Ana', channel: 'slack' },
      decidedAt: '2025-03-11T10:00:00Z',
      approvalId,
    } as const;

    // Act
    await store.create(RECORD);
    await store.addDeletedVersion(approvalId, { versionId: 'v2', document: '{}' });
    await store.setQuarantine(approvalId, { appliedAt: '2025-03-11T10:00:00Z', quarantineVersionId: 'v6' });
    await store.setTaskToken(approvalId, TOKEN);
    await store.transition(approvalId, 'APPROVED', {
      decision,
      outcome: { result: 'RESTORED', at: '2025-03-11T10:00:01Z' },
      failure: { error: 'x', at: '2025-03-11T10:00:01Z' },
    });
    await store.setOutcome(approvalId, { result: 'RESTORED', at: '2025-03-11T10:00:02Z' });

    // Assess
    const inputs = [...ddb.commandCalls(PutCommand), ...ddb.commandCalls(UpdateCommand)].map(
      (call) => call.args[0].input as unknown as Record<string, unknown>,
    );
    // The record's lookup item (one: a managed policy), then the six writes of the record itself.
    expect(inputs).toHaveLength(7);
    const grammar = new Set([
      'SET',
      'ADD',
      'AND',
      'NOT',
      'IN',
      'list_append',
      'if_not_exists',
      'contains',
      'attribute_exists',
      'attribute_not_exists',
    ]);
    for (const input of inputs) {
      const expressions = [input.UpdateExpression, input.ConditionExpression].filter(
        (e) => typeof e === 'string',
      );
      const bare = expressions.join(' ').match(/(?<![#:\w])[A-Za-z_]\w*/g) ?? [];
      expect(bare.filter((word) => !grammar.has(word))).toEqual([]);
      const placeholders = new Set(expressions.join(' ').match(/#\w+/g));
      expect(Object.keys((input.ExpressionAttributeNames ?? {}) as object).sort()).toEqual(
        [...placeholders].sort(),
      );
    }
  });
});

describe('DynamoApprovalStore refusals', () => {
  it('reports a token refused for a decided approval as ApprovalStateError naming the status', async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { ...RECORD, status: 'EXPIRED' } });
    const store = new DynamoApprovalStore(client, TABLE);

    // Act
    const error = await store.setTaskToken(RECORD.approvalId, TOKEN).catch((err: unknown) => err);

    // Assess
    expect(error).toBeInstanceOf(ApprovalStateError);
    expect((error as Error).message).toMatch(/status EXPIRED/);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});
