import { parseArgs } from 'node:util';
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { NotFoundError, PolicyGateError } from '../errors';
import { slackAppManifest } from '../slack/manifest';
import { EXIT_BAD_INPUT, EXIT_CLEAN, UsageError } from './check-command';

/**
 * `npm run slack:manifest -- --stage <stage>`: prints the Slack app manifest for a deployed stage, with the
 * interactivity URL read from the stack's outputs. Everything from outside (output streams, the
 * CloudFormation client) comes through {@link SlackManifestIo}, so tests run it in process.
 */

/** Exit status when the CloudFormation call itself fails (credentials, permissions, network). */
export const EXIT_AWS_FAILURE = 1;

/**
 * The stack output holding the interactivity Function URL. The Serverless Framework names a function URL's
 * output `<FunctionName>LambdaFunctionUrl` with the first letter upper-cased; the function is `slackInteractivity`.
 */
export const SLACK_INTERACTIVITY_OUTPUT_KEY = 'SlackInteractivityLambdaFunctionUrl';

/** serverless.yml deploys to us-east-1 unless `--region` is given (IAM events reach EventBridge only there). */
export const DEFAULT_REGION = 'us-east-1';

/** What the command uses of the CloudFormation client. */
export type StackReader = Pick<CloudFormationClient, 'send' | 'destroy'>;

/** What the command needs from the outside world. */
export interface SlackManifestIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * A CloudFormation client for `region`. Called only when the URL has to be looked up; the command destroys
   * the client when done. Endpoint and credentials are the SDK's business (`AWS_ENDPOINT_URL_CLOUDFORMATION`,
   * `AWS_PROFILE`, ...).
   */
  cloudFormation(region: string): StackReader;
}

export const SLACK_MANIFEST_USAGE = `Usage: npm run slack:manifest -- --stage STAGE [--region REGION] [--stack NAME] [--url URL] [--name NAME]

Prints the Slack app manifest (JSON) for PolicyGate's Slack app of one stage: bot scopes chat:write,
users:read, users:read.email, usergroups:read, channels:history, groups:history, and the interactivity request URL of the deployed
slackInteractivity function, read from the CloudFormation output ${SLACK_INTERACTIVITY_OUTPUT_KEY}.

Options:
  --stage STAGE    the deployed stage (required)
  --region REGION  region of the stack (default ${DEFAULT_REGION}, as serverless.yml)
  --stack NAME     stack name (default policy-gate-STAGE)
  --url URL        use this interactivity URL instead of looking it up (no AWS call)
  --name NAME      Slack app name (default "PolicyGate (STAGE)", at most 35 characters)
  -h, --help       show this help

Exit status: 0 manifest printed, 1 the CloudFormation call failed (credentials, permissions, network),
2 bad usage, stack or output missing, or a value Slack would reject.`;

interface ManifestArgs {
  stage: string;
  region: string;
  stack: string;
  url: string | undefined;
  name: string | undefined;
}

// Region names as AWS forms them: us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1, ...
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const STACK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** The stack serverless.yml creates for `stage`. */
export function defaultStackName(stage: string): string {
  return `policy-gate-${stage}`;
}

function parseManifestArgs(args: string[]): ManifestArgs | 'help' {
  let parsed: ReturnType<typeof parseRaw>;
  try {
    parsed = parseRaw(args);
  } catch (error) {
    // node:util parseArgs reports unknown options and missing values as TypeErrors with a readable message.
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const stage = values.stage;
  if (stage === undefined || stage === '') throw new UsageError('--stage is required');
  if (!/^[A-Za-z0-9-]+$/.test(stage)) {
    throw new UsageError(`--stage ${JSON.stringify(stage)}: use letters, digits and hyphens only`);
  }
  if (values.url !== undefined && (values.region !== undefined || values.stack !== undefined)) {
    throw new UsageError('--url replaces the stack lookup: leave out --region and --stack');
  }
  const region = values.region ?? DEFAULT_REGION;
  if (!REGION_PATTERN.test(region)) {
    throw new UsageError(`--region ${JSON.stringify(region)} is not an AWS region`);
  }
  const stack = values.stack ?? defaultStackName(stage);
  if (!STACK_NAME_PATTERN.test(stack)) {
    throw new UsageError(`--stack ${JSON.stringify(stack)} is not a CloudFormation stack name`);
  }
  return { stage, region, stack, url: values.url, name: values.name };
}

function parseRaw(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      stage: { type: 'string' },
      region: { type: 'string' },
      stack: { type: 'string' },
      url: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A CloudFormation call that failed for a reason outside PolicyGate (credentials, permissions, network). */
class StackLookupError extends PolicyGateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackLookupError';
  }
}

