import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { BodyTooLargeError, listenOnLoopback, readBody, send } from '../http-util';
import { findButton, validateBlocks } from './block-kit';
import {
  type ActionMessage,
  buildBlockActionsPayload,
  type DeliverBlockActionOptions,
  type DeliveryResult,
  deliverPayload,
} from './deliver';
import { createSlackRateLimiter, type SlackRateLimiter, type SlackRateLimitOptions } from './rate-limits';

/**
 * Local stand-in for the Slack Web API, enough of it for PolicyGate's approval messages: auth.test,
 * chat.postMessage / update / postEphemeral, conversations.history / replies, users.info and
 * usergroups.users.list, plus the `response_url`s
 * of interactivity payloads it delivers. The real `@slack/web-api` WebClient reaches it with
 * `new WebClient(token, { slackApiUrl: server.url })`.
 *
 * Like Slack, every answer to a known path is HTTP 200 with `{ ok: true, … }` or `{ ok: false, error }`,
 * except rate limiting (429 + `Retry-After`) and the outages tests inject. Slack's rate limits (per-channel
 * posting, per-method tiers, see `rate-limits.ts`) are enforced unless `rateLimits: false`.
 */

/** Slack rejects message text longer than this with `msg_too_long`. */
export const MAX_MESSAGE_TEXT_LENGTH = 40_000;
const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Scopes a PolicyGate bot token is installed with; `users:read.email` makes users.info return emails. */
export const DEFAULT_SCOPES: readonly string[] = [
  'chat:write',
  'channels:history',
  'groups:history',
  'users:read',
  'users:read.email',
  'usergroups:read',
];

/** A workspace member the stand-in knows. */
export interface SlackUserSpec {
  id: string;
  name: string;
  realName?: string;
  displayName?: string;
  email?: string;
  isBot?: boolean;
  deleted?: boolean;
  /** Defaults to the server's team. */
  teamId?: string;
}

/** A channel with its name (a bare id gets its lower-cased id as name). */
export interface SlackChannelSpec {
  id: string;
  name: string;
}

export interface StartSlackServerOptions {
  /** The only token the stand-in accepts. */
  botToken: string;
  botUserId?: string;
  botId?: string;
  /** The bot user's name, as auth.test's `user`. */
  botName?: string;
  appId?: string;
  teamId?: string;
  /** The Enterprise Grid organisation, `E…`: auth.test's `enterprise_id` and the clicks' `enterprise`. */
  enterpriseId?: string;
  teamName?: string;
  /** Workspace subdomain: auth.test's `url` and interactivity payloads' `team.domain`. */
  teamDomain?: string;
  users?: SlackUserSpec[];
  /** Usergroup id to member user ids. */
  usergroups?: Record<string, string[]>;
  /** Channels the bot is in; default `['C0POLICYGATE']`. */
  channels?: Array<string | SlackChannelSpec>;
  /** Channels that exist but the bot is not in: posting there answers `not_in_channel`. */
  otherChannels?: Array<string | SlackChannelSpec>;
  /** Scopes granted to the token; a method needing another answers `missing_scope`. */
  scopes?: readonly string[];
  /** The channels' messages an earlier server exported: a restart keeps the conversation. */
  state?: ExportedSlackState;
  /**
   * Slack's rate limits: on by default (Slack's own figures); `false` turns them off for tests that are
   * not about them, options scale them (see {@link SlackRateLimitOptions}).
   */
  rateLimits?: false | SlackRateLimitOptions;
}

/** The messages (threads included) as {@link LocalSlackServer.exportState} writes them: JSON only. */
export interface ExportedSlackState {
  messages: Record<string, unknown>[];
  /** The last timestamp handed out, in microseconds: a message ts is its id and never repeats. */
  lastTsMicros: number;
}

/** An earlier version of an edited message. */
export interface SlackMessageVersion {
  text: string;
  blocks: unknown[] | undefined;
}

/** A message as the stand-in holds it now (after any updates). */
export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[] | undefined;
  attachments?: unknown[];
  metadata?: unknown;
  /**
   * For a reply, its parent's ts. For a top-level message, its own ts once it has replies (as Slack shows a
   * thread parent), otherwise absent.
   */
  threadTs?: string;
  /** Author: the bot user for messages posted through the API. */
  user: string;
  /** How often chat.update / response_url replaced it. */
  edits: number;
  /** Earlier versions, oldest first (`history.length === edits`). */
  history: SlackMessageVersion[];
  /** Number of replies (top-level messages only). */
  replyCount: number;
}

/** An ephemeral message (chat.postEphemeral, or an ephemeral response_url answer). */
export interface SlackEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks: unknown[] | undefined;
  messageTs: string;
  threadTs?: string;
}

/** One request to a Web API method, whatever came of it. The token is never kept. */
export interface SlackCall {
  method: string;
  /** Parameters as received (form values are strings; `blocks` stays the JSON text WebClient sent). */
  params: Record<string, unknown>;
  transport: 'form' | 'json' | 'multipart' | 'query';
  /** HTTP status of the answer (0 when the socket was destroyed). */
  status: number;
  ok: boolean;
  error?: string;
  at: Date;
}

/** A POST to a `response_url` handed out in a delivered payload. */
export interface ResponseUrlPost {
  url: string;
  channel: string;
  messageTs: string;
  /** The user whose click produced the URL. */
  userId: string;
  body: unknown;
  status: number;
  at: Date;
}

/**
 * How {@link LocalSlackServer.failNext} fails a call: before doing anything (an HTTP status, a Slack error,
 * a reset connection), or `afterStore`: the call takes effect (the message is stored) and then the answer
 * is lost, as when the client times out or the connection drops after Slack posted. `'hang'` never
 * answers (the client's timeout ends it).
 */
