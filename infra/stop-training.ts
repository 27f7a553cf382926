import { Aws, Duration } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { deadLetterQueue, SendOnlyQueueDestination } from './dead-letters.ts';
import { acknowledge, logicalIdOf } from './nag.ts';
import { FmnistFunction, type LogSettings } from './node-function.ts';

/** The execution statuses after which nothing waits for a training task any more. */
export const DEAD_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface StopTrainingProps {
  readonly stateMachine: sfn.StateMachine;
  readonly cluster: ecs.ICluster;
  readonly logs: LogSettings;
}

/**
 * Stops the Fargate training task of an execution that failed, timed out or was aborted.
 *
 * TrainOnFargate waits for a task token (`ecs:runTask.waitForTaskToken`), and Step Functions
 * stops nothing when such an execution ends: the container would train on, billed, until it
 * finds out by itself (its token is dead, its state's deadline passed: functions/train/fargate.ts).
 * A container that hangs, or never gets that far, would run until someone stops it. So an
 * EventBridge rule on the execution's "Step Functions Execution Status Change" events invokes
 * functions/stop-training/handler.ts, which finds the task in the execution history and stops it.
 * Failures of that invocation land in `deadLetters` and raise an alarm, like the trigger's.
 *
 * Its role: states:GetExecutionHistory on this state machine's executions, ecs:StopTask on the
 * training cluster's tasks (and only when the request is for that cluster).
 */
export class StopTraining extends Construct {
  readonly function: lambda.IFunction;
  readonly rule: events.Rule;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: StopTrainingProps) {
    super(scope, id);
    this.deadLetters = deadLetterQueue(this, 'Failures');
    const fn = new FmnistFunction(this, 'Function', {
      step: 'stop-training',
      description: 'Stops the Fargate training task of a failed, timed-out or aborted execution',
      memorySize: 256,
      timeout: Duration.minutes(1),
      architecture: lambda.Architecture.ARM_64,
      environment: { TRAINING_CLUSTER_ARN: props.cluster.clusterArn },
      logs: props.logs,
      onFailure: new SendOnlyQueueDestination(this.deadLetters),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });

    // Pseudo parameters, not the stack's env: the ARNs (and the acknowledgments below, which
    // name them as cdk-nag prints them) are the same whether or not the synth knows the region.
    const arn = (service: string, resource: string) => `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    const executions = arn('states', `execution:${props.stateMachine.stateMachineName}:*`);
    const tasks = arn('ecs', `task/${props.cluster.clusterName}/*`);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:GetExecutionHistory'], resources: [executions] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ecs:StopTask'],
        resources: [tasks],
        conditions: { ArnEquals: { 'ecs:cluster': props.cluster.clusterArn } },
      }),
    );
    const role = fn.role!;
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${logicalIdOf(props.stateMachine)}.Name>:*]`,
      'Execution ARNs end in the execution name, chosen at start; the pattern allows the history of this state machine\'s executions only.',
    );
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${logicalIdOf(props.cluster)}>/*]`,
      'Task ARNs end in the task id ECS assigns at RunTask; the pattern and the ecs:cluster condition allow stopping tasks of the training cluster only.',
    );
    this.function = fn;

    this.rule = new events.Rule(this, 'DeadExecution', {
      description: 'A training workflow execution failed, timed out or was aborted: stop its Fargate task',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [props.stateMachine.stateMachineArn],
          status: [...DEAD_EXECUTION_STATUSES],
        },
      },
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 4, maxEventAge: Duration.hours(1), deadLetterQueue: this.deadLetters })],
    });
  }
}
