import http from 'node:http';
import { App, AwsLambdaReceiver, webApi } from '@slack/bolt';
import {
  type LambdaContext,
  type LambdaUrlEvent,
  type LocalLambdaUrlServer,
  startLambdaUrlServer,
} from '../../local/lambda-url/server';
import { type LocalSlackServer, startSlackServer } from '../../local/slack';
import { silentSlackLogger } from '../support/slack';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A plain HTTP request (no keep-alive), able to send repeated headers the way real clients can. */
function request(
  url: string,
  init: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    for (const [name, value] of Object.entries(init.headers ?? {})) req.setHeader(name, value);
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('local Lambda Function URL front end', () => {
  let server: LocalLambdaUrlServer | undefined;
  const seen: Array<{ event: LambdaUrlEvent; context: LambdaContext }> = [];

  /** Starts a server whose handler records what it got and answers with `reply`. */
  async function serve(
    reply: (event: LambdaUrlEvent) => unknown,
    options?: Parameters<typeof startLambdaUrlServer>[1],
  ) {
    server = await startLambdaUrlServer(async (event: LambdaUrlEvent, context: LambdaContext) => {
      seen.push({ event, context });
      return reply(event);
    }, options);
    return server;
  }

  afterEach(async () => {
    seen.length = 0;
    await server?.close();
    server = undefined;
  });

  it('turns a request into a payload format 2.0 event', async () => {
    // Prepare
    const lambda = await serve(() => ({ statusCode: 200, body: 'ok' }), {
      functionName: 'slack-interactions',
    });
    const before = Date.now();

    // Act
    await request(`${lambda.url}slack/events?a=1&a=2&b=x%20y`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Repeated': ['one', 'two'],
        Cookie: 'session=abc; theme=dark',
        'User-Agent': 'local-test/1.0',
      },
      body: '{"hello":"world"}',
    });

    // Assess
    expect(seen).toHaveLength(1);
    const { event, context } = seen[0] as { event: LambdaUrlEvent; context: LambdaContext };
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/slack/events',
      rawQueryString: 'a=1&a=2&b=x%20y',
      queryStringParameters: { a: '1,2', b: 'x y' },
      cookies: ['session=abc', 'theme=dark'],
      body: '{"hello":"world"}',
      isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({
      'content-type': 'application/json',
      'x-repeated': 'one,two',
      'user-agent': 'local-test/1.0',
      'x-forwarded-proto': 'https',
    });
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.requestContext).toMatchObject({
      accountId: 'anonymous',
      routeKey: '$default',
      stage: '$default',
      http: {
        method: 'POST',
        path: '/slack/events',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'local-test/1.0',
      },
    });
    const ctx = event.requestContext;
    expect(ctx.domainName).toBe(`${ctx.apiId}.lambda-url.us-east-1.on.aws`);
    expect(ctx.domainPrefix).toBe(ctx.apiId);
    expect(ctx.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(ctx.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(ctx.timeEpoch).toBeLessThanOrEqual(Date.now());
    expect(context.awsRequestId).toBe(ctx.requestId);
    expect(context.functionName).toBe('slack-interactions');
    expect(context.invokedFunctionArn).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:slack-interactions',
    );
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(30_000);
  });

  it('leaves out body, query and cookies when the request has none', async () => {
    // Prepare
    const lambda = await serve(() => ({ statusCode: 200 }));

    // Act
    await request(lambda.url);

    // Assess
    const { event } = seen[0] as { event: LambdaUrlEvent };
    expect(event.rawPath).toBe('/');
    expect(event.rawQueryString).toBe('');
    expect(event.isBase64Encoded).toBe(false);
    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('cookies');
  });

  it.each([
    ['form-encoded', 'application/x-www-form-urlencoded', Buffer.from('payload=%7B%22a%22%3A1%7D'), false],
    ['JSON with charset', 'application/json; charset=utf-8', Buffer.from('{"a":"ü"}'), false],
    ['plain text', 'text/plain', Buffer.from('hello'), false],
    ['binary', 'application/octet-stream', Buffer.from([0, 1, 254, 255]), true],
    ['untyped', undefined, Buffer.from('mystery'), true],
  ])('passes a %s body as Lambda does', async (_name, contentType, body, base64) => {
    // Prepare
    const lambda = await serve(() => ({ statusCode: 200 }));

    // Act
    await request(lambda.url, {
      method: 'POST',
      headers: contentType === undefined ? {} : { 'Content-Type': contentType },
      body,
    });

    // Assess
    const { event } = seen[0] as { event: LambdaUrlEvent };
    expect(event.isBase64Encoded).toBe(base64);
    const decoded = base64
      ? Buffer.from(event.body as string, 'base64')
      : Buffer.from(event.body as string, 'utf8');
    expect(decoded).toEqual(body);
  });

  it.each<
    [string, unknown, { status: number; contentType: string; body: string; header?: [string, string] }]
  >([
    [
      'a structured result',
      { statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Custom': 'v' }, body: 'created' },
      { status: 201, contentType: 'text/plain', body: 'created', header: ['x-custom', 'v'] },
    ],
    [
      'a structured result without body or content type',
      { statusCode: 204 },
      { status: 204, contentType: 'application/json', body: '' },
    ],
    [
      'a base64 structured body',
      { statusCode: 200, headers: { 'content-type': 'image/png' }, body: 'AAH+/w==', isBase64Encoded: true },
      { status: 200, contentType: 'image/png', body: Buffer.from([0, 1, 254, 255]).toString('latin1') },
    ],
    [
      'a plain object',
      { message: 'hi' },
      { status: 200, contentType: 'application/json', body: '{"message":"hi"}' },
    ],
    ['a string', 'Hello, world!', { status: 200, contentType: 'application/json', body: '"Hello, world!"' }],
    ['an array', [1, 2], { status: 200, contentType: 'application/json', body: '[1,2]' }],
    ['nothing', undefined, { status: 200, contentType: 'application/json', body: 'null' }],
    [
      'a status code that is not one',
      { statusCode: 'soon' },
      { status: 502, contentType: 'application/json', body: '{"Message":"Internal Server Error"}' },
    ],
  ])('maps %s to the HTTP response', async (_name, result, expected) => {
    // Prepare
    const lambda = await serve(() => result);

    // Act
    const response = await request(lambda.url, {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });

    // Assess
    expect(response.status).toBe(expected.status);
    expect(response.headers['content-type']).toBe(expected.contentType);
    expect(response.body.toString('latin1')).toBe(expected.body);
    if (expected.header !== undefined)
      expect(response.headers[expected.header[0] as string]).toBe(expected.header[1]);
  });

  it('turns returned cookies into Set-Cookie headers', async () => {
    // Prepare
    const lambda = await serve(() => ({ statusCode: 200, cookies: ['a=1; Max-Age=60', 'b=2'], body: '{}' }));

    // Act
    const response = await request(lambda.url);

    // Assess
    expect(response.headers['set-cookie']).toEqual(['a=1; Max-Age=60', 'b=2']);
  });

  it.each([
    ['throws an Error', () => Promise.reject(new Error('boom'))],
    ['rejects with a non-Error', () => Promise.reject('nope')],
  ])('answers 502 when the handler %s', async (_name, failing) => {
    // Prepare
    server = await startLambdaUrlServer(failing);

    // Act
    const response = await request(server.url, { method: 'POST', body: '{}' });

    // Assess
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body.toString('utf8'))).toEqual({ Message: 'Internal Server Error' });
    expect(server.invocations).toBe(1);
  });

  it('answers 502 when the handler outlives the function timeout', async () => {
    // Prepare
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    server = await startLambdaUrlServer(() => held.then(() => ({ statusCode: 200 })), {
      timeoutSeconds: 0.05,
    });

    // Act
    const response = await request(server.url);
    release();

    // Assess
    expect(response.status).toBe(502);
  });

  it('counts invocations', async () => {
    // Prepare
    const lambda = await serve(() => ({ statusCode: 200 }));

    // Act
    await request(lambda.url);
    await request(lambda.url, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });

    // Assess
    expect(lambda.invocations).toBe(2);
    expect(lambda.events.map((e) => e.requestContext.http.method)).toEqual(['GET', 'POST']);
  });
});

