import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudTrailIssuingEventFinder } from '../../adapters/assume-role-finder';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { AttributionService } from '../../services/attribution-service';

/** Follows an assumed-role session back to who assumed it (CloudTrail), after the quarantine. */
export function workflowAttributor(cfg: Config, logger: Logger): AttributionService {
  return new AttributionService(
    new CloudTrailIssuingEventFinder(new CloudTrailClient({ region: cfg.region })),
    cfg.attribution,
    logger,
  );
}

/** The same at an approval click, within Slack's 3 seconds: one hop's first pages at most. */
export function clickReattributor(cfg: Config, logger: Logger): AttributionService {
  return new AttributionService(
    new CloudTrailIssuingEventFinder(new CloudTrailClient({ region: cfg.region, maxAttempts: 1 }), {
      maxPages: 2,
      minIntervalMs: 200,
    }),
    cfg.attribution,
    logger,
    { maxRequests: 2 },
  );
}
