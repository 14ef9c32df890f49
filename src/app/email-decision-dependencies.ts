import { config } from '../config';
import type { DecisionPageDependencies } from '../email/decision-page';
import { createLogger } from '../logger';
import { perContainer } from './container';
import { decidingParts } from './deciding-parts';
import { decisionLinks } from './parts/keys';

/**
 * The e-mail decision page: verifies links, makes and checks its form tokens, and decides through the
 * decision service (which updates the Slack message). No Bolt, no IAM, no SNS.
 */
export const decisionPage: () => DecisionPageDependencies = perContainer(() => {
  const cfg = config();
  const logger = createLogger('policy-gate');
  const { store, kms, decisions } = decidingParts(cfg, logger);
  const { emailDecisions } = cfg;
  return {
    links: decisionLinks(cfg, kms, store),
    decisions,
    records: store,
    mode: emailDecisions.mode,
    ...(emailDecisions.address && { address: emailDecisions.address }),
    attribution: cfg.attribution,
    logger,
  };
});
