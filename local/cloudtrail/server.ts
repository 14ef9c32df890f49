import type http from 'node:http';
import {
  FaultCounter,
  INCOMPLETE_SIGNATURE_MESSAGE,
  jsonTargetOperation,
  listenOnLoopback,
  newRequestId,
  parseJsonObject,
  readSignedRequest,
  send,
} from '../http-util';

/**
 * Local stand-in for the read side of AWS CloudTrail's trail API, speaking AWS JSON 1.1. The installed
 * `@aws-sdk/client-cloudtrail` sends `X-Amz-Target: CloudTrail_20131101.<Operation>`; the model's full
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>` (what older SDKs and the CLI send) is
 * accepted too. Trails are configured by the test (CloudTrail's own field names) and seen from one account and
 * Region, with CloudTrail's visibility rules: trails of other Regions appear only as shadow trails of
 * multi-Region trails, organization trails of a management account appear in member accounts as shadow trails,
 * and a shadow trail is addressed by ARN only.
 */

const TARGET_PREFIXES = ['CloudTrail_20131101', 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101'];
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_REQUEST_BYTES = 1024 * 1024;
const TRAIL_ARN = /^arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):(\d{12}):trail\/(.+)$/;

/** A basic event selector, as GetEventSelectors returns it. */
export interface EventSelector {
  ReadWriteType?: 'ReadOnly' | 'WriteOnly' | 'All';
  IncludeManagementEvents?: boolean;
  DataResources?: { Type?: string; Values?: string[] }[];
  ExcludeManagementEventSources?: string[];
}

/** One field condition of an advanced event selector. */
export interface AdvancedFieldSelector {
  Field: string;
  Equals?: string[];
  StartsWith?: string[];
  EndsWith?: string[];
  NotEquals?: string[];
  NotStartsWith?: string[];
  NotEndsWith?: string[];
}

export interface AdvancedEventSelector {
  Name?: string;
  FieldSelectors: AdvancedFieldSelector[];
}

/**
 * A trail as a test sets it up, in CloudTrail's field names. `TrailARN` defaults to one in `HomeRegion` (default:
 * the server's Region) and the server's account; give it to place the trail in another account (an organization
 * trail seen from a member account). `IsLogging` (default true) is what GetTrailStatus reports. A trail has
 * either basic `EventSelectors` or `AdvancedEventSelectors`, never both; with neither it logs all management
 * events, CloudTrail's default.
 */
export interface TrailInput {
  Name: string;
  S3BucketName: string;
  S3KeyPrefix?: string;
  SnsTopicARN?: string;
  IncludeGlobalServiceEvents?: boolean;
  IsMultiRegionTrail?: boolean;
  HomeRegion?: string;
  TrailARN?: string;
  LogFileValidationEnabled?: boolean;
  CloudWatchLogsLogGroupArn?: string;
  CloudWatchLogsRoleArn?: string;
  KmsKeyId?: string;
  HasInsightSelectors?: boolean;
  IsOrganizationTrail?: boolean;
  IsLogging?: boolean;
  EventSelectors?: EventSelector[];
  AdvancedEventSelectors?: AdvancedEventSelector[];
}

export interface StartCloudTrailServerOptions {
  accountId?: string;
  /** The Region the stand-in answers for (default `us-east-1`). */
  region?: string;
  trails?: readonly TrailInput[];
  /** Clock for logging start/stop times (default: the real time). */
  now?: () => Date;
}

/** Options of one event recorded for `LookupEvents`. */
export interface RecordEventOptions {
  /**
   * Whether `LookupEvents` finds it yet (default true). CloudTrail makes events searchable some minutes after
   * the call (typically within 5, up to about 15); `false` models an event not searchable yet, until
   * {@link LocalCloudTrailServer.makeSearchable}.
   */
  searchable?: boolean;
}

