import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from '../data/classes.ts';
import { BatchBuffers } from './batches.ts';

/** Large enough to keep XNNPACK / TensorFlow busy, small enough that activations stay in the tens of MB. */
export const PREDICT_BATCH_SIZE = 256;

/** Keras' backend epsilon, which its cross-entropy clips probabilities with. */
const EPSILON = 1e-7;

export interface Prediction {
  /** Most probable class per example (first one on ties, as `np.argmax`). */
  predicted: Uint8Array;
  /** Row-major [count, 10] class probabilities (the walkthrough's `model.predict`). */
  probabilities: Float32Array;
}

export async function predict(
  model: tf.LayersModel,
  data: { images: Uint8Array; count: number },
  batchSize = PREDICT_BATCH_SIZE,
): Promise<Prediction> {
  if (data.images.length !== data.count * PIXELS_PER_IMAGE) {
    throw new RangeError(`expected ${data.count * PIXELS_PER_IMAGE} pixels for ${data.count} images, got ${data.images.length}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const probabilities = new Float32Array(data.count * NUM_CLASSES);
  const buffers = new BatchBuffers(Math.min(batchSize, Math.max(data.count, 1)));
  for (let from = 0; from < data.count; from += batchSize) {
    const to = Math.min(from + batchSize, data.count);
    const images = buffers.imagesInRange(data.images, from, to);
    const output = model.predictOnBatch(images) as tf.Tensor;
    try {
      probabilities.set(await output.data<'float32'>(), from * NUM_CLASSES);
    } finally {
      tf.dispose([images, output]);
    }
  }
  return { predicted: argmaxRows(probabilities, data.count), probabilities };
}

/** The most probable class of each row of [count, 10] probabilities (first one on ties, as `np.argmax`). */
export function argmaxRows(probabilities: Float32Array, count: number): Uint8Array {
  const predicted = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const row = i * NUM_CLASSES;
    let best = 0;
    for (let c = 1; c < NUM_CLASSES; c++) if (probabilities[row + c] > probabilities[row + best]) best = c;
    predicted[i] = best;
  }
  return predicted;
}

/**
 * What the walkthrough's `model.evaluate` reports, from predictions already made: mean
 * categorical cross-entropy computed as Keras does (rows normalised, then clipped to
 * [1e-7, 1 - 1e-7]) and accuracy (argmax equals the label).
 */
export function evaluateLossAccuracy(probabilities: Float32Array, labels: Uint8Array): { loss: number; accuracy: number } {
  const count = labels.length;
  if (probabilities.length !== count * NUM_CLASSES) {
    throw new RangeError(`expected ${count * NUM_CLASSES} probabilities for ${count} labels, got ${probabilities.length}`);
  }
  if (count === 0) return { loss: NaN, accuracy: NaN };
  const predicted = argmaxRows(probabilities, count);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const label = labels[i];
    if (label >= NUM_CLASSES) throw new RangeError(`label ${label} at index ${i} is not a class (0-${NUM_CLASSES - 1})`);
    const row = i * NUM_CLASSES;
    let sum = 0;
    for (let c = 0; c < NUM_CLASSES; c++) sum += probabilities[row + c];
    const p = sum > 0 ? Math.min(Math.max(probabilities[row + label] / sum, EPSILON), 1 - EPSILON) : EPSILON;
    loss -= Math.log(p);
    if (predicted[i] === label) correct++;
  }
  return { loss: loss / count, accuracy: correct / count };
}
