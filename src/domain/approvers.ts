import { type Attribution, isIdentityCenterRole } from './attribution';
import type { Actor } from './policy-change';

/**
 * Who may decide, and the no-self-approval rule, as pure logic: the channels (Slack, e-mail) look the
 * people up and hand the facts in.
 */

/** A person trying to decide, as the channel verified them. */
export interface DeciderIdentity {
  /** Channel-specific id, e.g. the Slack user id. */
  readonly id: string;
  readonly name: string;
  /** The e-mail address the channel vouches for (Slack: `users.info` → `profile.email`). */
  readonly email?: string;
}

/**
 * The operator's IAM-to-Slack mapping: an IAM identity (IAM user name, role session name or full ARN,
 * compared without case) to the person's Slack user id or e-mail address. It makes the self-approval
 * check exact where names and e-mail addresses do not line up (e.g. IAM user `jdoe`, Slack
 * `jane.doe@corp.com`).
 */
export type IdentityMap = ReadonlyMap<string, readonly string[]>;

/** The identity map, parsed: people, plus the roles the operator declared (see {@link parseIdentityMap}). */
export interface ParsedIdentityMap {
  readonly map: IdentityMap;
  /** Role ARNs (lower case) declared service identities, with the operator's note. */
  readonly serviceRoles: ReadonlyMap<string, string>;
  /** Role ARNs (lower case) whose session names an IdP sets from the person's sign-in, with the note. */
  readonly personSessionRoles: ReadonlyMap<string, string>;
  readonly problems: string[];
}

/** An IAM role ARN, exactly: no wildcards (a declaration covers one role). */
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\u0021-\u007E]*\/)?[\w+=,.@-]{1,64}$/;
const DECLARATION_KEYS = ['service', 'personSessions'] as const;
const MAX_NOTE = 200;

/**
 * Parses the IAM-to-Slack mapping: a JSON object whose keys are IAM identities (user or session name, or an
 * ARN) and whose values are one Slack user id / e-mail or a list of them. A value may instead be a role
 * declaration, keyed by the role's exact ARN:
 *
 * - `{"service": "<what runs as it>"}`: the role is a service identity, so a change it makes that no person
 *   can be found behind needs one approver rather than two;
 * - `{"personSessions": "<which IdP sets the session name>"}`: the role's session names are set by an
 *   identity provider from the person's sign-in (as IAM Identity Center does for its own roles), so they
 *   name the person.
 *
 * Identity Center roles cannot be declared service identities. Problems are returned, not thrown, so the
 * config loader can report them with every other problem at once.
 */
export function parseIdentityMap(text: string | undefined): ParsedIdentityMap {
  const map = new Map<string, string[]>();
  const serviceRoles = new Map<string, string>();
  const personSessionRoles = new Map<string, string>();
  const problems: string[] = [];
  const result = { map, serviceRoles, personSessionRoles, problems };
  const raw = text?.trim();
  if (!raw) return result;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('must be a JSON object such as {"jdoe": "U012ABCDEF"}');
    return result;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push('must be a JSON object such as {"jdoe": "U012ABCDEF"}');
    return result;
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const problem = declareRole(key, value as Record<string, unknown>, serviceRoles, personSessionRoles);
      if (problem) problems.push(`${JSON.stringify(key)}: ${problem}`);
      continue;
    }
    const values = Array.isArray(value) ? value : [value];
    const iamIdentity = key.trim().toLowerCase();
    if (!iamIdentity) problems.push('an IAM identity is empty');
    for (const v of values) {
      if (typeof v !== 'string' || !(SLACK_USER_ID.test(v.trim()) || EMAIL.test(v.trim()))) {
        problems.push(
          `${JSON.stringify(key)}: ${JSON.stringify(v)} is neither a Slack user id nor an e-mail`,
        );
        continue;
      }
      const list = map.get(iamIdentity) ?? [];
      list.push(normalise(v));
      map.set(iamIdentity, list);
    }
  }
  return result;
}

function declareRole(
  key: string,
  value: Record<string, unknown>,
  serviceRoles: Map<string, string>,
  personSessionRoles: Map<string, string>,
): string | undefined {
  const keys = Object.keys(value);
  const kind = keys[0];
  if (keys.length !== 1 || !DECLARATION_KEYS.includes(kind as (typeof DECLARATION_KEYS)[number])) {
    return 'a role declaration must be exactly {"service": "<note>"} or {"personSessions": "<note>"}';
  }
  if (!ROLE_ARN.test(key))
    return 'a role declaration must be keyed by the exact ARN of an IAM role (no wildcards)';
  const note = value[kind as string];
  if (typeof note !== 'string' || note.trim() === '' || note.length > MAX_NOTE) {
    return `the ${kind} note must be a non-empty string of at most ${MAX_NOTE} characters`;
  }
  const arn = key.toLowerCase();
  if (kind === 'service') {
    if (isIdentityCenterRole(key)) return "an IAM Identity Center role is people's, never a service identity";
    if (personSessionRoles.has(arn))
      return 'a role cannot be both a service identity and a person-session role';
    serviceRoles.set(arn, note.trim());
  } else {
    if (serviceRoles.has(arn)) return 'a role cannot be both a service identity and a person-session role';
    personSessionRoles.set(arn, note.trim());
  }
  return undefined;
}

