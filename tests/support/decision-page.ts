import { KMSClient } from '@aws-sdk/client-kms';
import { POLICY_GATE_KEY, type Sandbox } from '../../local/sandbox';
import { KmsSealKey } from '../../src/adapters/kms-seal-key';
import type { ApprovalRecord } from '../../src/domain/approval';
import { DecisionLinks } from '../../src/services/decision-links';
import { mails } from './approvals';

/** The decision links in an approval's request e-mail, by the label before each. */
export function linksInMail(sandbox: Sandbox, approvalId: string): { approve?: string; deny?: string } {
  const mail = mails(sandbox, /approval needed/).find((m) =>
    m.message.includes(`Approval id: ${approvalId}`),
  );
  if (!mail) throw new Error(`no request e-mail for ${approvalId}`);
  const lines = mail.message.split('\n');
  const after = (label: string): string | undefined => {
    const at = lines.indexOf(label);
    return at >= 0 ? lines[at + 1] : undefined;
  };
  const approve = after('Approve:');
  const deny = after('Deny:');
  return { ...(approve && { approve }), ...(deny && { deny }) };
}

/** The hidden fields of the page's form, as a form body (what a browser posts), or `undefined` without one. */
export function formBodyOf(html: string): string | undefined {
  if (!/<form method="post"/.test(html)) return undefined;
  const fields = [...html.matchAll(/<input type="hidden" name="([a-z])" value="([^"]*)">/g)];
  return fields.map(([, name, value]) => `${name}=${encodeURIComponent(value ?? '')}`).join('&');
}

/** Posts a form body to the page, without following redirects (as the tests inspect the 303). */
export function postForm(url: string, body: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
  });
}

/**
 * Links signed with the sandbox's real link key for a record as the test states it (a past deadline, an
 * id nobody holds): what PolicyGate would have signed, for the expiry and unknown-id cases.
 */
export async function signedLinks(
  sandbox: Sandbox,
  record: Pick<ApprovalRecord, 'approvalId' | 'deadline'>,
): Promise<{ approve: string; deny: string }> {
  const kms = new KMSClient({
    region: 'us-east-1',
    endpoint: sandbox.kms.endpoint,
    credentials: { accessKeyId: POLICY_GATE_KEY, secretAccessKey: 'local' },
  });
  try {
    const links = new DecisionLinks({
      linkKey: new KmsSealKey(kms, sandbox.sealKeys.link.arn),
      pageUrl: sandbox.decisionPage.url,
    });
    const signed = await links.linksFor(record as ApprovalRecord, ['APPROVED', 'DENIED']);
    return { approve: signed.APPROVED ?? '', deny: signed.DENIED ?? '' };
  } finally {
    kms.destroy();
  }
}
