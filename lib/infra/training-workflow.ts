import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { retentionDays, type LogSettings } from './node-function.ts';
import { buildWorkflowDefinition, type WorkflowOptions, type WorkflowTargets } from './workflow-definition.ts';

export interface TrainingWorkflowProps extends WorkflowOptions {
  readonly targets: WorkflowTargets;
  readonly logs: LogSettings;
  /** Subscribed to the alarms when set. */
  readonly alarmEmail?: string;
}

/**
 * The Standard state machine, its execution log (level ALL, with execution data: states carry
 * only S3 keys, counts and metrics, and seeing them is what makes a failed run debuggable),
 * X-Ray tracing, and alarms on failed and timed-out executions.
 */
export class TrainingWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  readonly failedAlarm: cloudwatch.Alarm;
  readonly timedOutAlarm: cloudwatch.Alarm;
  readonly alarmTopic?: sns.Topic;

  constructor(scope: Construct, id: string, props: TrainingWorkflowProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: retentionDays(props.logs.logRetentionDays),
      removalPolicy: props.logs.removalPolicy,
    });
    const longest = props.fargateTimeout.toSeconds() + props.timeouts.ingest.toSeconds() + props.timeouts.evaluate.toSeconds();
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'Fashion-MNIST: validate, ingest, train (Lambda or Fargate), evaluate, promote',
      definitionBody: sfn.DefinitionBody.fromChainable(buildWorkflowDefinition(this, props.targets, props)),
      timeout: Duration.seconds(longest).plus(Duration.hours(1)),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      removalPolicy: props.logs.removalPolicy,
    });

    const alarm = (name: string, metric: cloudwatch.Metric, description: string) =>
      new cloudwatch.Alarm(this, name, {
        metric: metric.with({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    this.failedAlarm = alarm('ExecutionsFailed', this.stateMachine.metricFailed(), 'A training workflow execution failed');
    this.timedOutAlarm = alarm('ExecutionsTimedOut', this.stateMachine.metricTimedOut(), 'A training workflow execution timed out');

    if (props.alarmEmail) {
      this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
        displayName: 'fmnist training alarms',
        enforceSSL: true,
        masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      });
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      for (const a of [this.failedAlarm, this.timedOutAlarm]) a.addAlarmAction(new cwActions.SnsAction(this.alarmTopic));
    }
  }
}
