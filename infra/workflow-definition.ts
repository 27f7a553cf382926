import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import type { ApprovalMode } from '../lib/workflow/execution-input.ts';
import type { DataCheckSettings } from '../lib/data/data-check-policy.ts';
import { FARGATE_ENV } from '../lib/workflow/fargate-task.ts';
import { trainEventKey } from '../lib/workflow/layout.ts';
import {
  ECS_TRANSIENT_ERRORS,
  LAMBDA_THROTTLED_ERRORS,
  LAMBDA_TIMEOUT_ERRORS,
  LAMBDA_TRANSIENT_ERRORS,
  S3_TRANSIENT_ERRORS,
  STATE_NAMES,
  SWEEP_STATE_NAMES,
  TRAIN_LOOP_LIMIT_ERROR,
  trialStateName,
  type TrainingPathState,
} from '../lib/workflow/states.ts';
import { DATA_ACCESS, objectArns } from './data-access.ts';

/**
 * The training workflow, one state per step. Its names (states, errors) are a contract shared
 * with the local runtime and the CLI: they live, CDK-free, in lib/workflow/states.ts.
 *
 *   ValidateInput ─▶ Ingest ─▶ PrepareTrainEvent ─▶ StartTrainLoops ─▶ ChooseTrainingRuntime ─┬▶ TrainOnLambda ─▶ TrainingStatus ─┬▶ Evaluate ─▶ Promote ─▶ Done
 *                                                                                            │        ▲                         │ "continue"
 *                                                                                            │        └──── ContinueTraining ◀──┤ (count + 1)
 *                                                                                            │                                  └▶ TooManyTrainLoops (count = maxTrainLoops)
 *                                                                                            └▶ WriteTrainEvent ─▶ TrainOnFargate ─▶ Evaluate
 *   TrainOnLambda answers "continue" when it ran short of time and checkpointed (functions/train):
 *   it is invoked again with the same TrainEvent and resumes from runs/<runId>/checkpoint/;
 *   $.trainLoops.count says how often, up to maxTrainLoops.
 *   TrainOnLambda timing out anyway ─▶ FallBackToFargate: WriteTrainEvent when trainOn was "auto"
 *   (the task resumes from the Lambda's last checkpoint), else Failed.
 *   A run (not a sweep) passes CompletedRunFound before PrepareTrainEvent: a run completed with the
  *   same dataset, config and code version (step caching) ─▶ ReuseCompletedRun ─▶ Done, nothing trained.
 *   A sweep (input "sweep") leaves Ingest through IsSweep for StartSweep ─▶ TrainTrials (a Map:
 *   the same training path per trial, named Trial<state>) ─▶ EndSweepRound ─▶ more rounds
 *   (successive halving) or UseBestTrial ─▶ ApprovalRequired ─▶ Promote (see sweepRounds).
 *   every Task: Catch States.ALL ─▶ Failed (error and cause of the failing state)
 *
 * The Fargate task gets its TrainEvent from S3 (WriteTrainEvent puts it at trainEventKey(runId)),
 * never in the RunTask container overrides: those are limited to 8,192 characters (a valid config
 * with many layers would fail only on AWS) and readable by anyone allowed ecs:DescribeTasks.
 *
 * The state document stays small: { plan, dataset, trainEvent, trainLoops, training, evaluation, promotion }
 * (a sweep's also round, roundResults, sweepStep until UseBestTrial trims them).
 */
export interface WorkflowTargets {
  readonly validate: lambda.IFunction;
  readonly ingest: lambda.IFunction;
  readonly trainFunction: lambda.IFunction;
  readonly evaluate: lambda.IFunction;
  readonly promote: lambda.IFunction;
  /** AwaitApproval's function: files the task token for `fmnist models approve`. */
  readonly requestApproval: lambda.IFunction;
  /** A sweep's StartSweep and EndSweepRound: the sweep record, survivors, the best trial (functions/sweep). */
  readonly sweep: lambda.IFunction;
  readonly cluster: ecs.ICluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly taskSecurityGroup: ec2.ISecurityGroup;
  /** Where WriteTrainEvent puts the Fargate task's TrainEvent (and what ValidateInput reports). */
  readonly dataBucket: s3.IBucket;
}

