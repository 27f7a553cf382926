import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { numberIn, positiveAtMost, strictObject } from '../../validation.ts';
import type { GraphBuilder, Ref } from '../graph/graph.ts';
import { defineLayer, size, type ExampleShape } from './layer.ts';

/** Keras' defaults. */
const DEFAULT_MOMENTUM = 0.99;
const DEFAULT_EPSILON = 0.001;

/**
 * Batch normalisation over the last axis (channels, or features after a flatten), as
 * tfjs-layers' BatchNormalization computes it: in training, each batch is normalised with its
 * own mean and (biased) variance, and the moving statistics move towards them by `1 - momentum`;
 * in inference, the moving statistics normalise.
 */
export const batchNormalization = defineLayer({
  schema: strictObject({
    type: z.literal('batchNormalization'),
    /** Default 0.99, as in Keras. */
    momentum: numberIn(0, 1).optional(),
    /** Default 0.001, as in Keras. */
    epsilon: positiveAtMost(1).optional(),
  }),

  // gamma, beta, moving mean and moving variance per channel (last axis)
  plan: (_layer, input) => ({ outputShape: input, parameters: 4 * input[input.length - 1] }),

  toTfjs: (layer, { inputShape }) =>
    tf.layers.batchNormalization({
      ...(inputShape && { inputShape }),
      momentum: layer.momentum ?? DEFAULT_MOMENTUM,
      epsilon: layer.epsilon ?? DEFAULT_EPSILON,
    }),

  // Normalised values, the centred input and the output, plus the gradient.
  floats: (_layer, _input, output) => ({ training: 4 * size(output), output: size(output) }),

  describe: (layer) => layer.type,

  graph: {
    weights: (_layer, input) => [[channels(input)], [channels(input)]],
    state: (_layer, input) => [[channels(input)], [channels(input)]],

    train(layer, { g, x, input, weights: [gamma, beta], state: [movingMean, movingVariance], updateState }) {
      // tfjs: moments (mean, then the mean of squared deviations), then FusedBatchNorm with them.
      const axes = reductionAxes(input);
      const mean = g.reduce('Mean', x, axes, false);
      const centered = g.sub(x, mean);
      const variance = g.reduce('Mean', g.unary('Square', centered), axes, false);
      const inverseStd = g.unary('Rsqrt', g.add(variance, g.scalar(layer.epsilon ?? DEFAULT_EPSILON)));
      const scale = g.mul(inverseStd, gamma);
      const y = g.add(g.mul(centered, scale), beta);
      const momentum = layer.momentum ?? DEFAULT_MOMENTUM;
      updateState([movingAverage(g, movingMean, mean, momentum), movingAverage(g, movingVariance, variance, momentum)]);
      return {
        y,
        backward(dy, needInputGradient) {
          // Through the batch statistics too (they depend on x): with xhat = (x - mean) / std,
          // dx = gamma / std * (dy - mean(dy) - xhat * mean(dy * xhat)).
          const normalised = g.mul(centered, inverseStd);
          const dyTimesNormalised = g.mul(dy, normalised);
          const dGamma = g.reduce('Sum', dyTimesNormalised, axes, false);
          const dBeta = g.reduce('Sum', dy, axes, false);
          if (!needInputGradient) return { gradients: [dGamma, dBeta] };
          const centeredDy = g.sub(dy, g.reduce('Mean', dy, axes, false));
          const dx = g.mul(g.sub(centeredDy, g.mul(normalised, g.reduce('Mean', dyTimesNormalised, axes, false))), scale);
          return { gradients: [dGamma, dBeta], dx };
        },
      };
    },

    infer(layer, { g, x, weights: [gamma, beta], state: [movingMean, movingVariance] }) {
      const scale = g.mul(g.unary('Rsqrt', g.add(movingVariance, g.scalar(layer.epsilon ?? DEFAULT_EPSILON))), gamma);
      return g.add(g.mul(g.sub(x, movingMean), scale), beta);
    },
  },
});

function channels(input: ExampleShape): number {
  return input[input.length - 1];
}

/** Every axis but the channels', batch included. */
function reductionAxes(input: ExampleShape): number[] {
  return Array.from({ length: input.length }, (_, i) => i);
}

/** tfjs-layers' doMovingAverage: moving - (moving - value) * (1 - momentum). */
function movingAverage(g: GraphBuilder, moving: Ref, value: Ref, momentum: number): Ref {
  return g.sub(moving, g.mul(g.sub(moving, value), g.scalar(1 - momentum)));
}
