import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  type AslDefinition,
  definitionFromTemplate,
  synthesizeStack,
  type SynthesizedStack,
} from '../../lib/infra/synthesized-definition.ts';
import { LAMBDA_TRAIN_MAX_IMAGES } from '../../lib/infra/settings.ts';
import { LAMBDA_TIMEOUT_ERRORS, LAMBDA_TRANSIENT_ERRORS, STATE_NAMES } from '../../lib/infra/workflow-definition.ts';
import { planExecution } from '../../lib/workflow/execution-input.ts';
import type { Json } from './template-helpers.ts';

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

/** Just enough of a Choice evaluator for this definition's rules (StringEquals, NumericGreaterThanPath). */
function choose(choice: Json, input: Json): string {
  const at = (path: string) => path.slice(2).split('.').reduce<any>((value, key) => value?.[key], input);
  for (const rule of choice.Choices as Json[]) {
    if ('StringEquals' in rule && at(rule.Variable) === rule.StringEquals) return rule.Next;
    if ('NumericGreaterThanPath' in rule && at(rule.Variable) > at(rule.NumericGreaterThanPath)) return rule.Next;
  }
  return choice.Default;
}

describe('the synthesized state machine definition', () => {
  test('is valid Amazon States Language (asl-validator)', () => {
    const result = aslValidator(structuredClone(definition), { checkPaths: true, checkArn: true });
    assert.deepEqual(result.errors, []);
    assert.equal(result.isValid, true);
  });

  test('runs validate -> ingest -> choose runtime -> train -> evaluate -> promote -> done', () => {
    assert.equal(definition.StartAt, STATE_NAMES.validate);
    assert.equal(state(STATE_NAMES.validate).Next, STATE_NAMES.ingest);
    assert.equal(state(STATE_NAMES.ingest).Next, STATE_NAMES.prepareTrainEvent);
    assert.equal(state(STATE_NAMES.prepareTrainEvent).Type, 'Pass');
    assert.equal(state(STATE_NAMES.prepareTrainEvent).Next, STATE_NAMES.chooseRuntime);
    assert.equal(state(STATE_NAMES.chooseRuntime).Type, 'Choice');
    assert.equal(state(STATE_NAMES.trainOnLambda).Next, STATE_NAMES.evaluate);
    assert.equal(state(STATE_NAMES.trainOnFargate).Next, STATE_NAMES.evaluate);
    assert.equal(state(STATE_NAMES.evaluate).Next, STATE_NAMES.promote);
    assert.equal(state(STATE_NAMES.promote).Next, STATE_NAMES.done);
    assert.equal(state(STATE_NAMES.done).Type, 'Succeed');
    assert.deepEqual(Object.keys(definition.States).sort(), Object.values(STATE_NAMES).sort());
  });

  test('every Task has a timeout, a retry on transient errors only, and a catch to Failed', () => {
    assert.equal(tasks().length, 6);
    for (const [name, task] of tasks()) {
      assert.ok(Number.isInteger(task.TimeoutSeconds) && task.TimeoutSeconds > 0, `${name}: TimeoutSeconds`);
      const retries = task.Retry as Json[];
      assert.equal(retries.length, 1, name);
      const [retry] = retries;
      assert.ok(!retry.ErrorEquals.includes('States.ALL'), `${name} retries States.ALL`);
      assert.ok(!retry.ErrorEquals.some((e: string) => /ConfigError|DataValidationError|States\.(Timeout|TaskFailed)/.test(e)));
      assert.equal(retry.BackoffRate, 2);
      assert.ok(retry.IntervalSeconds >= 2 && retry.MaxAttempts === 3, name);
      const catchAll = { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE_NAMES.failed };
      const fallBack = { ErrorEquals: LAMBDA_TIMEOUT_ERRORS, ResultPath: '$.error', Next: STATE_NAMES.fallBackToFargate };
      assert.deepEqual(task.Catch, name === STATE_NAMES.trainOnLambda ? [fallBack, catchAll] : [catchAll], name);
    }
  });

  test('Lambda tasks retry exactly the Lambda service errors and return plain results', () => {
    for (const [name, task] of tasks().filter(([n]) => n !== STATE_NAMES.trainOnFargate)) {
      assert.deepEqual(task.Retry[0].ErrorEquals, LAMBDA_TRANSIENT_ERRORS, name);
      assert.match(task.Resource, /^arn:aws:lambda:[^:]+:\d{12}:function:/, `${name}: payloadResponseOnly`);
    }
    assert.deepEqual(LAMBDA_TRANSIENT_ERRORS, [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ]);
  });

  test('Failed carries the failing state’s error and cause', () => {
    assert.deepEqual(state(STATE_NAMES.failed), {
      Type: 'Fail',
      Comment: 'The error and cause of the state that failed',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
  });

  test('the Fargate task waits for its token, heartbeats, and gets the TrainEvent by environment', () => {
    const fargate = state(STATE_NAMES.trainOnFargate);
    assert.equal(fargate.Resource, 'arn:aws:states:::ecs:runTask.waitForTaskToken');
    assert.equal(fargate.HeartbeatSeconds, 600);
    assert.equal(fargate.TimeoutSeconds, 12 * 3600);
    assert.deepEqual(fargate.Retry[0].ErrorEquals, ['ECS.AmazonECSException']);
    const p = fargate.Parameters;
    assert.equal(p.LaunchType, 'FARGATE');
    assert.equal(p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'ENABLED');
    assert.deepEqual(p.Overrides.ContainerOverrides[0].Environment, [
      { Name: 'FMNIST_TRAIN_EVENT', 'Value.$': 'States.JsonToString($.trainEvent)' },
      { Name: 'SFN_TASK_TOKEN', 'Value.$': '$$.Task.Token' },
    ]);
    assert.equal(fargate.ResultPath, '$.training');
  });

  test('states pass small documents: S3 keys, counts and metrics only', () => {
    assert.deepEqual(state(STATE_NAMES.validate).Parameters, {
      'input.$': '$',
      'executionName.$': '$$.Execution.Name',
      lambdaTrainMaxImages: LAMBDA_TRAIN_MAX_IMAGES,
    });
    assert.equal(state(STATE_NAMES.validate).ResultPath, '$');
    assert.equal(state(STATE_NAMES.ingest).InputPath, '$.plan.ingest');
    assert.deepEqual(state(STATE_NAMES.ingest).ResultSelector, {
      'datasetId.$': '$.datasetId',
      'datasetPrefix.$': '$.datasetPrefix',
      'reused.$': '$.reused',
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
    assert.deepEqual(Object.keys(state(STATE_NAMES.promote).Parameters.candidate).sort(), [
      'accuracy.$',
      'datasetId.$',
      'macroF1.$',
      'modelPrefix.$',
      'reportPrefix.$',
      'runId.$',
    ]);
    assert.deepEqual(state(STATE_NAMES.promote).ResultSelector, { 'promoted.$': '$.promoted', 'reason.$': '$.reason' });
  });

  test('the whole execution has a timeout beyond its longest path', () => {
    assert.ok(definition.TimeoutSeconds! > 12 * 3600 + 2 * 600);
  });
});

describe('a Lambda training run that runs out of time', () => {
  test('is caught as Sandbox.Timedout (function timeout) or States.Timeout', () => {
    assert.deepEqual(LAMBDA_TIMEOUT_ERRORS, ['Sandbox.Timedout', 'States.Timeout']);
  });

  test('starts over on Fargate when the runtime was picked automatically, else fails', () => {
    const fallBack = state(STATE_NAMES.fallBackToFargate);
    assert.equal(fallBack.Type, 'Choice');
    assert.equal(choose(fallBack, { plan: { trainOn: 'auto' } }), STATE_NAMES.trainOnFargate);
    assert.equal(choose(fallBack, { plan: { trainOn: 'lambda' } }), STATE_NAMES.failed);
  });
});

describe('routing between Lambda and Fargate', () => {
  const route = (execution: Json, trainExamples: number) => {
    const plan = planExecution({
      input: { train: ['raw/a/train.csv'], test: ['raw/a/test.csv'], ...execution },
      executionName: 'test',
      lambdaTrainMaxImages: state(STATE_NAMES.validate).Parameters.lambdaTrainMaxImages,
    });
    return choose(state(STATE_NAMES.chooseRuntime), { plan, dataset: { trainExamples } });
  };

  test('trainOn "lambda" and "fargate" are obeyed whatever the size', () => {
    assert.equal(route({ trainOn: 'lambda' }, 10_000_000), STATE_NAMES.trainOnLambda);
    assert.equal(route({ trainOn: 'fargate' }, 10), STATE_NAMES.trainOnFargate);
  });

  test('auto: Fashion-MNIST (60,000 x 10 epochs = 600,000 images) fits the Lambda budget of 780,000', () => {
    assert.equal(LAMBDA_TRAIN_MAX_IMAGES, 780_000);
    assert.equal(route({}, 60_000), STATE_NAMES.trainOnLambda);
    assert.equal(route({ config: { epochs: 13 } }, 60_000), STATE_NAMES.trainOnLambda); // 780,000: still fits
    assert.equal(route({ config: { epochs: 14 } }, 60_000), STATE_NAMES.trainOnFargate); // 840,000
    assert.equal(route({ config: { epochs: 1000 } }, 780), STATE_NAMES.trainOnLambda);
    assert.equal(route({ config: { epochs: 1000 } }, 781), STATE_NAMES.trainOnFargate);
  });
});
