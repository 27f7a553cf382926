import type * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from '../data/classes.ts';
import type { LabeledImages } from '../data/dataset.ts';
import { CheckpointMismatchError, ConfigError } from '../errors.ts';
import { parseTrainStep, TRAIN_STEP_ENV_VAR, type TrainStepChoice } from './choices.ts';
import { initBackend, type BackendInfo, type TrainingStep } from './backend.ts';
import { buildModel } from './build.ts';
import type { BackendPreference, TrainConfig } from './config.ts';
import { CooperativeLoop } from './cooperative.ts';
import { EarlyStopping, type EarlyStoppingRecord } from './early-stopping.ts';
import { EagerEpochs } from './eager-step.ts';
import type { EpochRunner } from './epoch-runner.ts';
import type { EpochLog } from './history.ts';
import { graphChains } from './graph/chains.ts';
import { GraphEpochs } from './graph/graph-epochs.ts';
import { GraphTrainer } from './graph/graph-trainer.ts';
import { nativeBinding } from './graph/session.ts';
import { graphSupports } from './layers/index.ts';
import { progressWanted, publishProgress } from './progress-channel.ts';
import { seededRandom, shuffleInPlace, type SeededRandom } from './shuffle.ts';
import { flipFlags } from './augmentation.ts';
import { learningRateAt } from './learning-rate.ts';
import { summarizeModel, type ModelSummary } from './summary.ts';
import {
  assertCheckpointMatches,
  type CheckpointIdentity,
  type CheckpointWeight,
  type TrainingCheckpoint,
  type TrainingPosition,
  trainingFinished,
} from './checkpoint/checkpoint.ts';
import { dropoutLayers, readModelWeights, restoreDropoutCalls, restoreModelWeights } from './checkpoint/model-state.ts';

/** How training runs and what it reports to: none of these change the trained model. */
export interface TrainHooks {
  /**
   * How a step runs (default 'auto': one TensorFlow graph per step on the native backend,
   * lib/model/graph; op by op through tfjs elsewhere). 'graph' fails where the graph cannot run;
   * 'eager' runs op by op anyway (comparisons, an escape hatch). Parse it with parseTrainStep.
   */
  trainStep?: TrainStepChoice;
  /** Overrides config.backend (the operator's FMNIST_BACKEND, parsed at the edge). */
  backend?: BackendPreference;
  /** Where warnings go: the backend or the graph step falling back to something slower. None: not shown. */
  warn?(message: string): void;
  /** epoch is 1-based; batches per epoch. Called for a resumed epoch too, at its first batch run. */
  onEpochBegin?(epoch: number, epochs: number, batches: number): void;
  /**
   * Progress within an epoch: `batch` batches done so far (1-based), and the epoch's running
   * mean loss and accuracy so far (what Keras' progress bar shows). Called at most every
   * PROGRESS_INTERVAL_MS and after the last batch, since reading values back costs a sync.
   */
  onBatchEnd?(epoch: number, batch: number, batches: number, logs: { loss: number; accuracy: number }): void;
  onEpochEnd?(log: EpochLog): void;
  /** The model's layers and parameter counts (Keras' model.summary()), once it is built; not called when resuming. */
  onModelSummary?(summary: ModelSummary): void;
  /**
   * Stops training between two batches (or validation chunks): trainModel then rejects with
   * TrainingAbortedError (name 'TrainingAborted'), having released its tensors and graph session.
   */
  signal?: AbortSignal;
  /**
   * @internal Milliseconds of work between yields to the event loop (default YIELD_INTERVAL_MS);
   * Infinity never yields. Only for tests and benchmarks that measure what yielding buys and costs.
   */
  yieldEveryMs?: number;
  /** Start from this checkpoint instead of from the seed's initial weights (validated against config and data count: mismatch -> CheckpointMismatchError). */
  resumeFrom?: TrainingCheckpoint;
  /**
   * Take checkpoints: always at each epoch end (after validation, history included) and every
   * `everyMs` of training inside an epoch. `save` may overlap training, but at most one save is
   * pending; trainModel awaits the pending save before returning or throwing. A save that
   * rejects fails training with its error (the run resumes from the checkpoint before).
   */
  checkpointing?: { identity: CheckpointIdentity; everyMs: number; save(checkpoint: TrainingCheckpoint): Promise<void> };
  /**
   * Checked between batches (and before an epoch-end validation). When it returns true,
   * trainModel takes a checkpoint, awaits its save and returns with status 'paused'. Requires
   * `checkpointing`. Not asked before the first batch of a call, so every call makes progress.
   */
  pauseWhen?(progress: PauseProgress): boolean;
}

