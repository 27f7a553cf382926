import { PIXELS_PER_IMAGE } from '../data/classes.ts';
import type { TrainConfig } from './config.ts';
import type { TrainingStep } from './backend.ts';
import { graphSupports, kindOf } from './layers/index.ts';
import { INPUT_SHAPE, planLayers, type ExampleShape, type LayerSpec } from './spec.ts';

/**
 * Peak memory of training a config, estimated before any work, so a config that cannot fit the
 * machine it would run on is refused at once (or routed to a bigger one) instead of running for
 * minutes and dying in TensorFlow's allocator.
 *
 *   peak = runtime baseline                       Node + TensorFlow + a session (measured)
 *        + 10 x 4 bytes x parameters              weights, gradients, Adam's two moments, and
 *                                                 the copies around the session (STATE_COPIES);
 *                                                 11 with early stopping's best weights kept
 *        + max(training, inference) activations   training: batch x 4 bytes x every layer's
 *                                                 activations kept for the backward pass and
 *                                                 their gradients (LayerKind.floats), x3 op by op;
 *                                                 inference: the 512-row validation pass
 *        + examples x bytes per example           the train split, loaded and in the session
 *
 * It errs large on purpose (it refuses configs), but not by much, so ordinary configs are not
 * sent away: CALIBRATION holds the measurements it is checked against (test/workflow/memory.test.ts:
 * every estimate at or above its measured peak, and within 1.5x of it).
 */

const FLOAT_BYTES = 4;
const MiB = 2 ** 20;

/** Node, tfjs-node's TensorFlow and a session with a small graph: see CALIBRATION. */
export const RUNTIME_BASELINE_BYTES = 512 * MiB;

/**
 * The train split is held twice while training: the loaded shards (lib/data/dataset.ts, one byte
 * per pixel and label) and their copy in the TensorFlow session; plus the shuffled order (4 bytes)
 * and the validation pass's probabilities (40 bytes) per example.
 */
export const DATA_BYTES_PER_EXAMPLE = 2 * (PIXELS_PER_IMAGE + 1) + 48;

/**
 * Float copies of every parameter: in the session the weights, their gradients and Adam's two
 * moments; outside it the tfjs model's own weights and the copies that carry them into the
 * session at the start (read, feed, zero moments) and back at the end (fetch, new tensors).
 * Measured about ten for a model that is nearly all weights (dense 16384: CALIBRATION).
 */
const STATE_COPIES = 10;

/** Early stopping's restoreBestWeights keeps the best epoch's weights beside the current ones: one more copy. */
const BEST_WEIGHTS_COPIES = 1;

/** Validation and prediction run forward passes of this many rows (lib/model/graph/graph-trainer.ts). */
const INFERENCE_BATCH = 512;

export interface LayerMemory {
  /** `model.layers[2]`. */
  path: string;
  /** `conv2d, 1024 filters, 3x3, same`. */
  description: string;
  /** Its activations and their gradients at the batch size. */
  bytes: number;
}

export interface TrainingMemoryEstimate {
  batchSize: number;
  parameters: number;
  /** Weights, gradients, Adam's two moments and the copies around the session. */
  stateBytes: number;
  /** Every layer's activations and gradients at the batch size (or the inference pass, if larger). */
  activationBytes: number;
  /** The layer whose activations take the most. */
  largest: LayerMemory;
  runtimeBytes: number;
  /** Everything but the data set. */
  fixedBytes: number;
  bytesPerExample: number;
  /** The whole estimate with `examples` train examples loaded. */
  bytesFor(examples: number): number;
  /** How many train examples still fit in `memoryBytes` (0 if not even the model does). */
  examplesThatFit(memoryBytes: number): number;
}

/**
 * The op-by-op step (tfjs eager: trainStep 'eager', FMNIST_TRAIN_STEP=eager at the edges)
 * keeps every op's output on the gradient tape, not just each layer's (a convolution's, its
 * bias sum's, its activation's ...): measured about 3x the graph step's training activations.
 * Its inference pass (256 rows, each op's output kept to the end of the batch) stays within
 * the graph step's 512-row estimate.
 */
const EAGER_ACTIVATION_FACTOR = 3;