export interface LocalCloudTrailServer {
  /** Base URL for `new CloudTrailClient({ endpoint })` or `AWS_ENDPOINT_URL_CLOUDTRAIL`. */
  readonly endpoint: string;
  /** The recorded events, oldest first, for `recordEvent` in a later server (a restart keeps the history). */
  exportEvents(): { record: Record<string, unknown>; searchable: boolean }[];
  readonly accountId: string;
  readonly region: string;
  /** Replaces every trail (a trail already logging keeps its start time when it still logs). */
  setTrails(trails: readonly TrailInput[]): void;
  /** Starts or stops logging on a trail, by name (trails of this Region) or ARN, as StartLogging/StopLogging do. */
  setLogging(nameOrArn: string, isLogging: boolean): void;
  /** The ARNs of the configured trails, in configuration order. */
  trailArns(): string[];
  /**
   * Makes the next `count` signed requests fail with a 500 `InternalFailure`. The SDK retries 5xx by itself,
   * so a test that wants the failure to surface should build its client with `maxAttempts: 1`.
   */
  failNext(count?: number): void;
  /**
   * Records a CloudTrail record (its `eventTime`, `eventID`, `eventName`, `eventSource`, `userIdentity`,
   * `resources`, ...) for `LookupEvents`, which searches what the server holds, newest first.
   */
  recordEvent(record: Record<string, unknown>, options?: RecordEventOptions): void;
  /** Makes every recorded event searchable (the delay CloudTrail takes has passed). */
  makeSearchable(): void;
  /** Forgets every recorded event. */
  clearEvents(): void;
  /** Makes the next `count` `LookupEvents` calls fail with `ThrottlingException` (2 requests/s per account per Region). */
  throttleNext(count?: number): void;
  /** How many `LookupEvents` requests the server answered or refused, for tests bounding their cost. */
  lookupRequests(): number;
  close(): Promise<void>;
}

/** The lookup attribute keys LookupEvents accepts (LookupAttribute.AttributeKey). */
const LOOKUP_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const;
type LookupKey = (typeof LOOKUP_KEYS)[number];

interface StoredEvent {
  readonly record: Record<string, unknown>;
  readonly time: Date;
  readonly sequence: number;
  searchable: boolean;
}

function field(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function stringField(record: unknown, key: string): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const value = field(record as Record<string, unknown>, key);
  return typeof value === 'string' ? value : undefined;
}

/** The event's `Username` as event history shows it: the IAM user name, else the role session name. */
function usernameOf(record: Record<string, unknown>): string | undefined {
  const identity = field(record, 'userIdentity');
  const userName = stringField(identity, 'userName');
  if (userName !== undefined) return userName;
  const arn = stringField(identity, 'arn');
  return arn?.match(/:assumed-role\/[^/]+\/(.+)$/)?.[1] ?? arn?.match(/:federated-user\/(.+)$/)?.[1];
}

function resourcesOf(record: Record<string, unknown>): { ResourceType?: string; ResourceName?: string }[] {
  const resources = field(record, 'resources');
  if (!Array.isArray(resources)) return [];
  return resources.map((resource: unknown) => {
    const type = stringField(resource, 'type');
    const name = stringField(resource, 'ARN') ?? stringField(resource, 'arn');
    return { ...(type && { ResourceType: type }), ...(name && { ResourceName: name }) };
  });
}

/** Whether the event matches one lookup attribute, compared exactly as CloudTrail does (case-sensitive). */
function matchesLookup(record: Record<string, unknown>, key: LookupKey, value: string): boolean {
  switch (key) {
    case 'EventId':
      return stringField(record, 'eventID') === value;
    case 'EventName':
      return stringField(record, 'eventName') === value;
    case 'EventSource':
      return stringField(record, 'eventSource') === value;
    case 'ReadOnly':
      return String(field(record, 'readOnly')) === value;
    case 'Username':
      return usernameOf(record) === value;
    // The key that signed the request (userIdentity.accessKeyId), never keys inside responseElements: an
    // AssumeRole event is not found by the access key it issued.
    case 'AccessKeyId':
      return stringField(field(record, 'userIdentity'), 'accessKeyId') === value;
    case 'ResourceType':
      return resourcesOf(record).some((r) => r.ResourceType === value);
    case 'ResourceName':
      return resourcesOf(record).some((r) => r.ResourceName === value);
  }
}

interface Trail {
  readonly input: TrailInput;
  readonly arn: string;
  readonly account: string;
  readonly homeRegion: string;
  isLogging: boolean;
  startLoggingTime: Date | undefined;
  stopLoggingTime: Date | undefined;
}

class CloudTrailFault {
  constructor(
    readonly type: string,
    readonly message: string | undefined,
    readonly status = 400,
  ) {}
}