describe("Bolt's AwsLambdaReceiver behind the local Function URL", () => {
  const TOKEN = 'xoxb-local-bolt';
  const SIGNING_SECRET = 'bolt-signing-secret';
  const CHANNEL = 'C0POLICYGATE';
  const ALICE = { id: 'U0ALICE', name: 'alice' };
  let slack: LocalSlackServer;
  let lambda: LocalLambdaUrlServer;
  let web: webApi.WebClient;
  const clicks: Array<{ user: string; value: string | undefined }> = [];

  beforeAll(async () => {
    slack = await startSlackServer({ botToken: TOKEN, users: [ALICE] });
    const receiver = new AwsLambdaReceiver({ signingSecret: SIGNING_SECRET, logger: silentSlackLogger });
    const app = new App({
      token: TOKEN,
      receiver,
      logger: silentSlackLogger,
      clientOptions: { slackApiUrl: slack.url, retryConfig: { retries: 0 } },
    });
    app.action('x', async ({ ack, body, action, client }) => {
      await ack();
      clicks.push({ user: body.user.id, value: 'value' in action ? (action.value as string) : undefined });
      const { channel, message } = body as unknown as { channel: { id: string }; message: { ts: string } };
      await client.chat.update({
        channel: channel.id,
        ts: message.ts,
        text: `Approved by <@${body.user.id}>`,
      });
    });
    lambda = await startLambdaUrlServer(await receiver.start());
    web = new webApi.WebClient(TOKEN, { slackApiUrl: slack.url, logger: silentSlackLogger });
    // Bolt checks its token with auth.test as soon as the App is built.
    await slack.waitFor(() => slack.calls.find((c) => c.method === 'auth.test' && c.ok), 5000);
  });

  afterAll(async () => {
    await lambda.close();
    await slack.close();
  });

  beforeEach(() => {
    clicks.length = 0;
  });

  async function postApproval(): Promise<string> {
    const posted = await web.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve?',
      blocks: [
        {
          type: 'actions',
          block_id: 'decision',
          elements: [
            {
              type: 'button',
              action_id: 'x',
              text: { type: 'plain_text', text: 'Approve' },
              value: 'approve:1',
            },
          ],
        },
      ],
    });
    return posted.ts as string;
  }

  it('accepts a correctly signed click: 200, the listener runs and its update reaches Slack', async () => {
    // Prepare
    const ts = await postApproval();
    const before = lambda.invocations;

    // Act
    const result = await slack.deliverBlockAction({
      url: lambda.url,
      signingSecret: SIGNING_SECRET,
      user: { id: ALICE.id },
      action: { actionId: 'x' },
      message: { channel: CHANNEL, ts },
    });

    // Assess
    expect(result.status).toBe(200);
    expect(lambda.invocations).toBe(before + 1);
    expect(clicks).toEqual([{ user: ALICE.id, value: 'approve:1' }]);
    expect(slack.message(CHANNEL, ts)).toMatchObject({ text: `Approved by <@${ALICE.id}>`, edits: 1 });
  });

  it.each([
    ['a tampered signature', { tamper: 'signature' as const }],
    ['a body changed after signing', { tamper: 'body' as const }],
    ['a timestamp six minutes old', { timestampOffsetSeconds: -360 }],
  ])('rejects %s with 401 before any listener runs', async (_name, spoil) => {
    // Prepare
    const ts = await postApproval();

    // Act
    const result = await slack.deliverBlockAction({
      url: lambda.url,
      signingSecret: SIGNING_SECRET,
      user: { id: ALICE.id },
      action: { actionId: 'x' },
      message: { channel: CHANNEL, ts },
      ...spoil,
    });

    // Assess
    expect(result.status).toBe(401);
    expect(clicks).toEqual([]);
    expect(slack.message(CHANNEL, ts)).toMatchObject({ text: 'Approve?', edits: 0 });
  });
});
