import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.ts';
import { DataBucket } from './data-bucket.ts';
import { codeVersion } from './code-version.ts';
import { WorkflowDashboard } from './dashboard.ts';
import { acknowledgeCdkHelpers } from './nag.ts';
import { Notifications } from './notifications.ts';
import { DEFAULT_SETTINGS, type FmnistSettings } from './settings.ts';
import { STEP_TIMEOUTS, StepLambdas } from './step-lambdas.ts';
import { StopTraining } from './stop-training.ts';
import { Training } from './training.ts';
import { TrainingWorkflow } from './training-workflow.ts';
import { Triggers } from './triggers.ts';

export interface FmnistStackProps extends StackProps {
  readonly settings?: Partial<FmnistSettings>;
  /** Longest Fargate training run (default 12 hours: 1,000 epochs of 60,000 images at ~1,500 images/s). */
  readonly fargateTimeout?: Duration;
  /** A Fargate task that has not sent a heartbeat for this long is failed (it sends one every 60 s). */
  readonly fargateHeartbeat?: Duration;
}

/**
 * Everything `cdk deploy` creates: the data bucket, the step functions (Lambda), the training
 * image (Lambda + Fargate), the state machine, the triggers, the stopping of dead executions'
 * Fargate tasks, the alarms, and three outputs.
 */
export class FmnistStack extends Stack {
  readonly data: DataBucket;
  readonly steps: StepLambdas;
  readonly training: Training;
  readonly workflow: TrainingWorkflow;
  readonly triggers: Triggers;
  readonly stopTraining: StopTraining;
  readonly alarms: Alarms;
  readonly settings: FmnistSettings;

  constructor(scope: Construct, id: string, props: FmnistStackProps = {}) {
    super(scope, id, props);
    const settings: FmnistSettings = { ...DEFAULT_SETTINGS, ...props.settings };
    this.settings = settings;
    const removalPolicy = settings.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    const logSettings = { logRetentionDays: settings.logRetentionDays, logLevel: settings.logLevel, removalPolicy };

    this.data = new DataBucket(this, 'Data', { removalPolicy });
    this.steps = new StepLambdas(this, 'Steps', { data: this.data, logs: logSettings, codeVersion: codeVersion() });
    this.training = new Training(this, 'Training', {
      data: this.data,
      logs: logSettings,
      baseImage: settings.trainBaseImage,
      reservedConcurrency: settings.trainReservedConcurrency,
    });
    this.workflow = new TrainingWorkflow(this, 'Workflow', {
      targets: {
        validate: this.steps.validate,
        ingest: this.steps.ingest,
        trainFunction: this.training.trainFunction,
        evaluate: this.steps.evaluate,
        promote: this.steps.promote,
        requestApproval: this.steps.requestApproval,
        sweep: this.steps.sweep,
        cluster: this.training.cluster,
        taskDefinition: this.training.taskDefinition,
        container: this.training.container,
        taskSecurityGroup: this.training.taskSecurityGroup,
        dataBucket: this.data.bucket,
      },
      lambdaTrainMaxImages: settings.lambdaTrainMaxImages,
      maxTrainLoops: settings.maxTrainLoops,
      trainMemoryMiB: this.training.memoryMiB,
      timeouts: { ...STEP_TIMEOUTS, train: this.training.trainFunction.timeout! },
      fargateTimeout: props.fargateTimeout ?? Duration.hours(12),
      fargateHeartbeat: props.fargateHeartbeat ?? Duration.minutes(10),
      approval: { default: settings.approval, timeout: Duration.hours(settings.approvalTimeoutHours) },
      dataChecks: { policy: settings.dataChecks, thresholds: settings.dataCheckThresholds },
      sweepMaxConcurrency: settings.sweepMaxConcurrency,
      sweepTimeout: STEP_TIMEOUTS.sweep,
      promotionPolicy: {
        minAccuracy: settings.promotionMinAccuracy,
        ...(settings.promotionMinMacroF1 !== undefined ? { minMacroF1: settings.promotionMinMacroF1 } : {}),
      },
      logs: logSettings,
    });
    // SendTaskSuccess/Failure/Heartbeat on the state machine's ARN: see the IAM table in infra/README.md.
    this.workflow.stateMachine.grantTaskResponse(this.training.taskDefinition.taskRole);
    this.triggers = new Triggers(this, 'Triggers', {
      data: this.data,
      stateMachine: this.workflow.stateMachine,
      logs: logSettings,
      retrainSchedule: settings.retrainSchedule,
    });
    this.stopTraining = new StopTraining(this, 'StopTraining', {
      stateMachine: this.workflow.stateMachine,
      cluster: this.training.cluster,
      logs: logSettings,
    });
    this.alarms = new Alarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      trigger: this.triggers.function,
      deadLetterQueues: { Trigger: this.triggers.deadLetters, StopTraining: this.stopTraining.deadLetters },
      email: settings.alarmEmail,
    });
    if (settings.notifyEmail) new Notifications(this, 'Notifications', { stateMachine: this.workflow.stateMachine, email: settings.notifyEmail });
    new WorkflowDashboard(this, 'Dashboard', {
      stateMachine: this.workflow.stateMachine,
      functions: { Validate: this.steps.validate, Ingest: this.steps.ingest, Train: this.training.trainFunction, Evaluate: this.steps.evaluate, Promote: this.steps.promote, RequestApproval: this.steps.requestApproval, Sweep: this.steps.sweep },
      fargate: { cluster: this.training.cluster, taskDefinition: this.training.taskDefinition },
    });

    new CfnOutput(this, 'DataBucketName', {
      value: this.data.bucket.bucketName,
      description: 'Upload raw/<name>/train.csv and raw/<name>/test.csv here to start a training run',
    });
    new CfnOutput(this, 'StateMachineArn', {
      value: this.workflow.stateMachine.stateMachineArn,
      description: 'The training workflow (fmnist start / aws stepfunctions start-execution)',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.alarms.topic.topicArn,
      description: 'Every alarm of the stack notifies this topic: subscribe to it (alarmEmail does so for one address)',
    });

    acknowledgeCdkHelpers(this);
  }
}
