import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../lib/model/backend.ts';
import { upstreamKernel } from '../../lib/model/wasm/kernel-support.ts';
import { on, pseudoRandom, relativeMaxDiff, sizeOf } from './helpers.ts';

before(async () => {
  await initBackend('wasm');
});

interface PoolCase {
  x: [number, number, number, number];
  pool: number;
  strides: number;
  pad: 'valid' | 'same';
}

const POOL_CASES: PoolCase[] = [
  { x: [2, 4, 4, 3], pool: 2, strides: 2, pad: 'valid' },
  { x: [2, 7, 7, 2], pool: 2, strides: 2, pad: 'valid' },
  { x: [1, 6, 6, 2], pool: 3, strides: 2, pad: 'same' },
  { x: [2, 5, 5, 1], pool: 2, strides: 1, pad: 'valid' },
  { x: [2, 9, 8, 4], pool: 3, strides: 1, pad: 'same' },
];

/** Values mostly below zero, with ties (whole numbers): the windows upstream gets wrong, and tie-breaking. */
function negativeWithTies(shape: number[], seed: number): Float32Array {
  return pseudoRandom(sizeOf(shape), seed).map((v) => Math.round(v * 6) - 2);
}

function poolGradient(c: PoolCase): () => tf.Tensor {
  return () => {
    const x = tf.tensor4d(negativeWithTies(c.x, 3), c.x);
    const outShape = tf.maxPool(x, c.pool, c.strides, c.pad).shape;
    const dy = tf.tensor(pseudoRandom(sizeOf(outShape), 4), outShape);
    return tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, c.pool, c.strides, c.pad).mul(dy).sum())(x);
  };
}

describe('MaxPoolGrad on wasm', () => {
  it('upstream drops gradients of windows whose maximum is negative (why we replace it)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const input = tf.tensor4d([-3, -1, -4, -2], [1, 2, 2, 1]);
    const output = tf.maxPool(input, 2, 2, 'valid');
    const dy = tf.tensor4d([5], [1, 1, 1, 1]);
    const upstream = upstreamKernel('MaxPoolGrad')({
      inputs: { dy, input, output },
      backend,
      attrs: { filterSize: 2, strides: 2, pad: 'valid' },
    });
    const dropped = Array.from(backend.readSync(upstream.dataId) as Float32Array);
    backend.disposeData(upstream.dataId);
    tf.dispose([input, output, dy]);
    assert.notDeepEqual(dropped, [0, 5, 0, 0], 'upstream got it right: the replacement may no longer be needed');
  });

  it('routes the gradient to the window maximum, however negative', async () => {
    const [gradient] = await on('wasm', () => {
      const x = tf.tensor4d([-3, -1, -4, -2], [1, 2, 2, 1]);
      return tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid').mul(5).sum())(x);
    });
    assert.deepEqual(Array.from(gradient), [0, 5, 0, 0]);
  });

  for (const c of POOL_CASES) {
    it(`matches the cpu backend, ties included: x ${c.x}, pool ${c.pool}, strides ${c.strides}, ${c.pad}`, async () => {
      const [wasm] = await on('wasm', poolGradient(c));
      const [cpu] = await on('cpu', poolGradient(c));
      // Overlapping windows add several gradients into one pixel, in a different order than cpu: allow rounding.
      assert.ok(relativeMaxDiff(wasm, cpu) < 1e-6, `differs by ${relativeMaxDiff(wasm, cpu)}`);
    });
  }
});