/**
 * Reads the interactivity URL from the outputs of `stackName`.
 *
 * @throws NotFoundError when the stack or its output does not exist; StackLookupError when the call fails.
 */
export async function lookupInteractivityUrl(
  client: StackReader,
  stackName: string,
  region: string,
  stage: string,
): Promise<string> {
  const deploy = `sls deploy --stage ${stage}${region === DEFAULT_REGION ? '' : ` --region ${region}`}`;
  let stacks: Awaited<ReturnType<typeof describe>>;
  try {
    stacks = await describe(client, stackName);
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    // CloudFormation answers an unknown stack name with a plain ValidationError, told apart only by its text.
    if (name === 'ValidationError' && /does not exist/i.test(message)) {
      throw new NotFoundError(`stack ${stackName} not found in ${region}: run \`${deploy}\` first`, {
        cause: error,
      });
    }
    throw new StackLookupError(
      `cannot read stack ${stackName} in ${region}: ${name}: ${message} (or pass --url to skip the lookup)`,
      { cause: error },
    );
  }
  const stack = stacks.find((s) => s.StackName === stackName) ?? stacks[0];
  if (stack === undefined) {
    throw new NotFoundError(`stack ${stackName} not found in ${region}: run \`${deploy}\` first`);
  }
  const value = stack.Outputs?.find((o) => o.OutputKey === SLACK_INTERACTIVITY_OUTPUT_KEY)?.OutputValue;
  if (value === undefined || value.trim() === '') {
    throw new NotFoundError(
      `stack ${stackName} in ${region} (status ${stack.StackStatus ?? 'unknown'}) has no output ` +
        `${SLACK_INTERACTIVITY_OUTPUT_KEY}: deploy a version with the slackInteractivity function (\`${deploy}\`)`,
    );
  }
  return value.trim();
}

async function describe(client: StackReader, stackName: string) {
  const output = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  return output.Stacks ?? [];
}

function nextSteps(stage: string, region: string, source: string, botName: string): string {
  return `Slack app manifest for stage ${stage} printed on stdout (interactivity URL ${source}).
Next steps:
  1. https://api.slack.com/apps -> Create New App -> From an app manifest -> pick the workspace, paste the JSON.
  2. Install the app to the workspace; note the Bot User OAuth Token (xoxb-...) and, under Basic
     Information, the Signing Secret.
  3. Invite the bot to the approval channel: /invite @${botName}
  4. Note the ids the stage settings need: slackTeamId (T..., from auth.test or the workspace URL),
     slackAppId (A..., Basic Information -> App Credentials) and, in an Enterprise Grid, slackEnterpriseId (E...).
  5. Put each credential, as plain text, into its own secret, from a file you delete afterwards (keeps it
     out of shell history; printf adds no trailing newline):
     aws secretsmanager put-secret-value --region ${region} --secret-id policy-gate/${stage}/slack-bot-token \\
       --secret-string file://bot-token.txt
     aws secretsmanager put-secret-value --region ${region} --secret-id policy-gate/${stage}/slack-signing-secret \\
       --secret-string file://signing-secret.txt
`;
}

/**
 * Runs the slack-manifest command. Returns the exit status; the manifest goes to stdout, hints and errors
 * to stderr. Expected failures (usage, missing stack or output, a URL Slack would reject) are reported as
 * one line, never a stack trace; anything else is a bug and is thrown.
 */
export async function runSlackManifest(args: string[], io: SlackManifestIo): Promise<number> {
  const prefix = 'slack-manifest';
  let parsed: ManifestArgs | 'help';
  try {
    parsed = parseManifestArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${prefix}: ${error.message}\n\n${SLACK_MANIFEST_USAGE}\n`);
    return EXIT_BAD_INPUT;
  }
  if (parsed === 'help') {
    io.stdout(`${SLACK_MANIFEST_USAGE}\n`);
    return EXIT_CLEAN;
  }
  const { stage, region, stack, name } = parsed;
  try {
    let url = parsed.url;
    let source = 'as given with --url';
    if (url === undefined) {
      const client = io.cloudFormation(region);
      try {
        url = await lookupInteractivityUrl(client, stack, region, stage);
      } finally {
        client.destroy();
      }
      source = `from stack ${stack} in ${region}`;
    }
    const manifest = slackAppManifest({ stage, interactivityUrl: url, appName: name });
    io.stdout(`${JSON.stringify(manifest, null, 2)}\n`);
    io.stderr(nextSteps(stage, region, source, manifest.features.bot_user.display_name));
    return EXIT_CLEAN;
  } catch (error) {
    if (!(error instanceof PolicyGateError)) throw error;
    io.stderr(`${prefix}: ${error.message}\n`);
    return error instanceof StackLookupError ? EXIT_AWS_FAILURE : EXIT_BAD_INPUT;
  }
}
