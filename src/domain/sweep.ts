import { createHash } from 'node:crypto';
import type { PrincipalType } from './policy-change';

/**
 * The reconciliation sweep's model, as pure logic: what grants are in force in the account (from IAM's
 * authorization details), which of them grant restricted actions, and which are new or changed since the
 * sweep last looked and not covered by an approval. CloudTrail-to-EventBridge delivery is best effort; the
 * sweep is what makes a missed event a delay rather than a bypass.
 *
 * Two kinds of grant are tracked:
 * - **sources**, documents in force: an inline policy, or the default version of a customer managed
 *   policy. Only risky ones are remembered (key → version and document digest).
 * - **links**, which hand a source to a principal: an attachment, or a user's group membership. All are
 *   remembered (by key), so a link that was there before does not count as new when its source turns
 *   risky: the source is what changed, and what the sweep contains.
 */

/** A principal's grants, as IAM's authorization details list them. */
export interface PrincipalGrants {
  readonly type: PrincipalType;
  readonly name: string;
  readonly inline: readonly { readonly name: string; readonly document: string }[];
  readonly attached: readonly string[];
  /** Users: the groups they are in. */
  readonly groups?: readonly string[];
}

/** A managed policy's version in force. */
export interface PolicyInForce {
  readonly arn: string;
  readonly defaultVersionId: string;
  readonly document: string;
  /** AWS managed policies change only by AWS: they are sources of risk, never sweep findings themselves. */
  readonly awsManaged: boolean;
}

/** Everything the sweep reads from IAM. */
export interface AccountInventory {
  readonly principals: readonly PrincipalGrants[];
  /** By lower-case ARN. */
  readonly policies: ReadonlyMap<string, PolicyInForce>;
}

/** A grant the sweep may start the workflow for. */
export type SweepGrant =
  | {
      readonly kind: 'policy';
      readonly policyArn: string;
      readonly versionId: string;
      readonly document: string;
    }
  | {
      readonly kind: 'inline';
      readonly principalType: PrincipalType;
      readonly principalName: string;
      readonly policyName: string;
      readonly document: string;
    }
  | {
      readonly kind: 'attachment';
      readonly principalType: PrincipalType;
      readonly principalName: string;
      readonly policyArn: string;
    }
  | { readonly kind: 'membership'; readonly groupName: string; readonly userName: string };

/** What the sweep remembers between runs: the risky sources with their values, and every link. */
export interface SweepBaseline {
  readonly sources: Readonly<Record<string, string>>;
  readonly links: readonly string[];
}

/** Whether a document grants restricted actions (or cannot be analysed): supplied by the caller. */
export type RiskTest = (document: string) => boolean;

interface Tracked {
  readonly key: string;
  readonly grant: SweepGrant;
}
interface TrackedSource extends Tracked {
  readonly value: string;
}
interface TrackedLink extends Tracked {
  /** Keys of the risky sources or links that make this link risky; empty when it is harmless. */
  readonly riskyVia: readonly string[];
}

/** The sweep's view of one inventory. */
export interface GrantMap {
  readonly sources: ReadonlyMap<string, TrackedSource>;
  readonly links: ReadonlyMap<string, TrackedLink>;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

const lower = (s: string) => s.toLowerCase();
export const policySourceKey = (arn: string) => `policy:${lower(arn)}`;
const awsSourceKey = (arn: string) => `aws:${lower(arn)}`;
export const inlineKey = (type: PrincipalType, name: string, policy: string) =>
  `inline:${type}:${lower(name)}:${policy}`;
export const attachmentKey = (type: PrincipalType, name: string, arn: string) =>
  `attach:${type}:${lower(name)}:${lower(arn)}`;
export const membershipKey = (user: string, group: string) => `member:${lower(user)}:${lower(group)}`;

/**
 * Maps an inventory to its tracked grants. `isRisky` is asked once per distinct document (results are
 * cached by digest), so an account with thousands of copies of one policy costs one analysis.
 */
export function mapGrants(inventory: AccountInventory, isRisky: RiskTest): GrantMap {
  const verdicts = new Map<string, boolean>();
  const risky = (document: string): boolean => {
    const key = digest(document);
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = isRisky(document);
      verdicts.set(key, verdict);
    }
    return verdict;
  };
  const sources = new Map<string, TrackedSource>();
  // The keys whose grant is risky, customer policy sources and AWS managed ones alike.
  const riskySourceOf = new Map<string, string>();
  for (const policy of inventory.policies.values()) {
    if (!risky(policy.document)) continue;
    if (policy.awsManaged) {
      riskySourceOf.set(lower(policy.arn), awsSourceKey(policy.arn));
      continue;
    }
    const key = policySourceKey(policy.arn);
    riskySourceOf.set(lower(policy.arn), key);
    sources.set(key, {
      key,
      value: `${policy.defaultVersionId}:${digest(policy.document)}`,
      grant: {
        kind: 'policy',
        policyArn: policy.arn,
        versionId: policy.defaultVersionId,
        document: policy.document,
      },
    });
  }
  const links = new Map<string, TrackedLink>();
  // Per group, the keys that make it risky: its risky inline policies and attachments.
  const groupRisk = new Map<string, string[]>();
  const principals = [...inventory.principals].sort((a, b) => order(a.type) - order(b.type));
  for (const principal of principals) {
    const via: string[] = [];
    for (const inline of principal.inline) {
      if (!risky(inline.document)) continue;
      const key = inlineKey(principal.type, principal.name, inline.name);
      sources.set(key, {
        key,
        value: digest(inline.document),
        grant: {
          kind: 'inline',
          principalType: principal.type,
          principalName: principal.name,
          policyName: inline.name,
          document: inline.document,
        },
      });
      via.push(key);
    }
    for (const arn of principal.attached) {
      const key = attachmentKey(principal.type, principal.name, arn);
      const source = riskySourceOf.get(lower(arn));
      links.set(key, {
        key,
        riskyVia: source === undefined ? [] : [source],
        grant: {
          kind: 'attachment',
          principalType: principal.type,
          principalName: principal.name,
          policyArn: inventory.policies.get(lower(arn))?.arn ?? arn,
        },
      });
      if (source !== undefined) via.push(key);
    }
    if (principal.type === 'group') groupRisk.set(lower(principal.name), via);
  }
  // Users come after groups (sorted above), so every group's risk is known here.
  for (const principal of principals) {
    if (principal.type !== 'user') continue;
    for (const group of principal.groups ?? []) {
      const key = membershipKey(principal.name, group);
      links.set(key, {
        key,
        riskyVia: groupRisk.get(lower(group)) ?? [],
        grant: { kind: 'membership', groupName: group, userName: principal.name },
      });
    }
  }
  return { sources, links };
}

