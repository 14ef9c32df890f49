import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import {
  INCOMPLETE_SIGNATURE_MESSAGE,
  jsonTargetOperation,
  listenOnLoopback,
  newRequestId,
  parseJsonObject,
  readSignedRequest,
  send,
} from '../http-util';
import { md5OfBody, md5OfMessageAttributes, type SqsAttributeValue } from './checksums';

/**
 * Local stand-in for Amazon SQS, speaking the protocol the installed `@aws-sdk/client-sqs` sends: AWS JSON 1.0
 * (`X-Amz-Target: AmazonSQS.<Operation>`, `x-amzn-query-mode: true`). That SDK has no Query-protocol path, so
 * none is served. Errors carry both the JSON `__type` and the classic code in `x-amzn-query-error`, which is
 * what the SDK maps exceptions by (`AWS.SimpleQueueService.NonExistentQueue` -> `QueueDoesNotExist`).
 *
 * Standard queues only; queues exist from start-up. Visibility timeouts, delays and receive counts follow SQS;
 * long polls really wait, but never longer than `maxLongPollMs`, so suites stay fast.
 */

const TARGET_PREFIX = 'AmazonSQS';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_BATCH_ENTRIES = 10;
/** Characters SQS allows in a body (XML 1.0's Char production). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: SQS's set starts with tab, line feed and carriage return.
const VALID_BODY = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const NOT_FOUND = 'The specified queue does not exist.';

/** Defaults SQS gives a new standard queue. */
const QUEUE_DEFAULTS = {
  visibilityTimeout: 30,
  delaySeconds: 0,
  receiveMessageWaitTimeSeconds: 0,
  maximumMessageSize: 262144,
  messageRetentionPeriod: 345600,
} as const;

/** A queue to create at start-up; a bare string is a name with SQS's defaults. */
export interface SqsQueueConfig {
  name: string;
  /** Seconds, 0–43200 (default 30). */
  visibilityTimeout?: number;
  /** Seconds, 0–900 (default 0). */
  delaySeconds?: number;
  /** Default long-poll wait for receives that give no WaitTimeSeconds, 0–20 (default 0). */
  receiveMessageWaitTimeSeconds?: number;
  /** Bytes, 1024–262144 (default 262144), body and attributes together. */
  maximumMessageSize?: number;
}

export interface StartSqsServerOptions {
  accountId?: string;
  region?: string;
  queues?: readonly (string | SqsQueueConfig)[];
  /** The longest a long poll really waits, in milliseconds, whatever WaitTimeSeconds asks (default 1000). */
  maxLongPollMs?: number;
  /** Clock (epoch ms) for visibility timeouts, delays and timestamps; tests can move it on. Default Date.now. */
  now?: () => number;
}

/** An attribute for {@link LocalSqsServer.deliver}: a plain string is a `String` attribute. */
export type SqsAttributeInput = string | { dataType: string; stringValue?: string; binaryValue?: Buffer };

/** A message as the stand-in holds it, for assertions. */
export interface SqsMessageSnapshot {
  messageId: string;
  body: string;
  attributes: Record<string, SqsAttributeValue>;
  md5OfBody: string;
  sentTimestamp: number;
  receiveCount: number;
  /** `visible` can be received now; `in-flight` was received and is hidden; `delayed` waits for DelaySeconds. */
  state: 'visible' | 'in-flight' | 'delayed';
  /** Who sent it, as SQS's `SenderId` attribute shows. */
  senderId: string;
}

/** What EventBridge writes on a message it dead-letters (see {@link eventBridgeDeadLetterAttributes}). */
export interface EventBridgeDeadLetter {
  ruleArn: string;
  targetArn: string;
  /** e.g. `NO_PERMISSIONS`, `NO_RESOURCE`, `THROTTLING`, `SDK_CLIENT_ERROR`. */
  errorCode: string;
  errorMessage: string;
  /** `MaximumRetryAttempts` or `MaximumEventAgeInSeconds` (EventBridge's EXHAUSTED_RETRY_CONDITION). */
  exhaustedRetryCondition?: string;
  retryAttempts?: number;
}

