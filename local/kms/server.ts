import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
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
 * Local stand-in for AWS KMS HMAC keys, speaking its JSON 1.1 protocol (`X-Amz-Target:
 * TrentService.<Operation>`): CreateKey (HMAC_224..512, GENERATE_VERIFY_MAC), DescribeKey, GenerateMac and
 * VerifyMac, with AWS's error types (KMSInvalidMacException for a MAC that does not verify, NotFoundException,
 * InvalidKeyUsageException, ValidationException for a message over 4,096 bytes). Key material never leaves
 * the server. A key may name the access key ids allowed to generate or verify with it, so a test can check
 * that a function holding only VerifyMac cannot make a seal (AccessDeniedException, as a key policy's
 * explicit Deny answers).
 */

const TARGET_PREFIX = 'TrentService';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_MESSAGE_BYTES = 4096;
const SPECS: Record<string, { bytes: number; algorithm: string; hash: string }> = {
  HMAC_224: { bytes: 28, algorithm: 'HMAC_SHA_224', hash: 'sha224' },
  HMAC_256: { bytes: 32, algorithm: 'HMAC_SHA_256', hash: 'sha256' },
  HMAC_384: { bytes: 48, algorithm: 'HMAC_SHA_384', hash: 'sha384' },
  HMAC_512: { bytes: 64, algorithm: 'HMAC_SHA_512', hash: 'sha512' },
};

export interface LocalKmsKeyOptions {
  description?: string;
  keySpec?: keyof typeof SPECS;
  /** Access key ids that may GenerateMac; default anyone. */
  generators?: readonly string[];
  /** Access key ids that may VerifyMac; default anyone. */
  verifiers?: readonly string[];
}

export interface LocalKmsKey {
  readonly keyId: string;
  readonly arn: string;
}

export interface LocalKmsServer {
  /** Base URL for `new KMSClient({ endpoint })` or `AWS_ENDPOINT_URL_KMS`. */
  readonly endpoint: string;
  /** Creates an HMAC key from the test side (as the stack would), with who may use it. */
  createKey(options?: LocalKmsKeyOptions): LocalKmsKey;
  /** Disables a key: every use then fails with DisabledException, as in KMS. */
  disableKey(keyId: string): void;
  /** Calls per operation, for assertions. */
  calls(operation: 'GenerateMac' | 'VerifyMac'): number;
  /** Makes the next `count` signed requests fail with a 500 KMSInternalException. */
  failNext(count?: number): void;
  /**
   * Every key with its material (base64) as JSON, for `keys` of a later server: seals made now still verify
   * after a restart. As secret as the keys themselves.
   */
  exportKeys(): ExportedKmsKey[];
  close(): Promise<void>;
}

/** A key as {@link LocalKmsServer.exportKeys} writes it. */
export interface ExportedKmsKey {
  keyId: string;
  arn: string;
  spec: string;
  material: string;
  description: string;
  enabled: boolean;
  created: string;
  generators?: string[];
  verifiers?: string[];
}

interface Key {
  keyId: string;
  arn: string;
  spec: string;
  material: Buffer;
  description: string;
  enabled: boolean;
  created: Date;
  generators?: ReadonlySet<string>;
  verifiers?: ReadonlySet<string>;
}

class KmsFault {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly message: string,
  ) {}
}

/** The access key id in a SigV4 Authorization header (`Credential=AKID/date/region/kms/aws4_request`). */
function accessKeyOf(req: http.IncomingMessage): string | undefined {
  const match = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''));
  return match?.[1];
}

