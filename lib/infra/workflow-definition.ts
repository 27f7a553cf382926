import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TASK_TOKEN_ENV, TRAIN_EVENT_ENV } from '../../functions/train/fargate.ts';

/**
 * The training workflow, one state per step. State names are an interface: the local runner
 * (lib/local) maps each Task state to the same handler by name.
 *
 *   ValidateInput ─▶ Ingest ─▶ PrepareTrainEvent ─▶ ChooseTrainingRuntime ─┬▶ TrainOnLambda ──┬▶ Evaluate ─▶ Promote ─▶ Done
 *                                                                         └▶ TrainOnFargate ─┘
 *   TrainOnLambda hitting the 15-minute limit ─▶ FallBackToFargate: TrainOnFargate when trainOn
 *   was "auto" (the size estimate was wrong: the run starts over on Fargate), else Failed.
 *   every Task: Catch States.ALL ─▶ Failed (error and cause of the failing state)
 *
 * The state document stays small: { plan, dataset, trainEvent, training, evaluation, promotion }.
 */
export const STATE_NAMES = {
  validate: 'ValidateInput',
  ingest: 'Ingest',
  prepareTrainEvent: 'PrepareTrainEvent',
  chooseRuntime: 'ChooseTrainingRuntime',
  trainOnLambda: 'TrainOnLambda',
  trainOnFargate: 'TrainOnFargate',
  fallBackToFargate: 'FallBackToFargate',
  evaluate: 'Evaluate',
  promote: 'Promote',
  done: 'Done',
  failed: 'Failed',
} as const;

/** Errors worth retrying: the Lambda service's own transient failures, never the handler's errors. */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
/** A Lambda that ran out of time (function timeout), or the state's own timeout. */
export const LAMBDA_TIMEOUT_ERRORS = ['Sandbox.Timedout', 'States.Timeout'];
/** RunTask throttling or capacity problems. */
export const ECS_TRANSIENT_ERRORS = ['ECS.AmazonECSException'];

export interface WorkflowTargets {
  readonly validate: lambda.IFunction;
  readonly ingest: lambda.IFunction;
  readonly trainFunction: lambda.IFunction;
  readonly evaluate: lambda.IFunction;
  readonly promote: lambda.IFunction;
  readonly cluster: ecs.ICluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly taskSecurityGroup: ec2.ISecurityGroup;
}

export interface WorkflowOptions {
  /** trainOn "auto" picks Fargate above this many images (epochs x train examples). */
  readonly lambdaTrainMaxImages: number;
  /** Lambda timeouts per function; each task's timeout adds one minute to its function's. */
  readonly timeouts: {
    readonly validate: Duration;
    readonly ingest: Duration;
    readonly train: Duration;
    readonly evaluate: Duration;
    readonly promote: Duration;
  };
  /** Longest Fargate training run. */
  readonly fargateTimeout: Duration;
  /** The Fargate entry heartbeats every 60 s; a silent task fails after this. */
  readonly fargateHeartbeat: Duration;
}