export type SlackFailure =
  | { status: number }
  | { error: string }
  | 'reset'
  | { afterStore: 'hang' | 'reset' | { status: number } };

/** {@link deliverBlockAction} options when the stand-in fills in the message, team and response_url. */
export interface ServerDeliverBlockActionOptions
  extends Omit<DeliverBlockActionOptions, 'message' | 'responseUrl' | 'teamId' | 'teamDomain' | 'appId'> {
  /** The message clicked; default: the newest message holding a button with `action.actionId`. */
  message?: { channel: string; ts: string };
}

export interface LocalSlackServer {
  /** `slackApiUrl` for WebClient, ending in `/api/`. */
  readonly url: string;
  /** Origin of the server (for response_urls and raw requests). */
  readonly origin: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  /** Top-level messages (in `channel`, or everywhere), oldest first. Copies: mutating them changes nothing. */
  messages(channel?: string): SlackMessage[];
  /** Replies in the thread of `ts`, oldest first. */
  replies(channel: string, ts: string): SlackMessage[];
  /** One message (top-level or reply) by channel and ts. */
  message(channel: string, ts: string): SlackMessage | undefined;
  readonly ephemerals: readonly SlackEphemeral[];
  /** Every Web API request received, including failed ones. */
  readonly calls: readonly SlackCall[];
  readonly responseUrlPosts: readonly ResponseUrlPost[];
  /** The next `times` calls to `method` (`'*'`: any method) answer 429 with `Retry-After`. */
  rateLimit(method: string, times: number, retryAfterSeconds: number): void;
  /** The next `times` calls to `method` (`'*'`: any method) fail as `failure` says. */
  failNext(method: string, times: number, failure: SlackFailure): void;
  /** Turns Slack's rate limits off (`false`) or on with `options`; usage so far is forgotten. */
  setRateLimits(options: false | SlackRateLimitOptions): void;
  /** While down, every request is answered 503. */
  setDown(down: boolean): void;
  addUser(spec: SlackUserSpec): void;
  setUsergroup(id: string, userIds: string[]): void;
  /** Adds a channel, with the bot in it or not. */
  addChannel(channel: string | SlackChannelSpec, botIsMember?: boolean): void;
  /** Stores a message written by someone other than the bot (e.g. to test `cant_update_message`). */
  injectMessage(input: {
    channel: string;
    user: string;
    text: string;
    blocks?: unknown[];
    threadTs?: string;
  }): string;
  /** Deletes a message and its thread, as someone in the channel can (then `message_not_found`). */
  deleteMessage(channel: string, ts: string): boolean;
  /** Delivers a signed block_actions payload for a click on a stored message, as Slack would. */
  deliverBlockAction(options: ServerDeliverBlockActionOptions): Promise<DeliveryResult>;
  /** Calls `listener` after each Web API call is answered; returns an unsubscribe function. */
  onCall(listener: (call: SlackCall) => void): () => void;
  /**
   * Resolves with the first truthy value of `check`, evaluated now and after every request the stand-in
   * answers; rejects after `timeoutMs` (default 5000) or when the server closes.
   */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /**
   * Makes auth.test report another team and enterprise than the one the stand-in serves (as a token for
   * another workspace would); `undefined` fields report the stand-in's own.
   */
  setAuthTest(identity: { teamId?: string; enterpriseId?: string | null }): void;
  /** Accepts `token` from now on; the old token answers `token_revoked`, as Slack does after a rotation. */
  rotateBotToken(token: string): void;
  /** Forgets messages, ephemerals, calls, response_url posts and pending faults (users and channels stay). */
  clear(): void;
  /** Every message (with its edits and thread replies) as JSON, for `state` of a later server. */
  exportState(): ExportedSlackState;
  close(): Promise<void>;
}

/** What the stand-in keeps: the public shape less `edits` (it is `history.length`), plus the bot's ids. */
interface StoredMessage extends Omit<SlackMessage, 'edits'> {
  botId?: string;
  appId?: string;
}

interface ChannelState {
  id: string;
  name: string;
  botIsMember: boolean;
}

interface ResponseUrlTarget {
  channel: string;
  messageTs: string;
  userId: string;
}

/** An `{ ok: false }` answer. */
class SlackApiError {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {}
}

interface ParsedRequest {
  params: Record<string, unknown>;
  transport: SlackCall['transport'];
  /** Token from the body (form / multipart only: Slack ignores it in JSON bodies). */
  bodyToken?: string;
  parseError?: string;
}

/** Scope each method needs; auth.test needs none. */
const METHOD_SCOPES: Record<string, string | undefined> = {
  'auth.test': undefined,
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'users.info': 'users:read',
  'usergroups.users.list': 'usergroups:read',
  // conversations.* need channels:history for public channels, groups:history for private ones (see below).
  'conversations.history': 'channels:history',
  'conversations.replies': 'channels:history',
};

const MAX_HISTORY_LIMIT = 999;

