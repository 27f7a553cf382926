import { writeJson } from '../json-file.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSplit, readManifest } from '../data/dataset.ts';
import type { TrainConfig } from '../model/config.ts';
import {
  DEFAULT_CHECKPOINT_EVERY_MS,
  loadLatestCheckpoint,
  saveCheckpoint,
  type CheckpointStore,
  type TrainingCheckpoint,
  type TrainingPosition,
} from '../model/checkpoint/index.ts';
import { saveModel } from '../model/io.ts';
import { trainModel, type PauseProgress, type TrainHooks } from '../model/train.ts';
import type { BackendInfo } from '../model/backend.ts';
import type { EpochLog } from '../model/history.ts';
import type { EarlyStoppingRecord } from '../model/early-stopping.ts';
import type { ModelSummary } from '../model/summary.ts';
import { type ComputeSize, estimateCost, type TrainingCost } from './cost.ts';
import { MODEL_FILES } from './files.ts';
import { checkTrainingMemory } from './train-memory.ts';
import { budgetReachedAt, budgetSpentBy, checkEpochBudget, epochsDoneAt, pauseAtEpochBudget } from './epoch-budget.ts';

export interface TrainStepInput {
  datasetDir: string;
  modelDir: string;
  config: TrainConfig;
  runId: string;
  hooks?: TrainHooks;
  /** The memory training may use, MiB (a Lambda function's); checked before the data is loaded. */
  memoryMiB?: number;
  /**
   * The configured size of the Lambda function or Fargate task this runs in: the record's cost is
   * estimated from it and the training seconds. None (a laptop): no cost recorded.
   */
  computeSize?: ComputeSize;
  /**
   * Where this run's checkpoints live. With one, training resumes from the newest good
   * checkpoint of this run (refusing one of another run or config: CheckpointMismatchError) and
   * checkpoints at every epoch end and every `checkpointEveryMs` within an epoch. Without one,
   * training runs from scratch and keeps nothing (the CLI's `fmnist train` as before).
   */
  checkpoints?: CheckpointStore;
  /** Default DEFAULT_CHECKPOINT_EVERY_MS (lib/model/checkpoint). */
  checkpointEveryMs?: number;
  /**
   * Asked before each slice of work (a batch; the epoch end's validation and checkpoint): true
   * checkpoints and stops with status 'paused'. Needs `checkpoints`.
   */
  pauseWhen?(progress: PauseProgress): boolean;
  /**
   * Train until this many epochs are done in total (earlier calls of the run included), then
   * checkpoint and stop with status 'budget' (lib/workflow/epoch-budget.ts); a checkpoint already
   * at or past it answers 'budget' without training. Training that ends first (config.epochs,
   * early stopping) completes as without a budget. Needs `checkpoints`.
   */
  epochBudget?: number;
  /** Where a rejected (corrupt, incomplete) checkpoint is reported; default console.warn. */
  warn?(message: string, details: Record<string, unknown>): void;
}

/** What a training run records next to its model, so every model says how it was made. */
export interface TrainingRecord {
  runId: string;
  datasetId: string;
  createdAt: string;
  backend: BackendInfo;
  config: TrainConfig;
  trainExamples: number;
  validationExamples: number;
  seconds: number;
  imagesPerSecond: number;
  /** The last epoch trained (with early stopping, the epoch it stopped after, not necessarily config.epochs). */
  finalEpoch: EpochLog;
  /** Layers, output shapes and parameter counts, as Keras' model.summary() prints them. */
  summary: ModelSummary;
  /** With config.earlyStopping: when and why training stopped, the best epoch, whose weights the model holds. */
  earlyStopping?: EarlyStoppingRecord;
  /** Estimated from `seconds` and the configured size (lib/workflow/cost.ts); absent off AWS. */
  cost?: TrainingCost;
}

export type TrainStepOutcome =
  | { status: 'complete'; record: TrainingRecord; resumedFrom?: TrainingPosition }
  | { status: 'paused'; position: TrainingPosition; resumedFrom?: TrainingPosition; seconds: number; datasetId: string }
  | {
      status: 'budget';
      /** Epochs done, earlier calls included: the budget, or more when the checkpoint was already past it. */
      epochs: number;
      /** The last epoch trained (history), with its validation figures when there was a validation split. */
      lastEpoch: EpochLog;
      resumedFrom?: TrainingPosition;
      /** Seconds this call trained (0: the checkpoint was already at the budget). */
      seconds: number;
      datasetId: string;
    };

