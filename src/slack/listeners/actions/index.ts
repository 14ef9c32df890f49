import type { App, BlockButtonAction } from '@slack/bolt';
import { APPROVE_ACTION_ID, CONSOLE_ACTION_ID, DENY_ACTION_ID } from '../../messages/approval-message';
import { approveCallback } from './approve';
import type { ActionDependencies } from './decision-action';
import { denyCallback } from './deny';
import { openConsoleCallback } from './open-console';

/** Registers the Approve / Deny / console-link button callbacks. */
export function register(app: App, deps: ActionDependencies): void {
  app.action<BlockButtonAction>(
    { type: 'block_actions', action_id: APPROVE_ACTION_ID },
    approveCallback(deps),
  );
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: DENY_ACTION_ID }, denyCallback(deps));
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: CONSOLE_ACTION_ID }, openConsoleCallback);
}