export interface WorkflowOptions {
  /** trainOn "auto" picks Fargate above this many images (epochs x train examples). */
  readonly lambdaTrainMaxImages: number;
  /** How often TrainOnLambda may answer "continue" before the execution fails (TrainLoopLimitExceeded). */
  readonly maxTrainLoops: number;
  /** Memory of the train Lambda and of the Fargate task, for ValidateInput to check a run against. */
  readonly trainMemoryMiB: { readonly lambda: number; readonly fargate: number };
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
  /** Approval for executions whose input does not choose, and how long AwaitApproval waits. */
  readonly approval: { readonly default: ApprovalMode; readonly timeout: Duration };
  /** The data checks' policy and thresholds for executions whose input does not choose (Ingest applies them). */
  readonly dataChecks: DataCheckSettings;
  /** The promotion floor Promote applies to the accuracy rule. */
  readonly promotionPolicy: { readonly minAccuracy: number; readonly minMacroF1?: number };
  /** Trials a sweep trains at once when its input does not choose (the Map's MaxConcurrency). */
  readonly sweepMaxConcurrency: number;
  /** The sweep function's timeout. */
  readonly sweepTimeout: Duration;
}

/** How one copy of the training path names its states: the run's own, or a sweep trial's (`Trial<name>`). */
type NameOf = (state: TrainingPathState | 'evaluate') => string;
const runStateName: NameOf = (state) => STATE_NAMES[state];

export function buildWorkflowDefinition(scope: Construct, targets: WorkflowTargets, options: WorkflowOptions): sfn.IChainable {
  const kit = new TaskKit(scope, new sfn.Fail(scope, STATE_NAMES.failed, {
    comment: 'The error and cause of the state that failed',
    errorPath: sfn.JsonPath.stringAt('$.error.Error'),
    causePath: sfn.JsonPath.stringAt('$.error.Cause'),
  }));
  const { validate, ingest } = validateAndIngest(kit, targets, options);
  const { approval, promote, done } = approvalAndPromotion(kit, targets, options);
  promote.next(done);
  const evaluate = evaluateTask(kit, targets, options, runStateName);
  evaluate.next(approval);
  const tooManyLoops = new sfn.Fail(scope, STATE_NAMES.tooManyTrainLoops, {
    comment: 'A cap on Lambda continuations',
    error: TRAIN_LOOP_LIMIT_ERROR,
    cause: trainLoopLimitCause(options),
  });
  const training = trainingPath(kit, targets, options, runStateName, { evaluate, tooManyLoops });
  const sweep = sweepRounds(kit, targets, options, approval);
  const isSweep = new sfn.Choice(scope, SWEEP_STATE_NAMES.isSweep, { comment: 'A sweep (input "sweep") trains many configs in a Map; a run, one' })
    .when(sfn.Condition.isPresent('$.plan.sweep'), sweep)
    .otherwise(stepCache(scope, training, done));
  return validate.next(ingest).next(isSweep);
}

const trainLoopLimitCause = (options: WorkflowOptions) =>
  `training on Lambda answered "continue" ${options.maxTrainLoops} times (maxTrainLoops); its checkpoint stays under ` +
  'runs/<runId>/checkpoint/: resume the run on Fargate (trainOn "fargate") or deploy with a higher maxTrainLoops';

/**
 * PrepareTrainEvent -> StartTrainLoops -> ChooseTrainingRuntime -> TrainOnLambda (looping) or
 * WriteTrainEvent -> TrainOnFargate, then `evaluate`. Built once for a run and once, named
 * Trial<state>, inside a sweep's Map, where `budgetReached` takes a trial that trained its
 * round's epoch budget (TrainEvent.epochBudget) and Fargate's answer goes through TrainingStatus
 * too. Returns the first state.
 */
function trainingPath(
  kit: TaskKit,
  targets: WorkflowTargets,
  options: WorkflowOptions,
  name: NameOf,
  next: { evaluate: sfn.IChainable; tooManyLoops: sfn.IChainable; budgetReached?: sfn.IChainable },
): sfn.IChainable {
  const prepare = new sfn.Pass(kit.scope, name('prepareTrainEvent'), {
    comment: 'The TrainEvent both training runtimes receive',
    parameters: {
      datasetPrefix: sfn.JsonPath.stringAt('$.dataset.datasetPrefix'),
      runId: sfn.JsonPath.stringAt(next.budgetReached ? '$.trial.runId' : '$.plan.runId'),
      config: sfn.JsonPath.objectAt(next.budgetReached ? '$.trial.config' : '$.plan.config'),
      ...(next.budgetReached ? { epochBudget: sfn.JsonPath.numberAt('$.epochBudget') } : {}),
    },
    resultPath: '$.trainEvent',
  });
  const { writeTrainEvent, trainOnFargate } = fargateTraining(kit, targets, options, name);
  const trainOnLambda = lambdaTraining(kit, targets, options, writeTrainEvent, name);
  const { startTrainLoops, trainingStatus } = lambdaContinuation(kit, options, trainOnLambda, next, name);
  trainOnFargate.next(next.budgetReached ? trainingStatus : next.evaluate);
  const choose = runtimeChoice(kit.scope, trainOnLambda, writeTrainEvent, name);
  return prepare.next(startTrainLoops).next(choose);
}

