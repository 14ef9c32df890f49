/**
 * Every Lambda function as it ships: each function of serverless.yml bundled with the options the package
 * uses (scripts/lambda-esbuild.js), each loaded as its own module graph (as its own Lambda container
 * would be), and the whole gate run on them against the stand-ins: quarantine, the Slack request, an
 * Approve click and the restore; a Deny through the e-mail page and the denial recorded; a harmless change
 * notified; a malformed event failing into HandleFailure; the sweep, and the Slack delivery worker posting
 * a request Slack missed.
 *
 * Also what each bundle holds: only the clients its function uses (the composition per function), no Bolt
 * outside the interactivity function, none of Bolt's unused receivers, no credential source but the
 * environment, and the IAM action catalogue as a file beside it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreatePolicyCommand } from '@aws-sdk/client-iam';
import { bundleLambda, type LambdaBundle, serverlessFunctions } from '../../bench/lambda-bundles';
import { type Sandbox, type SandboxHandlers, SLACK_USERS, startSandbox } from '../../local/sandbox';
import { APPROVE_ACTION_ID } from '../../src/slack/messages/approval-message';
import { eventually, mails } from '../support/approvals';
import { formBodyOf, linksInMail, postForm } from '../support/decision-page';
import { PACKAGE_TIMEOUT_MS } from '../support/packaging';
import { pendingApproval } from '../support/slack';

const { functions } = serverlessFunctions();
let outDir: string;
const bundles = new Map<string, LambdaBundle>();

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'policy-gate-bundles-'));
  for (const fn of functions) bundles.set(fn.name, await bundleLambda(fn, join(outDir, fn.name)));
}, PACKAGE_TIMEOUT_MS);

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

/** The packages a bundle holds (`@aws-sdk/client-iam`, `express`, ...), from esbuild's metafile. */
function packagesIn(bundle: LambdaBundle): Set<string> {
  const packages = new Set<string>();
  for (const input of Object.keys(bundle.metafile.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.add(match[1] as string);
  }
  return packages;
}

/** Each bundle required afresh: its own configuration and clients, read from the sandbox's environment. */
function loadBundles(): SandboxHandlers {
  const handlers: Record<string, unknown> = {};
  for (const [name, bundle] of bundles) {
    delete require.cache[bundle.file];
    handlers[name] = (require(bundle.file) as { handler: unknown }).handler;
  }
  return handlers as unknown as SandboxHandlers;
}

const risky = (name: string) =>
  new CreatePolicyCommand({
    PolicyName: name,
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
    }),
  });

describe('what each bundle holds', () => {
  const SLACK_FUNCTION = 'slackInteractivity';
  // What a function must not load: clients of services its role does not let it call, and Slack where it
  // never posts.
  const NOT_IN: Readonly<Record<string, readonly string[]>> = {
    // No Slack secret and no Slack client: a request a forged event id froze is left for the delivery
    // worker to say so.
    analyseChange: [
      '@slack/web-api',
      '@aws-sdk/client-sns',
      '@aws-sdk/client-sfn',
      '@aws-sdk/client-sqs',
      '@aws-sdk/client-secrets-manager',
    ],
    requestApproval: ['@aws-sdk/client-iam', '@aws-sdk/client-cloudtrail', '@aws-sdk/client-sfn'],
    restoreChange: ['@aws-sdk/client-cloudtrail', '@aws-sdk/client-sfn'],
    recordOutcome: [
      '@aws-sdk/client-iam',
      '@aws-sdk/client-kms',
      '@aws-sdk/client-cloudtrail',
      '@aws-sdk/client-sfn',
    ],
    notifyChange: [
      '@aws-sdk/client-iam',
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/client-kms',
      '@aws-sdk/client-sfn',
    ],
    handleFailure: [
      '@aws-sdk/client-iam',
      '@aws-sdk/client-kms',
      '@aws-sdk/client-cloudtrail',
      '@aws-sdk/client-sfn',
    ],
    slackInteractivity: ['@aws-sdk/client-iam', '@aws-sdk/client-sns', '@aws-sdk/client-sqs'],
    emailDecision: ['@aws-sdk/client-iam', '@aws-sdk/client-sns', '@aws-sdk/client-sqs', '@slack/bolt'],
    // The sweep holds no Slack secret: posting what Slack missed is the delivery worker's.
    reconciliationSweep: ['@slack/web-api', '@aws-sdk/client-secrets-manager'],
    // The delivery worker acts in no account and starts nothing.
    slackDelivery: [
      '@aws-sdk/client-iam',
      '@aws-sdk/client-sts',
      '@aws-sdk/client-cloudtrail',
      '@aws-sdk/client-sfn',
      '@aws-sdk/client-sqs',
    ],
  };

  test('every function of serverless.yml is bundled, and each declares what it must not load', () => {
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(Object.keys(NOT_IN)).toContain(fn.name);
    }
  });

  test.each(Object.entries(NOT_IN))('%s loads no client it does not use', (name, forbidden) => {
    const bundle = bundles.get(name);
    if (!bundle) throw new Error(`serverless.yml has no function ${name}`);
    const packages = packagesIn(bundle);
    expect(forbidden.filter((p) => packages.has(p))).toEqual([]);
  });

  test('only the interactivity function loads Bolt, and without its unused receivers', () => {
    for (const [name, bundle] of bundles) {
      const packages = packagesIn(bundle);
      if (name !== SLACK_FUNCTION) expect([name, packages.has('@slack/bolt')]).toEqual([name, false]);
    }
    const slack = packagesIn(bundles.get(SLACK_FUNCTION) as LambdaBundle);
    expect(slack.has('@slack/bolt')).toBe(true);
    for (const unused of ['@slack/socket-mode', '@slack/oauth', 'express', 'undici', 'ws', 'jsonwebtoken']) {
      expect([unused, slack.has(unused)]).toEqual([unused, false]);
    }
  });

  test('the IAM action catalogue is a file beside each bundle, not code every cold start parses', () => {
    for (const [name, bundle] of bundles) {
      const inlined = Object.keys(bundle.metafile.inputs).filter((input) =>
        input.endsWith('iam-catalogue.json'),
      );
      expect([name, inlined]).toEqual([name, []]);
      expect([name, existsSync(join(dirname(bundle.file), 'iam-catalogue.json'))]).toEqual([name, true]);
    }
  });

  test('no bundle holds a credential source but the environment', () => {
    for (const [name, bundle] of bundles) {
      const packages = [...packagesIn(bundle)];
      const sources = packages.filter((p) => /credential-provider|nested-clients|token-providers/.test(p));
      expect([name, sources]).toEqual([name, ['@aws-sdk/credential-provider-env']]);
    }
  });
});

