import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { buildBlockActionsPayload } from '../../local/slack';
import type { AwsEvent } from '../../src/slack/aws-types';
import {
  type ActionKind,
  clickOrigin,
  MAX_BODY_BYTES,
  readClick,
  readEnvelope,
  readPayload,
  verifySignature,
} from '../../src/slack/interactivity-request';

const SECRET = '0123456789abcdef0123456789abcdef';
const NOW = 1_800_000_000;
const WORKSPACE = { teamId: 'T0POLICYGATE', appId: 'A0POLICYGATE' };
const ACTIONS: Record<string, ActionKind> = {
  policy_gate_approve: 'decision',
  policy_gate_open_console: 'link',
};

function event(
  body: string,
  {
    method = 'POST',
    timestamp = NOW,
    secret = SECRET,
    base64 = false,
    headers = {},
  }: {
    method?: string;
    timestamp?: number;
    secret?: string;
    base64?: boolean;
    headers?: Record<string, string>;
  } = {},
): AwsEvent {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
      ...headers,
    },
    requestContext: { http: { method } },
    body: base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    isBase64Encoded: base64,
  } as unknown as AwsEvent;
}

const genuine = () =>
  buildBlockActionsPayload({
    user: { id: 'U0ANA' },
    action: { actionId: 'policy_gate_approve', blockId: 'policy_gate_decision', value: 'abc-123' },
    message: { channel: 'C0POLICYGATE', ts: '1800000000.000100' },
    responseUrl: 'https://hooks.slack.com/actions/x',
  });

describe('readEnvelope', () => {
  test('a genuine request, as text or base64 (as Function URLs may pass it), verifies', () => {
    // Prepare
    const body = `payload=${encodeURIComponent(JSON.stringify(genuine()))}`;
    // Act
    const plain = readEnvelope(event(body), NOW);
    const encoded = readEnvelope(event(body, { base64: true }), NOW);
    // Assess
    expect(plain.ok && verifySignature(plain, SECRET)).toBe(true);
    expect(encoded.ok && verifySignature(encoded, SECRET)).toBe(true);
    expect(plain.ok && verifySignature(plain, `${SECRET}x`)).toBe(false);
  });

  test.each([
    ['300 s old', -300, true],
    ['301 s old', -301, false],
    ['300 s ahead', 300, true],
    ['301 s ahead', 301, false],
  ])('a timestamp %s is accepted: %s', (_label, offset, accepted) => {
    // Act
    const envelope = readEnvelope(event('payload=%7B%7D', { timestamp: NOW + offset }), NOW);
    // Assess
    expect(envelope.ok).toBe(accepted);
    if (!envelope.ok) expect(envelope.status).toBe(401);
  });

  test('the method is read from Function URL and API Gateway v1 events alike', () => {
    // Act
    const v1 = readEnvelope(
      { ...event('payload=%7B%7D'), requestContext: {}, httpMethod: 'GET' } as never,
      NOW,
    );
    const v2 = readEnvelope(event('payload=%7B%7D', { method: 'HEAD' }), NOW);
    // Assess
    expect(v1).toMatchObject({ ok: false, status: 405 });
    expect(v2).toMatchObject({ ok: false, status: 405 });
  });

  test('a charset parameter on the form content type is fine; another type is not', () => {
    // Act
    const charset = readEnvelope(
      event('payload=%7B%7D', {
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      }),
      NOW,
    );
    const json = readEnvelope(event('{}', { headers: { 'content-type': 'application/json' } }), NOW);
    // Assess
    expect(charset.ok).toBe(true);
    expect(json).toMatchObject({ ok: false, status: 400 });
  });

  test('an oversized body is refused before anything is decoded or signed', () => {
    // Act
    const big = readEnvelope(event(`payload=${'x'.repeat(MAX_BODY_BYTES)}`), NOW);
    const bigBase64 = readEnvelope(event(`payload=${'x'.repeat(MAX_BODY_BYTES)}`, { base64: true }), NOW);
    // Assess
    expect(big).toMatchObject({ ok: false, status: 400, reason: 'body too large' });
    expect(bigBase64).toMatchObject({ ok: false, status: 400, reason: 'body too large' });
  });
});

