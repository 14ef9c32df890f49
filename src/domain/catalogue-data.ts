import { ConfigError } from '../errors';
import { type ActionCatalogue, type CatalogueData, catalogueFromData } from './catalogue';

const REBUILD_HINT = 'run `npm run build:catalogue` (or `npm ci`, which builds it) to generate it';

let loaded: ActionCatalogue | undefined;

/**
 * The IAM action catalogue generated at build time by `scripts/build-catalogue.ts`, loaded once and then
 * shared. It is loaded with `require` on a literal path, not a typed JSON import, so type-checking does not
 * depend on the generated file existing and esbuild still bundles it into the Lambda artefact.
 *
 * @throws ConfigError when the generated file is missing or not shaped like {@link CatalogueData}; failures
 *   are not memoised, so a later call after building the catalogue succeeds.
 */
export function loadGeneratedCatalogue(): ActionCatalogue {
  if (loaded) return loaded;
  let raw: unknown;
  try {
    raw = require('../../generated/iam-catalogue.json');
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'MODULE_NOT_FOUND') {
      throw new ConfigError(
        `The IAM action catalogue generated/iam-catalogue.json is missing; ${REBUILD_HINT}`,
        {
          cause: error,
        },
      );
    }
    throw new ConfigError(
      `The IAM action catalogue generated/iam-catalogue.json cannot be read (${describeError(error)}); ${REBUILD_HINT}`,
      { cause: error },
    );
  }
  loaded = catalogueFromData(checkCatalogueData(raw));
  return loaded;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// The file is generated, but a stale or hand-edited copy must fail loudly here rather than make every
// wildcard expand to nothing further down.
function checkCatalogueData(raw: unknown): CatalogueData {
  const problem = findShapeProblem(raw);
  if (problem) {
    throw new ConfigError(
      `The IAM action catalogue generated/iam-catalogue.json is malformed (${problem}); ${REBUILD_HINT}`,
    );
  }
  return raw as CatalogueData;
}

function findShapeProblem(raw: unknown): string | undefined {
  if (!isRecord(raw)) return 'not a JSON object';
  if (typeof raw.source !== 'string') return '"source" is not a string';
  if (typeof raw.generatedFrom !== 'string') return '"generatedFrom" is not a string';
  if (!isRecord(raw.services)) return '"services" is not an object';
  const entries = Object.entries(raw.services);
  if (entries.length === 0) return '"services" is empty';
  for (const [service, actions] of entries) {
    if (!Array.isArray(actions)) return `services.${service} is not an array`;
    if (!actions.every((action) => typeof action === 'string' && action !== '')) {
      return `services.${service} holds a value that is not a non-empty string`;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
