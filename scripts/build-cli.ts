import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** Bundles the `policy-gate` CLI (catalogue included) into one file, so it starts fast. */
export async function buildCli(outfile = join(__dirname, '..', 'dist', 'policy-gate.js')): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  await build({
    entryPoints: [join(__dirname, '..', 'src', 'cli', 'run.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    define: { POLICY_GATE_VERSION: JSON.stringify(pkg.version) },
    logLevel: 'warning',
  });
  return outfile;
}

if (require.main === module) {
  buildCli().then(
    (file) => console.log(`built ${file}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
