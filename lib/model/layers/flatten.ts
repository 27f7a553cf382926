import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { strictObject } from '../../validation.ts';
import { defineLayer, size } from './layer.ts';

export const flatten = defineLayer({
  schema: strictObject({ type: z.literal('flatten') }),
  plan: (_layer, input) => ({ outputShape: [size(input)], parameters: 0 }),
  toTfjs: (_layer, { inputShape }) => tf.layers.flatten(inputShape && { inputShape }),
  // A reshape: the same buffer as its input.
  floats: () => ({ training: 0, output: 0 }),
  describe: (layer) => layer.type,
  graph: {
    train(_layer, { g, x, output }) {
      return {
        y: g.reshape(x, g.ints([-1, output[0]])),
        backward: (dy, needInputGradient) => (needInputGradient ? { dx: g.reshape(dy, g.shape(x)) } : {}),
      };
    },
    infer: (_layer, { g, x, output }) => g.reshape(x, g.ints([-1, output[0]])),
  },
});
