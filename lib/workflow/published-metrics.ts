/**
 * The custom CloudWatch metrics the handlers publish with Powertools Metrics (lib/aws/metrics.ts),
 * by the Powertools service that publishes them: the service name is the metric's `service`
 * dimension (the name the handler gives handlerDeps; on Fargate the train entry runs the train
 * handler, so its metrics are fmnist-train's too). The stack's dashboard (infra/dashboard.ts)
 * charts exactly these, and publishMetrics accepts no other name, so a renamed metric cannot
 * leave the dashboard charting nothing.
 */
export const PUBLISHED_METRICS = {
  'fmnist-ingest': ['TrainExamples', 'TestExamples'],
  'fmnist-train': ['EpochSeconds', 'Loss', 'Accuracy', 'ValAccuracy', 'TrainingSeconds', 'ImagesPerSecond'],
  'fmnist-evaluate': ['TestAccuracy', 'TestLoss', 'MacroF1'],
} as const;

export type MetricsService = keyof typeof PUBLISHED_METRICS;
export type PublishedMetricName = (typeof PUBLISHED_METRICS)[MetricsService][number];