const transient = (errors: string[], interval: Duration): sfn.RetryProps => ({ errors, interval, backoffRate: 2, maxAttempts: 3 });

/**
 * Failure handling, shared by every task: the Failed state, and `guard`, which gives a task its
 * retries, then its own catches, then Catch States.ALL -> Failed (error and cause in $.error).
 */
class TaskKit {
  /**
   * @param failed where Catch States.ALL goes: the run's Failed state, or, inside a sweep's Map,
   *   TrialFailed (one failed trial must not fail the others)
   */
  constructor(
    readonly scope: Construct,
    readonly failed: sfn.IChainable,
  ) {}

  guard<T extends sfn.TaskStateBase>(task: T, retries: sfn.RetryProps[], catchFirst?: (task: T) => void): T {
    for (const retry of retries) task.addRetry(retry);
    catchFirst?.(task);
    task.addCatch(this.failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return task;
  }

  /** A guarded Lambda invocation whose state timeout is the function's plus one minute. */
  lambdaTask(
    name: string,
    fn: lambda.IFunction,
    timeout: Duration,
    props: Partial<tasks.LambdaInvokeProps>,
    retries: sfn.RetryProps[] = [transient(LAMBDA_TRANSIENT_ERRORS, Duration.seconds(2))],
    catchFirst?: (task: tasks.LambdaInvoke) => void,
  ): tasks.LambdaInvoke {
    return this.guard(
      withExactPolicies(
        new tasks.LambdaInvoke(this.scope, name, {
          lambdaFunction: fn,
          payloadResponseOnly: true,
          retryOnServiceExceptions: false,
          taskTimeout: sfn.Timeout.duration(timeout.plus(Duration.minutes(1))),
          ...props,
        }),
        // The state invokes the unqualified function ARN; CDK's default also allows `<arn>:*`
        // (every version and alias), which nothing here invokes.
        [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] })],
      ),
      retries,
      catchFirst,
    );
  }
}

/**
 * A sweep: StartSweep -> TrainTrials (Map over the round's trials) -> EndSweepRound ->
 * SweepRoundsDone, which goes round again through NextSweepRound (successive halving's next,
 * longer round for the survivors) or hands the best trial to `approval` through UseBestTrial.
 *
 * Inside the Map each trial runs the training path (Trial<state>), ending in TrialTrained (a
 * round's epoch budget reached), or, in the last round, TrialEvaluate -> RegisterTrial (the
 * Promote function with mode "never": registered, never promoted there) -> TrialEvaluated. Any
 * failure ends the trial in TrialFailed with its error, never the Map: one failed trial does not
 * fail the others; EndSweepRound fails the sweep (SweepFailed) when no trial of a round trained.
 */
