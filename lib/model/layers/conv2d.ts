import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { integerIn, strictObject } from '../../validation.ts';
import type { GraphBuilder, Padding as GraphPadding, Ref } from '../graph/graph.ts';
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
    // The graph step computes the first convolution's kernel gradient from a matrix of its
    // input windows: kernel x kernel x channels floats per output position.
    const windows = input[2] === 1 ? layer.kernelSize * layer.kernelSize * output[0] * output[1] : 0;
    return { training: activated * out + windows + out, output: out };
  },

  describe: (layer) => `conv2d, ${layer.filters} filters, ${layer.kernelSize}x${layer.kernelSize}, ${paddingOf(layer.padding)}`,

  graph: {
    weights: (layer, input) => [[layer.kernelSize, layer.kernelSize, input[2], layer.filters], [layer.filters]],
    activation: (layer) => layer.activation,

    train(layer, { g, x, input, output, weights: [kernel, bias], activation, windowsMaxChannels }) {
      const strides = layer.strides ?? 1;
      const padding = graphPadding(layer.padding);
      const windows = input[2] <= windowsMaxChannels ? windowMatrix(g, x, input, output, layer.kernelSize, strides, padding) : undefined;
      const z = g.biasAdd(g.conv2d(x, kernel, strides, padding), bias);
      const y = activate(g, activation, z);
      const kernelShape = [layer.kernelSize, layer.kernelSize, input[2], layer.filters];
      return {
        y,
        backward(dy, needInputGradient) {
          const dz = activationGradient(g, activation, dy, z, y);
          const dBias = g.biasAddGrad(dz);
          const dKernel =
            windows !== undefined
              ? g.reshape(g.matMul(windows, g.reshape(dz, g.ints([-1, layer.filters]))), g.ints(kernelShape))
              : g.conv2dBackpropFilter(x, kernelShape, dz, strides, padding);
          const dx = needInputGradient ? g.conv2dBackpropInput(g.shape(x), kernel, dz, strides, padding) : undefined;
          return { gradients: [dKernel, dBias], dx };
        },
      };
    },

    infer: (layer, { g, x, weights: [kernel, bias], activation }) =>
      activate(g, activation, g.biasAdd(g.conv2d(x, kernel, layer.strides ?? 1, graphPadding(layer.padding)), bias)),
  },
});

/**
 * A convolution's input windows as a [k*k*channels, positions] matrix (rows in the kernel's
 * (row, column, channel) order; positions in (example, row, column) order), built from k*k
 * strided slices: then the kernel gradient is one matrix product, far cheaper than
 * Conv2DBackpropFilter (or ExtractImagePatches) when there are few input channels.
 */
function windowMatrix(g: GraphBuilder, x: Ref, input: ExampleShape, output: ExampleShape, size: number, strides: number, mode: GraphPadding): Ref {
  const [height, width, channels] = input;
  const [outHeight, outWidth] = output;
  let source = x;
  if (mode === 'SAME') {
    const pads = [[height, outHeight], [width, outWidth]].map(([inSize, outSize]) => {
      const total = Math.max((outSize - 1) * strides + size - inSize, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)] as const;
    });
    source = g.pad(x, [[0, 0], pads[0], pads[1], [0, 0]]);
  }
  const slices: Ref[] = [];
  for (let row = 0; row < size; row++) {
    for (let column = 0; column < size; column++) {
      slices.push(g.sliceWindow(source, row, row + (outHeight - 1) * strides + 1, column, column + (outWidth - 1) * strides + 1, strides));
    }
  }
  const stacked = g.pack(slices);
  if (channels === 1) return g.reshape(stacked, g.ints([size * size, -1]));
  return g.reshape(g.transpose(g.reshape(stacked, g.ints([size * size, -1, channels])), [0, 2, 1]), g.ints([size * size * channels, -1]));
}
