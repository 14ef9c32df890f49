import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { SlackApiError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import {
  outcomeUnknown,
  RATE_LIMITED,
  rateLimitWaitMs,
  slackCall,
  slackClientOptions,
} from '../../src/slack/client';

/**
 * A workflow call the SDK itself retries through 429s and that is still refused on its last attempt: what
 * it throws must say "rate limited" (Slack did nothing), not "request failed" (Slack may have acted).
 */

let server: Server;
let url: string;
let answer: (res: import('node:http').ServerResponse) => void;
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests = 0;
});

/** The workflow profile's client, with the SDK's retries kept but made quick. */
function workflowClient(): WebClient {
  return new WebClient('xoxb-test', {
    ...slackClientOptions('workflow', createLogger('test'), url),
    retryConfig: { retries: 2, factor: 1, minTimeout: 5, maxTimeout: 5 },
  });
}

test('a call still rate-limited after the SDK retries is a rate limit with its Retry-After', async () => {
  // Prepare
  answer = (res) => {
    res.writeHead(429, { 'Retry-After': '0', 'Content-Type': 'application/json' });
    res.end('{"ok":false,"error":"ratelimited"}');
  };
  // Act
  const error = await slackCall('chat.update', () =>
    workflowClient().chat.update({ channel: 'C1', ts: '1.2', text: 'x' }),
  ).catch((e: unknown) => e);
  // Assess
  expect(requests).toBe(3);
  expect(error).toBeInstanceOf(SlackApiError);
  expect((error as SlackApiError).code).toBe(RATE_LIMITED);
  expect((error as SlackApiError).retryAfterSeconds).toBe(0);
  expect(outcomeUnknown(error)).toBe(false);
  expect(rateLimitWaitMs(error, 250)).toBe(250);
});

test('a call whose answers were lost stays an unknown outcome', async () => {
  // Prepare: the connection is dropped before any answer.
  answer = (res) => res.socket?.destroy();
  // Act
  const error = await slackCall('chat.update', () =>
    workflowClient().chat.update({ channel: 'C1', ts: '1.2', text: 'x' }),
  ).catch((e: unknown) => e);
  // Assess
  expect(requests).toBe(3);
  expect((error as SlackApiError).code).toBe('request_failed');
  expect(outcomeUnknown(error)).toBe(true);
});
