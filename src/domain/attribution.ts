import type { Actor } from './policy-change';

/**
 * Who really made a change, as pure logic. An IAM user is a person; an assumed-role session is a person only
 * when AWS vouches for who holds it: its source identity (set once, kept along a role chain), or a session
 * name that IAM Identity Center (or an IdP the operator declares) sets from the person's sign-in. Any other
 * session name is chosen by whoever called `AssumeRole`, so it names nobody: PolicyGate then follows the
 * `AssumeRole` that issued the session's access key back to its caller (see the attribution service).
 */

/** How a change was attributed. */
export type AttributionMethod =
  | 'iam-user'
  | 'source-identity'
  | 'identity-center'
  | 'person-session'
  | 'assume-role-chain'
  | 'service-identity'
  | 'unattributed';

/** One session walked back through the `AssumeRole` that issued it. */
export interface ChainLink {
  /** The session's ARN (`arn:aws:sts::…:assumed-role/<role>/<session>`). */
  readonly sessionArn: string;
  /** The `AssumeRole` event that issued its access key. */
  readonly eventId: string;
  /** Who called that `AssumeRole` (an ARN, or an AWS service's name). */
  readonly calledBy: string;
}

/** The record's answer to "who made this change, and how do we know". */
export interface Attribution {
  readonly method: AttributionMethod;
  /**
   * The person (an IAM user name, a source identity, an Identity Center user name); present for every method
   * but `service-identity` and `unattributed`.
   */
  readonly person?: string;
  /** How the person was found (for `assume-role-chain`: how the end of the chain was attributed). */
  readonly via?: Exclude<AttributionMethod, 'assume-role-chain' | 'service-identity' | 'unattributed'>;
  /** `assume-role-chain`: the sessions walked, the change's own first. */
  readonly chain?: readonly ChainLink[];
  /** `service-identity`: the role the operator declared. */
  readonly serviceRole?: string;
  /** `service-identity`: what the operator said of it. */
  readonly serviceNote?: string;
  /** `unattributed` (or `service-identity`): why no person could be named. */
  readonly reason?: string;
  /**
   * The session's source identity when the chain named someone through its `AssumeRole` events instead:
   * the self-approval check compares the decider with both.
   */
  readonly sourceIdentity?: string;
  /**
   * `unattributed` because the trail did not (yet) answer: the `AssumeRole` not searchable yet, throttled,
   * failed. Worth asking again later, e.g. at the first approval.
   */
  readonly retryable?: true;
}

/** The operator's declarations that bear on attribution (from the identity map). */
export interface AttributionSettings {
  /** Role ARNs (lower case) declared service identities, with what the operator said of each. */
  readonly serviceRoles: ReadonlyMap<string, string>;
  /** Role ARNs (lower case) whose session names an IdP sets from the person's sign-in, as Identity Center does. */
  readonly personSessionRoles: ReadonlyMap<string, string>;
}

export const NO_ATTRIBUTION_SETTINGS: AttributionSettings = {
  serviceRoles: new Map(),
  personSessionRoles: new Map(),
};

/** How many `AssumeRole` hops are followed before giving up (AWS itself does not bound chains). */
export const MAX_CHAIN_DEPTH = 5;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(.*)$/;

/**
 * Whether a role ARN is an IAM Identity Center permission-set role: `AWSReservedSSO_*` under the path
 * `/aws-reserved/sso.amazonaws.com/` (with the Identity Center Region as a further path element outside
 * us-east-1). IAM refuses customer roles under `/aws-reserved/`, and Identity Center sets such a role's session
 * name to the signed-in user's name.
 */
export function isIdentityCenterRole(roleArn: string): boolean {
  const path = ROLE_ARN.exec(roleArn)?.[1];
  return (
    path !== undefined &&
    /^aws-reserved\/sso\.amazonaws\.com\/(?:[a-z0-9-]+\/)?AWSReservedSSO_[^/]+$/.test(path)
  );
}

/** What can be said of an actor from its own event, before any trail search. */
export type DirectAttribution =
  | { readonly kind: 'person'; readonly attribution: Attribution }
  | { readonly kind: 'unattributed'; readonly reason: string }
  /** An assumed-role session whose holder only its issuing `AssumeRole` can tell. */
  | {
      readonly kind: 'follow';
      readonly accessKeyId: string;
      readonly sessionArn: string;
      readonly roleArn: string;
      /** When the session was issued, if the event says: the `AssumeRole` happened then. */
      readonly issuedAt?: string;
    };

/**
 * Attributes an actor from what its event says (no trail search): an IAM user; an assumed-role session with
 * a source identity; a session of an Identity Center role or a declared person-session role, by its session
 * name. Any other assumed-role session is to be followed to the `AssumeRole` that issued its access key.
 */
