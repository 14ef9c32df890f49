import { randomUUID } from 'node:crypto';

/**
 * A CloudTrail `userIdentity`. Only `type` is required; anything given is copied into events as is, and
 * `accountId`/`accessKeyId` are filled in from the request when missing.
 */
export interface Identity {
  type: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  sessionContext?: {
    sessionIssuer?: {
      type?: string;
      principalId?: string;
      arn?: string;
      accountId?: string;
      userName?: string;
    };
    webIdFederationData?: Record<string, unknown>;
    attributes?: { creationDate?: string; mfaAuthenticated?: string };
    [key: string]: unknown;
  };
  invokedBy?: string;
  [key: string]: unknown;
}

/** The `detail` of an `AWS API Call via CloudTrail` event for an IAM call. */
export interface CloudTrailDetail {
  eventVersion: '1.08';
  userIdentity: Identity;
  eventTime: string;
  eventSource: 'iam.amazonaws.com';
  eventName: string;
  awsRegion: 'us-east-1';
  sourceIPAddress: string;
  userAgent: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  requestID: string;
  eventID: string;
  readOnly: boolean;
  eventType: 'AwsApiCall';
  managementEvent: true;
  recipientAccountId: string;
  eventCategory: 'Management';
}

/** The EventBridge envelope AWS delivers for a CloudTrail-recorded IAM call. */
export interface CloudTrailEvent {
  version: '0';
  id: string;
  'detail-type': 'AWS API Call via CloudTrail';
  source: 'aws.iam';
  account: string;
  time: string;
  region: 'us-east-1';
  resources: string[];
  detail: CloudTrailDetail;
}

/** CloudTrail's timestamp format: ISO 8601 UTC with whole seconds. */
export function formatEventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The date format IAM uses inside CloudTrail `responseElements` (a Java `MEDIUM` date-time, in UTC),
 * e.g. `Nov 27, 2025, 10:55:03 PM`. It differs from the ISO format of the API itself.
 */
export function formatResponseDate(date: Date): string {
  const hours24 = date.getUTCHours();
  const hours12 = hours24 % 12 === 0 ? 12 : hours24 % 12;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ` +
    `${hours12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${hours24 < 12 ? 'AM' : 'PM'}`
  );
}

/** Query parameters CloudTrail records as booleans or numbers rather than strings. */
const BOOLEAN_PARAMETERS = new Set(['SetAsDefault', 'OnlyAttached']);
const NUMBER_PARAMETERS = new Set(['MaxSessionDuration', 'MaxItems']);

/**
 * CloudTrail's `requestParameters` for a Query API call: every parameter but `Action`/`Version`, keys in
 * lower camel case, documents as the exact strings sent, `Tags.member.N.*` folded into `tags: [{key, value}]`.
 */
export function toRequestParameters(params: URLSearchParams): Record<string, unknown> {
  // A Map, then own properties: parameter names are the caller's, and `__proto__` must stay data, as it is
  // in the JSON CloudTrail delivers.
  const result = new Map<string, unknown>();
  const tags = new Map<number, { key?: string; value?: string }>();
  for (const [name, value] of params) {
    if (name === 'Action' || name === 'Version') continue;
    const tag = /^Tags\.member\.(\d+)\.(Key|Value)$/.exec(name);
    if (tag !== null) {
      const index = Number(tag[1]);
      const entry = tags.get(index) ?? {};
      if (tag[2] === 'Key') entry.key = value;
      else entry.value = value;
      tags.set(index, entry);
      continue;
    }
    const key = name.charAt(0).toLowerCase() + name.slice(1);
    if (BOOLEAN_PARAMETERS.has(name)) result.set(key, value === 'true');
    else if (NUMBER_PARAMETERS.has(name) && /^\d+$/.test(value)) result.set(key, Number(value));
    else result.set(key, value);
  }
  if (tags.size > 0) {
    result.set(
      'tags',
      [...tags.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry),
    );
  }
  return Object.fromEntries(result);
}

/**
 * Completes a configured identity for one call: the access key actually used and the account are filled in,
 * and an assumed-role session gets CloudTrail's usual `webIdFederationData`/`attributes` when not given.
 */
export function completeIdentity(identity: Identity, accessKeyId: string, accountId: string): Identity {
  const copy = structuredClone(identity);
  // The key actually used wins over any configured one.
  delete copy.accessKeyId;
  const { type, principalId, arn, accountId: ownAccountId, userName, sessionContext, ...rest } = copy;
  // Rebuilt in CloudTrail's key order so recorded events read like real ones.
  const ordered: Record<string, unknown> = {
    type,
    principalId,
    arn,
    accountId: ownAccountId ?? accountId,
    accessKeyId,
    userName,
    sessionContext,
    ...rest,
  };
  const completed = Object.fromEntries(
    Object.entries(ordered).filter(([, value]) => value !== undefined),
  ) as Identity;
  if (completed.sessionContext !== undefined) {
    completed.sessionContext.webIdFederationData ??= {};
    completed.sessionContext.attributes ??= {
      creationDate: formatEventTime(new Date()),
      mfaAuthenticated: 'false',
    };
    const issuer = completed.sessionContext.sessionIssuer;
    if (issuer !== undefined) issuer.accountId ??= completed.accountId;
  }
  return completed;
}

/** The identity used for access keys without a configured one: an IAM user of the account. */
export function defaultIdentity(accountId: string): Identity {
  return {
    type: 'IAMUser',
    principalId: 'AIDALOCALSTANDIN0USER',
    arn: `arn:aws:iam::${accountId}:user/local-iam-user`,
    accountId,
    userName: 'local-iam-user',
  };
}

export interface CallRecord {
  accountId: string;
  identity: Identity;
  eventName: string;
  time: Date;
  sourceIPAddress: string;
  userAgent: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  requestId: string;
  readOnly: boolean;
  error?: { code: string; message: string };
}

/** Builds the EventBridge event CloudTrail would deliver for one recorded IAM call. */
export function buildCloudTrailEvent(call: CallRecord): CloudTrailEvent {
  const time = formatEventTime(call.time);
  const detail: CloudTrailDetail = {
    eventVersion: '1.08',
    userIdentity: call.identity,
    eventTime: time,
    eventSource: 'iam.amazonaws.com',
    eventName: call.eventName,
    awsRegion: 'us-east-1',
    sourceIPAddress: call.sourceIPAddress,
    userAgent: call.userAgent,
    ...(call.error === undefined ? {} : { errorCode: call.error.code, errorMessage: call.error.message }),
    requestParameters: call.requestParameters,
    responseElements: call.error === undefined ? call.responseElements : null,
    requestID: call.requestId,
    eventID: randomUUID(),
    readOnly: call.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: call.accountId,
    eventCategory: 'Management',
  };
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: call.accountId,
    time,
    region: 'us-east-1',
    resources: [],
    detail,
  };
}
