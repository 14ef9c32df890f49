import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SlackWorkspace } from '../config';
import { SLACK_APP_ID, SLACK_ENTERPRISE_ID, SLACK_TEAM_ID } from '../config';
import { SLACK_USER_ID } from '../domain/approvers';
import { type JsonValue, parseStrictJson } from '../domain/json-strict';
import { parseGroupActionValue } from '../domain/slack-group';
import { PolicyParseError } from '../errors';
import type { AwsEvent } from './aws-types';

/**
 * Everything PolicyGate checks about an interactivity request before Bolt sees it, as pure functions:
 * the HTTP method, the body's size and encoding, the request timestamp (five minutes either way: Bolt's
 * receiver refuses only old ones), the signature (against whatever signing secret is current, which
 * Bolt's receiver cannot do: it takes one secret when it is built), the payload's shape with every id in
 * Slack's formats, and the workspace and app it comes from. Whatever is wrong is a refusal with a 4xx
 * status and a reason for a warn-level log; nothing here throws for any input.
 */

/** Slack signs `v0:<timestamp>:<body>` and refuses nothing newer than this; neither does PolicyGate. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/**
 * The largest body accepted. A click carries the message it was made in (≤ 50 blocks of ≤ 3,000
 * characters, percent-encoded), far below this; Function URLs would take 6 MB.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Approval ids are CloudTrail event ids; anything else in a button value was not put there by PolicyGate. */
export const APPROVAL_ID = /^[A-Za-z0-9-]{1,128}$/;
/** Slack's ids, bounded: a prefix letter, then upper-case letters and digits. */
const USER_ID = SLACK_USER_ID;
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,31}$/;
/** A message `ts`: Unix seconds, a dot, six digits. */
const MESSAGE_TS = /^\d{10}\.\d{6}$/;
/** Action ids PolicyGate's messages use (lower-case, underscores). */
const ACTION_ID = /^[a-z0-9_]{1,255}$/;
const SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{1,12}$/;

/** A refusal: the HTTP status to answer and what to log (never a secret, a signature or raw payload text). */
export interface Refusal {
  readonly ok: false;
  readonly status: 400 | 401 | 403 | 405;
  readonly reason: string;
  readonly details?: Record<string, string | number>;
}

const refuse = (
  status: Refusal['status'],
  reason: string,
  details?: Record<string, string | number>,
): Refusal => ({ ok: false, status, reason, ...(details && { details }) });

/** A request whose envelope is sound and signed: its raw body and timestamp. */
export interface SignedRequest {
  readonly ok: true;
  readonly rawBody: Buffer;
  readonly timestamp: number;
  readonly signature: string;
}

