import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PUBLISHED_METRICS, type MetricsService } from '../lib/workflow/published-metrics.ts';
import { POWERTOOLS_METRICS_NAMESPACE } from './node-function.ts';

export interface WorkflowDashboardProps {
  readonly stateMachine: sfn.IStateMachine;
  /** The functions the state machine runs, by the name the charts show ("Validate", "Train", …). */
  readonly functions: Record<string, lambda.IFunction>;
  /** The Fargate training task, when the stack has one. */
  readonly fargate?: { readonly cluster: ecs.ICluster; readonly taskDefinition: ecs.TaskDefinition };
}

/** How the custom metrics are charted: which service's names, and the statistic that means something for them. */
const CUSTOM_CHARTS: { title: string; service: MetricsService; names: readonly string[]; statistic: string }[] = [
  { title: 'Test accuracy and macro F1 (evaluate)', service: 'fmnist-evaluate', names: ['TestAccuracy', 'MacroF1'], statistic: 'Maximum' },
  { title: 'Test loss (evaluate)', service: 'fmnist-evaluate', names: ['TestLoss'], statistic: 'Minimum' },
  { title: 'Epochs: accuracy (train)', service: 'fmnist-train', names: ['Accuracy', 'ValAccuracy'], statistic: 'Maximum' },
  { title: 'Epochs: loss (train)', service: 'fmnist-train', names: ['Loss'], statistic: 'Minimum' },
  { title: 'Training time, s (train)', service: 'fmnist-train', names: ['TrainingSeconds', 'EpochSeconds'], statistic: 'Maximum' },
  { title: 'Training speed, images/s (train)', service: 'fmnist-train', names: ['ImagesPerSecond'], statistic: 'Average' },
  { title: 'Examples ingested (ingest)', service: 'fmnist-ingest', names: ['TrainExamples', 'TestExamples'], statistic: 'Maximum' },
];

const PERIOD = Duration.minutes(5);
const WIDTH = 8;

/**
 * One CloudWatch dashboard for the training workflow: executions by outcome and their duration;
 * each step function's duration (maximum, against its timeout), errors and throttles; the Fargate
 * training task's CPU and memory (Container Insights, which the cluster enables); and the custom
 * metrics the handlers publish (lib/workflow/published-metrics.ts), each with the statistic that
 * reads right for it. Always there: a dashboard of up to 50 metrics is free
 * (CloudWatch's free tier includes three).
 */
export class WorkflowDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: WorkflowDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-training`,
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(...executionWidgets(props.stateMachine));
    this.dashboard.addWidgets(...functionWidgets(props.functions));
    if (props.fargate) this.dashboard.addWidgets(...fargateWidgets(props.fargate.cluster, props.fargate.taskDefinition));
    this.dashboard.addWidgets(...CUSTOM_CHARTS.map(customWidget));
  }
}

function executionWidgets(machine: sfn.IStateMachine): cloudwatch.IWidget[] {
  const sum = { period: PERIOD, statistic: 'Sum' };
  return [
    new cloudwatch.GraphWidget({
      title: 'Executions',
      width: WIDTH * 2,
      left: [
        machine.metricStarted({ ...sum, label: 'Started' }),
        machine.metricSucceeded({ ...sum, label: 'Succeeded' }),
        machine.metricFailed({ ...sum, label: 'Failed' }),
        machine.metricTimedOut({ ...sum, label: 'Timed out' }),
        machine.metricAborted({ ...sum, label: 'Aborted' }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Execution time, ms',
      width: WIDTH,
      left: [machine.metricTime({ period: PERIOD, statistic: 'Maximum', label: 'Maximum' }), machine.metricTime({ period: PERIOD, statistic: 'Average', label: 'Average' })],
    }),
  ];
}

function functionWidgets(functions: Record<string, lambda.IFunction>): cloudwatch.IWidget[] {
  const each = (metric: (fn: lambda.IFunction, props: cloudwatch.MetricOptions) => cloudwatch.Metric, statistic: string) =>
    Object.entries(functions).map(([label, fn]) => metric(fn, { period: PERIOD, statistic, label }));
  return [
    new cloudwatch.GraphWidget({ title: 'Step functions: duration (maximum), ms', width: WIDTH, left: each((fn, p) => fn.metricDuration(p), 'Maximum') }),
    new cloudwatch.GraphWidget({ title: 'Step functions: errors', width: WIDTH, left: each((fn, p) => fn.metricErrors(p), 'Sum') }),
    new cloudwatch.GraphWidget({ title: 'Step functions: throttles', width: WIDTH, left: each((fn, p) => fn.metricThrottles(p), 'Sum') }),
  ];
}

/** Container Insights' per-task-family metrics: a standalone RunTask task has no service-level ones. */
function fargateWidgets(cluster: ecs.ICluster, taskDefinition: ecs.TaskDefinition): cloudwatch.IWidget[] {
  const metric = (metricName: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName,
      dimensionsMap: { ClusterName: cluster.clusterName, TaskDefinitionFamily: taskDefinition.family },
      period: PERIOD,
      statistic: 'Maximum',
      label,
    });
  return [
    new cloudwatch.GraphWidget({ title: 'Fargate training task: CPU used (units)', width: WIDTH, left: [metric('CpuUtilized', 'CPU units used')] }),
    new cloudwatch.GraphWidget({ title: 'Fargate training task: memory used, MiB', width: WIDTH, left: [metric('MemoryUtilized', 'Memory used')] }),
    new cloudwatch.GraphWidget({ title: 'Fargate training task: ephemeral storage used, GB', width: WIDTH, left: [metric('EphemeralStorageUtilized', 'Storage used')] }),
  ];
}

function customWidget(chart: (typeof CUSTOM_CHARTS)[number]): cloudwatch.IWidget {
  const published: readonly string[] = PUBLISHED_METRICS[chart.service];
  for (const name of chart.names) {
    if (!published.includes(name)) throw new Error(`dashboard: ${chart.service} publishes no metric ${name} (lib/workflow/published-metrics.ts)`);
  }
  return new cloudwatch.GraphWidget({
    title: chart.title,
    width: WIDTH,
    left: chart.names.map(
      (metricName) =>
        new cloudwatch.Metric({
          namespace: POWERTOOLS_METRICS_NAMESPACE,
          metricName,
          dimensionsMap: { service: chart.service },
          period: PERIOD,
          statistic: chart.statistic,
          label: metricName,
        }),
    ),
  });
}

