import * as tf from '@tensorflow/tfjs';
import { kindOf } from './layers/index.ts';
import { INPUT_SHAPE, type ModelSpec } from './spec.ts';

/** Keras' Adam defaults; tfjs' epsilon default depends on the backend, Keras' does not. */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/**
 * Builds and compiles the model a spec describes, as the walkthrough's Keras script does:
 * Glorot-uniform kernels and zero biases (Keras' defaults) seeded per layer, seeded dropout,
 * Adam, categorical cross-entropy, accuracy. Same spec and seed, same initial weights, on any
 * backend. The spec is trusted: it was validated where it came in (ModelSpec, parseTrainConfig).
 */
export function buildModel(spec: ModelSpec, config: { learningRate: number; seed: number }): tf.LayersModel {
  const model = tf.sequential();
  spec.layers.forEach((layer, index) => {
    model.add(kindOf(layer).toTfjs(layer, { seed: layerSeed(config.seed, index), inputShape: index === 0 ? INPUT_SHAPE : undefined }));
  });
  model.compile({
    optimizer: tf.train.adam(config.learningRate, ADAM.beta1, ADAM.beta2, ADAM.epsilon),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  // tfjs disposes an optimiser with its model only if the model created it from a name; this
  // one is ours alone, so let model.dispose() free Adam's moments too (else every run leaks them).
  (model as unknown as { isOptimizerOwned: boolean }).isOptimizerOwned = true;
  return model;
}

/** Distinct, well-spread seeds per layer, so no two layers start with correlated weights. */
function layerSeed(seed: number, index: number): number {
  return (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}
