import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { STATE_NAMES } from '../../../lib/workflow/states.ts';
import { REPO_ROOT } from '../../../infra/paths.ts';
import { readCloudModel, type CloudModel } from '../../../cli/local/cloud/model.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type Template } from '../../../cli/local/cloud/template.ts';
import { definitionCacheKey, importClosure, loadStackTemplate } from '../../../cli/local/definition.ts';
import { statesOf } from '../../../cli/local/states/asl.ts';
import { integrationOf } from '../../../cli/local/states/integrations.ts';
import { localizeDefinition, MAX_TIMER_SECONDS, UnsupportedDefinitionError } from '../../../cli/local/states/localize.ts';

/** The stack's template as the local cloud reads it: cached synthesis, names, code, limits and policies. */
let cacheDir: string;
let template: Template;
let model: CloudModel;

before(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'fmnist-template-cache-'));
  const first = await loadStackTemplate({ cacheDir });
  assert.equal(first.source, 'synth');
  template = first.template;
  model = readCloudModel(template, { region: LOCAL_REGION, account: LOCAL_ACCOUNT, partition: 'aws', bucketNames: {} });
});
after(() => rm(cacheDir, { recursive: true, force: true }));

describe('the stack template, as the local cloud loads it', () => {
  test('synthesized once, then served from the cache', async () => {
    const second = await loadStackTemplate({ cacheDir });
    assert.equal(second.source, 'cache');
    assert.deepEqual(second.template, template);
    assert.ok(second.milliseconds < 1000, `cache hit took ${second.milliseconds} ms`);
    assert.equal((await readdir(cacheDir)).filter((name) => name.endsWith('.json')).length, 1);
  });

  test('the cache key covers the infra sources and the context', async () => {
    const files = await importClosure(join(REPO_ROOT, 'infra/synthesized-definition.ts'));
    const names = files.map((file) => file.split(/[\\/]/).slice(-2).join('/'));
    for (const expected of ['infra/workflow-definition.ts', 'infra/stack.ts', 'infra/settings.ts', 'workflow/fargate-task.ts', 'workflow/layout.ts', 'workflow/states.ts']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    assert.notEqual(await definitionCacheKey({}), await definitionCacheKey({ lambdaTrainMaxImages: 50 }));
    assert.equal(await definitionCacheKey({ a: 1, b: 2 }), await definitionCacheKey({ b: 2, a: 1 }));
  });

  test('every Lambda-backed Task state names a function whose source exists; TrainOnFargate a task whose command does', () => {
    // Nested ones included (a Map's iterations, Parallel branches).
    const tasks = statesOf(model.stateMachine.definition).filter(({ state }) => state.Type === 'Task');
    assert.ok(tasks.length >= 6);
    for (const { name, state } of tasks) {
      const kind = integrationOf(String(state.Resource));
      if (kind !== 'lambda-function') continue;
      const fn = model.functions.find((candidate) => candidate.arn === state.Resource);
      assert.ok(fn?.code, `${name} -> ${String(state.Resource)} has local code`);
      assert.ok(existsSync(join(REPO_ROOT, fn.code.module)), fn.code.module);
    }
    assert.equal(integrationOf(String(model.stateMachine.definition.States[STATE_NAMES.trainOnFargate].Resource)), 'ecs-run-task-wait-for-token');
    const container = model.taskDefinitions[0].containers[0];
    assert.equal(container.code?.module, 'functions/train/fargate.ts');
    const train = model.functions.find((fn) => fn.code?.module === 'functions/train/handler.ts');
    assert.equal(train?.runtime, 'image', 'the train Lambda runs the image CMD functions/train/handler.handler');
  });

  test("limits come from the template: each function's timeout, memory and /tmp, the task's memory", () => {
    const byModule = (module: string) => model.functions.find((fn) => fn.code?.module === module)!;
    const train = byModule('functions/train/handler.ts');
    assert.deepEqual([train.timeoutSeconds, train.memoryMiB, train.ephemeralMiB], [900, 10_240, 4096]);
    const ingest = byModule('functions/ingest/handler.ts');
    assert.deepEqual([ingest.memoryMiB, ingest.ephemeralMiB], [2048, 2048]);
    assert.equal(model.taskDefinitions[0].memoryMiB, 16_384);
    const evaluate = byModule('functions/evaluate/handler.ts');
    assert.equal(evaluate.layers.length, 1, 'the report renderer layer');
    assert.ok(evaluate.layers[0].assembler, 'which the local cloud can assemble');
  });
});

describe('localizeDefinition', () => {
  test("Task timeouts move from the library to the runtime's handlers; the execution's is scaled; ResultPath \"$\" omitted", () => {
    const definition = model.stateMachine.definition;
    const local = localizeDefinition(definition, 0.5);
    for (const { name, state } of statesOf(local.definition)) {
      if (state.Type === 'Task') {
        assert.equal(state.TimeoutSeconds, MAX_TIMER_SECONDS, name);
        assert.equal('HeartbeatSeconds' in state, false, name);
      }
    }
    assert.equal(local.definition.TimeoutSeconds, definition.TimeoutSeconds! * 0.5);
    assert.equal(definition.States.ValidateInput.ResultPath, '$', 'the original is not modified');
    assert.equal('ResultPath' in local.definition.States.ValidateInput, false);
  });

  test('what the library would get wrong is refused', () => {
    const withTaskFailed = {
      StartAt: 'T',
      States: { T: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true, Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'T' }] } },
    };
    assert.throws(() => localizeDefinition(withTaskFailed), UnsupportedDefinitionError);
    const withPath = { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true, TimeoutSecondsPath: '$.t' } } };
    assert.throws(() => localizeDefinition(withPath), /TimeoutSecondsPath is not emulated/);
  });
});