function sweepRounds(runKit: TaskKit, targets: WorkflowTargets, options: WorkflowOptions, approval: sfn.IChainable): sfn.IChainable {
  const { scope } = runKit;
  const names = SWEEP_STATE_NAMES;
  const trialFailed = new sfn.Pass(scope, names.trialFailed, {
    comment: 'The trial failed: its error is the iteration\'s result (EndSweepRound records it)',
    parameters: { trialId: sfn.JsonPath.stringAt('$.trial.trialId'), runId: sfn.JsonPath.stringAt('$.trial.runId'), status: 'failed', error: sfn.JsonPath.objectAt('$.error') },
  });
  const trialKit = new TaskKit(scope, trialFailed);
  const trialResult = (id: string, comment: string, withEvaluation: boolean) =>
    new sfn.Pass(scope, id, {
      comment,
      parameters: {
        trialId: sfn.JsonPath.stringAt('$.trial.trialId'),
        runId: sfn.JsonPath.stringAt('$.trial.runId'),
        status: 'trained',
        training: sfn.JsonPath.objectAt('$.training'),
        ...(withEvaluation ? { evaluation: sfn.JsonPath.objectAt('$.evaluation') } : {}),
      },
    });
  const registerTrial = trialKit.lambdaTask(names.registerTrial, targets.promote, options.timeouts.promote, {
    comment: 'Registers the trial in the model registry; only the best trial goes on to Promote',
    payload: sfn.TaskInput.fromObject({
      candidate: promotionCandidate(),
      mode: 'never',
      policy: { ...options.promotionPolicy },
      executionName: sfn.JsonPath.executionName,
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const evaluate = evaluateTask(trialKit, targets, options, trialStateName);
  evaluate.next(registerTrial).next(trialResult(names.trialEvaluated, 'Trained, evaluated and registered', true));
  const tooManyLoops = new sfn.Pass(scope, names.trialTooManyTrainLoops, {
    comment: 'A cap on Lambda continuations: the trial fails, the others go on',
    parameters: { Error: TRAIN_LOOP_LIMIT_ERROR, Cause: trainLoopLimitCause(options) },
    resultPath: '$.error',
  }).next(trialFailed);
  const trial = trainingPath(trialKit, targets, options, trialStateName, {
    evaluate,
    tooManyLoops,
    budgetReached: trialResult(names.trialTrained, 'The round\'s epoch budget is trained and checkpointed', false),
  });

  const trainTrials = new sfn.Map(scope, names.trainTrials, {
    comment: 'Trains every trial of the round (at most the sweep\'s maxConcurrency at once)',
    itemsPath: '$.round.trials',
    itemSelector: {
      trial: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
      plan: {
        trainOn: sfn.JsonPath.stringAt('$$.Map.Item.Value.trainOn'),
        lambdaMaxTrainExamples: sfn.JsonPath.numberAt('$$.Map.Item.Value.lambdaMaxTrainExamples'),
      },
      dataset: sfn.JsonPath.objectAt('$.dataset'),
      epochBudget: sfn.JsonPath.numberAt('$.round.epochBudget'),
    },
    maxConcurrencyPath: '$.plan.sweep.maxConcurrency',
    resultPath: '$.roundResults',
  });
  trainTrials.itemProcessor(trial);
  trainTrials.addCatch(runKit.failed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const sweepPayload = (action: string, extra: Record<string, unknown>) =>
    sfn.TaskInput.fromObject({
      action,
      sweep: sfn.JsonPath.objectAt('$.plan.sweep'),
      dataset: sfn.JsonPath.objectAt('$.dataset'),
      executionName: sfn.JsonPath.executionName,
      ...extra,
    });
  const startSweep = runKit.lambdaTask(names.startSweep, targets.sweep, options.sweepTimeout, {
    comment: 'Files sweeps/<sweepId>/sweep.json and plans round 0',
    payload: sweepPayload('start', {}),
    resultPath: '$.round',
  });
  const endRound = runKit.lambdaTask(names.endRound, targets.sweep, options.sweepTimeout, {
    comment: 'Records the round; keeps the best trials for the next round, or picks the best trial and writes the sweep page',
    payload: sweepPayload('end-round', { round: sfn.JsonPath.objectAt('$.round'), results: sfn.JsonPath.objectAt('$.roundResults') }),
    resultPath: '$.sweepStep',
  });
  const nextRound = new sfn.Pass(scope, names.nextRound, {
    comment: 'The survivors, for a longer budget',
    inputPath: '$.sweepStep.round',
    resultPath: '$.round',
  });
  const useBestTrial = new sfn.Pass(scope, names.useBestTrial, {
    comment: 'The best trial goes on as the run: its training and evaluation, for approval and Promote',
    parameters: {
      plan: sfn.JsonPath.objectAt('$.plan'),
      dataset: sfn.JsonPath.objectAt('$.dataset'),
      training: sfn.JsonPath.objectAt('$.sweepStep.best.training'),
      evaluation: sfn.JsonPath.objectAt('$.sweepStep.best.evaluation'),
      sweep: sfn.JsonPath.objectAt('$.sweepStep.summary'),
    },
  });
  const roundsDone = new sfn.Choice(scope, names.roundsDone)
    .when(sfn.Condition.booleanEquals('$.sweepStep.done', false), nextRound.next(trainTrials))
    .otherwise(useBestTrial.next(approval));
  return startSweep.next(trainTrials).next(endRound).next(roundsDone);
}

/** ValidateInput -> Ingest: the plan and the dataset. */
function validateAndIngest(kit: TaskKit, targets: WorkflowTargets, options: WorkflowOptions) {
  const validate = kit.lambdaTask(STATE_NAMES.validate, targets.validate, options.timeouts.validate, {
    comment: 'Rejects bad input before any work; outputs the plan',
    payload: sfn.TaskInput.fromObject({
      input: sfn.JsonPath.entirePayload,
      executionName: sfn.JsonPath.executionName,
      lambdaTrainMaxImages: options.lambdaTrainMaxImages,
      dataBucket: targets.dataBucket.bucketName,
      trainMemoryMiB: { lambda: options.trainMemoryMiB.lambda, fargate: options.trainMemoryMiB.fargate },
      defaultApproval: options.approval.default,
      defaultDataChecks: { policy: options.dataChecks.policy, thresholds: { ...options.dataChecks.thresholds } },
      defaultSweepConcurrency: options.sweepMaxConcurrency,
    }),
    resultSelector: { plan: sfn.JsonPath.entirePayload },
    resultPath: '$',
  });

  const ingest = kit.lambdaTask(STATE_NAMES.ingest, targets.ingest, options.timeouts.ingest, {
    comment: 'Raw CSVs to validated shards under datasets/<datasetId>/',
    inputPath: '$.plan.ingest',
    resultSelector: {
      datasetId: sfn.JsonPath.stringAt('$.datasetId'),
      datasetPrefix: sfn.JsonPath.stringAt('$.datasetPrefix'),
      testSetId: sfn.JsonPath.stringAt('$.testSetId'),
      reused: sfn.JsonPath.stringAt('$.reused'),
      parent: sfn.JsonPath.stringAt('$.parent'),
      sourcesFromCache: sfn.JsonPath.numberAt('$.sourcesFromCache'),
      reusedRun: sfn.JsonPath.stringAt('$.reusedRun'),
      trainExamples: sfn.JsonPath.numberAt('$.train.examples'),
      testExamples: sfn.JsonPath.numberAt('$.test.examples'),
    },
    resultPath: '$.dataset',
  });

  return { validate, ingest };
}

/**
 * CompletedRunFound: step caching (lib/workflow/step-cache.ts). Ingest names the run that
 * completed with this dataset, config and code version ($.dataset.reusedRun, null when none or
 * with "cache": false); ReuseCompletedRun reports it as $.reusedRun and the execution ends
 * without training or evaluating. Otherwise on to `train`.
 */
function stepCache(scope: Construct, train: sfn.IChainable, done: sfn.IChainable): sfn.Choice {
  const reuse = new sfn.Pass(scope, STATE_NAMES.reuseCompletedRun, {
    comment: 'Same dataset, config and code version as a completed run: its model and report stand, nothing is trained',
    inputPath: '$.dataset.reusedRun',
    resultPath: '$.reusedRun',
  }).next(done);
  return new sfn.Choice(scope, STATE_NAMES.completedRunFound, { comment: 'A completed run with the same dataset, config and code version?' })
    .when(sfn.Condition.isString('$.dataset.reusedRun'), reuse)
    .otherwise(train);
}

/** WriteTrainEvent -> TrainOnFargate: the TrainEvent to S3, then the task, which answers with the task token. */
function fargateTraining(kit: TaskKit, targets: WorkflowTargets, options: WorkflowOptions, name: NameOf) {
  // Same pattern as trainEventKey(runId): the key the Fargate entry reads (lib/workflow/layout.ts).
  const trainEventKeyOfThisRun = sfn.JsonPath.format(trainEventKey('{}'), sfn.JsonPath.stringAt('$.trainEvent.runId'));
  const writeTrainEvent = kit.guard(
    new tasks.CallAwsService(kit.scope, name('writeTrainEvent'), {
      comment: 'The TrainEvent for the Fargate task, at runs/<runId>/train-event.json (container overrides are too small for it)',
      service: 's3',
      action: 'putObject',
      parameters: {
        Bucket: targets.dataBucket.bucketName,
        Key: trainEventKeyOfThisRun,
        Body: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.trainEvent')),
        ContentType: 'application/json',
      },
      iamAction: 's3:PutObject',
      iamResources: objectArns(targets.dataBucket, DATA_ACCESS.stateMachine.put),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(1)),
    }),
    [transient(S3_TRANSIENT_ERRORS, Duration.seconds(2))],
  );

  const { taskDefinition, cluster } = targets;
  const trainOnFargate = kit.guard(
    withExactPolicies(
      new tasks.EcsRunTask(kit.scope, name('trainOnFargate'), {
        comment: 'Same image on Fargate; the task answers with SendTaskSuccess/SendTaskFailure',
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        cluster,
        taskDefinition,
        launchTarget: new tasks.EcsFargateLaunchTarget({ platformVersion: ecs.FargatePlatformVersion.LATEST }),
        assignPublicIp: true,
        subnets: { subnetType: ec2.SubnetType.PUBLIC },
        securityGroups: [targets.taskSecurityGroup],
        containerOverrides: [
          {
            containerDefinition: targets.container,
            environment: [
              { name: FARGATE_ENV.trainEventKey, value: trainEventKeyOfThisRun },
              { name: FARGATE_ENV.taskToken, value: sfn.JsonPath.taskToken },
              { name: FARGATE_ENV.stateEnteredTime, value: sfn.JsonPath.stringAt('$$.State.EnteredTime') },
              { name: FARGATE_ENV.stateTimeoutSeconds, value: String(options.fargateTimeout.toSeconds()) },
            ],
          },
        ],
        taskTimeout: sfn.Timeout.duration(options.fargateTimeout),
        heartbeatTimeout: sfn.Timeout.duration(options.fargateHeartbeat),
        resultPath: '$.training',
      }),
      // CDK's default adds ecs:StopTask and ecs:DescribeTasks on "*", which only the .sync pattern
      // uses (it polls the task and stops it on abort); with a task token the state machine only
      // starts the task. Stopping the tasks of dead executions is StopTraining's job (stop-training.ts).
      [
        new iam.PolicyStatement({
          actions: ['ecs:RunTask'],
          resources: [taskDefinition.taskDefinitionArn],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [taskDefinition.taskRole.roleArn, taskDefinition.obtainExecutionRole().roleArn],
        }),
      ],
    ),
    [
      {
        errors: ECS_TRANSIENT_ERRORS,
        interval: Duration.seconds(30),
        backoffRate: 2,
        maxAttempts: 5,
        maxDelay: Duration.minutes(5),
        jitterStrategy: sfn.JitterType.FULL,
      },
    ],
  );
  writeTrainEvent.next(trainOnFargate);
  return { writeTrainEvent, trainOnFargate };
}

/** TrainOnLambda, waiting out throttling; timing out goes to FallBackToFargate (WriteTrainEvent when trainOn was "auto"). */
function lambdaTraining(kit: TaskKit, targets: WorkflowTargets, options: WorkflowOptions, writeTrainEvent: sfn.IChainable, name: NameOf): tasks.LambdaInvoke {
  const fallBack = new sfn.Choice(kit.scope, name('fallBackToFargate'), {
    comment: 'Lambda training ran out of time: Fargate resumes from its last checkpoint if the runtime was picked automatically',
  })
    .when(sfn.Condition.stringEquals('$.plan.trainOn', 'auto'), writeTrainEvent)
    .otherwise(kit.failed);

  return kit.lambdaTask(
    name('trainOnLambda'),
    targets.trainFunction,
    options.timeouts.train,
    {
      comment: 'Container Lambda, 10,240 MB, 15 minutes at most; answers status "continue" (checkpointed) or "complete"',
      inputPath: '$.trainEvent',
      resultPath: '$.training',
    },
    [
      // At its reserved concurrency the function throttles: wait for a slot (up to ~an hour)
      // rather than fail the run after seconds.
      {
        errors: LAMBDA_THROTTLED_ERRORS,
        interval: Duration.minutes(1),
        backoffRate: 2,
        maxAttempts: 8,
        maxDelay: Duration.minutes(10),
        jitterStrategy: sfn.JitterType.FULL,
      },
      transient(
        LAMBDA_TRANSIENT_ERRORS.filter((error) => !LAMBDA_THROTTLED_ERRORS.includes(error)),
        Duration.seconds(2),
      ),
    ],
    (task) => task.addCatch(fallBack, { errors: LAMBDA_TIMEOUT_ERRORS, resultPath: '$.error' }),
  );
}

/** Evaluate: the test-split metrics and report of $.training's model. */
function evaluateTask(kit: TaskKit, targets: WorkflowTargets, options: WorkflowOptions, name: NameOf): tasks.LambdaInvoke {
  return kit.lambdaTask(name('evaluate'), targets.evaluate, options.timeouts.evaluate, {
    comment: 'Test-set metrics and the report under runs/<runId>/report/',
    payload: sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt('$.training.runId'),
      datasetPrefix: sfn.JsonPath.stringAt('$.training.datasetPrefix'),
      modelPrefix: sfn.JsonPath.stringAt('$.training.modelPrefix'),
    }),
    resultPath: '$.evaluation',
  });
}

/** What Promote (and RegisterTrial) get of the evaluated run: from $.evaluation, $.dataset and $.training. */
const promotionCandidate = () => ({
  runId: sfn.JsonPath.stringAt('$.evaluation.runId'),
  datasetId: sfn.JsonPath.stringAt('$.dataset.datasetId'),
  testSetId: sfn.JsonPath.stringAt('$.dataset.testSetId'),
  accuracy: sfn.JsonPath.numberAt('$.evaluation.accuracy'),
  macroF1: sfn.JsonPath.numberAt('$.evaluation.macroF1'),
  modelPrefix: sfn.JsonPath.stringAt('$.training.modelPrefix'),
  reportPrefix: sfn.JsonPath.stringAt('$.evaluation.reportPrefix'),
  modelSha256: sfn.JsonPath.objectAt('$.evaluation.modelSha256'),
});

/** ApprovalRequired -> (AwaitApproval) -> Promote -> Done (Done not yet chained: the caller links it). Returns ApprovalRequired as `approval`. */
function approvalAndPromotion(kit: TaskKit, targets: WorkflowTargets, options: WorkflowOptions) {
  const promote = kit.lambdaTask(STATE_NAMES.promote, targets.promote, options.timeouts.promote, {
    comment: 'Registers the model (models/registry/), then compare-and-swap of models/champions/<testSetId>.json: replaced only by a better model on the same test split, or an approved one',
    payload: sfn.TaskInput.fromObject({
      candidate: promotionCandidate(),
      mode: sfn.JsonPath.stringAt('$.plan.promote'),
      policy: { ...options.promotionPolicy },
      approval: sfn.JsonPath.objectAt('$.approval'),
      executionName: sfn.JsonPath.executionName,
    }),
    // What the decision was made against (saw: the champion's run, null when there was none) and
    // in how many compare-and-swap rounds: the execution output's promotion record.
    resultSelector: {
      promoted: sfn.JsonPath.stringAt('$.promoted'),
      reason: sfn.JsonPath.stringAt('$.reason'),
      sawRunId: sfn.JsonPath.stringAt('$.saw.runId'),
      attempts: sfn.JsonPath.numberAt('$.attempts'),
      registered: sfn.JsonPath.stringAt('$.registered'),
    },
    resultPath: '$.promotion',
  });

  const approval = approvalGate(kit, targets, options, promote);
  const done = new sfn.Succeed(kit.scope, STATE_NAMES.done);
  return { approval, promote, done };
}

/**
 * ApprovalRequired: with approval "manual" the execution waits in AwaitApproval (a task token
 * filed by the request-approval function) until `fmnist models approve`/`reject` answers with
 * SendTaskSuccess ({ decision, by, at, reason }), or the wait times out (ApprovalExpired: the model
 * is registered, not promoted). Either way $.approval holds the answer Promote acts on; with
 * approval "auto" it holds { decision: "not-required" } and Promote applies the promotion rule.
 */
function approvalGate(kit: TaskKit, targets: WorkflowTargets, options: WorkflowOptions, promote: sfn.IChainable): sfn.Choice {
  const timeoutSeconds = options.approval.timeout.toSeconds();
  const awaitApproval = kit.guard(
    new tasks.LambdaInvoke(kit.scope, STATE_NAMES.awaitApproval, {
      comment: 'Waits for fmnist models approve/reject (SendTaskSuccess with the token filed at models/approvals/<runId>.json)',
      lambdaFunction: targets.requestApproval,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      retryOnServiceExceptions: false,
      payload: sfn.TaskInput.fromObject({
        taskToken: sfn.JsonPath.taskToken,
        runId: sfn.JsonPath.stringAt('$.evaluation.runId'),
        testSetId: sfn.JsonPath.stringAt('$.dataset.testSetId'),
        executionName: sfn.JsonPath.executionName,
        accuracy: sfn.JsonPath.numberAt('$.evaluation.accuracy'),
        macroF1: sfn.JsonPath.numberAt('$.evaluation.macroF1'),
        reportPrefix: sfn.JsonPath.stringAt('$.evaluation.reportPrefix'),
        timeoutSeconds,
      }),
      taskTimeout: sfn.Timeout.duration(options.approval.timeout),
      resultPath: '$.approval',
    }),
    [transient(LAMBDA_TRANSIENT_ERRORS, Duration.seconds(2))],
    (task) =>
      task.addCatch(
        new sfn.Pass(kit.scope, STATE_NAMES.approvalExpired, {
          comment: 'Nobody answered within the approval timeout: registered, not promoted',
          parameters: {
            decision: 'expired',
            by: 'workflow',
            'at.$': '$$.State.EnteredTime',
            reason: `no answer within ${timeoutSeconds / 3600} h`,
          },
          resultPath: '$.approval',
        }).next(promote),
        { errors: ['States.Timeout'], resultPath: '$.error' },
      ),
  );
  withExactPolicies(awaitApproval, [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [targets.requestApproval.functionArn] })]);
  awaitApproval.next(promote);
  const notRequired = new sfn.Pass(kit.scope, STATE_NAMES.approvalNotRequired, {
    result: sfn.Result.fromObject({ decision: 'not-required' }),
    resultPath: '$.approval',
  }).next(promote);
  return new sfn.Choice(kit.scope, STATE_NAMES.approvalRequired)
    .when(sfn.Condition.stringEquals('$.plan.approval', 'manual'), awaitApproval)
    .otherwise(notRequired);
}

