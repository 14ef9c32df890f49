import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mapAwsError } from './aws-error';

/** Starts the approval workflow for an event, as the EventBridge rule would. */
export interface WorkflowStarter {
  /**
   * Starts one execution named `name` (Step Functions keeps names unique for 90 days, so a repeat is a
   * no-op). Resolves to `'started'` or `'already-started'`.
   */
  start(name: string, input: unknown): Promise<'started' | 'already-started'>;
}

/** {@link WorkflowStarter} over Step Functions' `StartExecution`. */
export class SfnWorkflowStarter implements WorkflowStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: unknown): Promise<'started' | 'already-started'> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return 'started';
    } catch (error) {
      if ((error as { name?: string }).name === 'ExecutionAlreadyExists') return 'already-started';
      throw mapAwsError('StartExecution', error);
    }
  }
}
