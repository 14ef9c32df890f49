import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The CloudWatch metrics PolicyGate's alarms watch; each data point means a person must look now. */
export type AlarmMetricName = 'SelfProtectionAlerts' | 'SlackNeverPosted' | 'SweepCycleOverdue';

/** Emits alarm metrics (the stack's CloudWatch alarms publish them to the alert topic). */
export interface AlarmMetrics {
  /** Counts one occurrence of `name`, published at once. */
  count(name: AlarmMetricName): void;
}

/** The metric namespace, and the `service` dimension value the alarms use for a stage. */
export const METRIC_NAMESPACE = 'PolicyGate';
export function metricService(stage: string): string {
  return `policy-gate-${stage}`;
}

/**
 * {@link AlarmMetrics} as CloudWatch embedded metric format lines through Powertools Metrics: the
 * function's log line is the metric, so no API call (and no permission) can fail to deliver it.
 */
export class EmfAlarmMetrics implements AlarmMetrics {
  private readonly metrics: Metrics;

  constructor(stage: string) {
    this.metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: metricService(stage) });
  }

  count(name: AlarmMetricName): void {
    this.metrics.addMetric(name, MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }
}