/**
 * The Lambda continuation loop: StartTrainLoops (count 0), then TrainOnLambda -> TrainingStatus,
 * which on "continue" goes round through ContinueTraining (count + 1) up to maxTrainLoops times
 * (then `tooManyLoops`), on "budget" (a sweep round's epoch budget reached) to `budgetReached`,
 * and on "complete" to `evaluate`.
 */
function lambdaContinuation(
  kit: TaskKit,
  options: WorkflowOptions,
  trainOnLambda: tasks.LambdaInvoke,
  next: { evaluate: sfn.IChainable; tooManyLoops: sfn.IChainable; budgetReached?: sfn.IChainable },
  name: NameOf,
): { startTrainLoops: sfn.Pass; trainingStatus: sfn.Choice } {
  const { scope } = kit;
  const startTrainLoops = new sfn.Pass(scope, name('startTrainLoops'), {
    comment: 'How often TrainOnLambda answered "continue" (in the execution output)',
    result: sfn.Result.fromObject({ count: 0 }),
    resultPath: '$.trainLoops',
  });
  const continueTraining = new sfn.Pass(scope, name('continueTraining'), {
    comment: 'One more invocation: it resumes from the checkpoint the last one wrote',
    parameters: { count: sfn.JsonPath.mathAdd(sfn.JsonPath.numberAt('$.trainLoops.count'), 1) },
    resultPath: '$.trainLoops',
  });
  const continuing = sfn.Condition.stringEquals('$.training.status', 'continue');
  const trainingStatus = new sfn.Choice(scope, name('trainingStatus'), {
    comment: '"continue": invoke TrainOnLambda again (up to maxTrainLoops times); "complete": evaluate',
  })
    .when(sfn.Condition.and(continuing, sfn.Condition.numberGreaterThanEquals('$.trainLoops.count', options.maxTrainLoops)), next.tooManyLoops)
    .when(continuing, continueTraining.next(trainOnLambda));
  if (next.budgetReached) trainingStatus.when(sfn.Condition.stringEquals('$.training.status', 'budget'), next.budgetReached);
  trainingStatus.otherwise(next.evaluate);
  trainOnLambda.next(trainingStatus);
  return { startTrainLoops, trainingStatus };
}

