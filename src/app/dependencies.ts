import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { DynamoApprovalStore } from '../adapters/approval-store';
import { CloudTrailIssuingEventFinder } from '../adapters/assume-role-finder';
import { AwsIamGateway } from '../adapters/iam-gateway';
import { KmsSealKey } from '../adapters/kms-seal-key';
import { SnsNotifier } from '../adapters/notifier';
import { SlackApprovalChannel } from '../adapters/slack-approval-channel';
import {
  BOT_TOKEN,
  type SecretSource,
  SecretsManagerSecret,
  SIGNING_SECRET,
} from '../adapters/slack-credentials';
import { SlackApproverDirectory } from '../adapters/slack-directory';
import { SfnTaskCallback } from '../adapters/task-callback';
import { config, type SlackWorkspace } from '../config';
import { riskTest } from '../domain/change-analysis';
import type { DecisionPageDependencies } from '../email/decision-page';
import { ConfigError } from '../errors';
import { createLogger, type Logger } from '../logger';
import type { ApprovalChannel } from '../services/approval-channel';
import { ApprovalWorkflow } from '../services/approval-workflow';
import { AttributionService } from '../services/attribution-service';
import { DecisionLinks } from '../services/decision-links';
import { DecisionService } from '../services/decision-service';
import { EmailLinkDirectory } from '../services/email-directory';
import { QuarantineService } from '../services/quarantine-service';
import { RecordSeals } from '../services/record-seals';
import { type SlackCallProfile, slackClientFactory, type WebClient } from '../slack/client';

/**
 * The composition root: SDK clients and adapters are built once per Lambda container (as Powertools
 * recommends) and reused across invocations. Endpoints come only from the SDK's standard
 * `AWS_ENDPOINT_URL_*` variables and the configured `slackApiUrl`, so the same code talks to AWS and Slack
 * or to the local stand-ins.
 */
export interface Dependencies {
  readonly workflow: ApprovalWorkflow;
  readonly decisions: DecisionService;
  /** The e-mail decision page's parts (links, record reads, the stage's e-mail settings). */
  readonly email: DecisionPageDependencies;
  /** What the Slack interactivity app is built from (see `slack-app.ts`, which alone loads Bolt). */
  readonly slack: SlackParts;
}

export interface SlackParts {
  /** The bot token's secret (every Slack-posting function). */
  readonly botToken?: SecretSource;
  /**
   * The signing secret's secret: only the interactivity function has it configured (and may read it);
   * building this source reads nothing, only the interactivity app does.
   */
  readonly signingSecret?: SecretSource;
  /** The installed workspace and app that clicks must come from. */
  readonly workspace?: SlackWorkspace;
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
  const secrets =
    cfg.slackBotTokenSecretArn || cfg.slackSigningSecretArn
      ? new SecretsManagerClient({ region: cfg.region })
      : undefined;
  const cache = { ttlSeconds: cfg.slackSecretCacheSeconds };
  const botToken =
    secrets && cfg.slackBotTokenSecretArn
      ? new SecretsManagerSecret(secrets, cfg.slackBotTokenSecretArn, BOT_TOKEN, cache)
      : undefined;
  const signingSecret =
    secrets && cfg.slackSigningSecretArn
      ? new SecretsManagerSecret(secrets, cfg.slackSigningSecretArn, SIGNING_SECRET, cache)
      : undefined;
  const slackClient: (profile: SlackCallProfile) => Promise<WebClient> = botToken
    ? slackClientFactory(botToken, logger, cfg.slackApiUrl)
    : () =>
        Promise.reject(
          new ConfigError('Slack is not configured for this stage: SLACK_BOT_TOKEN_SECRET_ARN is not set'),
        );
  const channelFor = (profile: SlackCallProfile): ApprovalChannel | undefined =>
    cfg.slackChannelId
      ? new SlackApprovalChannel(
          () => slackClient(profile),
          cfg.slackChannelId,
          // Slack delivery (issue 12): a click is answered within Slack's 3 s, so it waits out one short
          // rate limit at most.
          profile === 'interactive' ? { rateLimitBudgetMs: 1_000 } : {},
        )
      : undefined;

  // A function without a key's id cannot use that key; the stack gives each function only what it uses.
  const { emailDecisions } = cfg;
  const kms =
    cfg.recordSealKeyId || cfg.decisionSealKeyId || emailDecisions.linkKeyId || emailDecisions.formKeyId
      ? new KMSClient({ region: cfg.region })
      : undefined;
  // The request-approval function signs links (GenerateMac on the link key); the page verifies them and
  // alone makes and checks form tokens (the form key). The key policies enforce who does which.
  const links = new DecisionLinks({
    ...(kms && emailDecisions.linkKeyId && { linkKey: new KmsSealKey(kms, emailDecisions.linkKeyId) }),
    ...(kms && emailDecisions.formKeyId && { formKey: new KmsSealKey(kms, emailDecisions.formKeyId) }),
    ...(emailDecisions.pageUrl && { pageUrl: emailDecisions.pageUrl }),
    nonces: store,
  });
  const emailOn = emailDecisions.mode !== 'off' && emailDecisions.address !== undefined;
  const seals = new RecordSeals({
    ...(kms && cfg.recordSealKeyId && { record: new KmsSealKey(kms, cfg.recordSealKeyId) }),
    ...(kms && cfg.decisionSealKeyId && { decision: new KmsSealKey(kms, cfg.decisionSealKeyId) }),
  });
  const metrics = new EmfAlarmMetrics(cfg.stage);
  const workflowChannel = channelFor('workflow');
  const workflow = new ApprovalWorkflow({
    store,
    seals,
    quarantine: new QuarantineService(new AwsIamGateway(new IAMClient({ region: cfg.region })), {
      index: store,
      isRisky: riskTest(cfg.restricted),
      trusts: async (record) => (await seals.check(record, { decision: true })).ok,
    }),
    metrics,
    notifier: new SnsNotifier(new SNSClient({ region: cfg.region }), cfg.alertTopicArn),
    restricted: cfg.restricted,
    settings: cfg,
    logger,
    ...(workflowChannel && { channel: workflowChannel }),
    emailLinks: {
      links,
      settings: {
        mode: emailDecisions.mode,
        ...(emailDecisions.address && { address: emailDecisions.address }),
      },
    },
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
        ...(emailOn && emailDecisions.address && { email: new EmailLinkDirectory(emailDecisions.address) }),
      },
      // By default one mailbox may deny anything but approve only what needs a single approver.
      channelLimits: { email: emailDecisions.mode === 'deny-only' ? 'deny-only' : 'single-approver' },
      identityMap: cfg.identityMap,
      seals,
      metrics,
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
    email: {
      links,
      decisions,
      records: store,
      mode: emailDecisions.mode,
      ...(emailDecisions.address && { address: emailDecisions.address }),
      attribution: cfg.attribution,
      logger,
    },
    slack: {
      ...(botToken && { botToken }),
      ...(signingSecret && { signingSecret }),
      ...(cfg.slackWorkspace && { workspace: cfg.slackWorkspace }),
      ...(interactiveChannel && { channel: interactiveChannel }),
      ...(cfg.slackApiUrl && { slackApiUrl: cfg.slackApiUrl }),
      logger,
    },
  };
  return cached;
}

/** Forgets the built dependencies (tests that change the environment). */
export function resetDependencies(): void {
  cached = undefined;
}
