import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { localFile } from '../../lib/data/input-file.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { readHistory } from '../../lib/workflow/evaluate-step.ts';
import { readTrainingSummary } from '../../lib/workflow/training-summary.ts';
import { runTrainStep, type TrainingRecord } from '../../lib/workflow/train-step.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

/**
 * training.json and history.json of a run that stopped early: they say when and why, the model
 * summary's rows and totals, and the readers of both files (report page, evaluate step) still read them.
 */

let dir: string;
let modelDir: string;
let record: TrainingRecord;
const readJson = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-training-record-'));
  await writeFile(join(dir, 'train.csv'), syntheticKaggleCsv(100, 1).text);
  await writeFile(join(dir, 'test.csv'), syntheticKaggleCsv(20, 2).text);
  const datasetDir = join(dir, 'dataset');
  await ingestDataset({ train: [localFile(join(dir, 'train.csv'))], test: [localFile(join(dir, 'test.csv'))], outDir: datasetDir });
  // The loss never falls by more than 100: epoch 1 stays the best, and patience 1 stops training after epoch 2 of 5.
  const config = parseTrainConfig({
    epochs: 5,
    batchSize: 16,
    model: TINY_MODEL,
    earlyStopping: { monitor: 'loss', minDelta: 100, patience: 1, restoreBestWeights: true },
  });
  modelDir = join(dir, 'model');
  record = await runTrainStep({ datasetDir, modelDir, config, runId: 'training-record-test' });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('training.json of a run that stopped early', () => {
  test('says when and why it stopped, and whose weights the model holds', async () => {
    const stored = await readJson<TrainingRecord>(join(modelDir, 'training.json'));
    const history = await readJson<{ epoch: number; loss: number; stopped?: string }[]>(join(modelDir, 'history.json'));
    assert.deepEqual(history.map((log) => log.epoch), [1, 2]);
    assert.match(history[1].stopped ?? '', /^loss did not improve on its best, [\d.]+ at epoch 1, by more than 100 for 1 epoch \(patience 1\)$/);
    assert.equal(stored.finalEpoch.epoch, 2);
    assert.deepEqual(stored.earlyStopping, {
      monitor: 'loss',
      minDelta: 100,
      patience: 1,
      restoreBestWeights: true,
      mode: 'min',
      best: history[0].loss,
      bestEpoch: 1,
      stoppedEpoch: 2,
      reason: history[1].stopped,
      restoredEpoch: 1,
    });
    assert.deepEqual(stored.config.earlyStopping, { monitor: 'loss', minDelta: 100, patience: 1, restoreBestWeights: true });
    assert.deepEqual(stored, JSON.parse(JSON.stringify(record)));
  });

  test('records the model summary: rows and totals', async () => {
    const { summary } = await readJson<TrainingRecord>(join(modelDir, 'training.json'));
    // TINY_MODEL: conv2d 4 filters 3x3 on 1 channel -> 26x26x4, pooled to 13x13x4, flattened, dense 10.
    const conv = 3 * 3 * 1 * 4 + 4;
    const dense = 13 * 13 * 4 * 10 + 10;
    assert.deepEqual(summary, {
      layers: [
        { name: 'conv2d', type: 'Conv2D', outputShape: [null, 26, 26, 4], params: conv, trainableParams: conv },
        { name: 'max_pooling2d', type: 'MaxPooling2D', outputShape: [null, 13, 13, 4], params: 0, trainableParams: 0 },
        { name: 'flatten', type: 'Flatten', outputShape: [null, 676], params: 0, trainableParams: 0 },
        { name: 'dense', type: 'Dense', outputShape: [null, 10], params: dense, trainableParams: dense },
      ],
      totalParams: conv + dense,
      trainableParams: conv + dense,
      nonTrainableParams: 0,
    });
  });

  test("the report page's and the evaluate step's readers read both files, the stop included", async () => {
    const summary = await readTrainingSummary(modelDir);
    assert.equal(summary?.runId, 'training-record-test');
    const history = await readHistory(modelDir);
    assert.equal(history?.length, 2);
    assert.equal(history?.[1].stopped, record.earlyStopping?.reason);
  });
});