function header(event: AwsEvent, name: string): string | undefined {
  const headers = (event as { headers?: Record<string, string | undefined> }).headers ?? {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** The request's method: Function URLs and API Gateway (v1 and v2) put it in different places. */
export function requestMethod(event: AwsEvent): string | undefined {
  const e = event as { httpMethod?: unknown; requestContext?: { http?: { method?: unknown } } };
  const method = e.requestContext?.http?.method ?? e.httpMethod;
  return typeof method === 'string' ? method.toUpperCase() : undefined;
}

/**
 * Checks the envelope: POST only, a form body within {@link MAX_BODY_BYTES}, a timestamp within five
 * minutes of `nowSeconds` (either way) and a well-formed signature header. The signature itself is
 * checked by {@link verifySignature}, with the current secret.
 */
export function readEnvelope(event: AwsEvent, nowSeconds: number): SignedRequest | Refusal {
  const method = requestMethod(event);
  if (method !== 'POST') return refuse(405, 'method not allowed', { method: String(method).slice(0, 16) });
  const e = event as { body?: unknown; isBase64Encoded?: unknown };
  if (e.body !== undefined && e.body !== null && typeof e.body !== 'string') return refuse(400, 'no body');
  const text = typeof e.body === 'string' ? e.body : '';
  // Base64 takes 4 characters for 3 bytes: refuse before decoding anything huge.
  if (text.length > (e.isBase64Encoded === true ? Math.ceil(MAX_BODY_BYTES / 3) * 4 : MAX_BODY_BYTES)) {
    return refuse(400, 'body too large', { bytes: text.length });
  }
  const rawBody = e.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (rawBody.length > MAX_BODY_BYTES) return refuse(400, 'body too large', { bytes: rawBody.length });
  const contentType = (header(event, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') {
    return refuse(400, 'not a form body', { contentType: String(contentType).slice(0, 64) });
  }
  const stamp = header(event, 'x-slack-request-timestamp') ?? '';
  if (!TIMESTAMP.test(stamp)) return refuse(401, 'no valid request timestamp');
  const timestamp = Number(stamp);
  if (Math.abs(nowSeconds - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
    return refuse(
      401,
      timestamp < nowSeconds ? 'stale request timestamp' : 'request timestamp in the future',
      {
        requestTimestamp: timestamp,
      },
    );
  }
  const signature = header(event, 'x-slack-signature') ?? '';
  if (!SIGNATURE.test(signature)) return refuse(401, 'no valid signature header');
  return { ok: true, rawBody, timestamp, signature };
}

/** Whether `request` is signed with `signingSecret` (HMAC-SHA256 over `v0:<ts>:<raw body>`, compared in constant time). */
export function verifySignature(request: SignedRequest, signingSecret: string): boolean {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${request.timestamp}:`);
  hmac.update(request.rawBody);
  const expected = hmac.digest();
  const given = Buffer.from(request.signature.slice(3), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * What a button is for: `decision` buttons carry an approval id; `group` buttons ("Approve all" / "Deny
 * all") a group id and the version of its member list shown; `link` buttons carry nothing we use.
 */
export type ActionKind = 'decision' | 'group' | 'link';

/** A click, every id validated and the workspace checked. */
export interface Click {
  readonly ok: true;
  readonly userId: string;
  readonly teamId: string;
  /** The message clicked in. */
  readonly channel: string;
  readonly ts: string;
  readonly actionId: string;
  /** The button's value: an approval id for a decision button. */
  readonly approvalId?: string;
  /** The button's value for a group button: the group and the version of its member list shown. */
  readonly group?: { readonly groupId: string; readonly version: number };
  /** The payload as parsed, to hand to Bolt re-encoded (so Bolt reads exactly what was checked). */
  readonly payload: { [key: string]: JsonValue };
}

function object(value: JsonValue | undefined): { [key: string]: JsonValue } | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

const str = (value: JsonValue | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

/**
 * Reads the form body (exactly one field, `payload`, as Slack sends it) and the JSON in it, strictly
 * (duplicate keys refused). ASCII only: percent-encoding leaves nothing else in a genuine body.
 */
export function readPayload(rawBody: Buffer): { ok: true; payload: JsonValue } | Refusal {
  for (const byte of rawBody) {
    if (byte < 0x20 || byte > 0x7e) return refuse(400, 'body is not percent-encoded ASCII');
  }
  const body = rawBody.toString('latin1');
  if (!body.startsWith('payload=') || body.includes('&')) {
    return refuse(400, 'body is not a single payload field');
  }
  let text: string;
  try {
    text = decodeURIComponent(body.slice('payload='.length).replace(/\+/g, ' '));
  } catch {
    return refuse(400, 'bad percent-encoding');
  }
  try {
    return {
      ok: true,
      payload: parseStrictJson(text, { maxLength: MAX_BODY_BYTES, maxDepth: 64 }, 'payload'),
    };
  } catch (error) {
    if (error instanceof PolicyParseError) return refuse(400, 'payload is not valid JSON');
    return refuse(400, 'payload could not be read');
  }
}

/**
 * Checks a parsed payload: a `block_actions` click on a (non-ephemeral) message, one button action
 * among `actions`, every id in Slack's format, and the installed workspace's team, enterprise and app:
 *
 * - `team.id` must be the workspace's and `api_app_id` the app's; an organisation-wide install
 *   (`is_enterprise_install`, where `team` may be null) is not what PolicyGate is installed as;
 * - with an enterprise configured, `enterprise.id` (and `team.enterprise_id`, when present) must be it;
 *   without one, a click carrying an enterprise id passes only because its team is the workspace (a
 *   workspace that joined an Enterprise Grid keeps its team id).
 */
export function readClick(
  payload: JsonValue,
  workspace: SlackWorkspace,
  actions: Readonly<Record<string, ActionKind>>,
): Click | Refusal {
  const root = object(payload);
  if (!root) return refuse(400, 'payload is not an object');
  if (root.type !== 'block_actions') return refuse(400, 'not a block_actions payload');

  const appId = str(root.api_app_id);
  if (!appId || !SLACK_APP_ID.test(appId)) return refuse(400, 'payload has no valid api_app_id');
  if (root.is_enterprise_install === true) return refuse(403, 'organisation-wide install', { appId });
  if (root.is_enterprise_install !== undefined && root.is_enterprise_install !== false) {
    return refuse(400, 'payload has an invalid is_enterprise_install');
  }
  const team = object(root.team);
  const teamId = str(team?.id);
  if (!teamId || !SLACK_TEAM_ID.test(teamId)) return refuse(403, 'payload has no valid team id');
  const enterprise =
    root.enterprise === undefined || root.enterprise === null ? undefined : object(root.enterprise);
  if ((root.enterprise ?? null) !== null && !enterprise)
    return refuse(400, 'payload has an invalid enterprise');
  const enterpriseId = enterprise ? str(enterprise.id) : undefined;
  if (enterprise && (!enterpriseId || !SLACK_ENTERPRISE_ID.test(enterpriseId))) {
    return refuse(400, 'payload has an invalid enterprise id');
  }
  const teamEnterprise = team?.enterprise_id;
  if (
    teamEnterprise !== undefined &&
    (typeof teamEnterprise !== 'string' || !SLACK_ENTERPRISE_ID.test(teamEnterprise))
  ) {
    return refuse(400, 'payload has an invalid team.enterprise_id');
  }
  if (appId !== workspace.appId) return refuse(403, 'click for another Slack app', { appId });
  if (teamId !== workspace.teamId) return refuse(403, 'click from another workspace', { teamId });
  if (workspace.enterpriseId) {
    if (
      enterpriseId !== workspace.enterpriseId ||
      (teamEnterprise !== undefined && teamEnterprise !== workspace.enterpriseId)
    ) {
      return refuse(403, 'click from another enterprise', { teamId, enterpriseId: enterpriseId ?? 'none' });
    }
  } else if (teamEnterprise !== undefined && enterpriseId !== undefined && teamEnterprise !== enterpriseId) {
    return refuse(400, 'payload names two enterprises', { teamId });
  }

  const userId = str(object(root.user)?.id);
  if (!userId || userId.length > 32 || !USER_ID.test(userId))
    return refuse(400, 'payload has no valid user id');

  const container = object(root.container);
  if (container?.type !== 'message') return refuse(400, 'click not in a message', { userId });
  if (container.is_ephemeral !== undefined && container.is_ephemeral !== false) {
    return refuse(400, 'click in an ephemeral message', { userId });
  }
  const channel = str(container.channel_id);
  const ts = str(container.message_ts);
  if (!channel || !CHANNEL_ID.test(channel))
    return refuse(400, 'payload has no valid channel id', { userId });
  if (!ts || !MESSAGE_TS.test(ts)) return refuse(400, 'payload has no valid message ts', { userId });
  // Slack repeats the channel and the message; a payload whose copies disagree was not made by Slack.
  if (str(object(root.channel)?.id) !== channel || str(object(root.message)?.ts) !== ts) {
    return refuse(400, 'payload’s channel or message disagree with its container', { userId });
  }

  if (!Array.isArray(root.actions) || root.actions.length !== 1) {
    return refuse(400, 'payload must hold exactly one action', { userId });
  }
  const action = object(root.actions[0]) ?? {};
  const actionId = str(action.action_id);
  if (action.type !== 'button' || !actionId || !ACTION_ID.test(actionId)) {
    return refuse(400, 'payload has no valid button action', { userId });
  }
  const kind = Object.hasOwn(actions, actionId) ? actions[actionId] : undefined;
  if (!kind) return refuse(400, 'unknown action', { userId, actionId });
  let approvalId: string | undefined;
  let group: Click['group'];
  if (kind === 'decision') {
    approvalId = str(action.value);
    if (!approvalId || !APPROVAL_ID.test(approvalId)) {
      return refuse(400, 'button without a valid approval id', { userId, actionId });
    }
  } else if (kind === 'group') {
    group = parseGroupActionValue(action.value);
    if (!group) return refuse(400, 'button without a valid group and version', { userId, actionId });
  }
  return {
    ok: true,
    userId,
    teamId,
    channel,
    ts,
    actionId,
    ...(approvalId !== undefined && { approvalId }),
    ...(group && { group }),
    payload: root,
  };
}

/**
 * The event Bolt is given: the checked payload re-encoded as Slack's form body, not base64, with the one
 * content type Bolt's receiver parses as a form. Bolt re-parses it; it parses exactly what was checked.
 */
export function eventForBolt(event: AwsEvent, click: Click): AwsEvent {
  const headers = { ...((event as { headers?: Record<string, string> }).headers ?? {}) };
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === 'content-type') delete headers[key];
  }
  headers['content-type'] = 'application/x-www-form-urlencoded';
  return {
    ...event,
    headers,
    body: `payload=${encodeURIComponent(JSON.stringify(click.payload))}`,
    isBase64Encoded: false,
  } as AwsEvent;
}

/**
 * The clicker and the message clicked in, from a block_actions body, each id in Slack's format (the
 * listener's own check; the gate's {@link readClick} is the full one); `undefined` when any is not.
 */
export function clickOrigin(body: unknown): { userId: string; channel: string; ts: string } | undefined {
  const b = body as { user?: { id?: unknown }; container?: { channel_id?: unknown; message_ts?: unknown } };
  const userId = b?.user?.id;
  const channel = b?.container?.channel_id;
  const ts = b?.container?.message_ts;
  if (typeof userId !== 'string' || userId.length > 32 || !USER_ID.test(userId)) return undefined;
  if (typeof channel !== 'string' || !CHANNEL_ID.test(channel)) return undefined;
  if (typeof ts !== 'string' || !MESSAGE_TS.test(ts)) return undefined;
  return { userId, channel, ts };
}
