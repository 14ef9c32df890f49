import { randomUUID } from 'node:crypto';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SweepBaseline } from '../domain/sweep';
import { AwsOperationError } from '../errors';
import { mapAwsError } from './aws-error';

/** What the sweep keeps between runs. */
export interface SweepState {
  readonly baseline: SweepBaseline;
  /** When the baseline was first taken, and when it was last replaced. */
  readonly firstTakenAt: string;
  readonly takenAt: string;
  /** Since when no trail is seen delivering IAM events, and when that was last alerted. */
  readonly trailProblemSince?: string;
  readonly trailAlertedAt?: string;
}

/** Where the sweep keeps its state. */
export interface SweepStateStore {
  /** The state of the last run, or `undefined` before the first. */
  load(): Promise<SweepState | undefined>;
  /** Replaces the state; refused (ConcurrentSweep) when another run replaced it since `load`. */
  save(state: SweepState, previous: SweepState | undefined): Promise<void>;
}

// A chunk stays far below DynamoDB's 400 KB item limit.
const CHUNK_CHARS = 300_000;
const HEAD_ID = 'baseline';

interface Head {
  readonly id: string;
  readonly generation: string;
  readonly chunks: number;
  readonly firstTakenAt: string;
  readonly takenAt: string;
  readonly trailProblemSince?: string;
  readonly trailAlertedAt?: string;
}

interface Chunk {
  readonly id: string;
  readonly sources: Record<string, string>;
  readonly links: string[];
}

/**
 * {@link SweepStateStore} over its own DynamoDB table (partition key `id`). The baseline can be large (an
 * account's every attachment and membership), so it is written in chunks under a new generation first, and
 * only then does the head item point at them: a run that dies half way leaves the previous baseline whole.
 * Chunks of the replaced generation are deleted afterwards.
 */
export class DynamoSweepStateStore implements SweepStateStore {
  private loaded: { generation: string; chunks: number } | undefined;

  /**
   * @param headId the head item's id: `baseline` for the account the sweep runs in, one per member account
   *   (`baseline-<account id>`) when it sweeps an organization; chunk ids are per generation already.
   */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly headId: string = HEAD_ID,
  ) {}

  async load(): Promise<SweepState | undefined> {
    const head = (await this.get(this.headId)) as Head | undefined;
    if (!head) {
      this.loaded = undefined;
      return undefined;
    }
    const sources: Record<string, string> = {};
    const links: string[] = [];
    for (let i = 0; i < head.chunks; i += 1) {
      const chunk = (await this.get(chunkId(head.generation, i))) as Chunk | undefined;
      if (!chunk) {
        throw new AwsOperationError(
          'sweep state',
          'IncompleteBaseline',
          `chunk ${i} of the baseline is missing`,
        );
      }
      Object.assign(sources, chunk.sources);
      links.push(...chunk.links);
    }
    this.loaded = { generation: head.generation, chunks: head.chunks };
    return {
      baseline: { sources, links },
      firstTakenAt: head.firstTakenAt,
      takenAt: head.takenAt,
      ...(head.trailProblemSince && { trailProblemSince: head.trailProblemSince }),
      ...(head.trailAlertedAt && { trailAlertedAt: head.trailAlertedAt }),
    };
  }

  async save(state: SweepState, previous: SweepState | undefined): Promise<void> {
    const generation = randomUUID();
    const chunks = toChunks(state.baseline, generation);
    for (const chunk of chunks) await this.put(chunk);
    const head: Head = {
      id: this.headId,
      generation,
      chunks: chunks.length,
      firstTakenAt: state.firstTakenAt,
      takenAt: state.takenAt,
      ...(state.trailProblemSince && { trailProblemSince: state.trailProblemSince }),
      ...(state.trailAlertedAt && { trailAlertedAt: state.trailAlertedAt }),
    };
    const expected = previous === undefined ? undefined : this.loaded?.generation;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: head,
          ...(expected === undefined
            ? { ConditionExpression: 'attribute_not_exists(id)' }
            : {
                ConditionExpression: 'generation = :expected',
                ExpressionAttributeValues: { ':expected': expected },
              }),
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new AwsOperationError(
          'sweep state',
          'ConcurrentSweep',
          'another sweep replaced the baseline meanwhile',
        );
      }
      throw mapAwsError('DynamoDB PutItem', error);
    }
    const replaced = this.loaded;
    this.loaded = { generation, chunks: chunks.length };
    if (replaced !== undefined) await this.deleteChunks(replaced.generation, replaced.chunks);
  }

  /** Deletes a replaced generation's chunks, 25 to a batch. */
  private async deleteChunks(generation: string, count: number): Promise<void> {
    for (let start = 0; start < count; start += 25) {
      const ids = Array.from({ length: Math.min(25, count - start) }, (_, i) =>
        chunkId(generation, start + i),
      );
      try {
        await this.client.send(
          new BatchWriteCommand({
            RequestItems: { [this.tableName]: ids.map((id) => ({ DeleteRequest: { Key: { id } } })) },
          }),
        );
      } catch (error) {
        throw mapAwsError(`DynamoDB BatchWriteItem`, error);
      }
    }
  }

  private async get(id: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }),
      );
      return Item;
    } catch (error) {
      throw mapAwsError('DynamoDB GetItem', error);
    }
  }

  private async put(item: Chunk): Promise<void> {
    try {
      await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
    } catch (error) {
      throw mapAwsError('DynamoDB PutItem', error);
    }
  }
}

function chunkId(generation: string, index: number): string {
  return `chunk#${generation}#${index}`;
}

/** Splits a baseline into chunks of at most {@link CHUNK_CHARS} characters of keys and values. */
function toChunks(baseline: SweepBaseline, generation: string): Chunk[] {
  const chunks: Chunk[] = [];
  let sources: Record<string, string> = {};
  let links: string[] = [];
  let size = 0;
  const flush = () => {
    chunks.push({ id: chunkId(generation, chunks.length), sources, links });
    sources = {};
    links = [];
    size = 0;
  };
  for (const [key, value] of Object.entries(baseline.sources)) {
    if (size + key.length + value.length > CHUNK_CHARS) flush();
    sources[key] = value;
    size += key.length + value.length + 8;
  }
  for (const link of baseline.links) {
    if (size + link.length > CHUNK_CHARS) flush();
    links.push(link);
    size += link.length + 4;
  }
  flush();
  return chunks;
}
