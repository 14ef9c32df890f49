import type { App } from '@slack/bolt';
import * as actions from './actions';
import type { ActionDependencies } from './actions/decision-action';

/** Registers every listener PolicyGate's Slack app has. */
export function registerListeners(app: App, deps: ActionDependencies): void {
  actions.register(app, deps);
}