/** Starts the KMS stand-in on 127.0.0.1 with a random port. */
export async function startKmsServer(
  options: { region?: string; accountId?: string; keys?: readonly ExportedKmsKey[] } = {},
): Promise<LocalKmsServer> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const keys = new Map<string, Key>();
  for (const saved of options.keys ?? []) {
    const material = Buffer.from(saved.material, 'base64');
    if (!Object.hasOwn(SPECS, saved.spec) || material.length !== SPECS[saved.spec]?.bytes) {
      throw new Error(`startKmsServer: saved key ${saved.keyId} has no valid ${saved.spec} material`);
    }
    keys.set(saved.keyId, {
      keyId: saved.keyId,
      arn: saved.arn,
      spec: saved.spec,
      material,
      description: saved.description,
      enabled: saved.enabled,
      created: new Date(saved.created),
      ...(saved.generators && { generators: new Set(saved.generators) }),
      ...(saved.verifiers && { verifiers: new Set(saved.verifiers) }),
    });
  }
  const counts = { GenerateMac: 0, VerifyMac: 0 };
  const faults = new FaultCounter();

  const createKey = (opts: LocalKmsKeyOptions = {}): Key => {
    const spec = opts.keySpec ?? 'HMAC_256';
    const size = Object.hasOwn(SPECS, spec) ? SPECS[spec] : undefined;
    if (!size) throw new KmsFault(400, 'ValidationException', `KeySpec ${spec} is not an HMAC key spec here`);
    const keyId = randomUUID();
    const key: Key = {
      keyId,
      arn: `arn:aws:kms:${region}:${accountId}:key/${keyId}`,
      spec,
      material: randomBytes(size.bytes),
      description: opts.description ?? '',
      enabled: true,
      created: new Date(),
      ...(opts.generators && { generators: new Set(opts.generators) }),
      ...(opts.verifiers && { verifiers: new Set(opts.verifiers) }),
    };
    keys.set(keyId, key);
    return key;
  };

  const resolve = (input: Record<string, unknown>): Key => {
    const id = input.KeyId;
    if (typeof id !== 'string' || id === '') {
      throw new KmsFault(400, 'ValidationException', "1 validation error detected: Value null at 'keyId'");
    }
    const key = keys.get(id) ?? [...keys.values()].find((k) => k.arn === id);
    if (!key) throw new KmsFault(400, 'NotFoundException', `Key '${id}' does not exist`);
    if (!key.enabled) throw new KmsFault(400, 'DisabledException', `${key.arn} is disabled.`);
    return key;
  };

  const allowed = (key: Key, who: string | undefined, list: ReadonlySet<string> | undefined, op: string) => {
    if (list && (who === undefined || !list.has(who))) {
      throw new KmsFault(
        400,
        'AccessDeniedException',
        `User: ${who ?? 'anonymous'} is not authorized to perform: kms:${op} on resource: ${key.arn} with an explicit deny in a resource-based policy`,
      );
    }
  };

  const macInput = (key: Key, input: Record<string, unknown>): { message: Buffer; hash: string } => {
    const spec = SPECS[key.spec] as (typeof SPECS)[string];
    if (input.MacAlgorithm !== spec.algorithm) {
      throw new KmsFault(
        400,
        'InvalidKeyUsageException',
        `${key.arn} key usage is GENERATE_VERIFY_MAC and its spec is ${key.spec}: MacAlgorithm must be ${spec.algorithm}`,
      );
    }
    if (typeof input.Message !== 'string') {
      throw new KmsFault(400, 'ValidationException', "1 validation error detected: Value null at 'message'");
    }
    const message = Buffer.from(input.Message, 'base64');
    if (message.length < 1 || message.length > MAX_MESSAGE_BYTES) {
      throw new KmsFault(
        400,
        'ValidationException',
        `1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to ${MAX_MESSAGE_BYTES}`,
      );
    }
    return { message, hash: spec.hash };
  };

  const operations: Record<string, (input: Record<string, unknown>, who: string | undefined) => unknown> = {
    CreateKey: (input) => {
      if (input.KeyUsage !== 'GENERATE_VERIFY_MAC') {
        throw new KmsFault(400, 'ValidationException', 'this stand-in only creates GENERATE_VERIFY_MAC keys');
      }
      const key = createKey({
        keySpec: String(input.KeySpec ?? '') as keyof typeof SPECS,
        description: typeof input.Description === 'string' ? input.Description : '',
      });
      return { KeyMetadata: metadata(key) };
    },
    DescribeKey: (input) => ({ KeyMetadata: metadata(resolve(input)) }),
    GenerateMac: (input, who) => {
      const key = resolve(input);
      allowed(key, who, key.generators, 'GenerateMac');
      const { message, hash } = macInput(key, input);
      counts.GenerateMac += 1;
      const mac = createHmac(hash, key.material).update(message).digest();
      return { KeyId: key.arn, Mac: mac.toString('base64'), MacAlgorithm: input.MacAlgorithm };
    },
    VerifyMac: (input, who) => {
      const key = resolve(input);
      allowed(key, who, key.verifiers, 'VerifyMac');
      const { message, hash } = macInput(key, input);
      counts.VerifyMac += 1;
      const expected = createHmac(hash, key.material).update(message).digest();
      const given = typeof input.Mac === 'string' ? Buffer.from(input.Mac, 'base64') : Buffer.alloc(0);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        // KMS answers an invalid MAC with an error, never with MacValid false.
        throw new KmsFault(400, 'KMSInvalidMacException', '');
      }
      return { KeyId: key.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
    },
  };

  const metadata = (key: Key) => ({
    AWSAccountId: accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.created.getTime() / 1000,
    Enabled: key.enabled,
    Description: key.description,
    KeyUsage: 'GENERATE_VERIFY_MAC',
    KeyState: key.enabled ? 'Enabled' : 'Disabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    KeySpec: key.spec,
    MacAlgorithms: [SPECS[key.spec]?.algorithm],
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = newRequestId();
    try {
      const body = await readSignedRequest(req, MAX_REQUEST_BYTES, (problem) => {
        switch (problem) {
          case 'too-large':
            return new KmsFault(413, 'ValidationException', 'Request body too large');
          case 'missing-auth':
            return new KmsFault(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
          case 'incomplete-auth':
            return new KmsFault(400, 'IncompleteSignatureException', INCOMPLETE_SIGNATURE_MESSAGE);
        }
      });
      const operation = jsonTargetOperation(req, [TARGET_PREFIX]);
      // Own operations only: `TrentService.constructor` must be an unknown operation, not Object().
      const run =
        operation !== undefined && Object.hasOwn(operations, operation) ? operations[operation] : undefined;
      if (!run) throw new KmsFault(400, 'UnknownOperationException', '');
      const input = parseJsonObject(body);
      if (!input) throw new KmsFault(400, 'SerializationException', '');
      if (faults.take()) throw new KmsFault(500, 'KMSInternalException', 'An internal error occurred.');
      send(res, 200, CONTENT_TYPE, JSON.stringify(run(input, accessKeyOf(req))), {
        'x-amzn-requestid': requestId,
      });
    } catch (err) {
      if (!(err instanceof KmsFault)) throw err;
      const payload = err.message === '' ? { __type: err.type } : { __type: err.type, message: err.message };
      send(res, err.status, CONTENT_TYPE, JSON.stringify(payload), { 'x-amzn-requestid': requestId });
    }
  };

  const started = await listenOnLoopback(handle);
  return {
    endpoint: started.endpoint,
    createKey: (opts) => {
      const key = createKey(opts);
      return { keyId: key.keyId, arn: key.arn };
    },
    disableKey(keyId) {
      const key = keys.get(keyId) ?? [...keys.values()].find((k) => k.arn === keyId);
      if (!key) throw new Error(`disableKey: no key ${keyId}`);
      key.enabled = false;
    },
    calls: (operation) => counts[operation],
    failNext: (count = 1) => faults.failNext(count),
    exportKeys: () =>
      [...keys.values()].map((key) => ({
        keyId: key.keyId,
        arn: key.arn,
        spec: key.spec,
        material: key.material.toString('base64'),
        description: key.description,
        enabled: key.enabled,
        created: key.created.toISOString(),
        ...(key.generators && { generators: [...key.generators] }),
        ...(key.verifiers && { verifiers: [...key.verifiers] }),
      })),
    close: started.close,
  };
}
