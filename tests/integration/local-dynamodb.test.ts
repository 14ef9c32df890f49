import http from 'node:http';
import type { Socket } from 'node:net';
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createApprovalsTable, type LocalDynamoDb, startDynalite } from '../../local/dynamodb';
import { APPROVAL_INDEXES } from '../../src/adapters/approval-store';
import { withEnv } from '../support/env';

const TABLE = 'policy-gate-approvals-test';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

describe('dynalite harness', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBClient;
  let doc: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startDynalite();
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    doc = DynamoDBDocumentClient.from(client);
    await createApprovalsTable(client, TABLE);
  });

  afterAll(async () => {
    doc.destroy();
    await dynamo.close();
  });

  it('keeps an idle keep-alive connection open past Node’s 5 s default (a burst reuses it, never a reset one)', async () => {
    // Prepare: one kept-alive connection, as the SDK's agent keeps them.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets: Socket[] = [];
    const get = () =>
      new Promise<void>((resolve, reject) => {
        const request = http.get(dynamo.endpoint, { agent }, (response) => {
          response.resume();
          response.on('end', resolve);
        });
        request.on('socket', (socket) => {
          if (!sockets.includes(socket)) sockets.push(socket);
        });
        request.on('error', reject);
      });
    await get();
    // Act: idle longer than Node's default keepAliveTimeout (5 s), then reuse it.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const closedWhileIdle = sockets[0]?.destroyed;
    await get();
    // Assess
    expect(closedWhileIdle).toBe(false);
    expect(sockets).toHaveLength(1);
    agent.destroy();
  }, 15_000);

  it('listens on loopback only', () => {
    // Assess
    expect(new URL(dynamo.endpoint).hostname).toBe('127.0.0.1');
  });

  it("creates the approvals table ACTIVE, keyed by approvalId, on demand, with the store's indexes", async () => {
    // Act
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));

    // Assess
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'approvalId', KeyType: 'HASH' }]);
    expect(Table?.AttributeDefinitions).toEqual(
      expect.arrayContaining([{ AttributeName: 'approvalId', AttributeType: 'S' }]),
    );
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: index.IndexName,
      keys: index.KeySchema?.map((k) => [k.AttributeName, k.KeyType]),
      projection: index.Projection?.ProjectionType,
    }));
    expect(indexes.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual(
      Object.entries(APPROVAL_INDEXES)
        .map(([name, keys]) => ({
          name,
          keys: [
            [keys.partitionKey, 'HASH'],
            [keys.sortKey, 'RANGE'],
          ],
          projection: 'ALL',
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('refuses to create the approvals table twice', async () => {
    // Act / Assess
    await expect(createApprovalsTable(client, TABLE)).rejects.toBeInstanceOf(ResourceInUseException);
  });

  it('accepts a conditional put once and rejects the second with ConditionalCheckFailedException', async () => {
    // Prepare
    const put = (decision: string) =>
      doc.send(
        new PutCommand({
          TableName: TABLE,
          Item: { approvalId: 'appr-0001', decision, ttl: 1_900_000_000 },
          ConditionExpression: 'attribute_not_exists(approvalId)',
        }),
      );

    // Act
    await put('approve');
    const second = await put('deny').catch((err: unknown) => err);
    const stored = await doc.send(new GetCommand({ TableName: TABLE, Key: { approvalId: 'appr-0001' } }));

    // Assess
    expect(second).toBeInstanceOf(ConditionalCheckFailedException);
    expect(second).toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect(stored.Item).toEqual({ approvalId: 'appr-0001', decision: 'approve', ttl: 1_900_000_000 });
  });

  it('refuses an unsigned request', async () => {
    // Act
    const response = await fetch(dynamo.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      },
      body: '{}',
    });
    const body = (await response.json()) as { __type?: string; TableNames?: string[] };

    // Assess
    expect(response.status).toBe(400);
    expect(body.__type).toMatch(/MissingAuthenticationTokenException$/);
    expect(body.TableNames).toBeUndefined();
  });

  it('is reached by a client configured only through AWS_ENDPOINT_URL_DYNAMODB', async () => {
    // Prepare / Act
    const output = await withEnv(
      { AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined },
      async () => {
        const fromEnv = new DynamoDBClient({ region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
        try {
          return await fromEnv.send(new ListTablesCommand({}));
        } finally {
          fromEnv.destroy();
        }
      },
    );

    // Assess
    expect(output.TableNames).toEqual([TABLE]);
  });
});

describe('startDynalite', () => {
  it('gives each instance its own in-memory store', async () => {
    // Prepare
    const first = await startDynalite();
    const second = await startDynalite();
    const firstClient = new DynamoDBClient({
      endpoint: first.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });
    const secondClient = new DynamoDBClient({
      endpoint: second.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
    });

    try {
      // Act
      await createApprovalsTable(firstClient, 'only-in-first');
      const inSecond = await secondClient.send(new ListTablesCommand({}));

      // Assess
      expect(first.endpoint).not.toBe(second.endpoint);
      expect(inSecond.TableNames).toEqual([]);
    } finally {
      firstClient.destroy();
      secondClient.destroy();
      await first.close();
      await second.close();
    }
  });
});
