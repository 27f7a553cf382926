import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { integerIn, strictObject } from '../../validation.ts';
import type { GraphBuilder, Padding as GraphPadding, Ref } from '../graph/graph.ts';
import type { Precision } from '../precision.ts';
import { activate, activationGradient, activationSchema } from './activation.ts';
import { defineLayer, expectImage, MAX_STRIDES, MAX_WINDOW, slidingOutput, type ExampleShape } from './layer.ts';
import { graphPadding, paddingOf, paddingSchema } from './padding.ts';

const MAX_FILTERS = 1024;

export const conv2d = defineLayer({
  schema: strictObject({
    type: z.literal('conv2d'),
    filters: integerIn(1, MAX_FILTERS),
    kernelSize: integerIn(1, MAX_WINDOW),
    activation: activationSchema,
    /** Default 1. */
    strides: integerIn(1, MAX_STRIDES).optional(),
    /** Default 'valid', as in Keras. */
    padding: paddingSchema,
  }),

  plan(layer, input) {
    const [height, width, channels] = expectImage(input, layer.type);
    const strides = layer.strides ?? 1;
    const padding = paddingOf(layer.padding);
    return {
      outputShape: [
        slidingOutput(height, layer.kernelSize, strides, padding, 'kernelSize'),
        slidingOutput(width, layer.kernelSize, strides, padding, 'kernelSize'),
        layer.filters,
      ],
      parameters: layer.kernelSize * layer.kernelSize * channels * layer.filters + layer.filters,
    };
  },

  toTfjs(layer, { seed, inputShape }) {
    return tf.layers.conv2d({
      ...(inputShape && { inputShape }),
      filters: layer.filters,
      kernelSize: layer.kernelSize,
      strides: layer.strides ?? 1,
      padding: paddingOf(layer.padding),
      activation: layer.activation,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: 'zeros',
    });
  },

  floats(layer, input, output) {
    const out = output[0] * output[1] * output[2];
    const activated = layer.activation === 'linear' ? 1 : 2;
    // The graph step computes the first convolution's kernel and bias gradients from a matrix of
    // its input windows: kernel x kernel x channels floats, and a one, per output position.
    const windows = input[2] === 1 ? (layer.kernelSize * layer.kernelSize + 1) * output[0] * output[1] : 0;
    return { training: activated * out + windows + out, output: out };
  },

  describe: (layer) => `conv2d, ${layer.filters} filters, ${layer.kernelSize}x${layer.kernelSize}, ${paddingOf(layer.padding)}`,

  graph: {
    weights: (layer, input) => [[layer.kernelSize, layer.kernelSize, input[2], layer.filters], [layer.filters]],
    activation: (layer) => layer.activation,

    train(layer, { g, x, input, weights: [kernel, bias], activation, windowsMaxChannels, precision }) {
      const strides = layer.strides ?? 1;
      const padding = graphPadding(layer.padding);
      const windows = input[2] <= windowsMaxChannels ? windowMatrix(g, x, input, layer.kernelSize, strides, padding, precision) : undefined;
      const z = g.biasAdd(g.conv2d(x, kernel, strides, padding, precision), bias);
      const y = activate(g, activation, z);
      const kernelShape = [layer.kernelSize, layer.kernelSize, input[2], layer.filters];
      return {
        y,
        backward(dy, needInputGradient) {
          const dz = activationGradient(g, activation, dy, z, y);
          const dx = needInputGradient ? g.conv2dBackpropInput(g.shape(x), kernel, dz, strides, padding, precision) : undefined;
          if (windows === undefined) return { gradients: [g.conv2dBackpropFilter(x, kernelShape, dz, strides, padding, precision), g.biasAddGrad(dz)], dx };
          // [windows | 1]ᵀ · dz: the kernel gradient's rows, then the bias gradient (the sum of dz over positions).
          const both = g.matMul(windows, g.reshape(dz, g.ints([-1, layer.filters])), true);
          const rows = kernelShape[0] * kernelShape[1] * kernelShape[2];
          const dKernel = g.reshape(g.slice(both, [0, 0], [rows, -1]), g.ints(kernelShape));
          const dBias = g.reshape(g.slice(both, [rows, 0], [1, -1]), g.ints([layer.filters]));
          return { gradients: [dKernel, dBias], dx };
        },
      };
    },

    infer: (layer, { g, x, weights: [kernel, bias], activation }) =>
      activate(g, activation, g.biasAdd(g.conv2d(x, kernel, layer.strides ?? 1, graphPadding(layer.padding)), bias)),
  },
});

/**
 * A convolution's input windows as a [positions, k*k*channels + 1] matrix (positions in (example,
 * row, column) order; columns in the kernel's (row, column, channel) order, then a column of
 * ones), so that the kernel and bias gradients are one matrix product, [windows | 1]ᵀ · dz: far
 * cheaper than Conv2DBackpropFilter when there are few input channels, and the bias gradient
 * costs one more row instead of a BiasAddGrad over the full map (0.6 ms a step for the
 * walkthrough's first layer). The windows come from a convolution with an identity kernel
 * (filter j is 1 at window position j, else 0; the last filter is 0 with a bias of 1): in
 * float32 exact, since every output is one input times 1 plus zeros, padded as the layer pads;
 * in bfloat16 the inputs rounded as the layer's own convolution rounds them. 0.8 ms a step for
 * the walkthrough's first layer, where 9 strided slices and their Pack took 1.1 ms
 * (bench/profile-step.ts).
 */
function windowMatrix(g: GraphBuilder, x: Ref, input: ExampleShape, size: number, strides: number, padding: GraphPadding, precision: Precision): Ref {
  const window = size * size * input[2];
  const columns = window + 1;
  const identity = new Float32Array(window * columns);
  for (let j = 0; j < window; j++) identity[j * columns + j] = 1;
  const ones = new Float32Array(columns);
  ones[window] = 1;
  const kernel = g.floats(identity, [size, size, input[2], columns], 'window_kernel');
  return g.reshape(g.biasAdd(g.conv2d(x, kernel, strides, padding, precision), g.floats(ones, [columns], 'window_ones')), g.ints([-1, columns]));
}
