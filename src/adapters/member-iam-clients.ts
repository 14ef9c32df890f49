import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import { AwsOperationError } from '../errors';
import { type IamClientForAccount, memberRoleArn, roleSessionName } from '../services/iam-client-for-account';
import { mapAwsError } from './aws-error';

export interface MemberIamClientsOptions {
  /** The account the functions run in: its IAM is reached with their own credentials. */
  readonly centralAccountId: string;
  /** `aws`, `aws-us-gov`, `aws-cn`. */
  readonly partition: string;
  readonly region: string;
  /** The member role this function assumes in every member account (`policy-gate-member-quarantine`, `-restore` or `-read`). */
  readonly memberRoleName: string;
  /** The external id the member role's trust policy requires. */
  readonly externalId: string;
  /** How long an assumed session lasts; STS's minimum, 15 minutes, by default. */
  readonly durationSeconds?: number;
  /** A session is not used in its last this-many seconds (a call must not outlive its credentials). */
  readonly refreshBeforeSeconds?: number;
  /** The central account's client (the function's own credentials). */
  readonly centralClient?: IAMClient;
  readonly now?: () => number;
}

interface Session {
  readonly client: IAMClient;
  readonly expires: number;
}

/** At most this many sessions are kept per container; the oldest goes first. */
const MAX_SESSIONS = 256;

/**
 * {@link IamClientForAccount} through STS: in a member account, `AssumeRole` of the member role with the
 * stage's external id and a session name naming the approval; the session's client is reused until
 * shortly before it expires. Sessions are kept per account and session name, so a write in a member
 * account is always attributable to its approval in that account's CloudTrail and credentials of one
 * account are never used for another. `sessionName` is turned into a name STS accepts.
 */
export class StsMemberIamClients implements IamClientForAccount {
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, Promise<Session>>();
  private readonly now: () => number;
  private central?: IAMClient;

  constructor(
    private readonly sts: STSClient,
    private readonly options: MemberIamClientsOptions,
  ) {
    this.now = options.now ?? Date.now;
    if (options.centralClient) this.central = options.centralClient;
  }

  async iamFor(accountId: string, sessionName: string): Promise<IAMClient> {
    if (!/^\d{12}$/.test(accountId)) {
      throw new AwsOperationError('AssumeRole', 'ValidationError', 'not a 12-digit account id');
    }
    if (accountId === this.options.centralAccountId) {
      this.central ??= new IAMClient({ region: this.options.region });
      return this.central;
    }
    const name = roleSessionName(sessionName.replace(/^policy-gate-/, ''));
    const key = `${accountId}/${name}`;
    const margin = (this.options.refreshBeforeSeconds ?? 120) * 1000;
    const held = this.sessions.get(key);
    if (held && held.expires - margin > this.now()) return held.client;
    let waiting = this.pending.get(key);
    if (!waiting) {
      waiting = this.assume(accountId, name).finally(() => this.pending.delete(key));
      this.pending.set(key, waiting);
    }
    const session = await waiting;
    this.remember(key, session);
    return session.client;
  }

  private remember(key: string, session: Session): void {
    const old = this.sessions.get(key);
    if (old && old !== session) old.client.destroy();
    this.sessions.delete(key);
    this.sessions.set(key, session);
    while (this.sessions.size > MAX_SESSIONS) {
      const [oldest] = this.sessions.keys();
      if (oldest === undefined) break;
      this.sessions.get(oldest)?.client.destroy();
      this.sessions.delete(oldest);
    }
  }

  private async assume(accountId: string, sessionName: string): Promise<Session> {
    const { partition, memberRoleName, externalId, region } = this.options;
    let answer: AssumeRoleCommandOutput;
    try {
      answer = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: memberRoleArn(partition, accountId, memberRoleName),
          RoleSessionName: sessionName,
          ExternalId: externalId,
          DurationSeconds: this.options.durationSeconds ?? 900,
        }),
      );
    } catch (error) {
      throw mapAwsError(`AssumeRole of ${memberRoleName} in ${accountId}`, error);
    }
    const credentials = answer.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
      throw new AwsOperationError(
        'AssumeRole',
        'NoCredentials',
        `STS returned no credentials for ${accountId}`,
      );
    }
    const expires = credentials.Expiration?.getTime() ?? this.now() + 900_000;
    return {
      client: new IAMClient({
        region,
        credentials: {
          accessKeyId: credentials.AccessKeyId,
          secretAccessKey: credentials.SecretAccessKey,
          sessionToken: credentials.SessionToken,
          expiration: new Date(expires),
        },
      }),
      expires,
    };
  }
}