/** Starts the Slack Web API stand-in on 127.0.0.1 with a random port. */
export async function startSlackServer(options: StartSlackServerOptions): Promise<LocalSlackServer> {
  if (options.botToken === '') throw new Error('startSlackServer: botToken must not be empty');
  const botUserId = options.botUserId ?? 'U0POLICYBOT';
  const botId = options.botId ?? 'B0POLICYBOT';
  const botName = options.botName ?? 'policygate';
  const appId = options.appId ?? 'A0POLICYGATE';
  const teamId = options.teamId ?? 'T0POLICYGATE';
  const teamName = options.teamName ?? 'PolicyGate Test';
  const teamDomain = options.teamDomain ?? 'policygate-test';
  const scopes = new Set(options.scopes ?? DEFAULT_SCOPES);
  let botToken = options.botToken;
  const revokedTokens = new Set<string>();
  let authTest: { teamId?: string; enterpriseId?: string | null } = {};

  const users = new Map<string, SlackUserSpec>();
  const addUser = (spec: SlackUserSpec): void => {
    if (!/^[UW][A-Z0-9]+$/.test(spec.id)) throw new Error(`addUser: '${spec.id}' is not a Slack user id`);
    users.set(spec.id, { ...spec });
  };
  addUser({ id: botUserId, name: botName, realName: 'PolicyGate', isBot: true });
  for (const spec of options.users ?? []) addUser(spec);

  const usergroups = new Map<string, string[]>();
  const setUsergroup = (id: string, userIds: string[]): void => {
    usergroups.set(id, [...userIds]);
  };
  for (const [id, members] of Object.entries(options.usergroups ?? {})) setUsergroup(id, members);

  const channels = new Map<string, ChannelState>();
  const addChannel = (channel: string | SlackChannelSpec, botIsMember = true): void => {
    const spec = typeof channel === 'string' ? { id: channel, name: channel.toLowerCase() } : channel;
    if (!/^[CGD][A-Z0-9]+$/.test(spec.id)) throw new Error(`addChannel: '${spec.id}' is not a channel id`);
    channels.set(spec.id, { ...spec, botIsMember });
  };
  for (const channel of options.channels ?? ['C0POLICYGATE']) addChannel(channel, true);
  for (const channel of options.otherChannels ?? []) addChannel(channel, false);

  let store: StoredMessage[] = structuredClone((options.state?.messages ?? []) as unknown as StoredMessage[]);
  const ephemerals: SlackEphemeral[] = [];
  const calls: SlackCall[] = [];
  const responseUrlPosts: ResponseUrlPost[] = [];
  const responseUrls = new Map<string, ResponseUrlTarget>();
  const rateLimits = new Map<string, { remaining: number; retryAfter: number }>();
  const failures = new Map<string, { remaining: number; failure: SlackFailure }>();
  const changeListeners = new Set<() => void>();
  const callListeners = new Set<(call: SlackCall) => void>();
  const closeListeners = new Set<() => void>();
  let down = false;
  const makeLimiter = (value: false | SlackRateLimitOptions | undefined): SlackRateLimiter | undefined =>
    value === false ? undefined : createSlackRateLimiter(value ?? {});
  let limiter = makeLimiter(options.rateLimits);
  let lastTsMicros = options.state?.lastTsMicros ?? 0;
  let responseUrlCounter = 0;

  /** Slack timestamps are unix seconds with six decimals; they also serve as message ids, so never repeat. */
  const nextTs = (): string => {
    lastTsMicros = Math.max(Date.now() * 1000, lastTsMicros + 1);
    return `${Math.floor(lastTsMicros / 1e6)}.${String(lastTsMicros % 1e6).padStart(6, '0')}`;
  };

  const notify = (): void => {
    for (const listener of [...changeListeners]) listener();
  };

  const find = (channel: string, ts: string): StoredMessage | undefined =>
    store.find((m) => m.channel === channel && m.ts === ts);

  const snapshot = (m: StoredMessage): SlackMessage =>
    structuredClone({
      channel: m.channel,
      ts: m.ts,
      text: m.text,
      blocks: m.blocks,
      ...(m.attachments === undefined ? {} : { attachments: m.attachments }),
      ...(m.metadata === undefined ? {} : { metadata: m.metadata }),
      ...(m.threadTs === undefined ? {} : { threadTs: m.threadTs }),
      user: m.user,
      edits: m.history.length,
      history: m.history,
      replyCount: m.replyCount,
    });

  /** The message object Slack returns from chat.postMessage / chat.update. */
  const messageJson = (m: StoredMessage): Record<string, unknown> => ({
    user: m.user,
    type: 'message',
    ts: m.ts,
    ...(m.botId === undefined ? {} : { bot_id: m.botId }),
    ...(m.appId === undefined ? {} : { app_id: m.appId }),
    text: m.text,
    team: teamId,
    ...(m.botId === undefined
      ? {}
      : { bot_profile: { id: botId, app_id: appId, name: botName, deleted: false, team_id: teamId } }),
    ...(m.blocks === undefined ? {} : { blocks: m.blocks }),
    ...(m.attachments === undefined ? {} : { attachments: m.attachments }),
    ...(m.threadTs === undefined || m.threadTs === m.ts
      ? {}
      : { thread_ts: m.threadTs, parent_user_id: parentUser(m) }),
  });

  const parentUser = (m: StoredMessage): string | undefined =>
    m.threadTs === undefined ? undefined : find(m.channel, m.threadTs)?.user;

  // ---- Web API methods -------------------------------------------------------------------------------

  /** chat.postMessage accepts a channel id, a channel name or a user id (posting to the DM with that user). */
  const resolvePostChannel = (raw: unknown): ChannelState => {
    const value = typeof raw === 'string' ? raw.trim() : '';
    if (value === '') throw new SlackApiError('channel_not_found');
    const byId = channels.get(value);
    if (byId !== undefined) return byId;
    const name = value.replace(/^#/, '');
    const byName = [...channels.values()].find((c) => c.name === name && !c.id.startsWith('D'));
    if (byName !== undefined) return byName;
    const user = users.get(value);
    if (user !== undefined && !user.deleted) {
      if (user.isBot) throw new SlackApiError('cannot_dm_bot');
      const dm: ChannelState = { id: `D${user.id.slice(1)}`, name: user.id, botIsMember: true };
      if (!channels.has(dm.id)) channels.set(dm.id, dm);
      return channels.get(dm.id) as ChannelState;
    }
    throw new SlackApiError('channel_not_found');
  };

  const memberChannel = (channel: ChannelState): ChannelState => {
    if (!channel.botIsMember) throw new SlackApiError('not_in_channel');
    return channel;
  };

  /** Parses and validates text/blocks the way chat.* methods do. */
  const content = (
    params: Record<string, unknown>,
  ): { text: string | undefined; blocks: unknown[] | undefined; attachments: unknown[] | undefined } => {
    const text = optionalString(params.text);
    const blocks = parseJsonArray(params.blocks, 'invalid_blocks_format');
    const attachments = parseJsonArray(params.attachments, 'invalid_attachments');
    if ((text === undefined || text === '') && !blocks?.length && !attachments?.length) {
      throw new SlackApiError('no_text');
    }
    if (text !== undefined && text.length > MAX_MESSAGE_TEXT_LENGTH) throw new SlackApiError('msg_too_long');
    if (blocks !== undefined) {
      const problems = validateBlocks(blocks);
      if (problems.length > 0) {
        throw new SlackApiError('invalid_blocks', {
          errors: problems,
          response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
        });
      }
    }
    return { text, blocks: blocks === undefined ? undefined : fillGeneratedIds(blocks), attachments };
  };

  const methods: Record<string, (params: Record<string, unknown>) => Record<string, unknown>> = {
    'auth.test': () => {
      const enterprise =
        authTest.enterpriseId === undefined ? options.enterpriseId : (authTest.enterpriseId ?? undefined);
      return {
        url: `https://${teamDomain}.slack.com/`,
        team: teamName,
        user: botName,
        team_id: authTest.teamId ?? teamId,
        user_id: botUserId,
        bot_id: botId,
        ...(enterprise !== undefined && { enterprise_id: enterprise }),
        is_enterprise_install: false,
      };
    },

    'chat.postMessage': (params) => {
      const channel = memberChannel(resolvePostChannel(params.channel));
      const { text, blocks, attachments } = content(params);
      const threadTs = optionalString(params.thread_ts);
      let parent: StoredMessage | undefined;
      if (threadTs !== undefined && threadTs !== '') {
        parent = find(channel.id, threadTs);
        if (parent === undefined || (parent.threadTs !== undefined && parent.threadTs !== parent.ts)) {
          throw new SlackApiError('thread_not_found');
        }
      }
      const message: StoredMessage = {
        channel: channel.id,
        ts: nextTs(),
        text: text ?? '',
        blocks,
        ...(attachments === undefined ? {} : { attachments }),
        ...(params.metadata === undefined ? {} : { metadata: parseMaybeJson(params.metadata) }),
        ...(parent === undefined ? {} : { threadTs: parent.ts }),
        user: botUserId,
        botId,
        appId,
        history: [],
        replyCount: 0,
      };
      if (parent !== undefined) {
        parent.threadTs = parent.ts;
        parent.replyCount += 1;
      }
      store.push(message);
      return { channel: channel.id, ts: message.ts, message: messageJson(message) };
    },

    'chat.update': (params) => {
      const channelId = optionalString(params.channel) ?? '';
      const channel = channels.get(channelId);
      if (channel === undefined) throw new SlackApiError('channel_not_found');
      const ts = optionalString(params.ts) ?? '';
      const message = find(channel.id, ts);
      if (message === undefined) throw new SlackApiError('message_not_found');
      if (message.user !== botUserId) throw new SlackApiError('cant_update_message');
      const { text, blocks, attachments } = content(params);
      message.history.push(structuredClone({ text: message.text, blocks: message.blocks }));
      message.text = text ?? '';
      // Slack keeps the old blocks only when neither text nor blocks were sent; with text alone they go.
      message.blocks = blocks;
      if (attachments !== undefined) message.attachments = attachments;
      return { channel: channel.id, ts: message.ts, text: message.text, message: messageJson(message) };
    },

    'chat.postEphemeral': (params) => {
      const channel = memberChannel(resolvePostChannel(params.channel));
      const userId = optionalString(params.user) ?? '';
      const user = users.get(userId);
      if (user === undefined || user.deleted) throw new SlackApiError('user_not_in_channel');
      const { text, blocks } = content(params);
      const messageTs = nextTs();
      const threadTs = optionalString(params.thread_ts);
      ephemerals.push({
        channel: channel.id,
        user: userId,
        text: text ?? '',
        blocks,
        messageTs,
        ...(threadTs === undefined || threadTs === '' ? {} : { threadTs }),
      });
      return { message_ts: messageTs };
    },

    'conversations.history': (params) => {
      const channel = historyChannel(params.channel);
      const oldest = optionalString(params.oldest);
      const latest = optionalString(params.latest);
      const inclusive = isTrue(params.inclusive);
      const inRange = (m: StoredMessage) =>
        (oldest === undefined || compareTs(m.ts, oldest) > (inclusive ? -1 : 0)) &&
        (latest === undefined || compareTs(m.ts, latest) < (inclusive ? 1 : 0));
      const newestFirst = store
        .filter((m) => m.channel === channel.id && isTopLevel(m) && inRange(m))
        .sort((a, b) => compareTs(b.ts, a.ts));
      return historyPage(newestFirst, params);
    },

    'conversations.replies': (params) => {
      const channel = historyChannel(params.channel);
      const ts = optionalString(params.ts) ?? '';
      const parent = find(channel.id, ts);
      if (parent === undefined || !isTopLevel(parent)) throw new SlackApiError('thread_not_found');
      // Slack lists the parent first, then its replies oldest first.
      const thread = [
        parent,
        ...store
          .filter((m) => m.channel === channel.id && m.threadTs === ts && m.ts !== ts)
          .sort((a, b) => compareTs(a.ts, b.ts)),
      ];
      return historyPage(thread, params);
    },

    'users.info': (params) => {
      const user = users.get(optionalString(params.user) ?? '');
      if (user === undefined) throw new SlackApiError('user_not_found');
      return { user: userJson(user) };
    },

    'usergroups.users.list': (params) => {
      const members = usergroups.get(optionalString(params.usergroup) ?? '');
      if (members === undefined) throw new SlackApiError('no_such_subteam');
      return { users: [...members] };
    },
  };

  const historyChannel = (raw: unknown): ChannelState => {
    const channel = channels.get(optionalString(raw) ?? '');
    if (channel === undefined) throw new SlackApiError('channel_not_found');
    if (!channel.botIsMember) {
      // A public channel the bot is not in: not_in_channel; a private one it cannot even see.
      throw new SlackApiError(channel.id.startsWith('G') ? 'channel_not_found' : 'not_in_channel');
    }
    return channel;
  };

  /** One page of messages in the order given; the cursor is the index of the next one. */
  const historyPage = (
    ordered: StoredMessage[],
    params: Record<string, unknown>,
  ): Record<string, unknown> => {
    const rawLimit = Number(optionalString(params.limit) ?? '100');
    const limit = Number.isInteger(rawLimit) && rawLimit > 0 ? Math.min(rawLimit, MAX_HISTORY_LIMIT) : 100;
    const cursor = optionalString(params.cursor);
    let start = 0;
    if (cursor !== undefined && cursor !== '') {
      const decoded = /^next:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
      if (decoded?.[1] === undefined) throw new SlackApiError('invalid_cursor');
      start = Number(decoded[1]);
    }
    const page = ordered.slice(start, start + limit);
    const next = start + limit < ordered.length ? start + limit : undefined;
    const withMetadata = isTrue(params.include_all_metadata);
    return {
      messages: page.map((m) => ({
        ...messageJson(m),
        ...(withMetadata && m.metadata !== undefined ? { metadata: structuredClone(m.metadata) } : {}),
        ...(m.replyCount > 0 ? { reply_count: m.replyCount, thread_ts: m.ts } : {}),
      })),
      has_more: next !== undefined,
      response_metadata: {
        next_cursor: next === undefined ? '' : Buffer.from(`next:${next}`).toString('base64'),
      },
    };
  };

  const userJson = (user: SlackUserSpec): Record<string, unknown> => {
    const realName = user.realName ?? user.name;
    const displayName = user.displayName ?? user.name;
    const showEmail = user.email !== undefined && scopes.has('users:read.email');
    return {
      id: user.id,
      team_id: user.teamId ?? teamId,
      name: user.name,
      deleted: user.deleted === true,
      color: '9f69e7',
      real_name: realName,
      tz: 'Europe/London',
      tz_label: 'Greenwich Mean Time',
      tz_offset: 0,
      profile: {
        real_name: realName,
        real_name_normalized: realName,
        display_name: displayName,
        display_name_normalized: displayName,
        ...(showEmail ? { email: user.email } : {}),
        ...(user.id === botUserId ? { bot_id: botId, api_app_id: appId } : {}),
        team: user.teamId ?? teamId,
      },
      is_admin: false,
      is_owner: false,
      is_primary_owner: false,
      is_restricted: false,
      is_ultra_restricted: false,
      is_bot: user.isBot === true,
      is_app_user: false,
      updated: 1_700_000_000,
    };
  };

  // ---- HTTP ------------------------------------------------------------------------------------------

  const takeFault = <V extends { remaining: number }>(map: Map<string, V>, method: string): V | undefined => {
    for (const key of [method, '*']) {
      const entry = map.get(key);
      if (entry !== undefined && entry.remaining > 0) {
        entry.remaining -= 1;
        if (entry.remaining === 0) map.delete(key);
        return entry;
      }
    }
    return undefined;
  };

  const handleApi = async (
    method: string,
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
  ): Promise<void> => {
    const parsed = await parseRequest(req, body);
    const { token: _dropped, ...params } = parsed.params;
    const call: SlackCall = {
      method,
      params,
      transport: parsed.transport,
      status: 200,
      ok: false,
      at: new Date(),
    };
    calls.push(call);
    const answer = (status: number, json: Record<string, unknown>, headers: Record<string, string> = {}) => {
      call.status = status;
      call.ok = json.ok === true;
      if (typeof json.error === 'string') call.error = json.error;
      send(res, status, JSON_CONTENT_TYPE, JSON.stringify(json), {
        'x-slack-req-id': randomBytes(16).toString('hex'),
        ...headers,
      });
    };
    try {
      if (down) {
        call.status = 503;
        call.error = 'service_unavailable';
        send(res, 503, 'text/html', '<html><body><h1>503 Service Unavailable</h1></body></html>');
        return;
      }
      if (!Object.hasOwn(methods, method)) {
        answer(200, { ok: false, error: 'unknown_method', req_method: method });
        return;
      }
      const limited = takeFault(rateLimits, method);
      if (limited !== undefined) {
        answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limited.retryAfter) });
        return;
      }
      const failing = takeFault(failures, method);
      let afterStore: { afterStore: 'hang' | 'reset' | { status: number } } | undefined;
      if (failing !== undefined && typeof failing.failure === 'object' && 'afterStore' in failing.failure) {
        afterStore = failing.failure;
      } else if (failing !== undefined) {
        const { failure } = failing as { failure: Exclude<SlackFailure, { afterStore: unknown }> };
        if (failure === 'reset') {
          call.status = 0;
          call.error = 'socket_reset';
          req.socket.destroy();
          return;
        }
        if ('status' in failure) {
          call.status = failure.status;
          call.error = `http_${failure.status}`;
          send(res, failure.status, 'text/plain', `injected failure ${failure.status}`);
          return;
        }
        answer(200, { ok: false, error: failure.error });
        return;
      }
      if (parsed.parseError !== undefined) {
        answer(200, { ok: false, error: parsed.parseError });
        return;
      }
      const token = bearerToken(req) ?? parsed.bodyToken;
      if (token === undefined || token === '') {
        answer(200, { ok: false, error: 'not_authed' });
        return;
      }
      if (token !== botToken) {
        answer(200, { ok: false, error: revokedTokens.has(token) ? 'token_revoked' : 'invalid_auth' });
        return;
      }
      const needed =
        method.startsWith('conversations.') && optionalString(params.channel)?.startsWith('G')
          ? 'groups:history'
          : METHOD_SCOPES[method];
      const scopeHeaders = {
        'x-oauth-scopes': [...scopes].join(','),
        'x-accepted-oauth-scopes': needed ?? '',
      };
      if (needed !== undefined && !scopes.has(needed)) {
        answer(
          200,
          { ok: false, error: 'missing_scope', needed, provided: [...scopes].join(',') },
          scopeHeaders,
        );
        return;
      }
      const decision = limiter?.take(method, optionalString(params.channel), Date.now());
      if (decision?.limited) {
        answer(
          429,
          { ok: false, error: 'ratelimited' },
          { 'retry-after': String(decision.retryAfterSeconds) },
        );
        return;
      }
      const handler = methods[method] as (p: Record<string, unknown>) => Record<string, unknown>;
      const result = handler(params);
      if (afterStore !== undefined) {
        // It happened; only the answer is lost.
        call.ok = true;
        const { afterStore: how } = afterStore;
        if (how === 'hang') {
          call.status = 0;
          call.error = 'answer_withheld';
          return;
        }
        if (how === 'reset') {
          call.status = 0;
          call.error = 'socket_reset_after_store';
          req.socket.destroy();
          return;
        }
        call.status = how.status;
        call.error = `http_${how.status}_after_store`;
        send(res, how.status, 'text/plain', `injected failure ${how.status}`);
        return;
      }
      answer(200, { ok: true, ...result }, scopeHeaders);
    } catch (err) {
      if (!(err instanceof SlackApiError)) throw err;
      answer(200, { ok: false, error: err.error, ...err.extra });
    } finally {
      for (const listener of [...callListeners]) listener(call);
    }
  };

  /** A response_url: replace or delete the original message, or post a new (ephemeral by default) one. */
  const handleResponseUrl = (
    path: string,
    body: Buffer,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ) => {
    const target = responseUrls.get(path);
    const reply = (status: number, json: Record<string, unknown>) =>
      send(res, status, JSON_CONTENT_TYPE, JSON.stringify(json));
    if (target === undefined) {
      reply(404, { ok: false, error: 'expired_url' });
      return;
    }
    let parsedBody: unknown;
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    try {
      const text = body.toString('utf8');
      parsedBody = contentType.startsWith('application/x-www-form-urlencoded')
        ? JSON.parse(new URLSearchParams(text).get('payload') ?? '')
        : JSON.parse(text);
    } catch {
      parsedBody = undefined;
    }
    const record: ResponseUrlPost = {
      url: `${started.endpoint}${path}`,
      channel: target.channel,
      messageTs: target.messageTs,
      userId: target.userId,
      body: parsedBody,
      status: 200,
      at: new Date(),
    };
    responseUrlPosts.push(record);
    const fail = (status: number, error: string, extra: Record<string, unknown> = {}) => {
      record.status = status;
      reply(status, { ok: false, error, ...extra });
    };
    if (typeof parsedBody !== 'object' || parsedBody === null || Array.isArray(parsedBody)) {
      fail(400, 'invalid_payload');
      return;
    }
    const fields = parsedBody as Record<string, unknown>;
    const original = find(target.channel, target.messageTs);
    if (fields.delete_original === true || fields.delete_original === 'true') {
      if (original === undefined) return fail(404, 'message_not_found');
      store = store.filter((m) => m !== original);
      reply(200, { ok: true });
      return;
    }
    let parsed: ReturnType<typeof content>;
    try {
      parsed = content(fields);
    } catch (err) {
      if (!(err instanceof SlackApiError)) throw err;
      fail(400, err.error, err.extra);
      return;
    }
    if (fields.replace_original === true || fields.replace_original === 'true') {
      if (original === undefined) return fail(404, 'message_not_found');
      original.history.push(structuredClone({ text: original.text, blocks: original.blocks }));
      original.text = parsed.text ?? '';
      original.blocks = parsed.blocks;
    } else if (fields.response_type === 'in_channel') {
      const threadTs = optionalString(fields.thread_ts);
      store.push({
        channel: target.channel,
        ts: nextTs(),
        text: parsed.text ?? '',
        blocks: parsed.blocks,
        ...(threadTs === undefined ? {} : { threadTs }),
        user: botUserId,
        botId,
        appId,
        history: [],
        replyCount: 0,
      });
    } else {
      ephemerals.push({
        channel: target.channel,
        user: target.userId,
        text: parsed.text ?? '',
        blocks: parsed.blocks,
        messageTs: nextTs(),
      });
    }
    reply(200, { ok: true });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      let body: Buffer;
      try {
        body = await readBody(req, MAX_REQUEST_BYTES);
      } catch (err) {
        if (!(err instanceof BodyTooLargeError)) throw err;
        send(res, 413, 'text/plain', 'request entity too large');
        return;
      }
      if (path.startsWith('/api/')) {
        await handleApi(decodeURIComponent(path.slice('/api/'.length)), req, body, res);
        return;
      }
      if (down) {
        send(res, 503, 'text/html', '<html><body><h1>503 Service Unavailable</h1></body></html>');
        return;
      }
      if (path.startsWith('/actions/') && req.method === 'POST') {
        handleResponseUrl(path, body, req, res);
        return;
      }
      send(res, 404, 'text/plain', 'not found');
    } finally {
      notify();
    }
  };

  const started = await listenOnLoopback(handle);

  /**
   * The message clicked and the blocks the user saw: the current version if it holds the button, else the
   * newest earlier version that did (a client that has not yet rendered an update can still click).
   */
  const findClicked = (
    options: ServerDeliverBlockActionOptions,
  ): { message: StoredMessage; blocks: unknown[] | undefined } | undefined => {
    const { actionId, blockId } = options.action;
    const versionWithButton = (m: StoredMessage): unknown[] | undefined => {
      const versions = [m.blocks, ...m.history.map((v) => v.blocks).reverse()];
      return versions.find((blocks) => findButton(blocks, actionId, blockId) !== undefined);
    };
    if (options.message !== undefined) {
      const found = find(options.message.channel, options.message.ts);
      if (found === undefined) {
        throw new Error(
          `deliverBlockAction: no message ${options.message.ts} in ${options.message.channel} on the stand-in`,
        );
      }
      return { message: found, blocks: versionWithButton(found) ?? found.blocks };
    }
    const newestFirst = [...store].reverse();
    for (const candidates of [
      newestFirst.filter((m) => findButton(m.blocks, actionId, blockId)),
      newestFirst,
    ]) {
      for (const candidate of candidates) {
        const blocks = versionWithButton(candidate);
        if (blocks !== undefined) return { message: candidate, blocks };
      }
    }
    return undefined;
  };

  return {
    url: `${started.endpoint}/api/`,
    origin: started.endpoint,
    botUserId,
    botId,
    teamId,
    messages: (channel?: string) =>
      store.filter((m) => (channel === undefined || m.channel === channel) && isTopLevel(m)).map(snapshot),
    replies: (channel: string, ts: string) =>
      store.filter((m) => m.channel === channel && m.threadTs === ts && m.ts !== ts).map(snapshot),
    message: (channel: string, ts: string) => {
      const found = find(channel, ts);
      return found === undefined ? undefined : snapshot(found);
    },
    get ephemerals() {
      return structuredClone(ephemerals);
    },
    get calls() {
      return structuredClone(calls);
    },
    get responseUrlPosts() {
      return structuredClone(responseUrlPosts);
    },
    rateLimit(method: string, times: number, retryAfterSeconds: number): void {
      checkCount('rateLimit', times);
      if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
        throw new RangeError(
          `rateLimit: retryAfterSeconds must be a whole number >= 0, got ${retryAfterSeconds}`,
        );
      }
      rateLimits.set(method, { remaining: times, retryAfter: retryAfterSeconds });
    },
    failNext(method: string, times: number, failure: SlackFailure): void {
      checkCount('failNext', times);
      failures.set(method, { remaining: times, failure });
    },
    setRateLimits(value) {
      limiter = makeLimiter(value);
    },
    setDown(value: boolean): void {
      down = value;
    },
    addUser,
    setUsergroup,
    addChannel,
    deleteMessage(channel, ts) {
      const before = store.length;
      store = store.filter((m) => m.channel !== channel || (m.ts !== ts && m.threadTs !== ts));
      return store.length < before;
    },
    injectMessage(input) {
      const channel = channels.get(input.channel);
      if (channel === undefined) throw new Error(`injectMessage: unknown channel ${input.channel}`);
      const parent = input.threadTs === undefined ? undefined : find(channel.id, input.threadTs);
      if (input.threadTs !== undefined && parent === undefined) {
        throw new Error(`injectMessage: no message ${input.threadTs} in ${channel.id}`);
      }
      const ts = nextTs();
      store.push({
        channel: channel.id,
        ts,
        text: input.text,
        blocks: input.blocks === undefined ? undefined : structuredClone(input.blocks),
        ...(parent === undefined ? {} : { threadTs: parent.ts }),
        user: input.user,
        history: [],
        replyCount: 0,
      });
      if (parent !== undefined) {
        parent.threadTs = parent.ts;
        parent.replyCount += 1;
      }
      notify();
      return ts;
    },
    async deliverBlockAction(deliverOptions: ServerDeliverBlockActionOptions): Promise<DeliveryResult> {
      const found = findClicked(deliverOptions);
      if (found === undefined) {
        throw new Error(
          `deliverBlockAction: no stored message has a button with action_id '${deliverOptions.action.actionId}'`,
        );
      }
      const clicked = found.message;
      const spec = users.get(deliverOptions.user.id);
      responseUrlCounter += 1;
      const path = `/actions/${teamId}/${responseUrlCounter}${Date.now()}/${randomBytes(12).toString('hex')}`;
      responseUrls.set(path, {
        channel: clicked.channel,
        messageTs: clicked.ts,
        userId: deliverOptions.user.id,
      });
      const message: ActionMessage = {
        channel: clicked.channel,
        channelName: channels.get(clicked.channel)?.name,
        ts: clicked.ts,
        text: clicked.text,
        blocks: structuredClone(clicked.blocks),
        user: clicked.user,
        ...(clicked.botId === undefined ? {} : { botId: clicked.botId }),
        ...(clicked.appId === undefined ? {} : { appId: clicked.appId }),
        ...(clicked.threadTs === undefined || clicked.threadTs === clicked.ts
          ? {}
          : { threadTs: clicked.threadTs }),
      };
      const payload = buildBlockActionsPayload({
        ...deliverOptions,
        user: {
          id: deliverOptions.user.id,
          name: deliverOptions.user.name ?? spec?.name,
          teamId: deliverOptions.user.teamId ?? spec?.teamId ?? teamId,
        },
        message,
        clickedBlocks: structuredClone(found.blocks),
        responseUrl: `${started.endpoint}${path}`,
        teamId,
        teamDomain,
        appId,
        ...(options.enterpriseId !== undefined && { enterprise: { id: options.enterpriseId } }),
      });
      return deliverPayload(payload, deliverOptions);
    },
    setAuthTest(identity) {
      authTest = { ...identity };
    },
    rotateBotToken(token: string) {
      if (token === '') throw new Error('rotateBotToken: token must not be empty');
      revokedTokens.add(botToken);
      botToken = token;
    },
    onCall(listener: (call: SlackCall) => void): () => void {
      callListeners.add(listener);
      return () => callListeners.delete(listener);
    },
    waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        let timer: NodeJS.Timeout | undefined;
        const finish = (outcome: () => void) => {
          settled = true;
          clearTimeout(timer);
          changeListeners.delete(evaluate);
          closeListeners.delete(onClose);
          outcome();
        };
        const evaluate = () => {
          try {
            const value = check();
            if (value !== undefined && value !== null && value !== false) finish(() => resolve(value));
          } catch (err) {
            finish(() => reject(err));
          }
        };
        const onClose = () => finish(() => reject(new Error('waitFor: the Slack stand-in was closed')));
        evaluate();
        if (settled) return;
        changeListeners.add(evaluate);
        closeListeners.add(onClose);
        timer = setTimeout(
          () => finish(() => reject(new Error(`waitFor: condition not met within ${timeoutMs} ms`))),
          timeoutMs,
        );
      });
    },
    clear(): void {
      store = [];
      ephemerals.length = 0;
      calls.length = 0;
      responseUrlPosts.length = 0;
      responseUrls.clear();
      rateLimits.clear();
      failures.clear();
      limiter?.reset();
      down = false;
    },
    exportState: () => ({
      messages: JSON.parse(JSON.stringify(store)) as Record<string, unknown>[],
      lastTsMicros,
    }),
    async close(): Promise<void> {
      for (const listener of [...closeListeners]) listener();
      await started.close();
    },
  };
}

