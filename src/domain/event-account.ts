/**
 * The account an IAM event acts in, read from every place the event names it: the EventBridge envelope's
 * `account`, the record's `recipientAccountId`, and the caller's `userIdentity.accountId` when the caller
 * is an identity of that account (an IAM user, a role session, the root user, a federated user: IAM's API
 * only ever changes the caller's own account). They must all agree; anyone who can put events on the bus
 * or start the workflow could otherwise point PolicyGate at one account while the record says another.
 */

/** Caller types whose `accountId` is necessarily the account the IAM call changed. */
const SAME_ACCOUNT_CALLERS = new Set(['IAMUser', 'AssumedRole', 'Root', 'FederatedUser']);
const ACCOUNT = /^\d{12}$/;

export type EventAccount =
  | { readonly ok: true; readonly accountId: string }
  | { readonly ok: false; readonly reason: string; readonly claimed: readonly string[] };

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (value === null) return 'null';
  return typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : String(value);
}

/**
 * The one account `event` (an EventBridge event, a bare CloudTrail record, or a sweep finding) names, or
 * why there is none: a field that is present but not a 12-digit id, no account at all, or two fields that
 * disagree. Pure; never throws for any input.
 */
export function eventAccount(event: unknown): EventAccount {
  try {
    const enveloped = field(event, 'detail') !== undefined && field(event, 'detail-type') !== undefined;
    const record = enveloped ? field(event, 'detail') : event;
    const identity = field(record, 'userIdentity');
    const sources: Array<[string, unknown]> = [];
    if (enveloped) sources.push(['account', field(event, 'account')]);
    sources.push([
      enveloped ? 'detail.recipientAccountId' : 'recipientAccountId',
      field(record, 'recipientAccountId'),
    ]);
    const callerType = field(identity, 'type');
    if (typeof callerType === 'string' && SAME_ACCOUNT_CALLERS.has(callerType)) {
      sources.push([`${enveloped ? 'detail.' : ''}userIdentity.accountId`, field(identity, 'accountId')]);
    }
    const claimed: string[] = [];
    const named: Array<[string, string]> = [];
    for (const [path, value] of sources) {
      if (value === undefined) continue;
      if (typeof value !== 'string' || !ACCOUNT.test(value)) {
        return { ok: false, reason: `${path} is not a 12-digit account id (${shown(value)})`, claimed };
      }
      claimed.push(value);
      named.push([path, value]);
    }
    const first = named[0];
    if (first === undefined) return { ok: false, reason: 'the event names no account', claimed };
    const other = named.find(([, value]) => value !== first[1]);
    if (other) {
      return {
        ok: false,
        reason: `${first[0]} says ${first[1]} but ${other[0]} says ${other[1]}`,
        claimed: [...new Set(claimed)],
      };
    }
    return { ok: true, accountId: first[1] };
  } catch {
    // A hostile value (a throwing getter) names no account PolicyGate can trust.
    return { ok: false, reason: 'the event could not be read', claimed: [] };
  }
}
