import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from '../data/classes.ts';
import { CheckpointMismatchError, ConfigError } from '../errors.ts';
import { parseTrainStep, TRAIN_STEP_ENV_VAR, type TrainStepChoice } from './choices.ts';
import { initBackend, type BackendInfo, type TrainingStep } from './backend.ts';
import { BatchBuffers } from './batches.ts';
import { buildModel } from './build.ts';
import type { BackendPreference, TrainConfig } from './config.ts';
import { CooperativeLoop } from './cooperative.ts';
import type { EpochLog } from './history.ts';
import { GRAPH_PREDICT_BATCH, GraphTrainer } from './graph/graph-trainer.ts';
import { nativeBinding } from './graph/session.ts';
import { graphSupports } from './layers/index.ts';
import { evaluateLossAccuracy, predict, PREDICT_BATCH_SIZE } from './predict.ts';
import { progressWanted, publishProgress } from './progress-channel.ts';
import { seededRandom, shuffleInPlace } from './shuffle.ts';
import {
  assertCheckpointMatches,
  type CheckpointIdentity,
  type CheckpointOptimizer,
  type TrainingCheckpoint,
  type TrainingPosition,
} from './checkpoint/checkpoint.ts';
import {
  checkMoments,
  dropoutLayers,
  readEagerOptimizer,
  readModelWeights,
  restoreDropoutCalls,
  restoreEagerOptimizer,
  restoreModelWeights,
} from './checkpoint/model-state.ts';

