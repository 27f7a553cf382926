import type { TrainingStep } from './backend.ts';
import type { CheckpointOptimizer, TrainingCheckpoint } from './checkpoint/checkpoint.ts';
import type { CooperativeLoop } from './cooperative.ts';

/**
 * An epoch loop's view of a training step, whichever way it runs: one TensorFlow graph per step
 * (lib/model/graph/graph-epochs.ts) or tfjs ops (lib/model/eager-step.ts). trainModel picks one.
 */
export interface EpochRunner {
  readonly kind: TrainingStep;
  /** How many pieces each batch runs in side by side (lib/model/graph/chains.ts); 1 op by op. */
  readonly chains: number;
  /** Trains on examples `order[from]`…`order[to - 1]`. */
  step(order: Uint32Array, from: number, to: number, settings: StepSettings): void;
  /** The epoch's running mean loss and accuracy so far. */
  means(): { loss: number; accuracy: number };
  /** The epoch's means; the next step starts a new epoch. */
  endEpoch(): { loss: number; accuracy: number };
  /** Loss and accuracy of the current weights on examples `from`… to the end, passing `loop`'s checkpoint between chunks. */
  validate(from: number, loop: CooperativeLoop): Promise<{ loss: number; accuracy: number }>;
  /** Leaves the trained weights in the model. */
  finish(): void;
  /** Copies of the state a checkpoint needs that lives in the runner, `steps` being the optimiser steps taken so far. */
  capture(steps: number): RunnerState;
  /** Continues from a checkpoint's optimiser state and epoch totals (the model already holds its weights). */
  restore(optimizer: CheckpointOptimizer, totals: EpochTotals): void;
  dispose(): void;
}

export type EpochTotals = TrainingCheckpoint['epochTotals'];

/** What a step takes besides its examples: the schedule's rate and, with augmentation, which examples to mirror. */
export interface StepSettings {
  learningRate: number;
  /** One per example of the batch: 1 mirrors it left to right, 0 leaves it (lib/model/augmentation.ts). */
  flips?: Float32Array;
}

export interface RunnerState {
  /** In model.trainableWeights order. */
  trainableWeights: Float32Array[];
  /** In model.nonTrainableWeights order, where the runner holds them (the graph's moving statistics); else the model's are current. */
  nonTrainableWeights?: Float32Array[];
  optimizer: CheckpointOptimizer;
  totals: EpochTotals;
}
