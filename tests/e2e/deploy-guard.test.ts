/**
 * scripts/deploy-guard.js as `serverless package` (which `serverless deploy` runs first) really loads it: the real
 * osls packaging of serverless.yml, offline and without AWS credentials, refuses a stack PolicyGate cannot
 * protect (outside us-east-1, a production stage nobody would hear from or without a deployer, a Slack channel
 * without its workspace) before anything is packaged, and packages a production stage once its settings are
 * given (`--param` counts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  PACKAGE_TIMEOUT_MS,
  serverlessPackage as packageOnce,
  type PackageRun as Run,
  withPackagingLock,
} from '../support/packaging';

/** Every run starts at once; the one that packages may first wait for another packaging of this tree. */
const SETUP_TIMEOUT_MS = 3 * PACKAGE_TIMEOUT_MS + 10_000;
const packageDirs: string[] = [];

async function serverlessPackage(args: string[]): Promise<Run> {
  const run = await packageOnce(args);
  packageDirs.push(run.packageDir);
  return run;
}

const SLACK_WORKSPACE_PARAMS = ['--param=slackTeamId=T0123456789', '--param=slackAppId=A0123456789'];
const DEPLOYER_PARAM = '--param=deployerRoleArn=arn:aws:iam::123456789012:role/policy-gate-deployer';
const PROD_PARAMS = [
  '--param=alertEmail=security@example.com',
  '--param=slackChannelId=C0123456789',
  ...SLACK_WORKSPACE_PARAMS,
  DEPLOYER_PARAM,
];

let prodWithoutSettings: Run;
let prodWithAlertEmailOnly: Run;
let ciInEurope: Run;
let prodWithSettings: Run;
let ciWithChannelOnly: Run;
let prodWithoutDeployer: Run;
let ciWithBadEmailDecisions: Run;

/** `serverless package` under this working tree's packaging lock. */
const locked = (args: string[]) => withPackagingLock(() => serverlessPackage(args));

beforeAll(async () => {
  [
    prodWithoutSettings,
    prodWithAlertEmailOnly,
    ciInEurope,
    prodWithSettings,
    ciWithChannelOnly,
    prodWithoutDeployer,
    ciWithBadEmailDecisions,
  ] = await Promise.all([
    // One at a time, and never beside another suite's packaging: even a run the guard refuses starts the
    // framework in this working tree, which may touch the build directories a packaging is using.
    locked(['--stage', 'prod']),
    locked(['--stage', 'prod', '--param=alertEmail=security@example.com']),
    locked(['--stage', 'ci', '--region', 'eu-west-1']),
    locked(['--stage', 'prod', ...PROD_PARAMS]),
    locked(['--stage', 'ci', '--param=slackChannelId=C0123456789']),
    locked(['--stage', 'prod', ...PROD_PARAMS.filter((param) => param !== DEPLOYER_PARAM)]),
    locked(['--stage', 'ci', '--param=emailDecisions=yes']),
  ]);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  for (const dir of packageDirs) rmSync(dir, { recursive: true, force: true });
});

describe('the deploy guard, loaded by serverless package', () => {
  test('refuses the production stage without alertEmail, slackChannelId and deployerRoleArn, before packaging', () => {
    // Act
    const { code, output, packaged } = prodWithoutSettings;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toContain('PolicyGate refuses to deploy');
    expect(output).toMatch(/\balertEmail\b/);
    expect(output).toMatch(/\bslackChannelId\b/);
    expect(output).toMatch(/\bdeployerRoleArn\b/);
    expect(packaged).toEqual([]);
  });

  test('names only the settings still missing when one is given with --param', () => {
    // Act
    const { code, output, packaged } = prodWithAlertEmailOnly;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toMatch(/\bslackChannelId\b/);
    expect(output).toMatch(/\bdeployerRoleArn\b/);
    expect(output).not.toMatch(/\balertEmail\b/);
    expect(packaged).toEqual([]);
  });

  test('refuses the production stage without deployerRoleArn, naming only it', () => {
    // Act
    const { code, output, packaged } = prodWithoutDeployer;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toMatch(/\bdeployerRoleArn\b/);
    expect(output).not.toMatch(/\b(alertEmail|slackChannelId|slackTeamId|slackAppId)\b/);
    expect(packaged).toEqual([]);
  });

  test('refuses any stage with a Slack channel but no workspace team id and app id', () => {
    // Act
    const { code, output, packaged } = ciWithChannelOnly;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toMatch(/\bslackTeamId\b/);
    expect(output).toMatch(/\bslackAppId\b/);
    expect(packaged).toEqual([]);
  });

  test('refuses an emailDecisions other than off, deny-only or on, before packaging', () => {
    // Act
    const { code, output, packaged } = ciWithBadEmailDecisions;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toMatch(/emailDecisions must be "off", "deny-only" or "on"/);
    expect(packaged).toEqual([]);
  });

  test('refuses a region other than us-east-1, naming us-east-1, before packaging anything', () => {
    // Act
    const { code, output, packaged } = ciInEurope;
    // Assess
    expect(code).not.toBe(0);
    expect(output).toContain('PolicyGate refuses to deploy');
    expect(output).toContain('us-east-1');
    expect(output).toContain('eu-west-1');
    expect(packaged).toEqual([]);
  });

  test('packages the production stage given its settings with --param, and the template uses them', () => {
    // Prepare
    const { code, output, packaged, packageDir } = prodWithSettings;
    // A failed packaging says why, rather than as a missing template file.
    if (code !== 0) throw new Error(`serverless package exited ${code}: ${output.slice(-3000)}`);
    // Act
    const template = JSON.parse(
      readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const subscription = template.Resources.AlertEmailSubscription?.Properties;
    const channels = Object.values(template.Resources)
      .filter(({ Type }) => Type === 'AWS::Lambda::Function')
      .map(({ Properties }) => (Properties.Environment as { Variables: Record<string, unknown> }).Variables);
    // Assess
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('Service packaged') });
    expect(output).not.toContain('PolicyGate refuses to deploy');
    expect(packaged).toEqual(
      expect.arrayContaining(['cloudformation-template-update-stack.json', 'analyseChange.zip']),
    );
    expect(subscription).toMatchObject({ Protocol: 'email', Endpoint: 'security@example.com' });
    expect(channels.length).toBeGreaterThan(0);
    for (const variables of channels) {
      expect(variables).toMatchObject({
        STAGE: 'prod',
        SLACK_CHANNEL_ID: 'C0123456789',
        SLACK_TEAM_ID: 'T0123456789',
        SLACK_APP_ID: 'A0123456789',
      });
    }
  });
});