export interface PauseProgress {
  position: TrainingPosition;
  /** Mean milliseconds per training step so far in this call (before the first one, the checkpoint's figure). */
  msPerBatch: number;
  /** How long the last validation pass took (0 before the first, or without validation). */
  msLastValidation: number;
  /** How long the last checkpoint took, from reading the state to its save's end (0 before the first). */
  msLastCheckpoint: number;
}

export interface TrainResult {
  model: tf.LayersModel;
  history: EpochLog[];
  backend: BackendInfo;
  /** Wall-clock seconds for this call, validation included. */
  seconds: number;
  /** Training examples per second of training steps in this call (validation passes excluded), to compare backends; 0 if it ran none. */
  imagesPerSecond: number;
  trainExamples: number;
  validationExamples: number;
  /** 'paused' when pauseWhen stopped training (the last checkpoint holds where); `model` then has the weights so far. */
  status: 'complete' | 'paused';
  position: TrainingPosition;
  /** Layers, output shapes and parameter counts, as Keras' model.summary() prints them. */
  summary: ModelSummary;
  /** How early stopping went (config.earlyStopping); `model` holds the best epoch's weights when it restored them. */
  earlyStopping?: EarlyStoppingRecord;
}

export const PROGRESS_INTERVAL_MS = 200;

export { TrainingAbortedError, YIELD_INTERVAL_MS } from './cooperative.ts';

/**
 * The walkthrough's `model.fit(X, y, epochs, batch_size, validation_split)`: validation is
 * the last `validationSplit` of the examples (Keras takes it before shuffling), the rest is
 * shuffled every epoch from `config.seed`. Pixels are scaled and labels one-hot encoded batch
 * by batch. The caller owns (and must dispose) the returned model.
 *
 * On native TensorFlow the step runs as one TensorFlow graph per batch (GraphEpochs,
 * lib/model/graph), elsewhere as tfjs ops (EagerEpochs, lib/model/eager-step.ts); both compute the same step from the same start.
 *
 * Either way it yields to the event loop every YIELD_INTERVAL_MS of work and stops when
 * `hooks.signal` fires (TrainingAbortedError). Progress also goes to TRAINING_PROGRESS_CHANNEL
 * while it has subscribers.
 *
 * With `config.earlyStopping` it stops after the epoch Keras' EarlyStopping would, and may end
 * with the best epoch's weights (lib/model/early-stopping.ts).
 *
 * With `hooks.checkpointing` it takes checkpoints (lib/model/checkpoint) that `hooks.resumeFrom`
 * continues from exactly: the same weights, bit for bit, and the same history as a run never
 * interrupted (same backend and step).
 */
