import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import {
  FaultCounter,
  INCOMPLETE_SIGNATURE_MESSAGE,
  listenOnLoopback,
  newRequestId,
  readSignedRequest,
  send,
} from '../http-util';

/**
 * Local stand-in for AWS Secrets Manager, speaking its JSON 1.1 protocol
 * (`X-Amz-Target: secretsmanager.<Operation>`). GetSecretValue and PutSecretValue (on an existing secret,
 * `SecretString` only: an operator's rotation) are served; secrets are created from the test side with
 * {@link LocalSecretsManagerServer.putSecret}.
 */

const TARGET_PREFIX = 'secretsmanager.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_REQUEST_BYTES = 1024 * 1024;
const NOT_FOUND_MESSAGE = "Secrets Manager can't find the specified secret.";
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export interface StartSecretsManagerServerOptions {
  /** Secrets that exist from the start: name to SecretString. */
  secrets?: Record<string, string>;
  region?: string;
  accountId?: string;
}

/** What {@link LocalSecretsManagerServer.putSecret} stored. */
export interface StoredSecretVersion {
  arn: string;
  name: string;
  versionId: string;
}

export interface LocalSecretsManagerServer {
  /** Base URL for `new SecretsManagerClient({ endpoint })` or `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  /**
   * Creates the secret, or adds a new AWSCURRENT version to it (the old current becomes AWSPREVIOUS), as
   * PutSecretValue does.
   */
  putSecret(name: string, value: string): StoredSecretVersion;
  /** Full ARN of secret `name` (with the random six-character suffix AWS adds); throws if unknown. */
  arnOf(name: string): string;
  /**
   * GetSecretValue calls that resolved to this secret (by name or ARN, any version, found or not), so tests
   * can assert caching. Unknown ids count under the id as sent; calls failed by `failNext` are not counted.
   */
  callCount(nameOrArn: string): number;
  /** GetSecretValue calls in total. */
  totalCalls(): number;
  /**
   * Makes the next `count` signed requests fail with a 500 `InternalServiceError`. The SDK retries 5xx by
   * itself, so a test that wants the failure to surface should build its client with `maxAttempts: 1`.
   */
  failNext(count?: number): void;
  close(): Promise<void>;
}

interface SecretVersion {
  versionId: string;
  value: string;
  stages: string[];
  created: Date;
}

interface Secret {
  name: string;
  arn: string;
  versions: SecretVersion[];
}

class SecretsManagerFault {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly message: string | undefined,
  ) {}
}

const notFound = (message = NOT_FOUND_MESSAGE) =>
  new SecretsManagerFault(400, 'ResourceNotFoundException', message);