describe('readClick', () => {
  const read = (payload: unknown, workspace = WORKSPACE) => readClick(payload as never, workspace, ACTIONS);

  test('a genuine click yields its validated ids', () => {
    // Act
    const click = read(genuine());
    // Assess
    expect(click).toMatchObject({
      ok: true,
      userId: 'U0ANA',
      teamId: 'T0POLICYGATE',
      channel: 'C0POLICYGATE',
      ts: '1800000000.000100',
      actionId: 'policy_gate_approve',
      approvalId: 'abc-123',
    });
  });

  test('with an enterprise configured, team.enterprise_id must agree with it too', () => {
    // Prepare
    const payload = {
      ...genuine(),
      team: { id: 'T0POLICYGATE', domain: 'x', enterprise_id: 'E0OTHER' },
      enterprise: { id: 'E0GRID', name: 'Grid' },
    };
    // Act
    const click = read(payload, { ...WORKSPACE, enterpriseId: 'E0GRID' } as never);
    // Assess
    expect(click).toMatchObject({ ok: false, status: 403, reason: 'click from another enterprise' });
  });

  test('a link button needs no approval id; a decision button does', () => {
    // Prepare
    const link = genuine();
    const first = link.actions[0] as (typeof link.actions)[number];
    first.action_id = 'policy_gate_open_console';
    delete first.value;
    const decision = genuine();
    delete (decision.actions[0] as { value?: string }).value;
    // Act / Assess
    expect(read(JSON.parse(JSON.stringify(link)))).toMatchObject({
      ok: true,
      actionId: 'policy_gate_open_console',
    });
    expect(read(decision)).toMatchObject({
      ok: false,
      status: 400,
      reason: 'button without a valid approval id',
    });
  });

  test('an action id named like an Object.prototype member is unknown, not a kind', () => {
    // Prepare
    const payload = genuine();
    (payload.actions[0] as { action_id: string }).action_id = 'constructor';
    // Act / Assess
    expect(read(payload)).toMatchObject({ ok: false, reason: 'unknown action' });
  });

  test('the listener’s own check takes only Slack-formatted user, channel and ts', () => {
    // Act / Assess
    expect(clickOrigin(genuine())).toEqual({
      userId: 'U0ANA',
      channel: 'C0POLICYGATE',
      ts: '1800000000.000100',
    });
    expect(clickOrigin({ ...genuine(), user: { id: '<!channel>' } })).toBeUndefined();
    expect(clickOrigin({ ...genuine(), container: { channel_id: 'C0X', message_ts: '1' } })).toBeUndefined();
    expect(clickOrigin(null)).toBeUndefined();
  });
});

describe('parsing attacker input never throws', () => {
  test('any bytes through readEnvelope, readPayload and readClick end in a value, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
          fc.jsonValue().map((value) => Buffer.from(`payload=${encodeURIComponent(JSON.stringify(value))}`)),
          fc.string().map((text) => Buffer.from(`payload=${text}`)),
        ),
        (raw) => {
          const parsed = readPayload(raw);
          const click = parsed.ok ? readClick(parsed.payload, WORKSPACE, ACTIONS) : parsed;
          expect(typeof click.ok).toBe('boolean');
          if (!click.ok) expect([400, 401, 403, 405]).toContain(click.status);
          const envelope = readEnvelope(event(raw.toString('latin1')), NOW);
          expect(typeof envelope.ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });

  test('any JSON replacing any field of a genuine payload is refused or read with Slack-formatted ids', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'user',
          'team',
          'container',
          'channel',
          'message',
          'enterprise',
          'api_app_id',
          'actions',
          'type',
        ),
        fc.jsonValue({ maxDepth: 3 }),
        (key, value) => {
          const payload = { ...genuine(), [key]: value };
          const click = readClick(JSON.parse(JSON.stringify(payload)), WORKSPACE, ACTIONS);
          if (click.ok) {
            expect(click.userId).toMatch(/^[UW][A-Z0-9]{2,31}$/);
            expect(click.channel).toMatch(/^[CGD][A-Z0-9]{2,31}$/);
            expect(click.ts).toMatch(/^\d{10}\.\d{6}$/);
            expect(click.teamId).toBe(WORKSPACE.teamId);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