/** A Slack user id (`U…`, or `W…` on Enterprise Grid). */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
/** A Slack user group id. */
export const SLACK_USERGROUP_ID = /^S[A-Z0-9]{2,}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

function normalise(value: string): string {
  const v = value.trim();
  return SLACK_USER_ID.test(v) ? v : v.toLowerCase();
}

/** The local part of an address without `+tag`, lower-cased; the whole value when it is no address. */
function localPart(value: string): string {
  const lower = value.toLowerCase();
  const at = lower.lastIndexOf('@');
  const local = at > 0 ? lower.slice(0, at) : lower;
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

/**
 * The names an IAM actor goes by that can identify a person: the IAM user name, the role session name
 * (AWS IAM Identity Center and most SSO set it to the person's e-mail) and the federated user's name.
 * A role's own name (the session issuer) names no person and is left out.
 */
export function actorIdentities(actor: Actor): string[] {
  const names = new Set<string>();
  if (actor.userName && actor.type === 'IAMUser') names.add(actor.userName);
  if (actor.sessionName) names.add(actor.sessionName);
  const federated = actor.arn?.match(/:federated-user\/(.+)$/)?.[1];
  if (federated) names.add(federated);
  return [...names];
}

export type SelfApprovalCheck =
  | { readonly verdict: 'different-person' }
  | { readonly verdict: 'same-person'; readonly reason: string }
  | { readonly verdict: 'unknown'; readonly reason: string };

/**
 * Whether the decider is the person who made the change. Any rule that matches makes it the same person
 * (fail closed): the identity map, an exact e-mail match, or the e-mail's local part equal to the IAM
 * user or session name. When the decider has no e-mail and the map does not cover the actor, or the actor
 * itself is unknown, PolicyGate cannot tell, and says so.
 */
export function checkSelfApproval(
  actor: Actor,
  decider: DeciderIdentity,
  map: IdentityMap,
  attribution?: Attribution,
): SelfApprovalCheck {
  // Nobody can be ruled out as the author of a change whose actor PolicyGate could not read (an event it
  // could not fully read, or a change found by the sweep): approving it could be approving one's own.
  if (actor.type === 'Unknown') {
    return {
      verdict: 'unknown',
      reason:
        'who made this change is unknown (its CloudTrail event could not be read, or never arrived and the sweep found it), so nobody can be ruled out as its author; deny it, and have it made again so its event is read',
    };
  }
  // The attributed person is compared as well as the actor's own names, never instead of them.
  const identities = [
    ...new Set([
      ...actorIdentities(actor),
      ...(attribution?.person ? [attribution.person] : []),
      ...(attribution?.sourceIdentity ? [attribution.sourceIdentity] : []),
      ...(actor.sourceIdentity ? [actor.sourceIdentity] : []),
    ]),
  ];
  const chainArns = (attribution?.chain ?? [])
    .map((link) => link.calledBy)
    .filter((v) => v.startsWith('arn:'));
  const keys = [...identities, ...(actor.arn ? [actor.arn] : []), ...chainArns];
  const deciderKeys = new Set([decider.id, ...(decider.email ? [decider.email.toLowerCase()] : [])]);
  let mapped = false;
  for (const key of keys) {
    const people = map.get(key.toLowerCase());
    if (!people) continue;
    mapped = true;
    if (people.some((person) => deciderKeys.has(person))) {
      return {
        verdict: 'same-person',
        reason: `the IAM identity ${key} that made this change is mapped to you`,
      };
    }
  }
  if (decider.email) {
    const email = decider.email.toLowerCase();
    for (const identity of identities) {
      const lower = identity.toLowerCase();
      if (lower === email || localPart(lower) === localPart(email)) {
        return {
          verdict: 'same-person',
          reason: `the change was made by ${identity}, which matches your Slack e-mail ${decider.email}`,
        };
      }
    }
    return { verdict: 'different-person' };
  }
  if (mapped || identities.length === 0) return { verdict: 'different-person' };
  return {
    verdict: 'unknown',
    reason:
      'PolicyGate cannot confirm you did not make this change: your profile shows no e-mail address and ' +
      `the IAM identity ${identities.join(' / ')} is not in the IAM-to-Slack mapping`,
  };
}
