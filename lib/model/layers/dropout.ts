import { z } from 'zod';
import { numberIn, strictObject } from '../../validation.ts';
import { SeededDropout } from '../seeded-dropout.ts';
import { defineLayer, size } from './layer.ts';

export const dropout = defineLayer({
  schema: strictObject({
    type: z.literal('dropout'),
    rate: numberIn(0, 1, true),
  }),
  plan: (_layer, input) => ({ outputShape: input, parameters: 0 }),
  toTfjs: (layer, { seed, inputShape }) => new SeededDropout({ ...(inputShape && { inputShape }), rate: layer.rate, seed }),
  // Output, the fed mask of multipliers, and the gradient; nothing in inference.
  floats: (_layer, _input, output) => ({ training: 3 * size(output), output: 0 }),
  describe: (layer) => `dropout, rate ${layer.rate}`,
  graph: {
    train(layer, { g, x, input, dropoutMask }) {
      if (!(layer.rate > 0)) return { y: x, backward: (dy, needInputGradient) => (needInputGradient ? { dx: dy } : {}) };
      // tf.dropout: x * floor(u + keepProb) / keepProb; the multipliers are computed where the noise is drawn (GraphTrainer).
      const multiplier = dropoutMask(input);
      return {
        y: g.mul(x, multiplier),
        backward: (dy, needInputGradient) => (needInputGradient ? { dx: g.mul(dy, multiplier) } : {}),
      };
    },
    infer: (_layer, { x }) => x,
  },
});
