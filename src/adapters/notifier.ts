import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { mapAwsError } from './aws-error';

/** A notification for the security team's mailbox (and anything else subscribed to the topic). */
export interface Notification {
  readonly subject: string;
  readonly message: string;
  readonly severity: 'info' | 'warning' | 'alert';
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

// SNS rejects subjects over 100 characters or with control characters.
function safeSubject(subject: string): string {
  const printable = subject
    .replace(/[^\x20-\x7e]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return printable.length > 100 ? `${printable.slice(0, 99)}…`.replace('…', '.') : printable || 'PolicyGate';
}

/** Publishes notifications to an SNS topic. */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async notify({ subject, message, severity }: Notification): Promise<void> {
    try {
      await this.sns.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: safeSubject(subject),
          Message: message,
          MessageAttributes: { severity: { DataType: 'String', StringValue: severity } },
        }),
      );
    } catch (error) {
      throw mapAwsError('SNS Publish', error);
    }
  }
}
