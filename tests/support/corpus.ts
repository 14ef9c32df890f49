import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** One AWS managed policy of the shared corpus. */
export interface CorpusPolicy {
  readonly versionId: string;
  readonly document: unknown;
}

/**
 * The shared corpus of 1,523 real AWS managed policies lives beside the repository (`../shared`),
 * both here and in CI; POLICY_GATE_CORPUS points elsewhere if needed.
 */
export const CORPUS_PATH = resolve(
  process.env.POLICY_GATE_CORPUS ??
    join(__dirname, '..', '..', '..', 'shared', 'corpus', 'aws-managed-policies.json'),
);

let cached: Record<string, CorpusPolicy> | undefined;

/** Loads the corpus; fails loudly (never skips) when it is missing. */
export function loadCorpus(): Record<string, CorpusPolicy> {
  if (!cached) {
    if (!existsSync(CORPUS_PATH)) {
      throw new Error(`corpus not found at ${CORPUS_PATH}; set POLICY_GATE_CORPUS to its path`);
    }
    cached = JSON.parse(readFileSync(CORPUS_PATH, 'utf8')) as Record<string, CorpusPolicy>;
  }
  return cached;
}
