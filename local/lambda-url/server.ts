import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { BodyTooLargeError, listenOnLoopback, readBody, send } from '../http-util';

/**
 * Local front end for an AWS Lambda Function URL (auth type NONE): each HTTP request becomes a payload
 * format 2.0 event, the handler runs in-process, and its result is written back the way Function URLs map
 * it. This lets Bolt's `AwsLambdaReceiver` (or any Function URL handler) be driven over real HTTP.
 */

/** Function URLs reject request payloads above 6 MB. */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;
const INTERNAL_ERROR_BODY = JSON.stringify({ Message: 'Internal Server Error' });

/** A Function URL event, payload format version 2.0. */
export interface LambdaUrlEvent {
  version: '2.0';
  routeKey: '$default';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: '$default';
    stage: '$default';
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

/** The Lambda context object handed to the handler. */
export interface LambdaContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  getRemainingTimeInMillis(): number;
}

/**
 * A Function URL handler. Parameters are `any` because handlers type their events themselves (Bolt's
 * `AwsEvent`, `aws-lambda` types, or {@link LambdaUrlEvent}).
 */
// biome-ignore lint/suspicious/noExplicitAny: see above; the stand-in must accept any handler signature
export type LambdaUrlHandler = (event: any, context: any) => Promise<unknown>;

export interface StartLambdaUrlServerOptions {
  functionName?: string;
  region?: string;
  /** Owner account, for the function ARN. The event's `requestContext.accountId` stays 'anonymous' (auth NONE). */
  accountId?: string;
  /** The function timeout: a handler still running after it gets a 502, as from a timed-out function. Default 30 s. */
  timeoutSeconds?: number;
  memoryLimitInMB?: number;
  /** Port on 127.0.0.1; default one the OS picks. A restarted sandbox keeps its URLs (links in e-mails). */
  port?: number;
}

export interface LocalLambdaUrlServer {
  /** Base URL of the function, with a trailing slash like real Function URLs. */
  readonly url: string;
  /** How often the handler has been invoked. */
  readonly invocations: number;
  /** Every event the handler received, oldest first. */
  readonly events: readonly LambdaUrlEvent[];
  /** Settles once the handler invocations under way have ended (a closed server's included). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Alias of {@link LocalLambdaUrlServer}. */
export type LambdaUrlServer = LocalLambdaUrlServer;

/** Structured result: used as the HTTP response when the handler returns an object with `statusCode`. */
interface StructuredResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
  isBase64Encoded?: boolean;
  cookies?: string[];
}

/** Content types Lambda passes as text; anything else (or none) is base64-encoded. */
function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mime = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return (
    mime.startsWith('text/') ||
    mime === 'application/json' ||
    mime.endsWith('+json') ||
    mime === 'application/xml' ||
    mime.endsWith('+xml') ||
    mime === 'application/javascript' ||
    mime === 'application/x-www-form-urlencoded' ||
    mime === 'application/yaml' ||
    mime === 'application/graphql'
  );
}

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function clfTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(
    date.getUTCHours(),
  )}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Builds the 2.0 event for one request. Exported for tests that want an event without a server. */
