import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoApprovalStore } from '../../adapters/approval-store';
import type { Config } from '../../config';

/** The approvals table (DynamoDB). */
export function approvalStore(cfg: Config): DynamoApprovalStore {
  return new DynamoApprovalStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: cfg.region }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    cfg.approvalsTable,
  );
}
