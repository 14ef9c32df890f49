import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { listenOnLoopback, readBody, send, xmlEscape } from '../http-util';
import { formatEventTime, formatResponseDate, type Identity } from '../iam/cloudtrail';

/**
 * Local stand-in for AWS STS `AssumeRole` and `GetCallerIdentity`, speaking the STS Query protocol the SDK
 * uses (form-encoded POST, `Version=2011-06-15`, XML answers), reached with `AWS_ENDPOINT_URL_STS`. Callers are
 * known by their access key id (the signature is not checked): the keys given in `callers`, and every session
 * this server issued. It keeps AWS's source-identity rule: a session that carries a source identity passes it
 * to every role it assumes, and an `AssumeRole` that asks for a different one is denied. Each call is recorded
 * as the CloudTrail record STS writes (requestParameters, responseElements with the issued access key id, the
 * caller's userIdentity), handed to `onEvent`; each issued session's CloudTrail `userIdentity` is handed to
 * `onSession`, so the IAM stand-in can record calls made with it as that session's.
 */

const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const API_VERSION = '2011-06-15';
const MAX_REQUEST_BYTES = 64 * 1024;
// STS's parameter grammars (AssumeRole API reference): [\w+=,.@-]*, session names 2-64, source identity 2-64.
const NAME_CHARS = /^[\w+=,.@-]+$/;
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/((?:[\u0021-\u007E]*\/)?)([\w+=,.@-]{1,64})$/;
/** Role chaining caps a session at one hour, whatever the role's maximum. */
const CHAINED_MAX_SECONDS = 3600;

export interface StsServerOptions {
  accountId?: string;
  /** CloudTrail `userIdentity` per long-term access key id (e.g. an IAM user's `AKIA…`). */
  callers?: Record<string, Identity>;
  /** Receives the CloudTrail record of every AssumeRole call, failed ones included. */
  onEvent?: (record: Record<string, unknown>) => void;
  /** Receives each issued session's access key id and the `userIdentity` its calls carry in CloudTrail. */
  onSession?: (accessKeyId: string, identity: Identity) => void;
  /** Clock (default: the real time). */
  now?: () => Date;
  /** Sessions an earlier server issued (from its `sessions()`), still valid here: a restart keeps them. */
  sessions?: readonly IssuedSession[];
  /**
   * The role's trust policy, as the test states it: a reason to deny the `AssumeRole`, or `undefined` to
   * allow it. Without it every well-formed `AssumeRole` is allowed.
   */
  authorize?: (request: {
    roleArn: string;
    caller: Identity;
    externalId?: string;
    sessionName?: string;
  }) => string | undefined;
}

/** A session this server issued. */
export interface IssuedSession {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity?: string;
  /** The CloudTrail `userIdentity` of calls made with this session. */
  readonly identity: Identity;
}

export interface LocalStsServer {
  /** Base URL for `new STSClient({ endpoint })` or `AWS_ENDPOINT_URL_STS`. */
  readonly endpoint: string;
  readonly accountId: string;
  /** Every CloudTrail record written, oldest first. */
  readonly events: Record<string, unknown>[];
  /** Every session issued, oldest first. */
  sessions(): readonly IssuedSession[];
  /** Sets (or replaces) the identity of a long-term access key. */
  setCaller(accessKeyId: string, identity: Identity): void;
  close(): Promise<void>;
}