/**
 * The message attributes EventBridge adds to an event it sends to a rule target's dead-letter queue, as the
 * EventBridge user guide lists them ("Using dead-letter queues to process undelivered events"): RULE_ARN,
 * TARGET_ARN, ERROR_CODE, ERROR_MESSAGE and, when known, EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS. The
 * guide gives no data types; all are sent as `String` here.
 */
export function eventBridgeDeadLetterAttributes(
  failure: EventBridgeDeadLetter,
): Record<string, SqsAttributeInput> {
  return {
    RULE_ARN: failure.ruleArn,
    TARGET_ARN: failure.targetArn,
    ERROR_CODE: failure.errorCode,
    ERROR_MESSAGE: failure.errorMessage,
    ...(failure.exhaustedRetryCondition === undefined
      ? {}
      : { EXHAUSTED_RETRY_CONDITION: failure.exhaustedRetryCondition }),
    ...(failure.retryAttempts === undefined ? {} : { RETRY_ATTEMPTS: String(failure.retryAttempts) }),
  };
}

/** Faults {@link LocalSqsServer.failNext} can inject. */
export type SqsFaultCode = 'InternalError' | 'RequestThrottled';

export interface LocalSqsServer {
  /** Base URL for `new SQSClient({ endpoint })` or `AWS_ENDPOINT_URL_SQS`; queue URLs live under it. */
  readonly endpoint: string;
  readonly accountId: string;
  readonly region: string;
  /** `<endpoint>/<account>/<name>`; throws for a queue that was not configured. */
  queueUrl(name: string): string;
  /** `arn:aws:sqs:<region>:<account>:<name>`; throws for a queue that was not configured. */
  queueArn(name: string): string;
  /**
   * Puts a message on a queue from outside, as another AWS service would (EventBridge dead-lettering an event:
   * pass the event, object or JSON text, and {@link eventBridgeDeadLetterAttributes}). Returns the message id.
   */
  deliver(name: string, body: string | object, attributes?: Record<string, SqsAttributeInput>): string;
  /** The messages on a queue, oldest first, deleted ones gone. */
  messages(name: string): SqsMessageSnapshot[];
  /** Makes the next `count` requests fail (500 InternalError, or 403 RequestThrottled) without touching state. */
  failNext(count?: number, code?: SqsFaultCode): void;
  /** Empties every queue and forgets pending faults. */
  reset(): void;
  close(): Promise<void>;
}

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Record<string, SqsAttributeValue>;
  readonly md5OfBody: string;
  readonly sentTimestamp: number;
  readonly senderId: string;
  readonly awsTraceHeader: string | undefined;
  visibleAt: number;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  /** The latest receipt handle; older ones no longer change the message. */
  receiptHandle: string | undefined;
}

interface Queue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly visibilityTimeout: number;
  readonly delaySeconds: number;
  readonly receiveMessageWaitTimeSeconds: number;
  readonly maximumMessageSize: number;
  readonly createdTimestamp: number;
  messages: StoredMessage[];
}

/** An SQS error: the JSON `__type` shape name, the query-compatible code and the HTTP status. */
class SqsFault {
  constructor(
    readonly shape: string,
    readonly message: string,
    readonly code: string = shape,
    readonly status = 400,
  ) {}

  get type(): 'Sender' | 'Receiver' {
    return this.status >= 500 ? 'Receiver' : 'Sender';
  }
}

// The codes and statuses of the modelled errors are those of the `awsQueryError` traits in @aws-sdk/client-sqs.
const queueDoesNotExist = () =>
  new SqsFault('QueueDoesNotExist', NOT_FOUND, 'AWS.SimpleQueueService.NonExistentQueue');
const invalidParameter = (message: string) => new SqsFault('InvalidParameterValue', message);
const missingParameter = (name: string) =>
  new SqsFault('MissingParameter', `The request must contain the parameter ${name}.`);
const invalidReceiptHandle = (handle: string) =>
  new SqsFault(
    'ReceiptHandleIsInvalid',
    `The input receipt handle "${handle}" is not a valid receipt handle.`,
    'ReceiptHandleIsInvalid',
    404,
  );

/** Message attributes SQS itself sets, which ReceiveMessage returns on request. */
const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
];
const SYSTEM_ATTRIBUTE_NAMES = new Set([
  'All',
  ...SYSTEM_ATTRIBUTES,
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
]);
const QUEUE_ATTRIBUTE_NAMES = new Set([
  'All',
  'Policy',
  'VisibilityTimeout',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
  'ApproximateNumberOfMessagesDelayed',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'FifoQueue',
  'ContentBasedDeduplication',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'RedriveAllowPolicy',
  'SqsManagedSseEnabled',
]);