export async function trainModel(data: LabeledImages, config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  checkData(data);
  checkHooks(hooks);
  // Training is synchronous work: without these yields no timer (heartbeat, deadline) and no
  // signal handler of the process would run until it ends.
  const loop = new CooperativeLoop(hooks.signal, hooks.yieldEveryMs);
  loop.throwIfAborted();
  const resume = hooks.resumeFrom;
  if (resume !== undefined) checkResumable(resume, config, data.count, hooks.checkpointing?.identity);
  const trainStep = parseTrainStep(hooks.trainStep, 'trainStep');
  const backend = await initBackend(hooks.backend ?? config.backend, { warn: hooks.warn });
  const plan = planEpochs(data.count, config);
  const stopping = config.earlyStopping && new EarlyStopping<CheckpointWeight[]>(config.earlyStopping, resume?.earlyStopping, resume?.history);

  const started = performance.now();
  const model = buildModel(config.model, config);
  const summary = summarizeModel(model);
  if (resume === undefined) {
    hooks.onModelSummary?.(summary);
    publishProgress({ kind: 'modelSummary', summary });
  }
  let runner: EpochRunner | undefined;
  const saves = new PendingSave();
  try {
    let ending: Ending;
    if (resume !== undefined) restoreModel(model, resume);
    if (resume !== undefined && trainingFinished(resume)) {
      ending = alreadyTrained(resume, plan);
    } else {
      runner = await createRunner(backend, model, config, data, plan.largestBatch, { trainStep, warn: hooks.warn });
      ending = await new EpochLoop(runner, { model, data, config, hooks, plan, loop, saves, stopping }, resume).run();
    }
    // Keras 3 restores the best weights when training ends, stopped early or not.
    const best = ending.status === 'complete' ? stopping?.weightsToRestore() : undefined;
    if (best !== undefined) restoreModelWeights(model, best);
    return trainResult(model, backend, plan, started, ending, summary, stopping?.record(ending.status === 'complete'));
  } catch (error) {
    await saves.settled();
    model.dispose();
    throw error;
  } finally {
    runner?.dispose();
  }
}

function checkHooks(hooks: TrainHooks): void {
  if (hooks.pauseWhen !== undefined && hooks.checkpointing === undefined) throw new TypeError('pauseWhen needs checkpointing: a pause keeps its place in a checkpoint');
  if (hooks.checkpointing !== undefined && !(hooks.checkpointing.everyMs > 0)) {
    throw new RangeError(`checkpointing.everyMs must be a number of milliseconds > 0, got ${hooks.checkpointing.everyMs}`);
  }
}

/** The shape of a run: how many epochs, batches per epoch, and which examples train and validate. */
interface EpochPlan {
  epochs: number;
  batches: number;
  /** config.batchSize: the last batch of an epoch may be smaller. */
  batchSize: number;
  /** The largest batch a step sees (a batch size above the training examples: all of them). */
  largestBatch: number;
  /** Examples 0… trainExamples - 1 train; the rest validate. */
  trainExamples: number;
  validationExamples: number;
}

/** Validation is the last `validationSplit` of the examples, as Keras takes it (before shuffling). */
function planEpochs(count: number, config: TrainConfig): EpochPlan {
  const trainExamples = Math.floor(count * (1 - config.validationSplit));
  if (trainExamples < 1) {
    throw new ConfigError(`validationSplit ${config.validationSplit} leaves no training examples out of ${count}`);
  }
  const monitor = config.earlyStopping?.monitor;
  if (monitor?.startsWith('val_') && trainExamples === count) {
    throw new ConfigError(`earlyStopping.monitor: "${monitor}" needs validation examples; validationSplit ${config.validationSplit} leaves none of ${count}`);
  }
  return {
    epochs: config.epochs,
    batches: Math.ceil(trainExamples / config.batchSize),
    batchSize: config.batchSize,
    largestBatch: Math.min(config.batchSize, trainExamples),
    trainExamples,
    validationExamples: count - trainExamples,
  };
}

function positionAt(plan: EpochPlan, epoch: number, batch: number): TrainingPosition {
  return { epoch, batch, epochs: plan.epochs, batches: plan.batches };
}

/** Puts a checkpoint's weights and dropout call counts into the freshly built model. */
function restoreModel(model: tf.LayersModel, resume: TrainingCheckpoint): void {
  restoreModelWeights(model, resume.weights);
  restoreDropoutCalls(model, resume.dropoutCalls);
}