/** ChooseTrainingRuntime: trainOn "lambda" | "fargate" | "auto" (Fargate above the plan's Lambda limit). */
function runtimeChoice(scope: Construct, trainOnLambda: sfn.IChainable, writeTrainEvent: sfn.IChainable, name: NameOf): sfn.Choice {
  return new sfn.Choice(scope, name('chooseRuntime'), {
    comment: 'trainOn "lambda" | "fargate" | "auto": Fargate when trainExamples > plan.lambdaMaxTrainExamples',
  })
    .when(sfn.Condition.stringEquals('$.plan.trainOn', 'lambda'), trainOnLambda)
    .when(sfn.Condition.stringEquals('$.plan.trainOn', 'fargate'), writeTrainEvent)
    .when(
      sfn.Condition.numberGreaterThanJsonPath('$.dataset.trainExamples', '$.plan.lambdaMaxTrainExamples'),
      writeTrainEvent,
    )
    .otherwise(trainOnLambda);
}

/**
 * Replaces the IAM statements a CDK task state adds to the state machine role with exactly
 * `statements`. CDK's defaults are broader than this workflow needs (see the callers), and they
 * are fixed in the task's constructor (TaskStateBase.taskPolicies, read when the state machine
 * binds the graph), so they are swapped before that. test/infra asserts the resulting role.
 */
function withExactPolicies<T extends sfn.TaskStateBase>(task: T, statements: iam.PolicyStatement[]): T {
  Object.defineProperty(task, 'taskPolicies', { value: statements, configurable: true });
  return task;
}
