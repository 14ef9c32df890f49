import type { ApprovalRecord } from '../domain/approval';
import type { AttributionSettings } from '../domain/attribution';
import { type DecisionLink, linkQuery, MAX_FORM_BODY_CHARS } from '../domain/decision-link';
import type { Logger } from '../logger';
import type { DecisionLinks, LinkRefusal } from '../services/decision-links';
import { attributionOf, type DecisionResult, type DecisionService } from '../services/decision-service';
import {
  CONTENT_SECURITY_POLICY,
  decisionPage,
  messagePage,
  requiredApprovals,
  settledPage,
} from './page-html';

/** The parts of a Function URL event (payload 2.0) the page reads. */
export interface PageRequest {
  readonly rawPath?: string;
  readonly rawQueryString?: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: { readonly http?: { readonly method?: string } };
}

export interface PageResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface DecisionPageDependencies {
  readonly links: DecisionLinks;
  readonly decisions: DecisionService;
  readonly records: { get(approvalId: string): Promise<ApprovalRecord | undefined> };
  /** `off` answers every request with a refusal; `deny-only` shows no Approve form. */
  readonly mode: 'off' | 'deny-only' | 'on';
  /** The address the links go to: the decider's identity. Without one the page decides nothing. */
  readonly address?: string;
  readonly attribution: AttributionSettings;
  readonly logger: Logger;
  readonly now?: () => Date;
}

const HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function respond(
  statusCode: number,
  body: string,
  method: string,
  extra: Record<string, string> = {},
): PageResponse {
  return { statusCode, headers: { ...HEADERS, ...extra }, body: method === 'HEAD' ? '' : body };
}

/** Why a link or form is refused, as status and page. The link itself never appears in either. */
function refusalPage(refusal: LinkRefusal, method: string): PageResponse {
  switch (refusal.refusal) {
    case 'malformed':
      return method === 'POST'
        ? respond(
            400,
            messagePage('Bad request', ['The form was not one this page sent. Nothing was decided.']),
            method,
          )
        : respond(
            403,
            messagePage('Invalid link', [
              'This is not a valid PolicyGate decision link. Nothing was decided.',
            ]),
            method,
          );
    case 'tampered':
      return respond(
        403,
        messagePage('Invalid link', [
          'This link (or its form) was changed or not made by PolicyGate. Nothing was decided.',
        ]),
        method,
      );
    case 'expired':
      return respond(
        410,
        messagePage('Link expired', [
          'This decision link has expired, like its request. Nothing was decided.',
        ]),
        method,
      );
    case 'stale-form':
      return respond(
        410,
        messagePage('Page expired', [
          'This page is too old to decide. Open the link from the e-mail again. Nothing was decided.',
        ]),
        method,
      );
    case 'reused-form':
      return respond(
        409,
        messagePage('Form already used', [
          'This form was already submitted once. Open the link from the e-mail again to see the request’s state.',
        ]),
        method,
      );
  }
}

/**
 * The decision page behind its Function URL: the one module mapping requests and errors to statuses.
 * `GET` and `HEAD` only read (the record, the link's signature) and render; they never write, for any
 * client. Only a `POST` of the page's own form, with its single-use token, decides, through the same
 * {@link DecisionService} as Slack. Nothing a link or form holds is logged.
 */
export async function handleDecisionPage(
  request: PageRequest,
  deps: DecisionPageDependencies,
): Promise<PageResponse> {
  const method = request.requestContext?.http?.method?.toUpperCase() ?? '';
  try {
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      deps.logger.warn('decision page: method not allowed', { method: method.slice(0, 16) });
      return respond(405, messagePage('Method not allowed', ['Use the link from the e-mail.']), method, {
        Allow: 'GET, HEAD, POST',
      });
    }
    if ((request.rawPath ?? '/') !== '/') {
      return respond(404, messagePage('Not found', ['There is no such page.']), method);
    }
    if (deps.mode === 'off' || !deps.address) {
      deps.logger.warn('decision page: e-mail decisions are off', { method });
      return respond(
        403,
        messagePage('E-mail decisions are off', [
          'Decisions by e-mail link are switched off for this stage. Decide in Slack.',
        ]),
        method,
      );
    }
    return method === 'POST'
      ? await post(request, deps, deps.address)
      : await show(request, deps, deps.address, method);
  } catch (error) {
    deps.logger.error('decision page failed', { method, error });
    return respond(
      500,
      messagePage('Something went wrong', [
        'PolicyGate could not handle this request. Open the link again in a minute, or decide in Slack.',
      ]),
      method,
    );
  }
}

