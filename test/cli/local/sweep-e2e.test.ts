import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getObjectBytes, listObjects } from '../../../lib/aws/s3.ts';
import { LocalCloud } from '../../../cli/local/cloud/local-cloud.ts';
import { loadStackTemplate } from '../../../cli/local/definition.ts';
import { runWorkflowLocally } from '../../../cli/local/runner.ts';
import type { LambdaDouble } from '../../../cli/local/states/integrations.ts';
import { readChampion } from '../../../lib/workflow/champion-store.ts';
import { SweepRecord, sweepRecordKey } from '../../../lib/workflow/sweep/sweep-record.ts';
import { ModelVersion } from '../../../lib/workflow/registry/model-version.ts';
import { REGISTRY_PREFIX } from '../../../lib/workflow/layout.ts';
import { syntheticKaggleCsv } from '../../support/kaggle-csv.ts';
import { TINY_MODEL } from '../../support/tiny-model.ts';

/**
 * Sweeps through the deployed state machine on the local cloud: the TrainTrials Map state in the
 * event log, every trial a run of its own (trained, evaluated, registered with a link to its
 * sweep), the best by validation accuracy promoted; a failing trial that does not fail the others;
 * successive halving's rounds; and a sweep whose every trial fails.
 */
const CONFIG = { epochs: 2, batchSize: 16, model: TINY_MODEL };
const GRID = { learningRate: [0.01, 0.003, 0.001, 0.03] };

let dir: string;
let cloud: LocalCloud;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-sweep-e2e-'));
  await writeFile(join(dir, 'train.csv'), syntheticKaggleCsv(160, 3).text);
  await writeFile(join(dir, 'test.csv'), syntheticKaggleCsv(40, 4).text);
  cloud = await LocalCloud.start({ template: (await loadStackTemplate()).template });
});
after(async () => {
  await cloud?.stop();
  await rm(dir, { recursive: true, force: true });
});

const sweepRun = (name: string, sweep: Record<string, unknown>, doubles: Partial<Record<string, LambdaDouble>> = {}) =>
  runWorkflowLocally({
    cloud,
    train: [join(dir, 'train.csv')],
    test: [join(dir, 'test.csv')],
    outDir: join(dir, `out-${name}`),
    input: { runId: name, trainOn: 'lambda', config: CONFIG, sweep },
    retryIntervalMs: 0,
    progress: false,
    doubles,
  });

async function storedJson(key: string): Promise<unknown> {
  return JSON.parse((await getObjectBytes(cloud.s3.client, { bucket: cloud.bucket, key })).toString('utf8'));
}

async function registered(testSetId: string): Promise<ModelVersion[]> {
  const versions: ModelVersion[] = [];
  for await (const object of listObjects(cloud.s3.client, cloud.bucket, `${REGISTRY_PREFIX}${testSetId}/`)) versions.push(ModelVersion.parse(await storedJson(object.key)));
  return versions;
}

/** The last epoch's validation accuracy of a trial, from the history.json its training wrote. */
async function lastValAccuracy(runId: string): Promise<number> {
  const history = (await storedJson(`runs/${runId}/model/history.json`)) as { val_accuracy: number }[];
  return history.at(-1)!.val_accuracy;
}

