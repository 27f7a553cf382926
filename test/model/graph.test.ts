import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { ConfigError } from '../../lib/errors.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { UNIT_PIXEL } from '../../lib/model/batches.ts';
import { buildModel } from '../../lib/model/build.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { GraphTrainer } from '../../lib/model/graph/graph-trainer.ts';
import { DT, encodeSavedModel, varint, type NodeDef } from '../../lib/model/graph/proto.ts';
import { nativeBinding, type NativeBinding } from '../../lib/model/graph/session.ts';
import { buildTrainGraph, graphSupports, type GraphOptions } from '../../lib/model/graph/train-graph.ts';
import { ADAM } from '../../lib/model/build.ts';
import { TRAIN_STEP_ENV_VAR } from '../../lib/model/choices.ts';
import { predict } from '../../lib/model/predict.ts';
import { seededRandom, shuffleInPlace } from '../../lib/model/shuffle.ts';
import { WALKTHROUGH_CNN, type ModelSpec } from '../../lib/model/spec.ts';
import { flipFlags } from '../../lib/model/augmentation.ts';
import { TrainStepper } from '../../lib/model/eager-step.ts';
import { trainModel } from '../../lib/model/train.ts';
import { nativeAddonLoads, scaledMaxDiff, squaresDataset } from './helpers.ts';

