#!/usr/bin/env node
// The CLI is bundled by `npm run build` (run automatically by `npm ci` / `npm install`).
try {
  require.resolve('../dist/policy-gate.js');
} catch {
  process.stderr.write(
    'policy-gate: the CLI is not built yet; run `npm run build` in the PolicyGate folder\n',
  );
  process.exit(2);
}
require('../dist/policy-gate.js');
