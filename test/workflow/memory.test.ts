import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../lib/model/build.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import {
  CALIBRATION,
  DATA_BYTES_PER_EXAMPLE,
  estimateTrainingMemory,
  formatBytes,
  RUNTIME_BASELINE_BYTES,
} from '../../lib/model/memory.ts';
import { WALKTHROUGH_CNN, type ModelSpec } from '../../lib/model/spec.ts';

const MiB = 2 ** 20;

describe('training memory estimate', () => {
  test('stays at or above every measured peak, and within 1.5x of it', () => {
    for (const point of CALIBRATION) {
      const config = parseTrainConfig({ batchSize: point.batchSize, model: { layers: point.layers } });
      const estimateMiB = estimateTrainingMemory(config, point.step).bytesFor(point.examples) / MiB;
      const what = `${point.step}, batch ${point.batchSize}, ${point.layers.map((l) => l.type).join('/')}: estimate ${estimateMiB.toFixed(0)} MiB, measured ${point.peakMiB}`;
      assert.ok(estimateMiB >= point.peakMiB, what);
      assert.ok(estimateMiB <= 1.5 * point.peakMiB, what);
    }
  });

  test('counts the parameters as tfjs does', async () => {
    await tf.setBackend('cpu');
    const specs: ModelSpec[] = [
      WALKTHROUGH_CNN,
      { layers: [{ type: 'conv2d', filters: 8, kernelSize: 5, activation: 'relu', padding: 'same', strides: 2 }, { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }] },
    ];
    for (const spec of specs) {
      const model = buildModel(spec, { learningRate: 0.001, seed: 1 });
      try {
        assert.equal(estimateTrainingMemory({ model: spec, batchSize: 64 }).parameters, model.countParams());
      } finally {
        model.dispose();
      }
    }
  });

  test('activations grow with the batch, the data set with its examples, the baseline stays', () => {
    const at = (batchSize: number) => estimateTrainingMemory({ model: WALKTHROUGH_CNN, batchSize });
    // Beyond the 512-row inference pass, training activations are linear in the batch.
    const [b1, b2, b4] = [1024, 2048, 4096].map((batch) => at(batch).activationBytes);
    assert.equal(b2, 2 * b1);
    assert.equal(b4, 4 * b1);
    assert.equal(at(64).activationBytes, at(1).activationBytes, 'small batches: the inference pass dominates');
    const e = at(64);
    assert.equal(e.fixedBytes, RUNTIME_BASELINE_BYTES + e.stateBytes + e.activationBytes);
    assert.equal(e.bytesFor(60_000) - e.bytesFor(0), 60_000 * DATA_BYTES_PER_EXAMPLE);
  });

  test("early stopping's restoreBestWeights adds one copy of the weights", () => {
    const plain = parseTrainConfig({});
    const restoring = parseTrainConfig({ earlyStopping: { restoreBestWeights: true } });
    const notRestoring = parseTrainConfig({ earlyStopping: { patience: 2 } });
    const parameters = estimateTrainingMemory(plain).parameters;
    assert.equal(estimateTrainingMemory(restoring).stateBytes - estimateTrainingMemory(plain).stateBytes, 4 * parameters);
    assert.equal(estimateTrainingMemory(notRestoring).stateBytes, estimateTrainingMemory(plain).stateBytes);
  });

  test('names the layer with the largest activations', () => {
    const wide = {
      batchSize: 8192,
      model: {
        layers: [
          { type: 'conv2d' as const, filters: 1024, kernelSize: 3, activation: 'relu' as const, padding: 'same' as const },
          { type: 'conv2d' as const, filters: 1024, kernelSize: 3, activation: 'relu' as const, padding: 'same' as const },
          { type: 'maxPool2d' as const, poolSize: 28 },
          { type: 'flatten' as const },
          { type: 'dense' as const, units: 10, activation: 'softmax' as const },
        ],
      },
    };
    const e = estimateTrainingMemory(wide);
    assert.equal(e.largest.path, 'model.layers[0]');
    assert.equal(e.largest.description, 'conv2d, 1024 filters, 3x3, same');
    // Its output alone is 8192 x 28 x 28 x 1024 float32s (24.5 GiB); kept with its value before
    // the activation, its gradient and the input windows, about three times that.
    const output = 8192 * 28 * 28 * 1024 * 4;
    assert.ok(e.largest.bytes > 3 * output && e.largest.bytes < 3.1 * output, formatBytes(e.largest.bytes));
    assert.ok(e.fixedBytes > 16 * 2 ** 30, 'far beyond the 16 GiB training task');

    const dense = estimateTrainingMemory({ batchSize: 256, model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 4096, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' }] } });
    assert.equal(dense.largest.path, 'model.layers[1]');
    assert.equal(dense.largest.description, 'dense, 4096 units');
  });

  test('batch-normalized models train as a graph, estimated so; op by op costs more', () => {
    const withBatchNorm: ModelSpec = { layers: [WALKTHROUGH_CNN.layers[0], { type: 'batchNormalization' }, ...WALKTHROUGH_CNN.layers.slice(1)] };
    const config = { model: withBatchNorm, batchSize: 2048 };
    assert.equal(estimateTrainingMemory(config).activationBytes, estimateTrainingMemory(config, 'graph').activationBytes);
    assert.ok(estimateTrainingMemory(config, 'eager').activationBytes > 2.5 * estimateTrainingMemory(config, 'graph').activationBytes);
  });

  test('examplesThatFit is the inverse of bytesFor', () => {
    const e = estimateTrainingMemory({ model: WALKTHROUGH_CNN, batchSize: 64 });
    const memory = 10_240 * MiB;
    const n = e.examplesThatFit(memory);
    assert.ok(e.bytesFor(n) <= memory && e.bytesFor(n + 1) > memory);
    assert.equal(e.examplesThatFit(e.fixedBytes - 1), 0);
  });

  test('formats sizes for messages', () => {
    assert.equal(formatBytes(16 * 2 ** 30), '16.0 GiB');
    assert.equal(formatBytes(312.2 * MiB), '313 MiB');
  });
});
