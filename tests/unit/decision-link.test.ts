import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import type { SealKey } from '../../src/adapters/kms-seal-key';
import type { ApprovalRecord } from '../../src/domain/approval';
import {
  type DecisionLink,
  formBody,
  fromBase64Url,
  linkQuery,
  parseFormBody,
  parseLinkQuery,
  toBase64Url,
} from '../../src/domain/decision-link';
import { DecisionLinks, type FormNonceStore } from '../../src/services/decision-links';

/** A real HMAC-SHA256 key in memory, as KMS's GenerateMac/VerifyMac behave (base64 in and out). */
class MemoryKey implements SealKey {
  private readonly secret = randomBytes(32);
  async generate(message: Uint8Array): Promise<string> {
    return createHmac('sha256', this.secret).update(message).digest('base64');
  }
  async verify(message: Uint8Array, mac: string): Promise<boolean> {
    const expected = createHmac('sha256', this.secret).update(message).digest();
    const given = Buffer.from(mac, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

class MemoryNonces implements FormNonceStore {
  readonly used = new Set<string>();
  async consumeFormNonce(nonce: string): Promise<boolean> {
    if (this.used.has(nonce)) return false;
    this.used.add(nonce);
    return true;
  }
}

const PAGE = 'https://abc123.lambda-url.us-east-1.on.aws/';
const NOW = new Date('2026-12-01T12:00:00Z');
const DEADLINE = '2026-12-02T12:00:00.500Z';
const RECORD = { approvalId: '11111111-2222-4333-8444-555555555555', deadline: DEADLINE } as ApprovalRecord;

function service(now = () => NOW, keys = { link: new MemoryKey(), form: new MemoryKey() }) {
  const nonces = new MemoryNonces();
  const links = new DecisionLinks({ linkKey: keys.link, formKey: keys.form, pageUrl: PAGE, nonces, now });
  return { links, nonces, keys };
}

const queryOf = (url: string | undefined) => (url ?? '').slice(PAGE.length + 1);

function replaceParam(query: string, name: string, value: string): string {
  return query
    .split('&')
    .map((pair) => (pair.startsWith(`${name}=`) ? `${name}=${value}` : pair))
    .join('&');
}

describe('decision links', () => {
  test('a signed link verifies, carries the id, decision and an expiry no later than the deadline', async () => {
    // Prepare
    const { links } = service();
    // Act
    const signed = await links.linksFor(RECORD, ['APPROVED', 'DENIED']);
    const approve = await links.checkLink(queryOf(signed.APPROVED));
    const deny = await links.checkLink(queryOf(signed.DENIED));
    // Assess
    expect(signed.APPROVED?.startsWith(`${PAGE}?`)).toBe(true);
    expect(approve).toMatchObject({
      ok: true,
      link: { approvalId: RECORD.approvalId, decision: 'APPROVED' },
    });
    expect(deny).toMatchObject({ ok: true, link: { decision: 'DENIED' } });
    if (!approve.ok) throw new Error('unreachable');
    expect(approve.link.expiresAt * 1000).toBeLessThanOrEqual(new Date(DEADLINE).getTime());
  });

  test.each([
    ['id', (q: string) => replaceParam(q, 'a', '11111111-2222-4333-8444-555555555556')],
    ['decision', (q: string) => replaceParam(q, 'd', 'deny')],
    ['expiry', (q: string) => replaceParam(q, 'e', String(Number(/e=(\d+)/.exec(q)?.[1]) + 3600))],
    [
      'signature',
      (q: string) => {
        const sig = /s=([^&]+)/.exec(q)?.[1] ?? '';
        return replaceParam(q, 's', `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`);
      },
    ],
  ])('a tampered %s is refused as tampered', async (_what, tamper) => {
    // Prepare
    const { links } = service();
    const query = queryOf((await links.linksFor(RECORD, ['APPROVED'])).APPROVED);
    // Act
    const checked = await links.checkLink(tamper(query));
    // Assess
    expect(checked).toMatchObject({ ok: false, refusal: 'tampered' });
  });

  test('a link signed with another key is tampered; an expired one is expired, not decided', async () => {
    // Prepare
    const other = service();
    const { links } = service();
    const foreign = queryOf((await other.links.linksFor(RECORD, ['APPROVED'])).APPROVED);
    const past = service(() => new Date(new Date(DEADLINE).getTime() + 1000), {
      link: (links as unknown as { options: { linkKey: MemoryKey } }).options.linkKey,
      form: new MemoryKey(),
    });
    const own = queryOf((await links.linksFor(RECORD, ['APPROVED'])).APPROVED);
    // Act
    const fromOther = await links.checkLink(foreign);
    const late = await past.links.checkLink(own);
    // Assess
    expect(fromOther).toMatchObject({ ok: false, refusal: 'tampered' });
    expect(late).toMatchObject({ ok: false, refusal: 'expired' });
  });

  test('a form token redeems once; a second post of the same form is refused as reused', async () => {
    // Prepare
    const { links } = service();
    const query = queryOf((await links.linksFor(RECORD, ['APPROVED'])).APPROVED);
    const checked = await links.checkLink(query);
    if (!checked.ok) throw new Error('link refused');
    const token = await links.issueForm(checked.link);
    const body = formBody(checked.link, token);
    // Act
    const first = await links.redeemForm(body);
    const second = await links.redeemForm(body);
    // Assess
    expect(first).toMatchObject({ ok: true, link: { decision: 'APPROVED' } });
    expect(second).toMatchObject({ ok: false, refusal: 'reused-form' });
  });

  test('a form token is bound to its link, its nonce and its time; an old form is stale', async () => {
    // Prepare
    let now = NOW;
    const { links } = service(() => now);
    const signed = await links.linksFor(RECORD, ['APPROVED', 'DENIED']);
    const approve = await links.checkLink(queryOf(signed.APPROVED));
    const deny = await links.checkLink(queryOf(signed.DENIED));
    if (!approve.ok || !deny.ok) throw new Error('link refused');
    const token = await links.issueForm(deny.link);
    // Act: the Deny page's token on the Approve link, a changed nonce, a changed time, and late.
    const swapped = await links.redeemForm(formBody(approve.link, token));
    const nonce = await links.redeemForm(formBody(deny.link, { ...token, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' }));
    const time = await links.redeemForm(formBody(deny.link, { ...token, issuedAt: token.issuedAt + 1 }));
    now = new Date(NOW.getTime() + 16 * 60_000);
    const stale = await links.redeemForm(formBody(deny.link, token));
    // Assess
    expect([swapped, nonce, time]).toEqual([
      expect.objectContaining({ refusal: 'tampered' }),
      expect.objectContaining({ refusal: 'tampered' }),
      expect.objectContaining({ refusal: 'tampered' }),
    ]);
    expect(stale).toMatchObject({ ok: false, refusal: 'stale-form' });
  });

  test('without its keys the service refuses to sign or verify (never a link that decides unsigned)', async () => {
    // Prepare
    const links = new DecisionLinks({ pageUrl: PAGE });
    // Act / Assess
    expect(links.canSign).toBe(false);
    await expect(links.linksFor(RECORD, ['APPROVED'])).rejects.toThrow(/not configured/);
    await expect(links.checkLink(`a=x&d=approve&e=1900000000&s=${'A'.repeat(43)}`)).rejects.toThrow(
      /not configured/,
    );
  });
});

const link = fc.record({
  approvalId: fc.stringMatching(/^[A-Za-z0-9-]{1,128}$/),
  decision: fc.constantFrom('APPROVED' as const, 'DENIED' as const),
  expiresAt: fc.integer({ min: 1, max: 9_999_999_999 }),
  signature: fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((b) => toBase64Url(Buffer.from(b).toString('base64'))),
}) satisfies fc.Arbitrary<DecisionLink>;

describe('link and form parsing (attacker input)', () => {
  test('a link of ours parses back to exactly itself', () => {
    fc.assert(
      fc.property(link, (l) => {
        expect(parseLinkQuery(linkQuery(l))).toEqual({ ok: true, value: l });
      }),
    );
  });

  test('any string parses without throwing, and only to a well-formed link', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), link.map(linkQuery)), (input) => {
        const parsed = parseLinkQuery(input);
        if (parsed.ok) {
          expect(parseLinkQuery(linkQuery(parsed.value))).toEqual(parsed);
          expect(parsed.value.approvalId).toMatch(/^[A-Za-z0-9-]{1,128}$/);
        }
      }),
    );
  });

  test('a repeated, missing or unexpected parameter, or a mangled value, is refused', () => {
    fc.assert(
      fc.property(link, fc.constantFrom('a', 'd', 'e', 's'), fc.string({ maxLength: 5 }), (l, key, junk) => {
        const query = linkQuery(l);
        expect(parseLinkQuery(`${query}&${key}=${junk}`).ok).toBe(false);
        expect(
          parseLinkQuery(
            query
              .split('&')
              .filter((p) => !p.startsWith(`${key}=`))
              .join('&'),
          ).ok,
        ).toBe(false);
        expect(parseLinkQuery(`${query}&z=${junk}`).ok).toBe(false);
        expect(parseLinkQuery(replaceParam(query, key, `${junk}%`)).ok).toBe(false);
      }),
    );
  });

  test('form bodies: ours round-trip; anything else parses or is refused, never throws', () => {
    const token = fc.record({
      nonce: fc
        .uint8Array({ minLength: 16, maxLength: 16 })
        .map((b) => toBase64Url(Buffer.from(b).toString('base64'))),
      issuedAt: fc.integer({ min: 1, max: 9_999_999_999 }),
      mac: fc
        .uint8Array({ minLength: 32, maxLength: 32 })
        .map((b) => toBase64Url(Buffer.from(b).toString('base64'))),
    });
    fc.assert(
      fc.property(link, token, fc.string(), (l, t, junk) => {
        expect(parseFormBody(formBody(l, t))).toEqual({ ok: true, value: { link: l, token: t } });
        expect(() => parseFormBody(junk)).not.toThrow();
        // Whatever follows our own body is a repeated, unexpected or valueless parameter.
        expect(parseFormBody(`${formBody(l, t)}&${junk}`).ok).toBe(false);
      }),
    );
  });

  test('a signature in a non-canonical spelling (same bytes, other padding bits) is refused', () => {
    fc.assert(
      fc.property(link, (l) => {
        const last = l.signature.at(-1) ?? 'A';
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const sibling = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
        const query = linkQuery({ ...l, signature: `${l.signature.slice(0, -1)}${sibling}` });
        expect(parseLinkQuery(query).ok).toBe(false);
      }),
    );
  });

  test('base64url conversion round-trips every MAC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const base64 = Buffer.from(bytes).toString('base64');
        expect(fromBase64Url(toBase64Url(base64))).toBe(base64);
      }),
    );
  });
});
