import { oneOf } from '../../validation.ts';
import type { Padding as GraphPadding } from '../graph/graph.ts';

export const PADDINGS = ['valid', 'same'] as const;
export type Padding = (typeof PADDINGS)[number];

/** Optional, 'valid' when absent (as in Keras). */
export const paddingSchema = oneOf(PADDINGS).optional();

export function paddingOf(value: Padding | undefined): Padding {
  return value ?? 'valid';
}

export function graphPadding(value: Padding | undefined): GraphPadding {
  return paddingOf(value) === 'same' ? 'SAME' : 'VALID';
}