function checkRange(value: number, min: number, max: number, label: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`startSqsServer: ${label} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Starts the SQS stand-in on 127.0.0.1 with a random port. */
export async function startSqsServer(options: StartSqsServerOptions = {}): Promise<LocalSqsServer> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  if (!/^\d{12}$/.test(accountId))
    throw new Error(`startSqsServer: accountId must be 12 digits, got ${accountId}`);
  const maxLongPollMs = options.maxLongPollMs ?? 1000;
  const now = options.now ?? Date.now;
  const queues = new Map<string, Queue>();
  const faults: SqsFaultCode[] = [];
  const waiters = new Set<() => void>();
  let closing = false;

  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };

  /**
   * Resolves when a message may have become available: on a send, a delivery or a visibility change, or after
   * `ms` at the latest, which also catches delays and visibility timeouts running out while a receive waits.
   */
  const nextChance = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      timer = setTimeout(done, ms);
      waiters.add(done);
    });

  const queueFor = (url: unknown): Queue => {
    if (url === undefined || url === null || url === '') throw missingParameter('QueueUrl');
    if (typeof url !== 'string') throw invalidParameter('Value for parameter QueueUrl is invalid.');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SqsFault(
        'InvalidAddress',
        `The address ${url} is not valid for this endpoint.`,
        'InvalidAddress',
        404,
      );
    }
    const [, account, name, ...rest] = parsed.pathname.split('/');
    const queue = name === undefined ? undefined : queues.get(name);
    if (queue === undefined || account !== accountId || rest.length > 0) throw queueDoesNotExist();
    return queue;
  };

  const stateOf = (message: StoredMessage, at: number): SqsMessageSnapshot['state'] => {
    if (message.visibleAt <= at) return 'visible';
    return message.receiveCount > 0 ? 'in-flight' : 'delayed';
  };

  const store = (
    queue: Queue,
    body: string,
    attributes: Record<string, SqsAttributeValue>,
    delaySeconds: number,
    senderId: string,
    awsTraceHeader?: string,
  ): StoredMessage => {
    const sent = now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      attributes,
      md5OfBody: md5OfBody(body),
      sentTimestamp: sent,
      senderId,
      awsTraceHeader,
      visibleAt: sent + delaySeconds * 1000,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      receiptHandle: undefined,
    };
    queue.messages.push(message);
    wake();
    return message;
  };

  /** The message a receipt handle names, or why it is not acceptable. */
  const resolveHandle = (
    queue: Queue,
    handle: unknown,
  ): { message: StoredMessage | undefined; handle: string } => {
    if (handle === undefined || handle === null || handle === '') throw missingParameter('ReceiptHandle');
    if (typeof handle !== 'string') throw invalidReceiptHandle(String(handle));
    const decoded = /^([0-9a-f-]{36})\|([A-Za-z0-9_-]{1,80})\|[0-9a-f]{32}$/.exec(
      Buffer.from(handle, 'base64').toString('latin1'),
    );
    if (decoded === null || decoded[2] !== queue.name) throw invalidReceiptHandle(handle);
    // A handle of a message already deleted is still well-formed: SQS accepts deleting it again.
    return { message: queue.messages.find((m) => m.messageId === decoded[1]), handle };
  };

  const deleteByHandle = (queue: Queue, rawHandle: unknown): void => {
    const { message, handle } = resolveHandle(queue, rawHandle);
    // SQS: a delete with an outdated handle "succeeds, but the message might not be deleted". The stand-in
    // takes the strict reading so a client that deletes with a stale handle sees the message come back.
    if (message !== undefined && message.receiptHandle === handle) {
      queue.messages = queue.messages.filter((m) => m !== message);
    }
  };

  const sendMessage = (input: Record<string, unknown>, senderId: string): Record<string, unknown> => {
    const queue = queueFor(input.QueueUrl);
    const body = input.MessageBody;
    if (body === undefined || body === null || body === '') throw missingParameter('MessageBody');
    if (typeof body !== 'string') throw invalidParameter('Value for parameter MessageBody is invalid.');
    const invalidChar = VALID_BODY.test(body) ? undefined : [...body].find((c) => !VALID_BODY.test(c));
    if (invalidChar !== undefined) {
      throw new SqsFault(
        'InvalidMessageContents',
        `Invalid binary character '#x${(invalidChar.codePointAt(0) ?? 0).toString(16).toUpperCase()}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`,
      );
    }
    const delaySeconds = optionalInteger(input, 'DelaySeconds') ?? queue.delaySeconds;
    if (delaySeconds < 0 || delaySeconds > 900) {
      throw invalidParameter(
        `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`,
      );
    }
    const attributes = parseMessageAttributes(input.MessageAttributes);
    const traceHeader = parseTraceHeader(input.MessageSystemAttributes);
    if (payloadBytes(body, attributes) > queue.maximumMessageSize) {
      throw invalidParameter(
        `One or more parameters are invalid. Reason: Message must be shorter than ${queue.maximumMessageSize} bytes.`,
      );
    }
    const message = store(queue, body, attributes, delaySeconds, senderId, traceHeader);
    const md5OfAttributes = md5OfMessageAttributes(attributes);
    const md5OfSystem =
      traceHeader === undefined
        ? undefined
        : md5OfMessageAttributes({ AWSTraceHeader: { dataType: 'String', stringValue: traceHeader } });
    return {
      MD5OfMessageBody: message.md5OfBody,
      ...(md5OfAttributes === undefined ? {} : { MD5OfMessageAttributes: md5OfAttributes }),
      ...(md5OfSystem === undefined ? {} : { MD5OfMessageSystemAttributes: md5OfSystem }),
      MessageId: message.messageId,
    };
  };

  const takeVisible = (queue: Queue, max: number, visibilityTimeout: number): StoredMessage[] => {
    const at = now();
    const taken: StoredMessage[] = [];
    for (const message of queue.messages) {
      if (taken.length >= max) break;
      if (message.visibleAt > at) continue;
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= at;
      message.visibleAt = at + visibilityTimeout * 1000;
      message.receiptHandle = Buffer.from(
        `${message.messageId}|${queue.name}|${randomBytes(16).toString('hex')}`,
        'latin1',
      ).toString('base64');
      taken.push(message);
    }
    return taken;
  };

  const renderMessage = (
    message: StoredMessage,
    systemNames: ReadonlySet<string>,
    attributeNames: readonly string[],
  ): Record<string, unknown> => {
    const all = systemNames.has('All');
    const system: Record<string, string> = {};
    const values: Record<string, string | undefined> = {
      SenderId: message.senderId,
      SentTimestamp: String(message.sentTimestamp),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp:
        message.firstReceiveTimestamp === undefined ? undefined : String(message.firstReceiveTimestamp),
      AWSTraceHeader: message.awsTraceHeader,
    };
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined && (all || systemNames.has(name))) system[name] = value;
    }
    const selected: Record<string, SqsAttributeValue> = {};
    for (const [name, attribute] of Object.entries(message.attributes)) {
      if (attributeNames.some((wanted) => attributeSelected(wanted, name))) selected[name] = attribute;
    }
    const md5OfAttributes = md5OfMessageAttributes(selected);
    return {
      MessageId: message.messageId,
      ReceiptHandle: message.receiptHandle,
      MD5OfBody: message.md5OfBody,
      Body: message.body,
      ...(Object.keys(system).length === 0 ? {} : { Attributes: system }),
      ...(md5OfAttributes === undefined
        ? {}
        : {
            MD5OfMessageAttributes: md5OfAttributes,
            MessageAttributes: Object.fromEntries(
              Object.entries(selected).map(([name, attribute]) => [name, attributeJson(attribute)]),
            ),
          }),
    };
  };

  const receiveMessage = async (input: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const queue = queueFor(input.QueueUrl);
    const max = optionalInteger(input, 'MaxNumberOfMessages') ?? 1;
    if (max < 1 || max > 10) {
      throw invalidParameter(
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const visibilityTimeout = optionalInteger(input, 'VisibilityTimeout') ?? queue.visibilityTimeout;
    if (visibilityTimeout < 0 || visibilityTimeout > 43200) {
      throw invalidParameter(
        `Value ${visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`,
      );
    }
    const waitTimeSeconds = optionalInteger(input, 'WaitTimeSeconds') ?? queue.receiveMessageWaitTimeSeconds;
    if (waitTimeSeconds < 0 || waitTimeSeconds > 20) {
      throw invalidParameter(
        `Value ${waitTimeSeconds} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`,
      );
    }
    // The deprecated AttributeNames and its replacement MessageSystemAttributeNames both select system attributes.
    const systemNames = new Set([
      ...stringList(input, 'AttributeNames'),
      ...stringList(input, 'MessageSystemAttributeNames'),
    ]);
    for (const name of systemNames) {
      if (!SYSTEM_ATTRIBUTE_NAMES.has(name) && !QUEUE_ATTRIBUTE_NAMES.has(name)) {
        throw new SqsFault('InvalidAttributeName', `Unknown Attribute ${name}.`);
      }
    }
    const attributeNames = stringList(input, 'MessageAttributeNames');

    let taken = takeVisible(queue, max, visibilityTimeout);
    const deadline = Date.now() + Math.min(waitTimeSeconds * 1000, maxLongPollMs);
    while (taken.length === 0 && !closing && Date.now() < deadline) {
      await nextChance(Math.min(25, Math.max(0, deadline - Date.now())));
      taken = takeVisible(queue, max, visibilityTimeout);
    }
    return taken.length === 0
      ? {}
      : { Messages: taken.map((m) => renderMessage(m, systemNames, attributeNames)) };
  };

  const deleteMessageBatch = (input: Record<string, unknown>): Record<string, unknown> => {
    const queue = queueFor(input.QueueUrl);
    const entries = input.Entries;
    if (entries !== undefined && !Array.isArray(entries))
      throw invalidParameter('Value for parameter Entries is invalid.');
    if (entries === undefined || entries.length === 0) {
      throw new SqsFault(
        'EmptyBatchRequest',
        'There should be at least one DeleteMessageBatchRequestEntry in the request.',
        'AWS.SimpleQueueService.EmptyBatchRequest',
      );
    }
    if (entries.length > MAX_BATCH_ENTRIES) {
      throw new SqsFault(
        'TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
        'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      );
    }
    const seen = new Set<string>();
    const parsed = entries.map((entry: unknown) => {
      const record = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
      const id = typeof record.Id === 'string' ? record.Id : '';
      if (!BATCH_ENTRY_ID.test(id)) {
        throw new SqsFault(
          'InvalidBatchEntryId',
          'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
          'AWS.SimpleQueueService.InvalidBatchEntryId',
        );
      }
      if (seen.has(id)) {
        throw new SqsFault(
          'BatchEntryIdsNotDistinct',
          `Id ${id} repeated.`,
          'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
        );
      }
      seen.add(id);
      return { id, handle: record.ReceiptHandle };
    });
    const successful: Record<string, unknown>[] = [];
    const failed: Record<string, unknown>[] = [];
    for (const { id, handle } of parsed) {
      try {
        deleteByHandle(queue, handle);
        successful.push({ Id: id });
      } catch (error) {
        if (!(error instanceof SqsFault)) throw error;
        failed.push({
          Id: id,
          SenderFault: error.type === 'Sender',
          Code: error.code,
          Message: error.message,
        });
      }
    }
    return { Successful: successful, Failed: failed };
  };

  const changeMessageVisibility = (input: Record<string, unknown>): Record<string, unknown> => {
    const queue = queueFor(input.QueueUrl);
    const { message, handle } = resolveHandle(queue, input.ReceiptHandle);
    const timeout = optionalInteger(input, 'VisibilityTimeout');
    if (timeout === undefined) throw missingParameter('VisibilityTimeout');
    if (timeout < 0 || timeout > 43200) {
      throw invalidParameter(
        `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`,
      );
    }
    if (message === undefined || message.receiptHandle !== handle) {
      throw new SqsFault(
        'ReceiptHandleIsInvalid',
        `Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`,
        'ReceiptHandleIsInvalid',
        404,
      );
    }
    const at = now();
    if (message.visibleAt <= at) {
      throw new SqsFault(
        'MessageNotInflight',
        'Message does not exist or is not available for visibility timeout change.',
        'AWS.SimpleQueueService.MessageNotInflight',
      );
    }
    message.visibleAt = at + timeout * 1000;
    if (timeout === 0) wake();
    return {};
  };

  const getQueueUrl = (input: Record<string, unknown>): Record<string, unknown> => {
    const name = input.QueueName;
    if (name === undefined || name === null || name === '') throw missingParameter('QueueName');
    const owner = input.QueueOwnerAWSAccountId;
    const queue = typeof name === 'string' ? queues.get(name) : undefined;
    if (queue === undefined || (owner !== undefined && owner !== accountId)) throw queueDoesNotExist();
    return { QueueUrl: queue.url };
  };

  const getQueueAttributes = (input: Record<string, unknown>): Record<string, unknown> => {
    const queue = queueFor(input.QueueUrl);
    const names = stringList(input, 'AttributeNames');
    for (const name of names) {
      if (!QUEUE_ATTRIBUTE_NAMES.has(name))
        throw new SqsFault('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
    const at = now();
    const counts = { visible: 0, 'in-flight': 0, delayed: 0 };
    for (const message of queue.messages) counts[stateOf(message, at)] += 1;
    const created = String(Math.floor(queue.createdTimestamp / 1000));
    const values: Record<string, string> = {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts['in-flight']),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: created,
      LastModifiedTimestamp: created,
      VisibilityTimeout: String(queue.visibilityTimeout),
      MaximumMessageSize: String(queue.maximumMessageSize),
      MessageRetentionPeriod: String(QUEUE_DEFAULTS.messageRetentionPeriod),
      DelaySeconds: String(queue.delaySeconds),
      ReceiveMessageWaitTimeSeconds: String(queue.receiveMessageWaitTimeSeconds),
      SqsManagedSseEnabled: 'true',
    };
    const all = names.includes('All');
    const attributes = Object.fromEntries(
      Object.entries(values).filter(([name]) => all || names.includes(name)),
    );
    return Object.keys(attributes).length === 0 ? {} : { Attributes: attributes };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    try {
      const body = await readSignedRequest(req, MAX_REQUEST_BYTES, (problem) => {
        switch (problem) {
          case 'too-large':
            return invalidParameter('One or more parameters are invalid. Reason: Request body too large.');
          case 'missing-auth':
            return new SqsFault(
              'MissingAuthenticationToken',
              'Request is missing Authentication Token',
              'MissingAuthenticationToken',
              403,
            );
          case 'incomplete-auth':
            return new SqsFault('IncompleteSignature', INCOMPLETE_SIGNATURE_MESSAGE);
        }
      });
      const operation = jsonTargetOperation(req, [TARGET_PREFIX]);
      const input = parseJsonObject(body);
      if (input === undefined)
        throw new SqsFault('SerializationException', 'Request body is not a JSON object.');
      const fault = faults.shift();
      if (fault === 'InternalError')
        throw new SqsFault(
          'InternalError',
          'We encountered an internal error. Please try again.',
          'InternalError',
          500,
        );
      if (fault === 'RequestThrottled')
        throw new SqsFault('RequestThrottled', 'Request is throttled.', 'RequestThrottled', 403);
      const senderId = senderOf(req);
      let output: Record<string, unknown>;
      switch (operation) {
        case 'SendMessage':
          output = sendMessage(input, senderId);
          break;
        case 'ReceiveMessage':
          output = await receiveMessage(input);
          break;
        case 'DeleteMessage':
          deleteByHandle(queueFor(input.QueueUrl), input.ReceiptHandle);
          output = {};
          break;
        case 'DeleteMessageBatch':
          output = deleteMessageBatch(input);
          break;
        case 'ChangeMessageVisibility':
          output = changeMessageVisibility(input);
          break;
        case 'GetQueueUrl':
          output = getQueueUrl(input);
          break;
        case 'GetQueueAttributes':
          output = getQueueAttributes(input);
          break;
        default:
          throw new SqsFault(
            'UnknownOperationException',
            `local SQS stand-in does not implement ${operation ?? String(req.headers['x-amz-target'] ?? '(no X-Amz-Target)')}`,
          );
      }
      send(res, 200, CONTENT_TYPE, JSON.stringify(output), { 'x-amzn-requestid': requestId });
    } catch (err) {
      if (!(err instanceof SqsFault)) throw err;
      send(
        res,
        err.status,
        CONTENT_TYPE,
        JSON.stringify({ __type: `com.amazonaws.sqs#${err.shape}`, message: err.message }),
        {
          'x-amzn-requestid': requestId,
          'x-amzn-query-error': `${err.code};${err.type}`,
        },
      );
    }
  };

  // Configuration is checked before listening, so a bad one leaves no server behind.
  const configs = (options.queues ?? []).map((entry) =>
    typeof entry === 'string' ? { name: entry } : entry,
  );
  const names = new Set<string>();
  for (const config of configs) {
    if (!QUEUE_NAME.test(config.name)) {
      throw new Error(
        `startSqsServer: invalid standard queue name '${config.name}' (FIFO queues are not modelled)`,
      );
    }
    if (names.has(config.name)) throw new Error(`startSqsServer: queue '${config.name}' configured twice`);
    names.add(config.name);
    checkRange(config.visibilityTimeout ?? 0, 0, 43200, `${config.name}.visibilityTimeout`);
    checkRange(config.delaySeconds ?? 0, 0, 900, `${config.name}.delaySeconds`);
    checkRange(
      config.receiveMessageWaitTimeSeconds ?? 0,
      0,
      20,
      `${config.name}.receiveMessageWaitTimeSeconds`,
    );
    checkRange(config.maximumMessageSize ?? 1024, 1024, 262144, `${config.name}.maximumMessageSize`);
  }

  const started = await listenOnLoopback(handle);
  const created = now();
  for (const config of configs) {
    queues.set(config.name, {
      name: config.name,
      url: `${started.endpoint}/${accountId}/${config.name}`,
      arn: `arn:aws:sqs:${region}:${accountId}:${config.name}`,
      visibilityTimeout: config.visibilityTimeout ?? QUEUE_DEFAULTS.visibilityTimeout,
      delaySeconds: config.delaySeconds ?? QUEUE_DEFAULTS.delaySeconds,
      receiveMessageWaitTimeSeconds:
        config.receiveMessageWaitTimeSeconds ?? QUEUE_DEFAULTS.receiveMessageWaitTimeSeconds,
      maximumMessageSize: config.maximumMessageSize ?? QUEUE_DEFAULTS.maximumMessageSize,
      createdTimestamp: created,
      messages: [],
    });
  }

  const configured = (name: string): Queue => {
    const queue = queues.get(name);
    if (queue === undefined) throw new Error(`local SQS: no queue named '${name}'`);
    return queue;
  };

  return {
    endpoint: started.endpoint,
    accountId,
    region,
    queueUrl: (name) => configured(name).url,
    queueArn: (name) => configured(name).arn,
    deliver(name, body, attributes = {}) {
      const queue = configured(name);
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const parsed: Record<string, SqsAttributeValue> = {};
      for (const [key, value] of Object.entries(attributes)) {
        parsed[key] = typeof value === 'string' ? { dataType: 'String', stringValue: value } : { ...value };
      }
      // EventBridge writes to a dead-letter queue as the events service principal.
      return store(queue, text, parsed, 0, 'AIDAIEVENTBRIDGEDLQ0000').messageId;
    },
    messages(name) {
      const at = now();
      return configured(name).messages.map((m) => ({
        messageId: m.messageId,
        body: m.body,
        attributes: structuredClone(m.attributes),
        md5OfBody: m.md5OfBody,
        sentTimestamp: m.sentTimestamp,
        receiveCount: m.receiveCount,
        state: stateOf(m, at),
        senderId: m.senderId,
      }));
    },
    failNext(count = 1, code: SqsFaultCode = 'InternalError') {
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`failNext: count must be >= 1, got ${count}`);
      if (code !== 'InternalError' && code !== 'RequestThrottled')
        throw new Error(`failNext: unsupported fault ${code}`);
      for (let i = 0; i < count; i += 1) faults.push(code);
    },
    reset() {
      for (const queue of queues.values()) queue.messages = [];
      faults.length = 0;
    },
    async close() {
      closing = true;
      wake();
      await started.close();
    },
  };
}

// ---- request parsing --------------------------------------------------------------------------------------

/** SQS's SenderId: the access key's owner. The stand-in has no IAM, so it shows the access key id. */
function senderOf(req: http.IncomingMessage): string {
  const credential = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '');
  return credential?.[1] ?? 'anonymous';
}

function optionalInteger(input: Record<string, unknown>, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidParameter(
      `Value ${String(value)} for parameter ${name} is invalid. Reason: must be an integer.`,
    );
  }
  return value;
}

