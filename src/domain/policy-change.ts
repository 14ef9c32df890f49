/**
 * The typed view of one IAM policy change, as PolicyGate's workflow sees it: who changed what, where and
 * when, and the policy text involved. Built from CloudTrail by `normaliseEvent` in `cloudtrail.ts`.
 */

export type PrincipalType = 'role' | 'user' | 'group';

export type PolicyChangeEventName =
  | 'CreatePolicy'
  | 'CreatePolicyVersion'
  | 'SetDefaultPolicyVersion'
  | 'PutRolePolicy'
  | 'PutUserPolicy'
  | 'PutGroupPolicy'
  | 'AttachRolePolicy'
  | 'AttachUserPolicy'
  | 'AttachGroupPolicy';

// A Record keyed by the union makes the compiler reject a list that misses or invents an event name.
const EVENT_NAME_SET: Readonly<Record<PolicyChangeEventName, true>> = {
  CreatePolicy: true,
  CreatePolicyVersion: true,
  SetDefaultPolicyVersion: true,
  PutRolePolicy: true,
  PutUserPolicy: true,
  PutGroupPolicy: true,
  AttachRolePolicy: true,
  AttachUserPolicy: true,
  AttachGroupPolicy: true,
};

/** Every IAM event name PolicyGate gates, e.g. for an EventBridge rule pattern. */
export const POLICY_CHANGE_EVENT_NAMES = Object.freeze(
  Object.keys(EVENT_NAME_SET) as PolicyChangeEventName[],
);

/** Whether `name` is one of the {@link POLICY_CHANGE_EVENT_NAMES} (case-sensitive, as CloudTrail spells them). */
export function isPolicyChangeEventName(name: unknown): name is PolicyChangeEventName {
  return typeof name === 'string' && Object.hasOwn(EVENT_NAME_SET, name);
}

export type ChangeTarget =
  | { kind: 'managed-policy'; policyArn: string; policyName?: string }
  | { kind: 'inline-policy'; principalType: PrincipalType; principalName: string; policyName: string }
  | { kind: 'attachment'; principalType: PrincipalType; principalName: string; policyArn: string };

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
}

export interface PolicyChange {
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
   * Attach*\/SetDefaultPolicyVersion. If the event holds an object instead of a string, JSON.stringify it.
   */
  document?: string;
  /**
   * CreatePolicy: responseElements.policy.defaultVersionId (or 'v1'); CreatePolicyVersion:
   * responseElements.policyVersion.versionId; SetDefaultPolicyVersion: requestParameters.versionId
   */
  versionId?: string;
  /**
   * CreatePolicyVersion only: requestParameters.setAsDefault (string "true"/"false" or boolean in the wild;
   * normalise to boolean, absent = false)
   */
  setAsDefault?: boolean;
}

export type IgnoreReason = 'failed-call' | 'own-role' | 'unsupported-event';

export type NormalisedEvent =
  | { kind: 'change'; change: PolicyChange }
  | { kind: 'ignored'; reason: IgnoreReason; detail: string; eventId?: string; eventName?: string };
