import * as tf from '@tensorflow/tfjs';
import { fillUniform } from './uniform-noise.ts';

/**
 * Dropout whose masks are reproducible from a seed and differ from step to step (noise from
 * uniform-noise.ts). tfjs' own
 * Dropout layer passes its fixed `seed` to every call, so a seeded tfjs Dropout drops the
 * same units at every step (and an unseeded one is not reproducible). Here call n uses seed
 * `seed + n`. At inference it is the identity, like any dropout.
 *
 * It serialises as a standard "Dropout" layer (same config fields), so saved models load with
 * plain tfjs and behave identically at inference.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'Dropout';
  readonly rate: number;
  readonly seed: number;
  private calls = 0;

  constructor(args: { rate: number; seed: number; name?: string; inputShape?: number[] }) {
    super({ name: args.name, inputShape: args.inputShape });
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs.training !== true || this.rate === 0) return input;
    const seed = this.nextSeed();
    return tf.tidy(() => {
      // tf.dropout's formula, x * floor(u + keep) / keep, with u from fillUniform (the graph step feeds the same multipliers: fillKeepMultipliers).
      const u = tf.tensor(fillUniform(new Float32Array(input.size), seed), input.shape, 'float32');
      const keep = tf.scalar(1 - this.rate, 'float32');
      return tf.mul(input, tf.div(tf.floor(tf.add(u, keep)), keep));
    });
  }

  /**
   * The seed of the next training call's mask, counting the call. The graph training step
   * (lib/model/graph) draws its masks from here too, so both steps drop the same units.
   */
  nextSeed(): number {
    return (this.seed + this.calls++) >>> 0;
  }

  /** Training calls so far: with the seed, all that decides the next masks (a checkpoint keeps it). */
  get callCount(): number {
    return this.calls;
  }

  /** Continues as if `calls` training calls had been made (resuming from a checkpoint). */
  restoreCallCount(calls: number): void {
    if (!Number.isSafeInteger(calls) || calls < 0) throw new RangeError(`a dropout call count must be an integer >= 0, got ${calls}`);
    this.calls = calls;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
