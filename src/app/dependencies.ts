import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoApprovalStore } from '../adapters/approval-store';
import { AwsIamGateway } from '../adapters/iam-gateway';
import { SnsNotifier } from '../adapters/notifier';
import { SfnTaskCallback } from '../adapters/task-callback';
import { config } from '../config';
import { createLogger } from '../logger';
import { ApprovalWorkflow } from '../services/approval-workflow';
import { DecisionService } from '../services/decision-service';
import { QuarantineService } from '../services/quarantine-service';

/**
 * The composition root: SDK clients and adapters are built once per Lambda container (as Powertools
 * recommends) and reused across invocations. Endpoints come only from the SDK's standard
 * `AWS_ENDPOINT_URL_*` variables, so the same code talks to AWS or to the local stand-ins.
 */
export interface Dependencies {
  readonly workflow: ApprovalWorkflow;
  readonly decisions: DecisionService;
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
  const workflow = new ApprovalWorkflow({
    store,
    quarantine: new QuarantineService(new AwsIamGateway(new IAMClient({ region: cfg.region }))),
    notifier: new SnsNotifier(new SNSClient({ region: cfg.region }), cfg.alertTopicArn),
    restricted: cfg.restricted,
    settings: cfg,
    logger,
  });
  const decisions = new DecisionService(
    store,
    new SfnTaskCallback(new SFNClient({ region: cfg.region })),
    logger,
  );
  cached = { workflow, decisions };
  return cached;
}

/** Forgets the built dependencies (tests that change the environment). */
export function resetDependencies(): void {
  cached = undefined;
}
