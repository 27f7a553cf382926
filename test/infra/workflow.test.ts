import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  type AslDefinition,
  definitionFromTemplate,
  synthesizeStack,
  type SynthesizedStack,
} from '../../infra/synthesized-definition.ts';
import { DEFAULT_MAX_TRAIN_LOOPS, LAMBDA_TRAIN_MAX_IMAGES } from '../../infra/settings.ts';
import {
  ECS_TRANSIENT_ERRORS,
  LAMBDA_THROTTLED_ERRORS,
  LAMBDA_TIMEOUT_ERRORS,
  LAMBDA_TRANSIENT_ERRORS,
  S3_TRANSIENT_ERRORS,
  STATE_NAMES,
  SWEEP_STATE_NAMES,
  TRAIN_LOOP_LIMIT_ERROR,
} from '../../lib/workflow/states.ts';
import { planExecution } from '../../lib/workflow/execution-input.ts';
import { FARGATE_ENV } from '../../lib/workflow/fargate-task.ts';
import { trainEventKey } from '../../lib/workflow/layout.ts';
import { logicalIdStartingWith, type Json } from './template-helpers.ts';

type AslValidator = (definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }) => {
  isValid: boolean;
  errors: unknown[];
};
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

let synthesized: SynthesizedStack;
let definition: AslDefinition;
const state = (name: string) => definition.States[name] as Json;
const tasks = () => Object.entries(definition.States).filter(([, s]) => s.Type === 'Task') as [string, Json][];

before(() => {
  synthesized = synthesizeStack();
  definition = definitionFromTemplate(synthesized.template.toJSON() as never);
});
after(() => synthesized.cleanup());

/** Just enough of a Choice evaluator for this definition's rules (StringEquals, NumericGreaterThan(Equals|Path), IsPresent, BooleanEquals, And). */
function choose(choice: Json, input: Json): string {
  const at = (path: string) => path.slice(2).split('.').reduce<any>((value, key) => value?.[key], input);
  const holds = (rule: Json): boolean => {
    if ('And' in rule) return (rule.And as Json[]).every(holds);
    if ('StringEquals' in rule) return at(rule.Variable) === rule.StringEquals;
    if ('NumericGreaterThanPath' in rule) return at(rule.Variable) > at(rule.NumericGreaterThanPath);
    if ('NumericGreaterThanEquals' in rule) return at(rule.Variable) >= rule.NumericGreaterThanEquals;
    if ('IsPresent' in rule) return (at(rule.Variable) !== undefined) === rule.IsPresent;
    if ('BooleanEquals' in rule) return at(rule.Variable) === rule.BooleanEquals;
    throw new Error(`no evaluator for ${JSON.stringify(rule)}`);
  };
  for (const rule of choice.Choices as Json[]) if (holds(rule)) return rule.Next;
  return choice.Default;
}