export function buildWorkflowDefinition(scope: Construct, targets: WorkflowTargets, options: WorkflowOptions): sfn.IChainable {
  const failed = new sfn.Fail(scope, STATE_NAMES.failed, {
    comment: 'The error and cause of the state that failed',
    errorPath: sfn.JsonPath.stringAt('$.error.Error'),
    causePath: sfn.JsonPath.stringAt('$.error.Cause'),
  });
  const guard = <T extends sfn.TaskStateBase>(
    task: T,
    transientErrors: string[],
    interval: Duration,
    catchFirst?: (task: T) => void,
  ): T => {
    task.addRetry({ errors: transientErrors, interval, backoffRate: 2, maxAttempts: 3 });
    catchFirst?.(task);
    task.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return task;
  };
  const lambdaTask = (
    name: string,
    fn: lambda.IFunction,
    timeout: Duration,
    props: Partial<tasks.LambdaInvokeProps>,
    catchFirst?: (task: tasks.LambdaInvoke) => void,
  ): tasks.LambdaInvoke =>
    guard(
      new tasks.LambdaInvoke(scope, name, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        taskTimeout: sfn.Timeout.duration(timeout.plus(Duration.minutes(1))),
        ...props,
      }),
      LAMBDA_TRANSIENT_ERRORS,
      Duration.seconds(2),
      catchFirst,
    );
  const t = options.timeouts;

  const validate = lambdaTask(STATE_NAMES.validate, targets.validate, t.validate, {
    comment: 'Rejects bad input before any work; outputs the plan',
    payload: sfn.TaskInput.fromObject({
      input: sfn.JsonPath.entirePayload,
      executionName: sfn.JsonPath.executionName,
      lambdaTrainMaxImages: options.lambdaTrainMaxImages,
    }),
    resultSelector: { plan: sfn.JsonPath.entirePayload },
    resultPath: '$',
  });

  const ingest = lambdaTask(STATE_NAMES.ingest, targets.ingest, t.ingest, {
    comment: 'Raw CSVs to validated shards under datasets/<datasetId>/',
    inputPath: '$.plan.ingest',
    resultSelector: {
      datasetId: sfn.JsonPath.stringAt('$.datasetId'),
      datasetPrefix: sfn.JsonPath.stringAt('$.datasetPrefix'),
      reused: sfn.JsonPath.stringAt('$.reused'),
      trainExamples: sfn.JsonPath.numberAt('$.train.examples'),
      testExamples: sfn.JsonPath.numberAt('$.test.examples'),
    },
    resultPath: '$.dataset',
  });

  const prepare = new sfn.Pass(scope, STATE_NAMES.prepareTrainEvent, {
    comment: 'The TrainEvent both training runtimes receive',
    parameters: {
      datasetPrefix: sfn.JsonPath.stringAt('$.dataset.datasetPrefix'),
      runId: sfn.JsonPath.stringAt('$.plan.runId'),
      config: sfn.JsonPath.objectAt('$.plan.config'),
    },
    resultPath: '$.trainEvent',
  });

  const trainOnFargate = guard(
    new tasks.EcsRunTask(scope, STATE_NAMES.trainOnFargate, {
      comment: 'Same image on Fargate; the task answers with SendTaskSuccess/SendTaskFailure',
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      cluster: targets.cluster,
      taskDefinition: targets.taskDefinition,
      launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.LATEST }),
      assignPublicIp: true,
      subnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [targets.taskSecurityGroup],
      containerOverrides: [
        {
          containerDefinition: targets.container,
          environment: [
            { name: TRAIN_EVENT_ENV, value: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.trainEvent')) },
            { name: TASK_TOKEN_ENV, value: sfn.JsonPath.taskToken },
          ],
        },
      ],
      taskTimeout: sfn.Timeout.duration(options.fargateTimeout),
      heartbeatTimeout: sfn.Timeout.duration(options.fargateHeartbeat),
      resultPath: '$.training',
    }),
    ECS_TRANSIENT_ERRORS,
    Duration.seconds(10),
  );

  const fallBack = new sfn.Choice(scope, STATE_NAMES.fallBackToFargate, {
    comment: 'Lambda training ran out of time: start over on Fargate if the runtime was picked automatically',
  })
    .when(sfn.Condition.stringEquals('$.plan.trainOn', 'auto'), trainOnFargate)
    .otherwise(failed);

  const trainOnLambda = lambdaTask(
    STATE_NAMES.trainOnLambda,
    targets.trainFunction,
    t.train,
    { comment: 'Container Lambda, 10,240 MB, 15 minutes at most', inputPath: '$.trainEvent', resultPath: '$.training' },
    (task) => task.addCatch(fallBack, { errors: LAMBDA_TIMEOUT_ERRORS, resultPath: '$.error' }),
  );

  const evaluate = lambdaTask(STATE_NAMES.evaluate, targets.evaluate, t.evaluate, {
    comment: 'Test-set metrics and the report under runs/<runId>/report/',
    payload: sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt('$.training.runId'),
      datasetPrefix: sfn.JsonPath.stringAt('$.training.datasetPrefix'),
      modelPrefix: sfn.JsonPath.stringAt('$.training.modelPrefix'),
    }),
    resultPath: '$.evaluation',
  });

  const promote = lambdaTask(STATE_NAMES.promote, targets.promote, t.promote, {
    comment: 'Replaces models/champion.json only with a better model on the same test set',
    payload: sfn.TaskInput.fromObject({
      candidate: {
        runId: sfn.JsonPath.stringAt('$.evaluation.runId'),
        datasetId: sfn.JsonPath.stringAt('$.dataset.datasetId'),
        accuracy: sfn.JsonPath.numberAt('$.evaluation.accuracy'),
        macroF1: sfn.JsonPath.numberAt('$.evaluation.macroF1'),
        modelPrefix: sfn.JsonPath.stringAt('$.training.modelPrefix'),
        reportPrefix: sfn.JsonPath.stringAt('$.evaluation.reportPrefix'),
      },
      mode: sfn.JsonPath.stringAt('$.plan.promote'),
    }),
    resultSelector: {
      promoted: sfn.JsonPath.stringAt('$.promoted'),
      reason: sfn.JsonPath.stringAt('$.reason'),
    },
    resultPath: '$.promotion',
  });

  const done = new sfn.Succeed(scope, STATE_NAMES.done);
  trainOnLambda.next(evaluate);
  trainOnFargate.next(evaluate);
  evaluate.next(promote).next(done);

  const choose = new sfn.Choice(scope, STATE_NAMES.chooseRuntime, {
    comment: 'trainOn "lambda" | "fargate" | "auto": Fargate when trainExamples > plan.lambdaMaxTrainExamples',
  })
    .when(sfn.Condition.stringEquals('$.plan.trainOn', 'lambda'), trainOnLambda)
    .when(sfn.Condition.stringEquals('$.plan.trainOn', 'fargate'), trainOnFargate)
    .when(
      sfn.Condition.numberGreaterThanJsonPath('$.dataset.trainExamples', '$.plan.lambdaMaxTrainExamples'),
      trainOnFargate,
    )
    .otherwise(trainOnLambda);

  return validate.next(ingest).next(prepare).next(choose);
}
