import * as tf from '@tensorflow/tfjs';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from '../data/classes.ts';
import type { LabeledImages } from '../data/dataset.ts';
import { BatchBuffers } from './batches.ts';
import type { CheckpointOptimizer } from './checkpoint/checkpoint.ts';
import { readEagerOptimizer, restoreEagerOptimizer } from './checkpoint/model-state.ts';
import type { CooperativeLoop } from './cooperative.ts';
import type { EpochRunner, EpochTotals, RunnerState, StepSettings } from './epoch-runner.ts';
import { evaluateLossAccuracy, predict, PREDICT_BATCH_SIZE } from './predict.ts';

/*
 * The eager training step: op by op through tfjs (the layers API and optimizer.minimize), where
 * no TensorFlow graph can run (wasm, cpu, layers without a graph part) or when asked for
 * (trainStep 'eager'). Its graph counterpart is lib/model/graph.
 */

/** The step as tfjs ops (layers API, optimizer.minimize); metrics summed on the backend. */
export class EagerEpochs implements EpochRunner {
  readonly kind = 'eager';
  readonly chains = 1;
  private readonly stepper: TrainStepper;
  private totals = new RunningTotals();

  constructor(
    private readonly model: tf.LayersModel,
    private readonly data: LabeledImages,
    batchSize: number,
  ) {
    this.stepper = new TrainStepper(model, batchSize);
  }

  step(order: Uint32Array, from: number, to: number, settings: StepSettings): void {
    this.stepper.setLearningRate(settings.learningRate);
    this.totals.add(this.stepper.step(this.data, order, from, to, settings.flips), to - from);
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

  /** The rate the next steps take (a schedule's): tfjs' Adam reads its learningRate field at every update. */
  setLearningRate(learningRate: number): void {
    (this.optimizer as unknown as { learningRate: number }).learningRate = learningRate;
  }

  /** Trains on examples `order[from]`…`order[to - 1]`; returns the batch's mean loss and its count of correct predictions. */
  step(data: LabeledImages, order: ArrayLike<number>, from: number, to: number, flips?: Float32Array): { loss: tf.Scalar; correct: tf.Scalar } {
    const images = mirrored(this.buffers.imagesAt(data.images, order, from, to), flips);
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
  gradients(data: LabeledImages, order: ArrayLike<number>, from: number, to: number): Float32Array[] {
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

/**
 * The batch with the flagged examples mirrored left to right, as x * (1 - f) + reverse(x) * f:
 * exact for f in {0, 1}, and the graph step's formula, so both steps see the same pixels.
 * Disposes `images` when it returns a new tensor.
 */
export function mirrored(images: tf.Tensor4D, flips: Float32Array | undefined): tf.Tensor4D {
  if (flips === undefined) return images;
  const result = tf.tidy(() => {
    const f = tf.tensor4d(flips, [flips.length, 1, 1, 1]);
    return tf.add(tf.mul(images, tf.sub(tf.scalar(1), f)), tf.mul(tf.reverse(images, 2), f)) as tf.Tensor4D;
  });
  images.dispose();
  return result;
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
  data: LabeledImages,
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
