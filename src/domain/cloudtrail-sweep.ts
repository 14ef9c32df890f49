/**
 * The event PolicyGate's reconciliation sweep emits for a change it finds in force without having seen it in
 * CloudTrail. It is shaped like an EventBridge CloudTrail event, so the workflow handles it exactly like one;
 * `normaliseEvent` marks the change `origin: 'sweep'`.
 */
import { PolicyGateError } from '../errors';
import { canonicalJson, contentDigest } from './cloudtrail-reader';
import { isAccountId } from './iam-grammar';
import type { GatedEventName } from './policy-change';

/** The `detail-type` of a sweep finding. */
export const SWEEP_FINDING_DETAIL_TYPE = 'PolicyGate Sweep Finding';
/** The `source` of a sweep finding. */
export const SWEEP_FINDING_SOURCE = 'policy-gate.sweep';
/** Sweep finding ids: `sweep-` and 8 to 64 lower-case hex digits. */
export const SWEEP_EVENT_ID = /^sweep-[0-9a-f]{8,64}$/;

/** What the sweep knows about one finding. */
export interface SweepFinding {
  /** The gated call whose effect the sweep found in force, e.g. `AttachRolePolicy` for an attachment. */
  eventName: GatedEventName;
  /**
   * The call's parameters under the names CloudTrail gives them (lower camel case), e.g.
   * `{ roleName: 'ci', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }` for `AttachRolePolicy`,
   * `{ userName, policyName }` for `PutUserPolicy` (a `policyDocument` may be added; IAM is read anyway),
   * `{ policyArn, versionId }` for `SetDefaultPolicyVersion`, `{ groupName, userName }` for `AddUserToGroup`.
   */
  requestParameters: Readonly<Record<string, unknown>>;
  /** The call's response as CloudTrail records it, e.g. CreatePolicy's `{ policy: { arn, defaultVersionId } }`. */
  responseElements?: Readonly<Record<string, unknown>> | null;
  /** The 12-digit account the sweep examined. */
  accountId: string;
  /** The region the sweep ran in; IAM's events are delivered in `us-east-1`, the default. */
  region?: string;
  /** When the sweep found the change. */
  time: Date;
  /**
   * The finding's id: 8 to 64 lower-case hex digits. It becomes the approval id (`sweep-<id>`), so the same
   * finding delivered twice is handled once. Default: a digest of the other fields.
   */
  findingId?: string;
  /** What the sweep saw, in plain words, e.g. `attached, but no CloudTrail event was seen`; optional. */
  reason?: string;
}

/** The event {@link sweepFindingEvent} builds (an EventBridge envelope around a CloudTrail-shaped record). */
export interface SweepFindingEvent {
  version: '0';
  id: string;
  'detail-type': typeof SWEEP_FINDING_DETAIL_TYPE;
  source: typeof SWEEP_FINDING_SOURCE;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    eventVersion: '1.08';
    userIdentity: { type: 'Unknown' };
    eventTime: string;
    eventSource: 'iam.amazonaws.com';
    eventName: GatedEventName;
    awsRegion: string;
    userAgent: typeof SWEEP_FINDING_SOURCE;
    requestParameters: Record<string, unknown>;
    responseElements: Record<string, unknown> | null;
    eventID: string;
    eventType: 'PolicyGateSweepFinding';
    recipientAccountId: string;
    additionalEventData?: { reason: string };
  };
}

/**
 * Builds the event for one sweep finding, exactly as `normaliseEvent` accepts it. The record carries no
 * actor (`userIdentity: { type: 'Unknown' }`): the sweep does not know who made the change, and an unknown
 * actor is never taken for one of PolicyGate's own roles.
 *
 * @param finding See {@link SweepFinding}; `requestParameters` and `responseElements` are copied, not kept.
 * @returns A plain JSON object, ready for `StartExecution` or `PutEvents`.
 * @throws PolicyGateError when `accountId` is not 12 digits, `time` is not a valid date or `findingId` is not
 *   8 to 64 lower-case hex digits: a sweep bug, reported at once rather than as a problem on the change.
 */
export function sweepFindingEvent(finding: SweepFinding): SweepFindingEvent {
  if (!isAccountId(finding.accountId)) {
    throw new PolicyGateError(
      `sweep finding: accountId must be 12 digits, got ${JSON.stringify(finding.accountId)}`,
    );
  }
  if (!(finding.time instanceof Date) || Number.isNaN(finding.time.getTime())) {
    throw new PolicyGateError('sweep finding: time must be a valid Date');
  }
  // CloudTrail's own format: ISO 8601 UTC in whole seconds.
  const time = `${finding.time.toISOString().slice(0, 19)}Z`;
  const region = finding.region ?? 'us-east-1';
  const requestParameters = JSON.parse(canonicalJson(finding.requestParameters)) as Record<string, unknown>;
  const responseElements =
    finding.responseElements === undefined || finding.responseElements === null
      ? null
      : (JSON.parse(canonicalJson(finding.responseElements)) as Record<string, unknown>);
  const findingId =
    finding.findingId ??
    contentDigest({
      eventName: finding.eventName,
      accountId: finding.accountId,
      requestParameters,
      responseElements,
      time,
    });
  const eventId = `sweep-${findingId}`;
  if (!SWEEP_EVENT_ID.test(eventId)) {
    throw new PolicyGateError('sweep finding: findingId must be 8 to 64 lower-case hex digits');
  }
  return {
    version: '0',
    id: eventId,
    'detail-type': SWEEP_FINDING_DETAIL_TYPE,
    source: SWEEP_FINDING_SOURCE,
    account: finding.accountId,
    time,
    region,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { type: 'Unknown' },
      eventTime: time,
      eventSource: 'iam.amazonaws.com',
      eventName: finding.eventName,
      awsRegion: region,
      userAgent: SWEEP_FINDING_SOURCE,
      requestParameters,
      responseElements,
      eventID: eventId,
      eventType: 'PolicyGateSweepFinding',
      recipientAccountId: finding.accountId,
      ...(finding.reason !== undefined && { additionalEventData: { reason: finding.reason } }),
    },
  };
}
