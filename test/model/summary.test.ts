import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../lib/model/build.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { WALKTHROUGH_CNN } from '../../lib/model/spec.ts';
import { formatModelSummary, summarizeModel } from '../../lib/model/summary.ts';

/** Parameter counts by the textbook formulas, independent of lib/model and tfjs. */
const conv = (kernel: number, channelsIn: number, filters: number) => kernel * kernel * channelsIn * filters + filters;
const dense = (inputs: number, units: number) => inputs * units + units;

describe('summarizeModel: Keras model.summary() as data', () => {
  it("the walkthrough CNN: Keras' rows, names and its known total of 225,034 parameters", async () => {
    await tf.setBackend('cpu');
    const model = buildModel(WALKTHROUGH_CNN, { learningRate: 0.001, seed: 1 });
    try {
      const summary = summarizeModel(model);
      assert.deepEqual(
        summary.layers.map(({ name, type, outputShape, params }) => [name, type, outputShape, params]),
        [
          ['conv2d', 'Conv2D', [null, 26, 26, 32], conv(3, 1, 32)],
          ['max_pooling2d', 'MaxPooling2D', [null, 13, 13, 32], 0],
          ['conv2d_1', 'Conv2D', [null, 11, 11, 64], conv(3, 32, 64)],
          ['max_pooling2d_1', 'MaxPooling2D', [null, 5, 5, 64], 0],
          ['flatten', 'Flatten', [null, 1600], 0],
          ['dense', 'Dense', [null, 128], dense(5 * 5 * 64, 128)],
          ['dropout', 'Dropout', [null, 128], 0],
          ['dense_1', 'Dense', [null, 10], dense(128, 10)],
        ],
      );
      const total = conv(3, 1, 32) + conv(3, 32, 64) + dense(1600, 128) + dense(128, 10);
      assert.equal(total, 225_034, 'what Keras prints for this model');
      assert.deepEqual([summary.totalParams, summary.trainableParams, summary.nonTrainableParams], [total, total, 0]);
      assert.equal(summary.totalParams, model.countParams());

      assert.equal(
        formatModelSummary(summary).join('\n'),
        [
          '_'.repeat(62),
          ' Layer (type)                    Output Shape        Param #',
          '='.repeat(62),
          ' conv2d (Conv2D)                 (None, 26, 26, 32)  320',
          '',
          ' max_pooling2d (MaxPooling2D)    (None, 13, 13, 32)  0',
          '',
          ' conv2d_1 (Conv2D)               (None, 11, 11, 64)  18,496',
          '',
          ' max_pooling2d_1 (MaxPooling2D)  (None, 5, 5, 64)    0',
          '',
          ' flatten (Flatten)               (None, 1600)        0',
          '',
          ' dense (Dense)                   (None, 128)         204,928',
          '',
          ' dropout (Dropout)               (None, 128)         0',
          '',
          ' dense_1 (Dense)                 (None, 10)          1,290',
          '='.repeat(62),
          'Total params: 225,034',
          'Trainable params: 225,034',
          'Non-trainable params: 0',
          '_'.repeat(62),
        ].join('\n'),
      );
    } finally {
      model.dispose();
    }
  });

  it("batch normalization: 4 parameters per channel, its moving mean and variance not trainable", async () => {
    await tf.setBackend('cpu');
    const config = parseTrainConfig({
      model: {
        layers: [
          { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' },
          { type: 'batchNormalization' },
          { type: 'maxPool2d', poolSize: 2 },
          { type: 'flatten' },
          { type: 'dense', units: 10, activation: 'softmax' },
        ],
      },
    });
    const model = buildModel(config.model, config);
    try {
      const summary = summarizeModel(model);
      // (28 - 3) / 2 + 1 = 13; pooled to 6.
      assert.deepEqual(
        summary.layers.map(({ name, outputShape, params, trainableParams }) => [name, outputShape, params, trainableParams]),
        [
          ['conv2d', [null, 13, 13, 4], conv(3, 1, 4), conv(3, 1, 4)],
          ['batch_normalization', [null, 13, 13, 4], 4 * 4, 2 * 4],
          ['max_pooling2d', [null, 6, 6, 4], 0, 0],
          ['flatten', [null, 144], 0, 0],
          ['dense', [null, 10], dense(144, 10), dense(144, 10)],
        ],
      );
      const total = conv(3, 1, 4) + 16 + dense(144, 10);
      assert.deepEqual([summary.totalParams, summary.trainableParams, summary.nonTrainableParams], [total, total - 8, 8]);
    } finally {
      model.dispose();
    }
  });
});
