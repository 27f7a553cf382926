import * as tf from '@tensorflow/tfjs';
import { SeededDropout } from '../seeded-dropout.ts';
import { CheckpointMismatchError } from '../../errors.ts';
import type { CheckpointOptimizer, CheckpointWeight } from './checkpoint.ts';

/**
 * Reading and restoring the state a tfjs model carries between steps: its weights, the
 * AdamOptimizer's moments and running powers of beta, the seeded dropout layers' call counts.
 */

/** The fields of tfjs' AdamOptimizer a checkpoint needs (tfjs-core adam_optimizer.ts). */
interface AdamInternals {
  beta1: number;
  beta2: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  iterations_: number;
}

function adamOf(model: tf.LayersModel): AdamInternals {
  const optimizer = model.optimizer;
  if (optimizer?.getClassName() !== 'Adam') throw new Error(`checkpoints implement Adam only, not ${optimizer?.getClassName()}`);
  const adam = optimizer as unknown as AdamInternals;
  if (!(adam.accBeta1 instanceof tf.Variable) || !Array.isArray(adam.accumulatedFirstMoment)) {
    throw new Error("this tfjs' AdamOptimizer keeps its state in other fields than lib/model/checkpoint expects");
  }
  return adam;
}

/**
 * Copies of the model's weights, in model.weights order (trainable or not). Values given (by a
 * graph step, which holds the current ones) replace the model's: trainable ones in
 * model.trainableWeights order, the others in model.nonTrainableWeights order.
 */
export function readModelWeights(
  model: tf.LayersModel,
  trainableValues?: readonly Float32Array[],
  nonTrainableValues?: readonly Float32Array[],
): CheckpointWeight[] {
  const trainable = model.trainableWeights.map((w) => w.originalName);
  const nonTrainable = model.nonTrainableWeights.map((w) => w.originalName);
  return model.weights.map((weight) => {
    const index = trainable.indexOf(weight.originalName);
    const given = index >= 0 ? trainableValues?.[index] : nonTrainableValues?.[nonTrainable.indexOf(weight.originalName)];
    const values = given ?? (weight.read().dataSync() as Float32Array).slice();
    return { name: weight.originalName, shape: weight.shape.map((size) => size ?? 0), trainable: index >= 0, values };
  });
}

/**
 * Sets every model weight from a checkpoint, after checking names and shapes: a checkpoint is
 * never loaded into a model whose weights differ.
 * @throws CheckpointMismatchError listing both weight shapes
 */
export function restoreModelWeights(model: tf.LayersModel, weights: readonly CheckpointWeight[]): void {
  // Shapes, not names: tfjs numbers layer names per process (conv2d_Conv2D1, conv2d_Conv2D7, ...).
  const trainable = new Set(model.trainableWeights.map((w) => w.originalName));
  const expected = model.weights.map((w) => ({ shape: [...w.shape] as number[], trainable: trainable.has(w.originalName) }));
  const describe = (list: readonly { shape: number[]; trainable: boolean }[]) =>
    list.map((w) => `[${w.shape.join(',')}]${w.trainable ? '' : ' (not trainable)'}`).join(', ');
  if (weights.length !== expected.length || weights.some((w, i) => w.trainable !== expected[i].trainable || !tf.util.arraysEqual(w.shape, expected[i].shape))) {
    throw new CheckpointMismatchError(`the checkpoint's weights (${describe(weights)}) are not the model's (${describe(expected)})`, ['weights']);
  }
  const tensors = weights.map((w) => tf.tensor(w.values, w.shape, 'float32'));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/** Adam's state from the tfjs optimiser (zero moments before its first step). Moments in model.trainableWeights order. */
export function readEagerOptimizer(model: tf.LayersModel, iterations: number): CheckpointOptimizer {
  const adam = adamOf(model);
  const read = (moments: AdamInternals['accumulatedFirstMoment'], i: number, size: number) =>
    moments[i] === undefined ? new Float32Array(size) : (moments[i].variable.dataSync() as Float32Array).slice();
  const sizes = model.trainableWeights.map((w) => w.shape.reduce((a: number, b) => a * (b ?? 1), 1));
  return {
    iterations,
    beta1Power: adam.accBeta1.dataSync()[0],
    beta2Power: adam.accBeta2.dataSync()[0],
    moments1: sizes.map((size, i) => read(adam.accumulatedFirstMoment, i, size)),
    moments2: sizes.map((size, i) => read(adam.accumulatedSecondMoment, i, size)),
  };
}

/**
 * Puts a checkpoint's Adam state into the tfjs optimiser. Not through AdamOptimizer.setWeights:
 * that recomputes the powers of beta as pow(beta, t + 1), which differs in the last bits from
 * the running product the optimiser keeps (and a resumed run would drift from an unbroken one).
 */
export function restoreEagerOptimizer(model: tf.LayersModel, state: CheckpointOptimizer): void {
  const adam = adamOf(model);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  checkMoments(variables.map((v) => v.shape), state);
  const make = (values: Float32Array, variable: tf.Variable, suffix: string) => ({
    originalName: `${variable.name}/${suffix}`,
    variable: tf.variable(tf.tensor(values, variable.shape, 'float32'), false),
  });
  tf.dispose([...adam.accumulatedFirstMoment, ...adam.accumulatedSecondMoment].map((m) => m.variable));
  tf.tidy(() => {
    adam.accumulatedFirstMoment = variables.map((variable, i) => make(state.moments1[i], variable, 'm'));
    adam.accumulatedSecondMoment = variables.map((variable, i) => make(state.moments2[i], variable, 'v'));
    adam.accBeta1.assign(tf.scalar(state.beta1Power, 'float32'));
    adam.accBeta2.assign(tf.scalar(state.beta2Power, 'float32'));
  });
  adam.iterations_ = state.iterations;
}

/** @throws CheckpointMismatchError when the moments do not fit weights of these shapes */
export function checkMoments(shapes: readonly number[][], state: CheckpointOptimizer): void {
  const sizes = shapes.map((shape) => shape.reduce((a, b) => a * b, 1));
  const fits = (moments: Float32Array[]) => moments.length === sizes.length && moments.every((m, i) => m.length === sizes[i]);
  if (!fits(state.moments1) || !fits(state.moments2)) {
    throw new CheckpointMismatchError(`the checkpoint's Adam moments do not fit the model's ${sizes.length} trainable weights`, ['optimizer']);
  }
}

/** The model's seeded dropout layers, in layer order. */
export function dropoutLayers(model: tf.LayersModel): SeededDropout[] {
  return model.layers.filter((layer): layer is SeededDropout => layer instanceof SeededDropout);
}

export function restoreDropoutCalls(model: tf.LayersModel, calls: readonly number[]): void {
  const layers = dropoutLayers(model);
  if (layers.length !== calls.length) {
    throw new CheckpointMismatchError(`the checkpoint has ${calls.length} dropout call counts; the model has ${layers.length} dropout layers`, ['dropoutCalls']);
  }
  layers.forEach((layer, i) => layer.restoreCallCount(calls[i]));
}
