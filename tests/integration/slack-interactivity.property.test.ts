/**
 * A property of the interactivity endpoint's parsing of attacker input: whatever arrives (any method,
 * content type, encoding, body, timestamp, signed or not, payloads built from a genuine click with any
 * part replaced by any JSON), the real handler never answers 5xx, never logs an error and never decides.
 */
import { createHmac } from 'node:crypto';
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import fc from 'fast-check';
import { type Sandbox, SLACK_SIGNING_SECRET, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { handler } from '../../src/handlers/slack-interactivity';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { captureLogs, pendingApproval } from '../support/slack';

let sandbox: Sandbox;
let approvalId: string;
let genuine: Record<string, unknown>;

beforeAll(async () => {
  sandbox = await startSandbox();
  await sandbox.developer.send(
    new CreatePolicyCommand({
      PolicyName: 'cleanup',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      }),
    }),
  );
  approvalId = await pendingApproval(sandbox);
  // Mallory is no approver: a payload that survives every mutation intact is still refused a decision.
  genuine = (await sandbox.click(SLACK_USERS.mallory.id, APPROVE_ACTION_ID, approvalId)).payload as never;
}, 60_000);

afterAll(async () => {
  await sandbox?.close();
});

/** A genuine payload with one part (top level, or inside user/team/container/actions[0]) replaced. */
const mutatedPayload = fc
  .tuple(
    fc.constantFrom('', 'user', 'team', 'container', 'channel', 'message', 'enterprise', 'actions.0'),
    fc.string({ maxLength: 20 }),
    fc.jsonValue({ maxDepth: 3 }),
  )
  .map(([where, key, value]) => {
    const payload = structuredClone(genuine) as Record<string, unknown>;
    const keys = ['type', 'id', 'api_app_id', 'channel_id', 'message_ts', 'value', 'action_id', 'ts', key];
    const pick = keys[Math.abs(key.length) % keys.length] as string;
    const target =
      where === ''
        ? payload
        : where === 'actions.0'
          ? ((payload.actions as unknown[])[0] as Record<string, unknown>)
          : (payload[where] as Record<string, unknown> | null);
    if (target && typeof target === 'object') target[pick] = value;
    else payload[where] = value;
    return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  });

const body = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.jsonValue({ maxDepth: 4 }).map((value) => `payload=${encodeURIComponent(JSON.stringify(value))}`),
  fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 100 }).map((text) => `payload=${text}`),
  mutatedPayload,
  mutatedPayload,
  mutatedPayload,
);

const request = fc.record({
  // Weighted towards what gets past the envelope, so that most runs reach the payload checks.
  method: fc.oneof(
    { arbitrary: fc.constant('POST'), weight: 8 },
    { arbitrary: fc.constantFrom('GET', 'PUT', 'OPTIONS', 'post'), weight: 1 },
  ),
  contentType: fc.oneof(
    { arbitrary: fc.constant('application/x-www-form-urlencoded'), weight: 8 },
    {
      arbitrary: fc.constantFrom(
        'application/x-www-form-urlencoded; charset=utf-8',
        'application/json',
        'text/plain',
        undefined,
      ),
      weight: 1,
    },
    { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
  ),
  body,
  base64: fc.boolean(),
  signed: fc.oneof({ arbitrary: fc.constant(true), weight: 8 }, { arbitrary: fc.constant(false), weight: 1 }),
  offset: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, fc.integer({ min: -900, max: 900 })),
});

test('arbitrary requests never get a 5xx, never log an error and never decide', async () => {
  const logs = captureLogs();
  try {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const timestamp = Math.floor(Date.now() / 1000) + r.offset;
        const bytes = Buffer.from(r.body, 'utf8');
        const signature = `v0=${createHmac('sha256', SLACK_SIGNING_SECRET).update(`v0:${timestamp}:`).update(bytes).digest('hex')}`;
        const event = {
          version: '2.0',
          routeKey: '$default',
          rawPath: '/',
          rawQueryString: '',
          headers: {
            ...(r.contentType !== undefined && { 'content-type': r.contentType }),
            ...(r.signed && {
              'x-slack-request-timestamp': String(timestamp),
              'x-slack-signature': signature,
            }),
          },
          requestContext: { http: { method: r.method, path: '/' } },
          body: r.base64 ? bytes.toString('base64') : r.body,
          isBase64Encoded: r.base64,
        };
        const answer = (await handler(event as never, {})) as { statusCode: number };
        expect([200, 400, 401, 403, 405]).toContain(answer.statusCode);
      }),
      { numRuns: 300 },
    );
  } finally {
    logs.restore();
  }
  // Assess
  expect(logs.entries().filter((entry) => entry.level === 'error')).toEqual([]);
  expect(await sandbox.store.get(approvalId)).toMatchObject({ status: 'PENDING' });
  expect(sandbox.sfn.callbacks.filter((c) => c.operation === 'SendTaskSuccess')).toEqual([]);
}, 120_000);
