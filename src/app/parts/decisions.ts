import { SFNClient } from '@aws-sdk/client-sfn';
import {
  AccountApproverDirectory,
  StageApproversOnlyDirectory,
} from '../../adapters/account-approver-directory';
import type { AlarmMetrics } from '../../adapters/alarm-metrics';
import type { ApprovalStore } from '../../adapters/approval-store';
import { SlackApproverDirectory } from '../../adapters/slack-directory';
import { SfnTaskCallback } from '../../adapters/task-callback';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import type { AccountRouting } from '../../services/account-routing';
import { DecisionService } from '../../services/decision-service';
import { EmailLinkDirectory } from '../../services/email-directory';
import type { RecordSeals } from '../../services/record-seals';
import { clickReattributor } from './attribution';
import type { SlackAccess } from './slack';

/** Whether the stage sends (and honours) e-mail decision links. */
export function emailDecisionsOn(cfg: Config): boolean {
  return cfg.emailDecisions.mode !== 'off' && cfg.emailDecisions.address !== undefined;
}

/**
 * The decision service of the two deciding functions (Slack interactivity, the e-mail page): who may
 * decide, sealed decisions, the workflow resumed (Step Functions).
 */
export function decisionService(
  cfg: Config,
  logger: Logger,
  parts: {
    store: ApprovalStore;
    seals: RecordSeals;
    slack: SlackAccess;
    metrics: AlarmMetrics;
    accounts: AccountRouting;
  },
): DecisionService {
  const { emailDecisions } = cfg;
  const display = parts.slack.channel('interactive');
  return new DecisionService(
    parts.store,
    new SfnTaskCallback(new SFNClient({ region: cfg.region })),
    logger,
    {
      directories: {
        // The approvers of the record's account (its entry, its nearest OU's, else the stage's).
        slack: new AccountApproverDirectory(
          (accountId) => parts.accounts.contextOf(accountId),
          (approvers) =>
            new SlackApproverDirectory(() => parts.slack.client('interactive'), {
              userIds: approvers.slackUserIds,
              usergroupIds: approvers.slackUsergroupIds,
              cacheSeconds: cfg.approverCacheSeconds,
            }),
        ),
        // The stage's mailbox decides only for accounts that use the stage's approvers.
        ...(emailDecisionsOn(cfg) &&
          emailDecisions.address && {
            email: new StageApproversOnlyDirectory(
              new EmailLinkDirectory(emailDecisions.address),
              (accountId) => parts.accounts.contextOf(accountId),
            ),
          }),
      },
      // By default one mailbox may deny anything but approve only what needs a single approver.
      channelLimits: { email: emailDecisions.mode === 'deny-only' ? 'deny-only' : 'single-approver' },
      identityMap: cfg.identityMap,
      seals: parts.seals,
      metrics: parts.metrics,
      attribution: cfg.attribution,
      reattributor: clickReattributor(cfg, logger),
      ...(display && { display }),
    },
  );
}
