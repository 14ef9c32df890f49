import type { Decision } from './approval';

/**
 * E-mailed decision links and the page's single-use form tokens: the canonical messages their MACs cover
 * and the strict parsing of what a browser (or a link scanner, or an attacker) sends back. Pure: the MACs
 * themselves are made and checked with KMS by the link service.
 *
 * A link is `<page>?a=<approval id>&d=<approve|deny>&e=<expiry, epoch seconds>&s=<MAC, base64url>`. It
 * never carries the task token: holding one proves only that its holder read the e-mail.
 */

/** Approval ids as the workflow makes them (UUIDs) and Slack buttons carry them. */
export const LINK_APPROVAL_ID = /^[A-Za-z0-9-]{1,128}$/;
/** A 32-byte HMAC-SHA256 in base64url, unpadded. */
const MAC = /^[A-Za-z0-9_-]{43}$/;
/** A 16-byte random nonce in base64url, unpadded. */
const NONCE = /^[A-Za-z0-9_-]{22}$/;
/** Epoch seconds, without leading zeros, up to the year 2286. */
const EPOCH_SECONDS = /^[1-9][0-9]{0,9}$/;
/** Whether a base64url value is in its one canonical spelling (the unused low bits of its last character zero). */
function canonicalBase64Url(value: string): boolean {
  return Buffer.from(value, 'base64url').toString('base64url') === value;
}
/** The most a query string or form body may hold: more is not a link of ours. */
export const MAX_LINK_QUERY_CHARS = 1024;
export const MAX_FORM_BODY_CHARS = 2048;

const DECISIONS = { approve: 'APPROVED', deny: 'DENIED' } as const satisfies Record<string, Decision>;
type LinkDecisionWord = keyof typeof DECISIONS;

/** A decision link's content. */
export interface DecisionLink {
  readonly approvalId: string;
  readonly decision: Decision;
  /** Epoch seconds after which the link is refused (never later than the approval's deadline). */
  readonly expiresAt: number;
  /** The link key's MAC over {@link linkMessage}, base64url. */
  readonly signature: string;
}

/** The page's form token: bound to one link by its signature, usable once (the nonce is consumed). */
export interface FormToken {
  readonly nonce: string;
  /** Epoch seconds at which the page was rendered. */
  readonly issuedAt: number;
  /** The form key's MAC over {@link formTokenMessage}, base64url. */
  readonly mac: string;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

const encoder = new TextEncoder();

/**
 * What a link's MAC covers: a purpose label (so no other MAC of any key can pass for a link's), the
 * approval id, the decision and the expiry, one per line. None of them can hold a newline.
 */
export function linkMessage(link: Omit<DecisionLink, 'signature'>): Uint8Array {
  return encoder.encode(
    ['policy-gate/decision-link/v1', link.approvalId, link.decision, String(link.expiresAt)].join('\n'),
  );
}

/** What a form token's MAC covers: its own purpose label, the link's signature, the nonce and the issue time. */
export function formTokenMessage(linkSignature: string, token: Omit<FormToken, 'mac'>): Uint8Array {
  return encoder.encode(
    ['policy-gate/decision-form/v1', linkSignature, token.nonce, String(token.issuedAt)].join('\n'),
  );
}

/** The expiry a link for `deadline` gets: the deadline itself (whole seconds, rounded down), never later. */
export function linkExpiry(deadline: string): number {
  return Math.floor(new Date(deadline).getTime() / 1000);
}

/** The word a link uses for a decision. */
export function decisionWord(decision: Decision): LinkDecisionWord {
  return decision === 'APPROVED' ? 'approve' : 'deny';
}

/** The link's query string (no `?`), in its one canonical order. */
export function linkQuery(link: DecisionLink): string {
  return `a=${link.approvalId}&d=${decisionWord(link.decision)}&e=${link.expiresAt}&s=${link.signature}`;
}

/** The full link: the page URL (the Function URL, ending in `/`) and the query. */
export function linkUrl(pageUrl: string, link: DecisionLink): string {
  return `${pageUrl}?${linkQuery(link)}`;
}

/** base64 (KMS's MAC) → base64url without padding, as links and forms carry it. */
export function toBase64Url(base64: string): string {
  return base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** base64url → base64 with padding, as the KMS adapter takes it. */
export function fromBase64Url(value: string): string {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/');
  return base64 + '='.repeat((4 - (base64.length % 4)) % 4);
}

/**
 * Splits `a=1&b=2` into its pairs, refusing what no page of ours produces: an empty or oversized input,
 * a pair without `=`, a repeated or unexpected key, or a value that does not decode. Keys are compared
 * exactly (no case folding, no `+` for space): a link or form is either byte-for-byte ours or refused.
 */
function strictPairs(
  input: string,
  allowed: readonly string[],
  maxChars: number,
): Parsed<Readonly<Record<string, string>>> {
  if (input.length === 0) return { ok: false, problem: 'empty' };
  if (input.length > maxChars) return { ok: false, problem: 'too long' };
  const values = new Map<string, string>();
  for (const pair of input.split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) return { ok: false, problem: 'a parameter without a value' };
    const key = pair.slice(0, at);
    if (!allowed.includes(key)) return { ok: false, problem: 'an unexpected parameter' };
    if (values.has(key)) return { ok: false, problem: 'a repeated parameter' };
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(at + 1));
    } catch {
      return { ok: false, problem: 'a parameter that does not decode' };
    }
    values.set(key, value);
  }
  for (const key of allowed) if (!values.has(key)) return { ok: false, problem: 'a missing parameter' };
  return { ok: true, value: Object.fromEntries(values) };
}