describe('protobuf encoding', () => {
  it('writes varints as protobuf does, negative int64 as ten bytes', () => {
    assert.deepEqual(Array.from(varint(1)), [1]);
    assert.deepEqual(Array.from(varint(300)), [0xac, 0x02]);
    assert.deepEqual(Array.from(varint(-1)), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('starts a SavedModel with its schema version', () => {
    assert.deepEqual(Array.from(encodeSavedModel([], ['serve']).subarray(0, 2)), [0x08, 0x01]);
  });
});

/** Every layer type and activation the graph implements, odd strides and paddings, inputs with one channel and several. */
const EXOTIC: ModelSpec = {
  layers: [
    { type: 'conv2d', filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' },
    { type: 'conv2d', filters: 4, kernelSize: 2, activation: 'relu6' },
    { type: 'maxPool2d', poolSize: 3, strides: 2, padding: 'same' },
    { type: 'conv2d', filters: 5, kernelSize: 3, padding: 'same', activation: 'elu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'flatten' },
    { type: 'dense', units: 12, activation: 'selu' },
    { type: 'dense', units: 11, activation: 'sigmoid' },
    { type: 'dropout', rate: 0 },
    { type: 'dense', units: 9, activation: 'softplus' },
    { type: 'dense', units: 8, activation: 'linear' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

/** Batch normalisation after a convolution (over channels) and after a dense layer (over features), with its settings varied. */
const BATCH_NORM: ModelSpec = {
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
    { type: 'batchNormalization' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'conv2d', filters: 5, kernelSize: 3, padding: 'same', activation: 'relu' },
    { type: 'batchNormalization', momentum: 0.9, epsilon: 0.01 },
    { type: 'flatten' },
    { type: 'dense', units: 12, activation: 'relu' },
    { type: 'batchNormalization', momentum: 0.5 },
    { type: 'dropout', rate: 0.2 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

/** Dropout and max pooling before the first weights: the graph must not differentiate past them. */
const POOL_FIRST: ModelSpec = {
  layers: [
    { type: 'dropout', rate: 0.2 },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'conv2d', filters: 6, kernelSize: 3, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

/**
 * Weights after the same Adam steps by two implementations agree to a tiny fraction of the
 * learning rate, except where a gradient is itself rounding noise around zero: Adam scales such
 * a gradient by learningRate / epsilon (1e5 here), so a few such weights may differ by a
 * noticeable part of one step. A wrong gradient or update formula moves most weights by O(lr).
 */
function assertSameUpdates(actual: Float32Array, expected: Float32Array, learningRate: number, what: string): void {
  const diffs = Array.from(actual, (v, j) => Math.abs(v - expected[j]) / learningRate).sort((x, y) => x - y);
  const mean = diffs.reduce((sum, d) => sum + d, 0) / diffs.length;
  const p999 = diffs[Math.floor(0.999 * (diffs.length - 1))];
  const max = diffs[diffs.length - 1];
  assert.ok(mean < 1e-3 && p999 < 1e-2 && max < 0.25, `${what}: differences in learning rates: mean ${mean}, 99.9th percentile ${p999}, max ${max}`);
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let [dot, aa, bb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) [dot, aa, bb] = [dot + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
  return dot / Math.sqrt(aa * bb);
}

/** The graph's alternative ways to the same step (the default is the third). */
const WINDOWS_EVERYWHERE: GraphOptions = { windowsMaxChannels: 64, poolFirst: true };
const PLAIN: GraphOptions = { windowsMaxChannels: 0, poolFirst: false };
/** The batch cut into pieces that run side by side (the last piece takes the rest: 16 rows are 5, 5 and 6). */
const TWO_CHAINS: GraphOptions = { chains: 2 };
const THREE_CHAINS: GraphOptions = { chains: 3 };
/** As many as the train Lambda runs (6 vCPUs): 16 rows are five pieces of 2 and one of 6. */
const SIX_CHAINS: GraphOptions = { chains: 6 };

describe('the graph training step on native TensorFlow', { skip: nativeAddonLoads() ? false : 'tfjs-node is not installed' }, () => {
  let binding: NativeBinding;
  const data = squaresDataset(40);
  const settings = { learningRate: 0.01, seed: 11 };
  const order = shuffleInPlace(Uint32Array.from({ length: data.count }, (_, i) => i), seededRandom(3));
  const models: tf.LayersModel[] = [];
  const trainers: GraphTrainer[] = [];

  before(async () => {
    await initBackend('tensorflow');
    binding = nativeBinding()!;
    assert.ok(binding, 'the tensorflow backend exposes its binding');
  });

  after(() => {
    trainers.forEach((trainer) => trainer.dispose());
    models.forEach((model) => model.dispose());
  });

  function model(spec: ModelSpec): tf.LayersModel {
    const built = buildModel(spec, settings);
    models.push(built);
    return built;
  }

  async function trainer(spec: ModelSpec, options?: GraphOptions): Promise<GraphTrainer> {
    const created = await GraphTrainer.create(binding, model(spec), spec, data, 16, options);
    trainers.push(created);
    return created;
  }

  function weights(m: tf.LayersModel): Float32Array[] {
    return m.getWeights().map((w) => w.dataSync() as Float32Array);
  }

  const cases = [
    { name: 'the walkthrough CNN', spec: WALKTHROUGH_CNN, variants: [undefined, PLAIN, TWO_CHAINS, SIX_CHAINS] },
    { name: 'every layer and activation', spec: EXOTIC, variants: [undefined, PLAIN, WINDOWS_EVERYWHERE, THREE_CHAINS] },
    { name: 'pooling first', spec: POOL_FIRST, variants: [undefined, PLAIN, TWO_CHAINS] },
    // Batch statistics are the whole batch's: chains are not taken (the step stays the same).
    { name: 'batch normalization', spec: BATCH_NORM, variants: [undefined, PLAIN, TWO_CHAINS] },
  ];
  for (const { name, spec, variants } of cases) {
    it(`takes the gradients tfjs' autodiff takes, for ${name}`, async () => {
      for (const options of variants) {
        const eager = new TrainStepper(model(spec), 16);
        const graph = await trainer(spec, options);
        // Two batches, the second using the next dropout masks on both sides; then a batch of 2
        // rows (three chains get pieces of 0, 0 and 2 rows).
        for (const [from, to] of [[0, 16], [16, 32], [32, 34]]) {
          const expected = eager.gradients(data, order, from, to);
          const actual = graph.inspectStep(order, from, to).gradients;
          assert.equal(actual.length, expected.length);
          actual.forEach((gradient, i) => {
            const diff = scaledMaxDiff(gradient, expected[i]);
            assert.ok(diff < 1e-4, `${JSON.stringify(options)} batch at ${from}: gradient ${i} differs by ${diff} of its largest value`);
          });
        }
      }
    });

    it(`leaves the weights the layers-API steps leave, for ${name}`, async () => {
      const eagerModel = model(spec);
      const eager = new TrainStepper(eagerModel, 16);
      const graph = await trainer(spec);
      for (const from of [0, 16, 24]) {
        const to = Math.min(from + 16, data.count);
        const expected = eager.step(data, order, from, to);
        const actual = graph.step(order, from, to, { learningRate: settings.learningRate });
        assert.ok(Math.abs(actual.loss - expected.loss.dataSync()[0]) < 1e-5 * Math.max(1, actual.loss), `loss at ${from}`);
        assert.equal(actual.correct, expected.correct.dataSync()[0], `correct at ${from}`);
        tf.dispose([expected.loss, expected.correct]);
      }
      graph.copyWeightsToModel();
      const [after, reference] = [weights(graph.model), weights(eagerModel)];
      const start = weights(model(spec));
      const trainable = eagerModel.trainableWeights.length;
      after.forEach((w, i) => {
        // Moving statistics (after the trainable weights) are averages of activations, not Adam
        // steps: compared relative to their size. They follow the weights' rounding differences
        // through every layer below (measured up to 5e-5 after a dense layer, momentum 0.5).
        if (i < trainable) assertSameUpdates(w, reference[i], settings.learningRate, `weight ${i}`);
        else assert.ok(scaledMaxDiff(w, reference[i]) < 2e-4, `moving statistic ${i}: differs by ${scaledMaxDiff(w, reference[i])} of its largest value`);
        assert.ok(scaledMaxDiff(w, start[i]) > 0, `weight ${i} moved`);
      });
    });
  }

  it('runs a batch in chains side by side when asked: each chain its own layers, one mask feed per layer, one piece for a model with state', () => {
    const count = (graph: { nodes: NodeDef[] }, op: string) => graph.nodes.filter((node) => node.op === op).length;
    const [plain, chained] = [buildTrainGraph(WALKTHROUGH_CNN, ADAM), buildTrainGraph(WALKTHROUGH_CNN, ADAM, TWO_CHAINS)];
    assert.equal(plain.chains, 1);
    assert.equal(chained.chains, 2);
    // The chained step's two kernel gradients per convolution, plus the one-piece step's one.
    assert.equal(count(chained, 'Conv2DBackpropFilter'), 3 * count(plain, 'Conv2DBackpropFilter'));
    assert.equal(chained.fetches.single?.below, 2);
    assert.equal(chained.feeds.dropoutMasks.length, plain.feeds.dropoutMasks.length, 'one mask feed per dropout layer, cut in the graph');
    const withState = buildTrainGraph(BATCH_NORM, ADAM, TWO_CHAINS);
    assert.equal(withState.chains, 1, "batch statistics are the whole batch's");
    assert.equal(withState.fetches.single, undefined);
  });

  it("applies Adam in one fused kernel as tfjs' element-wise ops do", async () => {
    const [fused, ops] = [await trainer(EXOTIC), await trainer(EXOTIC, { adam: 'ops' })];
    for (const from of [0, 16, 24]) {
      const [a, b] = [fused.step(order, from, from + 16, { learningRate: settings.learningRate }), ops.step(order, from, from + 16, { learningRate: settings.learningRate })];
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss at ${from}: ${a.loss} vs ${b.loss}`);
    }
    fused.copyWeightsToModel();
    ops.copyWeightsToModel();
    const [a, b] = [weights(fused.model), weights(ops.model)];
    a.forEach((w, i) => assertSameUpdates(w, b[i], settings.learningRate, `weight ${i}`));
  });

  it('computes the convolutions in bfloat16 when asked (precision "bfloat16"): every convolution and nothing else, gradients within its rounding', async () => {
    for (const spec of [WALKTHROUGH_CNN, EXOTIC]) {
      const nodes = buildTrainGraph(spec, ADAM, { precision: 'bfloat16' }).nodes;
      const typeOf = (node: NodeDef) => (node.attrs.T as { value: number } | undefined)?.value;
      const gradients = nodes.filter((node) => node.op.startsWith('Conv2DBackprop'));
      assert.ok(gradients.length >= 2, 'input and kernel gradients');
      for (const node of gradients) assert.equal(typeOf(node), DT.bfloat16, `${node.name} computes in bfloat16`);
      // Forward: the training pass's in bfloat16, the validation pass's (one per layer) in float32 as every prediction.
      const forward = nodes.filter((node) => node.op === 'Conv2D');
      const layers = spec.layers.filter((layer) => layer.type === 'conv2d').length;
      assert.equal(forward.filter((node) => typeOf(node) === DT.float).length, layers);
      assert.equal(forward.filter((node) => typeOf(node) === DT.bfloat16).length, forward.length - layers);
      for (const node of nodes.filter((candidate) => candidate.op === 'MatMul' || candidate.op === 'ResourceApplyAdam')) assert.equal(typeOf(node), DT.float, `${node.name} stays float32`);
      assert.ok(buildTrainGraph(spec, ADAM).nodes.every((node) => typeOf(node) !== DT.bfloat16), 'float32 by default');

      // bfloat16 keeps 8 bits of mantissa: each gradient keeps its direction (sums over many
      // positions can lose more than 2^-8 of a small component to cancellation).
      const eager = new TrainStepper(model(spec), 16);
      const graph = await trainer(spec, { precision: 'bfloat16' });
      const expected = eager.gradients(data, order, 0, 16);
      const actual = graph.inspectStep(order, 0, 16).gradients;
      const cosines = actual.map((gradient, i) => cosine(gradient, expected[i]));
      assert.ok(Math.min(...cosines) > 0.99, `cosine similarities to float32's gradients: ${cosines.map((c) => c.toFixed(5)).join(', ')}`);
      assert.ok(scaledMaxDiff(actual[0], expected[0]) > 1e-4, "the first kernel's gradient is bfloat16's, not float32's");
    }
  });

  it('refuses precision "bfloat16" where the graph step cannot run, rather than training in float32', async () => {
    const config = parseTrainConfig({ epochs: 1, batchSize: 8, model: POOL_FIRST, precision: 'bfloat16' });
    await assert.rejects(trainModel(data, config, { trainStep: 'eager' }), (error: unknown) => error instanceof ConfigError && /precision "bfloat16" needs the graph training step/.test(error.message));
    try {
      await assert.rejects(trainModel(data, { ...config, backend: 'cpu' }), (error: unknown) => error instanceof ConfigError && /backend: cpu/.test(error.message));
    } finally {
      await initBackend('tensorflow');
    }
  });

  it("takes the learning rate it is given at each step, as tfjs' Adam does (a schedule)", async () => {
    const rates = [0.01, 0.004, 0.0005];
    const eagerModel = model(EXOTIC);
    const eager = new TrainStepper(eagerModel, 16);
    const [scheduled, constant] = [await trainer(EXOTIC), await trainer(EXOTIC)];
    [0, 16, 24].forEach((from, i) => {
      eager.setLearningRate(rates[i]);
      const expected = eager.step(data, order, from, from + 16);
      tf.dispose([expected.loss, expected.correct]);
      scheduled.step(order, from, from + 16, { learningRate: rates[i] });
      constant.step(order, from, from + 16, { learningRate: rates[0] });
    });
    scheduled.copyWeightsToModel();
    constant.copyWeightsToModel();
    const [a, b, c] = [weights(scheduled.model), weights(eagerModel), weights(constant.model)];
    a.forEach((w, i) => assertSameUpdates(w, b[i], rates[2], `weight ${i}`));
    assert.ok(a.some((w, i) => scaledMaxDiff(w, c[i]) > 1e-4), 'the rates change the weights');
  });

  it('mirrors the examples flagged for augmentation, exactly as the eager step does', async () => {
    const flips = [0, 16, 24].map((from) => flipFlags(new Float32Array(16), 9, from));
    const eagerModel = model(EXOTIC);
    const eager = new TrainStepper(eagerModel, 16);
    const [flipped, plain] = [await trainer(EXOTIC, { horizontalFlip: true }), await trainer(EXOTIC)];
    // Inspecting uses up a dropout mask: on trainers of their own.
    const { images } = (await trainer(EXOTIC, { horizontalFlip: true })).inspectStep(order, 0, 16, flips[0]);
    const { images: unflipped } = (await trainer(EXOTIC)).inspectStep(order, 0, 16);
    for (let i = 0; i < 16; i++) {
      for (let row = 0; row < 28; row++) {
        for (let column = 0; column < 28; column++) {
          const source = flips[0][i] === 1 ? 27 - column : column;
          assert.equal(images[i * 784 + row * 28 + column], unflipped[i * 784 + row * 28 + source]);
        }
      }
    }
    assert.ok(flips[0].includes(1) && flips[0].includes(0), 'some examples mirrored, some not');
    [0, 16, 24].forEach((from, i) => {
      const expected = eager.step(data, order, from, from + 16, flips[i]);
      tf.dispose([expected.loss, expected.correct]);
      flipped.step(order, from, from + 16, { learningRate: settings.learningRate, flips: flips[i] });
      plain.step(order, from, from + 16, { learningRate: settings.learningRate });
    });
    flipped.copyWeightsToModel();
    plain.copyWeightsToModel();
    const [a, b, c] = [weights(flipped.model), weights(eagerModel), weights(plain.model)];
    a.forEach((w, i) => assertSameUpdates(w, b[i], settings.learningRate, `weight ${i}`));
    assert.ok(a.some((w, i) => scaledMaxDiff(w, c[i]) > 1e-4), 'mirroring changes the weights');
    assert.throws(() => flipped.step(order, 0, 16, { learningRate: 0.01 }), /built with horizontal flips/);
  });

  it('scales pixels exactly as the eager batches do, for every byte value', async () => {
    const images = new Uint8Array(256 * PIXELS_PER_IMAGE);
    for (let v = 0; v < 256; v++) images.fill(v, v * PIXELS_PER_IMAGE, (v + 1) * PIXELS_PER_IMAGE);
    const m = model(WALKTHROUGH_CNN);
    const graph = await GraphTrainer.create(binding, m, WALKTHROUGH_CNN, { images, labels: new Uint8Array(256), count: 256 }, 256);
    trainers.push(graph);
    const { images: scaled } = graph.inspectStep(Uint32Array.from({ length: 256 }, (_, i) => i), 0, 256);
    for (let v = 0; v < 256; v++) assert.equal(scaled[v * PIXELS_PER_IMAGE], UNIT_PIXEL[v], `byte ${v}`);
  });

  it('predicts what the trained tfjs model predicts', async () => {
    const graph = await trainer(EXOTIC);
    graph.step(order, 0, 16, { learningRate: settings.learningRate });
    graph.copyWeightsToModel();
    const expected = (await predict(graph.model, data)).probabilities;
    assert.ok(scaledMaxDiff(graph.predictRange(0, data.count), expected) < 1e-5);
    assert.deepEqual(graph.predictRange(5, 5), new Float32Array(0));
    assert.throws(() => graph.predictRange(0, data.count + 1), RangeError);
  });

  it('predicts in inference mode with the moving statistics, as the tfjs model does', async () => {
    const graph = await trainer(BATCH_NORM);
    const fresh = model(BATCH_NORM);
    const before = fresh.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
    for (const from of [0, 16, 24]) graph.step(order, from, from + 16, { learningRate: settings.learningRate });
    graph.copyWeightsToModel();
    const moving = graph.model.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
    assert.equal(moving.length, 6, 'mean and variance of three layers');
    moving.forEach((values, i) => assert.ok(values.some((v, j) => v !== before[i][j]), `moving statistic ${i} moved`));
    assert.deepEqual(graph.readState().state, moving, 'a checkpoint reads the same moving statistics');
    const expected = (await predict(graph.model, data)).probabilities;
    assert.ok(scaledMaxDiff(graph.predictRange(0, data.count), expected) < 1e-5);
  });

  it('trains a batch-normalized model as one graph per step, close to the eager step', async () => {
    const config = parseTrainConfig({ epochs: 1, batchSize: 8, validationSplit: 0.25, learningRate: 0.01, model: BATCH_NORM, backend: 'tensorflow' });
    assert.equal(graphSupports(config.model), true);
    const graph = await trainModel(data, config);
    const eager = await trainModel(data, config, { trainStep: 'eager' });
    try {
      assert.equal(graph.backend.trainingStep, 'graph');
      assert.equal(eager.backend.trainingStep, 'eager');
      assert.ok(Math.abs(eager.history[0].loss - graph.history[0].loss) < 1e-4, `${eager.history[0].loss} vs ${graph.history[0].loss}`);
      assert.ok(Math.abs(eager.history[0].val_loss! - graph.history[0].val_loss!) < 1e-3, `${eager.history[0].val_loss} vs ${graph.history[0].val_loss}`);
    } finally {
      graph.model.dispose();
      eager.model.dispose();
    }
  });

  it('trains through trainModel as a graph, reproducibly, without leaking native tensors or sessions', async () => {
    const config = parseTrainConfig({ epochs: 2, batchSize: 8, validationSplit: 0.25, learningRate: 0.01, model: EXOTIC, backend: 'tensorflow' });
    const [tensors, sessions, tfjsTensors] = [binding.getNumOfTensors(), binding.getNumOfSavedModels(), tf.memory().numTensors];
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const result = await trainModel(data, config);
      assert.equal(result.backend.trainingStep, 'graph');
      const validation = { images: data.images.subarray(30 * PIXELS_PER_IMAGE), labels: data.labels.subarray(30), count: 10 };
      const { probabilities } = await predict(result.model, validation);
      assert.ok(Number.isFinite(result.history[1].val_loss), 'validation ran');
      runs.push({ history: result.history.map((log) => [log.loss, log.accuracy, log.val_loss, log.val_accuracy]), weights: weights(result.model), probabilities });
      result.model.dispose();
    }
    assert.deepEqual(runs[0], runs[1]);
    assert.equal(binding.getNumOfTensors(), tensors);
    assert.equal(binding.getNumOfSavedModels(), sessions);
    assert.equal(tf.memory().numTensors, tfjsTensors);
  });

  it('stops when aborted mid-training, closing its session and releasing every tensor', async () => {
    const config = parseTrainConfig({ epochs: 500, batchSize: 8, validationSplit: 0.25, learningRate: 0.01, model: EXOTIC, backend: 'tensorflow' });
    const [tensors, sessions, tfjsTensors] = [binding.getNumOfTensors(), binding.getNumOfSavedModels(), tf.memory().numTensors];
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let epochs = 0;
    let openSessions = 0;
    try {
      await assert.rejects(
        trainModel(data, config, {
          signal: controller.signal,
          onEpochEnd: () => {
            epochs++;
            openSessions = binding.getNumOfSavedModels();
            timer ??= setTimeout(() => controller.abort(new Error('SIGTERM')), 20);
          },
        }),
        (error: unknown) => error instanceof Error && error.name === 'TrainingAborted' && /SIGTERM/.test(error.message),
      );
    } finally {
      clearTimeout(timer);
    }
    assert.ok(epochs >= 1 && epochs < 500, `aborted after ${epochs} epochs`);
    assert.equal(openSessions, sessions + 1, 'a graph session was open while training');
    assert.equal(binding.getNumOfTensors(), tensors);
    assert.equal(binding.getNumOfSavedModels(), sessions);
    assert.equal(tf.memory().numTensors, tfjsTensors);
  });

  it("trains op by op with trainStep 'eager' to nearly the same result, and refuses 'graph' where it cannot run", async () => {
    const config = parseTrainConfig({ epochs: 1, batchSize: 8, validationSplit: 0.25, learningRate: 0.01, model: POOL_FIRST, backend: 'tensorflow' });
    const graph = await trainModel(data, config);
    const eager = await trainModel(data, config, { trainStep: 'eager' });
    assert.equal(eager.backend.trainingStep, 'eager');
    assert.ok(Math.abs(eager.history[0].loss - graph.history[0].loss) < 1e-4, `${eager.history[0].loss} vs ${graph.history[0].loss}`);
    assert.equal(eager.history[0].accuracy, graph.history[0].accuracy);
    eager.model.dispose();
    graph.model.dispose();

    // lib/model reads no environment: the edges parse FMNIST_TRAIN_STEP (lib/model/choices.ts).
    process.env[TRAIN_STEP_ENV_VAR] = 'eager';
    try {
      const unaffected = await trainModel(data, config);
      assert.equal(unaffected.backend.trainingStep, 'graph');
      unaffected.model.dispose();
    } finally {
      delete process.env[TRAIN_STEP_ENV_VAR];
    }

    // Insisting on the graph where it cannot run, or a misspelt choice, fails before training.
    try {
      await assert.rejects(trainModel(data, { ...config, backend: 'cpu' }, { trainStep: 'graph' }), (error: unknown) => error instanceof ConfigError && /native TensorFlow backend/.test(error.message));
    } finally {
      await initBackend('tensorflow');
    }
    await assert.rejects(trainModel(data, config, { trainStep: 'graf' as 'graph' }), (error: unknown) => error instanceof ConfigError && /^trainStep: must be auto, graph or eager, got "graf"$/.test(error.message));
  });
});
