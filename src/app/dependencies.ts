import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { DynamoApprovalStore } from '../adapters/approval-store';
import { CloudTrailIssuingEventFinder } from '../adapters/assume-role-finder';
import { AwsIamGateway } from '../adapters/iam-gateway';
import { SnsNotifier } from '../adapters/notifier';
import { SlackApprovalChannel } from '../adapters/slack-approval-channel';
import { SecretsManagerSlackCredentials, type SlackCredentialSource } from '../adapters/slack-credentials';
import { SlackApproverDirectory } from '../adapters/slack-directory';
import { SfnTaskCallback } from '../adapters/task-callback';
import { type Config, config } from '../config';
import { riskTest } from '../domain/change-analysis';
import { ConfigError } from '../errors';
import { createLogger, type Logger } from '../logger';
import type { ApprovalChannel } from '../services/approval-channel';
import { ApprovalWorkflow } from '../services/approval-workflow';
import { AttributionService } from '../services/attribution-service';
import { DecisionService } from '../services/decision-service';
import { QuarantineService } from '../services/quarantine-service';
import { createSlackClient, type SlackCallProfile, type WebClient } from '../slack/client';

/**
 * The composition root: SDK clients and adapters are built once per Lambda container (as Powertools
 * recommends) and reused across invocations. Endpoints come only from the SDK's standard
 * `AWS_ENDPOINT_URL_*` variables and the configured `slackApiUrl`, so the same code talks to AWS and Slack
 * or to the local stand-ins.
 */
export interface Dependencies {
  readonly workflow: ApprovalWorkflow;
  readonly decisions: DecisionService;
  /** What the Slack interactivity app is built from (see `slack-app.ts`, which alone loads Bolt). */
  readonly slack: SlackParts;
}

export interface SlackParts {
  readonly credentials?: SlackCredentialSource;
  /** The request messages, with the interactive call profile (short timeouts, no sleeping on 429). */
  readonly channel?: ApprovalChannel;
  readonly slackApiUrl?: string;
  readonly logger: Logger;
}

let cached: Dependencies | undefined;

/** Builds (once) and returns the handlers' dependencies. */
export function dependencies(): Dependencies {
  if (cached) return cached;
  const cfg = config();
  const logger = createLogger('policy-gate');
  const store = new DynamoApprovalStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: cfg.region }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    cfg.approvalsTable,
  );
  const credentials = cfg.slackSecretArn
    ? new SecretsManagerSlackCredentials(new SecretsManagerClient({ region: cfg.region }), cfg.slackSecretArn)
    : undefined;
  const slackClient = slackClients(cfg, credentials, logger);
  const channelFor = (profile: SlackCallProfile): ApprovalChannel | undefined =>
    cfg.slackChannelId ? new SlackApprovalChannel(() => slackClient(profile), cfg.slackChannelId) : undefined;

  const workflowChannel = channelFor('workflow');
  const workflow = new ApprovalWorkflow({
    store,
    quarantine: new QuarantineService(new AwsIamGateway(new IAMClient({ region: cfg.region })), {
      index: store,
      isRisky: riskTest(cfg.restricted),
    }),
    metrics: new EmfAlarmMetrics(cfg.stage),
    notifier: new SnsNotifier(new SNSClient({ region: cfg.region }), cfg.alertTopicArn),
    restricted: cfg.restricted,
    settings: cfg,
    logger,
    ...(workflowChannel && { channel: workflowChannel }),
    attributor: new AttributionService(
      new CloudTrailIssuingEventFinder(new CloudTrailClient({ region: cfg.region })),
      cfg.attribution,
      logger,
    ),
  });
  const interactiveChannel = channelFor('interactive');
  const decisions = new DecisionService(
    store,
    new SfnTaskCallback(new SFNClient({ region: cfg.region })),
    logger,
    {
      directories: {
        slack: new SlackApproverDirectory(() => slackClient('interactive'), {
          userIds: cfg.approverSlackUserIds,
          usergroupIds: cfg.approverSlackUsergroupIds,
          cacheSeconds: cfg.approverCacheSeconds,
        }),
      },
      identityMap: cfg.identityMap,
      attribution: cfg.attribution,
      // At an approval click, within Slack's 3 seconds: one hop's first pages at most.
      reattributor: new AttributionService(
        new CloudTrailIssuingEventFinder(new CloudTrailClient({ region: cfg.region, maxAttempts: 1 }), {
          maxPages: 2,
          minIntervalMs: 200,
        }),
        cfg.attribution,
        logger,
        { maxRequests: 2 },
      ),
      ...(interactiveChannel && { display: interactiveChannel }),
    },
  );

  cached = {
    workflow,
    decisions,
    slack: {
      ...(credentials && { credentials }),
      ...(interactiveChannel && { channel: interactiveChannel }),
      ...(cfg.slackApiUrl && { slackApiUrl: cfg.slackApiUrl }),
      logger,
    },
  };
  return cached;
}

/** One Web API client per call profile, built when first needed from the (cached) bot token. */
function slackClients(
  cfg: Config,
  credentials: SlackCredentialSource | undefined,
  logger: Logger,
): (profile: SlackCallProfile) => Promise<WebClient> {
  const clients = new Map<SlackCallProfile, WebClient>();
  return async (profile) => {
    if (!credentials)
      throw new ConfigError('Slack is not configured for this stage: SLACK_SECRET_ARN is not set');
    const { botToken } = await credentials.get();
    let client = clients.get(profile);
    if (!client) {
      client = createSlackClient(botToken, profile, logger, cfg.slackApiUrl);
      clients.set(profile, client);
    }
    return client;
  };
}

/** Forgets the built dependencies (tests that change the environment). */
export function resetDependencies(): void {
  cached = undefined;
}
