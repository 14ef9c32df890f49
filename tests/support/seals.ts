import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createApprovalsTable, startDynalite } from '../../local/dynamodb';
import { type LocalKmsServer, startKmsServer } from '../../local/kms/server';
import { type ApprovalStore, DynamoApprovalStore } from '../../src/adapters/approval-store';
import { KmsSealKey } from '../../src/adapters/kms-seal-key';
import type { ApprovalRecord, QuarantineState } from '../../src/domain/approval';
import { RecordSeals } from '../../src/services/record-seals';

/** The local KMS with a record key and a decision key, and seals made with them through the real adapter. */
export interface LocalSeals {
  readonly kms: LocalKmsServer;
  readonly client: KMSClient;
  readonly seals: RecordSeals;
  close(): Promise<void>;
}

/** Starts the KMS stand-in and builds {@link RecordSeals} over two fresh HMAC keys. */
export async function startLocalSeals(): Promise<LocalSeals> {
  const kms = await startKmsServer();
  const client = new KMSClient({
    region: 'us-east-1',
    endpoint: kms.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const seals = new RecordSeals({
    record: new KmsSealKey(client, kms.createKey().arn),
    decision: new KmsSealKey(client, kms.createKey().arn),
  });
  return {
    kms,
    client,
    seals,
    async close() {
      client.destroy();
      await kms.close();
    },
  };
}

/**
 * Writes `record` as AnalyseChange does: sealed, created PENDING, its quarantine recorded and sealed.
 * Returns the stored record.
 */
export async function createSealed(
  store: ApprovalStore,
  seals: RecordSeals,
  record: ApprovalRecord,
  quarantine: QuarantineState = { appliedAt: record.createdAt },
): Promise<ApprovalRecord> {
  const { quarantine: _q, reach, concerns, recordSeal: _r, quarantineSeal: _s, ...created } = record;
  const base = created as ApprovalRecord;
  await store.create({ ...base, recordSeal: await seals.sealRecord(base) });
  const contained = await store.setQuarantine(record.approvalId, quarantine, {
    ...(reach && { reach }),
    ...(concerns && { concerns }),
  });
  return store.setQuarantineSeal(record.approvalId, await seals.sealQuarantine(contained));
}

/** The real approvals store on dynalite, with the local KMS seals, as the decision-service tests use them. */
export interface LocalApprovals {
  readonly client: DynamoDBClient;
  readonly store: DynamoApprovalStore;
  readonly seals: RecordSeals;
  close(): Promise<void>;
}

/** Starts dynalite with an approvals table named `table`, and the local seals. */
export async function startLocalApprovals(table: string): Promise<LocalApprovals> {
  const dynamo = await startDynalite();
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await createApprovalsTable(client, table);
  const local = await startLocalSeals();
  const store = new DynamoApprovalStore(
    DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    table,
  );
  return {
    client,
    store,
    seals: local.seals,
    async close() {
      client.destroy();
      await local.close();
      await dynamo.close();
    },
  };
}