describe('the gate running on the bundles', () => {
  let sandbox: Sandbox | undefined;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  test('quarantine, Slack approval and restore; e-mail denial; notice; failure; sweep and recovery', async () => {
    // Prepare
    const s = await startSandbox({ handlers: loadBundles() });
    sandbox = s;
    const approved = await s.developer.send(risky('approved-by-slack'));
    const first = await pendingApproval(s);
    const denied = await s.developer.send(risky('denied-by-mail'));
    const second = await pendingApproval(s, { except: [first] });
    // Act
    const click = await s.click(SLACK_USERS.ana.id, APPROVE_ACTION_ID, first);
    const form = formBodyOf(await (await fetch(linksInMail(s, second).deny ?? '')).text()) ?? '';
    const posted = await postForm(s.decisionPage.url, form);
    await s.developer.send(
      new CreatePolicyCommand({
        PolicyName: 'read-only',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    const failed = await s.sfn.startExecution({
      'detail-type': 'AWS API Call via CloudTrail',
      detail: { eventSource: 'iam.amazonaws.com' },
    }).done;
    const results = await s.settle();
    // One more request while Slack is down: only the delivery worker's bundle can post it.
    s.slack.setDown(true);
    await s.developer.send(risky('posted-late'));
    const late = await pendingApproval(s, { withMessage: false, except: [first, second] });
    // The request step has given up on Slack once the e-mail (sent after its one attempt) is out.
    await eventually(() =>
      mails(s, /approval needed/).some((mail) => mail.message.includes(`Approval id: ${late}`)),
    );
    s.slack.setDown(false);
    const unposted = await s.store.get(late);
    const sweep = await s.sweep();
    const afterSweep = await s.store.get(late);
    // The run before already used the channel's posting allowance (Slack's limits are on): a worker run
    // that meets the limit leaves the request for its next run, as the schedule would run it.
    const runs: Awaited<ReturnType<Sandbox['recoverSlack']>>[] = [];
    for (let run = 0; run < 5 && !runs.some((r) => (r?.posted.length ?? 0) > 0); run += 1) {
      if (run > 0) await new Promise((resolve) => setTimeout(resolve, 1_100));
      runs.push(await s.recoverSlack());
    }
    const recovery = { ...runs.at(-1), posted: runs.flatMap((r) => r?.posted ?? []) };
    const delivered = await s.store.get(late);
    // Assess
    expect(click.status).toBe(200);
    expect(posted.status).toBe(303);
    expect(await s.store.get(first)).toMatchObject({ status: 'RESTORED' });
    expect(await s.store.get(second)).toMatchObject({
      status: 'DENIED',
      outcome: { result: 'KEPT_QUARANTINED' },
    });
    const inForce = (arn: string | undefined) =>
      s.iam.getPolicy(arn as string)?.versions.find((v) => v.isDefaultVersion)?.versionId;
    expect(inForce(approved.Policy?.Arn)).toBe('v1');
    expect(inForce(denied.Policy?.Arn)).not.toBe('v1');
    expect(results.map((r) => r.history.at(-1))).toEqual(expect.arrayContaining(['Restored', 'Denied']));
    expect(results.some((r) => r.history.includes('NotifyChange'))).toBe(true);
    expect(failed.history).toEqual(['AnalyseChange', 'HandleFailure', 'Failed']);
    expect(mails(s, /workflow failed/)).toHaveLength(1);
    // The trail is fine and every risky grant has its approval: the sweep starts nothing, posts nothing.
    expect(sweep).toMatchObject({ deliveringTrails: ['management-events'], started: [], redriven: 0 });
    expect([unposted?.slackMessage, afterSweep?.slackMessage]).toEqual([undefined, undefined]);
    // The delivery worker posts the request Slack missed, with the token, seals and store it alone has.
    expect(recovery).toMatchObject({ posted: [late], reposted: [], tampered: [], slackDown: false });
    expect(delivered?.slackMessage).toBeDefined();
  });
});