export function toLambdaUrlEvent(
  req: http.IncomingMessage,
  body: Buffer,
  info: { apiId: string; domainName: string; requestId: string; now: Date },
): LambdaUrlEvent {
  // Maps, then own properties: a header or query name `constructor` or `__proto__` is data in the event
  // Lambda builds (JSON-parsed), never an inherited member read or a prototype write.
  const headerMap = new Map<string, string>();
  let cookieHeader: string | undefined;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    if (name === 'cookie') {
      cookieHeader = cookieHeader === undefined ? value : `${cookieHeader}; ${value}`;
      continue;
    }
    const seen = headerMap.get(name);
    headerMap.set(name, seen === undefined ? value : `${seen},${value}`);
  }
  const headers: Record<string, string> = Object.fromEntries(headerMap);
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  headers['x-forwarded-for'] = sourceIp;
  headers['x-forwarded-proto'] = 'https';
  headers['x-forwarded-port'] = '443';
  headers['x-amzn-trace-id'] =
    `Root=1-${Math.floor(info.now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  const rawUrl = req.url ?? '/';
  const queryIndex = rawUrl.indexOf('?');
  const rawPath = queryIndex === -1 ? rawUrl : rawUrl.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? '' : rawUrl.slice(queryIndex + 1);
  const queryMap = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    const seen = queryMap.get(key);
    queryMap.set(key, seen === undefined ? value : `${seen},${value}`);
  }
  const query: Record<string, string> = Object.fromEntries(queryMap);
  const cookies = cookieHeader
    ?.split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '');

  const event: LambdaUrlEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    ...(cookies === undefined || cookies.length === 0 ? {} : { cookies }),
    headers,
    ...(Object.keys(query).length === 0 ? {} : { queryStringParameters: query }),
    requestContext: {
      accountId: 'anonymous',
      apiId: info.apiId,
      domainName: info.domainName,
      domainPrefix: info.apiId,
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: info.requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(info.now),
      timeEpoch: info.now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (body.length > 0) {
    const textual = isTextual(headers['content-type']);
    event.body = textual ? body.toString('utf8') : body.toString('base64');
    event.isBase64Encoded = !textual;
  }
  return event;
}

function isStructured(value: unknown): value is StructuredResult {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'statusCode' in value;
}

/**
 * Starts a Function URL front end for `handler` on 127.0.0.1 with a random port.
 *
 * Result mapping follows Function URLs: an object with `statusCode` is the response (headers, body,
 * `isBase64Encoded`, `cookies` as Set-Cookie); any other value is a 200 `application/json` body of its JSON;
 * a thrown error or a timeout is a 502 `{"Message":"Internal Server Error"}`.
 */
export async function startLambdaUrlServer(
  handler: LambdaUrlHandler,
  options: StartLambdaUrlServerOptions = {},
): Promise<LocalLambdaUrlServer> {
  const functionName = options.functionName ?? 'policy-gate-local';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const timeoutMs = (options.timeoutSeconds ?? 30) * 1000;
  const apiId = randomBytes(16).toString('hex').slice(0, 32);
  const domainName = `${apiId}.lambda-url.${region}.on.aws`;
  const events: LambdaUrlEvent[] = [];
  let invocations = 0;
  const pendingTimers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let body: Buffer;
    try {
      body = await readBody(req, MAX_REQUEST_BYTES);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      send(
        res,
        413,
        'application/json',
        JSON.stringify({
          Message: `Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the InvokeFunction operation`,
        }),
      );
      return;
    }
    const requestId = randomUUID();
    const now = new Date();
    const event = toLambdaUrlEvent(req, body, { apiId, domainName, requestId, now });
    events.push(structuredClone(event));
    const deadline = Date.now() + timeoutMs;
    const context: LambdaContext = {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
      memoryLimitInMB: String(options.memoryLimitInMB ?? 256),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: `${now.toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${randomBytes(16).toString('hex')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    invocations += 1;

    let result: unknown;
    let timer: NodeJS.Timeout | undefined;
    try {
      const invocation = Promise.resolve().then(() => handler(event, context));
      running.add(invocation);
      const settled = () => running.delete(invocation);
      invocation.then(settled, settled);
      result = await Promise.race([
        invocation,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('Task timed out')), timeoutMs);
          pendingTimers.add(timer);
        }),
      ]);
    } catch {
      send(res, 502, 'application/json', INTERNAL_ERROR_BODY, {
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': 'Unhandled',
      });
      return;
    } finally {
      if (timer !== undefined) {
        clearTimeout(timer);
        pendingTimers.delete(timer);
      }
    }
    writeResult(res, result, requestId);
  };

  const started = await listenOnLoopback(handle, options.port ?? 0);
  return {
    url: `${started.endpoint}/`,
    get invocations() {
      return invocations;
    },
    get events() {
      return events;
    },
    drain: async () => {
      await Promise.allSettled([...running]);
    },
    close: async () => {
      for (const timer of pendingTimers) clearTimeout(timer);
      pendingTimers.clear();
      await started.close();
    },
  };
}

function writeResult(res: http.ServerResponse, result: unknown, requestId: string): void {
  if (!isStructured(result)) {
    // JSON.stringify(undefined) is undefined; Lambda serialises a missing result as null.
    send(res, 200, 'application/json', JSON.stringify(result) ?? 'null', { 'x-amzn-requestid': requestId });
    return;
  }
  const status = Number(result.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    send(res, 502, 'application/json', INTERNAL_ERROR_BODY, { 'x-amzn-requestid': requestId });
    return;
  }
  const headers: Record<string, string | string[]> = {};
  let hasContentType = false;
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding') continue;
    if (lower === 'content-type') hasContentType = true;
    headers[lower] = String(value);
  }
  if (!hasContentType) headers['content-type'] = 'application/json';
  if (Array.isArray(result.cookies) && result.cookies.length > 0)
    headers['set-cookie'] = result.cookies.map(String);
  const rawBody = typeof result.body === 'string' ? result.body : '';
  const payload =
    result.isBase64Encoded === true ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8');
  res.writeHead(status, { ...headers, 'content-length': payload.length, 'x-amzn-requestid': requestId });
  res.end(payload);
}
