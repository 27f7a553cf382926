import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { GraphBuilder, Ref } from '../graph/graph.ts';
import type { Activation } from './activation.ts';
import type { Precision } from '../precision.ts';

/**
 * What one layer type knows about itself, all in one module (as a tfjs-layers Layer class owns
 * its args, computeOutputShape and call): its config schema, its shape planning, its tfjs
 * construction, its memory footprint, and, where it has one, its part of the graph step.
 * lib/model/layers/index.ts lists the types; nothing else switches on a layer's type.
 */
export interface LayerKind<Schema extends LayerSchema = LayerSchema> {
  /** The layer's config as users write it (Keras field names); a strictObject with a literal `type`. */
  readonly schema: Schema;
  /**
   * Output shape and parameter count for an input of this shape.
   * @throws ShapeError when the layer cannot take this input
   */
  plan(layer: z.output<Schema>, input: ExampleShape): LayerPlan;
  /** The tfjs layer, seeded initialisers (`seed` is this layer's own), `inputShape` on the first layer only. */
  toTfjs(layer: z.output<Schema>, options: { seed: number; inputShape?: number[] }): tf.layers.Layer;
  /** Floats per example the layer keeps while training (graph step) and its output alone (inference); see lib/model/memory.ts. */
  floats(layer: z.output<Schema>, input: ExampleShape, output: ExampleShape): { training: number; output: number };
  /** One line for messages: `conv2d, 32 filters, 3x3, valid`. */
  describe(layer: z.output<Schema>): string;
  /** Its part of the graph training step (lib/model/graph); without one, models using it train op by op. */
  readonly graph?: GraphPart<z.output<Schema>>;
}

export type LayerSchema = z.ZodType<{ type: string }> & { shape: { type: z.ZodLiteral<string> } };

/** Declares a layer type (only checks the shape of the declaration). */
export function defineLayer<Schema extends LayerSchema>(kind: LayerKind<Schema>): LayerKind<Schema> {
  return kind;
}

/** Shape of one example (no batch axis): [height, width, channels] or [features]. */
export type ExampleShape = number[];

export interface LayerPlan {
  outputShape: ExampleShape;
  parameters: number;
}

/** A layer that cannot take its input; `field` is the layer's field to blame (`kernelSize`), if one. */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
  constructor(
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A layer's part of the one-graph training step: its variables, its forward pass in training
 * mode (with its backward pass) and in inference mode.
 */
export interface GraphPart<S> {
  /** Shapes of its trainable weights, in tfjs order (model.trainableWeights). */
  weights?(layer: S, input: ExampleShape): number[][];
  /** Shapes of its non-trainable state (moving statistics), in tfjs order (model.nonTrainableWeights). */
  state?(layer: S, input: ExampleShape): number[][];
  /** The activation it applies (a max pooling right after may take it over: GraphOptions.poolFirst). */
  activation?(layer: S): Activation;
  /** Whether an activation that commutes with max (relu) may move from the layer before to after this one. */
  readonly takesMaxCommutingActivation?: boolean;
  /** Forward pass in training mode; what it returns differentiates it. */
  train(layer: S, context: TrainingContext): TrainingPass;
  /** Forward pass in inference mode. */
  infer(layer: S, context: LayerContext): Ref;
}

export interface LayerContext {
  g: GraphBuilder;
  x: Ref;
  input: ExampleShape;
  output: ExampleShape;
  /** Reads of its trainable weights, in its `weights` order. */
  weights: Ref[];
  /** Reads of its state, in its `state` order. */
  state: Ref[];
  /** The activation to apply here: its own, 'linear' when a pooling took it, or the one it takes. */
  activation: Activation;
  /** Convolutions with at most this many input channels compute their kernel gradient from a window matrix. */
  windowsMaxChannels: number;
  /** What convolutions compute in (lib/model/precision.ts); inference is always float32. */
  precision: Precision;
}

export interface TrainingContext extends LayerContext {
  /** A fed float32 tensor of dropout multipliers shaped [batch, ...shape]: 0 or 1 / keep (uniform-noise.ts fillKeepMultipliers). */
  dropoutMask(shape: ExampleShape): Ref;
  /** New values for its state, in `state` order, assigned with the step. */
  updateState(values: Ref[]): void;
}

export interface TrainingPass {
  y: Ref;
  /**
   * d loss / d weights (in `weights` order) and, when asked, d loss / d input, from d loss / d y.
   * Nodes are created in the order it asks for them.
   */
  backward(dy: Ref, needInputGradient: boolean): { gradients?: Ref[]; dx?: Ref };
}

/** Output length along one axis, as Keras and tfjs compute it. */
export function slidingOutput(size: number, window: number, strides: number, padding: 'valid' | 'same', field: string): number {
  if (padding === 'same') return Math.ceil(size / strides);
  if (window > size) {
    throw new ShapeError(field, `window ${window} is larger than its ${size}-pixel input; use padding "same" or a smaller window`);
  }
  return Math.floor((size - window) / strides) + 1;
}

export function expectImage(input: ExampleShape, type: string): [number, number, number] {
  if (input.length !== 3) throw new ShapeError('type', `${type} needs an image input but gets flat shape [${input.join(', ')}]`);
  return input as [number, number, number];
}

export function size(shape: ExampleShape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Generous bounds: they only exist to turn typos (an extra zero or three) into clear errors. */
export const MAX_WINDOW = 28;
export const MAX_STRIDES = 28;
