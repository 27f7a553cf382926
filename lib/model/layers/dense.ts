import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { integerIn, strictObject } from '../../validation.ts';
import { activate, activationGradient, activationSchema } from './activation.ts';
import { defineLayer, ShapeError } from './layer.ts';

const MAX_UNITS = 65536;

export const dense = defineLayer({
  schema: strictObject({
    type: z.literal('dense'),
    units: integerIn(1, MAX_UNITS),
    activation: activationSchema,
  }),

  plan(layer, input) {
    if (input.length !== 1) {
      throw new ShapeError('type', `dense needs a flat input but gets shape [${input.join(', ')}]; add { "type": "flatten" } before it`);
    }
    return { outputShape: [layer.units], parameters: input[0] * layer.units + layer.units };
  },

  toTfjs: (layer, { seed, inputShape }) =>
    tf.layers.dense({
      ...(inputShape && { inputShape }),
      units: layer.units,
      activation: layer.activation,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: 'zeros',
    }),

  floats: (layer) => ({ training: (layer.activation === 'linear' ? 1 : 2) * layer.units + layer.units, output: layer.units }),

  describe: (layer) => `dense, ${layer.units} units`,

  graph: {
    weights: (layer, input) => [[input[0], layer.units], [layer.units]],
    activation: (layer) => layer.activation,

    train(_layer, { g, x, weights: [kernel, bias], activation }) {
      const z = g.biasAdd(g.matMul(x, kernel), bias);
      const y = activate(g, activation, z);
      return {
        y,
        backward(dy, needInputGradient) {
          const dz = activationGradient(g, activation, dy, z, y);
          const dKernel = g.matMul(x, dz, true, false);
          const dBias = g.biasAddGrad(dz);
          return { gradients: [dKernel, dBias], dx: needInputGradient ? g.matMul(dz, kernel, false, true) : undefined };
        },
      };
    },

    infer: (_layer, { g, x, weights: [kernel, bias], activation }) => activate(g, activation, g.biasAdd(g.matMul(x, kernel), bias)),
  },
});
