import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/model/backend.ts';
import { buildModel } from '../../lib/model/build.ts';
import type { ModelSpec } from '../../lib/model/spec.ts';
import { TrainStepper } from '../../lib/model/eager-step.ts';
import { on, pseudoRandom, relativeMaxDiff, sizeOf, squaresDataset } from './helpers.ts';

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const CASES: Case[] = [
  { x: [2, 5, 5, 1], filter: [3, 3, 1, 2], strides: 1, pad: 'valid' },
  // window (9) < out channels (16): the kernel puts the patches on the right of its product
  { x: [2, 6, 6, 1], filter: [3, 3, 1, 16], strides: 1, pad: 'valid' },
  { x: [3, 6, 7, 2], filter: [3, 3, 2, 4], strides: 1, pad: 'same' },
  { x: [2, 8, 8, 3], filter: [5, 5, 3, 3], strides: 2, pad: 'same' },
  { x: [2, 9, 7, 3], filter: [5, 5, 3, 4], strides: 2, pad: 'valid' },
  { x: [2, 7, 9, 3], filter: [1, 1, 3, 5], strides: 2, pad: 'valid' },
  { x: [4, 7, 8, 4], filter: [1, 1, 4, 2], strides: 1, pad: 'same' },
  { x: [2, 10, 10, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'same' },
  { x: [3, 9, 9, 2], filter: [3, 3, 2, 4], strides: [2, 1], pad: 'same' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 5], strides: 1, pad: 1 },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 5], strides: [2, 1], pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [2, 11, 11, 4], filter: [5, 5, 4, 8], strides: 1, pad: [[0, 0], [0, 3], [4, 1], [0, 0]] },
];

/** d(sum(conv2d(x, w) * dyWeights))/dw and /dx: the filter gradient is exactly the kernel under test. */
function convGradients(c: Case): () => tf.Tensor[] {
  return () => {
    const x = tf.tensor4d(pseudoRandom(sizeOf(c.x), 11), c.x);
    const w = tf.tensor4d(pseudoRandom(sizeOf(c.filter), 12), c.filter);
    const outShape = tf.conv2d(x, w, c.strides, c.pad).shape;
    const dy = tf.tensor(pseudoRandom(sizeOf(outShape), 13), outShape);
    const [dx, dw] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad).mul(dy).sum())([x, w]);
    return [dw, dx];
  };
}

describe('Conv2DBackpropFilter on wasm', () => {
  before(async () => {
    await initBackend('wasm');
  });

  for (const c of CASES) {
    it(`matches the cpu backend: x ${c.x}, filter ${c.filter}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}`, async () => {
      const [wasmDw, wasmDx] = await on('wasm', convGradients(c));
      const [cpuDw, cpuDx] = await on('cpu', convGradients(c));
      assert.ok(relativeMaxDiff(wasmDw, cpuDw) < 1e-4, `filter gradient differs by ${relativeMaxDiff(wasmDw, cpuDw)}`);
      // The input gradient goes through our Conv2DBackpropInput (stride 1) or upstream's (others).
      assert.ok(relativeMaxDiff(wasmDx, cpuDx) < 1e-4, `input gradient differs by ${relativeMaxDiff(wasmDx, cpuDx)}`);
      assert.ok(cpuDw.some((v) => Math.abs(v) > 1e-3), 'the reference gradient should not be trivially zero');
    });
  }

  it('computes the walkthrough layer shapes like the cpu backend', async () => {
    const c: Case = { x: [2, 13, 13, 32], filter: [3, 3, 32, 64], strides: 1, pad: 'valid' };
    const [wasmDw] = await on('wasm', convGradients(c));
    const [cpuDw] = await on('cpu', convGradients(c));
    assert.ok(relativeMaxDiff(wasmDw, cpuDw) < 1e-4);
  });

  it('rejects dilations other than 1 and non-NHWC data clearly', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 5, 5, 1]);
    const dy = tf.zeros([1, 3, 3, 1]);
    const run = (attrs: Record<string, unknown>) => () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', filterShape: [3, 3, 1, 1], ...attrs } as never);
    assert.throws(run({ dilations: 2 }), /only dilation 1/);
    assert.throws(run({ dataFormat: 'NCHW' }), /only NHWC/);
    tf.dispose([x, dy]);
  });
});

describe('one training step on wasm', () => {
  // A linear conv feeding max pooling: the case upstream's MaxPoolGrad gets wrong (negative windows).
  const spec: ModelSpec = {
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'linear' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'conv2d', filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
      { type: 'flatten' },
      { type: 'dropout', rate: 0.25 },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
  };

  async function weightsAfterOneStep(backend: 'cpu' | 'wasm'): Promise<Float32Array[]> {
    await initBackend(backend);
    const data = squaresDataset(16);
    const model = buildModel(spec, { learningRate: 0.001, seed: 7 });
    const order = Uint32Array.from({ length: data.count }, (_, i) => i);
    const { loss, correct } = new TrainStepper(model, data.count).step(data, order, 0, data.count);
    tf.dispose([loss, correct]);
    const weights = await Promise.all(model.getWeights().map((w) => w.data<'float32'>()));
    model.dispose();
    return weights;
  }

  it('leaves the same weights as the same step on cpu', async () => {
    const wasm = await weightsAfterOneStep('wasm');
    const cpu = await weightsAfterOneStep('cpu');
    assert.equal(wasm.length, cpu.length);
    wasm.forEach((weights, i) => {
      assert.ok(relativeMaxDiff(weights, cpu[i]) < 1e-5, `weight ${i} differs by ${relativeMaxDiff(weights, cpu[i])}`);
    });
    const initial = await (async () => {
      const model = buildModel(spec, { learningRate: 0.001, seed: 7 });
      const values = await Promise.all(model.getWeights().map((w) => w.data<'float32'>()));
      model.dispose();
      return values;
    })();
    assert.ok(relativeMaxDiff(cpu[0], initial[0]) > 1e-4, 'the step should have moved the first conv kernel');
  });
});
