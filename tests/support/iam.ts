import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { CloudTrailEvent } from '../../local/iam/cloudtrail';
import { DEVELOPER_KEY, type Sandbox } from '../../local/sandbox';

/** A trust policy for roles the tests create: Lambda may assume them. */
export const LAMBDA_TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** Creates a role as the sandbox's developer (an unwatched call). */
export async function createRole(sandbox: Sandbox, name: string, path = '/'): Promise<void> {
  await sandbox.developer.send(
    new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: LAMBDA_TRUST }),
  );
}

/**
 * Puts an inline policy on a role as the sandbox's developer and returns the CloudTrail event that call
 * emitted, for tests that deliver (or mangle) the event themselves.
 */
export async function putRolePolicy(
  sandbox: Sandbox,
  role: string,
  policyName: string,
  document: string,
): Promise<CloudTrailEvent> {
  const before = sandbox.iam.events.length;
  await sandbox.developer.send(
    new PutRolePolicyCommand({ RoleName: role, PolicyName: policyName, PolicyDocument: document }),
  );
  const event = sandbox.iam.events.slice(before).find((e) => e.detail.eventName === 'PutRolePolicy');
  if (!event) throw new Error(`PutRolePolicy on role ${role} emitted no event`);
  return event;
}

/** Credentials of an access key (long-term or an STS session's). */
export interface KeyCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The sandbox developer's long-term key (IAM user `alice`). */
export const DEVELOPER: KeyCredentials = { accessKeyId: DEVELOPER_KEY, secretAccessKey: 'local' };

/**
 * Assumes a role through the sandbox's STS as `as` (default: the developer), with a session name of the
 * caller's choosing and optionally a source identity, and returns the session's credentials and an IAM client
 * acting as the session: its calls carry the session's CloudTrail identity.
 */
export async function assumeRole(
  sandbox: Sandbox,
  roleArn: string,
  sessionName: string,
  options: {
    as?: KeyCredentials;
    sourceIdentity?: string;
    externalId?: string;
    /** The IAM endpoint the session's client uses (default the sandbox's central IAM). */
    iamEndpoint?: string;
  } = {},
): Promise<{ credentials: KeyCredentials; iam: IAMClient }> {
  const sts = new STSClient({
    region: 'us-east-1',
    endpoint: sandbox.sts.endpoint,
    credentials: options.as ?? DEVELOPER,
    maxAttempts: 1,
  });
  try {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: sessionName,
        ...(options.sourceIdentity && { SourceIdentity: options.sourceIdentity }),
        ...(options.externalId && { ExternalId: options.externalId }),
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
    const credentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken && { sessionToken: c.SessionToken }),
    };
    const iam = new IAMClient({
      region: 'us-east-1',
      endpoint: options.iamEndpoint ?? sandbox.iam.endpoint,
      credentials,
      maxAttempts: 1,
    });
    return { credentials, iam };
  } finally {
    sts.destroy();
  }
}
