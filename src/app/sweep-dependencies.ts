import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { DynamoApprovalStore } from '../adapters/approval-store';
import { SqsDeadLetterQueue } from '../adapters/dead-letter-queue';
import { IamInventorySource } from '../adapters/iam-inventory';
import { KmsSealKey } from '../adapters/kms-seal-key';
import { SnsNotifier } from '../adapters/notifier';
import { DynamoSweepCursor } from '../adapters/sweep-cursor-store';
import { DynamoSweepStateStore } from '../adapters/sweep-state-store';
import { CloudTrailInspector } from '../adapters/trail-inspector';
import { SfnWorkflowStarter } from '../adapters/workflow-starter';
import { config } from '../config';
import { riskTest } from '../domain/change-analysis';
import { ConfigError } from '../errors';
import { createLogger } from '../logger';
import { accountIndex, memberRoleArns } from '../services/account-routing';
import { OrganizationSweep } from '../services/organization-sweep';
import { RecordSeals } from '../services/record-seals';
import { SweepService } from '../services/sweep-service';
import { organizationDirectory, partitionOfRegion } from './account-dependencies';
import { memberIamClients } from './account-iam';

let cached: SweepService | OrganizationSweep | undefined;

/**
 * The reconciliation sweep's composition root: only the clients it uses, built once per container.
 * Endpoints come only from the SDK's `AWS_ENDPOINT_URL_*` variables. No Slack: the delivery worker is its
 * own function (slack-delivery-dependencies.ts), so this role holds no bot token and this bundle no
 * Slack client.
 */
export function sweepService(): SweepService | OrganizationSweep {
  if (cached) return cached;
  const cfg = config();
  if (!cfg.sweep) throw new ConfigError('the reconciliation sweep needs SWEEP_STATE_TABLE and its settings');
  const { sweep } = cfg;
  const region = { region: cfg.region };
  const documents = (client: DynamoDBClient) =>
    DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const dynamo = new DynamoDBClient(region);
  const kms = new KMSClient(region);
  const seals = new RecordSeals({
    ...(cfg.recordSealKeyId && { record: new KmsSealKey(kms, cfg.recordSealKeyId) }),
    ...(cfg.decisionSealKeyId && { decision: new KmsSealKey(kms, cfg.decisionSealKeyId) }),
  });
  const logger = createLogger('policy-gate-sweep');
  const approvals = new DynamoApprovalStore(documents(dynamo), cfg.approvalsTable);
  const notifier = new SnsNotifier(new SNSClient(region), cfg.alertTopicArn);
  const iam = new IAMClient(region);
  const shared = {
    starter: new SfnWorkflowStarter(new SFNClient(region), sweep.stateMachineArn),
    deadLetters: new SqsDeadLetterQueue(new SQSClient(region), sweep.deadLetterQueueUrl),
    trails: new CloudTrailInspector(new CloudTrailClient(region)),
    notifier,
    isRisky: riskTest(cfg.restricted),
    trusts: async (record: Parameters<typeof seals.check>[0]) =>
      (await seals.check(record, { decision: true })).ok,
    logger,
  };
  const { organization } = cfg;
  const central = new SweepService({
    ...shared,
    inventory: new IamInventorySource(iam),
    state: new DynamoSweepStateStore(documents(dynamo), sweep.stateTable),
    // In an organization, principal names repeat across accounts: only this account's approvals cover.
    approvals: organization ? accountIndex(approvals, sweep.accountId) : approvals,
    settings: { accountId: sweep.accountId, region: cfg.region, ownRoleArns: cfg.ownRoleArns },
  });
  if (!organization) {
    cached = central;
    return cached;
  }
  // Issue 13: every member account too, through its member role, a bounded number per run.
  const clients = memberIamClients(cfg, 'read', iam);
  const partition = partitionOfRegion(cfg.region);
  cached = new OrganizationSweep({
    central,
    directory: organizationDirectory(cfg, organization),
    centralAccountId: sweep.accountId,
    memberSweep: async (accountId) =>
      new SweepService({
        ...shared,
        inventory: new IamInventorySource(await clients.iamFor(accountId, 'sweep')),
        state: new DynamoSweepStateStore(documents(dynamo), sweep.stateTable, `baseline-${accountId}`),
        approvals: accountIndex(approvals, accountId),
        settings: {
          accountId,
          region: cfg.region,
          ownRoleArns: memberRoleArns({ partition, memberRoleName: organization.memberRoleName }, accountId),
          member: true,
        },
      }),
    cursor: new DynamoSweepCursor(documents(dynamo), sweep.stateTable),
    maxAccountsPerRun: sweep.maxAccountsPerRun,
    runBudgetMs: sweep.runBudgetSeconds * 1000,
    cycleMaxSeconds: sweep.cycleMaxSeconds,
    metrics: new EmfAlarmMetrics(cfg.stage),
    notifier,
    logger,
  });
  return cached;
}

/** Forgets the built service (tests that change the environment). */
export function resetSweepService(): void {
  cached = undefined;
}
