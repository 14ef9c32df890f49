import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import {
  FaultCounter,
  INCOMPLETE_SIGNATURE_MESSAGE,
  listenOnLoopback,
  newRequestId,
  readSignedRequest,
  send,
  xmlEscape,
} from '../http-util';

/**
 * Local stand-in for Amazon SNS, enough of it for PolicyGate's notifier: Publish and CreateTopic.
 *
 * The installed `@aws-sdk/client-sns` speaks the AWS Query protocol (form-encoded request, XML response), so
 * that is the primary wire format. The AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSimpleNotificationService.*`,
 * query-compatible errors) is answered too, so a later SDK that switches SNS to JSON keeps working.
 */

const XML_NS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const JSON_TARGET_PREFIX = 'AmazonSimpleNotificationService.';
/** SNS caps a message, attributes included, at 256 KiB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_SUBJECT_LENGTH = 100;
// Form encoding can triple a message's size; anything past this cannot be a valid publish.
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$/;
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;
const ATTRIBUTE_TYPE = /^(String|Number|Binary|String\.Array)(\..+)?$/;

/** One message attribute as SNS received it. */
export interface PublishedAttribute {
  dataType: string;
  stringValue?: string;
  binaryValue?: Buffer;
}

/** A message that SNS accepted, as parsed by the stand-in. */
export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  message: string;
  subject: string | undefined;
  messageStructure: string | undefined;
  messageAttributes: Record<string, PublishedAttribute>;
  /** Which wire protocol the client used. */
  protocol: 'query' | 'json';
  receivedAt: Date;
}

export interface StartSnsServerOptions {
  /** Topic ARNs that exist from the start. */
  topics?: string[];
  /** Region and account for ARNs made by CreateTopic / {@link LocalSnsServer.createTopic}. */
  region?: string;
  accountId?: string;
  /** Messages accepted before (a restart of the sandbox keeps its mailbox), oldest first. */
  messages?: readonly PublishedMessage[];
}

export interface LocalSnsServer {
  /** Base URL for `new SNSClient({ endpoint })` or `AWS_ENDPOINT_URL_SNS`. */
  readonly endpoint: string;
  /** Every accepted publish, oldest first. */
  readonly messages: readonly PublishedMessage[];
  /** Existing topic ARNs. */
  readonly topics: ReadonlySet<string>;
  /** Creates (or returns the existing) topic `name` and returns its ARN, as CreateTopic does. */
  createTopic(name: string): string;
  /**
   * Makes the next `count` signed requests fail with a 500 `InternalError`. The SDK retries 5xx by itself,
   * so a test that wants the failure to surface should build its client with `maxAttempts: 1`.
   */
  failNext(count?: number): void;
  /** Forgets recorded messages (topics stay). */
  clearMessages(): void;
  close(): Promise<void>;
}

type Protocol = 'query' | 'json';

/** An error SNS would answer with, in both of its wire shapes. */
class SnsFault {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly jsonType: string = `${code}Exception`,
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {}
}

const invalidParameter = (message: string) =>
  new SnsFault(400, 'InvalidParameter', `Invalid parameter: ${message}`);
const invalidAttribute = (message: string) =>
  new SnsFault(400, 'ParameterValueInvalid', message, 'InvalidParameterValueException');

interface RawPublish {
  TopicArn?: string;
  TargetArn?: string;
  PhoneNumber?: string;
  Message?: string;
  Subject?: string;
  MessageStructure?: string;
  MessageAttributes: Map<string, { DataType?: string; StringValue?: string; BinaryValue?: Buffer }>;
}

