import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import type { CloudTrailEvent } from '../../local/iam/cloudtrail';
import type { Sandbox } from '../../local/sandbox';

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
