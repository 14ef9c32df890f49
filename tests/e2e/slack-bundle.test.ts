/**
 * The interactivity Lambda as it ships: `src/handlers/slack-interactivity.ts` bundled with the options
 * serverless-esbuild bundles it with (scripts/lambda-esbuild.js), loaded as a separate module graph (as a
 * fresh Lambda container would be), behind a local Function URL, answering signed Slack clicks against
 * the stand-ins. Proves the bundle resolves Bolt, the AWS SDK and the catalogue, and reads its endpoints
 * from the environment only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { bundleLambda, serverlessFunctions } from '../../bench/lambda-bundles';
import { type LambdaUrlServer, startLambdaUrlServer } from '../../local/lambda-url/server';
import { type Sandbox, SLACK_SIGNING_SECRET, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';

let outDir: string;
let bundlePath: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'policy-gate-bundle-'));
  const fn = serverlessFunctions().functions.find((f) => f.name === 'slackInteractivity');
  if (!fn) throw new Error('serverless.yml has no slackInteractivity function');
  bundlePath = (await bundleLambda(fn, outDir)).file;
}, 60_000);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

describe('the bundled Slack interactivity handler', () => {
  let sandbox: Sandbox;
  let endpoint: LambdaUrlServer;
  afterEach(async () => {
    await endpoint?.close();
    await sandbox?.close();
  });

  test('verifies signatures and takes an approver’s decision against the stand-ins', async () => {
    // Prepare
    sandbox = await startSandbox();
    const { handler } = require(bundlePath) as {
      handler: (event: unknown, context: unknown) => Promise<unknown>;
    };
    endpoint = await startLambdaUrlServer(handler);
    const created = await sandbox.developer.send(
      new CreatePolicyCommand({
        PolicyName: 'cleanup',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
        }),
      }),
    );
    const message = await sandbox.slack.waitFor(() => sandbox.slack.messages()[0], 20_000);
    const click = (tamper?: 'signature') =>
      sandbox.slack.deliverBlockAction({
        url: endpoint.url,
        signingSecret: SLACK_SIGNING_SECRET,
        user: { id: SLACK_USERS.ana.id },
        action: { actionId: APPROVE_ACTION_ID },
        message: { channel: message.channel, ts: message.ts },
        ...(tamper && { tamper }),
      });
    // Act
    const forged = await click('signature');
    const genuine = await click();
    const results = await sandbox.settle();
    // Assess
    expect(forged.status).toBe(401);
    expect(genuine.status).toBe(200);
    expect(results.some((r) => r.history.includes('Restored'))).toBe(true);
    const policy = sandbox.iam.getPolicy(created.Policy?.Arn as string);
    expect(policy?.versions.find((v) => v.isDefaultVersion)?.versionId).toBe('v1');
  });
});
