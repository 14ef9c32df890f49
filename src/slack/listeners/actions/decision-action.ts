import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { SlackGroupStore } from '../../../adapters/slack-group-store';
import type { Decision } from '../../../domain/approval';
import type { Logger } from '../../../logger';
import type { ApprovalChannel } from '../../../services/approval-channel';
import type { DecisionService } from '../../../services/decision-service';
import { APPROVAL_ID, clickOrigin } from '../../interactivity-request';
import { auditFor, replyFor, replyForError } from '../../replies';

/** What the action listeners need; built once per Lambda container. */
export interface ActionDependencies {
  readonly decisions: DecisionService;
  readonly channel: ApprovalChannel;
  readonly logger: Logger;
  /** The Slack groups: which changes an "Approve all" / "Deny all" message listed. Absent = those refuse. */
  readonly groups?: Pick<SlackGroupStore, 'get'>;
}

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * The Approve / Deny button callback. The work stays well inside Slack's 3-second window: a record read,
 * the approver look-up (user groups cached), one conditional write, SendTaskSuccess and the message
 * update, every Slack call with a short timeout. Bolt's Lambda receiver answers Slack once this returns.
 */
export function decisionAction(decision: Decision, deps: ActionDependencies) {
  return async ({ ack, body, action }: ButtonArgs): Promise<void> => {
    await ack();
    const { decisions, channel, logger } = deps;
    // The gate in front of Bolt checked every id already (see `interactivity-request.ts`); this is the
    // same check again, so that nothing unchecked is used even if the listener is reached another way.
    const origin = clickOrigin(body);
    const approvalId = action.value ?? '';
    if (!origin || !APPROVAL_ID.test(approvalId)) {
      logger.warn('click without a valid user, message or approval id', { actionId: action.action_id });
      return;
    }
    const { userId } = origin;
    try {
      const result = await decisions.decide(approvalId, decision, {
        channel: 'slack',
        id: userId,
        origin: { channel: origin.channel, ts: origin.ts },
      });
      const reply = replyFor(result, approvalId);
      const audit = auditFor(result, userId, decision);
      const record = 'record' in result ? result.record : undefined;
      if (reply) await tellSafely(deps, userId, reply, record);
      try {
        // Refusals go on record, in the thread only (the line is the replies module's own mrkdwn),
        // queued: the click does not wait on the channel's posting limit.
        if (record && audit) {
          if (channel.queueNote) await channel.queueNote(record, audit, true);
          else await channel.note(record, audit, true);
        }
        // A click on an expired request means the clicker still saw buttons (an update failed or
        // lagged): bring the message up to date. EXPIRED is final, so this view cannot be stale.
        if (result.status === 'expired') await channel.showState(result.record);
      } catch (error) {
        logger.warn('Slack message not updated', { approvalId, error });
      }
    } catch (error) {
      logger.error('decision failed', { approvalId, userId, error });
      await tellSafely(deps, userId, replyForError(error));
    }
  };
}

export async function tellSafely(
  deps: ActionDependencies,
  userId: string,
  text: string,
  record?: Parameters<ApprovalChannel['tell']>[2],
): Promise<void> {
  try {
    await deps.channel.tell(userId, text, record);
  } catch (error) {
    deps.logger.warn('ephemeral reply failed', { userId, error });
  }
}
