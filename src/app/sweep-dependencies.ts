import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AccountContextSource } from '../adapters/account-approver-directory';
import { AccountRoutedChannel } from '../adapters/account-channel';
import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { DynamoApprovalStore } from '../adapters/approval-store';
import { SqsDeadLetterQueue } from '../adapters/dead-letter-queue';
import { IamInventorySource } from '../adapters/iam-inventory';
import { KmsSealKey } from '../adapters/kms-seal-key';
import { SnsNotifier } from '../adapters/notifier';
import { SlackApprovalChannel } from '../adapters/slack-approval-channel';
import { BOT_TOKEN, SecretsManagerSecret } from '../adapters/slack-credentials';
import { DynamoSweepCursor } from '../adapters/sweep-cursor-store';
import { DynamoSweepStateStore } from '../adapters/sweep-state-store';
import { CloudTrailInspector } from '../adapters/trail-inspector';
import { SfnWorkflowStarter } from '../adapters/workflow-starter';
import { config } from '../config';
import { riskTest } from '../domain/change-analysis';
import { ConfigError } from '../errors';
import { createLogger } from '../logger';
import { accountIndex, memberRoleArns } from '../services/account-routing';
import type { ApprovalChannel } from '../services/approval-channel';
import { OrganizationSweep } from '../services/organization-sweep';
import { RecordSeals } from '../services/record-seals';
import { SlackRecovery } from '../services/slack-recovery';
import { SweepService } from '../services/sweep-service';
import { slackClientFactory } from '../slack/client';
import { accountRouting, organizationDirectory, partitionOfRegion } from './account-dependencies';
import { iamGateway, memberIamClients } from './account-iam';
import { type SlackStores, slackStores } from './parts/slack-stores';

let cached: SweepService | OrganizationSweep | undefined;

/**
 * The reconciliation sweep's composition root: only the clients it uses, built once per container.
 * Endpoints come only from the SDK's `AWS_ENDPOINT_URL_*` variables.
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
  const routing = accountRouting(cfg, {
    index: approvals,
    isRisky: riskTest(cfg.restricted),
    trusts: async (record) => (await seals.check(record, { decision: true })).ok,
    logger,
    iam: memberIamClients(cfg, 'read'),
    gatewayOf: iamGateway,
  });
  // The Slack recovery needs the bot token and the channel; a stage without them has no Slack to recover.
  const stores = slackStores(cfg, approvals, seals);
  const slackRecovery =
    cfg.slackChannelId && cfg.slackBotTokenSecretArn
      ? new SlackRecovery({
          store: approvals,
          channel: slackChannel(cfg.slackBotTokenSecretArn, cfg.slackChannelId, {
            cacheSeconds: cfg.slackSecretCacheSeconds,
            region: cfg.region,
            ...(cfg.slackApiUrl && { slackApiUrl: cfg.slackApiUrl }),
            logger,
            // Issue 13: a missed request is posted in its account's channel, as the workflow would have.
            route: (accountId) => routing.contextOf(accountId),
            stores,
          }),
          notes: stores.notes,
          seals,
          notifier,
          logger,
          // Slack delivery worker (issue 12): paced, draining for its budget, alarmed when never posted.
          postIntervalMs: cfg.slackPostIntervalMs,
          drainBudgetMs: cfg.slackDeliveryBudgetSeconds * 1000,
          metrics: new EmfAlarmMetrics(cfg.stage),
        })
      : undefined;
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
    ...(slackRecovery && { slackRecovery }),
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

/** The request channel over the Web API, its bot token read (and cached) from Secrets Manager. */
function slackChannel(
  secretArn: string,
  channelId: string,
  options: {
    cacheSeconds: number;
    region: string;
    slackApiUrl?: string;
    logger: ReturnType<typeof createLogger>;
    route: AccountContextSource;
    stores: SlackStores;
  },
): ApprovalChannel {
  const token = new SecretsManagerSecret(
    new SecretsManagerClient({ region: options.region }),
    secretArn,
    BOT_TOKEN,
    { ttlSeconds: options.cacheSeconds },
  );
  const client = slackClientFactory(token, options.logger, options.slackApiUrl);
  const { grouping, notes } = options.stores;
  const stage = new SlackApprovalChannel(() => client('workflow'), channelId, { grouping, notes });
  return new AccountRoutedChannel(
    stage,
    channelId,
    (id) => new SlackApprovalChannel(() => client('workflow'), id, { grouping, notes }),
    options.route,
  );
}

/** Forgets the built service (tests that change the environment). */
export function resetSweepService(): void {
  cached = undefined;
}