function isTopLevel(m: { ts: string; threadTs?: string }): boolean {
  return m.threadTs === undefined || m.threadTs === m.ts;
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** Slack timestamps compare as numbers, `seconds.micros` with six decimals. */
function compareTs(a: string, b: string): number {
  return Number(a) - Number(b);
}

function checkCount(what: string, times: number): void {
  if (!Number.isInteger(times) || times < 0)
    throw new RangeError(`${what}: times must be >= 0, got ${times}`);
}

function optionalString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** `blocks` / `attachments` arrive as JSON text in forms and as arrays (or text) in JSON bodies. */
function parseJsonArray(value: unknown, error: string): unknown[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = parseMaybeJson(value);
  if (!Array.isArray(parsed)) throw new SlackApiError(error);
  return parsed;
}

/** Slack gives blocks without block_id (and buttons without action_id) generated ids, and so does the stand-in. */
function fillGeneratedIds(blocks: unknown[]): unknown[] {
  const copy = structuredClone(blocks) as Array<Record<string, unknown>>;
  for (const block of copy) {
    if (block.block_id === undefined) block.block_id = randomId(5);
    const elements = [
      ...(Array.isArray(block.elements) && block.type === 'actions' ? block.elements : []),
      ...(block.accessory === undefined ? [] : [block.accessory]),
    ] as Array<Record<string, unknown>>;
    for (const element of elements) {
      if (element.type !== 'image' && element.action_id === undefined) element.action_id = randomId(5);
    }
  }
  return copy;
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789=+/';
  let out = '';
  for (const byte of randomBytes(length)) out += alphabet[byte % alphabet.length];
  return out;
}

function bearerToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(.*)$/i.exec(header.trim());
  return match?.[1]?.trim();
}

