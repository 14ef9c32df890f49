import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import type { DynamoApprovalStore } from '../adapters/approval-store';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { DecisionService } from '../services/decision-service';
import type { RecordSeals } from '../services/record-seals';
import { accountContextPart } from './parts/accounts';
import { approvalStore } from './parts/approval-store';
import { decisionService } from './parts/decisions';
import { kmsClient, recordSeals } from './parts/keys';
import { type SlackAccess, slackAccess } from './parts/slack';
import { type SlackStores, slackStores } from './parts/slack-stores';

/** What both deciding functions (Slack interactivity, the e-mail page) are built from. */
export interface DecidingParts {
  readonly store: DynamoApprovalStore;
  readonly kms: ReturnType<typeof kmsClient>;
  readonly seals: RecordSeals;
  readonly slack: SlackAccess;
  /** The Slack groups and queued thread lines, in the approvals table. */
  readonly stores: SlackStores;
  readonly decisions: DecisionService;
}

/** The approvals store, the seals, Slack and the decision service, as both deciding functions build them. */
export function decidingParts(cfg: Config, logger: Logger): DecidingParts {
  const store = approvalStore(cfg);
  const kms = kmsClient(cfg);
  const seals = recordSeals(cfg, kms);
  const stores = slackStores(cfg, store, seals);
  const metrics = new EmfAlarmMetrics(cfg.stage);
  const slack = slackAccess(cfg, logger, stores, { metrics });
  return {
    store,
    kms,
    seals,
    slack,
    stores,
    decisions: decisionService(cfg, logger, {
      store,
      seals,
      slack,
      metrics,
      accounts: accountContextPart(cfg, logger, store, seals),
    }),
  };
}