/** How a call ended: where, and what it did on the way (the result's figures). */
interface Ending {
  status: TrainResult['status'];
  position: TrainingPosition;
  trainingStep: TrainingStep;
  /** The graph step's pieces a batch (BackendInfo.graphChains); undefined when no step ran in this call. */
  graphChains?: number;
  history: EpochLog[];
  /** Seconds of training epochs in this call (validation excluded) and the examples they trained on. */
  stepSeconds: number;
  trainedExamples: number;
}

/** A checkpoint taken after the last epoch, or after early stopping ended training: nothing left to train. */
function alreadyTrained(resume: TrainingCheckpoint, plan: EpochPlan): Ending {
  const history = resume.history.map((log) => ({ ...log }));
  return { status: 'complete', position: positionAt(plan, plan.epochs + 1, 0), trainingStep: resume.trainingStep, history, stepSeconds: 0, trainedExamples: 0 };
}

function trainResult(
  model: tf.LayersModel,
  backend: BackendInfo,
  plan: EpochPlan,
  started: number,
  ending: Ending,
  summary: ModelSummary,
  earlyStopping: EarlyStoppingRecord | undefined,
): TrainResult {
  return {
    summary,
    ...(earlyStopping ? { earlyStopping } : {}),
    model,
    history: ending.history,
    backend: { ...backend, trainingStep: ending.trainingStep, ...(ending.trainingStep === 'graph' && ending.graphChains !== undefined && { graphChains: ending.graphChains }) },
    seconds: (performance.now() - started) / 1000,
    imagesPerSecond: ending.stepSeconds > 0 ? ending.trainedExamples / ending.stepSeconds : 0,
    trainExamples: plan.trainExamples,
    validationExamples: plan.validationExamples,
    status: ending.status,
    position: ending.position,
  };
}

interface LoopContext {
  model: tf.LayersModel;
  data: LabeledImages;
  config: TrainConfig;
  hooks: TrainHooks;
  plan: EpochPlan;
  loop: CooperativeLoop;
  saves: PendingSave;
  /** Decides after each epoch whether training goes on (config.earlyStopping). */
  stopping: EarlyStopping<CheckpointWeight[]> | undefined;
}

/**
 * One call's way through the epochs: steps, progress, validation, and the checkpoints and pauses
 * the hooks ask for. Starts where `resume` left off (the model already holds its weights), else
 * at epoch 1.
 */
class EpochLoop {
  private readonly history: EpochLog[];
  private readonly order: Uint32Array;
  private readonly random: SeededRandom;
  private readonly dropouts: ReturnType<typeof dropoutLayers>;
  private readonly timings: Omit<PauseProgress, 'position'>;
  private readonly first: TrainingPosition;
  /** Optimiser steps taken so far, earlier calls included. */
  private steps: number;
  private stepSeconds = 0;
  private trainedExamples = 0;
  private msInSteps = 0;
  private stepsThisCall = 0;
  private lastCheckpoint: number;
  /** The batch's mirror flags (config.augmentation), refilled every step. */
  private readonly flips: Float32Array;

  constructor(
    private readonly runner: EpochRunner,
    private readonly context: LoopContext,
    resume: TrainingCheckpoint | undefined,
  ) {
    this.history = resume?.history.map((log) => ({ ...log })) ?? [];
    this.order = resume?.order.slice() ?? Uint32Array.from({ length: context.plan.trainExamples }, (_, i) => i);
    this.random = seededRandom(resume?.shuffleState ?? context.config.seed);
    this.steps = resume?.optimizer.iterations ?? 0;
    if (resume !== undefined) runner.restore(resume.optimizer, resume.epochTotals);
    this.dropouts = dropoutLayers(context.model);
    this.timings = { msPerBatch: resume?.timings.msPerBatch ?? 0, msLastValidation: resume?.timings.msLastValidation ?? 0, msLastCheckpoint: 0 };
    this.first = resume?.position ?? this.at(1, 0);
    this.lastCheckpoint = performance.now();
    this.flips = new Float32Array(context.plan.largestBatch);
  }

