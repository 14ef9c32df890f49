import { GenerateMacCommand, type KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import { SealError } from '../errors';
import { mapAwsError } from './aws-error';

/**
 * A key that makes and checks seals (HMACs). The stack gives each key one function that may generate with
 * it (an explicit Deny in the key policy for everyone else), and lets the functions that rely on a seal
 * only verify.
 */
export interface SealKey {
  /** The MAC of `message`, base64. */
  generate(message: Uint8Array): Promise<string>;
  /** Whether `mac` (base64) is this key's MAC of `message`; `false` for anything malformed. */
  verify(message: Uint8Array, mac: string): Promise<boolean>;
}

const ALGORITHM = 'HMAC_SHA_256';
const BASE64 = /^[A-Za-z0-9+/]{4,1000}={0,2}$/;

/**
 * {@link SealKey} over a KMS HMAC key (`HMAC_256`, `GENERATE_VERIFY_MAC`). An invalid MAC is `false`;
 * throttling and 5xx become TransientError (retried by the workflow), anything else (access denied, a
 * disabled key) an AwsOperationError: never a seal that verifies.
 */
export class KmsSealKey implements SealKey {
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {}

  async generate(message: Uint8Array): Promise<string> {
    try {
      const out = await this.client.send(
        new GenerateMacCommand({ KeyId: this.keyId, MacAlgorithm: ALGORITHM, Message: message }),
      );
      if (!out.Mac || out.Mac.length === 0) throw new SealError('KMS GenerateMac returned no MAC');
      return Buffer.from(out.Mac).toString('base64');
    } catch (error) {
      if (error instanceof SealError) throw error;
      throw mapAwsError('GenerateMac', error);
    }
  }

  async verify(message: Uint8Array, mac: string): Promise<boolean> {
    if (!BASE64.test(mac)) return false;
    try {
      const out = await this.client.send(
        new VerifyMacCommand({
          KeyId: this.keyId,
          MacAlgorithm: ALGORITHM,
          Message: message,
          Mac: Buffer.from(mac, 'base64'),
        }),
      );
      return out.MacValid === true;
    } catch (error) {
      // KMS answers a MAC that does not verify with an error, not with MacValid false.
      if ((error as { name?: string }).name === 'KMSInvalidMacException') return false;
      throw mapAwsError('VerifyMac', error);
    }
  }
}