/** Trains to the end; the model, its history and training record go to modelDir (model.json last). */
export async function runTrainStep(input: Omit<TrainStepInput, 'pauseWhen' | 'epochBudget'>): Promise<TrainingRecord> {
  const outcome = await runResumableTrainStep(input);
  if (outcome.status !== 'complete') throw new Error(`training of ${input.runId} stopped early (${outcome.status}) without being asked to`);
  return outcome.record;
}

/**
 * runTrainStep that may stop early (pauseWhen, epochBudget) with its state checkpointed, and resumes
 * from the run's newest checkpoint. A resumed run ends with the same weights as an uninterrupted one
 * (lib/model/checkpoint restores weights, optimizer, RNG and position exactly).
 */
export async function runResumableTrainStep(input: TrainStepInput): Promise<TrainStepOutcome> {
  if (input.pauseWhen && !input.checkpoints) throw new Error('pauseWhen needs a checkpoint store: a paused run must be resumable');
  const budget = input.epochBudget;
  if (budget !== undefined) {
    checkEpochBudget(budget);
    if (!input.checkpoints) throw new Error('epochBudget needs a checkpoint store: a run stopped at its budget must be resumable');
  }
  const manifest = await readManifest(input.datasetDir);
  const identity = { runId: input.runId, datasetId: manifest.datasetId };
  checkTrainingMemory(input.config, manifest.splits.train.examples, input.memoryMiB, `training ${manifest.datasetId}`);

  const store = input.checkpoints;
  let resumeFrom: TrainingCheckpoint | undefined;
  if (store) {
    const latest = await loadLatestCheckpoint(store, { identity, config: input.config });
    const warn = input.warn ?? ((message, details) => console.warn(message, JSON.stringify(details)));
    for (const rejected of latest.rejected) warn('checkpoint rejected', { runId: input.runId, checkpoint: rejected.name, reason: rejected.reason });
    resumeFrom = latest.checkpoint;
  }
  if (budget !== undefined && resumeFrom !== undefined && budgetSpentBy(resumeFrom, budget)) {
    const { history, position } = resumeFrom;
    return { status: 'budget', epochs: history.length, lastEpoch: history[history.length - 1], resumedFrom: position, seconds: 0, datasetId: manifest.datasetId };
  }
  const train = await loadSplit(input.datasetDir, 'train', manifest);
  const checkpointHooks: TrainHooks = store
    ? {
        resumeFrom,
        checkpointing: {
          identity,
          everyMs: input.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS,
          save: async (checkpoint) => {
            await saveCheckpoint(store, checkpoint);
          },
        },
        pauseWhen: budget === undefined ? input.pauseWhen : pauseAtEpochBudget(budget, input.pauseWhen),
      }
    : {};
  const result = await trainModel(train, input.config, { ...input.hooks, ...checkpointHooks });
  const resumedFrom = resumeFrom?.position;
  try {
    if (result.status === 'paused' && budget !== undefined && budgetReachedAt(result.position, budget)) {
      const lastEpoch = result.history[result.history.length - 1];
      return { status: 'budget', epochs: epochsDoneAt(result.position), lastEpoch, resumedFrom, seconds: result.seconds, datasetId: manifest.datasetId };
    }
    if (result.status === 'paused') return { status: 'paused', position: result.position, resumedFrom, seconds: result.seconds, datasetId: manifest.datasetId };
    const record: TrainingRecord = {
      runId: input.runId,
      datasetId: manifest.datasetId,
      createdAt: new Date().toISOString(),
      backend: result.backend,
      config: input.config,
      trainExamples: result.trainExamples,
      validationExamples: result.validationExamples,
      seconds: result.seconds,
      imagesPerSecond: result.imagesPerSecond,
      finalEpoch: result.history[result.history.length - 1],
      summary: result.summary,
      ...(result.earlyStopping ? { earlyStopping: result.earlyStopping } : {}),
      ...(input.computeSize ? { cost: estimateCost(input.computeSize, result.seconds) } : {}),
    };
    await mkdir(input.modelDir, { recursive: true });
    await writeJson(join(input.modelDir, MODEL_FILES.history), result.history);
    await writeJson(join(input.modelDir, MODEL_FILES.training), record);
    // model.json last: its presence means the directory is complete.
    await saveModel(result.model, input.modelDir, { training: record });
    return { status: 'complete', record, resumedFrom };
  } finally {
    result.model.dispose();
  }
}
