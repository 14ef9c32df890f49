import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { keepIdleConnections } from '../http-util';
import {
  buildCloudTrailEvent,
  type CloudTrailEvent,
  completeIdentity,
  defaultIdentity,
  type Identity,
  toRequestParameters,
} from './cloudtrail';
import { cloudTrailErrorCode, IamError } from './errors';
import { validateInput } from './grammar';
import {
  type IamOperationName,
  isIamOperationName,
  OPERATIONS,
  type OperationOutcome,
  type OperationSpec,
} from './operations';
import {
  type BoundedKind,
  type ExportedIamState,
  IamState,
  type IamStateSnapshot,
  type PolicySnapshot,
  type PrincipalKind,
} from './state';
import { encodePolicyDocument, errorXml, successXml } from './xml';

const API_VERSION = '2010-05-08';
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_ACCOUNT_ID = '123456789012';

export interface IamServerOptions {
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Account the stand-in plays; defaults to `123456789012`. */
  accountId?: string;
  /** CloudTrail `userIdentity` per access key id; other keys get an IAM user of the account. */
  identities?: Record<string, Identity>;
  /** Emit events for failed write calls too, with `errorCode`/`errorMessage`, as CloudTrail does. Default true. */
  recordFailedCalls?: boolean;
  /**
   * How documents come back (GetPolicyVersion, Get{Role,User,Group}Policy, trust policies in GetRole/ListRoles/
   * CreateRole, GetAccountAuthorizationDetails): `url` (default) URL-encoded as IAM returns them, `raw` exactly
   * as sent, as moto and LocalStack answer some of these calls, so a client's decoding can be tested on both.
   */
  documentEncoding?: DocumentEncoding;
  /** The account (and identities) an earlier server exported, to go on from; identities given here win. */
  initialState?: ExportedIamServerState;
}

/** What {@link IamServer.exportState} returns. */
export interface ExportedIamServerState {
  account: ExportedIamState;
  identities: Record<string, Identity>;
}

/** See {@link IamServerOptions.documentEncoding}. */
export type DocumentEncoding = 'url' | 'raw';

/** Faults `failNext` can inject: IAM's 500 `ServiceFailure` or its 400 `Throttling`. */
export type FaultCode = 'ServiceFailure' | 'Throttling';

export type CloudTrailListener = (event: CloudTrailEvent) => void;

/** A running local IAM endpoint plus the hooks tests use to seed, inspect and break it. */
export interface IamServer {
  /** `http://127.0.0.1:<port>`, for `new IAMClient({ endpoint })` or `AWS_ENDPOINT_URL_IAM`. */
  readonly endpoint: string;
  readonly port: number;
  readonly accountId: string;
  /** Every CloudTrail event emitted so far, oldest first (live array, cleared by `reset`). */
  readonly events: readonly CloudTrailEvent[];
  /** A detached snapshot of all policies and principals, documents as sent. */
  readonly state: IamStateSnapshot;
  /** Subscribes to CloudTrail events (called synchronously, before the API response is sent); returns unsubscribe. */
  onEvent(listener: CloudTrailListener): () => void;
  /** Makes the next `count` calls of `operation` fail with `code` without touching state. */
  failNext(operation: IamOperationName, count?: number, code?: FaultCode): void;
  /** Seeds an AWS managed policy, readable and attachable but not modifiable through the API. */
  addAwsManagedPolicy(name: string, document: string | object, options?: { path?: string }): PolicySnapshot;
  /** Sets (or replaces) the CloudTrail identity recorded for an access key id. */
  setIdentity(accessKeyId: string, identity: Identity): void;
  /** A managed policy by ARN, or undefined. */
  getPolicy(arn: string): PolicySnapshot | undefined;
  /** An inline policy document as sent, or undefined when the principal or policy does not exist. */
  getInlinePolicy(kind: PrincipalKind, principalName: string, policyName: string): string | undefined;
  /** Managed policy ARNs attached to a principal (empty when it does not exist). */
  getAttachedPolicyArns(kind: PrincipalKind, principalName: string): string[];
  /** The permissions boundary ARN of a role or user, or undefined when it has none or does not exist. */
  getPermissionsBoundary(kind: BoundedKind, principalName: string): string | undefined;
  /** The names of a group's members (empty when the group does not exist). */
  getGroupMembers(groupName: string): string[];
  /** The names of the groups a user is in (empty when the user does not exist). */
  getGroupsForUser(userName: string): string[];
  /**
   * Eventual consistency on demand: the next `count` read calls (Get*, List*, GetAccountAuthorizationDetails)
   * answer from the account as it was just before the most recent successful write, as an IAM replica that has
   * not caught up yet would; later reads see the current state again. Calls again add to the count. Writes are
   * never stale, and test hooks (`state`, `getPolicy`, ...) always show the current state.
   */
  serveStaleReads(count: number): void;
  /** Switches the document mode of later responses (see {@link IamServerOptions.documentEncoding}). */
  setDocumentEncoding(encoding: DocumentEncoding): void;
  /** Clears all IAM state, events, pending faults and stale reads; identities, listeners and the document mode stay. */
  reset(): void;
  /** The account and the known identities as JSON, for {@link IamServerOptions.initialState} of a later server. */
  exportState(): ExportedIamServerState;
  close(): Promise<void>;
}

