import { SNSClient } from '@aws-sdk/client-sns';
import { SnsNotifier } from '../../adapters/notifier';
import type { Config } from '../../config';

/** The alert topic (SNS): the e-mails. */
export function snsNotifier(cfg: Config): SnsNotifier {
  return new SnsNotifier(new SNSClient({ region: cfg.region }), cfg.alertTopicArn);
}
