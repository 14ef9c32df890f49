import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { mapAwsError } from './aws-error';

/** A message EventBridge could not deliver, as the dead-letter queue holds it. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  /** EventBridge's reason (`ERROR_CODE`, `ERROR_MESSAGE`), when it gave one. */
  readonly errorCode?: string;
  /** Opaque handle for {@link DeadLetterQueue.remove}; never logged. */
  readonly receipt: string;
}

/** The event rule's dead-letter queue. */
export interface DeadLetterQueue {
  /** Up to `max` messages, hidden from other readers for `visibilitySeconds`. */
  receive(max: number, visibilitySeconds: number): Promise<DeadLetter[]>;
  remove(letter: DeadLetter): Promise<void>;
}

/** {@link DeadLetterQueue} over SQS. */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async receive(max: number, visibilitySeconds: number): Promise<DeadLetter[]> {
    const output = await this.call('ReceiveMessage', () =>
      this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
          VisibilityTimeout: visibilitySeconds,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      ),
    );
    return (output.Messages ?? []).flatMap((message) =>
      message.MessageId && message.ReceiptHandle !== undefined
        ? [
            {
              messageId: message.MessageId,
              body: message.Body ?? '',
              receipt: message.ReceiptHandle,
              ...(message.MessageAttributes?.ERROR_CODE?.StringValue && {
                errorCode: message.MessageAttributes.ERROR_CODE.StringValue,
              }),
            },
          ]
        : [],
    );
  }

  async remove(letter: DeadLetter): Promise<void> {
    await this.call('DeleteMessage', () =>
      this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: letter.receipt })),
    );
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw mapAwsError(`SQS ${operation}`, error);
    }
  }
}
