import { CheckpointMismatchError } from '../../errors.ts';
import type { TrainingStep } from '../backend.ts';
import type { TrainConfig } from '../config.ts';
import type { EarlyStoppingState } from '../early-stopping.ts';
import type { EpochLog } from '../history.ts';

/** Whose training a checkpoint is: a checkpoint is only ever resumed by the same run on the same data. */
export interface CheckpointIdentity {
  runId: string;
  datasetId: string;
}

/** Where training stands: `epoch` (1-based) and `batch` (0-based) of the NEXT batch to run; {epochs+1, 0} when training is complete. */
export interface TrainingPosition {
  epoch: number;
  batch: number;
  epochs: number;
  batches: number;
}

/** One model weight, as float32 values in row-major order. */
export interface CheckpointWeight {
  name: string;
  shape: number[];
  /** Updated by the optimiser (Adam keeps moments for it); batch normalisation's moving statistics are not. */
  trainable: boolean;
  values: Float32Array;
}

/** Adam as tfjs' AdamOptimizer keeps it: moments per trainable weight (in order), running powers of beta, steps taken. */
export interface CheckpointOptimizer {
  /** Optimiser steps taken so far. */
  iterations: number;
  /** beta1^(t+1) and beta2^(t+1) as running float32 products (what Adam divides by), exactly: not recomputable from `iterations` bit for bit. */
  beta1Power: number;
  beta2Power: number;
  moments1: Float32Array[];
  moments2: Float32Array[];
}

/**
 * Everything training needs to continue exactly where it stood: resuming from it gives the
 * same weights, bit for bit, as never stopping (same backend and training step).
 */
export interface TrainingCheckpoint {
  readonly identity: CheckpointIdentity;
  readonly config: TrainConfig;
  readonly position: TrainingPosition;
  /** Completed epochs. */
  readonly history: EpochLog[];
  /** Examples in the data trained on, validation included. */
  readonly examples: number;
  /** How the steps ran. Resuming with the other step continues correctly, but not bit for bit. */
  readonly trainingStep: TrainingStep;
  /** Every model weight, trainable or not, in model.weights order. */
  readonly weights: CheckpointWeight[];
  readonly optimizer: CheckpointOptimizer;
  /**
   * The example order as it stands: the current epoch's when `position.batch` > 0; before
   * `position.batch` 0 it is still the previous epoch's (the identity before epoch 1), and the
   * next epoch shuffles it, in place, as every epoch does.
   */
  readonly order: Uint32Array;
  /** State of the shuffle's generator (lib/model/shuffle.ts). */
  readonly shuffleState: number;
  /** Training calls made by each dropout layer, in layer order (their masks are drawn from seed + calls). */
  readonly dropoutCalls: number[];
  /** The current epoch's running sums so far (float32 values on the eager step, float64 on the graph step). */
  readonly epochTotals: { lossSum: number; correct: number; examples: number };
  /** What the remaining work may cost, for a caller deciding whether it fits (pauseWhen). */
  readonly timings: { msPerBatch: number; msLastValidation: number };
  /** Early stopping's state after the last completed epoch; present exactly when config.earlyStopping is. */
  readonly earlyStopping?: EarlyStoppingState<CheckpointWeight[]>;
}

/**
 * Nothing is left to train from this checkpoint: it was taken after the last epoch, or after the
 * epoch early stopping ended training at. Resuming from it only rebuilds the final model.
 */
export function trainingFinished(checkpoint: Pick<TrainingCheckpoint, 'position' | 'earlyStopping'>): boolean {
  return checkpoint.position.epoch > checkpoint.position.epochs || (checkpoint.earlyStopping?.stoppedEpoch ?? 0) > 0;
}

/** Training settings a checkpoint must share with the run resuming it (the backend may differ). */
const COMPARED_CONFIG_FIELDS = ['epochs', 'batchSize', 'validationSplit', 'learningRate', 'learningRateSchedule', 'augmentation', 'precision', 'seed', 'earlyStopping'] as const;

/** Differences between a checkpoint's identity and config and the expected ones, as [field, in checkpoint, expected]. */
export function checkpointDifferences(
  checkpoint: { identity: CheckpointIdentity; config: TrainConfig },
  expected: { identity?: CheckpointIdentity; config: TrainConfig },
): [string, string, string][] {
  const differences: [string, string, string][] = [];
  const compare = (field: string, actual: unknown, wanted: unknown) => {
    const [a, b] = [JSON.stringify(actual), JSON.stringify(wanted)];
    if (a !== b) differences.push([field, a, b]);
  };
  if (expected.identity !== undefined) {
    compare('runId', checkpoint.identity.runId, expected.identity.runId);
    compare('datasetId', checkpoint.identity.datasetId, expected.identity.datasetId);
  }
  for (const field of COMPARED_CONFIG_FIELDS) compare(field, checkpoint.config[field], expected.config[field]);
  compare('model.layers', checkpoint.config.model.layers, expected.config.model.layers);
  return differences;
}

/** Throws CheckpointMismatchError naming every differing field with both values. */
export function assertCheckpointMatches(
  checkpoint: { identity: CheckpointIdentity; config: TrainConfig },
  expected: { identity?: CheckpointIdentity; config: TrainConfig },
  name?: string,
): void {
  const differences = checkpointDifferences(checkpoint, expected);
  if (differences.length === 0) return;
  const which = name === undefined ? 'the checkpoint' : `checkpoint ${name}`;
  throw new CheckpointMismatchError(
    `${which} belongs to another run or training config, refusing to resume from it: ` +
      differences.map(([field, actual, wanted]) => `${field} is ${abbreviate(actual)} in the checkpoint, ${abbreviate(wanted)} here`).join('; '),
    differences.map(([field]) => field),
  );
}

function abbreviate(json: string): string {
  return json.length <= 300 ? json : `${json.slice(0, 297)}...`;
}