  async run(): Promise<Ending> {
    const { plan, saves } = this.context;
    for (let epoch = this.first.epoch; epoch <= plan.epochs && !this.context.stopping?.stopped; epoch++) {
      const pausedAt = await this.epoch(epoch, epoch === this.first.epoch ? this.first.batch : 0);
      if (pausedAt !== undefined) {
        this.runner.finish();
        return this.ending('paused', pausedAt);
      }
    }
    await saves.settled();
    saves.throwIfFailed();
    this.runner.finish();
    return this.ending('complete', this.at(plan.epochs + 1, 0));
  }

  /** Trains epoch `epoch` from batch `firstBatch`, validates, checkpoints. Returns where to pause, if a pause was asked for. */
  private async epoch(epoch: number, firstBatch: number): Promise<TrainingPosition | undefined> {
    const { hooks, plan, saves } = this.context;
    const epochStarted = performance.now();
    hooks.onEpochBegin?.(epoch, plan.epochs, plan.batches);
    publishProgress({ kind: 'epochBegin', epoch, epochs: plan.epochs, batches: plan.batches });
    // A checkpoint at batch 0 holds the order before this epoch's shuffle.
    if (firstBatch === 0) shuffleInPlace(this.order, this.random);
    const pausedAt = await this.trainBatches(epoch, firstBatch);
    if (pausedAt !== undefined) return pausedAt;
    const trained = this.runner.endEpoch();
    this.stepSeconds += (performance.now() - epochStarted) / 1000;
    await this.logEpoch({ epoch, loss: trained.loss, accuracy: trained.accuracy, seconds: 0 }, epochStarted);
    if (hooks.checkpointing === undefined) return undefined;
    const next = this.at(epoch + 1, 0);
    await this.checkpoint(next);
    if (epoch < plan.epochs && !this.context.stopping?.stopped && hooks.pauseWhen?.({ position: next, ...this.timings })) {
      await saves.settled();
      saves.throwIfFailed();
      return next;
    }
    return undefined;
  }

  /** The epoch's batches from `firstBatch` on. Returns where to pause, if a pause was asked for between two of them or after the last. */
  private async trainBatches(epoch: number, firstBatch: number): Promise<TrainingPosition | undefined> {
    const { hooks, plan, loop } = this.context;
    let lastProgress = performance.now();
    for (let batch = firstBatch; batch < plan.batches; batch++) {
      await loop.checkpoint();
      if (batch > firstBatch && (await this.between(this.at(epoch, batch)))) return this.at(epoch, batch);
      const now = this.step(batch);
      // Reading the running means back costs a sync: only when someone shows them.
      if ((hooks.onBatchEnd || progressWanted()) && (now - lastProgress >= PROGRESS_INTERVAL_MS || batch === plan.batches - 1)) {
        const means = this.runner.means();
        hooks.onBatchEnd?.(epoch, batch + 1, plan.batches, means);
        publishProgress({ kind: 'batchEnd', epoch, batch: batch + 1, batches: plan.batches, ...means });
        lastProgress = now;
      }
    }
    if (firstBatch < plan.batches && (await this.between(this.at(epoch, plan.batches)))) return this.at(epoch, plan.batches);
    return undefined;
  }

  /** Trains the epoch's batch `batch`; returns the time it ended (performance.now()). */
  private step(batch: number): number {
    const { batchSize, trainExamples } = this.context.plan;
    const from = batch * batchSize;
    const to = Math.min(from + batchSize, trainExamples);
    const stepStarted = performance.now();
    const { config, plan } = this.context;
    this.runner.step(this.order, from, to, {
      learningRate: learningRateAt(config.learningRateSchedule, config.learningRate, this.steps, plan.epochs * plan.batches),
      ...(config.augmentation?.horizontalFlip && { flips: flipFlags(this.flips.subarray(0, to - from), config.seed, this.steps) }),
    });
    const now = performance.now();
    this.msInSteps += now - stepStarted;
    this.timings.msPerBatch = this.msInSteps / ++this.stepsThisCall;
    this.steps++;
    this.trainedExamples += to - from;
    return now;
  }

