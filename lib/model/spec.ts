/**
 * The model as data: a stack of layers that a config file can describe and `buildModel` turns
 * into a tfjs model. Field names follow Keras where Keras has one.
 */

export const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'softmax'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const PADDINGS = ['valid', 'same'] as const;
export type Padding = (typeof PADDINGS)[number];

export interface Conv2dSpec {
  type: 'conv2d';
  filters: number;
  kernelSize: number;
  activation: Activation;
  /** Default 1. */
  strides?: number;
  /** Default 'valid', as in Keras. */
  padding?: Padding;
}

export interface MaxPool2dSpec {
  type: 'maxPool2d';
  poolSize: number;
  /** Default: poolSize, as in Keras. */
  strides?: number;
  /** Default 'valid'. */
  padding?: Padding;
}

export interface FlattenSpec {
  type: 'flatten';
}

export interface DenseSpec {
  type: 'dense';
  units: number;
  activation: Activation;
}

export interface DropoutSpec {
  type: 'dropout';
  rate: number;
}

export interface BatchNormalizationSpec {
  type: 'batchNormalization';
  /** Default 0.99, as in Keras. */
  momentum?: number;
  /** Default 0.001, as in Keras. */
  epsilon?: number;
}

export type LayerSpec = Conv2dSpec | MaxPool2dSpec | FlattenSpec | DenseSpec | DropoutSpec | BatchNormalizationSpec;
export type LayerType = LayerSpec['type'];

export interface ModelSpec {
  layers: LayerSpec[];
}

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

/** Shared defaults must not be mutated by whoever merges a config over them. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
