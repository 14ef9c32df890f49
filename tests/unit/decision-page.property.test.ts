import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import type { SealKey } from '../../src/adapters/kms-seal-key';
import type { ApprovalRecord } from '../../src/domain/approval';
import { NO_ATTRIBUTION_SETTINGS } from '../../src/domain/attribution';
import { handleDecisionPage, type PageRequest } from '../../src/email/decision-page';
import { escapeHtml } from '../../src/email/page-html';
import { createLogger } from '../../src/logger';
import { DecisionLinks } from '../../src/services/decision-links';
import type { DecisionService } from '../../src/services/decision-service';
import fixture from '../fixtures/approvals/record.json';

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

const PAGE = 'https://page.example/';
const RECORD = {
  ...(fixture as ApprovalRecord),
  status: 'PENDING' as const,
  deadline: new Date(Date.now() + 3_600_000).toISOString(),
};

function setup() {
  const decided: unknown[] = [];
  const logged: string[] = [];
  const links = new DecisionLinks({
    linkKey: new MemoryKey(),
    formKey: new MemoryKey(),
    pageUrl: PAGE,
    nonces: { consumeFormNonce: async () => true },
  });
  const decisions = {
    decide: async (...args: unknown[]) => {
      decided.push(args);
      return { status: 'not-found' };
    },
  } as unknown as DecisionService;
  const deps = {
    links,
    decisions,
    records: { get: async (id: string) => (id === RECORD.approvalId ? RECORD : undefined) },
    mode: 'on' as const,
    address: 'secops@example.com',
    attribution: NO_ATTRIBUTION_SETTINGS,
    logger: createLogger('test', (line) => logged.push(line)),
  };
  return { deps, decided, logged, links };
}

const request = (
  method: string,
  rawQueryString: string,
  body?: string,
  contentType?: string,
): PageRequest => ({
  rawPath: '/',
  rawQueryString,
  headers: contentType ? { 'content-type': contentType } : {},
  ...(body !== undefined && { body }),
  requestContext: { http: { method } },
});

describe('the decision page edge, under any request', () => {
  test('GET and HEAD never decide, and no request gets a 5xx or logs its query', async () => {
    const { deps, decided, logged, links } = setup();
    const signed = await links.linksFor(RECORD, ['APPROVED']);
    const own = (signed.APPROVED ?? '').slice(PAGE.length + 1);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'get', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
        fc.oneof(
          fc.string(),
          fc.constant(own),
          fc.string().map((junk) => `${own}${junk}`),
        ),
        async (method, query) => {
          const response = await handleDecisionPage(request(method, query), deps);
          expect(response.statusCode).toBeLessThan(500);
          expect(response.headers['Cache-Control']).toBe('no-store');
          if (method.toUpperCase() === 'HEAD') expect(response.body).toBe('');
          if (query.length > 3) expect(logged.join('\n')).not.toContain(query);
        },
      ),
      { numRuns: 150 },
    );
    expect(decided).toEqual([]);
  });

  test('a POST body that is not the page’s own form is refused with 400 or 403, never decided', async () => {
    const { deps, decided } = setup();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 400 }),
        fc.constantFrom('application/x-www-form-urlencoded', 'text/plain', 'application/json'),
        async (body, contentType) => {
          const response = await handleDecisionPage(request('POST', '', body, contentType), deps);
          expect([400, 403]).toContain(response.statusCode);
        },
      ),
      { numRuns: 150 },
    );
    expect(decided).toEqual([]);
  });

  test('escapeHtml leaves no markup-significant character', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(escapeHtml(text)).not.toMatch(/[<>"']/);
      }),
    );
  });
});
