import { type ActionDependencies, decisionAction } from './decision-action';

/** Deny: the change stays quarantined. */
export const denyCallback = (deps: ActionDependencies) => decisionAction('DENIED', deps);
