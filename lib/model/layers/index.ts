import { z } from 'zod';
import { describe } from '../../validation.ts';
import { batchNormalization } from './batch-normalization.ts';
import { conv2d } from './conv2d.ts';
import { dense } from './dense.ts';
import { dropout } from './dropout.ts';
import { flatten } from './flatten.ts';
import type { LayerKind } from './layer.ts';
import { maxPool2d } from './max-pool2d.ts';

/**
 * The layer types a model spec may use, one line each. Everything about a type lives in its
 * module (see LayerKind); adding a type is a new module and a line here.
 */
export const LAYER_KINDS = [conv2d, maxPool2d, flatten, dense, dropout, batchNormalization] as const;

type Schemas<Kinds extends readonly { schema: unknown }[]> = { -readonly [K in keyof Kinds]: Kinds[K]['schema'] };

const TYPES = LAYER_KINDS.map((kind) => kind.schema.shape.type.value);

/** One layer of a model spec: the union of every type's schema, told apart by `type`. */
export const LayerSpec = z.discriminatedUnion('type', LAYER_KINDS.map((kind) => kind.schema) as Schemas<typeof LAYER_KINDS>, {
  error: (issue) => {
    // A layer that is not an object fails here too (zod types the issue as a union failure only).
    if ((issue.code as string) === 'invalid_type') return `must be an object, got ${describe(issue.input)}`;
    const type = (issue.input as { type?: unknown } | undefined)?.type;
    return `must be one of ${TYPES.map((name) => `"${name}"`).join(', ')}, got ${describe(type)}`;
  },
});
export type LayerSpec = z.output<typeof LayerSpec>;
export type LayerType = LayerSpec['type'];

const BY_TYPE = new Map<string, LayerKind>(LAYER_KINDS.map((kind) => [kind.schema.shape.type.value, kind as unknown as LayerKind]));

/** The module that knows this layer's type. */
export function kindOf(layer: LayerSpec): LayerKind {
  const kind = BY_TYPE.get(layer.type);
  if (kind === undefined) throw new TypeError(`no layer type "${layer.type}"`);
  return kind;
}

export type { ExampleShape, LayerKind, LayerPlan } from './layer.ts';
export { ACTIVATIONS, type Activation } from './activation.ts';
export { PADDINGS, type Padding } from './padding.ts';

/** Whether the graph training step can express this spec: every layer's type has a graph part (else train op by op). */
export function graphSupports(spec: { layers: readonly LayerSpec[] }): boolean {
  return spec.layers.every((layer) => kindOf(layer).graph !== undefined);
}
