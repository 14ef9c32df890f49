import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { ApprovalWorkflow, type WorkflowDependencies } from '../../services/approval-workflow';

/** What a workflow function's composition supplies; the stage's settings come from its configuration. */
export type WorkflowParts = Omit<WorkflowDependencies, 'restricted' | 'settings' | 'logger'>;

/** The approval workflow with the parts one function uses (see `container.ts` for the ones it does not). */
export function approvalWorkflow(cfg: Config, logger: Logger, parts: WorkflowParts): ApprovalWorkflow {
  return new ApprovalWorkflow({ ...parts, restricted: cfg.restricted, settings: cfg, logger });
}