describe('Conv2DBackpropInput on wasm', () => {
  const cases: { x: [number, number, number, number]; filter: [number, number, number, number]; strides: number; pad: 'valid' | 'same' }[] = [
    { x: [2, 13, 13, 4], filter: [3, 3, 4, 6], strides: 1, pad: 'valid' },
    { x: [2, 8, 7, 3], filter: [5, 5, 3, 2], strides: 1, pad: 'same' },
    { x: [2, 8, 8, 3], filter: [4, 4, 3, 2], strides: 1, pad: 'same' },
    { x: [2, 9, 9, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
  ];
  for (const c of cases) {
    it(`matches the cpu backend: x ${c.x}, filter ${c.filter}, strides ${c.strides}, ${c.pad}`, async () => {
      const inputGradient = () => {
        const x = tf.tensor4d(pseudoRandom(sizeOf(c.x), 5), c.x);
        const w = tf.tensor4d(pseudoRandom(sizeOf(c.filter), 6), c.filter);
        const outShape = tf.conv2d(x, w, c.strides, c.pad).shape;
        const dy = tf.tensor(pseudoRandom(sizeOf(outShape), 7), outShape);
        return tf.grad((v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, w, c.strides, c.pad).mul(dy).sum())(x);
      };
      const [wasm] = await on('wasm', inputGradient);
      const [cpu] = await on('cpu', inputGradient);
      assert.ok(relativeMaxDiff(wasm, cpu) < 1e-4, `differs by ${relativeMaxDiff(wasm, cpu)}`);
    });
  }
});

describe('BatchMatMul on wasm', () => {
  for (const [transposeA, transposeB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ]) {
    it(`matches the cpu backend with transposeA=${transposeA}, transposeB=${transposeB}, batched and not`, async () => {
      const products = () => {
        const a2 = tf.tensor2d(pseudoRandom(6 * 5, 8), transposeA ? [5, 6] : [6, 5]);
        const b2 = tf.tensor2d(pseudoRandom(5 * 7, 9), transposeB ? [7, 5] : [5, 7]);
        const a3 = tf.tensor3d(pseudoRandom(3 * 6 * 5, 10), transposeA ? [3, 5, 6] : [3, 6, 5]);
        const b3 = tf.tensor3d(pseudoRandom(3 * 5 * 7, 11), transposeB ? [3, 7, 5] : [3, 5, 7]);
        return [tf.matMul(a2, b2, transposeA, transposeB), tf.matMul(a3, b3, transposeA, transposeB)];
      };
      const wasm = await on('wasm', products);
      const cpu = await on('cpu', products);
      wasm.forEach((values, i) => assert.ok(relativeMaxDiff(values, cpu[i]) < 1e-5));
    });
  }
});

describe('Sum on wasm', () => {
  it('matches the cpu backend over leading, trailing and mixed axes, with and without keepDims', async () => {
    const sums = () => {
      const x = tf.tensor4d(pseudoRandom(4 * 5 * 6 * 3, 12), [4, 5, 6, 3]);
      return [
        tf.sum(x, [0, 1, 2]),
        tf.sum(x, [0, 1, 2], true),
        tf.sum(x, 0),
        tf.sum(x, [1, 0]),
        tf.sum(x, -1),
        tf.sum(x, [0, 2]),
        tf.sum(x),
      ];
    };
    const wasm = await on('wasm', sums);
    const cpu = await on('cpu', sums);
    wasm.forEach((values, i) => assert.ok(relativeMaxDiff(values, cpu[i]) < 1e-6, `sum ${i} differs`));
    await tf.setBackend('wasm');
    const x = tf.zeros([4, 5, 6, 3]);
    assert.deepEqual(tf.sum(x, [0, 1, 2], true).shape, [1, 1, 1, 3]);
    assert.deepEqual(tf.sum(x, [0, 1]).shape, [6, 3]);
    x.dispose();
  });
});

describe('Identity on wasm', () => {
  it('shares data like the cpu backend, and frees it with its last user', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const original = tf.tensor1d([1, 2, 3]);
    const stored = backend.numDataIds();
    const copy = tf.clone(original);
    assert.equal(backend.numDataIds(), stored, 'a clone adds no data (upstream copies)');
    original.dispose();
    assert.deepEqual(Array.from(await copy.data()), [1, 2, 3]);
    assert.equal(backend.numDataIds(), stored);
    copy.dispose();
    assert.equal(backend.numDataIds(), stored - 1);
  });
});
