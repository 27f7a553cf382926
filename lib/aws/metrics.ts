import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitName } from '@aws-lambda-powertools/metrics/types';
import type { Env } from '../env.ts';
import type { PublishedMetricName } from '../workflow/published-metrics.ts';

export { MetricUnit };
/** Only the names in PUBLISHED_METRICS: the dashboard charts those. */
export type MetricValues = Partial<Record<PublishedMetricName, { unit: MetricUnitName; value: number }>>;

/**
 * CloudWatch metrics (embedded metric format, written to the function's log) in Lambda and on
 * Fargate; nothing elsewhere, so local runs and tests keep stdout for people. Tests inject their
 * own Metrics to read what would be published.
 */
export function defaultMetrics(serviceName: string, env: Env): Metrics | undefined {
  const inAws = env.AWS_LAMBDA_FUNCTION_NAME !== undefined || env.ECS_CONTAINER_METADATA_URI_V4 !== undefined;
  if (!inAws) return undefined;
  return new Metrics({ serviceName, namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'FashionMnist' });
}

/** Adds the values and flushes them at once: training runs for minutes, a flush per epoch shows progress. */
export function publishMetrics(metrics: Metrics | undefined, values: MetricValues): void {
  if (!metrics) return;
  for (const [name, metric] of Object.entries(values)) {
    if (metric && Number.isFinite(metric.value)) metrics.addMetric(name, metric.unit, metric.value);
  }
  metrics.publishStoredMetrics();
}
