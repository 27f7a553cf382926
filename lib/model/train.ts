import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from '../data/classes.ts';
import { ConfigError } from '../data/errors.ts';
import { initBackend, type BackendInfo } from './backend.ts';
import { BatchBuffers } from './batches.ts';
import { buildModel } from './build.ts';
import type { TrainConfig } from './config.ts';
import type { EpochLog } from './history.ts';
import { evaluateLossAccuracy, predict } from './predict.ts';
import { seededRandom, shuffleInPlace } from './shuffle.ts';

export interface TrainingData {
  /** count x 784 raw pixels, 0..255. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface TrainHooks {
  /** epoch is 1-based; batches per epoch. */
  onEpochBegin?(epoch: number, epochs: number, batches: number): void;
  /**
   * Progress within an epoch: `batch` batches done so far (1-based), and the epoch's running
   * mean loss and accuracy so far (what Keras' progress bar shows). Called at most every
   * PROGRESS_INTERVAL_MS and after the last batch, since reading values back costs a sync.
   */
  onBatchEnd?(epoch: number, batch: number, batches: number, logs: { loss: number; accuracy: number }): void;
  onEpochEnd?(log: EpochLog): void;
}

export interface TrainResult {
  model: tf.LayersModel;
  history: EpochLog[];
  backend: BackendInfo;
  /** Wall-clock seconds for the whole run, validation included. */
  seconds: number;
  /** Training examples per second of training steps (validation passes excluded), to compare backends. */
  imagesPerSecond: number;
  trainExamples: number;
  validationExamples: number;
}

export const PROGRESS_INTERVAL_MS = 200;

/**
 * The walkthrough's `model.fit(X, y, epochs, batch_size, validation_split)`: validation is
 * the last `validationSplit` of the examples (Keras takes it before shuffling), the rest is
 * shuffled every epoch from `config.seed`. Pixels are scaled and labels one-hot encoded batch
 * by batch. The caller owns (and must dispose) the returned model.
 */
export async function trainModel(data: TrainingData, config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  checkData(data);
  const backend = await initBackend(config.backend);
  const trainExamples = Math.floor(data.count * (1 - config.validationSplit));
  const validationExamples = data.count - trainExamples;
  if (trainExamples < 1) {
    throw new ConfigError(`validationSplit ${config.validationSplit} leaves no training examples out of ${data.count}`);
  }

  const started = performance.now();
  const model = buildModel(config.model, config);
  try {
    const stepper = new TrainStepper(model, Math.min(config.batchSize, trainExamples));
    const order = Uint32Array.from({ length: trainExamples }, (_, i) => i);
    const random = seededRandom(config.seed);
    const batches = Math.ceil(trainExamples / config.batchSize);
    const history: EpochLog[] = [];
    let stepSeconds = 0;

    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      const epochStarted = performance.now();
      hooks.onEpochBegin?.(epoch, config.epochs, batches);
      shuffleInPlace(order, random);
      const totals = new RunningTotals();
      let lastProgress = performance.now();
      for (let batch = 0; batch < batches; batch++) {
        const from = batch * config.batchSize;
        const to = Math.min(from + config.batchSize, trainExamples);
        totals.add(stepper.step(data, order, from, to), to - from);
        const now = performance.now();
        if (hooks.onBatchEnd && (now - lastProgress >= PROGRESS_INTERVAL_MS || batch === batches - 1)) {
          hooks.onBatchEnd(epoch, batch + 1, batches, totals.read());
          lastProgress = now;
          // Let timers run (progress bars redraw on them) between otherwise synchronous batches.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      const trained = totals.readAndDispose();
      stepSeconds += (performance.now() - epochStarted) / 1000;

      const log: EpochLog = { epoch, loss: trained.loss, accuracy: trained.accuracy, seconds: 0 };
      if (validationExamples > 0) {
        const validation = await validate(model, data, trainExamples);
        log.val_loss = validation.loss;
        log.val_accuracy = validation.accuracy;
      }
      log.seconds = (performance.now() - epochStarted) / 1000;
      history.push(log);
      hooks.onEpochEnd?.(log);
    }
    return {
      model,
      history,
      backend,
      seconds: (performance.now() - started) / 1000,
      imagesPerSecond: (trainExamples * config.epochs) / stepSeconds,
      trainExamples,
      validationExamples,
    };
  } catch (error) {
    model.dispose();
    throw error;
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
          const probabilities = this.model.apply(images, { training: true }) as tf.Tensor2D;
          correct = tf.keep(tf.sum(tf.metrics.categoricalAccuracy(targets, probabilities)) as tf.Scalar);
          return tf.mean(tf.metrics.categoricalCrossentropy(targets, probabilities)) as tf.Scalar;
        },
        true,
        this.variables,
      ) as tf.Scalar;
      return { loss, correct: correct! };
    } finally {
      tf.dispose([images, targets]);
    }
  }
}

/** Sums kept on the backend, so a batch costs no read-back unless progress is wanted. */
class RunningTotals {
  private lossSum: tf.Scalar = tf.scalar(0);
  private correct: tf.Scalar = tf.scalar(0);
  private examples = 0;

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
    tf.dispose([this.lossSum, this.correct]);
    return means;
  }
}

async function validate(model: tf.LayersModel, data: TrainingData, from: number): Promise<{ loss: number; accuracy: number }> {
  const images = data.images.subarray(from * PIXELS_PER_IMAGE, data.count * PIXELS_PER_IMAGE);
  const labels = data.labels.subarray(from, data.count);
  const { probabilities } = await predict(model, { images, count: data.count - from });
  return evaluateLossAccuracy(probabilities, labels);
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
