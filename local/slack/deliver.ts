import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { findButton } from './block-kit';

/**
 * Signed delivery of interactivity payloads, the way Slack posts them to an app's Request URL: a form body
 * `payload=<url-encoded JSON>`, `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex HMAC-SHA256>`.
 */

/** The User-Agent Slack sends with interactivity requests. */
export const SLACK_USER_AGENT = 'Slackbot 1.0 (+https://api.slack.com/robots)';

/**
 * Computes Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<rawBody>` keyed with the
 * app's signing secret.
 */
export function signSlackRequest(signingSecret: string, timestamp: number | string, body: string): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:${body}`);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * How a delivery is spoiled on purpose: `signature` flips a digit of the signature, `body` changes the
 * payload after signing (the first action's value, as an attacker flipping a decision would), `timestamp`
 * sends a different timestamp header from the one that was signed.
 */
export type Tamper = 'signature' | 'body' | 'timestamp';

/** What the endpoint answered. */
export interface DeliveryResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** The payload as it was signed (before any `body` tampering). */
  payload: BlockActionsPayload;
  /** The exact form body sent. */
  rawBody: string;
  /** Wall time until the whole answer was read; Slack gives up after 3 seconds. */
  durationMs: number;
}

/** The message a block action was clicked in, as Slack echoes it in the payload. */
export interface ActionMessage {
  channel: string;
  /** Channel name for `payload.channel.name`; defaults to the id in lower case. */
  channelName?: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  /** Author of the message (the bot user for bot posts). */
  user?: string;
  botId?: string;
  appId?: string;
  threadTs?: string;
}

/** A Slack `block_actions` interaction payload (button clicks in a message). */
export interface BlockActionsPayload {
  type: 'block_actions';
  user: { id: string; username: string; name: string; team_id: string };
  api_app_id: string;
  token: string;
  container: { type: 'message'; message_ts: string; channel_id: string; is_ephemeral: false };
  trigger_id: string;
  team: { id: string; domain: string; enterprise_id?: string; enterprise_name?: string } | null;
  enterprise: { id: string; name: string } | null;
  is_enterprise_install: boolean;
  channel: { id: string; name: string };
  message: Record<string, unknown>;
  state: { values: Record<string, unknown> };
  response_url: string;
  actions: BlockAction[];
}

/** One entry of `payload.actions` for a button. */
export interface BlockAction {
  action_id: string;
  block_id: string;
  text: unknown;
  value?: string;
  style?: string;
  type: 'button';
  action_ts: string;
}

/** Everything needed to build a block_actions payload without a stand-in to look things up in. */
export interface BuildBlockActionsOptions {
  user: { id: string; name?: string; teamId?: string };
  /**
   * The clicked button. `value` and `blockId` default to the button's own in `message.blocks`; giving them
   * forges a click on something the message does not hold (Slack itself never does that).
   */
  action: { actionId: string; blockId?: string; value?: string };
  message: ActionMessage;
  /**
   * The blocks the user saw when clicking; default `message.blocks`. A client still showing an earlier
   * version can click a button a later update removed, so the button may come from an older version while
   * `message` is the current one.
   */
  clickedBlocks?: unknown[];
  responseUrl: string;
  teamId?: string;
  teamDomain?: string;
  appId?: string;
  /**
   * The Enterprise Grid organisation the workspace belongs to: set, the payload carries `enterprise` and
   * `team.enterprise_id` as Slack sends them for a workspace-level install in an organisation.
   */
  enterprise?: { id: string; name?: string };
  /** Legacy verification token (`payload.token`); any string. */
  verificationToken?: string;
}

/** Options for {@link deliverBlockAction}. */
export interface DeliverBlockActionOptions extends BuildBlockActionsOptions {
  /** The app's Request URL. */
  url: string;
  signingSecret: string;
  /** Shifts the request timestamp, e.g. -360 for a request six minutes old. */
  timestampOffsetSeconds?: number;
  tamper?: Tamper;
  /** Extra headers, e.g. `X-Slack-Retry-Num`. */
  headers?: Record<string, string>;
  /** Gives up on the endpoint after this long (default 10 s). */
  timeoutMs?: number;
  /** Changes the payload before it is signed: a forgery by someone holding the signing secret. */
  mutate?: (payload: BlockActionsPayload) => void;
}

const DEFAULT_TEAM_ID = 'T0POLICYGATE';
const DEFAULT_TEAM_DOMAIN = 'policygate-test';
const DEFAULT_APP_ID = 'A0POLICYGATE';
const DEFAULT_VERIFICATION_TOKEN = 'local-legacy-verification-token';

/** A Slack-like `action_ts`/`trigger_id` fragment: unix seconds and microseconds. */
function slackNow(): string {
  const micros = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

/**
 * Builds the `block_actions` payload Slack sends when `user` clicks a button in `message`. Throws when the
 * button is not in the message and the caller did not say which block it forged it in.
 */
export function buildBlockActionsPayload(options: BuildBlockActionsOptions): BlockActionsPayload {
  const teamId = options.user.teamId ?? options.teamId ?? DEFAULT_TEAM_ID;
  const appId = options.appId ?? options.message.appId ?? DEFAULT_APP_ID;
  const { message, action } = options;
  const found = findButton(options.clickedBlocks ?? message.blocks, action.actionId, action.blockId);
  if (found === undefined && action.blockId === undefined) {
    throw new Error(
      `buildBlockActionsPayload: no button with action_id '${action.actionId}' in message ${message.ts}; pass action.blockId to forge one`,
    );
  }
  const button = found?.button ?? {};
  const value = action.value ?? (typeof button.value === 'string' ? button.value : undefined);
  const entry: BlockAction = {
    action_id: action.actionId,
    block_id: found?.blockId ?? action.blockId ?? '',
    text: button.text ?? { type: 'plain_text', text: action.actionId, emoji: true },
    ...(value === undefined ? {} : { value }),
    ...(typeof button.style === 'string' ? { style: button.style } : {}),
    type: 'button',
    action_ts: slackNow(),
  };
  const userName = options.user.name ?? options.user.id.toLowerCase();
  return {
    type: 'block_actions',
    user: { id: options.user.id, username: userName, name: userName, team_id: teamId },
    api_app_id: appId,
    token: options.verificationToken ?? DEFAULT_VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: message.ts,
      channel_id: message.channel,
      is_ephemeral: false,
    },
    trigger_id: `${Math.floor(Date.now() / 1000)}${randomDigits(3)}.${randomDigits(12)}.${randomBytes(16).toString('hex')}`,
    team: {
      id: options.teamId ?? DEFAULT_TEAM_ID,
      domain: options.teamDomain ?? DEFAULT_TEAM_DOMAIN,
      ...(options.enterprise && {
        enterprise_id: options.enterprise.id,
        enterprise_name: options.enterprise.name ?? options.enterprise.id,
      }),
    },
    enterprise: options.enterprise
      ? { id: options.enterprise.id, name: options.enterprise.name ?? options.enterprise.id }
      : null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: message.channelName ?? message.channel.toLowerCase() },
    message: {
      type: 'message',
      ...(message.user === undefined ? {} : { user: message.user }),
      ...(message.botId === undefined ? {} : { bot_id: message.botId }),
      ...(message.appId === undefined ? {} : { app_id: message.appId }),
      text: message.text ?? '',
      ts: message.ts,
      ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
      team: options.teamId ?? DEFAULT_TEAM_ID,
      ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
    },
    state: { values: {} },
    response_url: options.responseUrl,
    actions: [entry],
  };
}

function randomDigits(count: number): string {
  let out = '';
  for (const byte of randomBytes(count)) out += String(byte % 10);
  return out;
}

/**
 * Posts a block_actions payload to `url`, signed with `signingSecret` exactly as Slack signs it (or spoiled
 * as `tamper` says), and returns what the endpoint answered.
 */
export function deliverBlockAction(options: DeliverBlockActionOptions): Promise<DeliveryResult> {
  return deliverPayload(buildBlockActionsPayload(options), options);
}

/** Signs and posts an already built interactivity payload. */
export async function deliverPayload(
  built: BlockActionsPayload,
  options: Pick<
    DeliverBlockActionOptions,
    'url' | 'signingSecret' | 'timestampOffsetSeconds' | 'tamper' | 'headers' | 'timeoutMs' | 'mutate'
  >,
): Promise<DeliveryResult> {
  const payload = options.mutate ? structuredClone(built) : built;
  options.mutate?.(payload);
  const timestamp = Math.floor(Date.now() / 1000) + (options.timestampOffsetSeconds ?? 0);
  const rawBody = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  let signature = signSlackRequest(options.signingSecret, timestamp, rawBody);
  let sentBody = rawBody;
  let sentTimestamp = timestamp;
  switch (options.tamper) {
    case 'signature': {
      const last = signature.slice(-1);
      signature = `${signature.slice(0, -1)}${last === '0' ? '1' : '0'}`;
      break;
    }
    case 'body': {
      const forged = structuredClone(payload);
      const first = forged.actions[0];
      if (first !== undefined) first.value = `${first.value ?? ''}-tampered`;
      sentBody = `payload=${encodeURIComponent(JSON.stringify(forged))}`;
      break;
    }
    case 'timestamp':
      sentTimestamp = timestamp + 1;
      break;
    case undefined:
      break;
  }
  const started = performance.now();
  const answer = await send(
    'POST',
    options.url,
    sentBody,
    {
      'Content-Type': 'application/x-www-form-urlencoded',
      'User-Agent': SLACK_USER_AGENT,
      'X-Slack-Request-Timestamp': String(sentTimestamp),
      'X-Slack-Signature': signature,
      Accept: 'application/json,*/*',
      ...options.headers,
    },
    options.timeoutMs ?? 10_000,
  );
  return { ...answer, payload, rawBody: sentBody, durationMs: performance.now() - started };
}

/** Options for {@link deliverSignedBody}. */
export interface DeliverSignedBodyOptions {
  url: string;
  /** Signs the body with this secret; without it, no signature headers are sent. */
  signingSecret?: string;
  body: string | Buffer;
  method?: string;
  /** Default `application/x-www-form-urlencoded`; `null` sends none. */
  contentType?: string | null;
  timestampOffsetSeconds?: number;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Sends any body, signed as Slack signs (over its exact bytes), with any method and content type: what
 * someone holding the signing secret, or a broken client, might send.
 */
export async function deliverSignedBody(
  options: DeliverSignedBodyOptions,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const timestamp = Math.floor(Date.now() / 1000) + (options.timestampOffsetSeconds ?? 0);
  const bytes = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
  const signature =
    options.signingSecret === undefined
      ? undefined
      : `v0=${createHmac('sha256', options.signingSecret).update(`v0:${timestamp}:`).update(bytes).digest('hex')}`;
  const contentType =
    options.contentType === undefined ? 'application/x-www-form-urlencoded' : options.contentType;
  return send(
    options.method ?? 'POST',
    options.url,
    bytes,
    {
      ...(contentType !== null && { 'Content-Type': contentType }),
      'User-Agent': SLACK_USER_AGENT,
      ...(signature !== undefined && {
        'X-Slack-Request-Timestamp': String(timestamp),
        'X-Slack-Signature': signature,
      }),
      ...options.headers,
    },
    options.timeoutMs ?? 10_000,
  );
}

function send(
  method: string,
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // agent:false so no kept-alive socket outlives the test that made it.
    const req = transport.request(
      target,
      {
        method,
        agent: false,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`deliverBlockAction: ${url} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
