import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { STATE_NAMES } from '../../lib/infra/workflow-definition.ts';
import { definitionCacheKey, importClosure, loadWorkflowDefinition } from '../../lib/local/definition.ts';
import { integrationOf } from '../../lib/local/integrations.ts';
import { localizeDefinition, MAX_TIMER_SECONDS } from '../../lib/local/runner.ts';
import { LOCAL_TASK_STATES } from '../../lib/local/tasks.ts';
import type { AslDefinition } from '../../lib/infra/synthesized-definition.ts';

describe('the synthesized definition, as the local runner loads it', () => {
  let cacheDir: string;
  let definition: AslDefinition;

  before(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'fmnist-definition-cache-'));
  });
  after(() => rm(cacheDir, { recursive: true, force: true }));

  test('synthesizes once, then serves the same definition from the cache', async () => {
    const first = await loadWorkflowDefinition({ cacheDir });
    assert.equal(first.source, 'synth');
    definition = first.definition;
    const second = await loadWorkflowDefinition({ cacheDir });
    assert.equal(second.source, 'cache');
    assert.equal(second.key, first.key);
    assert.deepEqual(second.definition, first.definition);
    assert.ok(second.milliseconds < 500, `cache hit took ${second.milliseconds} ms`);
    assert.equal((await readdir(cacheDir)).filter((name) => name.endsWith('.json')).length, 1);
  });

  test('the cache key covers the infra sources and the context', async () => {
    const files = await importClosure(join(import.meta.dirname, '../../lib/infra/synthesized-definition.ts'));
    const names = files.map((file) => file.split(/[\\/]/).slice(-2).join('/'));
    for (const expected of ['infra/workflow-definition.ts', 'infra/stack.ts', 'infra/settings.ts', 'train/fargate.ts', 'workflow/layout.ts']) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    assert.notEqual(await definitionCacheKey({}), await definitionCacheKey({ lambdaTrainMaxImages: 50 }));
    assert.equal(await definitionCacheKey({ a: 1, b: 2 }), await definitionCacheKey({ b: 2, a: 1 }));
  });

  test('every Task state has local code, by the names STATE_NAMES defines', () => {
    for (const [key, name] of Object.entries(LOCAL_TASK_STATES)) {
      assert.equal(STATE_NAMES[key as keyof typeof STATE_NAMES], name);
    }
    const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');
    assert.deepEqual(tasks.map(([name]) => name).sort(), Object.values(LOCAL_TASK_STATES).sort());
  });

  test('Lambda states use direct function ARNs (payloadResponseOnly); TrainOnFargate waits for a task token', () => {
    for (const name of ['ValidateInput', 'Ingest', 'TrainOnLambda', 'Evaluate', 'Promote']) {
      assert.equal(integrationOf(String(definition.States[name].Resource)), 'lambda-function', name);
    }
    assert.equal(integrationOf(String(definition.States.TrainOnFargate.Resource)), 'ecs-run-task-wait-for-token');
  });

  test('localizeDefinition: equivalent ResultPath, Task timeouts lifted or kept, the original untouched', () => {
    const local = localizeDefinition(definition, 'local');
    assert.equal(definition.States.ValidateInput.ResultPath, '$', 'the synthesized definition is not modified');
    assert.equal('ResultPath' in local.definition.States.ValidateInput, false);
    assert.equal(local.definition.States.TrainOnLambda.TimeoutSeconds, MAX_TIMER_SECONDS);
    assert.equal(local.definition.TimeoutSeconds, definition.TimeoutSeconds);
    assert.ok(local.adjustments.some((line) => line.startsWith('TrainOnLambda: TimeoutSeconds 960')));

    const kept = localizeDefinition(definition, 'definition');
    assert.equal(kept.definition.States.TrainOnLambda.TimeoutSeconds, definition.States.TrainOnLambda.TimeoutSeconds);
    assert.deepEqual(kept.adjustments, ['ValidateInput: ResultPath "$" -> omitted (the same meaning)']);

    const bare = localizeDefinition({ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', End: true } } }, 'definition');
    assert.equal(bare.definition.States.T.TimeoutSeconds, MAX_TIMER_SECONDS, 'not the library default of 60 s');
    assert.equal(bare.definition.TimeoutSeconds, MAX_TIMER_SECONDS);
  });
});