/**
 * Reads a Web API request as Slack does: form, JSON (token only from the Authorization header) or multipart
 * bodies, with query-string parameters underneath.
 */
async function parseRequest(req: http.IncomingMessage, body: Buffer): Promise<ParsedRequest> {
  const params: Record<string, unknown> = {};
  const query = new URL(req.url ?? '/', 'http://local').searchParams;
  for (const [key, value] of query) params[key] = value;
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length === 0) {
    const bodyToken = typeof params.token === 'string' ? params.token : undefined;
    return { params, transport: 'query', ...(bodyToken === undefined ? {} : { bodyToken }) };
  }
  if (contentType.startsWith('application/x-www-form-urlencoded') || contentType === '') {
    for (const [key, value] of new URLSearchParams(body.toString('utf8'))) params[key] = value;
    const bodyToken = typeof params.token === 'string' ? params.token : undefined;
    return { params, transport: 'form', ...(bodyToken === undefined ? {} : { bodyToken }) };
  }
  if (contentType.startsWith('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return { params, transport: 'json', parseError: 'invalid_json' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { params, transport: 'json', parseError: 'invalid_json' };
    }
    // Slack does not read a token from a JSON body; it must come as a Bearer header.
    Object.assign(params, parsed);
    return { params, transport: 'json' };
  }
  if (contentType.startsWith('multipart/form-data')) {
    try {
      const form = await new Request('http://local/', {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body: new Uint8Array(body),
      }).formData();
      for (const [key, value] of form)
        params[key] = typeof value === 'string' ? value : `[file ${value.name}]`;
    } catch {
      return { params, transport: 'multipart', parseError: 'invalid_form_data' };
    }
    const bodyToken = typeof params.token === 'string' ? params.token : undefined;
    return { params, transport: 'multipart', ...(bodyToken === undefined ? {} : { bodyToken }) };
  }
  return { params, transport: 'form', parseError: 'invalid_post_type' };
}
