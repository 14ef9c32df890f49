/**
 * `npm run slack:manifest -- --stage <stage>`: prints the Slack app manifest for a deployed stage (see
 * src/cli/slack-manifest-command.ts). Credentials, profile and endpoint come from the usual AWS SDK
 * environment (`AWS_PROFILE`, `AWS_ENDPOINT_URL_CLOUDFORMATION`, ...).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { runSlackManifest } from '../src/cli/slack-manifest-command';

/** Exit status for a bug in PolicyGate itself, as in src/cli/run.ts. */
const EXIT_INTERNAL = 3;

runSlackManifest(process.argv.slice(2), {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  cloudFormation: (region) => new CloudFormationClient({ region }),
}).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(
      `slack-manifest: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = EXIT_INTERNAL;
  },
);
