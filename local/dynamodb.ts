import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { APPROVAL_INDEXES } from '../src/adapters/approval-store';
import { closeServer, keepIdleConnections } from './http-util';

/** The subset of dynalite's options this harness sets (dynalite ships no type declarations). */
interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  path?: string;
}

// dynalite returns a plain http.Server whose close() also shuts its LevelDB store.
const dynalite = require('dynalite') as (options: DynaliteOptions) => http.Server;

/** A running in-process dynalite. */
export interface LocalDynamoDb {
  /** Base URL for `new DynamoDBClient({ endpoint })` or `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process: in-memory store (no `path`), 127.0.0.1, a port the OS picks, and table
 * state changes without the default half-second delays so tests do not wait on them. `onWrite` is called
 * on every request that may change a table (the sandbox's persistence snapshots the tables then).
 */
export async function startDynalite(options: { onWrite?: () => void } = {}): Promise<LocalDynamoDb> {
  // Idle connections stay open: dynalite's plain http.Server would reset them under a burst (see
  // keepIdleConnections), which failed the burst benchmark with `GetItem … read ECONNRESET`.
  const server = keepIdleConnections(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
  const { onWrite } = options;
  if (onWrite) {
    // Anything but a read may change a table: the sandbox's persistence saves after those.
    server.on('request', (request: http.IncomingMessage) => {
      const target = String(request.headers['x-amz-target'] ?? '');
      if (!/\.(Get|BatchGet|Query|Scan|Describe|List)\w*$/.test(target)) onWrite();
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => closeServer(server),
  };
}

/**
 * Creates PolicyGate's approvals table (partition key `approvalId` of type S, on-demand billing, the
 * secondary indexes the store queries: {@link APPROVAL_INDEXES}) and waits
 * until it is ACTIVE. Fails with the SDK's `ResourceInUseException` if the table already exists.
 *
 * The deployed table expires items through the `ttl` attribute. UpdateTimeToLive is not called here because
 * dynalite does not implement it (it answers UnknownOperationException), and dynalite would not expire
 * items anyway; tests that care about expiry must check the `ttl` value themselves.
 */
export async function createApprovalsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        ...new Set([
          'approvalId',
          ...Object.values(APPROVAL_INDEXES).flatMap((i) => [i.partitionKey, i.sortKey]),
        ]),
      ].map((name) => ({ AttributeName: name, AttributeType: 'S' as const })),
      KeySchema: [{ AttributeName: 'approvalId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: Object.entries(APPROVAL_INDEXES).map(([name, keys]) => ({
        IndexName: name,
        KeySchema: [
          { AttributeName: keys.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: keys.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      })),
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // The waiter polls at once and then every second at most; with createTableMs 0 it rarely needs a second look.
  await waitUntilTableExists({ client, minDelay: 1, maxDelay: 1, maxWaitTime: 30 }, { TableName: tableName });
}