/** Starts the SNS stand-in on 127.0.0.1 with a random port. */
export async function startSnsServer(options: StartSnsServerOptions = {}): Promise<LocalSnsServer> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const topics = new Set<string>();
  for (const arn of options.topics ?? []) {
    if (!TOPIC_ARN.test(arn)) throw new Error(`startSnsServer: not an SNS topic ARN: ${arn}`);
    topics.add(arn);
  }
  const messages: PublishedMessage[] = [...(options.messages ?? [])];
  const faults = new FaultCounter();

  const createTopic = (name: string): string => {
    if (!TOPIC_NAME.test(name)) throw invalidParameter('Topic Name');
    const arn = `arn:aws:sns:${region}:${accountId}:${name}`;
    topics.add(arn);
    return arn;
  };

  const publish = (input: RawPublish, protocol: Protocol): string => {
    if (input.TargetArn !== undefined || input.PhoneNumber !== undefined) {
      throw invalidParameter('local SNS stand-in supports TopicArn only, not TargetArn or PhoneNumber');
    }
    const topicArn = input.TopicArn;
    if (topicArn === undefined || topicArn === '') {
      throw invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
    }
    if (!TOPIC_ARN.test(topicArn)) throw invalidParameter('TopicArn');
    const message = input.Message;
    if (message === undefined || message === '') throw invalidParameter('Empty message');
    const subject = input.Subject;
    // SNS subjects are printable ASCII without line breaks, at most 100 characters.
    if (
      subject !== undefined &&
      (subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH || !/^[\x20-\x7e]+$/.test(subject))
    ) {
      throw invalidParameter('Subject');
    }
    if (input.MessageStructure !== undefined) validateMessageStructure(input.MessageStructure, message);
    const attributes = parseAttributes(input.MessageAttributes);
    if (payloadBytes(message, attributes) > MAX_MESSAGE_BYTES) throw invalidParameter('Message too long');
    if (!topics.has(topicArn)) throw new SnsFault(404, 'NotFound', 'Topic does not exist');
    const messageId = randomUUID();
    messages.push({
      messageId,
      topicArn,
      message,
      subject,
      messageStructure: input.MessageStructure,
      messageAttributes: attributes,
      protocol,
      receivedAt: new Date(),
    });
    return messageId;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    const protocol: Protocol =
      req.headers['x-amz-target'] !== undefined ||
      (req.headers['content-type'] ?? '').startsWith('application/x-amz-json')
        ? 'json'
        : 'query';
    const reply = (result: Record<string, string>, action: string) =>
      protocol === 'json'
        ? sendJsonResult(res, requestId, result)
        : sendQueryResult(res, requestId, action, result);
    try {
      const body = await readSignedRequest(req, MAX_REQUEST_BYTES, (problem) => {
        switch (problem) {
          case 'too-large':
            return invalidParameter('Message too long');
          case 'missing-auth':
            return new SnsFault(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
          case 'incomplete-auth':
            return new SnsFault(400, 'IncompleteSignature', INCOMPLETE_SIGNATURE_MESSAGE);
        }
      });
      if (faults.take()) throw new SnsFault(500, 'InternalError', 'Internal Error', 'InternalErrorException');
      const { action, params } =
        protocol === 'json' ? parseJsonRequest(req, body) : parseQueryRequest(req, body);
      switch (action) {
        case 'Publish':
          reply({ MessageId: publish(params, protocol) }, action);
          return;
        case 'CreateTopic':
          reply({ TopicArn: createTopic(asString(params.Name) ?? '') }, action);
          return;
        default:
          throw new SnsFault(
            400,
            'InvalidAction',
            `Could not find operation ${action} for version 2010-03-31 (local SNS stand-in supports Publish and CreateTopic)`,
            'InvalidAction',
          );
      }
    } catch (err) {
      if (!(err instanceof SnsFault)) throw err;
      if (protocol === 'json') sendJsonFault(res, requestId, err);
      else sendQueryFault(res, requestId, err);
    }
  };

  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    messages,
    topics,
    createTopic(name: string): string {
      try {
        return createTopic(name);
      } catch (err) {
        if (err instanceof SnsFault) throw new Error(`createTopic: ${err.message}`);
        throw err;
      }
    },
    failNext: (count = 1) => faults.failNext(count),
    clearMessages: () => {
      messages.length = 0;
    },
    close: started.close,
  };
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function validateMessageStructure(structure: string, message: string): void {
  if (structure !== 'json') throw invalidParameter('MessageStructure');
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw invalidParameter('Message Structure - JSON message body failed to parse');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidParameter('Message Structure - JSON message body failed to parse');
  }
  if (typeof (parsed as Record<string, unknown>).default !== 'string') {
    throw invalidParameter('Message Structure - No default entry in JSON message body');
  }
}

