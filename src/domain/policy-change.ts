/**
 * The typed view of one IAM change, as PolicyGate's workflow sees it: who changed what, where and when,
 * and the policy text involved. Built from CloudTrail by `normaliseEvent` in `cloudtrail.ts`.
 */

export type PrincipalType = 'role' | 'user' | 'group';

/**
 * The calls PolicyGate gates: a risky one is contained at once (quarantined) until a human approves it.
 * `AddUserToGroup` hands the user everything the group grants, so it is gated like an attachment.
 */
export type GatedEventName =
  | 'CreatePolicy'
  | 'CreatePolicyVersion'
  | 'SetDefaultPolicyVersion'
  | 'PutRolePolicy'
  | 'PutUserPolicy'
  | 'PutGroupPolicy'
  | 'AttachRolePolicy'
  | 'AttachUserPolicy'
  | 'AttachGroupPolicy'
  | 'AddUserToGroup';

/**
 * Calls that change what a principal may do without granting through a policy of its own: permissions
 * boundaries and trust policies. They are reported (with the new document's findings), not contained.
 */
export type ReportedEventName =
  | 'PutRolePermissionsBoundary'
  | 'DeleteRolePermissionsBoundary'
  | 'PutUserPermissionsBoundary'
  | 'DeleteUserPermissionsBoundary'
  | 'UpdateAssumeRolePolicy';

/**
 * Calls that only take permissions away. Harmless on any other principal, but on PolicyGate's own roles they
 * can disable the gate, so they are watched there (and only there).
 */
export type RemovalEventName = 'DeleteRolePolicy' | 'DetachRolePolicy';

export type PolicyChangeEventName = GatedEventName | ReportedEventName | RemovalEventName;

// Records keyed by the unions make the compiler reject a list that misses or invents an event name.
const GATED: Readonly<Record<GatedEventName, true>> = {
  CreatePolicy: true,
  CreatePolicyVersion: true,
  SetDefaultPolicyVersion: true,
  PutRolePolicy: true,
  PutUserPolicy: true,
  PutGroupPolicy: true,
  AttachRolePolicy: true,
  AttachUserPolicy: true,
  AttachGroupPolicy: true,
  AddUserToGroup: true,
};
const REPORTED: Readonly<Record<ReportedEventName, true>> = {
  PutRolePermissionsBoundary: true,
  DeleteRolePermissionsBoundary: true,
  PutUserPermissionsBoundary: true,
  DeleteUserPermissionsBoundary: true,
  UpdateAssumeRolePolicy: true,
};
const REMOVALS: Readonly<Record<RemovalEventName, true>> = {
  DeleteRolePolicy: true,
  DetachRolePolicy: true,
};

/** The gated calls, e.g. for the EventBridge rule pattern. */
export const GATED_EVENT_NAMES = Object.freeze(Object.keys(GATED) as GatedEventName[]);
/** The reported calls (boundaries, trust policies). */
export const REPORTED_EVENT_NAMES = Object.freeze(Object.keys(REPORTED) as ReportedEventName[]);
/** The removals watched on PolicyGate's own roles only. */
export const REMOVAL_EVENT_NAMES = Object.freeze(Object.keys(REMOVALS) as RemovalEventName[]);
/** Every IAM event name PolicyGate reads, whatever it then does with it. */
export const POLICY_CHANGE_EVENT_NAMES: readonly PolicyChangeEventName[] = Object.freeze([
  ...GATED_EVENT_NAMES,
  ...REPORTED_EVENT_NAMES,
  ...REMOVAL_EVENT_NAMES,
]);

/** Whether `name` is one of the {@link POLICY_CHANGE_EVENT_NAMES} (case-sensitive, as CloudTrail spells them). */
export function isPolicyChangeEventName(name: unknown): name is PolicyChangeEventName {
  return (
    typeof name === 'string' &&
    (Object.hasOwn(GATED, name) || Object.hasOwn(REPORTED, name) || Object.hasOwn(REMOVALS, name))
  );
}