const DEFAULT_SELECTORS: EventSelector[] = [
  {
    ReadWriteType: 'All',
    IncludeManagementEvents: true,
    DataResources: [],
    ExcludeManagementEventSources: [],
  },
];

/**
 * CloudTrail's trail-name rules, in its wording (as moto reproduces it): 3 to 128 characters, letters, digits,
 * periods, hyphens and underscores, starting and ending with a letter or digit.
 */
function checkTrailName(name: string): void {
  const invalid = (message: string) => new CloudTrailFault('InvalidTrailNameException', message);
  if (name.length < 3) {
    throw invalid(
      `Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`,
    );
  }
  if (name.length > 128) {
    throw invalid(
      `Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`,
    );
  }
  if (!/^[A-Za-z0-9]/.test(name)) throw invalid('Trail name must starts with a letter or number.');
  if (!/[A-Za-z0-9]$/.test(name)) throw invalid('Trail name must ends with a letter or number.');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw invalid(
      'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).',
    );
  }
}

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Starts the CloudTrail stand-in on 127.0.0.1 with a random port. */
export async function startCloudTrailServer(
  options: StartCloudTrailServerOptions = {},
): Promise<LocalCloudTrailServer> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  if (!/^\d{12}$/.test(accountId)) {
    throw new Error(`startCloudTrailServer: accountId must be 12 digits, got ${accountId}`);
  }
  const now = options.now ?? (() => new Date());
  const faults = new FaultCounter();
  const throttles = new FaultCounter();
  let trails: Trail[] = [];
  let events: StoredEvent[] = [];
  let sequence = 0;
  let lookups = 0;

  const build = (input: TrailInput, previous: Trail | undefined): Trail => {
    try {
      checkTrailName(input.Name);
    } catch (error) {
      throw new Error(`setTrails: ${error instanceof CloudTrailFault ? error.message : String(error)}`);
    }
    if (input.S3BucketName === '') throw new Error(`setTrails: trail ${input.Name} needs an S3BucketName`);
    if (input.EventSelectors !== undefined && input.AdvancedEventSelectors !== undefined) {
      throw new Error(`setTrails: trail ${input.Name} has both EventSelectors and AdvancedEventSelectors`);
    }
    let arn = input.TrailARN;
    let account = accountId;
    let homeRegion = input.HomeRegion ?? region;
    if (arn === undefined) {
      arn = `arn:aws:cloudtrail:${homeRegion}:${accountId}:trail/${input.Name}`;
    } else {
      const parsed = TRAIL_ARN.exec(arn);
      if (parsed === null || parsed[4] !== input.Name) {
        throw new Error(`setTrails: TrailARN ${arn} is not a trail ARN for ${input.Name}`);
      }
      account = parsed[3] as string;
      if (input.HomeRegion !== undefined && input.HomeRegion !== parsed[2]) {
        throw new Error(`setTrails: HomeRegion ${input.HomeRegion} disagrees with TrailARN ${arn}`);
      }
      homeRegion = parsed[2] as string;
    }
    if (account !== accountId && input.IsOrganizationTrail !== true) {
      throw new Error(`setTrails: trail ${arn} of another account is visible only as an organization trail`);
    }
    const isLogging = input.IsLogging ?? true;
    const keep = previous !== undefined && previous.isLogging === isLogging;
    return {
      input: structuredClone(input),
      arn,
      account,
      homeRegion,
      isLogging,
      startLoggingTime: keep ? previous.startLoggingTime : isLogging ? now() : undefined,
      stopLoggingTime: keep ? previous.stopLoggingTime : isLogging ? undefined : now(),
    };
  };

  const setTrails = (inputs: readonly TrailInput[]): void => {
    const built: Trail[] = [];
    for (const input of inputs) {
      const trail = build(
        input,
        trails.find((t) => t.input.Name === input.Name),
      );
      if (built.some((t) => t.arn === trail.arn))
        throw new Error(`setTrails: trail ${trail.arn} given twice`);
      built.push(trail);
    }
    trails = built;
  };

  /** Trails of this account and Region: addressable by name. */
  const isLocal = (trail: Trail): boolean => trail.account === accountId && trail.homeRegion === region;
  /** Replicas seen here of trails defined elsewhere (another Region, or the organization's management account). */
  const isShadow = (trail: Trail): boolean =>
    !isLocal(trail) && (trail.input.IsMultiRegionTrail === true || trail.homeRegion === region);

  /** The trail a Name parameter designates: a name of a trail of this Region, or the ARN of any visible trail. */
  const resolve = (raw: unknown): Trail => {
    const value = typeof raw === 'string' ? raw : '';
    if (value.startsWith('arn:')) {
      if (!TRAIL_ARN.test(value)) {
        throw new CloudTrailFault('CloudTrailARNInvalidException', `Invalid trail ARN: ${value}`);
      }
      const trail = trails.find((t) => t.arn === value && (isLocal(t) || isShadow(t)));
      if (trail === undefined) {
        throw new CloudTrailFault(
          'TrailNotFoundException',
          `Unknown trail: ${value} for the user: ${accountId}`,
        );
      }
      return trail;
    }
    checkTrailName(value);
    const trail = trails.find((t) => isLocal(t) && t.input.Name === value);
    if (trail === undefined) {
      throw new CloudTrailFault(
        'TrailNotFoundException',
        `Unknown trail: arn:aws:cloudtrail:${region}:${accountId}:trail/${value} for the user: ${accountId}`,
      );
    }
    return trail;
  };

  const trailJson = (trail: Trail): Record<string, unknown> => {
    const t = trail.input;
    return {
      Name: t.Name,
      S3BucketName: t.S3BucketName,
      ...(t.S3KeyPrefix === undefined ? {} : { S3KeyPrefix: t.S3KeyPrefix }),
      ...(t.SnsTopicARN === undefined
        ? {}
        : { SnsTopicName: t.SnsTopicARN.split(':').at(-1), SnsTopicARN: t.SnsTopicARN }),
      IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents ?? true,
      IsMultiRegionTrail: t.IsMultiRegionTrail ?? false,
      HomeRegion: trail.homeRegion,
      TrailARN: trail.arn,
      LogFileValidationEnabled: t.LogFileValidationEnabled ?? false,
      ...(t.CloudWatchLogsLogGroupArn === undefined
        ? {}
        : { CloudWatchLogsLogGroupArn: t.CloudWatchLogsLogGroupArn }),
      ...(t.CloudWatchLogsRoleArn === undefined ? {} : { CloudWatchLogsRoleArn: t.CloudWatchLogsRoleArn }),
      ...(t.KmsKeyId === undefined ? {} : { KmsKeyId: t.KmsKeyId }),
      HasCustomEventSelectors: t.EventSelectors !== undefined || t.AdvancedEventSelectors !== undefined,
      HasInsightSelectors: t.HasInsightSelectors ?? false,
      IsOrganizationTrail: t.IsOrganizationTrail ?? false,
    };
  };

  const describeTrails = (input: Record<string, unknown>): Record<string, unknown> => {
    const names = input.trailNameList;
    if (names !== undefined && (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))) {
      throw new CloudTrailFault('SerializationException', undefined);
    }
    const includeShadowTrails = input.includeShadowTrails !== false;
    const visible = trails.filter((t) => isLocal(t) || (includeShadowTrails && isShadow(t)));
    if (names === undefined || names.length === 0) return { trailList: visible.map(trailJson) };
    for (const name of names as string[]) {
      if (name.startsWith('arn:')) {
        if (!TRAIL_ARN.test(name)) {
          throw new CloudTrailFault('CloudTrailARNInvalidException', `Invalid trail ARN: ${name}`);
        }
      } else {
        checkTrailName(name);
      }
    }
    // Unknown names are not an error here: DescribeTrails lists what matches.
    const wanted = visible.filter(
      (t) =>
        (names as string[]).includes(t.arn) || (isLocal(t) && (names as string[]).includes(t.input.Name)),
    );
    return { trailList: wanted.map(trailJson) };
  };

  const getTrailStatus = (input: Record<string, unknown>): Record<string, unknown> => {
    const trail = resolve(input.Name);
    const started = trail.startLoggingTime;
    const stopped = trail.stopLoggingTime;
    return {
      IsLogging: trail.isLogging,
      ...(started === undefined ? {} : { StartLoggingTime: epochSeconds(started) }),
      ...(stopped === undefined ? {} : { StopLoggingTime: epochSeconds(stopped) }),
      LatestDeliveryAttemptTime: '',
      LatestNotificationAttemptTime: '',
      LatestNotificationAttemptSucceeded: '',
      LatestDeliveryAttemptSucceeded: '',
      TimeLoggingStarted: started === undefined ? '' : isoSeconds(started),
      TimeLoggingStopped: stopped === undefined ? '' : isoSeconds(stopped),
    };
  };

  const getEventSelectors = (input: Record<string, unknown>): Record<string, unknown> => {
    const trail = resolve(input.TrailName);
    const { EventSelectors, AdvancedEventSelectors } = trail.input;
    return {
      TrailARN: trail.arn,
      ...(AdvancedEventSelectors === undefined
        ? { EventSelectors: structuredClone(EventSelectors ?? DEFAULT_SELECTORS) }
        : { AdvancedEventSelectors: structuredClone(AdvancedEventSelectors) }),
    };
  };

  /** LookupEvents: at most one lookup attribute, a time range, pages of at most 50, newest first. */
  const lookupEvents = (input: Record<string, unknown>): Record<string, unknown> => {
    const attributes = input.LookupAttributes;
    let filter: { key: LookupKey; value: string } | undefined;
    if (attributes !== undefined) {
      if (!Array.isArray(attributes)) throw new CloudTrailFault('SerializationException', undefined);
      if (attributes.length > 1) {
        throw new CloudTrailFault(
          'InvalidLookupAttributesException',
          'You cannot specify more than one lookup attribute.',
        );
      }
      const [first] = attributes as unknown[];
      if (first !== undefined) {
        const key = stringField(first, 'AttributeKey');
        const value = stringField(first, 'AttributeValue');
        if (key === undefined || !(LOOKUP_KEYS as readonly string[]).includes(key)) {
          throw new CloudTrailFault(
            'InvalidLookupAttributesException',
            `The attribute key ${String(key)} is not valid.`,
          );
        }
        if (value === undefined || value.length < 1 || value.length > 2000) {
          throw new CloudTrailFault('InvalidLookupAttributesException', 'The attribute value is not valid.');
        }
        filter = { key: key as LookupKey, value };
      }
    }
    const time = (raw: unknown, name: string): Date | undefined => {
      if (raw === undefined) return undefined;
      if (typeof raw !== 'number' || !Number.isFinite(raw)) {
        throw new CloudTrailFault('SerializationException', `${name} is not a timestamp`);
      }
      return new Date(raw * 1000);
    };
    const start = time(input.StartTime, 'StartTime');
    const end = time(input.EndTime, 'EndTime');
    if (start && end && start.getTime() > end.getTime()) {
      throw new CloudTrailFault('InvalidTimeRangeException', 'Start time must be earlier than end time.');
    }
    const maxResults = input.MaxResults ?? 50;
    if (
      typeof maxResults !== 'number' ||
      !Number.isInteger(maxResults) ||
      maxResults < 1 ||
      maxResults > 50
    ) {
      throw new CloudTrailFault('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.');
    }
    // The token names the query it belongs to, as CloudTrail refuses a token used with other parameters.
    const query = JSON.stringify([filter, start?.getTime(), end?.getTime()]);
    let offset = 0;
    if (input.NextToken !== undefined) {
      const token = typeof input.NextToken === 'string' ? input.NextToken : '';
      let decoded: { q?: unknown; o?: unknown } = {};
      try {
        decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof decoded;
      } catch {
        // refused below
      }
      if (decoded.q !== query || typeof decoded.o !== 'number') {
        throw new CloudTrailFault('InvalidNextTokenException', 'Invalid NextToken.');
      }
      offset = decoded.o;
    }
    const matching = events
      .filter(
        (e) =>
          e.searchable &&
          (start === undefined || e.time.getTime() >= start.getTime()) &&
          (end === undefined || e.time.getTime() <= end.getTime()) &&
          (filter === undefined || matchesLookup(e.record, filter.key, filter.value)),
      )
      .sort((a, b) => b.time.getTime() - a.time.getTime() || b.sequence - a.sequence);
    const page = matching.slice(offset, offset + maxResults);
    const next = offset + page.length < matching.length ? offset + page.length : undefined;
    return {
      Events: page.map(({ record, time: at }) => {
        const accessKeyId = stringField(field(record, 'userIdentity'), 'accessKeyId');
        const username = usernameOf(record);
        const readOnly = field(record, 'readOnly');
        return {
          EventId: stringField(record, 'eventID'),
          EventName: stringField(record, 'eventName'),
          ...(readOnly !== undefined && { ReadOnly: String(readOnly) }),
          ...(accessKeyId && { AccessKeyId: accessKeyId }),
          EventTime: epochSeconds(at),
          EventSource: stringField(record, 'eventSource'),
          ...(username && { Username: username }),
          Resources: resourcesOf(record),
          CloudTrailEvent: JSON.stringify(record),
        };
      }),
      ...(next !== undefined && {
        NextToken: Buffer.from(JSON.stringify({ q: query, o: next })).toString('base64url'),
      }),
    };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    try {
      const body = await readSignedRequest(req, MAX_REQUEST_BYTES, (problem) => {
        switch (problem) {
          case 'too-large':
            return new CloudTrailFault('RequestEntityTooLargeException', 'Request body too large', 413);
          case 'missing-auth':
            return new CloudTrailFault('MissingAuthenticationTokenException', 'Missing Authentication Token');
          case 'incomplete-auth':
            return new CloudTrailFault('IncompleteSignatureException', INCOMPLETE_SIGNATURE_MESSAGE);
        }
      });
      const operation = jsonTargetOperation(req, TARGET_PREFIXES);
      const input = parseJsonObject(body);
      if (input === undefined) throw new CloudTrailFault('SerializationException', undefined);
      if (faults.take()) throw new CloudTrailFault('InternalFailure', 'An internal error occurred.', 500);
      let output: Record<string, unknown>;
      switch (operation) {
        case 'DescribeTrails':
          output = describeTrails(input);
          break;
        case 'GetTrail':
          output = { Trail: trailJson(resolve(input.Name)) };
          break;
        case 'GetTrailStatus':
          output = getTrailStatus(input);
          break;
        case 'GetEventSelectors':
          output = getEventSelectors(input);
          break;
        case 'LookupEvents':
          lookups += 1;
          if (throttles.take()) throw new CloudTrailFault('ThrottlingException', 'Rate exceeded');
          output = lookupEvents(input);
          break;
        default:
          throw new CloudTrailFault('UnknownOperationException', undefined);
      }
      send(res, 200, CONTENT_TYPE, JSON.stringify(output), { 'x-amzn-requestid': requestId });
    } catch (err) {
      if (!(err instanceof CloudTrailFault)) throw err;
      const payload =
        err.message === undefined ? { __type: err.type } : { __type: err.type, Message: err.message };
      send(res, err.status, CONTENT_TYPE, JSON.stringify(payload), { 'x-amzn-requestid': requestId });
    }
  };

  setTrails(options.trails ?? []);
  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    accountId,
    region,
    setTrails,
    setLogging(nameOrArn, isLogging) {
      const trail = trails.find((t) => t.arn === nameOrArn || (isLocal(t) && t.input.Name === nameOrArn));
      if (trail === undefined) throw new Error(`setLogging: no trail ${nameOrArn}`);
      if (trail.isLogging === isLogging) return;
      trail.isLogging = isLogging;
      if (isLogging) trail.startLoggingTime = now();
      else trail.stopLoggingTime = now();
    },
    trailArns: () => trails.map((t) => t.arn),
    failNext: (count = 1) => faults.failNext(count),
    recordEvent(record, recordOptions = {}) {
      const at = new Date(String(field(record, 'eventTime') ?? ''));
      if (Number.isNaN(at.getTime())) throw new Error('recordEvent: the record needs an ISO eventTime');
      sequence += 1;
      events.push({
        record: structuredClone(record),
        time: at,
        sequence,
        searchable: recordOptions.searchable ?? true,
      });
    },
    makeSearchable() {
      for (const event of events) event.searchable = true;
    },
    clearEvents() {
      events = [];
    },
    exportEvents: () =>
      events.map((event) => ({ record: structuredClone(event.record), searchable: event.searchable })),
    throttleNext: (count = 1) => throttles.failNext(count),
    lookupRequests: () => lookups,
    close: started.close,
  };
}
