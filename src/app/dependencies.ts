import { EmfAlarmMetrics } from '../adapters/alarm-metrics';
import { config } from '../config';
import type { DecisionPageDependencies } from '../email/decision-page';
import { createLogger } from '../logger';
import type { ApprovalWorkflow } from '../services/approval-workflow';
import type { DecisionService } from '../services/decision-service';
import { accountsPart } from './account-iam';
import { perContainer, resetContainers } from './container';
import { decidingParts } from './deciding-parts';
import { routedChannel } from './parts/accounts';
import { workflowAttributor } from './parts/attribution';
import { decisionLinks, emailLinks } from './parts/keys';
import { snsNotifier } from './parts/notifier';
import { quarantineService } from './parts/quarantine';
import { approvalWorkflow } from './parts/workflow';
import { type SlackParts, slackParts } from './slack-interactivity-dependencies';

export type { SlackParts };

/**
 * Every part at once, in one process: what the sandbox's console and tests use to decide and inspect.
 * No Lambda handler imports this module: each function has its own composition (`<function>-dependencies.ts`,
 * `slack-app.ts`, `sweep-dependencies.ts`) holding only the clients it uses, so its bundle loads nothing
 * else at cold start. Endpoints come only from the SDK's standard `AWS_ENDPOINT_URL_*` variables and the
 * configured `slackApiUrl`, so the same code talks to AWS and Slack or to the local stand-ins.
 */
export interface Dependencies {
  readonly workflow: ApprovalWorkflow;
  readonly decisions: DecisionService;
  /** The e-mail decision page's parts (links, record reads, the stage's e-mail settings). */
  readonly email: DecisionPageDependencies;
  /** What the Slack interactivity app is built from (see `slack-app.ts`, which alone loads Bolt). */
  readonly slack: SlackParts;
}

const all = perContainer((): Dependencies => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const { store, kms, seals, slack, stores, decisions } = decidingParts(cfg, logger);
  const links = decisionLinks(cfg, kms, store);
  // The console decides and inspects; it quarantines nothing itself (each handler acts as its own role).
  const accounts = accountsPart(cfg, logger, store, seals, 'quarantine');
  const workflowChannel = routedChannel(cfg, slack, accounts, 'workflow');
  const workflow = approvalWorkflow(cfg, logger, {
    store,
    seals,
    quarantine: quarantineService(cfg, store, seals),
    accounts,
    metrics: new EmfAlarmMetrics(cfg.stage),
    notifier: snsNotifier(cfg),
    ...(workflowChannel && { channel: workflowChannel }),
    emailLinks: emailLinks(cfg, links),
    attributor: workflowAttributor(cfg, logger),
  });
  const { emailDecisions } = cfg;
  return {
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
    slack: slackParts(cfg, logger, slack, stores.grouping.groups),
  };
});

/** Builds (once) and returns every part; see {@link Dependencies}. */
export function dependencies(): Dependencies {
  return all();
}

/** Forgets the built dependencies of every function's composition (tests that change the environment). */
export function resetDependencies(): void {
  resetContainers();
}
