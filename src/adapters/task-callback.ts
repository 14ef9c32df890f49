import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { mapAwsError } from './aws-error';

/** Why a task token could not be used; the workflow has moved on without this decision. */
export type TokenRejection = 'TaskTimedOut' | 'TaskDoesNotExist' | 'InvalidToken';

/** Resumes a workflow waiting on a task token. */
export interface TaskCallback {
  /** Resolves to `undefined` when delivered, or the reason the token is no longer usable. */
  sendSuccess(taskToken: string, output: unknown): Promise<TokenRejection | undefined>;
}

const REJECTIONS = new Set<string>(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** {@link TaskCallback} over Step Functions' `SendTaskSuccess`. */
export class SfnTaskCallback implements TaskCallback {
  constructor(private readonly sfn: SFNClient) {}

  async sendSuccess(taskToken: string, output: unknown): Promise<TokenRejection | undefined> {
    try {
      await this.sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      return undefined;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name && REJECTIONS.has(name)) return name as TokenRejection;
      // Messages are kept out: Step Functions may echo the token in them.
      throw mapAwsError('SendTaskSuccess', error, { quiet: true });
    }
  }
}
