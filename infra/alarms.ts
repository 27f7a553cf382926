import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from './nag.ts';

export interface AlarmsProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly trigger: lambda.IFunction;
  /** Every dead-letter queue of the stack, by a readable name ("Trigger", "StopTraining"). */
  readonly deadLetterQueues: Record<string, sqs.IQueue>;
  /** Subscribed to the topic when set (it must confirm the subscription mail). */
  readonly email?: string;
}

/**
 * The alarms and the topic they notify. The topic always exists and every alarm acts on it, so
 * subscribing later (e-mail, chat, a pager) needs no redeploy; `alarmEmail` only adds an e-mail
 * subscription.
 *
 * The topic is not encrypted at rest, on purpose: CloudWatch can publish to an encrypted topic
 * only if the key's policy lets cloudwatch.amazonaws.com use it, which the AWS-managed
 * alias/aws/sns key never does (alarm mails silently never arrive), so encryption would take a
 * customer-managed key: $1 a month, the one fixed cost of an otherwise idle-free stack, to
 * encrypt messages that hold alarm names, metric values and thresholds, no data. TLS is enforced
 * (enforceSSL) and only CloudWatch alarms of this account may publish.
 *
 * Every alarm: one 5-minute period, at least 1, missing data is not breaching.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'fmnist training alarms', enforceSSL: true });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        actions: ['sns:Publish'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    acknowledge(
      this.topic,
      'AwsSolutions-SNS2',
      'Alarm notifications only (alarm name, metric, threshold, state): no data. CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer-managed key would cost $1/month for these; TLS is enforced and only this account\'s CloudWatch alarms may publish.',
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    const sum = (metric: cloudwatch.Metric) => metric.with({ period: Duration.minutes(5), statistic: 'Sum' });
    const machine = props.stateMachine;
    this.add('ExecutionsFailed', sum(machine.metricFailed()), 'A training workflow execution failed');
    this.add('ExecutionsTimedOut', sum(machine.metricTimedOut()), 'A training workflow execution timed out');
    this.add('ExecutionsAborted', sum(machine.metricAborted()), 'A training workflow execution was aborted');
    this.add('TriggerErrors', sum(props.trigger.metricErrors()), 'The trigger function failed: an upload or the schedule may have started no run');
    this.add('TriggerThrottles', sum(props.trigger.metricThrottles()), 'The trigger function was throttled');
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.add(
        `${name}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        `An event or invocation of the ${name} function failed for good: see the messages in its dead-letter queue`,
      );
    }
  }

  private add(id: string, metric: cloudwatch.Metric, description: string): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
