import type { ApprovalRecord } from '../../domain/approval';
import { decisionHeadline } from './approval-message';
import { plainText, slackDate } from './mrkdwn';

/**
 * The status line of a request that is no longer actionable, derived from the record alone, so whoever
 * updates the message (the click handler or a workflow step) shows the same thing for the same state.
 */
export function statusHeadline(record: ApprovalRecord): string {
  const decided = record.decision ? decisionHeadline(record.decision) : undefined;
  const outcome = record.outcome;
  const detail = outcome?.detail ? `: ${plainText(outcome.detail, 500)}` : '';
  switch (record.status) {
    case 'PENDING':
      return `:hourglass_flowing_sand: Waiting for a decision until ${slackDate(record.deadline)}`;
    case 'APPROVED':
      if (outcome?.result === 'RESTORED') {
        return `:white_check_mark: ${decided}. Restored ${slackDate(outcome.at)}: the change is in force again.`;
      }
      return `:white_check_mark: ${decided}. Restoring the change…`;
    case 'RESTORING':
      return `:white_check_mark: ${decided}. Restoring the change…`;
    case 'RESTORED':
      return `:white_check_mark: ${decided}. Restored${outcome ? ` ${slackDate(outcome.at)}` : ''}: the change is in force again.`;
    case 'DENIED':
      return `:no_entry: ${decided}. The change stays quarantined.`;
    case 'EXPIRED':
      return `:hourglass: Expired${outcome ? ` ${slackDate(outcome.at)}` : ''}${detail || ': no decision before the deadline'}. The change stays quarantined and can no longer be approved.`;
    case 'CONFLICT':
      return `:warning: ${decided ?? 'Approved'}, but NOT restored${detail}. Nothing was overwritten; check the target by hand.`;
    case 'FAILED': {
      const failure = record.failure;
      const what = failure ? ` (${plainText(failure.error, 200)})` : '';
      const contained = record.quarantine
        ? 'The change stays quarantined until someone acts.'
        : 'The quarantine was NOT confirmed: check the target now.';
      return `:rotating_light: The workflow failed${what}. ${contained}`;
    }
  }
}
