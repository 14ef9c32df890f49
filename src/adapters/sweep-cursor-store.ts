import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SweepCursor } from '../services/organization-sweep';
import { mapAwsError } from './aws-error';

const CURSOR_ID = 'organization-cursor';

/** {@link SweepCursor} as one item of the sweep's state table. */
export class DynamoSweepCursor implements SweepCursor {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(): Promise<string | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { id: CURSOR_ID }, ConsistentRead: true }),
      );
      const after = Item?.after;
      return typeof after === 'string' && /^\d{12}$/.test(after) ? after : undefined;
    } catch (error) {
      throw mapAwsError('DynamoDB GetItem', error);
    }
  }

  async save(after: string | undefined): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({ TableName: this.tableName, Item: { id: CURSOR_ID, ...(after && { after }) } }),
      );
    } catch (error) {
      throw mapAwsError('DynamoDB PutItem', error);
    }
  }
}