  /** Validates (with a validation split), asks early stopping, then records and reports the epoch's log. */
  private async logEpoch(log: EpochLog, epochStarted: number): Promise<void> {
    const { hooks, plan, loop, stopping } = this.context;
    if (plan.validationExamples > 0) {
      const validationStarted = performance.now();
      const validation = await this.runner.validate(plan.trainExamples, loop);
      this.timings.msLastValidation = performance.now() - validationStarted;
      log.val_loss = validation.loss;
      log.val_accuracy = validation.accuracy;
    }
    const stopped = stopping?.observe(log, () => this.currentWeights());
    if (stopped !== undefined) log.stopped = stopped;
    log.seconds = (performance.now() - epochStarted) / 1000;
    this.history.push(log);
    hooks.onEpochEnd?.(log);
    publishProgress({ kind: 'epochEnd', log });
  }

  /** Between batches: pause (checkpoint, then stop) or take a timed checkpoint. True to pause. */
  private async between(position: TrainingPosition): Promise<boolean> {
    const { hooks, plan, saves } = this.context;
    saves.throwIfFailed();
    if (hooks.checkpointing === undefined) return false;
    if (hooks.pauseWhen?.({ position, ...this.timings })) {
      await this.checkpoint(position);
      await saves.settled();
      saves.throwIfFailed();
      return true;
    }
    if (position.batch < plan.batches && !saves.pending && performance.now() - this.lastCheckpoint >= hooks.checkpointing.everyMs) await this.checkpoint(position);
    return false;
  }

  /** Starts a checkpoint's save (after the pending one, if any); resolves when it has started. */
  private async checkpoint(position: TrainingPosition): Promise<void> {
    const { hooks, saves } = this.context;
    await saves.settled();
    saves.throwIfFailed();
    const begun = performance.now();
    this.lastCheckpoint = begun;
    saves.start(hooks.checkpointing!.save(this.capture(position)), () => (this.timings.msLastCheckpoint = performance.now() - begun));
  }

  /** Copies of the model's weights as they stand (the graph step holds them until finish()). */
  private currentWeights(): CheckpointWeight[] {
    const state = this.runner.capture(this.steps);
    return readModelWeights(this.context.model, state.trainableWeights, state.nonTrainableWeights);
  }

  private capture(position: TrainingPosition): TrainingCheckpoint {
    const { hooks, config, data, model, stopping } = this.context;
    const state = this.runner.capture(this.steps);
    return {
      identity: hooks.checkpointing!.identity,
      config,
      position,
      history: this.history.map((log) => ({ ...log })),
      examples: data.count,
      trainingStep: this.runner.kind,
      weights: readModelWeights(model, state.trainableWeights, state.nonTrainableWeights),
      optimizer: state.optimizer,
      order: this.order.slice(),
      shuffleState: this.random.state,
      dropoutCalls: this.dropouts.map((layer) => layer.callCount),
      epochTotals: state.totals,
      timings: { msPerBatch: this.timings.msPerBatch, msLastValidation: this.timings.msLastValidation },
      ...(stopping ? { earlyStopping: stopping.capture() } : {}),
    };
  }

  private at(epoch: number, batch: number): TrainingPosition {
    return positionAt(this.context.plan, epoch, batch);
  }

  private ending(status: Ending['status'], position: TrainingPosition): Ending {
    return { status, position, trainingStep: this.runner.kind, graphChains: this.runner.chains, history: this.history, stepSeconds: this.stepSeconds, trainedExamples: this.trainedExamples };
  }
}

