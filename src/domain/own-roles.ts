import type { Actor, ChangeTarget } from './policy-change';

/**
 * PolicyGate's own roles, as targets of a change. A change to them is never quarantined (quarantining the
 * role that quarantines would disable the gate, and a Deny on it would make every later quarantine fail)
 * but always raises a critical alert, unless the stack's own deployer made it.
 */

/** The role name of an IAM role ARN (`arn:aws:iam::123456789012:role/path/Name` → `Name`). */
export function roleNameOfArn(arn: string): string | undefined {
  const match = /^arn:[^:]+:iam::[^:]*:role\/(?:.*\/)?([^/]+)$/s.exec(arn.trim());
  return match?.[1];
}

/**
 * The name of PolicyGate's role that `target` changes, or `undefined`. Role names are compared without
 * case, as IAM resolves them.
 */
export function ownRoleTargeted(target: ChangeTarget, ownRoleNames: readonly string[]): string | undefined {
  let roleName: string | undefined;
  switch (target.kind) {
    case 'inline-policy':
    case 'attachment':
    case 'permissions-boundary':
      roleName = target.principalType === 'role' ? target.principalName : undefined;
      break;
    case 'trust-policy':
      roleName = target.roleName;
      break;
    case 'managed-policy':
    case 'group-membership':
      roleName = undefined;
  }
  if (roleName === undefined) return undefined;
  const lower = roleName.toLowerCase();
  return ownRoleNames.find((own) => own.toLowerCase() === lower);
}

/**
 * Whether the actor is the stack's deployer role (the role CloudFormation deploys PolicyGate with): its
 * changes to PolicyGate's roles are the stack's own updates. Only the session issuer (or the ARN of a
 * role acting directly) is compared; nothing about the session name counts.
 */
export function isDeployer(actor: Actor, deployerRoleArn: string | undefined): boolean {
  if (!deployerRoleArn) return false;
  const expected = deployerRoleArn.trim().toLowerCase();
  const issuer = actor.sessionIssuer?.arn?.trim().toLowerCase();
  return issuer === expected || actor.arn?.trim().toLowerCase() === expected;
}
