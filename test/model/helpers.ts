import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import type { LabeledImages } from '../../lib/data/dataset.ts';
/** Deterministic values in [-0.5, 0.5): the same inputs on every backend and every run. */
export function pseudoRandom(count: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  });
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs `compute` with `backend` selected and returns its outputs' values (tensors disposed). */
export async function on(backend: 'cpu' | 'wasm', compute: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(backend), `backend ${backend} failed to start`);
  const outputs = tf.tidy(compute);
  const list = Array.isArray(outputs) ? outputs : [outputs];
  const values = await Promise.all(list.map((t) => t.data<'float32'>()));
  tf.dispose(list);
  return values;
}

/** Largest absolute difference, relative to the reference's largest magnitude (at least `floor`). */
export function relativeMaxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1): number {
  assert.equal(actual.length, expected.length, 'lengths differ');
  let diff = 0;
  let magnitude = floor;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    magnitude = Math.max(magnitude, Math.abs(expected[i]));
  }
  return magnitude === 0 ? diff : diff / magnitude;
}

/**
 * A data set a small conv net learns in a few steps: class k is a bright 6x6 square at its own
 * place on a dim noisy background.
 */
export function squaresDataset(count: number, seed = 1): LabeledImages {
  const images = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  const noise = pseudoRandom(count * PIXELS_PER_IMAGE, seed);
  for (let i = 0; i < count; i++) {
    const label = i % NUM_CLASSES;
    labels[i] = label;
    const top = 2 + 5 * Math.floor(label / 5);
    const left = 2 + 5 * (label % 5);
    for (let p = 0; p < PIXELS_PER_IMAGE; p++) {
      const row = Math.floor(p / 28);
      const column = p % 28;
      const inSquare = row >= top && row < top + 6 && column >= left && column < left + 6;
      images[i * PIXELS_PER_IMAGE + p] = inSquare ? 230 : Math.floor((noise[i * PIXELS_PER_IMAGE + p] + 0.5) * 40);
    }
  }
  return { images, labels, count };
}

let nativeProbe: boolean | undefined;

/** Decided apart from the code under test: can this install load tfjs-node's native addon at all? */
export function nativeAddonLoads(): boolean {
  nativeProbe ??= spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { cwd: process.cwd(), stdio: 'ignore' }).status === 0;
  return nativeProbe;
}

/** Largest absolute difference relative to the reference's own largest magnitude (for small values such as gradients). */
export function scaledMaxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  return relativeMaxDiff(actual, expected, 0);
}
