import * as tf from '@tensorflow/tfjs';
import { FieldError, fieldErrorToConfigError } from './field-error.ts';
import { SeededDropout } from './seeded-dropout.ts';
import type { LayerSpec, ModelSpec } from './spec.ts';
import { INPUT_SHAPE, planLayers } from './spec-shapes.ts';

/** Keras' Adam defaults; tfjs' epsilon default depends on the backend, Keras' does not. */
const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/**
 * Builds and compiles the model a spec describes, as the walkthrough's Keras script does:
 * Glorot-uniform kernels and zero biases (Keras' defaults) seeded per layer, seeded dropout,
 * Adam, categorical cross-entropy, accuracy. Same spec and seed, same initial weights, on any
 * backend.
 */
export function buildModel(spec: ModelSpec, config: { learningRate: number; seed: number }): tf.LayersModel {
  try {
    planLayers(spec);
  } catch (error) {
    if (error instanceof FieldError) throw fieldErrorToConfigError(error, 'model spec');
    throw error;
  }
  const model = tf.sequential();
  spec.layers.forEach((layer, index) => {
    const inputShape = index === 0 ? { inputShape: INPUT_SHAPE } : {};
    model.add(toLayer(layer, layerSeed(config.seed, index), inputShape));
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

function toLayer(layer: LayerSpec, seed: number, first: { inputShape?: number[] }): tf.layers.Layer {
  switch (layer.type) {
    case 'conv2d':
      return tf.layers.conv2d({
        ...first,
        filters: layer.filters,
        kernelSize: layer.kernelSize,
        strides: layer.strides ?? 1,
        padding: layer.padding ?? 'valid',
        activation: layer.activation,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: 'zeros',
      });
    case 'maxPool2d':
      return tf.layers.maxPooling2d({
        ...first,
        poolSize: layer.poolSize,
        strides: layer.strides ?? layer.poolSize,
        padding: layer.padding ?? 'valid',
      });
    case 'flatten':
      return tf.layers.flatten(first);
    case 'dense':
      return tf.layers.dense({
        ...first,
        units: layer.units,
        activation: layer.activation,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        biasInitializer: 'zeros',
      });
    case 'dropout':
      return new SeededDropout({ ...first, rate: layer.rate, seed });
    case 'batchNormalization':
      return tf.layers.batchNormalization({ ...first, momentum: layer.momentum ?? 0.99, epsilon: layer.epsilon ?? 0.001 });
  }
}

/** Distinct, well-spread seeds per layer, so no two layers start with correlated weights. */
function layerSeed(seed: number, index: number): number {
  return (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}