// Groups first, so users can inherit their risk.
function order(type: PrincipalType): number {
  return type === 'group' ? 0 : type === 'role' ? 1 : 2;
}

/** The baseline of a first run: everything in force now is accepted. */
export function baselineOf(grants: GrantMap): SweepBaseline {
  return {
    sources: Object.fromEntries([...grants.sources.values()].map((s) => [s.key, s.value])),
    links: [...grants.links.keys()].sort(),
  };
}

/** How an approval record relates to a grant the sweep found. */
export type Coverage = 'covered' | 'in-progress' | 'none';

/** The result of comparing an inventory with the baseline. */
export interface SweepComparison {
  /** New or changed risky grants no approval covers: the sweep starts the workflow for each. */
  readonly findings: readonly SweepGrant[];
  /** New or changed risky grants an approval is handling right now (not accepted yet). */
  readonly inProgress: readonly SweepGrant[];
  /** What the next run compares with. */
  readonly baseline: SweepBaseline;
}

/**
 * Compares the grants in force with the baseline. A risky source whose value is in the baseline, a link
 * that was there before, a harmless link, or a grant an approval covers is accepted. A new risky link
 * whose risk comes only from grants found in this same run is accepted too: containing those contains
 * it, and their approval shows who they reach. Findings and grants in progress are left out of the new
 * baseline, so they are looked at again next time until they are covered or gone.
 */
export async function compareWithBaseline(
  grants: GrantMap,
  baseline: SweepBaseline,
  coverage: (grant: SweepGrant) => Promise<Coverage>,
): Promise<SweepComparison> {
  const findings: SweepGrant[] = [];
  const inProgress: SweepGrant[] = [];
  const sources: Record<string, string> = {};
  const found = new Set<string>();
  for (const source of grants.sources.values()) {
    if (Object.hasOwn(baseline.sources, source.key) && baseline.sources[source.key] === source.value) {
      sources[source.key] = source.value;
      continue;
    }
    const covered = await coverage(source.grant);
    if (covered === 'covered') sources[source.key] = source.value;
    else if (covered === 'in-progress') inProgress.push(source.grant);
    else {
      findings.push(source.grant);
      found.add(source.key);
    }
  }
  const knownLinks = new Set(baseline.links);
  const links: string[] = [];
  const pendingLinks: TrackedLink[] = [];
  for (const link of grants.links.values()) {
    if (knownLinks.has(link.key) || link.riskyVia.length === 0) links.push(link.key);
    else pendingLinks.push(link);
  }
  // Attachments before memberships: a membership that is risky only through a new attachment found in
  // this run is accepted with it.
  pendingLinks.sort((a, b) => Number(a.grant.kind === 'membership') - Number(b.grant.kind === 'membership'));
  for (const link of pendingLinks) {
    if (link.riskyVia.every((key) => found.has(key))) {
      links.push(link.key);
      continue;
    }
    const covered = await coverage(link.grant);
    if (covered === 'covered') links.push(link.key);
    else if (covered === 'in-progress') inProgress.push(link.grant);
    else {
      findings.push(link.grant);
      found.add(link.key);
    }
  }
  return { findings, inProgress, baseline: { sources, links: links.sort() } };
}

/** A short name for a grant, for reports. */
export function describeSweepGrant(grant: SweepGrant): string {
  switch (grant.kind) {
    case 'policy':
      return `default version ${grant.versionId} of ${grant.policyArn}`;
    case 'inline':
      return `inline policy ${grant.policyName} on ${grant.principalType} ${grant.principalName}`;
    case 'attachment':
      return `${grant.policyArn} attached to ${grant.principalType} ${grant.principalName}`;
    case 'membership':
      return `user ${grant.userName} in group ${grant.groupName}`;
  }
}
