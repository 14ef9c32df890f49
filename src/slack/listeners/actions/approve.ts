import { type ActionDependencies, decisionAction } from './decision-action';

/** Approve: restores the change once the workflow resumes. */
export const approveCallback = (deps: ActionDependencies) => decisionAction('APPROVED', deps);