function linkOf(values: Readonly<Record<string, string>>): Parsed<DecisionLink> {
  const approvalId = values.a ?? '';
  const word = values.d ?? '';
  const expiry = values.e ?? '';
  const signature = values.s ?? '';
  if (!LINK_APPROVAL_ID.test(approvalId)) return { ok: false, problem: 'not an approval id' };
  if (word !== 'approve' && word !== 'deny') return { ok: false, problem: 'not a decision' };
  if (!EPOCH_SECONDS.test(expiry)) return { ok: false, problem: 'not an expiry' };
  if (!MAC.test(signature) || !canonicalBase64Url(signature))
    return { ok: false, problem: 'not a signature' };
  return {
    ok: true,
    value: { approvalId, decision: DECISIONS[word], expiresAt: Number(expiry), signature },
  };
}

const LINK_KEYS = ['a', 'd', 'e', 's'] as const;
const FORM_KEYS = [...LINK_KEYS, 'n', 't', 'f'] as const;

/** A link's query string (without `?`), parsed strictly; the signature is not checked here. */
export function parseLinkQuery(query: string): Parsed<DecisionLink> {
  const pairs = strictPairs(query, LINK_KEYS, MAX_LINK_QUERY_CHARS);
  return pairs.ok ? linkOf(pairs.value) : pairs;
}

/** The page form's body (`application/x-www-form-urlencoded`): the link's fields and the form token. */
export function parseFormBody(body: string): Parsed<{ link: DecisionLink; token: FormToken }> {
  const pairs = strictPairs(body, FORM_KEYS, MAX_FORM_BODY_CHARS);
  if (!pairs.ok) return pairs;
  const link = linkOf(pairs.value);
  if (!link.ok) return link;
  const nonce = pairs.value.n ?? '';
  const issuedAt = pairs.value.t ?? '';
  const mac = pairs.value.f ?? '';
  if (!NONCE.test(nonce) || !canonicalBase64Url(nonce)) return { ok: false, problem: 'not a form nonce' };
  if (!EPOCH_SECONDS.test(issuedAt)) return { ok: false, problem: 'not a form time' };
  if (!MAC.test(mac) || !canonicalBase64Url(mac)) return { ok: false, problem: 'not a form token' };
  return { ok: true, value: { link: link.value, token: { nonce, issuedAt: Number(issuedAt), mac } } };
}

/** The form body a page posts back (what {@link parseFormBody} accepts). */
export function formBody(link: DecisionLink, token: FormToken): string {
  return `${linkQuery(link)}&n=${token.nonce}&t=${token.issuedAt}&f=${token.mac}`;
}
