import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { type LocalCloudFormationServer, startCloudFormationServer } from '../../local/cloudformation/server';
import {
  runSlackManifest,
  SLACK_INTERACTIVITY_OUTPUT_KEY,
  type SlackManifestIo,
  type StackReader,
} from '../../src/cli/slack-manifest-command';
import { SLACK_BOT_SCOPES } from '../../src/slack/manifest';
import { withEnv } from '../support/env';

const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };
const FUNCTION_URL = 'https://k3x7uu4o2mdyzl5lqpzxmbbhwu0fhnvx.lambda-url.us-east-1.on.aws/';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
  /** Regions the command asked a client for, in order. */
  regions: string[];
  destroyed: number;
}

/** Runs the command in process; clients point at the stand-in unless `clientFor` says otherwise. */
async function run(
  server: LocalCloudFormationServer,
  args: string[],
  clientFor: (region: string) => StackReader = (region) =>
    new CloudFormationClient({ endpoint: server.endpoint, region, credentials: CREDENTIALS, maxAttempts: 1 }),
): Promise<Run> {
  const result: Run = { status: -1, stdout: '', stderr: '', regions: [], destroyed: 0 };
  const io: SlackManifestIo = {
    stdout: (text) => {
      result.stdout += text;
    },
    stderr: (text) => {
      result.stderr += text;
    },
    cloudFormation: (region) => {
      result.regions.push(region);
      const client = clientFor(region);
      return {
        send: client.send.bind(client),
        destroy: () => {
          result.destroyed += 1;
          client.destroy();
        },
      } as StackReader;
    },
  };
  result.status = await runSlackManifest(args, io);
  return result;
}

describe('slack-manifest command against the local CloudFormation stand-in', () => {
  let server: LocalCloudFormationServer;

  beforeAll(async () => {
    server = await startCloudFormationServer();
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    server.deleteStack('policy-gate-x');
    server.putStack('policy-gate-x', {
      ApprovalStateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:policy-gate-x-approval',
      [SLACK_INTERACTIVITY_OUTPUT_KEY]: FUNCTION_URL,
    });
  });

  test('prints the manifest with the deployed Function URL and the next steps', async () => {
    // Prepare
    const callsBefore = server.calls.length;
    // Act
    const result = await run(server, ['--stage', 'x']);
    // Assess
    expect(result.status).toBe(0);
    const manifest = JSON.parse(result.stdout);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: FUNCTION_URL });
    expect(manifest.display_information.name).toBe('PolicyGate (x)');
    expect(manifest.oauth_config.scopes).toEqual({ bot: [...SLACK_BOT_SCOPES] });
    expect(server.calls.slice(callsBefore)).toEqual([{ stackName: 'policy-gate-x' }]);
    expect(result.regions).toEqual(['us-east-1']);
    expect(result.destroyed).toBe(1);
    expect(result.stderr).toContain('https://api.slack.com/apps');
    expect(result.stderr).toContain('policy-gate/x/slack-bot-token');
    expect(result.stderr).toContain('policy-gate/x/slack-signing-secret');
    expect(result.stderr).toContain('/invite @policygate-x');
    expect(result.stderr).not.toContain('"botToken"');
  });

  test('looks in the stack and region given with --stack and --region', async () => {
    // Prepare
    server.putStack('pg-custom', { [SLACK_INTERACTIVITY_OUTPUT_KEY]: 'https://custom.example.com/slack' });
    const callsBefore = server.calls.length;
    // Act
    const result = await run(server, ['--stage', 'x', '--stack', 'pg-custom', '--region', 'eu-west-1']);
    // Assess
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).settings.interactivity.request_url).toBe(
      'https://custom.example.com/slack',
    );
    expect(result.regions).toEqual(['eu-west-1']);
    expect(server.calls.slice(callsBefore)).toEqual([{ stackName: 'pg-custom' }]);
    expect(result.stderr).toContain('--region eu-west-1');
  });

  test('takes the endpoint from AWS_ENDPOINT_URL_CLOUDFORMATION when the client is built the plain way', async () => {
    // Prepare: the client as scripts/slack-manifest.ts builds it, no endpoint in code
    const callsBefore = server.calls.length;
    // Act
    const result = await withEnv(
      {
        AWS_ENDPOINT_URL_CLOUDFORMATION: server.endpoint,
        AWS_ENDPOINT_URL: undefined,
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
      },
      () => run(server, ['--stage', 'x'], (region) => new CloudFormationClient({ region })),
    );
    // Assess
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).settings.interactivity.request_url).toBe(FUNCTION_URL);
    expect(server.calls.length).toBe(callsBefore + 1);
  });

  test('says to deploy first when the stack does not exist, with exit status 2', async () => {
    // Act
    const result = await run(server, ['--stage', 'nope']);
    // Assess
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'slack-manifest: stack policy-gate-nope not found in us-east-1: run `sls deploy --stage nope` first\n',
    );
    expect(result.destroyed).toBe(1);
  });

  test('names the region in the deploy hint when the stack is missing elsewhere', async () => {
    // Act
    const result = await run(server, ['--stage', 'nope', '--region', 'eu-central-1']);
    // Assess
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'not found in eu-central-1: run `sls deploy --stage nope --region eu-central-1` first',
    );
  });

  test('reports a stack without the interactivity output, with its status and exit status 2', async () => {
    // Prepare
    server.putStack('policy-gate-x', { ApprovalsTableName: 'policy-gate-x-approvals' }, 'UPDATE_COMPLETE');
    // Act
    const result = await run(server, ['--stage', 'x']);
    // Assess
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^slack-manifest: stack policy-gate-x in us-east-1 \(status UPDATE_COMPLETE\) has no output SlackInteractivityLambdaFunctionUrl: .*sls deploy --stage x/,
    );
    expect(result.stderr.split('\n').filter((l) => l !== '')).toHaveLength(1);
  });

  test('refuses an output URL that is not https, with exit status 2', async () => {
    // Prepare
    server.putStack('policy-gate-x', { [SLACK_INTERACTIVITY_OUTPUT_KEY]: 'http://insecure.example.com/' });
    // Act
    const result = await run(server, ['--stage', 'x']);
    // Assess
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/must use https/);
  });

  test('with --url, prints the manifest without calling CloudFormation', async () => {
    // Prepare
    const callsBefore = server.calls.length;
    // Act
    const result = await run(server, ['--stage', 'y', '--url', 'https://override.example.com/slack']);
    // Assess
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).settings.interactivity.request_url).toBe(
      'https://override.example.com/slack',
    );
    expect(result.regions).toEqual([]);
    expect(server.calls.length).toBe(callsBefore);
  });

  test('reports a failing CloudFormation call in one line with exit status 1', async () => {
    // Prepare
    server.failNext(1);
    // Act
    const result = await run(server, ['--stage', 'x']);
    // Assess
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^slack-manifest: cannot read stack policy-gate-x in us-east-1: InternalFailure: .*--url/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.destroyed).toBe(1);
  });

  test('prints the usage on --help with exit status 0', async () => {
    // Act
    const result = await run(server, ['--help']);
    // Assess
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run slack:manifest -- --stage STAGE/);
    expect(result.regions).toEqual([]);
  });

  test.each<[string, string[], RegExp]>([
    ['no arguments', [], /--stage is required/],
    ['--stage without a value', ['--stage'], /--stage/],
    ['an empty stage', ['--stage', ''], /--stage is required/],
    ['a stage a stack name cannot hold', ['--stage', 'dev_1'], /--stage "dev_1"/],
    ['an unknown option', ['--stage', 'x', '--colour', 'red'], /Unknown option '--colour'/],
    ['a stray argument', ['--stage', 'x', 'extra'], /unexpected argument "extra"/],
    ['a malformed region', ['--stage', 'x', '--region', 'moon'], /--region "moon" is not an AWS region/],
    ['a malformed stack name', ['--stage', 'x', '--stack', '1bad_name'], /--stack "1bad_name"/],
    [
      '--url together with --region',
      ['--stage', 'x', '--url', FUNCTION_URL, '--region', 'eu-west-1'],
      /leave out --region and --stack/,
    ],
  ])('rejects %s with the usage and exit status 2, without calling AWS', async (_label, args, message) => {
    // Act
    const result = await run(server, args);
    // Assess
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: npm run slack:manifest');
    expect(result.regions).toEqual([]);
  });

  test.each<[string, string[], RegExp]>([
    ['a plain-http --url', ['--stage', 'x', '--url', 'http://example.com/'], /must use https/],
    ['a --name over 35 characters', ['--stage', 'x', '--name', 'n'.repeat(36)], /Slack allows 35/],
  ])('rejects %s with exit status 2 and no manifest', async (_label, args, message) => {
    // Act
    const result = await run(server, [...args, ...(args.includes('--url') ? [] : ['--url', FUNCTION_URL])]);
    // Assess
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});