interface RequestContext {
  requestId: string;
  time: Date;
  sourceIPAddress: string;
  userAgent: string;
}

const FAULT_MESSAGES: Readonly<Record<FaultCode, string>> = {
  ServiceFailure: 'Request processing has failed due to some unknown error, exception or failure.',
  Throttling: 'Rate exceeded',
};

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new IamError('RequestEntityTooLarge', 'Request body too large.'));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

/**
 * The access key id of a SigV4-signed request, from the `Authorization` header or a presigned
 * `X-Amz-Credential`. The signature itself is not verified: the stand-in only needs to know who calls.
 */
function accessKeyIdOf(request: http.IncomingMessage, params: URLSearchParams): string {
  const header = request.headers.authorization;
  const credential =
    header === undefined
      ? params.get('X-Amz-Credential')
      : /^AWS4-HMAC-SHA256\s+.*?Credential=([^,\s]+)/.exec(header)?.[1];
  if (header === undefined && credential === null) {
    throw new IamError('MissingAuthenticationToken', 'Request is missing Authentication Token');
  }
  const accessKeyId = credential?.split('/')[0];
  if (accessKeyId === undefined || accessKeyId === '' || credential?.split('/').length !== 5) {
    throw new IamError(
      'IncompleteSignature',
      "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter.",
    );
  }
  return accessKeyId;
}

class LocalIamServer implements IamServer {
  readonly accountId: string;
  readonly events: CloudTrailEvent[] = [];
  private readonly iam: IamState;
  private readonly identities = new Map<string, Identity>();
  private readonly listeners = new Set<CloudTrailListener>();
  private readonly faults = new Map<IamOperationName, FaultCode[]>();
  private readonly recordFailedCalls: boolean;
  private readonly server: http.Server;
  private documentEncoding: DocumentEncoding;
  /** The account just before the latest successful write, kept for stale reads. */
  private beforeLatestWrite: IamState | undefined;
  private staleReads = 0;

