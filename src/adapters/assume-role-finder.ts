import {
  type CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandOutput,
} from '@aws-sdk/client-cloudtrail';

/** What PolicyGate knows of the session to follow back to the `AssumeRole` that issued it. */
export interface IssuedSessionQuery {
  /** The session's access key id (`userIdentity.accessKeyId` of its calls). */
  readonly accessKeyId: string;
  /** The session's ARN; the `AssumeRole` answered with exactly this `assumedRoleUser.arn`. */
  readonly sessionArn: string;
  /** The role assumed; the `AssumeRole`'s `requestParameters.roleArn`. */
  readonly roleArn: string;
  /** When the session was issued (`sessionContext.attributes.creationDate`), if known. */
  readonly issuedAt?: string;
  /** The session was used at this time, so it was issued before it. */
  readonly usedAt: string;
}

export type IssuingEventSearch =
  | { readonly kind: 'found'; readonly eventId: string; readonly record: Record<string, unknown> }
  /** Searched within the bounds and not found (not recorded in this Region, or not searchable yet). */
  | { readonly kind: 'not-found'; readonly reason: string }
  /** The search could not be made (throttled, denied, failed, out of budget). */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** A budget shared by all searches of one attribution, so a long chain cannot run up the request count. */
export interface LookupBudget {
  requests: number;
}

/** Finds the `AssumeRole` CloudTrail record that issued a session's access key. */
export interface IssuingEventFinder {
  find(query: IssuedSessionQuery, budget: LookupBudget): Promise<IssuingEventSearch>;
}

export interface CloudTrailIssuingEventFinderOptions {
  /** Pages (of 50) read per search at most (default 4). */
  readonly maxPages?: number;
  /** Minutes either side of the session's creation time searched (default 2). */
  readonly windowMinutes?: number;
  /** Pause between two requests: LookupEvents allows 2 requests/s per account and Region (default 500 ms). */
  readonly minIntervalMs?: number;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

const DAY_MS = 86_400_000;
/** LookupEvents covers the last 90 days. */
const LOOKUP_HORIZON_MS = 90 * DAY_MS;
/** A role session lasts at most 12 hours, so without a creation time it was issued within that before use. */
const MAX_SESSION_MS = 12 * 3_600_000;

function own(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/**
 * {@link IssuingEventFinder} over CloudTrail `LookupEvents`. The API's `AccessKeyId` attribute matches the key
 * that *signed* an event (its `userIdentity.accessKeyId`), not keys an event hands out, so the issuing
 * `AssumeRole` is found by `EventName=AssumeRole` within a narrow window around the session's creation time
 * and recognised by its `responseElements.credentials.accessKeyId` (access key ids are unique), its
 * `assumedRoleUser.arn` and its `roleArn`. Searches are bounded (pages, window, a shared request budget,
 * a pause between requests for the 2 requests/s limit); results come newest first. CloudTrail makes events
 * searchable minutes after the call, so "not found" is a normal answer: the change is then unattributed,
 * never attributed to someone else. Only this client's Region is searched: an `AssumeRole` made through
 * another Region's STS endpoint is recorded there.
 */
export class CloudTrailIssuingEventFinder implements IssuingEventFinder {
  private readonly maxPages: number;
  private readonly windowMs: number;
  private readonly minIntervalMs: number;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  private lastRequest = 0;

  constructor(
    private readonly cloudtrail: CloudTrailClient,
    options: CloudTrailIssuingEventFinderOptions = {},
  ) {
    this.maxPages = options.maxPages ?? 4;
    this.windowMs = (options.windowMinutes ?? 2) * 60_000;
    this.minIntervalMs = options.minIntervalMs ?? 500;
    this.now = options.now ?? (() => new Date());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async find(query: IssuedSessionQuery, budget: LookupBudget): Promise<IssuingEventSearch> {
    const usedAt = Date.parse(query.usedAt);
    const issuedAt = query.issuedAt === undefined ? Number.NaN : Date.parse(query.issuedAt);
    const start = Number.isNaN(issuedAt) ? usedAt - MAX_SESSION_MS : issuedAt - this.windowMs;
    const end = Number.isNaN(issuedAt) ? usedAt : issuedAt + this.windowMs;
    if (Number.isNaN(start) || Number.isNaN(end)) {
      return { kind: 'unavailable', reason: 'the change has no readable time to search around' };
    }
    if (end < this.now().getTime() - LOOKUP_HORIZON_MS) {
      return {
        kind: 'not-found',
        reason: 'the session was issued more than 90 days ago, beyond what CloudTrail LookupEvents covers',
      };
    }
    let nextToken: string | undefined;
    for (let page = 0; page < this.maxPages; page++) {
      if (budget.requests <= 0) {
        return { kind: 'unavailable', reason: 'the CloudTrail search budget of this change is spent' };
      }
      budget.requests -= 1;
      const wait = this.lastRequest + this.minIntervalMs - Date.now();
      if (wait > 0) await this.sleep(wait);
      this.lastRequest = Date.now();
      let output: LookupEventsCommandOutput;
      try {
        output = await this.cloudtrail.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'AssumeRole' }],
            StartTime: new Date(start),
            EndTime: new Date(end),
            MaxResults: 50,
            ...(nextToken && { NextToken: nextToken }),
          }),
        );
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        return {
          kind: 'unavailable',
          reason:
            name === 'ThrottlingException'
              ? 'CloudTrail LookupEvents is throttled (2 requests/s per account and Region)'
              : `CloudTrail LookupEvents failed (${name})`,
        };
      }
      for (const event of output.Events ?? []) {
        const record = parseRecord(event.CloudTrailEvent);
        if (record && issues(record, query)) {
          return { kind: 'found', eventId: String(own(record, 'eventID') ?? event.EventId ?? ''), record };
        }
      }
      nextToken = output.NextToken;
      if (!nextToken) {
        return {
          kind: 'not-found',
          reason:
            'no AssumeRole event issuing the session is searchable in CloudTrail yet (events take up to about 15 minutes to appear, and only this Region is searched)',
        };
      }
    }
    return {
      kind: 'not-found',
      reason: `the AssumeRole event issuing the session was not among the ${this.maxPages * 50} events searched`,
    };
  }
}

function parseRecord(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a CloudTrail record is the successful `AssumeRole` that issued exactly this session. */
function issues(record: Record<string, unknown>, query: IssuedSessionQuery): boolean {
  const response = own(record, 'responseElements');
  const roleArn = own(own(record, 'requestParameters'), 'roleArn');
  return (
    own(record, 'eventSource') === 'sts.amazonaws.com' &&
    own(record, 'eventName') === 'AssumeRole' &&
    own(record, 'errorCode') === undefined &&
    own(own(response, 'credentials'), 'accessKeyId') === query.accessKeyId &&
    own(own(response, 'assumedRoleUser'), 'arn') === query.sessionArn &&
    typeof roleArn === 'string' &&
    roleArn.toLowerCase() === query.roleArn.toLowerCase()
  );
}
