// The native TensorFlow backend (@tensorflow/tfjs-node, addon built by
// scripts/native/setup-tfjs-node.mjs against the tensorflow-cpu wheel) must
// agree with tfjs' reference cpu backend on the gradients training relies on.
//
// Skipped when tfjs-node does not load, unless FMNIST_EXPECT_NATIVE=1 (CI),
// in which case not loading is a failure.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';

const EXPECT_NATIVE = process.env.FMNIST_EXPECT_NATIVE === '1';
const TOLERANCE = 1e-4;
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // keep TensorFlow's C++ banner out of the test output

let loadError: unknown = null;
try {
  // Registers the 'tensorflow' backend on the tfjs-core instance that
  // '@tensorflow/tfjs' (imported above) also uses, and makes it current.
  await import('@tensorflow/tfjs-node');
} catch (error) {
  loadError = error;
}
const loaded = loadError === null;
tf.env().set('IS_TEST', true); // silences the cpu backend's "install tfjs-node" banner
const skip = loaded
  ? false
  : `@tensorflow/tfjs-node does not load (${firstLine(loadError)}); run \`npm run setup:native\`` +
    (EXPECT_NATIVE ? '' : ', or set FMNIST_EXPECT_NATIVE=1 to make this a failure');

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}

/** Deterministic values in [-1, 1) (LCG), identical for both backends. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Runs `f` on `backend` and returns the gradients of sum(f(...inputs) * r)
 * (r: a fixed random upstream gradient) w.r.t. every input, as plain arrays.
 */
async function gradsOn(
  backend: string,
  shapes: number[][],
  f: (...xs: tf.Tensor[]) => tf.Tensor,
): Promise<Float32Array[]> {
  assert.equal(await tf.setBackend(backend), true, `setBackend('${backend}')`);
  assert.equal(tf.getBackend(), backend);
  const xs = shapes.map((s, i) => tf.tensor(values(size(s), 17 + 31 * i), s));
  const outShape = tf.tidy(() => f(...xs).shape);
  const upstream = tf.tensor(values(size(outShape), 99), outShape);
  const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), upstream)))(xs);
  const data = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
  tf.dispose([...xs, upstream, ...grads]);
  return data;
}

async function assertGradsMatch(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor, names: string[]) {
  const native = await gradsOn('tensorflow', shapes, f);
  const reference = await gradsOn('cpu', shapes, f);
  for (let i = 0; i < names.length; i++) {
    const a = native[i]!;
    const b = reference[i]!;
    assert.equal(a.length, b.length, `${names[i]}: gradient sizes differ`);
    let worst = 0;
    let at = -1;
    for (let j = 0; j < a.length; j++) {
      const d = Math.abs(a[j]! - b[j]!);
      if (!(d <= worst)) { worst = d; at = j; } // also catches NaN
    }
    assert.ok(worst <= TOLERANCE,
      `${names[i]}: max |tensorflow - cpu| = ${worst} at ${at} (tensorflow ${a[at]}, cpu ${b[at]}) > ${TOLERANCE}`);
    assert.ok(b.some((v) => v !== 0), `${names[i]}: reference gradient is all zeros (degenerate case)`);
  }
}

describe('native TensorFlow backend (@tensorflow/tfjs-node)', () => {
  test('@tensorflow/tfjs-node loads', { skip: EXPECT_NATIVE ? false : skip }, () => {
    if (!loaded) {
      assert.fail(`FMNIST_EXPECT_NATIVE=1 but @tensorflow/tfjs-node does not load: ${String(loadError)}\n` +
        'Run `npm run setup:native` (scripts/native/setup-tfjs-node.mjs) and read its warning.');
    }
  });

  test("registers the 'tensorflow' backend on the shared tfjs instance", { skip }, async () => {
    assert.ok(tf.findBackend('tensorflow'), "'tensorflow' backend not registered on @tensorflow/tfjs's core");
    assert.ok(tf.findBackend('cpu'), "'cpu' backend not registered");
    assert.equal(await tf.setBackend('tensorflow'), true);
    assert.equal(tf.getBackend(), 'tensorflow');
    const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
    assert.match(String(binding?.TF_Version), /^2\.\d+\.\d+/, 'TF_Version from the addon');
  });

  for (const stride of [1, 2]) {
    for (const pad of ['valid', 'same'] as const) {
      test(`conv2d gradients w.r.t. input and filter match cpu (stride ${stride}, padding ${pad})`, { skip }, async () => {
        await assertGradsMatch(
          [[2, 9, 8, 3], [3, 3, 3, 4]],
          (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
          ['dInput', 'dFilter'],
        );
      });
    }
  }

  for (const [filter, stride, pad] of [[2, 2, 'valid'], [3, 2, 'same'], [3, 1, 'valid']] as const) {
    test(`maxPool gradient matches cpu (filter ${filter}, stride ${stride}, padding ${pad})`, { skip }, async () => {
      await assertGradsMatch(
        [[2, 9, 8, 3]],
        (x) => tf.maxPool(x as tf.Tensor4D, filter, stride, pad),
        ['dInput'],
      );
    });
  }
});