describe('local CloudFormation stand-in', () => {
  let server: LocalCloudFormationServer;
  let client: CloudFormationClient;

  beforeAll(async () => {
    server = await startCloudFormationServer({
      stacks: { 'policy-gate-a': { Out: 'a & <b>' }, 'policy-gate-b': {} },
    });
    client = new CloudFormationClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await server.close();
  });

  test('listens on loopback only', () => {
    // Assess
    expect(new URL(server.endpoint).hostname).toBe('127.0.0.1');
  });

  test('describes a stack by name and by stack id, escaping output values', async () => {
    // Act
    const byName = await client.send(new DescribeStacksCommand({ StackName: 'policy-gate-a' }));
    const stackId = byName.Stacks?.[0]?.StackId ?? '';
    const byId = await client.send(new DescribeStacksCommand({ StackName: stackId }));
    // Assess
    expect(byName.Stacks?.[0]?.Outputs).toEqual([{ OutputKey: 'Out', OutputValue: 'a & <b>' }]);
    expect(byName.Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
    expect(byName.Stacks?.[0]?.CreationTime).toBeInstanceOf(Date);
    expect(stackId).toMatch(/^arn:aws:cloudformation:us-east-1:123456789012:stack\/policy-gate-a\//);
    expect(byId.Stacks?.map((s) => s.StackName)).toEqual(['policy-gate-a']);
  });

  test('lists every stack when no name is given', async () => {
    // Act
    const result = await client.send(new DescribeStacksCommand({}));
    // Assess
    expect(result.Stacks?.map((s) => s.StackName).sort()).toEqual(['policy-gate-a', 'policy-gate-b']);
  });

  test('answers an unknown stack with the ValidationError CloudFormation sends', async () => {
    // Act
    const error = await client.send(new DescribeStacksCommand({ StackName: 'missing' })).catch((e) => e);
    // Assess
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('Stack with id missing does not exist');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  test('rejects unsigned requests and other actions', async () => {
    // Act
    const unsigned = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeStacks&Version=2010-05-15',
    });
    const unsignedBody = await unsigned.text();
    const otherAction = await client.send(new ListStacksCommand({})).catch((e) => e);
    // Assess
    expect(unsigned.status).toBe(403);
    expect(unsignedBody).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(otherAction.name).toBe('InvalidAction');
    expect(otherAction.message).toMatch(/supports DescribeStacks only/);
  });
});
