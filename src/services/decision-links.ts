import { randomBytes } from 'node:crypto';
import type { SealKey } from '../adapters/kms-seal-key';
import { type ApprovalRecord, approvalsRequired, type Decision } from '../domain/approval';
import {
  type DecisionLink,
  type FormToken,
  formTokenMessage,
  fromBase64Url,
  linkExpiry,
  linkMessage,
  linkUrl,
  parseFormBody,
  parseLinkQuery,
  toBase64Url,
} from '../domain/decision-link';
import type { EmailLinks } from '../domain/messages';
import { ConfigError } from '../errors';

/** Consumes a form nonce once (a conditional write); `false` when it was consumed before. */
export interface FormNonceStore {
  consumeFormNonce(nonce: string, approvalId: string, expiresAt: number): Promise<boolean>;
}

/** Why a link or form is refused; the page maps each to its status (403, 410, 400). */
export type LinkRefusal =
  | { readonly ok: false; readonly refusal: 'malformed'; readonly problem: string }
  | { readonly ok: false; readonly refusal: 'tampered'; readonly problem: string }
  | { readonly ok: false; readonly refusal: 'expired'; readonly link: DecisionLink }
  /** A form older than its lifetime: open the link again for a fresh one. */
  | { readonly ok: false; readonly refusal: 'stale-form'; readonly link: DecisionLink }
  /** A form already posted once. */
  | { readonly ok: false; readonly refusal: 'reused-form'; readonly link: DecisionLink };

export type LinkCheck = { readonly ok: true; readonly link: DecisionLink } | LinkRefusal;

export interface DecisionLinksOptions {
  /** The link key: the request-approval function generates with it, the page only verifies. */
  readonly linkKey?: SealKey;
  /** The form key: only the page generates and verifies with it. */
  readonly formKey?: SealKey;
  /** The decision page (the Function URL, ending in `/`). */
  readonly pageUrl?: string;
  readonly nonces?: FormNonceStore;
  /** How long a rendered form may be posted (default 15 minutes, never past the link's expiry). */
  readonly formLifetimeSeconds?: number;
  readonly now?: () => Date;
}

/**
 * Signs the e-mailed decision links and checks them, and issues and redeems the page's single-use form
 * tokens. A link proves only that its holder read the e-mail; a form token proves the POST comes from a
 * page rendered for that link within the last minutes, and its nonce is consumed once, so a replayed or
 * copied form decides nothing. Without its key, each operation refuses (no link is sent, every link is
 * refused): never a link that decides without a signature.
 */
export class DecisionLinks {
  private readonly now: () => Date;

