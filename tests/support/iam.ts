import { CreateRoleCommand } from '@aws-sdk/client-iam';
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
