import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ApprovalRecord, Decision } from '../../../domain/approval';
import { membersListedIn, parseGroupActionValue } from '../../../domain/slack-group';
import { decideGroup, groupSummaryReply } from '../../../services/group-decisions';
import { clickOrigin } from '../../interactivity-request';
import { offeredMembers } from '../../messages/group-message';
import { auditFor, replyForError } from '../../replies';
import { type ActionDependencies, tellSafely } from './decision-action';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * "Approve all" / "Deny all" on a group message: decides, one by one through the decision service, each
 * change the clicked version of the member list named that is recorded on this very message (the others
 * are another message's) and that the message itself offers buttons for, so every change is authorised, sealed, checked for self-approval and counted
 * towards two approvers on its own, exactly once. The message is redrawn once at the end, refusals go on
 * record in the thread (queued), and the clicker gets one private summary line per change.
 */
export function groupAction(decision: Decision, deps: ActionDependencies) {
  return async ({ ack, body, action }: ButtonArgs): Promise<void> => {
    await ack();
    const { decisions, channel, logger, groups } = deps;
    const origin = clickOrigin(body);
    const view = parseGroupActionValue(action.value);
    if (!origin || !view) {
      logger.warn('group click without a valid user, message or group', { actionId: action.action_id });
      return;
    }
    const { userId } = origin;
    try {
      const group = groups && (await groups.get(view.groupId));
      if (!group || view.version > group.version) {
        logger.warn('group click names no known version of a group', { groupId: view.groupId });
        await tellSafely(
          deps,
          userId,
          'PolicyGate does not know the changes this message lists. Nothing changed.',
        );
        return;
      }
      // The members the clicked version listed, on this message (the others are another message's; the
      // decision service refuses them anyway, by the message recorded on each).
      const page = group.pages.find(
        (p) => p.message?.channel === origin.channel && p.message.ts === origin.ts,
      );
      const onPage = new Set(page?.members ?? []);
      // And only those the clicked message itself offers (Slack's copy of it, signed with the click): the
      // group item is not sealed, so what it lists is never enough on its own.
      const offered = offeredMembers((body as { message?: { blocks?: unknown } }).message?.blocks);
      const listed = membersListedIn(group, view.version).filter((id) => onPage.has(id) && offered.has(id));
      const summary = await decideGroup(decisions, listed, decision, {
        channel: 'slack',
        id: userId,
        origin: { channel: origin.channel, ts: origin.ts },
        deferDisplay: true,
      });
      let shown: ApprovalRecord | undefined;
      for (const { result } of summary.results) {
        if (!result || !('record' in result)) continue;
        shown ??= result.record;
        const audit = auditFor(result, userId, decision);
        try {
          if (audit) {
            if (channel.queueNote) await channel.queueNote(result.record, audit, true);
            else await channel.note(result.record, audit, true);
          }
        } catch (error) {
          logger.warn('refusal not put on record in Slack', { approvalId: result.record.approvalId, error });
        }
      }
      try {
        // One redraw for the whole message: it reads every change it lists as stored now.
        if (shown) await channel.showState(shown);
      } catch (error) {
        logger.warn('group message not updated', { groupId: view.groupId, error });
      }
      await tellSafely(deps, userId, groupSummaryReply(summary), shown);
    } catch (error) {
      logger.error('group decision failed', { groupId: view.groupId, userId, error });
      await tellSafely(deps, userId, replyForError(error));
    }
  };
}
