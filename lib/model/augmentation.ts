import { z } from 'zod';
import { strictObject } from '../validation.ts';
import { fillUniform } from './uniform-noise.ts';

/**
 * Data augmentation of the training batches (never of validation or test images). Fashion-MNIST's
 * classes are left-right symmetric (a shoe points either way), so a mirrored image is another
 * plausible example of its class: `horizontalFlip` mirrors a random half of each batch.
 */
export const AugmentationConfig = strictObject({
  horizontalFlip: z.boolean(),
});
export type AugmentationConfig = z.output<typeof AugmentationConfig>;

/**
 * Which examples of optimiser step `step` are mirrored: 1 (mirror) or 0, per example, into
 * `out`. A function of the run's seed and the step alone, so a resumed run mirrors what one
 * never interrupted would, and both training steps mirror the same examples.
 */
export function flipFlags(out: Float32Array, seed: number, step: number): Float32Array {
  // Another stream than the dropout layers' (seeded seed + k): the seed is mixed before the step is added.
  fillUniform(out, (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + step) >>> 0);
  for (let i = 0; i < out.length; i++) out[i] = out[i] < 0.5 ? 1 : 0;
  return out;
}
