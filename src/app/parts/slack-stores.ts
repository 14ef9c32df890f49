import type { DynamoApprovalStore } from '../../adapters/approval-store';
import type { SlackGrouping } from '../../adapters/slack-approval-channel';
import { DynamoSlackGroupStore } from '../../adapters/slack-group-store';
import { DynamoSlackNoteOutbox, type SlackNoteOutbox } from '../../adapters/slack-note-outbox';
import type { Config } from '../../config';
import type { ApprovalRecord } from '../../domain/approval';
import type { RecordSeals } from '../../services/record-seals';
import { approvalStore } from './approval-store';

/** What a Slack channel keeps in the approvals table: its groups (issue 12) and its queued thread lines. */
export interface SlackStores {
  readonly grouping: SlackGrouping;
  readonly notes: SlackNoteOutbox;
}

/**
 * The Slack stores over the approvals table's own client; with `seals` (the function's record key), group
 * messages check their members' seals. Every function that shows requests in Slack
 * takes them, whatever the window: a group message is redrawn as a group, and a queued line posted, even
 * by a function that groups nothing new (only the request step and the delivery worker read the window).
 */
export function slackStores(cfg: Config, store: DynamoApprovalStore, seals?: RecordSeals): SlackStores {
  const { client, tableName } = store.tableAccess();
  return {
    grouping: {
      groups: new DynamoSlackGroupStore(client, tableName),
      records: store,
      windowSeconds: cfg.slackGroupWindowSeconds,
      takeoverAfterMs: cfg.slackGroupTakeoverSeconds * 1000,
      // As the delivery worker checks before it posts: a group message never offers a record that fails.
      ...(seals && {
        trusts: async (record: ApprovalRecord) => (await seals.check(record, { quarantine: true })).ok,
      }),
    },
    notes: new DynamoSlackNoteOutbox(client, tableName),
  };
}

/** The approvals store and the Slack stores over its client, for a function that reports in Slack. */
export function approvalsWithSlack(cfg: Config): { store: DynamoApprovalStore; slack: SlackStores } {
  const store = approvalStore(cfg);
  return { store, slack: slackStores(cfg, store) };
}
