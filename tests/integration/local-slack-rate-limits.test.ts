import { webApi } from '@slack/bolt';
import { type LocalSlackServer, METHOD_RATE_PER_MINUTE, startSlackServer } from '../../local/slack';
import { silentSlackLogger } from '../support/slack';

const { WebClient, WebAPIRateLimitedError, WebAPIRequestError } = webApi;
type WebClient = webApi.WebClient;

const TOKEN = 'xoxb-local-rate-test';
const CHANNEL = 'C0POLICYGATE';
const OTHER = 'C0OTHER';

/** A client that reports a 429 instead of sleeping on it, so the test sees Slack's answer. */
function rejectingClient(server: LocalSlackServer, timeout = 0): WebClient {
  return new WebClient(TOKEN, {
    slackApiUrl: server.url,
    logger: silentSlackLogger,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    ...(timeout > 0 && { timeout }),
  });
}

async function outcome(call: Promise<unknown>): Promise<'ok' | { retryAfter: number } | string> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    if (err instanceof WebAPIRateLimitedError) return { retryAfter: err.retryAfter };
    if (err instanceof WebAPIRequestError) return 'request_error';
    throw err;
  }
}

describe('local Slack stand-in: Slack rate limits', () => {
  let server: LocalSlackServer;
  let slack: WebClient;

  beforeEach(async () => {
    server = await startSlackServer({ botToken: TOKEN, channels: [CHANNEL, OTHER], users: [] });
    slack = rejectingClient(server);
  });

  afterEach(async () => {
    await server.close();
  });

  it('paces chat.postMessage per channel: a short burst passes, then 429 with Retry-After and ratelimited', async () => {
    // Act
    const results = [];
    for (let i = 0; i < 6; i += 1) {
      results.push(await outcome(slack.chat.postMessage({ channel: CHANNEL, text: `m${i}` })));
    }
    const elsewhere = await outcome(slack.chat.postMessage({ channel: OTHER, text: 'other channel' }));

    // Assess
    const passed = results.filter((r) => r === 'ok').length;
    expect(passed).toBeGreaterThanOrEqual(1);
    expect(passed).toBeLessThan(6);
    expect(results.slice(passed).every((r) => typeof r === 'object' && r.retryAfter >= 1)).toBe(true);
    expect(server.messages(CHANNEL)).toHaveLength(passed);
    expect(elsewhere).toBe('ok');
    const refused = server.calls.filter((c) => c.status === 429);
    expect(refused).toHaveLength(6 - passed);
    expect(refused.every((c) => c.error === 'ratelimited' && !c.ok)).toBe(true);
  });

  it('lets the channel post again after the Retry-After it gave', async () => {
    // Prepare
    let retryAfter = 0;
    for (let i = 0; i < 10 && retryAfter === 0; i += 1) {
      const result = await outcome(slack.chat.postMessage({ channel: CHANNEL, text: `m${i}` }));
      if (typeof result === 'object') retryAfter = result.retryAfter;
    }
    expect(retryAfter).toBeGreaterThanOrEqual(1);

    // Act
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    const after = await outcome(slack.chat.postMessage({ channel: CHANNEL, text: 'after the wait' }));

    // Assess
    expect(after).toBe('ok');
  });

  it('limits each method to its tier per minute, whatever the channel', async () => {
    // Prepare
    const { ts } = await slack.chat.postMessage({ channel: CHANNEL, text: 'to update' });
    const tier = METHOD_RATE_PER_MINUTE['chat.update'] ?? 0;
    expect(tier).toBe(50);

    // Act
    const results = [];
    for (let i = 0; i < tier + 1; i += 1) {
      results.push(
        await outcome(slack.chat.update({ channel: CHANNEL, ts: ts as string, text: `edit ${i}` })),
      );
    }

    // Assess
    expect(results.slice(0, tier).every((r) => r === 'ok')).toBe(true);
    expect(results[tier]).toEqual({ retryAfter: expect.any(Number) });
  });

  it('scales the limits for tests that post many messages, and turns them off', async () => {
    // Prepare
    server.setRateLimits({ scale: 1000 });

    // Act
    const scaled = [];
    for (let i = 0; i < 20; i += 1) {
      scaled.push(await outcome(slack.chat.postMessage({ channel: CHANNEL, text: `s${i}` })));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    server.setRateLimits(false);
    const unlimited = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        outcome(slack.chat.postMessage({ channel: OTHER, text: `u${i}` })),
      ),
    );

    // Assess
    expect(scaled.every((r) => r === 'ok')).toBe(true);
    expect(unlimited.every((r) => r === 'ok')).toBe(true);
  });

  it('stores a post whose answer never comes (afterStore: hang): the client times out after Slack posted', async () => {
    // Prepare
    server.failNext('chat.postMessage', 1, { afterStore: 'hang' });
    const impatient = rejectingClient(server, 300);

    // Act
    const result = await outcome(
      impatient.chat.postMessage({ channel: CHANNEL, text: 'posted, answer lost' }),
    );

    // Assess
    expect(result).toBe('request_error');
    expect(server.messages(CHANNEL).map((m) => m.text)).toEqual(['posted, answer lost']);
  });

  it('finds a posted message with its metadata through conversations.history, newest first, paged', async () => {
    // Prepare
    server.setRateLimits(false);
    const first = await slack.chat.postMessage({
      channel: CHANNEL,
      text: 'with metadata',
      metadata: { event_type: 'policy_gate_request', event_payload: { approval_id: 'a-1' } },
    });
    await slack.chat.postMessage({ channel: CHANNEL, text: 'second' });
    await slack.chat.postMessage({ channel: CHANNEL, text: 'third' });

    // Act
    const bare = await slack.conversations.history({ channel: CHANNEL, limit: 2 });
    const rest = await slack.conversations.history({
      channel: CHANNEL,
      limit: 2,
      cursor: bare.response_metadata?.next_cursor as string,
      include_all_metadata: true,
    });
    const since = await slack.conversations.history({ channel: CHANNEL, oldest: first.ts as string });

    // Assess
    expect(bare.messages?.map((m) => m.text)).toEqual(['third', 'second']);
    expect(bare.has_more).toBe(true);
    expect(bare.messages?.some((m) => m.metadata !== undefined)).toBe(false);
    expect(rest.messages?.map((m) => m.text)).toEqual(['with metadata']);
    expect(rest.messages?.[0]?.metadata).toEqual({
      event_type: 'policy_gate_request',
      event_payload: { approval_id: 'a-1' },
    });
    expect(since.messages?.map((m) => m.text)).toEqual(['third', 'second']);
  });
});