function stringList(input: Record<string, unknown>, name: string): string[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw invalidParameter(`Value for parameter ${name} is invalid.`);
  }
  return value;
}

/** `All`, `.*`, an exact name, or a `prefix.*` pattern, as ReceiveMessage's MessageAttributeNames accepts. */
function attributeSelected(wanted: string, name: string): boolean {
  if (wanted === 'All' || wanted === '.*') return true;
  if (wanted.endsWith('.*')) return name.startsWith(wanted.slice(0, -1));
  return wanted === name;
}

function attributeJson(attribute: SqsAttributeValue): Record<string, string> {
  return attribute.binaryValue === undefined
    ? { DataType: attribute.dataType, StringValue: attribute.stringValue ?? '' }
    : { DataType: attribute.dataType, BinaryValue: attribute.binaryValue.toString('base64') };
}

/**
 * Message attributes of a SendMessage, checked as SQS documents them: at most 10, names of letters, digits,
 * `_`, `-` and `.` (not at either end, no `..`, no `AWS.`/`Amazon.` prefix), a String/Number/Binary type with
 * an optional `.custom` suffix, and a non-empty value of the matching kind. The wording is SQS's where known.
 */
function parseMessageAttributes(raw: unknown): Record<string, SqsAttributeValue> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalidParameter('Value for parameter MessageAttributes is invalid.');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw invalidParameter(
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  const attributes: Record<string, SqsAttributeValue> = {};
  for (const [name, value] of entries) {
    if (
      !ATTRIBUTE_NAME.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..') ||
      /^(aws|amazon)\./i.test(name)
    ) {
      throw invalidParameter(`Message (user) attribute name '${name}' is invalid.`);
    }
    const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    const dataType = typeof v.DataType === 'string' ? v.DataType : '';
    if (dataType === '') {
      throw invalidParameter(
        `The message attribute '${name}' must contain a non-empty message attribute type.`,
      );
    }
    const base = /^(String|Number|Binary)(\..+)?$/.exec(dataType)?.[1];
    if (base === undefined || dataType.length > 256) {
      throw invalidParameter(
        `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
    if (base === 'Binary') {
      const binary = typeof v.BinaryValue === 'string' ? Buffer.from(v.BinaryValue, 'base64') : undefined;
      if (binary === undefined || binary.length === 0) {
        throw invalidParameter(
          `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${dataType}'.`,
        );
      }
      attributes[name] = { dataType, binaryValue: binary };
      continue;
    }
    const text = typeof v.StringValue === 'string' ? v.StringValue : '';
    if (text === '') {
      throw invalidParameter(
        `The message attribute '${name}' must contain a non-empty message attribute value for message attribute type '${dataType}'.`,
      );
    }
    if (base === 'Number' && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
      throw invalidParameter(`Can't convert the message attribute '${name}' to type 'Number'.`);
    }
    attributes[name] = { dataType, stringValue: text };
  }
  return attributes;
}

/** MessageSystemAttributes of a send: only AWSTraceHeader exists, a String. */
function parseTraceHeader(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  const entries = Object.entries(typeof raw === 'object' ? (raw as Record<string, unknown>) : {});
  for (const [name] of entries) {
    if (name !== 'AWSTraceHeader')
      throw invalidParameter(`Message system attribute name '${name}' is invalid.`);
  }
  const trace = (raw as Record<string, { StringValue?: unknown } | undefined>).AWSTraceHeader;
  return typeof trace?.StringValue === 'string' ? trace.StringValue : undefined;
}

/** What counts against MaximumMessageSize: the body plus every attribute's name, type and value. */
function payloadBytes(body: string, attributes: Record<string, SqsAttributeValue>): number {
  let total = Buffer.byteLength(body, 'utf8');
  for (const [name, attribute] of Object.entries(attributes)) {
    total += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attribute.dataType, 'utf8');
    total += attribute.binaryValue?.length ?? Buffer.byteLength(attribute.stringValue ?? '', 'utf8');
  }
  return total;
}
