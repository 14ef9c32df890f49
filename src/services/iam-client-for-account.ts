import type { IAMClient } from '@aws-sdk/client-iam';

/**
 * An IAM client that acts in one account: the function's own credentials in the central account, the
 * function's own member role (`policy-gate-member-quarantine`, `-restore` or `-read`, assumed with the
 * stage's external id) in a member account. The
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

/**
 * Which of the member stack's roles a function assumes: `quarantine` (analyseChange: the reads of the
 * analysis and the quarantine writes), `restore` (restoreChange) or `read` (the sweep, reads only). Each
 * member role trusts only its one central function's role, so a function can act only as its own.
 */
export type MemberRoleUse = 'quarantine' | 'restore' | 'read';

/** Every member role use, in the member stack's order. */
export const MEMBER_ROLE_USES: readonly MemberRoleUse[] = ['quarantine', 'restore', 'read'];

/** The member role's name for `use`: the stage's `memberRoleName` and `-quarantine`, `-restore` or `-read`. */
export function memberRoleNameFor(baseName: string, use: MemberRoleUse): string {
  return `${baseName}-${use}`;
}

/** The member role's ARN in `accountId` (its path is `/`: the member stack creates it there). */
export function memberRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}
