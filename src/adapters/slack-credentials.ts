import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AwsOperationError, ConfigError, TransientError } from '../errors';

/** The Slack app's credentials, as the operator stores them in the stage's secret. */
export interface SlackCredentials {
  /** Bot user OAuth token, `xoxb-…`. */
  readonly botToken: string;
  /** Signing secret: verifies that interactivity requests come from Slack. */
  readonly signingSecret: string;
}

/** Where the Slack credentials come from. */
export interface SlackCredentialSource {
  get(): Promise<SlackCredentials>;
}

const EXPECTED = 'a JSON object {"botToken": "xoxb-…", "signingSecret": "…"}';

/**
 * Validates the secret's text. Messages name the field that is wrong, never a value: this text is a
 * secret and error messages end up in logs and Slack replies.
 */
export function parseSlackSecret(text: string | undefined, secretId: string): SlackCredentials {
  if (text === undefined || text.trim() === '') {
    throw new ConfigError(`Slack secret ${secretId} is empty: store ${EXPECTED} in it`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`Slack secret ${secretId} is not JSON: store ${EXPECTED} in it`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`Slack secret ${secretId} must be ${EXPECTED}`);
  }
  const { botToken, signingSecret } = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof botToken !== 'string' || !/^xoxb-\S+$/.test(botToken)) {
    problems.push('botToken must be a bot token starting with "xoxb-"');
  }
  if (typeof signingSecret !== 'string' || !/^\S{8,}$/.test(signingSecret)) {
    problems.push('signingSecret must be the app’s signing secret');
  }
  if (problems.length > 0) throw new ConfigError(`Slack secret ${secretId}: ${problems.join('; ')}`);
  return { botToken: botToken as string, signingSecret: signingSecret as string };
}

/**
 * Reads the credentials from Secrets Manager once per Lambda container and caches them. A failed read is
 * not cached, so the next invocation tries again (the operator may have just filled the secret).
 */
export class SecretsManagerSlackCredentials implements SlackCredentialSource {
  private cached: Promise<SlackCredentials> | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  get(): Promise<SlackCredentials> {
    if (!this.cached) {
      this.cached = this.read();
      this.cached.catch(() => {
        this.cached = undefined;
      });
    }
    return this.cached;
  }

  private async read(): Promise<SlackCredentials> {
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
          `Slack secret ${this.secretId} not found or has no value yet: store ${EXPECTED} in it`,
        );
      }
      if (status === undefined || status >= 500 || /Throttl/i.test(e.name ?? '')) {
        throw new TransientError(`GetSecretValue failed: ${e.name ?? 'Error'}`, { cause: error });
      }
      throw new AwsOperationError('GetSecretValue', e.name ?? 'Error', 'reading the Slack secret failed');
    }
    return parseSlackSecret(text, this.secretId);
  }
}
