import type { App, BlockButtonAction } from '@slack/bolt';
import { APPROVE_ACTION_ID, CONSOLE_ACTION_ID, DENY_ACTION_ID } from '../../messages/approval-message';
import {
  APPROVE_ALL_ACTION_ID,
  DENY_ALL_ACTION_ID,
  GROUP_APPROVE_ACTION,
  GROUP_DENY_ACTION,
} from '../../messages/group-message';
import { approveCallback } from './approve';
import type { ActionDependencies } from './decision-action';
import { denyCallback } from './deny';
import { groupAction } from './group-action';
import { openConsoleCallback } from './open-console';

/**
 * Registers the Approve / Deny / console-link button callbacks, and a group message's: each change's own
 * Approve / Deny (`…_m<n>`, the same callbacks: the value is the change's approval id, and the click must
 * come from the message recorded for it) and "Approve all" / "Deny all".
 */
export function register(app: App, deps: ActionDependencies): void {
  app.action<BlockButtonAction>(
    { type: 'block_actions', action_id: APPROVE_ACTION_ID },
    approveCallback(deps),
  );
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: DENY_ACTION_ID }, denyCallback(deps));
  app.action<BlockButtonAction>(
    { type: 'block_actions', action_id: GROUP_APPROVE_ACTION },
    approveCallback(deps),
  );
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: GROUP_DENY_ACTION }, denyCallback(deps));
  app.action<BlockButtonAction>(
    { type: 'block_actions', action_id: APPROVE_ALL_ACTION_ID },
    groupAction('APPROVED', deps),
  );
  app.action<BlockButtonAction>(
    { type: 'block_actions', action_id: DENY_ALL_ACTION_ID },
    groupAction('DENIED', deps),
  );
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: CONSOLE_ACTION_ID }, openConsoleCallback);
}
