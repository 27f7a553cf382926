import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeObjectWildcards, DATA_ACCESS } from './data-access.ts';
import { acknowledge } from './nag.ts';
import { retentionDays, type LogSettings } from './node-function.ts';
import { MAX_SWEEP_TRIALS, survivorsOf } from '../lib/workflow/sweep/sweep-spec.ts';
import { buildWorkflowDefinition, type WorkflowOptions, type WorkflowTargets } from './workflow-definition.ts';

export interface TrainingWorkflowProps extends WorkflowOptions {
  readonly targets: WorkflowTargets;
  readonly logs: LogSettings;
}

/**
 * The Standard state machine, its execution log (level ALL, with execution data: states carry
 * only S3 keys, counts and metrics, and seeing them is what makes a failed run debuggable) and
 * X-Ray tracing. Its role holds exactly what the states call (workflow-definition.ts) plus what
 * CDK adds for logging and tracing. Alarms: alarms.ts.
 */
export class TrainingWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrainingWorkflowProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: retentionDays(props.logs.logRetentionDays),
      removalPolicy: props.logs.removalPolicy,
    });
    // The longest path: a sweep of MAX_SWEEP_TRIALS trials one at a time through every round of
    // successive halving (eta 2), each trial on Fargate to its timeout and evaluated, then a
    // manual approval waiting its whole timeout. A single run's path is one of those trials.
    const trialSeconds = props.fargateTimeout.toSeconds() + props.timeouts.evaluate.toSeconds() + props.timeouts.promote.toSeconds();
    const longest =
      trialSeconds * worstCaseSweepTrials() +
      props.timeouts.ingest.toSeconds() +
      props.approval.timeout.toSeconds() +
      props.timeouts.promote.toSeconds();
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'Fashion-MNIST: validate, ingest, train (Lambda or Fargate), evaluate, promote',
      definitionBody: sfn.DefinitionBody.fromChainable(buildWorkflowDefinition(this, props.targets, props)),
      timeout: Duration.seconds(longest).plus(Duration.hours(1)),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      removalPolicy: props.logs.removalPolicy,
    });
    acknowledgeObjectWildcards(this.stateMachine.role, props.targets.dataBucket, DATA_ACCESS.stateMachine.put);
    acknowledge(
      this.stateMachine.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Resource "*" is required by the actions that have no resource-level permissions: X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) and CloudWatch Logs delivery for the execution log (logs:CreateLogDelivery, GetLogDelivery, ..., DescribeLogGroups). Every action the states call is scoped to its resource.',
    );
  }
}

/** Trial trainings in the longest sweep, one after another: 32 + 16 + ... + 1 = 63 with eta 2. */
function worstCaseSweepTrials(): number {
  let total = 0;
  for (let count = MAX_SWEEP_TRIALS; ; count = survivorsOf(count, 2)) {
    total += count;
    if (count === 1) return total;
  }
}
