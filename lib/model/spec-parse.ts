import { FieldError } from './field-error.ts';
import { readArray, readChoice, readInteger, readNumber, readObject, readPositive } from './fields.ts';
import { ACTIVATIONS, PADDINGS, type LayerSpec, type LayerType, type ModelSpec } from './spec.ts';
import { planLayers } from './spec-shapes.ts';

const LAYER_TYPES: readonly LayerType[] = ['conv2d', 'maxPool2d', 'flatten', 'dense', 'dropout', 'batchNormalization'];

/** Generous bounds: they only exist to turn typos (an extra zero or three) into clear errors. */
const MAX_FILTERS = 1024;
const MAX_UNITS = 65536;
const MAX_WINDOW = 28;
const MAX_STRIDES = 28;
const MAX_LAYERS = 100;

/** Validates an untrusted model description, including that the layer stack can be built. */
export function parseModelSpec(value: unknown, path: string): ModelSpec {
  const object = readObject(value, path, ['layers']);
  const layersPath = `${path}.layers`;
  const raw = readArray(object.layers, layersPath);
  if (raw.length > MAX_LAYERS) throw new FieldError(layersPath, `has ${raw.length} layers, more than the ${MAX_LAYERS} allowed`);
  const spec: ModelSpec = { layers: raw.map((layer, index) => parseLayer(layer, `${layersPath}[${index}]`)) };
  planLayers(spec, layersPath);
  return spec;
}

function parseLayer(value: unknown, path: string): LayerSpec {
  const type = readChoice(readObject(value, path, ['type', ...allKeys()]).type, `${path}.type`, LAYER_TYPES);
  switch (type) {
    case 'conv2d': {
      const o = readObject(value, path, ['type', 'filters', 'kernelSize', 'activation', 'strides', 'padding']);
      return withOptional(
        {
          type,
          filters: readInteger(o.filters, `${path}.filters`, 1, MAX_FILTERS),
          kernelSize: readInteger(o.kernelSize, `${path}.kernelSize`, 1, MAX_WINDOW),
          activation: readChoice(o.activation, `${path}.activation`, ACTIVATIONS),
        },
        {
          strides: o.strides === undefined ? undefined : readInteger(o.strides, `${path}.strides`, 1, MAX_STRIDES),
          padding: o.padding === undefined ? undefined : readChoice(o.padding, `${path}.padding`, PADDINGS),
        },
      );
    }
    case 'maxPool2d': {
      const o = readObject(value, path, ['type', 'poolSize', 'strides', 'padding']);
      return withOptional(
        { type, poolSize: readInteger(o.poolSize, `${path}.poolSize`, 1, MAX_WINDOW) },
        {
          strides: o.strides === undefined ? undefined : readInteger(o.strides, `${path}.strides`, 1, MAX_STRIDES),
          padding: o.padding === undefined ? undefined : readChoice(o.padding, `${path}.padding`, PADDINGS),
        },
      );
    }
    case 'flatten':
      readObject(value, path, ['type']);
      return { type };
    case 'dense': {
      const o = readObject(value, path, ['type', 'units', 'activation']);
      return {
        type,
        units: readInteger(o.units, `${path}.units`, 1, MAX_UNITS),
        activation: readChoice(o.activation, `${path}.activation`, ACTIVATIONS),
      };
    }
    case 'dropout': {
      const o = readObject(value, path, ['type', 'rate']);
      return { type, rate: readNumber(o.rate, `${path}.rate`, 0, 1, true) };
    }
    case 'batchNormalization': {
      const o = readObject(value, path, ['type', 'momentum', 'epsilon']);
      return withOptional(
        { type },
        {
          momentum: o.momentum === undefined ? undefined : readNumber(o.momentum, `${path}.momentum`, 0, 1),
          epsilon: o.epsilon === undefined ? undefined : readPositive(o.epsilon, `${path}.epsilon`, 1),
        },
      );
    }
  }
}

/** Keys of every layer type: the first pass only needs `type`, so it must not reject the others. */
function allKeys(): string[] {
  return ['filters', 'kernelSize', 'activation', 'strides', 'padding', 'poolSize', 'units', 'rate', 'momentum', 'epsilon'];
}

/** Leaves absent optional fields out, so a parsed spec round-trips to the JSON it came from. */
function withOptional<T extends object, O extends object>(required: T, optional: O): T & Partial<O> {
  const result: Record<string, unknown> = { ...(required as Record<string, unknown>) };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) result[key] = value;
  return result as T & Partial<O>;
}
