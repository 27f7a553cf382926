import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PREFIXES } from '../lib/workflow/layout.ts';
import { DATA_ACCESS, grantDataAccess } from './data-access.ts';
import type { DataBucket } from './data-bucket.ts';
import { deadLetterQueue, SendOnlyQueueDestination } from './dead-letters.ts';
import { FmnistFunction, type LogSettings } from './node-function.ts';

export interface TriggersProps {
  readonly data: DataBucket;
  readonly stateMachine: sfn.IStateMachine;
  readonly logs: LogSettings;
  /** EventBridge schedule expression ("rate(7 days)", "cron(0 3 ? * MON *)"); no schedule when undefined. */
  readonly retrainSchedule?: string;
}

/**
 * What starts the workflow besides a user:
 * - an EventBridge rule on the data bucket's "Object Created" events for raw/…csv and raw/…csv.gz;
 * - optionally, a schedule (retrainSchedule) retraining on the latest complete raw pair.
 * Both target functions/trigger/handler.ts, which pairs the train and test files, names the
 * execution after the data (so a duplicate event starts nothing) and calls StartExecution.
 * EventBridge cannot set an execution name itself, hence the function.
 *
 * EventBridge invokes it asynchronously: what fails lands in `deadLetters` (dead-letters.ts),
 * as the rule target's DLQ (undeliverable events) and as the function's on-failure destination
 * (invocations that failed after Lambda's retries), and raises an alarm.
 */
export class Triggers extends Construct {
  readonly function: lambda.IFunction;
  readonly rawUploadRule: events.Rule;
  readonly scheduleRule?: events.Rule;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: TriggersProps) {
    super(scope, id);
    this.deadLetters = deadLetterQueue(this, 'Failures');
    const fn = new FmnistFunction(this, 'Function', {
      step: 'trigger',
      description: 'Starts the training workflow for a complete raw train/test pair',
      memorySize: 256,
      timeout: Duration.seconds(30),
      architecture: lambda.Architecture.ARM_64,
      environment: { DATA_BUCKET: props.data.bucket.bucketName, STATE_MACHINE_ARN: props.stateMachine.stateMachineArn },
      logs: props.logs,
      onFailure: new SendOnlyQueueDestination(this.deadLetters),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });
    grantDataAccess(props.data.bucket, fn, DATA_ACCESS.trigger);
    props.stateMachine.grantStartExecution(fn);
    this.function = fn;

    const target = new targets.LambdaFunction(fn, {
      retryAttempts: 4,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: this.deadLetters,
    });
    this.rawUploadRule = new events.Rule(this, 'RawUpload', {
      description: 'raw/…train….csv[.gz] or raw/…test….csv[.gz] uploaded: start training when both splits are there',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.data.bucket.bucketName] },
          object: { key: events.Match.anyOf(events.Match.wildcard(`${PREFIXES.raw}*.csv`), events.Match.wildcard(`${PREFIXES.raw}*.csv.gz`)) },
        },
      },
      targets: [target],
    });

    if (props.retrainSchedule) {
      this.scheduleRule = new events.Rule(this, 'RetrainSchedule', {
        description: 'Retrain on the latest complete raw train/test pair',
        schedule: events.Schedule.expression(props.retrainSchedule),
        targets: [target],
      });
    }
  }
}
