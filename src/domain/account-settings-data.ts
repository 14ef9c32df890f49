/**
 * The per-account settings document shipped beside each function's code (issue 13): the deploy guard
 * validates `accountSettingsFile` and the build writes it, as compact JSON, as `account-settings.json` beside
 * the bundle (scripts/lambda-esbuild.js), because Lambda's 4 KB environment cannot carry a large
 * organization's settings. Read with `require` on a literal path, as the IAM catalogue is, so the bundler
 * leaves it a file beside the bundle (in the sources, `generated/account-settings.json`).
 *
 * @returns the document as JSON text, for the strict parser to validate again
 * @throws Error when the file is missing or not JSON: the caller refuses to start (never the stage's
 *   settings instead, which would let the stage's approvers decide in an OU that has its own)
 */
export function readBundledAccountSettings(): string {
  // require keeps a successful read (config() memoises its result anyway) and tries a failed one again.
  const raw: unknown = require('../../generated/account-settings.json');
  return JSON.stringify(raw);
}