export interface TrainingData {
  /** count x 784 raw pixels, 0..255. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

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
}

export const PROGRESS_INTERVAL_MS = 200;

export { TrainingAbortedError, YIELD_INTERVAL_MS } from './cooperative.ts';

/**
 * The walkthrough's `model.fit(X, y, epochs, batch_size, validation_split)`: validation is
 * the last `validationSplit` of the examples (Keras takes it before shuffling), the rest is
 * shuffled every epoch from `config.seed`. Pixels are scaled and labels one-hot encoded batch
 * by batch. The caller owns (and must dispose) the returned model.
 *
 * On native TensorFlow the step runs as one TensorFlow graph per batch (see GraphEpochs),
 * elsewhere as tfjs ops (EagerEpochs); both compute the same step from the same start.
 *
 * Either way it yields to the event loop every YIELD_INTERVAL_MS of work and stops when
 * `hooks.signal` fires (TrainingAbortedError). Progress also goes to TRAINING_PROGRESS_CHANNEL
 * while it has subscribers.
 *
 * With `hooks.checkpointing` it takes checkpoints (lib/model/checkpoint) that `hooks.resumeFrom`
 * continues from exactly: the same weights, bit for bit, and the same history as a run never
 * interrupted (same backend and step).
 */
export async function trainModel(data: TrainingData, config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  checkData(data);
  if (hooks.pauseWhen !== undefined && hooks.checkpointing === undefined) throw new TypeError('pauseWhen needs checkpointing: a pause keeps its place in a checkpoint');
  if (hooks.checkpointing !== undefined && !(hooks.checkpointing.everyMs > 0)) {
    throw new RangeError(`checkpointing.everyMs must be a number of milliseconds > 0, got ${hooks.checkpointing.everyMs}`);
  }
  // Training is synchronous work: without these yields no timer (heartbeat, deadline) and no
  // signal handler of the process would run until it ends.
  const loop = new CooperativeLoop(hooks.signal, hooks.yieldEveryMs);
  loop.throwIfAborted();
  const resume = hooks.resumeFrom;
  if (resume !== undefined) checkResumable(resume, config, data.count, hooks.checkpointing?.identity);
  const trainStep = parseTrainStep(hooks.trainStep, 'trainStep');
  const backend = await initBackend(hooks.backend ?? config.backend, { warn: hooks.warn });
  const trainExamples = Math.floor(data.count * (1 - config.validationSplit));
  const validationExamples = data.count - trainExamples;
  if (trainExamples < 1) {
    throw new ConfigError(`validationSplit ${config.validationSplit} leaves no training examples out of ${data.count}`);
  }

  const started = performance.now();
  const model = buildModel(config.model, config);
  let runner: EpochRunner | undefined;
  const saves = new PendingSave();
  try {
    const batchSize = Math.min(config.batchSize, trainExamples);
    const batches = Math.ceil(trainExamples / config.batchSize);
    const { epochs } = config;
    const at = (epoch: number, batch: number): TrainingPosition => ({ epoch, batch, epochs, batches });
    const result = (status: TrainResult['status'], position: TrainingPosition, trainingStep: TrainingStep): TrainResult => ({
      model,
      history,
      backend: { ...backend, trainingStep },
      seconds: (performance.now() - started) / 1000,
      imagesPerSecond: stepSeconds > 0 ? trainedExamples / stepSeconds : 0,
      trainExamples,
      validationExamples,
      status,
      position,
    });
    const history: EpochLog[] = resume?.history.map((log) => ({ ...log })) ?? [];
    let stepSeconds = 0;
    let trainedExamples = 0;
    if (resume !== undefined) {
      restoreModelWeights(model, resume.weights);
      restoreDropoutCalls(model, resume.dropoutCalls);
      if (resume.position.epoch > epochs) return result('complete', at(epochs + 1, 0), resume.trainingStep);
    }

    runner = await createRunner(backend, model, config, data, batchSize, { trainStep, warn: hooks.warn });
    const order = resume?.order.slice() ?? Uint32Array.from({ length: trainExamples }, (_, i) => i);
    const random = seededRandom(resume?.shuffleState ?? config.seed);
    let steps = resume?.optimizer.iterations ?? 0;
    if (resume !== undefined) runner.restore(resume.optimizer, resume.epochTotals);
    const dropouts = dropoutLayers(model);
    const timings = { msPerBatch: resume?.timings.msPerBatch ?? 0, msLastValidation: resume?.timings.msLastValidation ?? 0, msLastCheckpoint: 0 };
    let msInSteps = 0;
    let stepsThisCall = 0;
    let lastCheckpoint = performance.now();

    const activeRunner = runner;
    const capture = (position: TrainingPosition): TrainingCheckpoint => {
      const state = activeRunner.capture(steps);
      return {
        identity: hooks.checkpointing!.identity,
        config,
        position,
        history: history.map((log) => ({ ...log })),
        examples: data.count,
        trainingStep: activeRunner.kind,
        weights: readModelWeights(model, state.trainableWeights, state.nonTrainableWeights),
        optimizer: state.optimizer,
        order: order.slice(),
        shuffleState: random.state,
        dropoutCalls: dropouts.map((layer) => layer.callCount),
        epochTotals: state.totals,
        timings: { msPerBatch: timings.msPerBatch, msLastValidation: timings.msLastValidation },
      };
    };
    /** Starts a checkpoint's save (after the pending one, if any); resolves when it has started. */
    const checkpoint = async (position: TrainingPosition): Promise<void> => {
      await saves.settled();
      saves.throwIfFailed();
      const begun = performance.now();
      lastCheckpoint = begun;
      saves.start(hooks.checkpointing!.save(capture(position)), () => (timings.msLastCheckpoint = performance.now() - begun));
    };
    /** Between batches: pause (checkpoint, then stop) or take a timed checkpoint. True to pause. */
    const between = async (position: TrainingPosition): Promise<boolean> => {
      saves.throwIfFailed();
      if (hooks.checkpointing === undefined) return false;
      if (hooks.pauseWhen?.({ position, ...timings })) {
        await checkpoint(position);
        await saves.settled();
        saves.throwIfFailed();
        return true;
      }
      if (position.batch < batches && !saves.pending && performance.now() - lastCheckpoint >= hooks.checkpointing.everyMs) await checkpoint(position);
      return false;
    };
    const pause = async (position: TrainingPosition) => {
      activeRunner.finish();
      return result('paused', position, activeRunner.kind);
    };

    const first = resume?.position ?? at(1, 0);
    for (let epoch = first.epoch; epoch <= epochs; epoch++) {
      const epochStarted = performance.now();
      const firstBatch = epoch === first.epoch ? first.batch : 0;
      hooks.onEpochBegin?.(epoch, epochs, batches);
      publishProgress({ kind: 'epochBegin', epoch, epochs, batches });
      // A checkpoint at batch 0 holds the order before this epoch's shuffle.
      if (firstBatch === 0) shuffleInPlace(order, random);
      let lastProgress = performance.now();
      for (let batch = firstBatch; batch < batches; batch++) {
        await loop.checkpoint();
        if (batch > firstBatch && (await between(at(epoch, batch)))) return await pause(at(epoch, batch));
        const from = batch * config.batchSize;
        const to = Math.min(from + config.batchSize, trainExamples);
        const stepStarted = performance.now();
        runner.step(order, from, to);
        const now = performance.now();
        msInSteps += now - stepStarted;
        timings.msPerBatch = msInSteps / ++stepsThisCall;
        steps++;
        trainedExamples += to - from;
        // Reading the running means back costs a sync: only when someone shows them.
        if ((hooks.onBatchEnd || progressWanted()) && (now - lastProgress >= PROGRESS_INTERVAL_MS || batch === batches - 1)) {
          const means = runner.means();
          hooks.onBatchEnd?.(epoch, batch + 1, batches, means);
          publishProgress({ kind: 'batchEnd', epoch, batch: batch + 1, batches, ...means });
          lastProgress = now;
        }
      }
      if (firstBatch < batches && (await between(at(epoch, batches)))) return await pause(at(epoch, batches));
      const trained = runner.endEpoch();
      stepSeconds += (performance.now() - epochStarted) / 1000;

      const log: EpochLog = { epoch, loss: trained.loss, accuracy: trained.accuracy, seconds: 0 };
      if (validationExamples > 0) {
        const validationStarted = performance.now();
        const validation = await runner.validate(trainExamples, loop);
        timings.msLastValidation = performance.now() - validationStarted;
        log.val_loss = validation.loss;
        log.val_accuracy = validation.accuracy;
      }
      log.seconds = (performance.now() - epochStarted) / 1000;
      history.push(log);
      hooks.onEpochEnd?.(log);
      publishProgress({ kind: 'epochEnd', log });
      if (hooks.checkpointing !== undefined) {
        await checkpoint(at(epoch + 1, 0));
        if (epoch < epochs && hooks.pauseWhen?.({ position: at(epoch + 1, 0), ...timings })) {
          await saves.settled();
          saves.throwIfFailed();
          return await pause(at(epoch + 1, 0));
        }
      }
    }
    await saves.settled();
    saves.throwIfFailed();
    runner.finish();
    return result('complete', at(epochs + 1, 0), runner.kind);
  } catch (error) {
    await saves.settled();
    model.dispose();
    throw error;
  } finally {
    runner?.dispose();
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

/** An epoch loop's view of a training step, whichever way it runs. */
interface EpochRunner {
  readonly kind: TrainingStep;
  /** Trains on examples `order[from]`…`order[to - 1]`. */
  step(order: Uint32Array, from: number, to: number): void;
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

type EpochTotals = TrainingCheckpoint['epochTotals'];

interface RunnerState {
  /** In model.trainableWeights order. */
  trainableWeights: Float32Array[];
  /** In model.nonTrainableWeights order, where the runner holds them (the graph's moving statistics); else the model's are current. */
  nonTrainableWeights?: Float32Array[];
  optimizer: CheckpointOptimizer;
  totals: EpochTotals;
}

let warnedAboutGraph = false;

async function createRunner(
  backend: BackendInfo,
  model: tf.LayersModel,
  config: TrainConfig,
  data: TrainingData,
  batchSize: number,
  options: { trainStep: TrainStepChoice; warn?(message: string): void },
): Promise<EpochRunner> {
  const wanted = options.trainStep;
  const binding = backend.name === 'tensorflow' && wanted !== 'eager' ? nativeBinding() : undefined;
  if (binding !== undefined && graphSupports(config.model)) {
    try {
      return new GraphEpochs(await GraphTrainer.create(binding, model, config.model, data, batchSize), data);
    } catch (error) {
      if (wanted === 'graph') throw error;
      if (!warnedAboutGraph && options.warn !== undefined) {
        warnedAboutGraph = true;
        options.warn(`[fmnist] The TensorFlow graph training step failed to load (${String(error)}); training op by op, several times slower.`);
      }
    }
  } else if (wanted === 'graph') {
    throw new ConfigError(
      `the graph training step (trainStep "graph", ${TRAIN_STEP_ENV_VAR}=graph) needs the native TensorFlow backend ` +
        `and layers that all have a graph part (backend: ${backend.name})`,
    );
  }
  return new EagerEpochs(model, data, batchSize);
}

/** The step as one TensorFlow graph run per batch; metrics come back as numbers with the step. */
class GraphEpochs implements EpochRunner {
  readonly kind = 'graph';
  private lossSum = 0;
  private correct = 0;
  private examples = 0;

  constructor(
    private readonly trainer: GraphTrainer,
    private readonly data: TrainingData,
  ) {}

  step(order: Uint32Array, from: number, to: number): void {
    const { loss, correct } = this.trainer.step(order, from, to);
    this.lossSum += loss * (to - from);
    this.correct += correct;
    this.examples += to - from;
  }

  means(): { loss: number; accuracy: number } {
    return { loss: this.lossSum / this.examples, accuracy: this.correct / this.examples };
  }

  endEpoch(): { loss: number; accuracy: number } {
    const means = this.means();
    this.lossSum = this.correct = this.examples = 0;
    return means;
  }

  async validate(from: number, loop: CooperativeLoop): Promise<{ loss: number; accuracy: number }> {
    const { count } = this.data;
    const probabilities = new Float32Array((count - from) * NUM_CLASSES);
    for (let start = from; start < count; start += GRAPH_PREDICT_BATCH) {
      await loop.checkpoint();
      probabilities.set(this.trainer.predictRange(start, Math.min(start + GRAPH_PREDICT_BATCH, count)), (start - from) * NUM_CLASSES);
    }
    return evaluateLossAccuracy(probabilities, this.data.labels.subarray(from, count));
  }

  finish(): void {
    this.trainer.copyWeightsToModel();
  }

  capture(steps: number): RunnerState {
    const { weights, state, adam } = this.trainer.readState();
    return {
      trainableWeights: weights,
      nonTrainableWeights: state,
      optimizer: { iterations: steps, ...adam },
      totals: { lossSum: this.lossSum, correct: this.correct, examples: this.examples },
    };
  }

  restore(optimizer: CheckpointOptimizer, totals: EpochTotals): void {
    checkMoments(this.trainer.model.trainableWeights.map((w) => [...w.shape] as number[]), optimizer);
    this.trainer.restoreAdamState(optimizer);
    ({ lossSum: this.lossSum, correct: this.correct, examples: this.examples } = totals);
  }

  dispose(): void {
    this.trainer.dispose();
  }
}

/** The step as tfjs ops (layers API, optimizer.minimize); metrics summed on the backend. */
class EagerEpochs implements EpochRunner {
  readonly kind = 'eager';
  private readonly stepper: TrainStepper;
  private totals = new RunningTotals();

  constructor(
    private readonly model: tf.LayersModel,
    private readonly data: TrainingData,
    batchSize: number,
  ) {
    this.stepper = new TrainStepper(model, batchSize);
  }

  step(order: Uint32Array, from: number, to: number): void {
    this.totals.add(this.stepper.step(this.data, order, from, to), to - from);
  }

  means(): { loss: number; accuracy: number } {
    return this.totals.read();
  }

  endEpoch(): { loss: number; accuracy: number } {
    const means = this.totals.readAndDispose();
    this.totals = new RunningTotals();
    return means;
  }

  validate(from: number, loop: CooperativeLoop): Promise<{ loss: number; accuracy: number }> {
    return validate(this.model, this.data, from, loop);
  }

  finish(): void {}

  capture(steps: number): RunnerState {
    const trainableWeights = this.model.trainableWeights.map((w) => (w.read().dataSync() as Float32Array).slice());
    return { trainableWeights, optimizer: readEagerOptimizer(this.model, steps), totals: this.totals.sums() };
  }

  restore(optimizer: CheckpointOptimizer, totals: EpochTotals): void {
    restoreEagerOptimizer(this.model, optimizer);
    this.totals.dispose();
    this.totals = new RunningTotals(totals);
  }

  dispose(): void {
    this.totals.dispose();
  }
}

/**
 * One optimiser step per call, as Keras' `train_on_batch`: forward pass in training mode
 * (dropout on), Keras-style cross-entropy, Adam update of the trainable weights.
 */
export class TrainStepper {
  private readonly buffers: BatchBuffers;
  private readonly optimizer: tf.Optimizer;
  private readonly variables: tf.Variable[];

  constructor(
    private readonly model: tf.LayersModel,
    batchSize: number,
  ) {
    this.buffers = new BatchBuffers(batchSize);
    this.optimizer = model.optimizer;
    this.variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  }

  /** Trains on examples `order[from]`…`order[to - 1]`; returns the batch's mean loss and its count of correct predictions. */
  step(data: TrainingData, order: ArrayLike<number>, from: number, to: number): { loss: tf.Scalar; correct: tf.Scalar } {
    const images = this.buffers.imagesAt(data.images, order, from, to);
    const targets = this.buffers.oneHotAt(data.labels, order, from, to);
    try {
      let correct: tf.Scalar | undefined;
      const loss = this.optimizer.minimize(
        () => {
          const objective = this.objective(images, targets);
          correct = tf.keep(objective.correct);
          return objective.loss;
        },
        true,
        this.variables,
      ) as tf.Scalar;
      return { loss, correct: correct! };
    } finally {
      tf.dispose([images, targets]);
    }
  }

  /**
   * For tests and diagnostics: the gradients `step` would apply on these examples, in weight
   * order, without applying them (a dropout mask is used up, as by a step).
   */
  gradients(data: TrainingData, order: ArrayLike<number>, from: number, to: number): Float32Array[] {
    const images = this.buffers.imagesAt(data.images, order, from, to);
    const targets = this.buffers.oneHotAt(data.labels, order, from, to);
    try {
      const { value, grads } = tf.variableGrads(() => this.objective(images, targets).loss, this.variables);
      const names = this.variables.map((variable) => variable.name);
      const values = names.map((name) => grads[name].dataSync() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      return values;
    } finally {
      tf.dispose([images, targets]);
    }
  }

  /** Forward pass in training mode (dropout on), Keras-style cross-entropy, accuracy. */
  private objective(images: tf.Tensor4D, targets: tf.Tensor2D): { loss: tf.Scalar; correct: tf.Scalar } {
    const probabilities = this.model.apply(images, { training: true }) as tf.Tensor2D;
    const correct = tf.sum(tf.metrics.categoricalAccuracy(targets, probabilities)) as tf.Scalar;
    return { loss: tf.mean(tf.metrics.categoricalCrossentropy(targets, probabilities)) as tf.Scalar, correct };
  }
}

/** Sums kept on the backend, so a batch costs no read-back unless progress is wanted. */
class RunningTotals {
  private lossSum: tf.Scalar;
  private correct: tf.Scalar;
  private examples: number;

  /** `from`: sums to continue from (float32 values, as `sums` reads them), else zeros. */
  constructor(from: EpochTotals = { lossSum: 0, correct: 0, examples: 0 }) {
    this.lossSum = tf.scalar(from.lossSum, 'float32');
    this.correct = tf.scalar(from.correct, 'float32');
    this.examples = from.examples;
  }

  /** The float32 sums as they stand (a sync). */
  sums(): EpochTotals {
    return { lossSum: this.lossSum.dataSync()[0], correct: this.correct.dataSync()[0], examples: this.examples };
  }

  add(batch: { loss: tf.Scalar; correct: tf.Scalar }, examples: number): void {
    const lossSum = tf.tidy(() => tf.add(this.lossSum, tf.mul(batch.loss, examples)) as tf.Scalar);
    const correct = tf.add(this.correct, batch.correct) as tf.Scalar;
    tf.dispose([this.lossSum, this.correct, batch.loss, batch.correct]);
    this.lossSum = lossSum;
    this.correct = correct;
    this.examples += examples;
  }

  read(): { loss: number; accuracy: number } {
    return { loss: this.lossSum.dataSync()[0] / this.examples, accuracy: this.correct.dataSync()[0] / this.examples };
  }

  readAndDispose(): { loss: number; accuracy: number } {
    const means = this.read();
    this.dispose();
    return means;
  }

  dispose(): void {
    tf.dispose([this.lossSum, this.correct]);
  }
}

/** Predicts in chunks of one predict batch, so the loop's checkpoint runs between them. */
async function validate(
  model: tf.LayersModel,
  data: TrainingData,
  from: number,
  loop: CooperativeLoop,
): Promise<{ loss: number; accuracy: number }> {
  const probabilities = new Float32Array((data.count - from) * NUM_CLASSES);
  for (let start = from; start < data.count; start += PREDICT_BATCH_SIZE) {
    await loop.checkpoint();
    const end = Math.min(start + PREDICT_BATCH_SIZE, data.count);
    const images = data.images.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE);
    const chunk = await predict(model, { images, count: end - start });
    probabilities.set(chunk.probabilities, (start - from) * NUM_CLASSES);
  }
  return evaluateLossAccuracy(probabilities, data.labels.subarray(from, data.count));
}

function checkData(data: TrainingData): void {
  if (!Number.isInteger(data.count) || data.count < 1) throw new RangeError(`need at least one example, got count ${data.count}`);
  if (data.images.length !== data.count * PIXELS_PER_IMAGE) {
    throw new RangeError(`expected ${data.count * PIXELS_PER_IMAGE} pixels for ${data.count} images, got ${data.images.length}`);
  }
  if (data.labels.length !== data.count) throw new RangeError(`expected ${data.count} labels, got ${data.labels.length}`);
  const bad = data.labels.findIndex((label) => label >= NUM_CLASSES);
  if (bad >= 0) throw new RangeError(`label ${data.labels[bad]} at index ${bad} is not a class (0-${NUM_CLASSES - 1})`);
}