class StsFault {
  constructor(
    readonly code: string,
    readonly message: string,
    readonly status = 400,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {}
}

function accessKeyIdOf(request: http.IncomingMessage): string {
  const header = request.headers.authorization;
  const credential = header && /^AWS4-HMAC-SHA256\s+.*?Credential=([^,\s]+)/.exec(header)?.[1];
  if (!header) throw new StsFault('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const accessKeyId = credential?.split('/')[0];
  if (!accessKeyId || credential?.split('/').length !== 5) {
    throw new StsFault('IncompleteSignature', "Authorization header requires 'Credential' parameter.");
  }
  return accessKeyId;
}

/** A key id of STS's shape: `ASIA` (temporary) and 16 upper-case letters or digits. */
function newAccessKeyId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return `ASIA${[...randomBytes(16)].map((b) => alphabet[b % 32]).join('')}`;
}

/** A stable role id (`AROA…`) per role ARN, as IAM gives each role one. */
function roleIdOf(roleArn: string): string {
  const digest = createHash('sha256').update(roleArn.toLowerCase()).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return `AROA${[...digest.subarray(0, 17)].map((b) => alphabet[b % 32]).join('')}`;
}

function checkName(value: string | null, parameter: string, required: boolean): string | undefined {
  if (value === null) {
    if (required) {
      throw new StsFault(
        'ValidationError',
        `1 validation error detected: Value null at '${parameter}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return undefined;
  }
  if (value.length < 2 || value.length > 64 || !NAME_CHARS.test(value)) {
    throw new StsFault(
      'ValidationError',
      `1 validation error detected: Value '${value}' at '${parameter}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and length 2 to 64`,
    );
  }
  return value;
}

function xmlResponse(action: string, result: string, requestId: string): string {
  return (
    `<${action}Response xmlns="${STS_XMLNS}"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

function element(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(value)}</${name}>`;
}

/** Starts the STS stand-in on 127.0.0.1 with a random port. */
export async function startStsServer(options: StsServerOptions = {}): Promise<LocalStsServer> {
  const accountId = options.accountId ?? '123456789012';
  const now = options.now ?? (() => new Date());
  const callers = new Map<string, Identity>(
    Object.entries(options.callers ?? {}).map(([key, identity]) => [key, structuredClone(identity)]),
  );
  const issued = new Map<string, IssuedSession>(
    (options.sessions ?? []).map((session) => [session.accessKeyId, structuredClone(session)]),
  );
  const events: Record<string, unknown>[] = [];

  const callerOf = (accessKeyId: string): { identity: Identity; session?: IssuedSession } => {
    const session = issued.get(accessKeyId);
    if (session) return { identity: structuredClone(session.identity), session };
    const identity = callers.get(accessKeyId);
    if (!identity) {
      throw new StsFault(
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
        403,
      );
    }
    return { identity: { ...structuredClone(identity), accessKeyId } };
  };

  const record = (
    request: http.IncomingMessage,
    caller: Identity,
    at: Date,
    requestId: string,
    requestParameters: Record<string, unknown>,
    outcome: { responseElements: Record<string, unknown>; roleArn: string } | StsFault,
  ): void => {
    const roleArn = typeof requestParameters.roleArn === 'string' ? requestParameters.roleArn : undefined;
    const event: Record<string, unknown> = {
      eventVersion: '1.08',
      userIdentity: caller,
      eventTime: formatEventTime(at),
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      awsRegion: 'us-east-1',
      sourceIPAddress: (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      userAgent: request.headers['user-agent'] ?? '',
      ...(outcome instanceof StsFault && { errorCode: outcome.code, errorMessage: outcome.message }),
      requestParameters,
      responseElements: outcome instanceof StsFault ? null : outcome.responseElements,
      requestID: requestId,
      eventID: randomUUID(),
      readOnly: true,
      resources: roleArn ? [{ accountId, type: 'AWS::IAM::Role', ARN: roleArn }] : [],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: accountId,
      eventCategory: 'Management',
    };
    events.push(event);
    try {
      options.onEvent?.(structuredClone(event));
    } catch (error) {
      console.error('local STS stand-in: event listener failed', error);
    }
  };

  const assumeRole = (
    request: http.IncomingMessage,
    params: URLSearchParams,
    accessKeyId: string,
    requestId: string,
  ): string => {
    const at = now();
    const { identity: caller, session: callerSession } = callerOf(accessKeyId);
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    const sourceIdentity = params.get('SourceIdentity');
    const externalId = params.get('ExternalId');
    const durationText = params.get('DurationSeconds');
    const requestParameters: Record<string, unknown> = {
      ...(roleArn !== null && { roleArn }),
      ...(sessionName !== null && { roleSessionName: sessionName }),
      ...(durationText !== null && { durationSeconds: Number(durationText) }),
      ...(sourceIdentity !== null && { sourceIdentity }),
      ...(externalId !== null && { externalId }),
    };
    try {
      const role = roleArn === null ? null : ROLE_ARN.exec(roleArn);
      if (roleArn === null || role === null) {
        throw new StsFault('ValidationError', `${roleArn ?? 'null'} is invalid`);
      }
      const name = checkName(sessionName, 'roleSessionName', true) as string;
      if (
        options.authorize?.({
          roleArn,
          caller,
          sessionName: name,
          ...(externalId !== null && { externalId }),
        }) !== undefined
      ) {
        throw new StsFault(
          'AccessDenied',
          `User: ${String(caller.arn)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
          403,
        );
      }
      const requested = checkName(sourceIdentity, 'sourceIdentity', false);
      if (requested?.toLowerCase().startsWith('aws:')) {
        throw new StsFault('ValidationError', 'The source identity cannot begin with the prefix "aws:".');
      }
      // AWS: once set, the source identity cannot be changed for the rest of the chain.
      const inherited = callerSession?.sourceIdentity;
      if (inherited !== undefined && requested !== undefined && requested !== inherited) {
        throw new StsFault(
          'AccessDenied',
          `User: ${String(caller.arn)} is not authorized to perform: sts:SetSourceIdentity on resource: ${roleArn}: the source identity of a role chain cannot be changed`,
          403,
        );
      }
      const effectiveSource = inherited ?? requested;
      const duration = durationText === null ? 3600 : Number(durationText);
      const maximum = callerSession ? CHAINED_MAX_SECONDS : 43_200;
      if (!Number.isInteger(duration) || duration < 900 || duration > maximum) {
        throw new StsFault(
          'ValidationError',
          `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
        );
      }
      const roleName = role[4] as string;
      const roleId = roleIdOf(roleArn);
      const partition = role[1] as string;
      const roleAccount = role[2] as string;
      const assumedArn = `arn:${partition}:sts::${roleAccount}:assumed-role/${roleName}/${name}`;
      const newKey = newAccessKeyId();
      const expiration = new Date(at.getTime() + duration * 1000);
      const identity: Identity = {
        type: 'AssumedRole',
        principalId: `${roleId}:${name}`,
        arn: assumedArn,
        accountId: roleAccount,
        accessKeyId: newKey,
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: roleId,
            arn: roleArn,
            accountId: roleAccount,
            userName: roleName,
          },
          webIdFederationData: {},
          attributes: { creationDate: formatEventTime(at), mfaAuthenticated: 'false' },
          ...(effectiveSource !== undefined && { sourceIdentity: effectiveSource }),
        },
      };
      const session: IssuedSession = {
        accessKeyId: newKey,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: `IQoJ${randomBytes(48).toString('base64')}`,
        roleArn,
        sessionName: name,
        ...(effectiveSource !== undefined && { sourceIdentity: effectiveSource }),
        identity,
      };
      issued.set(newKey, session);
      record(request, caller, at, requestId, requestParameters, {
        roleArn,
        responseElements: {
          credentials: {
            accessKeyId: newKey,
            sessionToken: session.sessionToken.slice(0, 20),
            expiration: formatResponseDate(expiration),
          },
          assumedRoleUser: { assumedRoleId: `${roleId}:${name}`, arn: assumedArn },
          ...(effectiveSource !== undefined && { sourceIdentity: effectiveSource }),
        },
      });
      try {
        options.onSession?.(newKey, structuredClone(identity));
      } catch (error) {
        console.error('local STS stand-in: session listener failed', error);
      }
      return xmlResponse(
        'AssumeRole',
        element('SourceIdentity', effectiveSource) +
          `<AssumedRoleUser>${element('AssumedRoleId', `${roleId}:${name}`)}${element('Arn', assumedArn)}</AssumedRoleUser>` +
          `<Credentials>${element('AccessKeyId', newKey)}${element('SecretAccessKey', session.secretAccessKey)}` +
          `${element('SessionToken', session.sessionToken)}${element('Expiration', expiration.toISOString())}</Credentials>`,
        requestId,
      );
    } catch (error) {
      if (error instanceof StsFault) record(request, caller, at, requestId, requestParameters, error);
      throw error;
    }
  };

  const getCallerIdentity = (accessKeyId: string, requestId: string): string => {
    const { identity } = callerOf(accessKeyId);
    return xmlResponse(
      'GetCallerIdentity',
      element('UserId', identity.principalId ?? accessKeyId) +
        element('Account', identity.accountId ?? accountId) +
        element('Arn', identity.arn),
      requestId,
    );
  };

  const handle = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    try {
      if (request.method !== 'POST') throw new StsFault('InvalidAction', 'STS accepts POST only here');
      const params = new URLSearchParams((await readBody(request, MAX_REQUEST_BYTES)).toString('utf8'));
      const accessKeyId = accessKeyIdOf(request);
      if (params.get('Version') !== API_VERSION) {
        throw new StsFault('InvalidAction', `Could not find operation for version ${params.get('Version')}`);
      }
      let body: string;
      switch (params.get('Action')) {
        case 'AssumeRole':
          body = assumeRole(request, params, accessKeyId, requestId);
          break;
        case 'GetCallerIdentity':
          body = getCallerIdentity(accessKeyId, requestId);
          break;
        default:
          throw new StsFault('InvalidAction', `Could not find operation ${params.get('Action') ?? ''}`);
      }
      send(response, 200, 'text/xml', body, { 'x-amzn-requestid': requestId });
    } catch (error) {
      if (!(error instanceof StsFault)) throw error;
      send(
        response,
        error.status,
        'text/xml',
        `<ErrorResponse xmlns="${STS_XMLNS}"><Error><Type>${error.type}</Type><Code>${xmlEscape(error.code)}</Code>` +
          `<Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        { 'x-amzn-requestid': requestId },
      );
    }
  };

  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    accountId,
    events,
    sessions: () => [...issued.values()],
    setCaller(accessKeyId, identity) {
      callers.set(accessKeyId, structuredClone(identity));
    },
    close: started.close,
  };
}
