import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { ConfigError } from '../../lib/errors.ts';
import { parseTrainConfig, type TrainConfig } from '../../lib/model/config.ts';
import { evaluateLossAccuracy, predict } from '../../lib/model/predict.ts';
import { seededRandom, shuffleInPlace } from '../../lib/model/shuffle.ts';
import { trainModel, type TrainHooks } from '../../lib/model/train.ts';
import { squaresDataset } from './helpers.ts';

const TINY = {
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.2 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

function config(overrides: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig({ epochs: 3, batchSize: 16, validationSplit: 0.25, learningRate: 0.01, model: TINY, backend: 'wasm', ...overrides });
}

async function weightsOf(model: tf.LayersModel): Promise<number[][]> {
  return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

describe('trainModel', () => {
  it('learns, holding out the last examples for validation, and reports every epoch', async () => {
    const data = squaresDataset(200);
    const calls: string[] = [];
    const hooks: TrainHooks = {
      onEpochBegin: (epoch, epochs, batches) => calls.push(`begin ${epoch}/${epochs} ${batches}`),
      onBatchEnd: (epoch, batch, batches) => calls.push(`batch ${epoch} ${batch}/${batches}`),
      onEpochEnd: (log) => calls.push(`end ${log.epoch}`),
    };
    const result = await trainModel(data, config(), hooks);
    assert.equal(result.trainExamples, 150);
    assert.equal(result.validationExamples, 50);
    assert.equal(result.backend.name, 'wasm');
    assert.equal(result.history.length, 3);
    assert.ok(result.imagesPerSecond > 0 && result.seconds > 0);
    for (const log of result.history) {
      for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds'] as const) assert.ok(Number.isFinite(log[key]), key);
    }
    const [first, , last] = result.history;
    assert.ok(last.loss < first.loss, 'training loss falls');
    assert.ok(last.val_accuracy! >= 0.9, `val_accuracy ${last.val_accuracy}`);
    // Validation metrics are those of the final model on the last quarter of the examples.
    const validation = {
      images: data.images.subarray(150 * PIXELS_PER_IMAGE),
      labels: data.labels.subarray(150),
      count: 50,
    };
    const expected = evaluateLossAccuracy((await predict(result.model, validation)).probabilities, validation.labels);
    assert.equal(last.val_loss, expected.loss);
    assert.equal(last.val_accuracy, expected.accuracy);
    // Hooks: 10 batches of 16 (last one 6) per epoch; progress always reported for the last batch.
    assert.equal(calls[0], 'begin 1/3 10');
    assert.ok(calls.includes('batch 1 10/10'));
    assert.deepEqual(
      calls.filter((call) => !call.startsWith('batch')),
      ['begin 1/3 10', 'end 1', 'begin 2/3 10', 'end 2', 'begin 3/3 10', 'end 3'],
    );
    result.model.dispose();
  });

  it('never trains on the validation examples', async () => {
    const data = squaresDataset(64);
    const poisoned = { ...data, images: data.images.slice(), labels: data.labels.slice() };
    poisoned.images.fill(255, 48 * PIXELS_PER_IMAGE);
    poisoned.labels.fill(0, 48);
    const [clean, dirty] = [await trainModel(data, config({ epochs: 2 })), await trainModel(poisoned, config({ epochs: 2 }))];
    assert.deepEqual(await weightsOf(dirty.model), await weightsOf(clean.model));
    assert.deepEqual(
      dirty.history.map((log) => log.loss),
      clean.history.map((log) => log.loss),
    );
    assert.notEqual(dirty.history[1].val_loss, clean.history[1].val_loss);
    tf.dispose([clean.model, dirty.model].flatMap((m) => m.getWeights()));
  });

  it('is reproducible from its seed, and the seed matters', async () => {
    const data = squaresDataset(48);
    const runs = await Promise.all([1, 1, 2].map(async (seed) => {
      const result = await trainModel(data, config({ epochs: 2, seed, validationSplit: 0 }));
      const weights = await weightsOf(result.model);
      result.model.dispose();
      return { history: result.history.map((log) => [log.loss, log.accuracy]), weights };
    }));
    assert.deepEqual(runs[0], runs[1]);
    assert.notDeepEqual(runs[0].weights, runs[2].weights);
  });

  it('does not leak tensors from epoch to epoch', async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const result = await trainModel(squaresDataset(40), config({ epochs: 4 }), {
      onEpochEnd: () => counts.push(tf.memory().numTensors),
    });
    // From epoch 1 on, Adam's moments exist; nothing else should accumulate.
    assert.equal(new Set(counts).size, 1, `tensors after each epoch: ${counts.join(', ')}`);
    // Disposing the model frees everything training made, Adam's moments included.
    result.model.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects data that does not add up, and a split that leaves nothing to train on', async () => {
    const data = squaresDataset(4);
    await assert.rejects(trainModel({ ...data, count: 5 }, config()), /expected 3920 pixels/);
    await assert.rejects(trainModel({ ...data, labels: Uint8Array.from([0, 1, 2, 10]) }, config()), /label 10 at index 3/);
    await assert.rejects(trainModel({ ...data, count: 0, images: new Uint8Array(0), labels: new Uint8Array(0) }, config()), RangeError);
    await assert.rejects(
      trainModel({ images: data.images.subarray(0, PIXELS_PER_IMAGE), labels: data.labels.subarray(0, 1), count: 1 }, config({ validationSplit: 0.5 })),
      (error: unknown) => error instanceof ConfigError && /leaves no training examples/.test(error.message),
    );
  });
});

describe('shuffleInPlace', () => {
  it('permutes reproducibly from the seed, differently on each call', () => {
    const identity = () => Uint32Array.from({ length: 100 }, (_, i) => i);
    const random = seededRandom(42);
    const first = shuffleInPlace(identity(), random);
    const second = shuffleInPlace(identity(), random);
    assert.deepEqual(Array.from(first).sort((a, b) => a - b), Array.from(identity()));
    assert.notDeepEqual(first, identity());
    assert.notDeepEqual(first, second);
    assert.deepEqual(shuffleInPlace(identity(), seededRandom(42)), first);
  });
});
