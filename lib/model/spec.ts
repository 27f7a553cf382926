import { z } from 'zod';
import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from '../data/classes.ts';
import { arrayOf, strictObject } from '../validation.ts';
import { kindOf, LayerSpec, type ExampleShape, type LayerPlan } from './layers/index.ts';
import { ShapeError } from './layers/layer.ts';

/**
 * The model as data: a stack of layers that a config file can describe and `buildModel` turns
 * into a tfjs model. Field names follow Keras where Keras has one; each layer type's fields,
 * shapes and graph part live in lib/model/layers.
 */

export { LayerSpec, ACTIVATIONS, PADDINGS, type Activation, type ExampleShape, type LayerPlan, type LayerType, type Padding } from './layers/index.ts';

export const INPUT_SHAPE: ExampleShape = [IMAGE_HEIGHT, IMAGE_WIDTH, 1];

/**
 * Bounds memory before any allocation: weights, their gradients and Adam's two moments make
 * four float32 copies, so this cap is about 800 MB of training state.
 */
export const MAX_PARAMETERS = 50_000_000;

const MAX_LAYERS = 100;

/**
 * A layer stack that can be built: each layer's fields in range, and (superRefine) the stack
 * walked as the model would, so a config that cannot be built (a kernel larger than its input,
 * a dense layer on an unflattened image, a wrong output layer) is rejected with the offending
 * field's path before any training starts.
 */
export const ModelSpec = strictObject({
  layers: arrayOf(LayerSpec)
    .min(1, { error: 'needs at least one layer' })
    .max(MAX_LAYERS, { error: (issue) => `has ${(issue.input as unknown[]).length} layers, more than the ${MAX_LAYERS} allowed` }),
}).superRefine(
  (spec, context) => {
    const problem = planProblem(spec);
    if (problem !== undefined) context.addIssue({ code: 'custom', path: ['layers', ...problem.path], message: problem.message });
  },
  // Only a stack whose every field is valid can be planned.
  { when: (payload) => payload.issues.length === 0 },
);
export type ModelSpec = z.output<typeof ModelSpec>;

/** The walkthrough's Keras `Sequential` CNN, layer for layer. */
export const WALKTHROUGH_CNN: ModelSpec = deepFreeze({
  layers: [
    { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'conv2d', filters: 64, kernelSize: 3, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dropout', rate: 0.5 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
});

/**
 * Each layer's output shape and parameter count, for a spec already validated (ModelSpec): a
 * parsed spec is trusted within the process.
 */
export function planLayers(spec: ModelSpec): LayerPlan[] {
  let shape = INPUT_SHAPE;
  return spec.layers.map((layer) => {
    const plan = kindOf(layer).plan(layer, shape);
    shape = plan.outputShape;
    return plan;
  });
}

/** The first reason the stack cannot be built, with its path below `layers`. */
function planProblem(spec: ModelSpec): { path: (string | number)[]; message: string } | undefined {
  let shape = INPUT_SHAPE;
  let total = 0;
  for (const [index, layer] of spec.layers.entries()) {
    try {
      const plan = kindOf(layer).plan(layer, shape);
      total += plan.parameters;
      shape = plan.outputShape;
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      return { path: error.field === undefined ? [index] : [index, error.field], message: error.message };
    }
  }
  const last = spec.layers[spec.layers.length - 1];
  if (last.type !== 'dense' || last.units !== NUM_CLASSES || last.activation !== 'softmax') {
    return {
      path: [spec.layers.length - 1],
      message:
        `the last layer must be { "type": "dense", "units": ${NUM_CLASSES}, "activation": "softmax" } ` +
        '(one probability per class, as categorical cross-entropy expects)',
    };
  }
  if (total > MAX_PARAMETERS) return { path: [], message: `has ${total} parameters, more than the ${MAX_PARAMETERS} allowed` };
  return undefined;
}

/** Shared defaults must not be mutated by whoever merges a config over them. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