describe('a sweep as one execution of the deployed workflow', () => {
  test('4 configs in a Map state: every trial but the failing one trained, evaluated and registered; the best by validation accuracy is champion', async () => {
    const failing: LambdaDouble = async (event, invoke) => {
      if ((event as { runId: string }).runId === 'grid-t03') throw new Error('trial t03 broke on purpose');
      return invoke(event);
    };
    const result = await sweepRun('grid', { grid: GRID, maxConcurrency: 2 }, { TrialTrainOnLambda: failing });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);

    const types = result.events.map((event) => `${event.type}:${event.state?.name ?? ''}`);
    assert.ok(types.includes('StateEntered:TrainTrials'), 'the Map state is in the event log');
    const iterations = result.events.filter((event) => event.type === 'MapIterationSucceeded');
    assert.equal(iterations.length, 4, 'four iterations, the failed trial\'s included (caught inside the Map)');
    assert.ok(types.includes('StateEntered:TrialFailed'));

    const record = SweepRecord.parse(await storedJson(sweepRecordKey('grid')));
    assert.equal(record.status, 'complete');
    assert.deepEqual(record.trials.map((trial) => [trial.trialId, trial.status]), [['t01', 'complete'], ['t02', 'complete'], ['t03', 'failed'], ['t04', 'complete']]);
    assert.match(record.rounds[0].results[2].error!.Cause, /trial t03 broke on purpose/);
    assert.deepEqual(record.trials.map((trial) => trial.config.learningRate), GRID.learningRate);

    // The best by the stated rule, computed here from each trial's own history.json.
    const figures = await Promise.all(['t01', 't02', 't04'].map(async (trialId) => ({ trialId, valAccuracy: await lastValAccuracy(`grid-${trialId}`) })));
    const best = [...figures].sort((a, b) => b.valAccuracy - a.valAccuracy || a.trialId.localeCompare(b.trialId))[0];
    const tied = figures.filter((f) => f.valAccuracy === best.valAccuracy).length > 1;
    if (!tied) assert.equal(record.best?.trialId, best.trialId);
    for (const { trialId, valAccuracy } of figures) assert.equal(record.trials.find((trial) => trial.trialId === trialId)!.valAccuracy, valAccuracy);

    const output = result.output as { dataset: { testSetId: string }; training: { runId: string }; promotion: { promoted: boolean }; sweep: { best: { runId: string }; failed: number } };
    assert.equal(output.training.runId, record.best!.runId, 'the best trial goes on as the run');
    assert.equal(output.sweep.failed, 1);
    const versions = await registered(output.dataset.testSetId);
    assert.deepEqual(versions.map((version) => version.runId).sort(), ['grid-t01', 'grid-t02', 'grid-t04']);
    for (const version of versions) assert.deepEqual(version.sweep, { sweepId: 'grid', trialId: version.runId.slice(-3) });
    const { champion } = await readChampion(cloud.s3.client, cloud.bucket, output.dataset.testSetId);
    assert.equal(champion?.runId, record.best!.runId);

    // The run's outputs: the best trial's model and report, and the sweep's record and page.
    assert.ok(result.files.includes('sweep/sweep.json') && result.files.includes('sweep/index.html'), result.files.join(', '));
    const page = await readFile(join(dir, 'out-grid', 'sweep', 'index.html'), 'utf8');
    for (const trialId of ['t01', 't02', 't03', 't04']) assert.match(page, new RegExp(trialId));
  });

  test('successive halving: round 0 trains all four for 1 epoch, the best two go on from their checkpoints to 2', async () => {
    const trained: string[] = [];
    const counting: LambdaDouble = async (event, invoke) => {
      const train = event as { runId: string; epochBudget: number };
      trained.push(`${train.runId.slice(-3)}@${train.epochBudget}`);
      return invoke(event);
    };
    const result = await sweepRun('halving', { grid: GRID, halving: true }, { TrialTrainOnLambda: counting });
    assert.equal(result.status, 'SUCCEEDED', `${result.error}: ${result.cause}`);
    const record = SweepRecord.parse(await storedJson(sweepRecordKey('halving')));
    assert.deepEqual(record.halving, { eta: 2, epochBudgets: [1, 2] });
    assert.deepEqual(record.rounds.map((round) => [round.epochBudget, round.results.length]), [[1, 4], [2, 2]]);
    const survivors = record.rounds[1].results.map((r) => r.trialId);
    // The two that went on are the two best of round 0 by its validation figures.
    const round0 = [...record.rounds[0].results].sort((a, b) => b.valAccuracy! - a.valAccuracy! || a.valLoss! - b.valLoss! || a.trialId.localeCompare(b.trialId));
    assert.deepEqual(survivors, round0.slice(0, 2).map((r) => r.trialId));
    assert.deepEqual(trained.filter((t) => t.endsWith('@1')).sort(), ['t01@1', 't02@1', 't03@1', 't04@1']);
    assert.deepEqual(trained.filter((t) => t.endsWith('@2')).sort(), survivors.map((s) => `${s}@2`).sort());
    for (const trial of record.trials) {
      assert.equal(trial.status, survivors.includes(trial.trialId) ? 'complete' : 'stopped', trial.trialId);
      if (!survivors.includes(trial.trialId)) assert.equal(trial.stoppedAfterRound, 0);
    }
    // A survivor resumed at epoch 2 from its checkpoint: its history has both epochs, its second invocation trained one.
    for (const trialId of survivors) {
      const history = (await storedJson(`runs/halving-${trialId}/model/history.json`)) as { epoch: number }[];
      assert.deepEqual(history.map((epoch) => epoch.epoch), [1, 2]);
    }
    const output = result.output as { dataset: { testSetId: string } };
    const versions = (await registered(output.dataset.testSetId)).filter((version) => version.sweep?.sweepId === 'halving');
    assert.deepEqual(versions.map((version) => version.runId).sort(), survivors.map((s) => `halving-${s}`).sort(), 'trials stopped by halving are not registered');
  });

  test('every trial failing fails the sweep with SweepFailed, naming each trial\'s error', async () => {
    const broken: LambdaDouble = async (event) => {
      throw new Error(`no training for ${(event as { runId: string }).runId}`);
    };
    const result = await sweepRun('broken', { trials: [{ seed: 1 }, { seed: 2 }] }, { TrialTrainOnLambda: broken });
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'SweepFailed');
    assert.match(result.cause ?? '', /t01: Error: no training for broken-t01.*t02: Error: no training for broken-t02/);
    const record = SweepRecord.parse(await storedJson(sweepRecordKey('broken')));
    assert.equal(record.status, 'failed');
  });
});
