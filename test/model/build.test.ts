import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../lib/errors.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { buildModel } from '../../lib/model/build.ts';
import { SeededDropout } from '../../lib/model/seeded-dropout.ts';
import { ModelSpec, WALKTHROUGH_CNN } from '../../lib/model/spec.ts';
import { parseWith } from '../../lib/validation.ts';
import { planLayers } from '../../lib/model/spec.ts';

before(async () => {
  await initBackend('cpu');
});

async function weightsOf(model: tf.LayersModel): Promise<number[][]> {
  return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

describe('buildModel', () => {
  it("builds the walkthrough CNN with Keras' layer shapes and parameter counts", () => {
    const model = buildModel(WALKTHROUGH_CNN, { learningRate: 0.001, seed: 1 });
    // From the walkthrough's Keras model.summary(): 320 + 18,496 + 204,928 + 1,290.
    assert.equal(model.countParams(), 225_034);
    assert.deepEqual(
      model.layers.map((layer) => layer.outputShape),
      [
        [null, 26, 26, 32],
        [null, 13, 13, 32],
        [null, 11, 11, 64],
        [null, 5, 5, 64],
        [null, 1600],
        [null, 128],
        [null, 128],
        [null, 10],
      ],
    );
    // The spec planner agrees with tfjs, layer by layer.
    const plans = planLayers(WALKTHROUGH_CNN);
    assert.deepEqual(
      plans.map((plan) => [null, ...plan.outputShape]),
      model.layers.map((layer) => layer.outputShape),
    );
    assert.deepEqual(
      plans.map((plan) => plan.parameters),
      model.layers.map((layer) => layer.countParams()),
    );
    model.dispose();
  });

  it('compiles with Adam, categorical cross-entropy and accuracy', () => {
    const model = buildModel(WALKTHROUGH_CNN, { learningRate: 0.0005, seed: 1 });
    const optimizer = model.optimizer.getConfig();
    assert.equal(model.optimizer.getClassName(), 'Adam');
    assert.equal(optimizer.learningRate, 0.0005);
    assert.equal(optimizer.epsilon, 1e-7);
    assert.equal(model.loss, 'categoricalCrossentropy');
    assert.deepEqual(model.metricsNames, ['loss', 'acc']);
    model.dispose();
  });

  it('starts from the same weights for the same seed, and different ones otherwise', async () => {
    const a = buildModel(WALKTHROUGH_CNN, { learningRate: 0.001, seed: 5 });
    const b = buildModel(WALKTHROUGH_CNN, { learningRate: 0.001, seed: 5 });
    const c = buildModel(WALKTHROUGH_CNN, { learningRate: 0.001, seed: 6 });
    const [wa, wb, wc] = await Promise.all([weightsOf(a), weightsOf(b), weightsOf(c)]);
    assert.deepEqual(wa, wb);
    assert.notDeepEqual(wa[0], wc[0]);
    // Kernels of different layers come from different seeds: glorot draws of equal shape would otherwise repeat.
    assert.notDeepEqual(wa[0].slice(0, 9), wa[2].slice(0, 9));
    // Biases start at zero, as in Keras.
    assert.ok(wa[1].every((v) => v === 0));
    tf.dispose([a, b, c].map((m) => m.getWeights()).flat());
  });

  it('takes specs validated where they came in: ModelSpec refuses one that cannot be built', () => {
    const spec: ModelSpec = { layers: [{ type: 'dense', units: 10, activation: 'softmax' }] };
    assert.throws(() => parseWith(ModelSpec, spec, 'model.json'), (error: unknown) => error instanceof ConfigError && /^model\.json: layers\[0\]\.type: dense needs a flat input/.test(error.message));
  });
});

describe('SeededDropout', () => {
  const input = () => tf.ones([1, 2000]);

  function mask(layer: SeededDropout): number[] {
    return tf.tidy(() => Array.from((layer.apply(input(), { training: true }) as tf.Tensor).dataSync()));
  }

  it('draws a new mask each training call, reproducibly from its seed', () => {
    const a = new SeededDropout({ rate: 0.5, seed: 3 });
    const b = new SeededDropout({ rate: 0.5, seed: 3 });
    const first = mask(a);
    const second = mask(a);
    assert.notDeepEqual(first, second);
    assert.deepEqual(mask(b), first);
    assert.deepEqual(mask(b), second);
    // Inverted dropout, as Keras: kept units scaled by 1 / (1 - rate), about half dropped.
    assert.ok(first.every((v) => v === 0 || v === 2));
    const dropped = first.filter((v) => v === 0).length;
    assert.ok(dropped > 850 && dropped < 1150, `dropped ${dropped} of 2000`);
  });

  it('is the identity at inference and saves as a standard Dropout layer', () => {
    const layer = new SeededDropout({ rate: 0.5, seed: 3 });
    const output = tf.tidy(() => Array.from((layer.apply(input(), { training: false }) as tf.Tensor).dataSync()));
    assert.ok(output.every((v) => v === 1));
    assert.equal(layer.getClassName(), 'Dropout');
    assert.equal(layer.getConfig().rate, 0.5);
  });

  it('fixes the tfjs Dropout behaviour it exists for: a seeded tfjs Dropout repeats its mask', () => {
    const layer = tf.layers.dropout({ rate: 0.5, seed: 3 });
    const masks = [0, 1].map(() => tf.tidy(() => Array.from((layer.apply(input(), { training: true }) as tf.Tensor).dataSync())));
    assert.deepEqual(masks[0], masks[1], 'tfjs Dropout now varies its seeded mask: SeededDropout may be unnecessary');
  });
});