/** Whether `name` is a reported call (boundary or trust policy). */
export function isReportedEventName(name: unknown): name is ReportedEventName {
  return typeof name === 'string' && Object.hasOwn(REPORTED, name);
}

/** Whether `name` only removes permissions. */
export function isRemovalEventName(name: unknown): name is RemovalEventName {
  return typeof name === 'string' && Object.hasOwn(REMOVALS, name);
}

export type ChangeTarget =
  | { kind: 'managed-policy'; policyArn: string; policyName?: string }
  | { kind: 'inline-policy'; principalType: PrincipalType; principalName: string; policyName: string }
  | { kind: 'attachment'; principalType: PrincipalType; principalName: string; policyArn: string }
  | { kind: 'group-membership'; groupName: string; userName: string }
  | {
      kind: 'permissions-boundary';
      principalType: 'role' | 'user';
      principalName: string;
      /** The boundary policy put in place; absent when the boundary was removed. */
      policyArn?: string;
    }
  | { kind: 'trust-policy'; roleName: string };

export interface Actor {
  type: string;
  arn?: string;
  principalId?: string;
  accountId?: string;
  userName?: string;
  /** role session name for AssumedRole */
  sessionName?: string;
  sessionIssuer?: { type: string; arn: string; userName?: string };
  accessKeyId?: string;
  invokedBy?: string;
  mfaAuthenticated?: boolean;
  /**
   * `userIdentity.sessionContext.sourceIdentity`: the identity set with `AssumeRole`'s `SourceIdentity` (or the
   * IdP's SourceIdentity attribute). AWS keeps it unchanged along a role chain, so it names the person.
   */
  sourceIdentity?: string;
  /** `sessionContext.attributes.creationDate` (ISO): when the session's credentials were issued. */
  sessionCreatedAt?: string;
}

/** How PolicyGate learnt of a change. */
export type ChangeOrigin = 'cloudtrail' | 'sweep';

export interface PolicyChange {
  /**
   * CloudTrail's `eventID`, which is also the approval id. When the event has none that PolicyGate can use
   * as a key, a stable id derived from the event's content (`evt-…`) stands in, and `problems` says so.
   */
  eventId: string;
  eventName: PolicyChangeEventName;
  eventTime: string;
  accountId: string;
  region: string;
  actor: Actor;
  sourceIp?: string;
  userAgent?: string;
  requestId?: string;
  target: ChangeTarget;
  /**
   * Raw policy document exactly as the event carries it (JSON text, possibly URL-encoded); absent for
   * Attach*\/SetDefaultPolicyVersion\/AddUserToGroup and when the event lacks it. If the event holds an
   * object instead of a string, JSON.stringify it. Never trusted for the decision: IAM is read instead.
   */
  document?: string;
  /**
   * CreatePolicy: responseElements.policy.defaultVersionId (or 'v1'); CreatePolicyVersion:
   * responseElements.policyVersion.versionId; SetDefaultPolicyVersion: requestParameters.versionId.
   * Absent when the event does not say; IAM's current default version is then the one examined.
   */
  versionId?: string;
  /**
   * CreatePolicyVersion only: requestParameters.setAsDefault (string "true"/"false" or boolean in the wild;
   * normalised to boolean, absent = false). `undefined` when the event holds something unreadable: IAM then
   * decides whether the version is in force.
   */
  setAsDefault?: boolean;
  /**
   * What in the event PolicyGate could not read, in plain words (`detail.eventTime: not a timestamp`).
   * The change is still contained as far as it can be located; the record and the messages show these.
   */
  problems?: string[];
  /** How PolicyGate learnt of the change; absent = CloudTrail. */
  origin?: ChangeOrigin;
  /**
   * Set (to the role's ARN) when one of PolicyGate's own roles made the call. Such a call is PolicyGate's
   * own only if it is exactly a write an approval record expects; anything else is gated and alerted.
   */
  madeByOwnRole?: string;
}

export type IgnoreReason = 'failed-call' | 'unsupported-event';

export type NormalisedEvent =
  | { kind: 'change'; change: PolicyChange }
  | { kind: 'ignored'; reason: IgnoreReason; detail: string; eventId?: string; eventName?: string };
