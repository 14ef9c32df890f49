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

function setup(record: ApprovalRecord = RECORD) {
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
    records: { get: async (id: string) => (id === record.approvalId ? record : undefined) },
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

  test('an Approve link on a change that needs two approvers shows the request but no form; its Deny link has one', async () => {
    // Prepare
    const critical: ApprovalRecord = { ...RECORD, criticalActions: ['iam:PassRole'] };
    const { deps, links } = setup(critical);
    const signed = await links.linksFor(critical, ['APPROVED', 'DENIED']);
    const query = (url: string | undefined) => (url ?? '').slice(PAGE.length + 1);
    // Act
    const approve = await handleDecisionPage(request('GET', query(signed.APPROVED)), deps);
    const deny = await handleDecisionPage(request('GET', query(signed.DENIED)), deps);
    // Assess
    expect(approve.statusCode).toBe(200);
    expect(approve.body).not.toContain('<form');
    expect(approve.body).toContain('needs 2 different approvers');
    expect(deny.body).toContain('<form method="post" action="/">');
  });

  test('a value from the record is escaped on the page', async () => {
    // Prepare
    const hostile: ApprovalRecord = {
      ...RECORD,
      concerns: ['<script>alert(1)</script>"><img src=x>'],
    };
    const { deps, links } = setup(hostile);
    const signed = await links.linksFor(hostile, ['DENIED']);
    // Act
    const page = await handleDecisionPage(request('GET', (signed.DENIED ?? '').slice(PAGE.length + 1)), deps);
    // Assess
    expect(page.body).not.toContain('<script>');
    expect(page.body).not.toContain('<img');
    expect(page.body).toContain('&lt;script&gt;');
  });

  test('escapeHtml leaves no markup-significant character', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(escapeHtml(text)).not.toMatch(/[<>"']/);
      }),
    );
  });
});
