import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Raised by {@link readBody} when a request body passes the server's cap. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a whole request body, keeping at most `limit` bytes so a runaway client cannot make a test process
 * buffer without bound. An oversized body is still read to its end (and dropped) so the client gets a proper
 * error response rather than a reset connection.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      if (size > limit) reject(new BodyTooLargeError(limit));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
  });
}

/** Outcome of looking at a request's `Authorization` header. */
export type AuthCheck = { ok: true } | { ok: false; reason: 'missing' | 'incomplete' };

/**
 * Checks that a request carries something shaped like a SigV4 `Authorization` header. The signature itself
 * is not verified (tests use dummy credentials); the point is that an unsigned client fails here as it would
 * against AWS.
 */
export function checkSigV4Header(req: http.IncomingMessage): AuthCheck {
  const header = req.headers.authorization;
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  const trimmed = header.trim();
  if (!trimmed.startsWith('AWS4-HMAC-SHA256 ')) return { ok: false, reason: 'missing' };
  const hasAll = ['Credential=', 'SignedHeaders=', 'Signature='].every((part) => trimmed.includes(part));
  const hasDate = req.headers['x-amz-date'] !== undefined || req.headers.date !== undefined;
  return hasAll && hasDate ? { ok: true } : { ok: false, reason: 'incomplete' };
}

/** Why a SigV4-signed request was refused before its operation ran. */
export type SignedRequestProblem = 'too-large' | 'missing-auth' | 'incomplete-auth';

/** The wording AWS services share for an Authorization header that lacks a part. */
export const INCOMPLETE_SIGNATURE_MESSAGE =
  'Request signature is incomplete (Credential, SignedHeaders, Signature and X-Amz-Date are required)';

/**
 * Reads the body of a request that must be SigV4-signed, as every AWS stand-in does first. `refuse` turns
 * a problem into the service's own fault, which is thrown: each service names these errors its own way.
 */
export async function readSignedRequest(
  req: http.IncomingMessage,
  limit: number,
  refuse: (problem: SignedRequestProblem) => Error | object,
): Promise<Buffer> {
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw refuse('too-large');
    throw err;
  }
  const auth = checkSigV4Header(req);
  if (!auth.ok) throw refuse(auth.reason === 'missing' ? 'missing-auth' : 'incomplete-auth');
  return body;
}

/** A fresh request id in the form AWS services use. */
export function newRequestId(): string {
  return randomUUID();
}

/** Escapes text for use inside an XML element or attribute. */
export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Writes a complete response with an explicit length so keep-alive clients never wait on chunking. */
export function send(
  res: http.ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body, 'utf8'),
    ...headers,
  });
  res.end(body);
}

/** Counts down injected failures; shared by the stand-ins so `failNext` behaves the same everywhere. */
export class FaultCounter {
  private remaining = 0;

  /** Makes the next `count` requests fail. */
  failNext(count = 1): void {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`failNext count must be >= 0, got ${count}`);
    this.remaining = count;
  }

  /** True (and consumes one) if this request should fail. */
  take(): boolean {
    if (this.remaining <= 0) return false;
    this.remaining -= 1;
    return true;
  }
}

/**
 * Keeps a stand-in's idle keep-alive connections open until the client closes them (or `closeServer`).
 * Node's default closes one after 5 s idle, timed from when the server sent its last response; the SDK
 * client counts its own idle time from when it read that response. In the sandbox both run in one busy
 * process (a burst runs hundreds of handlers), so the client can read a response seconds after it was
 * sent, still hold the socket as reusable when the server closes it, and send its next request into the
 * closed socket: `read ECONNRESET`, three times in a row under a burst, which the SDK then reports. AWS
 * endpoints keep idle connections far longer than that, so the stand-ins must not reset them either.
 */
export function keepIdleConnections(server: http.Server): http.Server {
  server.keepAliveTimeout = 0;
  return server;
}

/** A started loopback server and the URL clients should use for it. */
export interface StartedServer {
  server: http.Server;
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts `handler` on 127.0.0.1 with a port the OS picks (or `port`). Handler rejections become a plain 500 so a bug in a
 * stand-in shows as a failed request, not an unhandled rejection that kills the test run.
 */
export async function listenOnLoopback(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
  listenPort = 0,
): Promise<StartedServer> {
  const server = keepIdleConnections(
    http.createServer((req, res) => {
      handler(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          send(
            res,
            500,
            'text/plain',
            `local stand-in failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        } else {
          res.destroy();
        }
      });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    endpoint: `http://127.0.0.1:${port}`,
    close: () => closeServer(server),
  };
}

/**
 * Closes a server, dropping kept-alive SDK connections so `close()` does not wait for their idle timeout.
 */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/**
 * Parses a JSON-protocol request body (AWS JSON 1.0/1.1), which must be a JSON object; an empty body counts as
 * `{}`. Returns undefined when the body is not a JSON object, so each stand-in can answer with its service's own
 * serialization fault.
 */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

/**
 * The operation named by a JSON-protocol request's `X-Amz-Target` header, given the target prefixes the
 * service accepts (`AmazonSQS`, `CloudTrail_20131101`, ...); undefined when the header names none of them.
 */
export function jsonTargetOperation(
  req: http.IncomingMessage,
  prefixes: readonly string[],
): string | undefined {
  const target = String(req.headers['x-amz-target'] ?? '');
  for (const prefix of prefixes) {
    if (target.startsWith(`${prefix}.`) && target.length > prefix.length + 1)
      return target.slice(prefix.length + 1);
  }
  return undefined;
}