/** Starts the Secrets Manager stand-in on 127.0.0.1 with a random port. */
export async function startSecretsManagerServer(
  options: StartSecretsManagerServerOptions = {},
): Promise<LocalSecretsManagerServer> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const secrets = new Map<string, Secret>();
  const calls = new Map<string, number>();
  let total = 0;
  const faults = new FaultCounter();

  const putSecret = (name: string, value: string): StoredSecretVersion => {
    if (name === '' || name.length > 512) throw new Error(`putSecret: invalid secret name '${name}'`);
    let secret = secrets.get(name);
    if (secret === undefined) {
      secret = {
        name,
        arn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${randomSuffix()}`,
        versions: [],
      };
      secrets.set(name, secret);
    }
    for (const version of secret.versions) {
      version.stages = version.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : [];
    }
    const versionId = randomUUID();
    secret.versions.push({ versionId, value, stages: ['AWSCURRENT'], created: new Date() });
    return { arn: secret.arn, name, versionId };
  };

  for (const [name, value] of Object.entries(options.secrets ?? {})) putSecret(name, value);

  const resolve = (secretId: string): Secret | undefined => {
    const byName = secrets.get(secretId);
    if (byName !== undefined) return byName;
    for (const secret of secrets.values()) {
      // AWS accepts the full ARN and the "partial" ARN without the random suffix.
      if (secret.arn === secretId || secret.arn.slice(0, -7) === secretId) return secret;
    }
    return undefined;
  };

  const getSecretValue = (input: Record<string, unknown>): Record<string, unknown> => {
    const secretId = input.SecretId;
    if (typeof secretId !== 'string' || secretId === '') {
      throw new SecretsManagerFault(
        400,
        'ValidationException',
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
      );
    }
    const secret = resolve(secretId);
    const countKey = secret?.name ?? secretId;
    calls.set(countKey, (calls.get(countKey) ?? 0) + 1);
    total += 1;
    if (secret === undefined) throw notFound();

    const versionId = typeof input.VersionId === 'string' ? input.VersionId : undefined;
    const stage =
      typeof input.VersionStage === 'string'
        ? input.VersionStage
        : versionId === undefined
          ? 'AWSCURRENT'
          : undefined;
    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = secret.versions.find((v) => v.versionId === versionId);
      if (version === undefined) {
        throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      }
      if (stage !== undefined && !version.stages.includes(stage)) {
        throw new SecretsManagerFault(
          400,
          'InvalidRequestException',
          `You provided a VersionStage that is not associated to the provided VersionId.`,
        );
      }
    } else {
      version = secret.versions.find((v) => stage !== undefined && v.stages.includes(stage));
      if (version === undefined) {
        throw notFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`);
      }
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.value,
      VersionStages: [...version.stages],
      // JSON 1.1 timestamps are epoch seconds.
      CreatedDate: version.created.getTime() / 1000,
    };
  };

  const putSecretValue = (input: Record<string, unknown>): Record<string, unknown> => {
    const secretId = input.SecretId;
    const value = input.SecretString;
    if (typeof secretId !== 'string' || secretId === '') {
      throw new SecretsManagerFault(
        400,
        'ValidationException',
        "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
      );
    }
    if (typeof value !== 'string' || value === '') {
      throw new SecretsManagerFault(
        400,
        'InvalidRequestException',
        'You must provide either SecretString or SecretBinary.',
      );
    }
    const secret = resolve(secretId);
    if (secret === undefined) throw notFound();
    const stored = putSecret(secret.name, value);
    return { ARN: stored.arn, Name: stored.name, VersionId: stored.versionId, VersionStages: ['AWSCURRENT'] };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    try {
      const body = await readSignedRequest(req, MAX_REQUEST_BYTES, (problem) => {
        switch (problem) {
          case 'too-large':
            return new SecretsManagerFault(413, 'RequestEntityTooLargeException', 'Request body too large');
          case 'missing-auth':
            return new SecretsManagerFault(
              400,
              'MissingAuthenticationTokenException',
              'Missing Authentication Token',
            );
          case 'incomplete-auth':
            return new SecretsManagerFault(400, 'IncompleteSignatureException', INCOMPLETE_SIGNATURE_MESSAGE);
        }
      });
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
      if (operation !== 'GetSecretValue' && operation !== 'PutSecretValue') {
        throw new SecretsManagerFault(400, 'UnknownOperationException', undefined);
      }
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new SecretsManagerFault(400, 'SerializationException', undefined);
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new SecretsManagerFault(400, 'SerializationException', undefined);
      }
      if (faults.take()) {
        throw new SecretsManagerFault(500, 'InternalServiceError', 'An error occurred on the server side.');
      }
      const output =
        operation === 'PutSecretValue'
          ? putSecretValue(input as Record<string, unknown>)
          : getSecretValue(input as Record<string, unknown>);
      send(res, 200, CONTENT_TYPE, JSON.stringify(output), { 'x-amzn-requestid': requestId });
    } catch (err) {
      if (!(err instanceof SecretsManagerFault)) throw err;
      const payload =
        err.message === undefined ? { __type: err.type } : { __type: err.type, message: err.message };
      send(res, err.status, CONTENT_TYPE, JSON.stringify(payload), { 'x-amzn-requestid': requestId });
    }
  };

  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    putSecret,
    arnOf(name: string): string {
      const secret = secrets.get(name);
      if (secret === undefined) throw new Error(`arnOf: no secret named '${name}'`);
      return secret.arn;
    },
    callCount(nameOrArn: string): number {
      return calls.get(resolve(nameOrArn)?.name ?? nameOrArn) ?? 0;
    },
    totalCalls: () => total,
    failNext: (count = 1) => faults.failNext(count),
    close: started.close,
  };
}

function randomSuffix(): string {
  return Array.from(randomBytes(6), (byte) => SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length]).join('');
}