function parseAttributes(raw: RawPublish['MessageAttributes']): Record<string, PublishedAttribute> {
  const out: Record<string, PublishedAttribute> = {};
  for (const [name, value] of raw) {
    if (name === '' || name.length > 256)
      throw invalidAttribute(`The message attribute name '${name}' is invalid.`);
    const dataType = value.DataType;
    if (dataType === undefined || dataType === '') {
      throw invalidAttribute(
        `The message attribute '${name}' must contain non-empty message attribute type.`,
      );
    }
    const base = ATTRIBUTE_TYPE.exec(dataType)?.[1];
    if (base === undefined) {
      throw invalidAttribute(
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    if (base === 'Binary') {
      if (value.BinaryValue === undefined || value.BinaryValue.length === 0) {
        throw invalidAttribute(
          `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
        );
      }
      out[name] = { dataType, binaryValue: value.BinaryValue };
      continue;
    }
    const text = value.StringValue;
    if (text === undefined || text === '') {
      throw invalidAttribute(
        `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`,
      );
    }
    if (base === 'Number' && !Number.isFinite(Number(text))) {
      throw invalidAttribute(`The message attribute '${name}' has an invalid numeric value '${text}'.`);
    }
    if (base === 'String.Array') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed)) {
        throw invalidAttribute(
          `The message attribute '${name}' with type 'String.Array' must be a JSON array.`,
        );
      }
    }
    out[name] = { dataType, stringValue: text };
  }
  return out;
}

function payloadBytes(message: string, attributes: Record<string, PublishedAttribute>): number {
  let total = Buffer.byteLength(message, 'utf8');
  for (const [name, attr] of Object.entries(attributes)) {
    total += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attr.dataType, 'utf8');
    total += attr.binaryValue?.length ?? Buffer.byteLength(attr.stringValue ?? '', 'utf8');
  }
  return total;
}

/** Query protocol: form fields (body, or URL for GET), `MessageAttributes.entry.N.{Name,Value.*}`. */
function parseQueryRequest(
  req: http.IncomingMessage,
  body: Buffer,
): { action: string; params: RawPublish & Record<string, unknown> } {
  const form = new URLSearchParams(new URL(req.url ?? '/', 'http://local').search);
  for (const [key, value] of new URLSearchParams(body.toString('utf8'))) form.set(key, value);
  const fields: Record<string, string> = {};
  for (const [key, value] of form) fields[key] = value;

  const attributes: RawPublish['MessageAttributes'] = new Map();
  for (let i = 1; fields[`MessageAttributes.entry.${i}.Name`] !== undefined; i++) {
    const prefix = `MessageAttributes.entry.${i}.Value.`;
    const binary = fields[`${prefix}BinaryValue`];
    attributes.set(fields[`MessageAttributes.entry.${i}.Name`] as string, {
      DataType: fields[`${prefix}DataType`],
      StringValue: fields[`${prefix}StringValue`],
      BinaryValue: binary === undefined ? undefined : Buffer.from(binary, 'base64'),
    });
  }
  return {
    action: fields.Action ?? '',
    params: {
      ...fields,
      TopicArn: fields.TopicArn,
      TargetArn: fields.TargetArn,
      PhoneNumber: fields.PhoneNumber,
      Message: fields.Message,
      Subject: fields.Subject,
      MessageStructure: fields.MessageStructure,
      MessageAttributes: attributes,
    },
  };
}

/** JSON 1.0 protocol: operation from `X-Amz-Target`, members as JSON, blobs base64. */
function parseJsonRequest(
  req: http.IncomingMessage,
  body: Buffer,
): { action: string; params: RawPublish & Record<string, unknown> } {
  const target = String(req.headers['x-amz-target'] ?? '');
  const action = target.startsWith(JSON_TARGET_PREFIX) ? target.slice(JSON_TARGET_PREFIX.length) : '';
  let parsed: unknown;
  try {
    parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new SnsFault(
      400,
      'SerializationException',
      'Request body is not valid JSON',
      'SerializationException',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SnsFault(
      400,
      'SerializationException',
      'Request body must be a JSON object',
      'SerializationException',
    );
  }
  const fields = parsed as Record<string, unknown>;
  const attributes: RawPublish['MessageAttributes'] = new Map();
  const rawAttributes = fields.MessageAttributes;
  if (typeof rawAttributes === 'object' && rawAttributes !== null) {
    for (const [name, value] of Object.entries(rawAttributes as Record<string, unknown>)) {
      const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
      const binary = asString(v.BinaryValue);
      attributes.set(name, {
        DataType: asString(v.DataType),
        StringValue: asString(v.StringValue),
        BinaryValue: binary === undefined ? undefined : Buffer.from(binary, 'base64'),
      });
    }
  }
  return {
    action,
    params: {
      ...fields,
      TopicArn: asString(fields.TopicArn),
      TargetArn: asString(fields.TargetArn),
      PhoneNumber: asString(fields.PhoneNumber),
      Message: asString(fields.Message),
      Subject: asString(fields.Subject),
      MessageStructure: asString(fields.MessageStructure),
      MessageAttributes: attributes,
    },
  };
}

function sendQueryResult(
  res: http.ServerResponse,
  requestId: string,
  action: string,
  result: Record<string, string>,
): void {
  const members = Object.entries(result)
    .map(([key, value]) => `<${key}>${xmlEscape(value)}</${key}>`)
    .join('');
  const xml =
    `<${action}Response xmlns="${XML_NS}"><${action}Result>${members}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  send(res, 200, 'text/xml', xml, { 'x-amzn-requestid': requestId });
}

function sendQueryFault(res: http.ServerResponse, requestId: string, fault: SnsFault): void {
  const xml =
    `<ErrorResponse xmlns="${XML_NS}"><Error><Type>${fault.type}</Type><Code>${xmlEscape(fault.code)}</Code>` +
    `<Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  send(res, fault.status, 'text/xml', xml, { 'x-amzn-requestid': requestId });
}

function sendJsonResult(res: http.ServerResponse, requestId: string, result: Record<string, string>): void {
  send(res, 200, 'application/x-amz-json-1.0', JSON.stringify(result), { 'x-amzn-requestid': requestId });
}

function sendJsonFault(res: http.ServerResponse, requestId: string, fault: SnsFault): void {
  const body = JSON.stringify({ __type: `com.amazonaws.sns#${fault.jsonType}`, message: fault.message });
  send(res, fault.status, 'application/x-amz-json-1.0', body, {
    'x-amzn-requestid': requestId,
    // Query-compatible JSON services carry the classic error code here; the SDK maps errors by it.
    'x-amzn-query-error': `${fault.code};${fault.type}`,
  });
}