/**
 * @param step how the steps will run; by default as on the native backend in the cloud: one
 *   graph when the model allows it (lib/model/graph), else eager
 */
export function estimateTrainingMemory(
  config: Pick<TrainConfig, 'model' | 'batchSize'> & Partial<Pick<TrainConfig, 'earlyStopping'>>,
  step: TrainingStep = graphSupports(config.model) ? 'graph' : 'eager',
): TrainingMemoryEstimate {
  const plans = planLayers(config.model);
  const parameters = plans.reduce((sum, plan) => sum + plan.parameters, 0);
  let input: ExampleShape = INPUT_SHAPE;
  const layers = config.model.layers.map((layer, index) => {
    const floats = kindOf(layer).floats(layer, input, plans[index].outputShape);
    input = plans[index].outputShape;
    return { index, layer, floats };
  });
  // The scaled input batch (and the cast before it).
  const inputFloats = 2 * PIXELS_PER_IMAGE;
  const training = config.batchSize * FLOAT_BYTES * (inputFloats + layers.reduce((sum, l) => sum + l.floats.training, 0));
  // Inference frees as it goes, but a layer's output briefly exists beside its value before the
  // activation (or a layout copy): every output once, the largest twice.
  const outputs = layers.map((l) => l.floats.output);
  const inference = INFERENCE_BATCH * FLOAT_BYTES * (inputFloats + outputs.reduce((a, b) => a + b, 0) + Math.max(...outputs));
  const tape = step === 'eager' ? EAGER_ACTIVATION_FACTOR : 1;
  const activationBytes = Math.max(training * tape, inference);
  const top = layers.reduce((best, l) => (l.floats.training > best.floats.training ? l : best));
  const largest: LayerMemory = {
    path: `model.layers[${top.index}]`,
    description: kindOf(top.layer).describe(top.layer),
    bytes: config.batchSize * FLOAT_BYTES * top.floats.training * tape,
  };
  const copies = STATE_COPIES + (config.earlyStopping?.restoreBestWeights ? BEST_WEIGHTS_COPIES : 0);
  const stateBytes = copies * FLOAT_BYTES * parameters;
  const fixedBytes = RUNTIME_BASELINE_BYTES + stateBytes + activationBytes;
  return {
    batchSize: config.batchSize,
    parameters,
    stateBytes,
    activationBytes,
    largest,
    runtimeBytes: RUNTIME_BASELINE_BYTES,
    fixedBytes,
    bytesPerExample: DATA_BYTES_PER_EXAMPLE,
    bytesFor: (examples) => fixedBytes + examples * DATA_BYTES_PER_EXAMPLE,
    examplesThatFit: (memoryBytes) => Math.max(0, Math.floor((memoryBytes - fixedBytes) / DATA_BYTES_PER_EXAMPLE)),
  };
}

/** `25.7 GiB`, `312 MiB`: sizes for messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return `${Math.ceil(bytes / MiB)} MiB`;
}

/**
 * Measured peaks. Native backend (tfjs-node 4.22, TensorFlow 2.x CPU), one process per config:
 *   node --import tsx test/workflow/support/measure-training-memory.ts '<config JSON>' <examples>
 * peak = process.resourceUsage().maxRSS after 3 training steps, one epoch, and the validation
 * pass over the last 20 % (at least 2,561 examples, so it runs full 512-row batches); random
 * pixels (memory does not depend on values). 2 vCPUs shared, load 0.2-11; run through tsx,
 * which loads more code than a bundled Lambda. Estimates at the time of writing, for comparison:
 *
 *   step   batch  layers                                        examples  peak MiB  estimate MiB
 *   graph      1  flatten, dense 10                                 2561       457     519
 *   graph     64  walkthrough CNN                                   6000       584     646
 *   graph     64  walkthrough CNN                                  60000       641     730
 *   graph   1024  walkthrough CNN                                   3840       847     959
 *   graph    256  conv 64 same, conv 128 same, pool 2, dense 10     2561       914    1070
 *   graph    512  dense 4096, dropout, dense 10                     2561       643     699
 *   graph    128  dense 16384, dense 10                             2561       941    1080
 *   graph     32  conv 1024 valid, pool 2, dense 10                 2561      2562    3627
 *   graph   2048  conv 32, pool 2, dense 10                         7680      1101    1177
 *   graph    512  conv 128 same, pool 2, dense 10                   2561      1101    1228
 *   eager    256  conv 32, batchNorm, pool 2, dense 128, dense 10   2561       968    1041
 *   eager   1024  walkthrough CNN (FMNIST_TRAIN_STEP=eager)          3840      1698    1824
 *   eager     64  walkthrough CNN (FMNIST_TRAIN_STEP=eager)          6000       611     646
 *   eager     64  walkthrough CNN + batchNorm after each conv        2561       676     699
 *   eager    512  walkthrough CNN + batchNorm after each conv        2561      1597    1862
 *
 * The data set: 54,000 more examples measured +57 MiB (1.1 KB each; DATA_BYTES_PER_EXAMPLE
 * counts 1.6 KB). Never measured, by design: the 1024-filter "same" pair at batch 8192 (~148 GiB
 * estimated), which exhausts any machine here.
 */