/**
 * The one checkpoint save that may run while training goes on. Its failure is kept and thrown
 * at the next point training checks (a failed save must not pass unnoticed).
 */
class PendingSave {
  private current: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  get pending(): boolean {
    return this.current !== undefined;
  }

  start(save: Promise<void>, onDone: () => void): void {
    this.current = save.then(
      () => {
        onDone();
        this.current = undefined;
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.current = undefined;
      },
    );
  }

  /** Waits for the pending save, if any, to end (either way). */
  async settled(): Promise<void> {
    await this.current;
  }

  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}

/** Refuses a checkpoint of another config, other data or another run before any work. */
function checkResumable(checkpoint: TrainingCheckpoint, config: TrainConfig, count: number, identity: CheckpointIdentity | undefined): void {
  assertCheckpointMatches(checkpoint, { identity, config });
  if (checkpoint.examples !== count) {
    throw new CheckpointMismatchError(`the checkpoint was trained on ${checkpoint.examples} examples; this data has ${count}`, ['examples']);
  }
}

let warnedAboutGraph = false;

/**
 * Which step trains (see TrainHooks.trainStep): the graph where the backend is native TensorFlow
 * and every layer has a graph part, else the eager step. A graph that fails to load falls back
 * to the eager step with a warning, unless the graph step was asked for.
 */
async function createRunner(
  backend: BackendInfo,
  model: tf.LayersModel,
  config: TrainConfig,
  data: LabeledImages,
  batchSize: number,
  options: { trainStep: TrainStepChoice; warn?(message: string): void },
): Promise<EpochRunner> {
  const wanted = options.trainStep;
  const precision = config.precision ?? 'float32';
  const binding = backend.name === 'tensorflow' && wanted !== 'eager' ? nativeBinding() : undefined;
  if (binding !== undefined && graphSupports(config.model)) {
    try {
      const options = { horizontalFlip: config.augmentation?.horizontalFlip === true, precision, chains: graphChains(batchSize, backend.tensorflowThreads) };
      return new GraphEpochs(await GraphTrainer.create(binding, model, config.model, data, batchSize, options), data);
    } catch (error) {
      // The eager step has no bfloat16: falling back would train another recipe than asked.
      if (wanted === 'graph' || precision !== 'float32') throw error;
      if (!warnedAboutGraph && options.warn !== undefined) {
        warnedAboutGraph = true;
        options.warn(`[fmnist] The TensorFlow graph training step failed to load (${String(error)}); training op by op, several times slower.`);
      }
    }
  } else if (precision !== 'float32') {
    throw new ConfigError(
      `precision "${precision}" needs the graph training step: the native TensorFlow backend and layers that all have a graph part ` +
        `(backend: ${backend.name}${wanted === 'eager' ? `, ${TRAIN_STEP_ENV_VAR}=eager` : ''}); tfjs' eager kernels have no ${precision}`,
    );
  } else if (wanted === 'graph') {
    throw new ConfigError(
      `the graph training step (trainStep "graph", ${TRAIN_STEP_ENV_VAR}=graph) needs the native TensorFlow backend ` +
        `and layers that all have a graph part (backend: ${backend.name})`,
    );
  }
  return new EagerEpochs(model, data, batchSize);
}

function checkData(data: LabeledImages): void {
  if (!Number.isInteger(data.count) || data.count < 1) throw new RangeError(`need at least one example, got count ${data.count}`);
  if (data.images.length !== data.count * PIXELS_PER_IMAGE) {
    throw new RangeError(`expected ${data.count * PIXELS_PER_IMAGE} pixels for ${data.count} images, got ${data.images.length}`);
  }
  if (data.labels.length !== data.count) throw new RangeError(`expected ${data.count} labels, got ${data.labels.length}`);
  const bad = data.labels.findIndex((label) => label >= NUM_CLASSES);
  if (bad >= 0) throw new RangeError(`label ${data.labels[bad]} at index ${bad} is not a class (0-${NUM_CLASSES - 1})`);
}
