import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsOperationError, ConfigError, TransientError } from '../errors';

/**
 * The Slack app's two credentials live in two secrets: the bot token, which every function posting to
 * Slack reads, and the signing secret, which only the interactivity function may read (whoever holds it
 * can forge a click as any approver). Each is a plain-text SecretString.
 */

/** What a credential is, for messages; never its value. */
export interface SecretKind {
  /** `"Slack bot token"`. */
  readonly label: string;
  /** What to store, e.g. `the bot token (xoxb-…) as plain text`. */
  readonly expected: string;
  /** Validates the text; returns what is wrong (never quoting it), or `undefined` when it is fine. */
  problem(text: string): string | undefined;
}

// Shared wording problems: both secrets are plain text, and the operator may still hold the old format.
function commonProblem(text: string): string | undefined {
  if (text.trim() === '') return 'is empty';
  if (text !== text.trim()) return 'has white space around it (a trailing newline?)';
  if (text.startsWith('{')) return 'holds JSON (the old combined format?)';
  return undefined;
}

/** The bot user OAuth token, `xoxb-…`. */
export const BOT_TOKEN: SecretKind = {
  label: 'Slack bot token',
  expected: 'the bot user OAuth token (xoxb-…) as plain text',
  problem: (text) =>
    commonProblem(text) ??
    (/^xoxb-[A-Za-z0-9-]{8,500}$/.test(text) ? undefined : 'is not a bot token (one starts with "xoxb-")'),
};

/** The app's signing secret (Basic Information → App Credentials). */
export const SIGNING_SECRET: SecretKind = {
  label: 'Slack signing secret',
  expected: 'the app’s signing secret as plain text',
  problem: (text) => {
    const common = commonProblem(text);
    if (common) return common;
    if (/^xox[a-z]-/.test(text)) return 'holds a Slack token, not the signing secret';
    return /^[\x21-\x7e]{16,256}$/.test(text)
      ? undefined
      : 'is not a signing secret (16 to 256 visible ASCII characters)';
  },
};

/**
 * Validates a secret's text. Messages name the secret and what is wrong, never the value: it is a secret
 * and error messages end up in logs and Slack replies.
 */
export function parseSecretText(text: string | undefined, kind: SecretKind, secretId: string): string {
  if (text === undefined)
    throw new ConfigError(`${kind.label} secret ${secretId} is empty: store ${kind.expected} in it`);
  const problem = kind.problem(text);
  if (problem)
    throw new ConfigError(`${kind.label} secret ${secretId} ${problem}: store ${kind.expected} in it`);
  return text;
}

/** A credential read from a secret, cached for a time-to-live so that a rotation needs no deploy. */
export interface SecretSource {
  /** The current value: cached while younger than the time-to-live, else read again. */
  get(): Promise<string>;
  /**
   * Reads the secret again when the cached value is old enough (see {@link CachedSecretOptions}) and
   * returns the new value if it differs; `undefined` otherwise (too soon, or unchanged). For a caller
   * whose credential was just refused (a signature that does not verify, `invalid_auth`): bounded, so a
   * flood of bad requests cannot turn every one into a Secrets Manager read.
   */
  refresh(): Promise<string | undefined>;
}

export interface CachedSecretOptions {
  /** How long a read value is used; 0 reads on every use. */
  readonly ttlSeconds: number;
  /** The youngest a cached value may be for {@link SecretSource.refresh} to read again; default 30 s (at most the TTL). */
  readonly minRefreshSeconds?: number;
  readonly now?: () => number;
}

/**
 * One secret in Secrets Manager, read when first needed, cached per container for a time-to-live.
 * Concurrent uses share one read. A failed read is never cached, so the next use tries again (the
 * operator may have just filled the secret), and an expired value is never used in its place: PolicyGate
 * fails closed rather than verify with a secret it may no longer hold.
 */
export class SecretsManagerSecret implements SecretSource {
  private cached: { value: string; readAt: number } | undefined;
  private reading: Promise<string> | undefined;
  private readonly ttlMs: number;
  private readonly minRefreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
    private readonly kind: SecretKind,
    options: CachedSecretOptions,
  ) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.minRefreshMs = Math.min(options.minRefreshSeconds ?? 30, options.ttlSeconds) * 1000;
    this.now = options.now ?? Date.now;
  }

  get(): Promise<string> {
    const cached = this.cached;
    if (cached && this.now() - cached.readAt < this.ttlMs) return Promise.resolve(cached.value);
    return this.read();
  }

  async refresh(): Promise<string | undefined> {
    const before = this.cached;
    if (before && this.now() - before.readAt < this.minRefreshMs) return undefined;
    const value = await this.read();
    return before && value !== before.value ? value : undefined;
  }

  private read(): Promise<string> {
    if (!this.reading) {
      const reading = this.fetch().then(
        (value) => {
          this.cached = { value, readAt: this.now() };
          return value;
        },
        (error: unknown) => {
          // Not cached: the next use reads again. The old value is dropped too, so it is not used past its TTL.
          this.cached = undefined;
          throw error;
        },
      );
      this.reading = reading;
      const clear = () => {
        if (this.reading === reading) this.reading = undefined;
      };
      reading.then(clear, clear);
    }
    return this.reading;
  }

  private async fetch(): Promise<string> {
    let text: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      text = out.SecretString;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      if (e.name === 'ResourceNotFoundException') {
        // A secret the stack created but nobody filled has no AWSCURRENT value: the same answer.
        throw new ConfigError(
          `${this.kind.label} secret ${this.secretId} not found or has no value yet: store ${this.kind.expected} in it`,
        );
      }
      if (status === undefined || status >= 500 || /Throttl/i.test(e.name ?? '')) {
        throw new TransientError(`GetSecretValue failed: ${e.name ?? 'Error'}`, { cause: error });
      }
      throw new AwsOperationError(
        'GetSecretValue',
        e.name ?? 'Error',
        `reading the ${this.kind.label} secret failed`,
      );
    }
    return parseSecretText(text, this.kind, this.secretId);
  }
}