export interface CalibrationPoint {
  step: TrainingStep;
  batchSize: number;
  layers: LayerSpec[];
  examples: number;
  peakMiB: number;
}

const conv = (filters: number, padding: 'valid' | 'same' = 'valid'): LayerSpec => ({ type: 'conv2d', filters, kernelSize: 3, activation: 'relu', padding });
const pool: LayerSpec = { type: 'maxPool2d', poolSize: 2 };
const flatten: LayerSpec = { type: 'flatten' };
const dense = (units: number): LayerSpec => ({ type: 'dense', units, activation: 'relu' });
const output: LayerSpec = { type: 'dense', units: 10, activation: 'softmax' };
const dropout: LayerSpec = { type: 'dropout', rate: 0.5 };
const batchNorm: LayerSpec = { type: 'batchNormalization' };
const walkthrough = [conv(32), pool, conv(64), pool, flatten, dense(128), dropout, output];
const walkthroughBatchNorm = [conv(32), batchNorm, pool, conv(64), batchNorm, pool, flatten, dense(128), dropout, output];

export const CALIBRATION: readonly CalibrationPoint[] = [
  { step: 'graph', batchSize: 1, layers: [flatten, output], examples: 2561, peakMiB: 457 },
  { step: 'graph', batchSize: 64, layers: walkthrough, examples: 6000, peakMiB: 584 },
  { step: 'graph', batchSize: 64, layers: walkthrough, examples: 60000, peakMiB: 641 },
  { step: 'graph', batchSize: 1024, layers: walkthrough, examples: 3840, peakMiB: 847 },
  { step: 'graph', batchSize: 256, layers: [conv(64, 'same'), conv(128, 'same'), pool, flatten, output], examples: 2561, peakMiB: 914 },
  { step: 'graph', batchSize: 512, layers: [flatten, dense(4096), dropout, output], examples: 2561, peakMiB: 643 },
  { step: 'graph', batchSize: 128, layers: [flatten, dense(16384), output], examples: 2561, peakMiB: 941 },
  { step: 'graph', batchSize: 32, layers: [conv(1024), pool, flatten, output], examples: 2561, peakMiB: 2562 },
  { step: 'graph', batchSize: 2048, layers: [conv(32), pool, flatten, output], examples: 7680, peakMiB: 1101 },
  { step: 'graph', batchSize: 512, layers: [conv(128, 'same'), pool, flatten, output], examples: 2561, peakMiB: 1101 },
  { step: 'eager', batchSize: 256, layers: [conv(32), batchNorm, pool, flatten, dense(128), output], examples: 2561, peakMiB: 968 },
  { step: 'eager', batchSize: 1024, layers: walkthrough, examples: 3840, peakMiB: 1698 },
  { step: 'eager', batchSize: 64, layers: walkthrough, examples: 6000, peakMiB: 611 },
  { step: 'eager', batchSize: 64, layers: walkthroughBatchNorm, examples: 2561, peakMiB: 676 },
  { step: 'eager', batchSize: 512, layers: walkthroughBatchNorm, examples: 2561, peakMiB: 1597 },
];
