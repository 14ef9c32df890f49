import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SweepCursor, SweepCursorState } from '../services/organization-sweep';
import { mapAwsError } from './aws-error';

const CURSOR_ID = 'organization-cursor';

/** {@link SweepCursor} as one item of the sweep's state table. */
export class DynamoSweepCursor implements SweepCursor {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async load(): Promise<SweepCursorState> {
    let item: Record<string, unknown> | undefined;
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { id: CURSOR_ID }, ConsistentRead: true }),
      );
      item = Item;
    } catch (error) {
      throw mapAwsError('DynamoDB GetItem', error);
    }
    // Anything unexpected reads as the start of a cycle: the worst case is sweeping some accounts again.
    const { after, cycleStartedAt, overdueAlerted } = item ?? {};
    return {
      ...(typeof after === 'string' && /^\d{12}$/.test(after) && { after }),
      ...(typeof cycleStartedAt === 'string' &&
        !Number.isNaN(Date.parse(cycleStartedAt)) && { cycleStartedAt }),
      ...(overdueAlerted === true && { overdueAlerted }),
    };
  }

  async save(state: SweepCursorState): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            id: CURSOR_ID,
            ...(state.after && { after: state.after }),
            ...(state.cycleStartedAt && { cycleStartedAt: state.cycleStartedAt }),
            ...(state.overdueAlerted && { overdueAlerted: true }),
          },
        }),
      );
    } catch (error) {
      throw mapAwsError('DynamoDB PutItem', error);
    }
  }
}