  constructor(options: IamServerOptions) {
    this.accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    if (!/^\d{12}$/.test(this.accountId))
      throw new Error(`accountId must be 12 digits, got ${this.accountId}`);
    this.iam = new IamState(this.accountId);
    if (options.initialState) {
      this.iam.importState(options.initialState.account);
      for (const [key, identity] of Object.entries(options.initialState.identities ?? {})) {
        this.setIdentity(key, identity);
      }
    }
    this.recordFailedCalls = options.recordFailedCalls ?? true;
    this.documentEncoding = LocalIamServer.checkEncoding(options.documentEncoding ?? 'url');
    for (const [key, identity] of Object.entries(options.identities ?? {})) this.setIdentity(key, identity);
    // Idle connections stay open (see keepIdleConnections): a burst's clients must not hit reset sockets.
    this.server = keepIdleConnections(
      http.createServer((request, response) => {
        void this.handle(request, response);
      }),
    );
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get state(): IamStateSnapshot {
    return this.iam.snapshot();
  }

  onEvent(listener: CloudTrailListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  failNext(operation: IamOperationName, count = 1, code: FaultCode = 'ServiceFailure'): void {
    if (!isIamOperationName(operation)) throw new Error(`failNext: unknown IAM operation ${operation}`);
    if (!Number.isInteger(count) || count < 1) throw new Error(`failNext: count must be a positive integer`);
    if (!(code in FAULT_MESSAGES)) throw new Error(`failNext: unsupported fault code ${code}`);
    const queue = this.faults.get(operation) ?? [];
    for (let i = 0; i < count; i += 1) queue.push(code);
    this.faults.set(operation, queue);
  }

  addAwsManagedPolicy(
    name: string,
    document: string | object,
    options: { path?: string } = {},
  ): PolicySnapshot {
    const text = typeof document === 'string' ? document : JSON.stringify(document);
    return this.iam.snapshotPolicy(this.iam.addAwsManagedPolicy(name, text, options.path ?? '/'));
  }

  setIdentity(accessKeyId: string, identity: Identity): void {
    this.identities.set(accessKeyId, structuredClone(identity));
  }

  getPolicy(arn: string): PolicySnapshot | undefined {
    return this.state.policies.find((policy) => policy.arn === arn);
  }

  getInlinePolicy(kind: PrincipalKind, principalName: string, policyName: string): string | undefined {
    try {
      return this.iam.getInlinePolicy(kind, principalName, policyName);
    } catch {
      return undefined;
    }
  }

  getAttachedPolicyArns(kind: PrincipalKind, principalName: string): string[] {
    try {
      return this.iam.listAttachedPolicies(kind, principalName).map((policy) => policy.arn);
    } catch {
      return [];
    }
  }

  getPermissionsBoundary(kind: BoundedKind, principalName: string): string | undefined {
    try {
      return this.iam.getPrincipal(kind, principalName).permissionsBoundary;
    } catch {
      return undefined;
    }
  }

  getGroupMembers(groupName: string): string[] {
    try {
      return this.iam.groupMembers(groupName).map((user) => user.name);
    } catch {
      return [];
    }
  }

  getGroupsForUser(userName: string): string[] {
    try {
      return this.iam.groupsForUser(userName).map((group) => group.name);
    } catch {
      return [];
    }
  }

  serveStaleReads(count: number): void {
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`serveStaleReads: count must be a non-negative integer, got ${count}`);
    }
    this.staleReads += count;
  }

  setDocumentEncoding(encoding: DocumentEncoding): void {
    this.documentEncoding = LocalIamServer.checkEncoding(encoding);
  }

  exportState(): ExportedIamServerState {
    return {
      account: this.iam.exportState(),
      identities: structuredClone(Object.fromEntries(this.identities)),
    };
  }

  reset(): void {
    this.iam.reset();
    this.events.length = 0;
    this.faults.clear();
    this.beforeLatestWrite = undefined;
    this.staleReads = 0;
  }

