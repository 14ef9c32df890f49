import type { IAMClient } from '@aws-sdk/client-iam';

/**
 * An IAM client that acts in one account: the function's own credentials in the central account, the
 * member role (`policy-gate-member`, assumed with the stage's external id) in a member account. The
 * session name names what the calls are for (`policy-gate-<approval id>`), so the member account's
 * CloudTrail says which approval each write belongs to.
 */
export interface IamClientForAccount {
  iamFor(accountId: string, sessionName: string): Promise<IAMClient>;
}

// STS's RoleSessionName grammar: [\w+=,.@-]{2,64}.
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/**
 * The role session name for `label` (an approval id, or `sweep`): `policy-gate-` and the label, with any
 * character STS refuses replaced by `-` and cut to STS's 64 characters, so any approval id (a UUID, a
 * `sweep-…` id, an `evt-…` digest) gives a name STS accepts.
 */
export function roleSessionName(label: string): string {
  const name = `policy-gate-${label.replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);
  if (!SESSION_NAME.test(name))
    throw new Error(`cannot make a role session name of ${JSON.stringify(label)}`);
  return name;
}

/** The member role's ARN in `accountId` (its path is `/`: the member stack creates it there). */
export function memberRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}