export function attributeDirectly(actor: Actor, settings: AttributionSettings): DirectAttribution {
  switch (actor.type) {
    case 'IAMUser':
      return actor.userName
        ? {
            kind: 'person',
            attribution: { method: 'iam-user', person: actor.userName, via: 'iam-user' },
          }
        : { kind: 'unattributed', reason: 'the IAM user has no readable name' };
    case 'AssumedRole':
      break;
    case 'Root':
      return { kind: 'unattributed', reason: "the account's root user is not a named person" };
    case 'FederatedUser':
      return {
        kind: 'unattributed',
        reason: 'a federated user is named by whoever called GetFederationToken, so the name proves nothing',
      };
    case 'Unknown':
      return { kind: 'unattributed', reason: "the change's actor could not be read from its event" };
    default:
      return {
        kind: 'unattributed',
        reason: `an identity of type ${actor.type} is not a person PolicyGate can name`,
      };
  }
  if (actor.sourceIdentity) {
    return {
      kind: 'person',
      attribution: { method: 'source-identity', person: actor.sourceIdentity, via: 'source-identity' },
    };
  }
  const roleArn = actor.sessionIssuer?.arn;
  if (!roleArn) {
    return { kind: 'unattributed', reason: 'the assumed-role session names no role (session issuer)' };
  }
  if (actor.sessionName && isIdentityCenterRole(roleArn)) {
    return {
      kind: 'person',
      attribution: { method: 'identity-center', person: actor.sessionName, via: 'identity-center' },
    };
  }
  if (actor.sessionName && settings.personSessionRoles.has(roleArn.toLowerCase())) {
    return {
      kind: 'person',
      attribution: { method: 'person-session', person: actor.sessionName, via: 'person-session' },
    };
  }
  if (!actor.accessKeyId || !actor.arn) {
    return {
      kind: 'unattributed',
      reason: `the session's name on role ${roleArn} is chosen by whoever assumed it, and the event carries no access key to find who that was`,
    };
  }
  return {
    kind: 'follow',
    accessKeyId: actor.accessKeyId,
    sessionArn: actor.arn,
    roleArn,
    ...(actor.sessionCreatedAt && { issuedAt: actor.sessionCreatedAt }),
  };
}

/** The declared service identity an actor runs as, if any: its session's role. */
export function serviceRoleOf(
  actor: Actor,
  settings: AttributionSettings,
): { arn: string; note: string } | undefined {
  const arn = actor.type === 'AssumedRole' ? actor.sessionIssuer?.arn : undefined;
  const note = arn ? settings.serviceRoles.get(arn.toLowerCase()) : undefined;
  return arn && note !== undefined ? { arn, note } : undefined;
}

/** The approvals an attribution needs on its own: two when no person can be named, else one. */
export function approvalsNeededFor(attribution: Attribution): 1 | 2 {
  return attribution.method === 'unattributed' ? 2 : 1;
}

/** One line for messages: who the change is attributed to, and how. */
export function describeAttribution(attribution: Attribution): string {
  switch (attribution.method) {
    case 'iam-user':
      return `${attribution.person} (IAM user)`;
    case 'source-identity':
      return `${attribution.person} (the session's source identity)`;
    case 'identity-center':
      return `${attribution.person} (IAM Identity Center session)`;
    case 'person-session':
      return `${attribution.person} (session name set by the identity provider of a declared role)`;
    case 'assume-role-chain': {
      const hops = attribution.chain?.length ?? 0;
      const via = attribution.via
        ? describeAttribution({
            method: attribution.via,
            ...(attribution.person && { person: attribution.person }),
          })
        : attribution.person;
      return `${via}, found through ${hops} AssumeRole event${hops === 1 ? '' : 's'}`;
    }
    case 'service-identity':
      return `service identity ${attribution.serviceRole} (declared by the operator${attribution.serviceNote ? `: ${attribution.serviceNote}` : ''})`;
    case 'unattributed':
      return `nobody: unattributed (${attribution.reason ?? 'no reason recorded'})`;
  }
}

/**
 * An actor's attribution from its own event alone (no trail search): a person when the event vouches for
 * one, else a declared service identity, else unattributed; a session still to be followed through the trail
 * counts as unattributed until it is.
 */
export function attributeFromEvent(actor: Actor, settings: AttributionSettings): Attribution {
  const direct = attributeDirectly(actor, settings);
  if (direct.kind === 'person') return direct.attribution;
  const reason =
    direct.kind === 'unattributed'
      ? direct.reason
      : `the session name on ${direct.roleArn} is chosen by whoever assumed the role, and the AssumeRole that issued the session has not been found`;
  const service = serviceRoleOf(actor, settings);
  return service
    ? { method: 'service-identity', serviceRole: service.arn, serviceNote: service.note, reason }
    : { method: 'unattributed', reason };
}