  private static checkEncoding(encoding: string): DocumentEncoding {
    if (encoding !== 'url' && encoding !== 'raw') {
      throw new Error(`documentEncoding must be 'url' or 'raw', got ${encoding}`);
    }
    return encoding;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      // SDK clients keep connections alive; without this, close() would wait for them to time out.
      this.server.closeAllConnections();
    });
  }

  // ---- request handling -------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const context: RequestContext = {
      requestId: randomUUID(),
      time: new Date(),
      sourceIPAddress: (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      userAgent: request.headers['user-agent'] ?? '',
    };
    let params: URLSearchParams;
    let identity: Identity;
    let operationName: IamOperationName;
    let operation: OperationSpec;
    try {
      params = new URLSearchParams(await readBody(request));
      for (const [key, value] of new URL(request.url ?? '/', 'http://localhost').searchParams) {
        if (!params.has(key)) params.append(key, value);
      }
      const accessKeyId = accessKeyIdOf(request, params);
      identity = completeIdentity(
        this.identities.get(accessKeyId) ?? defaultIdentity(this.accountId),
        accessKeyId,
        this.accountId,
      );
      const action = params.get('Action') ?? '';
      const spec = isIamOperationName(action) ? OPERATIONS.get(action) : undefined;
      if (spec === undefined || params.get('Version') !== API_VERSION) {
        throw new IamError(
          'InvalidAction',
          `Could not find operation ${action} for version ${params.get('Version') ?? ''}`,
        );
      }
      operationName = action as IamOperationName;
      operation = spec;
    } catch (error) {
      this.sendError(response, context, this.asIamError(error));
      return;
    }

    const record = (outcome: OperationOutcome | IamError): void => {
      if (operation.readOnly) return;
      if (outcome instanceof IamError && !this.recordFailedCalls) return;
      this.emit(
        buildCloudTrailEvent({
          accountId: this.accountId,
          identity,
          eventName: operationName,
          time: context.time,
          sourceIPAddress: context.sourceIPAddress,
          userAgent: context.userAgent,
          requestParameters: toRequestParameters(params),
          responseElements: outcome instanceof IamError ? null : outcome.responseElements,
          requestId: context.requestId,
          readOnly: operation.readOnly,
          error:
            outcome instanceof IamError
              ? { code: cloudTrailErrorCode(outcome.code), message: outcome.message }
              : undefined,
        }),
      );
    };

    const fault = this.faults.get(operationName)?.shift();
    if (fault !== undefined) {
      const error = new IamError(fault, FAULT_MESSAGES[fault]);
      record(error);
      this.sendError(response, context, error);
      return;
    }

    let outcome: OperationOutcome;
    try {
      const input = validateInput(operation.input, params);
      let state = this.iam;
      if (operation.readOnly && this.staleReads > 0) {
        this.staleReads -= 1;
        state = this.beforeLatestWrite ?? this.iam;
      }
      const before = operation.readOnly ? undefined : this.iam.clone();
      const document = this.documentEncoding === 'raw' ? (text: string) => text : encodePolicyDocument;
      outcome = operation.run({ input, state, caller: identity, document });
      // State changes only when every check passed, so a failed write leaves the previous snapshot valid.
      if (before !== undefined) this.beforeLatestWrite = before;
    } catch (error) {
      const iamError = this.asIamError(error);
      record(iamError);
      this.sendError(response, context, iamError);
      return;
    }
    record(outcome);
    this.send(response, 200, successXml(operationName, outcome.result, context.requestId), context.requestId);
  }

  private asIamError(error: unknown): IamError {
    if (error instanceof IamError) return error;
    // A bug in the stand-in must surface as a failure the caller sees, never as a silent success.
    console.error('local IAM stand-in: unexpected error', error);
    return new IamError('ServiceFailure', FAULT_MESSAGES.ServiceFailure);
  }

  private emit(event: CloudTrailEvent): void {
    this.events.push(event);
    for (const listener of this.listeners) {
      try {
        // Each listener gets its own copy so one cannot alter what the others (or `events`) see.
        listener(structuredClone(event));
      } catch (error) {
        console.error('local IAM stand-in: CloudTrail listener failed', error);
      }
    }
  }

  private sendError(response: http.ServerResponse, context: RequestContext, error: IamError): void {
    this.send(
      response,
      error.status,
      errorXml(error.type, error.code, error.message, context.requestId),
      context.requestId,
    );
  }

  private send(response: http.ServerResponse, status: number, body: string, requestId: string): void {
    response.writeHead(status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(body),
      'x-amzn-RequestId': requestId,
    });
    response.end(body);
  }
}

/**
 * Starts a local stand-in for the AWS IAM Query API on 127.0.0.1. Point `@aws-sdk/client-iam` at
 * `server.endpoint` (client `endpoint` option or `AWS_ENDPOINT_URL_IAM`); any SigV4 credentials work.
 */
export async function startIamServer(options: IamServerOptions = {}): Promise<IamServer> {
  const server = new LocalIamServer(options);
  await server.listen(options.port ?? 0);
  return server;
}