/** GET / HEAD: verify the link, read the record, render. No write of any kind. */
async function show(
  request: PageRequest,
  deps: DecisionPageDependencies,
  address: string,
  method: string,
): Promise<PageResponse> {
  const checked = await deps.links.checkLink(request.rawQueryString ?? '');
  if (!checked.ok) {
    deps.logger.warn('decision page: link refused', { method, refusal: checked.refusal });
    return refusalPage(checked, method);
  }
  const { link } = checked;
  const record = await deps.records.get(link.approvalId);
  if (!record) {
    deps.logger.warn('decision page: unknown approval', { method, approvalId: link.approvalId });
    return respond(404, messagePage('Unknown request', ['PolicyGate has no such approval request.']), method);
  }
  const settled = settledResponse(record, method, deps);
  if (settled) return settled;
  const refusal = approveRefusal(record, link, deps);
  const token = refusal ? undefined : await deps.links.issueForm(link);
  deps.logger.info('decision page shown', { method, approvalId: link.approvalId, form: token !== undefined });
  return respond(
    200,
    decisionPage({ record, link, address, ...(token && { token }), ...(refusal && { refusal }) }),
    method,
  );
}

/** A page for a request nobody can decide any more (decided, expired, failed); `undefined` if pending. */
function settledResponse(
  record: ApprovalRecord,
  method: string,
  deps: DecisionPageDependencies,
): PageResponse | undefined {
  const now = (deps.now ?? (() => new Date()))();
  if (record.status === 'EXPIRED' || (record.status === 'PENDING' && now >= new Date(record.deadline))) {
    return respond(410, settledPage(record, 'This request has expired'), method);
  }
  if (record.status === 'PENDING') return undefined;
  if (record.status === 'FAILED') {
    return respond(409, settledPage(record, 'This request failed and can no longer be decided'), method);
  }
  return respond(200, settledPage(record, 'This request has already been decided'), method);
}

/** Why an Approve link cannot approve this record (the stage's limit, or two approvers needed). */
function approveRefusal(
  record: ApprovalRecord,
  link: DecisionLink,
  deps: DecisionPageDependencies,
): string | undefined {
  if (link.decision !== 'APPROVED') return undefined;
  if (deps.mode === 'deny-only')
    return 'Approving by e-mail is switched off for this stage: approve in Slack.';
  const required = requiredApprovals(record, attributionOf(record, deps.attribution));
  return required > 1
    ? `This change needs ${required} different approvers, so it can only be approved in Slack. The Deny link still works.`
    : undefined;
}

/** POST: the page's own form, its token redeemed once, then the decision service. */
async function post(
  request: PageRequest,
  deps: DecisionPageDependencies,
  address: string,
): Promise<PageResponse> {
  const method = 'POST';
  const contentType = (request.headers?.['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const raw = request.body ?? '';
  if (contentType !== 'application/x-www-form-urlencoded' || raw.length > MAX_FORM_BODY_CHARS * 2) {
    deps.logger.warn('decision page: malformed post', { reason: 'content type or size' });
    return respond(
      400,
      messagePage('Bad request', ['The form was not one this page sent. Nothing was decided.']),
      method,
    );
  }
  const body = request.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const redeemed = await deps.links.redeemForm(body);
  if (!redeemed.ok) {
    deps.logger.warn('decision page: form refused', { refusal: redeemed.refusal });
    return refusalPage(redeemed, method);
  }
  const { link } = redeemed;
  const result = await deps.decisions.decide(link.approvalId, link.decision, {
    channel: 'email',
    id: address,
  });
  deps.logger.info('decision page: decision attempted', {
    approvalId: link.approvalId,
    status: result.status,
  });
  return resultPage(result, link);
}

/** How a decision attempt is shown. A recorded one redirects to the link's page (reloading it decides nothing). */
function resultPage(result: DecisionResult, link: DecisionLink): PageResponse {
  const method = 'POST';
  switch (result.status) {
    case 'recorded':
    case 'approval-counted':
      return respond(303, '', method, { Location: `/?${linkQuery(link)}` });
    case 'already-decided':
      return respond(409, settledPage(result.record, 'This request has already been decided'), method);
    case 'expired':
      return respond(410, settledPage(result.record, 'This request has expired'), method);
    case 'not-found':
      return respond(
        404,
        messagePage('Unknown request', ['PolicyGate has no such approval request.']),
        method,
      );
    case 'unauthorised':
    case 'self-approval':
    case 'duplicate-approval':
    case 'wrong-message':
      return respond(403, messagePage('Not allowed', [result.reason, 'Nothing was decided.']), method);
    case 'tampered':
      return respond(
        409,
        messagePage('Request changed outside PolicyGate', [
          'This request’s record was changed outside PolicyGate, so nobody may decide on it. It stays quarantined.',
        ]),
        method,
      );
    case 'not-ready':
      return respond(
        503,
        messagePage('Not ready yet', [
          'The request is not waiting for a decision yet. Try again in a minute.',
        ]),
        method,
      );
    case 'undelivered':
      return respond(
        502,
        messagePage('Decision stored, workflow not resumed', [
          'The decision is stored, but the workflow could not be resumed; the change stays quarantined. Tell the PolicyGate operators.',
        ]),
        method,
      );
  }
}