  constructor(private readonly options: DecisionLinksOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Whether this function can sign links (the key and the page URL are configured). */
  get canSign(): boolean {
    return this.options.linkKey !== undefined && this.options.pageUrl !== undefined;
  }

  /** Signed links for `decisions` on `record`, expiring at its deadline. */
  async linksFor(
    record: ApprovalRecord,
    decisions: readonly Decision[],
  ): Promise<Partial<Record<Decision, string>>> {
    const { linkKey, pageUrl } = this.options;
    if (!linkKey || !pageUrl) throw new ConfigError('decision links are not configured for this function');
    const expiresAt = linkExpiry(record.deadline);
    const links: Partial<Record<Decision, string>> = {};
    for (const decision of decisions) {
      const unsigned = { approvalId: record.approvalId, decision, expiresAt };
      const signature = toBase64Url(await linkKey.generate(linkMessage(unsigned)));
      links[decision] = linkUrl(pageUrl, { ...unsigned, signature });
    }
    return links;
  }

  /** Checks a link's query string: its form (403), its signature (403), then its expiry (410). */
  async checkLink(query: string): Promise<LinkCheck> {
    const parsed = parseLinkQuery(query);
    if (!parsed.ok) return { ok: false, refusal: 'malformed', problem: parsed.problem };
    return this.verifyLink(parsed.value);
  }

  /** A fresh form token for a verified link. */
  async issueForm(link: DecisionLink): Promise<FormToken> {
    const formKey = this.required('formKey');
    const unsigned = { nonce: toBase64Url(randomBytes(16).toString('base64')), issuedAt: this.seconds() };
    const mac = toBase64Url(await formKey.generate(formTokenMessage(link.signature, unsigned)));
    return { ...unsigned, mac };
  }

  /**
   * Checks a posted form: the body's shape (`malformed`, which the page answers with 400), the link's
   * signature and the token's MAC (403), the link's expiry (410), the form's age, and at last consumes its
   * nonce (`reused-form` the second time). Only a form that passes all of it may decide.
   */
  async redeemForm(body: string): Promise<LinkCheck> {
    const parsed = parseFormBody(body);
    if (!parsed.ok) return { ok: false, refusal: 'malformed', problem: parsed.problem };
    const { link, token } = parsed.value;
    const checked = await this.verifyLink(link);
    if (!checked.ok) return checked;
    const formKey = this.required('formKey');
    const valid = await formKey.verify(formTokenMessage(link.signature, token), fromBase64Url(token.mac));
    if (!valid) return { ok: false, refusal: 'tampered', problem: 'the form token does not verify' };
    const now = this.seconds();
    const lifetime = this.options.formLifetimeSeconds ?? 900;
    // A clock skew of a minute at most: a form "issued" later than that was not issued by this page.
    if (token.issuedAt > now + 60 || now - token.issuedAt > lifetime) {
      return { ok: false, refusal: 'stale-form', link };
    }
    const nonces = this.required('nonces');
    const fresh = await nonces.consumeFormNonce(token.nonce, link.approvalId, link.expiresAt);
    if (!fresh) return { ok: false, refusal: 'reused-form', link };
    return { ok: true, link };
  }

  private async verifyLink(link: DecisionLink): Promise<LinkCheck> {
    const linkKey = this.required('linkKey');
    const { signature, ...unsigned } = link;
    const valid = await linkKey.verify(linkMessage(unsigned), fromBase64Url(signature));
    if (!valid) return { ok: false, refusal: 'tampered', problem: 'the link signature does not verify' };
    if (this.seconds() >= link.expiresAt) return { ok: false, refusal: 'expired', link };
    return { ok: true, link };
  }

  private required<K extends 'linkKey' | 'formKey' | 'nonces'>(
    name: K,
  ): NonNullable<DecisionLinksOptions[K]> {
    const value = this.options[name];
    if (!value) throw new ConfigError(`decision links: ${name} is not configured for this function`);
    return value as NonNullable<DecisionLinksOptions[K]>;
  }

  private seconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }
}

/** The stage's e-mail decision settings, as the request e-mail needs them. */
export interface EmailLinkSettings {
  readonly mode: 'off' | 'deny-only' | 'on';
  readonly address?: string;
}

/**
 * The links an approval e-mail carries: none when e-mail decisions are off (or not configured), a Deny
 * link only when they are deny-only or the change needs two approvers, else both. A signing failure sends
 * the e-mail without links (saying so) rather than no e-mail.
 */
export async function emailLinksFor(
  links: DecisionLinks,
  settings: EmailLinkSettings,
  record: ApprovalRecord,
): Promise<EmailLinks | undefined> {
  if (settings.mode === 'off' || !settings.address || !links.canSign) return undefined;
  const required = approvalsRequired(record);
  const decisions: Decision[] = settings.mode === 'on' && required <= 1 ? ['APPROVED', 'DENIED'] : ['DENIED'];
  const note =
    settings.mode === 'deny-only'
      ? 'Approving by e-mail is switched off for this stage: approve in Slack.'
      : required > 1
        ? `This change needs ${required} different approvers, so it can only be approved in Slack.`
        : undefined;
  try {
    const signed = await links.linksFor(record, decisions);
    return {
      address: settings.address,
      ...(signed.APPROVED && { approve: signed.APPROVED }),
      ...(signed.DENIED && { deny: signed.DENIED }),
      ...(note && { note }),
    };
  } catch (error) {
    return {
      address: settings.address,
      note: `The decision links could not be made (${error instanceof Error ? error.name : 'error'}): decide in Slack.`,
    };
  }
}
