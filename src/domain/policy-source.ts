import { PolicyGateError, PolicyParseError } from '../errors';
import { isCloudTrailShaped, normaliseEvent } from './cloudtrail';
import type { ChangeTarget } from './policy-change';

/** Where in an input the checked policy document came from. */
export interface LocatedDocument {
  /** The document as found: object, JSON text or URL-encoded JSON text. */
  readonly document: unknown;
  /** Human description of the origin, e.g. `PutRolePolicy event (role Dev, policy s3-admin)`. */
  readonly origin: string;
}

/** What a change concerns, in a few words: the policy whose document the user should check instead. */
function concerns(target: ChangeTarget): string {
  switch (target.kind) {
    case 'managed-policy':
    case 'attachment':
      return target.policyArn;
    case 'inline-policy':
      return target.policyName;
    case 'group-membership':
      return `the policies of group ${target.groupName}`;
    case 'permissions-boundary':
      return (
        target.policyArn ?? `the permissions boundary of ${target.principalType} ${target.principalName}`
      );
    case 'trust-policy':
      return `the trust policy of role ${target.roleName}`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Finds the policy document inside what a user hands the checker: a policy document itself, an
 * EventBridge CloudTrail event or bare CloudTrail record, or the output of
 * `aws iam get-policy-version` / `get-role-policy` (and the user/group forms).
 * Throws a {@link PolicyGateError} explaining why an input holds no document to check.
 */
export function locatePolicyDocument(input: unknown): LocatedDocument {
  if (typeof input === 'string') return { document: input, origin: 'policy document' };
  if (!isRecord(input))
    throw new PolicyParseError('', 'expected a policy document, CloudTrail event or record');
  if (Array.isArray(input.Records)) {
    throw new PolicyGateError(
      'this is a CloudTrail log file with several records; check one record per file',
    );
  }
  if (isCloudTrailShaped(input)) {
    const normalised = normaliseEvent(input, { ownRoleArns: [] });
    if (normalised.kind === 'ignored') {
      throw new PolicyGateError(`the event changes no policy document (${normalised.detail})`);
    }
    const { change } = normalised;
    if (change.document === undefined) {
      throw new PolicyGateError(
        `${change.eventName} carries no policy document (it concerns ${concerns(change.target)}); check that policy's document instead`,
      );
    }
    return { document: change.document, origin: `${change.eventName} event ${change.eventId}` };
  }
  if (isRecord(input.PolicyVersion) && input.PolicyVersion.Document !== undefined) {
    return { document: input.PolicyVersion.Document, origin: 'GetPolicyVersion output' };
  }
  if (input.PolicyDocument !== undefined && input.Statement === undefined) {
    return { document: input.PolicyDocument, origin: 'inline policy output' };
  }
  return { document: input, origin: 'policy document' };
}
