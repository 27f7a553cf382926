import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { integerIn, strictObject } from '../../validation.ts';
import { activate, activationGradient } from './activation.ts';
import { defineLayer, expectImage, MAX_STRIDES, MAX_WINDOW, slidingOutput } from './layer.ts';
import { graphPadding, paddingOf, paddingSchema } from './padding.ts';

export const maxPool2d = defineLayer({
  schema: strictObject({
    type: z.literal('maxPool2d'),
    poolSize: integerIn(1, MAX_WINDOW),
    /** Default: poolSize, as in Keras. */
    strides: integerIn(1, MAX_STRIDES).optional(),
    /** Default 'valid'. */
    padding: paddingSchema,
  }),

  plan(layer, input) {
    const [height, width, channels] = expectImage(input, layer.type);
    const strides = layer.strides ?? layer.poolSize;
    const padding = paddingOf(layer.padding);
    return {
      outputShape: [
        slidingOutput(height, layer.poolSize, strides, padding, 'poolSize'),
        slidingOutput(width, layer.poolSize, strides, padding, 'poolSize'),
        channels,
      ],
      parameters: 0,
    };
  },

  toTfjs: (layer, { inputShape }) =>
    tf.layers.maxPooling2d({
      ...(inputShape && { inputShape }),
      poolSize: layer.poolSize,
      strides: layer.strides ?? layer.poolSize,
      padding: paddingOf(layer.padding),
    }),

  floats: (_layer, _input, output) => ({ training: 2 * output[0] * output[1] * output[2], output: output[0] * output[1] * output[2] }),

  describe: (layer) => `maxPool2d, ${layer.poolSize}x${layer.poolSize}`,

  graph: {
    // A relu convolution right before pools first and applies its activation to the smaller
    // result: the same values (max and relu commute exactly) for a smaller activation gradient.
    takesMaxCommutingActivation: true,

    train(layer, { g, x, activation }) {
      const strides = layer.strides ?? layer.poolSize;
      const padding = graphPadding(layer.padding);
      const pooled = g.maxPool(x, layer.poolSize, strides, padding);
      const y = activate(g, activation, pooled);
      return {
        y,
        backward(dy, needInputGradient) {
          if (!needInputGradient) return {};
          const dPooled = activationGradient(g, activation, dy, pooled, y);
          return { dx: g.maxPoolGrad(x, pooled, dPooled, layer.poolSize, strides, padding) };
        },
      };
    },

    infer: (layer, { g, x, activation }) =>
      activate(g, activation, g.maxPool(x, layer.poolSize, layer.strides ?? layer.poolSize, graphPadding(layer.padding))),
  },
});
