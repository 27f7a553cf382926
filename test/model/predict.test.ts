import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { BatchBuffers } from '../../lib/model/batches.ts';
import { buildModel } from '../../lib/model/build.ts';
import { evaluateLossAccuracy, predict } from '../../lib/model/predict.ts';
import type { ModelSpec } from '../../lib/model/spec.ts';
import { squaresDataset } from './helpers.ts';

const TINY: ModelSpec = {
  layers: [
    { type: 'conv2d', filters: 2, kernelSize: 3, strides: 2, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

before(async () => {
  await initBackend('cpu');
});

describe('evaluateLossAccuracy', () => {
  it("computes Keras' categorical cross-entropy and accuracy", () => {
    const probabilities = new Float32Array(20);
    probabilities.set([0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0], 0); // label 1: p = 0.5, argmax 0 (first of a tie)
    probabilities.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 10); // label 9: p = 1, clipped to 1 - 1e-7
    const { loss, accuracy } = evaluateLossAccuracy(probabilities, Uint8Array.from([1, 9]));
    assert.ok(Math.abs(loss - (Math.LN2 - Math.log(1 - 1e-7)) / 2) < 1e-9);
    assert.equal(accuracy, 0.5);
  });

  it('clips zero probabilities to 1e-7 instead of returning infinity', () => {
    const probabilities = new Float32Array(10);
    probabilities[0] = 1;
    const { loss } = evaluateLossAccuracy(probabilities, Uint8Array.from([3]));
    assert.ok(Math.abs(loss - -Math.log(1e-7)) < 1e-9);
  });

  it('agrees with tfjs-layers categorical cross-entropy (the Keras port) on softmax outputs', () => {
    const logits = tf.randomNormal([50, 10], 0, 3, 'float32', 4);
    const labels = Uint8Array.from({ length: 50 }, (_, i) => (i * 7) % 10);
    const probabilities = tf.softmax(logits);
    const reference = tf.tidy(() => tf.metrics.categoricalCrossentropy(tf.oneHot(Array.from(labels), 10), probabilities).mean().dataSync()[0]);
    const { loss } = evaluateLossAccuracy(probabilities.dataSync() as Float32Array, labels);
    assert.ok(Math.abs(loss - reference) < 1e-5, `${loss} vs ${reference}`);
    tf.dispose([logits, probabilities]);
  });

  it('rejects mismatched sizes and labels that are not classes', () => {
    assert.throws(() => evaluateLossAccuracy(new Float32Array(10), new Uint8Array(2)), RangeError);
    assert.throws(() => evaluateLossAccuracy(new Float32Array(10), Uint8Array.from([10])), /label 10/);
  });
});

describe('predict', () => {
  it('returns the model outputs for every image, across batch boundaries', async () => {
    const data = squaresDataset(23);
    const model = buildModel(TINY, { learningRate: 0.001, seed: 2 });
    const { probabilities, predicted } = await predict(model, data, 5);
    // Reference: the whole set through tfjs at once, scaled by hand.
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(data.images, (v) => v / 255), [23, 28, 28, 1]);
      return (model.predict(x) as tf.Tensor).dataSync();
    });
    assert.equal(probabilities.length, 230);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(probabilities[i] - expected[i]) < 1e-6);
    for (let i = 0; i < 23; i++) {
      const row = Array.from(expected.slice(i * 10, i * 10 + 10));
      assert.equal(predicted[i], row.indexOf(Math.max(...row)));
    }
    model.dispose();
  });

  it('handles no images and rejects a pixel count that does not match', async () => {
    const model = buildModel(TINY, { learningRate: 0.001, seed: 2 });
    const empty = await predict(model, { images: new Uint8Array(0), count: 0 });
    assert.equal(empty.predicted.length, 0);
    await assert.rejects(predict(model, { images: new Uint8Array(PIXELS_PER_IMAGE), count: 2 }), RangeError);
    model.dispose();
  });
});

describe('BatchBuffers', () => {
  it('scales pixels by 1/255 and one-hot encodes labels of the examples asked for', () => {
    const images = new Uint8Array(3 * PIXELS_PER_IMAGE);
    images.fill(255, 0, PIXELS_PER_IMAGE);
    images.fill(51, PIXELS_PER_IMAGE, 2 * PIXELS_PER_IMAGE);
    images[2 * PIXELS_PER_IMAGE + 5] = 1;
    const labels = Uint8Array.from([4, 0, 9]);
    const buffers = new BatchBuffers(2);
    const x = buffers.imagesAt(images, [2, 1], 0, 2);
    const y = buffers.oneHotAt(labels, [2, 1], 0, 2);
    assert.deepEqual(x.shape, [2, 28, 28, 1]);
    const pixels = x.dataSync();
    assert.equal(pixels[5], Math.fround(1 / 255));
    assert.equal(pixels[4], 0);
    assert.equal(pixels[PIXELS_PER_IMAGE], Math.fround(0.2));
    assert.deepEqual(Array.from(y.dataSync()), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    tf.dispose([x, y]);
    const range = buffers.imagesInRange(images, 0, 1);
    assert.ok(range.dataSync().every((v) => v === 1));
    range.dispose();
    assert.throws(() => buffers.imagesInRange(images, 0, 3), RangeError);
  });
});