describe('the synthesized state machine definition', () => {
  test('is valid Amazon States Language (asl-validator)', () => {
    const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
    assert.deepEqual(result.errors, []);
    assert.equal(result.isValid, true);
  });

  test('runs validate -> ingest -> choose runtime -> train (Fargate: write the TrainEvent first) -> evaluate -> (approval) -> promote -> done', () => {
    assert.equal(definition.StartAt, STATE_NAMES.validate);
    assert.equal(state(STATE_NAMES.validate).Next, STATE_NAMES.ingest);
    assert.equal(state(STATE_NAMES.ingest).Next, SWEEP_STATE_NAMES.isSweep);
    assert.equal(choose(state(SWEEP_STATE_NAMES.isSweep), { plan: {} }), STATE_NAMES.completedRunFound);
    // Step caching: a completed run with the same dataset, config and code version ends the execution.
    assert.equal(state(STATE_NAMES.completedRunFound).Type, 'Choice');
    assert.deepEqual(state(STATE_NAMES.completedRunFound).Choices, [{ Variable: '$.dataset.reusedRun', IsString: true, Next: STATE_NAMES.reuseCompletedRun }]);
    assert.equal(state(STATE_NAMES.completedRunFound).Default, STATE_NAMES.prepareTrainEvent);
    assert.equal(state(STATE_NAMES.reuseCompletedRun).InputPath, '$.dataset.reusedRun');
    assert.equal(state(STATE_NAMES.reuseCompletedRun).ResultPath, '$.reusedRun');
    assert.equal(state(STATE_NAMES.reuseCompletedRun).Next, STATE_NAMES.done);
    assert.equal(state(STATE_NAMES.prepareTrainEvent).Type, 'Pass');
    assert.equal(state(STATE_NAMES.prepareTrainEvent).Next, STATE_NAMES.startTrainLoops);
    assert.equal(state(STATE_NAMES.startTrainLoops).Next, STATE_NAMES.chooseRuntime);
    assert.equal(state(STATE_NAMES.chooseRuntime).Type, 'Choice');
    assert.equal(state(STATE_NAMES.trainOnLambda).Next, STATE_NAMES.trainingStatus);
    assert.equal(state(STATE_NAMES.trainingStatus).Default, STATE_NAMES.evaluate);
    assert.equal(state(STATE_NAMES.writeTrainEvent).Next, STATE_NAMES.trainOnFargate);
    assert.equal(state(STATE_NAMES.trainOnFargate).Next, STATE_NAMES.evaluate);
    assert.equal(state(STATE_NAMES.evaluate).Next, STATE_NAMES.approvalRequired);
    assert.equal(choose(state(STATE_NAMES.approvalRequired), { plan: { approval: 'manual' } }), STATE_NAMES.awaitApproval);
    assert.equal(choose(state(STATE_NAMES.approvalRequired), { plan: { approval: 'auto' } }), STATE_NAMES.approvalNotRequired);
    assert.equal(state(STATE_NAMES.awaitApproval).Next, STATE_NAMES.promote);
    assert.equal(state(STATE_NAMES.approvalExpired).Next, STATE_NAMES.promote);
    assert.equal(state(STATE_NAMES.approvalNotRequired).Next, STATE_NAMES.promote);
    assert.equal(state(STATE_NAMES.promote).Next, STATE_NAMES.done);
    assert.equal(state(STATE_NAMES.done).Type, 'Succeed');
    const sweepStates = [SWEEP_STATE_NAMES.isSweep, SWEEP_STATE_NAMES.startSweep, SWEEP_STATE_NAMES.trainTrials, SWEEP_STATE_NAMES.endRound, SWEEP_STATE_NAMES.roundsDone, SWEEP_STATE_NAMES.nextRound, SWEEP_STATE_NAMES.useBestTrial];
    assert.deepEqual(Object.keys(definition.States).sort(), [...Object.values(STATE_NAMES), ...sweepStates].sort());
  });

  test('every Task has a timeout, retries on transient errors only, and a catch to Failed', () => {
    assert.deepEqual(tasks().map(([name]) => name).sort(), [
      STATE_NAMES.awaitApproval,
      SWEEP_STATE_NAMES.endRound,
      STATE_NAMES.evaluate,
      STATE_NAMES.ingest,
      STATE_NAMES.promote,
      SWEEP_STATE_NAMES.startSweep,
      STATE_NAMES.trainOnFargate,
      STATE_NAMES.trainOnLambda,
      STATE_NAMES.validate,
      STATE_NAMES.writeTrainEvent,
    ]);
    for (const [name, task] of tasks()) {
      assert.ok(Number.isInteger(task.TimeoutSeconds) && task.TimeoutSeconds > 0, `${name}: TimeoutSeconds`);
      const retries = task.Retry as Json[];
      assert.ok(retries.length >= 1, name);
      for (const retry of retries) {
        assert.ok(!retry.ErrorEquals.includes('States.ALL'), `${name} retries States.ALL`);
        assert.ok(!retry.ErrorEquals.some((e: string) => /ConfigError|DataValidationError|States\.(Timeout|TaskFailed)/.test(e)));
        assert.equal(retry.BackoffRate, 2);
        assert.ok(retry.IntervalSeconds >= 2 && retry.MaxAttempts >= 3, name);
      }
      const catchAll = { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE_NAMES.failed };
      const fallBack = { ErrorEquals: LAMBDA_TIMEOUT_ERRORS, ResultPath: '$.error', Next: STATE_NAMES.fallBackToFargate };
      const expired = { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: STATE_NAMES.approvalExpired };
      const catches: Record<string, Json[]> = { [STATE_NAMES.trainOnLambda]: [fallBack, catchAll], [STATE_NAMES.awaitApproval]: [expired, catchAll] };
      assert.deepEqual(task.Catch, catches[name] ?? [catchAll], name);
    }
  });

  test('Lambda tasks retry exactly the Lambda service errors and return plain results', () => {
    const lambdaTasks = [STATE_NAMES.validate, STATE_NAMES.ingest, STATE_NAMES.evaluate, STATE_NAMES.promote];
    for (const name of lambdaTasks) {
      assert.deepEqual(state(name).Retry, [{ ErrorEquals: LAMBDA_TRANSIENT_ERRORS, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }], name);
    }
    for (const name of [...lambdaTasks, STATE_NAMES.trainOnLambda]) {
      assert.match(state(name).Resource, /^arn:aws:lambda:[^:]+:\d{12}:function:[^:]+$/, `${name}: payloadResponseOnly, unqualified`);
    }
    assert.deepEqual(LAMBDA_TRANSIENT_ERRORS, [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ]);
  });

  test('TrainOnLambda waits for a slot when throttled at its reserved concurrency (about an hour at most), with jitter', () => {
    const [throttled, transient] = state(STATE_NAMES.trainOnLambda).Retry as Json[];
    assert.deepEqual(throttled, {
      ErrorEquals: LAMBDA_THROTTLED_ERRORS,
      IntervalSeconds: 60,
      MaxAttempts: 8,
      BackoffRate: 2,
      MaxDelaySeconds: 600,
      JitterStrategy: 'FULL',
    });
    assert.deepEqual(LAMBDA_THROTTLED_ERRORS, ['Lambda.TooManyRequestsException']);
    // the longest wait: each delay capped, no jitter
    const longest = Array.from({ length: 8 }, (_, i) => Math.min(60 * 2 ** i, 600)).reduce((a, b) => a + b, 0);
    assert.ok(longest >= 3000 && longest <= 4000, `${longest} s`);
    assert.deepEqual(transient.ErrorEquals, ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException']);
  });

  test('Failed carries the failing state’s error and cause', () => {
    assert.deepEqual(state(STATE_NAMES.failed), {
      Type: 'Fail',
      Comment: 'The error and cause of the state that failed',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
  });

  test('every way into TrainOnFargate goes through WriteTrainEvent', () => {
    const into = (target: string) =>
      Object.entries(definition.States)
        .filter(([, st]) => {
          const s = st as Json;
          return s.Next === target || s.Default === target || (s.Choices as Json[] | undefined)?.some((c) => c.Next === target) ||
            (s.Catch as Json[] | undefined)?.some((c) => c.Next === target);
        })
        .map(([name]) => name)
        .sort();
    assert.deepEqual(into(STATE_NAMES.trainOnFargate), [STATE_NAMES.writeTrainEvent]);
    assert.deepEqual(into(STATE_NAMES.writeTrainEvent), [STATE_NAMES.chooseRuntime, STATE_NAMES.fallBackToFargate]);
    const choose = state(STATE_NAMES.chooseRuntime);
    assert.equal(choose.Choices.filter((c: Json) => c.Next === STATE_NAMES.writeTrainEvent).length, 2, 'trainOn "fargate" and too big for Lambda');
  });

  /** What States.Format('…{}…', $.trainEvent.runId) yields for a run id. */
  const formatKey = (expression: string, runId: string) => {
    const match = /^States\.Format\('([^']*)', \$\.trainEvent\.runId\)$/.exec(expression);
    assert.ok(match, expression);
    return match[1].replace('{}', runId);
  };

  test('WriteTrainEvent puts the TrainEvent as JSON at trainEventKey(runId) in the data bucket, retries S3 throttling and 5xx, keeps the state', () => {
    const write = state(STATE_NAMES.writeTrainEvent);
    assert.equal(write.Resource, 'arn:aws:states:::aws-sdk:s3:putObject');
    const bucket = logicalIdStartingWith(synthesized.template, 'AWS::S3::Bucket', 'DataBucket').toLowerCase(); // as a placeholder bucket name
    assert.deepEqual(Object.keys(write.Parameters).sort(), ['Body.$', 'Bucket', 'ContentType', 'Key.$']);
    assert.equal(write.Parameters.Bucket, bucket);
    assert.equal(write.Parameters['Body.$'], 'States.JsonToString($.trainEvent)');
    assert.equal(write.Parameters.ContentType, 'application/json');
    for (const runId of ['20250101T000000Z-abc', 'my-run', 'x.y_z']) assert.equal(formatKey(write.Parameters['Key.$'], runId), trainEventKey(runId));
    assert.equal(write.ResultPath, null, 'the S3 response is discarded: the state document is unchanged');
    assert.deepEqual(write.Retry, [{ ErrorEquals: S3_TRANSIENT_ERRORS, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }]);
    assert.deepEqual(S3_TRANSIENT_ERRORS, ['S3.SlowDownException', 'S3.InternalErrorException', 'S3.ServiceUnavailableException']);
  });

  test('the Fargate task waits for its token and heartbeats; its overrides carry the TrainEvent key, the token, the start time and the timeout only', () => {
    const fargate = state(STATE_NAMES.trainOnFargate);
    assert.equal(fargate.Resource, 'arn:aws:states:::ecs:runTask.waitForTaskToken');
    assert.equal(fargate.HeartbeatSeconds, 600);
    assert.equal(fargate.TimeoutSeconds, 12 * 3600);
    const p = fargate.Parameters;
    assert.equal(p.LaunchType, 'FARGATE');
    assert.equal(p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'ENABLED');
    const [override, ...others] = p.Overrides.ContainerOverrides as Json[];
    assert.equal(others.length, 0);
    assert.deepEqual(Object.keys(override).sort(), ['Environment', 'Name']);
    const environment = override.Environment as Json[];
    assert.deepEqual(environment, [
      { Name: FARGATE_ENV.trainEventKey, 'Value.$': state(STATE_NAMES.writeTrainEvent).Parameters['Key.$'] },
      { Name: FARGATE_ENV.taskToken, 'Value.$': '$$.Task.Token' },
      { Name: FARGATE_ENV.stateEnteredTime, 'Value.$': '$$.State.EnteredTime' },
      { Name: FARGATE_ENV.stateTimeoutSeconds, Value: String(fargate.TimeoutSeconds) },
    ]);
    assert.equal(formatKey(environment[0]['Value.$'], 'run-1'), trainEventKey('run-1'));
    assert.equal(fargate.ResultPath, '$.training');
  });

  test('the overrides stay far below RunTask’s 8,192 characters whatever the config', () => {
    // A token is at most 1,024 characters; the rest is fixed text.
    const worst = JSON.stringify(state(STATE_NAMES.trainOnFargate).Parameters.Overrides)
      .replace('$$.Task.Token', 'x'.repeat(1024))
      .replace('$$.State.EnteredTime', '2025-01-01T00:00:00.000Z')
      .replace(/States\.Format\([^)]*\)/, trainEventKey('r'.repeat(80)));
    assert.ok(worst.length < 2000, `${worst.length}`);
  });

  test('RunTask refusals and capacity failures (AmazonECS.Unknown) are retried with backoff and full jitter', () => {
    assert.deepEqual(state(STATE_NAMES.trainOnFargate).Retry, [
      { ErrorEquals: ECS_TRANSIENT_ERRORS, IntervalSeconds: 30, MaxAttempts: 5, BackoffRate: 2, MaxDelaySeconds: 300, JitterStrategy: 'FULL' },
    ]);
    assert.deepEqual(ECS_TRANSIENT_ERRORS, ['ECS.AmazonECSException', 'AmazonECS.Unknown']);
  });

  test('states pass small documents: S3 keys, counts and metrics only', () => {
    const resources = synthesized.template.toJSON().Resources as Json;
    const trainFunction = resources[logicalIdStartingWith(synthesized.template, 'AWS::Lambda::Function', 'TrainingTrainFunction')];
    const taskDefinition = resources[logicalIdStartingWith(synthesized.template, 'AWS::ECS::TaskDefinition', 'TrainingTaskDefinition')];
    assert.deepEqual(state(STATE_NAMES.validate).Parameters, {
      'input.$': '$',
      'executionName.$': '$$.Execution.Name',
      lambdaTrainMaxImages: LAMBDA_TRAIN_MAX_IMAGES,
      dataBucket: logicalIdStartingWith(synthesized.template, 'AWS::S3::Bucket', 'DataBucket').toLowerCase(),
      trainMemoryMiB: { lambda: trainFunction.Properties.MemorySize, fargate: Number(taskDefinition.Properties.Memory) },
      defaultApproval: 'auto',
      defaultDataChecks: { policy: 'warn', thresholds: { maxDuplicateShare: 0.01, maxLeakShare: 0.01, maxLabelConflictShare: 0.001, maxLabelDistance: 0.05, maxClassMeanShift: 20 } },
      defaultSweepConcurrency: 4,
    });
    assert.deepEqual(state(STATE_NAMES.validate).Parameters.trainMemoryMiB, { lambda: 10_240, fargate: 16_384 });
    assert.equal(state(STATE_NAMES.validate).ResultPath, '$');
    assert.equal(state(STATE_NAMES.ingest).InputPath, '$.plan.ingest');
    assert.deepEqual(state(STATE_NAMES.ingest).ResultSelector, {
      'datasetId.$': '$.datasetId',
      'datasetPrefix.$': '$.datasetPrefix',
      'testSetId.$': '$.testSetId',
      'reused.$': '$.reused',
      'parent.$': '$.parent',
      'sourcesFromCache.$': '$.sourcesFromCache',
      'reusedRun.$': '$.reusedRun',
      'trainExamples.$': '$.train.examples',
      'testExamples.$': '$.test.examples',
    });
    assert.equal(state(STATE_NAMES.trainOnLambda).InputPath, '$.trainEvent');
    assert.deepEqual(state(STATE_NAMES.prepareTrainEvent).Parameters, {
      'datasetPrefix.$': '$.dataset.datasetPrefix',
      'runId.$': '$.plan.runId',
      'config.$': '$.plan.config',
    });
    assert.deepEqual(state(STATE_NAMES.evaluate).Parameters, {
      'runId.$': '$.training.runId',
      'datasetPrefix.$': '$.training.datasetPrefix',
      'modelPrefix.$': '$.training.modelPrefix',
    });
    // Each field by its path, not only its name: the values themselves are checked end to end in
    // test/cli/local/runner.test.ts (the events Evaluate and Promote receive in a local run).
    assert.deepEqual(state(STATE_NAMES.promote).Parameters, {
      candidate: {
        'runId.$': '$.evaluation.runId',
        'datasetId.$': '$.dataset.datasetId',
        'testSetId.$': '$.dataset.testSetId',
        'accuracy.$': '$.evaluation.accuracy',
        'macroF1.$': '$.evaluation.macroF1',
        'modelPrefix.$': '$.training.modelPrefix',
        'reportPrefix.$': '$.evaluation.reportPrefix',
        'modelSha256.$': '$.evaluation.modelSha256',
      },
      'mode.$': '$.plan.promote',
      policy: { minAccuracy: 0.5 },
      'approval.$': '$.approval',
      'executionName.$': '$$.Execution.Name',
    });
    assert.deepEqual(state(STATE_NAMES.promote).ResultSelector, {
      'promoted.$': '$.promoted',
      'reason.$': '$.reason',
      'sawRunId.$': '$.saw.runId',
      'attempts.$': '$.attempts',
      'registered.$': '$.registered',
    });
  });

  test('manual approval: the request carries the token and the figures; no answer in time is an expired approval, not a failure', () => {
    const wait = state(STATE_NAMES.awaitApproval);
    assert.equal(wait.Resource, 'arn:aws:states:::lambda:invoke.waitForTaskToken');
    assert.equal(wait.TimeoutSeconds, 168 * 3600, 'the stack default: a week');
    assert.equal(wait.ResultPath, '$.approval');
    assert.deepEqual(wait.Parameters.Payload, {
      'taskToken.$': '$$.Task.Token',
      'runId.$': '$.evaluation.runId',
      'testSetId.$': '$.dataset.testSetId',
      'executionName.$': '$$.Execution.Name',
      'accuracy.$': '$.evaluation.accuracy',
      'macroF1.$': '$.evaluation.macroF1',
      'reportPrefix.$': '$.evaluation.reportPrefix',
      timeoutSeconds: 168 * 3600,
    });
    assert.deepEqual(state(STATE_NAMES.approvalExpired).Parameters, { decision: 'expired', by: 'workflow', 'at.$': '$$.State.EnteredTime', reason: 'no answer within 168 h' });
    assert.deepEqual(state(STATE_NAMES.approvalNotRequired).Result, { decision: 'not-required' });
  });

  test('the whole execution has a timeout beyond its longest path: Fargate training, then a week waiting for approval', () => {
    assert.ok(definition.TimeoutSeconds! > 12 * 3600 + 2 * 600 + 168 * 3600, String(definition.TimeoutSeconds));
  });
});

describe('Lambda training that continues ("continue": checkpointed, invoke again)', () => {
  const nextAfter = (training: Json, count: number) => choose(state(STATE_NAMES.trainingStatus), { training, trainLoops: { count } });

  test('the loop count starts at 0 before either runtime, so it is in every execution output', () => {
    assert.deepEqual(state(STATE_NAMES.startTrainLoops), {
      Type: 'Pass',
      Comment: state(STATE_NAMES.startTrainLoops).Comment,
      Result: { count: 0 },
      ResultPath: '$.trainLoops',
      Next: STATE_NAMES.chooseRuntime,
    });
  });

  test('"continue" counts one loop and invokes TrainOnLambda again with the same TrainEvent; "complete" evaluates', () => {
    assert.equal(nextAfter({ status: 'continue' }, 0), STATE_NAMES.continueTraining);
    assert.equal(nextAfter({ status: 'complete' }, 0), STATE_NAMES.evaluate);
    assert.equal(nextAfter({ status: 'complete' }, DEFAULT_MAX_TRAIN_LOOPS), STATE_NAMES.evaluate, 'finishing on the last allowed loop is fine');
    const count = state(STATE_NAMES.continueTraining);
    assert.deepEqual(
      { type: count.Type, parameters: count.Parameters, resultPath: count.ResultPath, next: count.Next },
      { type: 'Pass', parameters: { 'count.$': 'States.MathAdd($.trainLoops.count, 1)' }, resultPath: '$.trainLoops', next: STATE_NAMES.trainOnLambda },
    );
    assert.equal(state(STATE_NAMES.trainOnLambda).InputPath, '$.trainEvent', 'each loop gets the TrainEvent, not the last answer');
  });

  test(`at most maxTrainLoops (default ${DEFAULT_MAX_TRAIN_LOOPS}) continuations, then the execution fails with ${TRAIN_LOOP_LIMIT_ERROR}`, () => {
    assert.equal(DEFAULT_MAX_TRAIN_LOOPS, 20);
    assert.equal(nextAfter({ status: 'continue' }, DEFAULT_MAX_TRAIN_LOOPS - 1), STATE_NAMES.continueTraining);
    assert.equal(nextAfter({ status: 'continue' }, DEFAULT_MAX_TRAIN_LOOPS), STATE_NAMES.tooManyTrainLoops);
    const fail = state(STATE_NAMES.tooManyTrainLoops);
    assert.equal(fail.Type, 'Fail');
    assert.equal(fail.Error, TRAIN_LOOP_LIMIT_ERROR);
    assert.match(fail.Cause, /answered "continue" 20 times \(maxTrainLoops\); its checkpoint stays under runs\/<runId>\/checkpoint\//);
  });

  test('the cap is the stack setting maxTrainLoops', () => {
    const other = synthesizeStack({ context: { maxTrainLoops: 3 } });
    try {
      const variant = definitionFromTemplate(other.template.toJSON() as never);
      const status = variant.States[STATE_NAMES.trainingStatus] as Json;
      assert.equal(choose(status, { training: { status: 'continue' }, trainLoops: { count: 2 } }), STATE_NAMES.continueTraining);
      assert.equal(choose(status, { training: { status: 'continue' }, trainLoops: { count: 3 } }), STATE_NAMES.tooManyTrainLoops);
    } finally {
      other.cleanup();
    }
  });
});

describe('a Lambda training run that runs out of time', () => {
  test('is caught as Sandbox.Timedout (function timeout) or States.Timeout', () => {
    assert.deepEqual(LAMBDA_TIMEOUT_ERRORS, ['Sandbox.Timedout', 'States.Timeout']);
  });

  test('goes on on Fargate (which resumes from the last checkpoint) when the runtime was picked automatically, else fails', () => {
    const fallBack = state(STATE_NAMES.fallBackToFargate);
    assert.equal(fallBack.Type, 'Choice');
    assert.equal(choose(fallBack, { plan: { trainOn: 'auto' } }), STATE_NAMES.writeTrainEvent);
    assert.equal(choose(fallBack, { plan: { trainOn: 'lambda' } }), STATE_NAMES.failed);
  });
});

describe('routing between Lambda and Fargate', () => {
  // The event ValidateInput sends: its static parameters, the execution input and name.
  const validateEvent = (input: Json) => {
    const staticParameters = Object.entries(state(STATE_NAMES.validate).Parameters as Json).filter(([key]) => !key.endsWith('.$'));
    return { ...Object.fromEntries(staticParameters), input, executionName: 'test' };
  };
  const route = (execution: Json, trainExamples: number) => {
    const plan = planExecution(validateEvent({ train: ['raw/a/train.csv'], test: ['raw/a/test.csv'], ...execution }));
    return choose(state(STATE_NAMES.chooseRuntime), { plan, dataset: { trainExamples } });
  };

  test('trainOn "lambda" and "fargate" are obeyed whatever the size', () => {
    assert.equal(route({ trainOn: 'lambda' }, 10_000_000), STATE_NAMES.trainOnLambda);
    assert.equal(route({ trainOn: 'fargate' }, 10), STATE_NAMES.writeTrainEvent);
  });

  test('auto: Fashion-MNIST (60,000 x 10 epochs = 600,000 images) fits the Lambda budget of 780,000', () => {
    assert.equal(LAMBDA_TRAIN_MAX_IMAGES, 780_000);
    assert.equal(route({}, 60_000), STATE_NAMES.trainOnLambda);
    assert.equal(route({ config: { epochs: 13 } }, 60_000), STATE_NAMES.trainOnLambda); // 780,000: still fits
    assert.equal(route({ config: { epochs: 14 } }, 60_000), STATE_NAMES.writeTrainEvent); // 840,000: Fargate
    assert.equal(route({ config: { epochs: 1000 } }, 780), STATE_NAMES.trainOnLambda);
    assert.equal(route({ config: { epochs: 1000 } }, 781), STATE_NAMES.writeTrainEvent);
  });
});

describe('a sweep: rounds of a Map state over the trials', () => {
  const trialStates = () => (state(SWEEP_STATE_NAMES.trainTrials).ItemProcessor as { StartAt: string; States: Record<string, Json> });
  const trialState = (name: string) => trialStates().States[name];

  test('IsSweep sends an input with a sweep to StartSweep, which plans round 0 for the Map, then EndSweepRound', () => {
    assert.equal(choose(state(SWEEP_STATE_NAMES.isSweep), { plan: { sweep: { trials: [] } } }), SWEEP_STATE_NAMES.startSweep);
    assert.equal(state(SWEEP_STATE_NAMES.startSweep).ResultPath, '$.round');
    assert.equal(state(SWEEP_STATE_NAMES.startSweep).Parameters.action, 'start');
    assert.equal(state(SWEEP_STATE_NAMES.startSweep).Next, SWEEP_STATE_NAMES.trainTrials);
    assert.equal(state(SWEEP_STATE_NAMES.trainTrials).Next, SWEEP_STATE_NAMES.endRound);
    assert.equal(state(SWEEP_STATE_NAMES.endRound).Parameters['results.$'], '$.roundResults');
    assert.equal(state(SWEEP_STATE_NAMES.endRound).Next, SWEEP_STATE_NAMES.roundsDone);
  });

  test('another round goes back to the Map with the survivors; the last hands the best trial to approval and Promote', () => {
    const roundsDone = state(SWEEP_STATE_NAMES.roundsDone);
    assert.equal(choose(roundsDone, { sweepStep: { done: false } }), SWEEP_STATE_NAMES.nextRound);
    assert.equal(choose(roundsDone, { sweepStep: { done: true } }), SWEEP_STATE_NAMES.useBestTrial);
    assert.equal(state(SWEEP_STATE_NAMES.nextRound).InputPath, '$.sweepStep.round');
    assert.equal(state(SWEEP_STATE_NAMES.nextRound).ResultPath, '$.round');
    assert.equal(state(SWEEP_STATE_NAMES.nextRound).Next, SWEEP_STATE_NAMES.trainTrials);
    const best = state(SWEEP_STATE_NAMES.useBestTrial);
    assert.deepEqual(best.Parameters, {
      'plan.$': '$.plan',
      'dataset.$': '$.dataset',
      'training.$': '$.sweepStep.best.training',
      'evaluation.$': '$.sweepStep.best.evaluation',
      'sweep.$': '$.sweepStep.summary',
    });
    assert.equal(best.Next, STATE_NAMES.approvalRequired);
  });

  test('the Map trains the round\'s trials, at most the sweep\'s maxConcurrency at once, each with the round\'s epoch budget', () => {
    const map = state(SWEEP_STATE_NAMES.trainTrials);
    assert.equal(map.Type, 'Map');
    assert.equal(map.ItemsPath, '$.round.trials');
    assert.equal(map.MaxConcurrencyPath, '$.plan.sweep.maxConcurrency');
    assert.equal(map.ResultPath, '$.roundResults');
    assert.deepEqual(map.ItemSelector, {
      'trial.$': '$$.Map.Item.Value',
      plan: { 'trainOn.$': '$$.Map.Item.Value.trainOn', 'lambdaMaxTrainExamples.$': '$$.Map.Item.Value.lambdaMaxTrainExamples' },
      'dataset.$': '$.dataset',
      'epochBudget.$': '$.round.epochBudget',
    });
    assert.deepEqual(map.Catch, [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE_NAMES.failed }]);
    assert.deepEqual(trialState('TrialPrepareTrainEvent').Parameters, {
      'datasetPrefix.$': '$.dataset.datasetPrefix',
      'runId.$': '$.trial.runId',
      'config.$': '$.trial.config',
      'epochBudget.$': '$.epochBudget',
    });
  });

  test('inside the Map: the training path once more; "budget" ends the trial\'s round, "complete" evaluates and registers it (never promotes)', () => {
    assert.equal(trialStates().StartAt, 'TrialPrepareTrainEvent');
    const status = trialState('TrialTrainingStatus');
    assert.equal(choose(status, { training: { status: 'budget' }, trainLoops: { count: 0 } }), SWEEP_STATE_NAMES.trialTrained);
    assert.equal(choose(status, { training: { status: 'complete' }, trainLoops: { count: 0 } }), 'TrialEvaluate');
    assert.equal(choose(status, { training: { status: 'continue' }, trainLoops: { count: DEFAULT_MAX_TRAIN_LOOPS } }), SWEEP_STATE_NAMES.trialTooManyTrainLoops);
    assert.equal(trialState('TrialTrainOnFargate').Next, 'TrialTrainingStatus', 'a Fargate trial answers "budget" too');
    assert.equal(trialState('TrialEvaluate').Next, SWEEP_STATE_NAMES.registerTrial);
    const register = trialState(SWEEP_STATE_NAMES.registerTrial);
    assert.equal(register.Parameters.mode, 'never');
    assert.equal(register.ResultPath, null);
    assert.equal(register.Next, SWEEP_STATE_NAMES.trialEvaluated);
    assert.deepEqual(trialState(SWEEP_STATE_NAMES.trialEvaluated).Parameters, {
      'trialId.$': '$.trial.trialId',
      'runId.$': '$.trial.runId',
      status: 'trained',
      'training.$': '$.training',
      'evaluation.$': '$.evaluation',
    });
    assert.equal(trialState(SWEEP_STATE_NAMES.trialEvaluated).End, true);
    assert.equal(trialState(SWEEP_STATE_NAMES.trialTrained).End, true);
  });

  test('every failure inside the Map ends the trial in TrialFailed with its error, never the sweep', () => {
    const tasksInside = Object.entries(trialStates().States).filter(([, s]) => s.Type === 'Task');
    assert.deepEqual(tasksInside.map(([name]) => name).sort(), [SWEEP_STATE_NAMES.registerTrial, 'TrialEvaluate', 'TrialTrainOnFargate', 'TrialTrainOnLambda', 'TrialWriteTrainEvent']);
    for (const [name, task] of tasksInside) {
      const last = (task.Catch as Json[]).at(-1);
      assert.deepEqual(last, { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: SWEEP_STATE_NAMES.trialFailed }, name);
    }
    assert.equal(choose(trialState('TrialFallBackToFargate'), { plan: { trainOn: 'lambda' } }), SWEEP_STATE_NAMES.trialFailed);
    assert.equal(trialState(SWEEP_STATE_NAMES.trialTooManyTrainLoops).Parameters.Error, TRAIN_LOOP_LIMIT_ERROR);
    assert.equal(trialState(SWEEP_STATE_NAMES.trialTooManyTrainLoops).Next, SWEEP_STATE_NAMES.trialFailed);
    const failed = trialState(SWEEP_STATE_NAMES.trialFailed);
    assert.equal(failed.Type, 'Pass');
    assert.equal(failed.End, true);
    assert.deepEqual(failed.Parameters, { 'trialId.$': '$.trial.trialId', 'runId.$': '$.trial.runId', status: 'failed', 'error.$': '$.error' });
    assert.ok(!Object.values(trialStates().States).some((s) => s.Type === 'Fail'), 'no Fail state inside the Map');
  });
});
