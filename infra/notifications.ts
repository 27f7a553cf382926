import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { REGISTRY_DETAIL_TYPES, REGISTRY_EVENT_SOURCE } from '../lib/workflow/registry-events.ts';

/** The execution statuses that end a run: each is worth a mail. */
export const FINISHED_EXECUTION_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface NotificationsProps {
  readonly stateMachine: sfn.IStateMachine;
  /** Subscribed to the topic (it must confirm the subscription mail). */
  readonly email: string;
}

const field = events.EventField.fromPath;

/**
 * What a person is told, from the event by EventBridge's input transformer: one line each. The
 * execution status event carries no metrics (its output is a JSON string a path cannot enter),
 * so a run's accuracy arrives with the registry event its Promote step publishes.
 */
export const NOTIFICATION_MESSAGES = {
  runFinished: events.RuleTargetInput.fromText(
    `fmnist training run ${field('$.detail.name')} ended ${field('$.detail.status')} (execution ${field('$.detail.executionArn')})`,
  ),
  championChanged: events.RuleTargetInput.fromText(
    `fmnist ${field('$.detail-type')} on test set ${field('$.detail.testSetId')}: run ${field('$.detail.runId')}, ` +
      `accuracy ${field('$.detail.accuracy')}, macro F1 ${field('$.detail.macroF1')}, previous champion ${field('$.detail.previous')}; ` +
      `by ${field('$.detail.by')}: ${field('$.detail.reason')} (report s3://${field('$.detail.bucket')}/${field('$.detail.reportPrefix')})`,
  ),
};

/**
 * Opt-in mail (`notifyEmail`): when a run ends (its execution succeeded, failed, timed out or was
 * aborted) and when a test set's champion changes (the registry's Champion Promoted / Champion
 * Rolled Back events), EventBridge publishes a one-line message to a topic the address is
 * subscribed to. Made only when the setting is given, with the output NotificationTopicArn.
 *
 * Unlike the alarm topic, this one is encrypted with a customer-managed key: its messages carry
 * run ids, metrics and who promoted what, and EventBridge (unlike CloudWatch alarms) can publish to
 * a topic encrypted with a key whose policy lets events.amazonaws.com use it. Only this stack's
 * two rules may publish (the topic policy names them in aws:SourceArn), over TLS only.
 */
export class Notifications extends Construct {
  readonly key: kms.Key;
  readonly topic: sns.Topic;
  readonly runFinished: events.Rule;
  readonly championChanged: events.Rule;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the fmnist notification topic (run finished, champion changed)',
      enableKeyRotation: true,
      // Nothing stays encrypted under it (SNS keeps no messages): it can go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // SNS encrypts with the publisher's permission: EventBridge must be able to use the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgePublishesToTheTopic',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'fmnist training notifications', masterKey: this.key, enforceSSL: true });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    const target = (message: events.RuleTargetInput): events.IRuleTarget => ({
      // Not targets.SnsTopic: it grants events.amazonaws.com sns:Publish for any rule of any account.
      bind: () => ({ arn: this.topic.topicArn, input: message, targetResource: this.topic }),
    });
    this.runFinished = new events.Rule(this, 'RunFinished', {
      description: 'A training workflow execution ended: mail its status',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [props.stateMachine.stateMachineArn], status: [...FINISHED_EXECUTION_STATUSES] },
      },
      targets: [target(NOTIFICATION_MESSAGES.runFinished)],
    });
    this.championChanged = new events.Rule(this, 'ChampionChanged', {
      description: 'A test set\'s champion was promoted or rolled back: mail who, what and why',
      eventPattern: { source: [REGISTRY_EVENT_SOURCE], detailType: Object.values(REGISTRY_DETAIL_TYPES) },
      targets: [target(NOTIFICATION_MESSAGES.championChanged)],
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ThisStacksNotificationRules',
        actions: ['sns:Publish'],
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        resources: [this.topic.topicArn],
        conditions: { ArnEquals: { 'aws:SourceArn': [this.runFinished.ruleArn, this.championChanged.ruleArn] } },
      }),
    );

    new CfnOutput(Stack.of(this), 'NotificationTopicArn', {
      value: this.topic.topicArn,
      description: 'Runs ending and champion changes are published here (notifyEmail is subscribed)',
    });
  }
}
