import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from '../data/classes.ts';
import { FieldError } from './field-error.ts';
import type { LayerSpec, ModelSpec, Padding } from './spec.ts';

/** Shape of one example (no batch axis): [height, width, channels] or [features]. */
export type ExampleShape = number[];

export const INPUT_SHAPE: ExampleShape = [IMAGE_HEIGHT, IMAGE_WIDTH, 1];

/**
 * Bounds memory before any allocation: weights, their gradients and Adam's two moments make
 * four float32 copies, so this cap is about 800 MB of training state.
 */
export const MAX_PARAMETERS = 50_000_000;

export interface LayerPlan {
  outputShape: ExampleShape;
  parameters: number;
}

/**
 * Walks the layer stack as the model would, so a config that cannot be built (a kernel larger
 * than its input, a dense layer on an unflattened image, a wrong output layer) is rejected
 * with the offending field's path before any training starts.
 * @param path prefix for error paths, e.g. `model.layers`
 */
export function planLayers(spec: ModelSpec, path = 'model.layers'): LayerPlan[] {
  if (spec.layers.length === 0) throw new FieldError(path, 'needs at least one layer');
  let shape = INPUT_SHAPE;
  let total = 0;
  const plans = spec.layers.map((layer, index) => {
    const plan = planLayer(layer, shape, `${path}[${index}]`);
    total += plan.parameters;
    shape = plan.outputShape;
    return plan;
  });
  checkOutputLayer(spec.layers[spec.layers.length - 1], `${path}[${spec.layers.length - 1}]`);
  if (total > MAX_PARAMETERS) {
    throw new FieldError(path, `has ${total} parameters, more than the ${MAX_PARAMETERS} allowed`);
  }
  return plans;
}

function planLayer(layer: LayerSpec, input: ExampleShape, path: string): LayerPlan {
  switch (layer.type) {
    case 'conv2d': {
      const [height, width, channels] = expectImage(input, layer.type, path);
      const strides = layer.strides ?? 1;
      return {
        outputShape: [
          slidingOutput(height, layer.kernelSize, strides, layer.padding, `${path}.kernelSize`),
          slidingOutput(width, layer.kernelSize, strides, layer.padding, `${path}.kernelSize`),
          layer.filters,
        ],
        parameters: layer.kernelSize * layer.kernelSize * channels * layer.filters + layer.filters,
      };
    }
    case 'maxPool2d': {
      const [height, width, channels] = expectImage(input, layer.type, path);
      const strides = layer.strides ?? layer.poolSize;
      return {
        outputShape: [
          slidingOutput(height, layer.poolSize, strides, layer.padding, `${path}.poolSize`),
          slidingOutput(width, layer.poolSize, strides, layer.padding, `${path}.poolSize`),
          channels,
        ],
        parameters: 0,
      };
    }
    case 'flatten':
      return { outputShape: [input.reduce((a, b) => a * b, 1)], parameters: 0 };
    case 'dense':
      if (input.length !== 1) {
        throw new FieldError(
          `${path}.type`,
          `dense needs a flat input but gets shape [${input.join(', ')}]; add { "type": "flatten" } before it`,
        );
      }
      return { outputShape: [layer.units], parameters: input[0] * layer.units + layer.units };
    case 'dropout':
      return { outputShape: input, parameters: 0 };
    case 'batchNormalization':
      // gamma, beta, moving mean and moving variance per channel (last axis)
      return { outputShape: input, parameters: 4 * input[input.length - 1] };
  }
}

function expectImage(input: ExampleShape, type: string, path: string): [number, number, number] {
  if (input.length !== 3) {
    throw new FieldError(`${path}.type`, `${type} needs an image input but gets flat shape [${input.join(', ')}]`);
  }
  return input as [number, number, number];
}

/** Output length along one axis, as Keras and tfjs compute it. */
function slidingOutput(size: number, window: number, strides: number, padding: Padding | undefined, path: string): number {
  if ((padding ?? 'valid') === 'same') return Math.ceil(size / strides);
  if (window > size) {
    throw new FieldError(path, `window ${window} is larger than its ${size}-pixel input; use padding "same" or a smaller window`);
  }
  return Math.floor((size - window) / strides) + 1;
}

function checkOutputLayer(last: LayerSpec, path: string): void {
  if (last.type !== 'dense' || last.units !== NUM_CLASSES || last.activation !== 'softmax') {
    throw new FieldError(
      path,
      `the last layer must be { "type": "dense", "units": ${NUM_CLASSES}, "activation": "softmax" } ` +
        '(one probability per class, as categorical cross-entropy expects)',
    );
  }
}
