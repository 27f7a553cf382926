import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { localFile } from '../../lib/data/input-file.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { GRAPH_PREDICT_ROWS, GraphPredictor, graphRoute, predictModel, predictRows } from '../../lib/model/graph/graph-predictor.ts';
import { buildPredictGraph } from '../../lib/model/graph/predict-graph.ts';
import { GraphSession, nativeBinding, type NativeBinding } from '../../lib/model/graph/session.ts';
import { loadModel, saveModel, type ModelMetadata } from '../../lib/model/io.ts';
import { predict } from '../../lib/model/predict.ts';
import { ModelSpec } from '../../lib/model/spec.ts';
import { trainModel } from '../../lib/model/train.ts';
import { runEvaluateStep } from '../../lib/workflow/evaluate-step.ts';
import { MODEL_FILES, REPORT_FILES } from '../../lib/workflow/files.ts';
import { runTrainStep } from '../../lib/workflow/train-step.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { nativeAddonLoads, squaresDataset } from './helpers.ts';

/** Every layer kind with a graph part: conv2d valid and same, max pooling, batch normalisation over channels and features, dropout, flatten, dense. */
const EVERY_KIND = ModelSpec.parse({
  layers: [
    { type: 'conv2d', filters: 6, kernelSize: 3, activation: 'relu' },
    { type: 'batchNormalization' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'conv2d', filters: 8, kernelSize: 3, padding: 'same', activation: 'elu' },
    { type: 'maxPool2d', poolSize: 2, strides: 2, padding: 'same' },
    { type: 'dropout', rate: 0.25 },
    { type: 'flatten' },
    { type: 'dense', units: 16, activation: 'relu' },
    { type: 'batchNormalization', momentum: 0.5, epsilon: 0.01 },
    { type: 'dropout', rate: 0.5 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
});

/** Largest absolute difference, and how many rows' most probable class differ. */
function compare(actual: { probabilities: Float32Array; predicted: Uint8Array }, expected: { probabilities: Float32Array; predicted: Uint8Array }) {
  assert.equal(actual.probabilities.length, expected.probabilities.length);
  let maxDiff = 0;
  actual.probabilities.forEach((p, i) => (maxDiff = Math.max(maxDiff, Math.abs(p - expected.probabilities[i]))));
  const argmaxDiffs = actual.predicted.reduce((n, c, i) => n + (c === expected.predicted[i] ? 0 : 1), 0);
  return { maxDiff, argmaxDiffs };
}

describe('predicting through the inference graph', { skip: nativeAddonLoads() ? false : 'tfjs-node is not installed' }, () => {
  let dir: string;
  let binding: NativeBinding;
  let model: tf.LayersModel;
  let metadata: ModelMetadata | undefined;
  // Examples it did not train on, a count that leaves a partial last batch.
  const unseen = squaresDataset(250, 7);

  before(async () => {
    await initBackend('tensorflow');
    binding = nativeBinding()!;
    dir = await mkdtemp(join(tmpdir(), 'fmnist-graph-predict-'));
    // A few Adam steps through the graph trainer move every weight and the moving statistics.
    const config = parseTrainConfig({ epochs: 2, batchSize: 16, validationSplit: 0, learningRate: 0.01, model: EVERY_KIND, backend: 'tensorflow' });
    const trained = await trainModel(squaresDataset(96), config);
    assert.equal(trained.backend.trainingStep, 'graph');
    await saveModel(trained.model, join(dir, 'model'), { training: { config } });
    trained.model.dispose();
    ({ model, metadata } = await loadModel(join(dir, 'model')));
  });

  after(async () => {
    model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives tfjs predict\'s probabilities (within 1e-5) and classes on a trained model with every layer kind', async () => {
    const moving = model.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
    assert.equal(moving.length, 4, 'moving mean and variance of two batch normalisations');
    assert.ok(moving[0].some((v) => v !== 0) && moving[1].some((v) => v !== 1), 'training moved the moving statistics away from their start');

    const expected = await predict(model, unseen);
    // After tfjs' predict: tfjs-node gives a weight its native tensor on first use, and keeps it.
    const [tensors, sessions] = [binding.getNumOfTensors(), binding.getNumOfSavedModels()];
    const { prediction, route } = await predictModel(model, metadata, unseen);
    assert.deepEqual(route, { via: 'graph' });
    const { maxDiff, argmaxDiffs } = compare(prediction, expected);
    assert.ok(maxDiff < 1e-5, `probabilities differ by up to ${maxDiff}`);
    assert.equal(argmaxDiffs, 0);
    assert.ok(new Set(expected.predicted).size > 1, 'the model tells classes apart (a constant model would agree trivially)');
    assert.equal(binding.getNumOfTensors(), tensors, 'no native tensor outlives the prediction');
    assert.equal(binding.getNumOfSavedModels(), sessions, 'the session is closed');
  });

  it('calls with fewer rows for a wide model, so one call\'s activations stay near 256 MB', () => {
    assert.equal(predictRows(EVERY_KIND), GRAPH_PREDICT_ROWS);
    // 512 filters on 28 x 28, same padding: (784 + 401,408) floats of input and output per example.
    const wide = ModelSpec.parse({ layers: [{ type: 'conv2d', filters: 512, kernelSize: 3, padding: 'same', activation: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }] });
    assert.equal(predictRows(wide), Math.floor((256 * 2 ** 20) / (4 * (784 + 28 * 28 * 512))));
  });

  it('gives the same probabilities whatever the rows per call, and refuses images that do not match the count', async () => {
    const route = graphRoute(model, metadata);
    assert.ok('spec' in route);
    const predictor = await GraphPredictor.create(route.binding, route.spec, model);
    try {
      const whole = predictor.predict(unseen, 1000);
      assert.deepEqual(predictor.predict(unseen, 64).probabilities, whole.probabilities);
      // One row a call: fewer rows than chains run in one piece (fetches.single).
      assert.deepEqual(predictor.predict(unseen, 1).probabilities, whole.probabilities);
      assert.throws(() => predictor.predict({ images: unseen.images, count: unseen.count + 1 }), /expected 196784 pixels for 251 images/);
    } finally {
      predictor.dispose();
    }
  });

  it('gives the same probabilities when each call runs in chains side by side (the rows cut into pieces and joined again)', async () => {
    const route = graphRoute(model, metadata);
    assert.ok('spec' in route);
    const read = (weights: tf.LayerVariable[]) => weights.map((w) => w.read().dataSync() as Float32Array);
    const values = { weights: read(model.trainableWeights), state: read(model.nonTrainableWeights) };
    const [single, chained] = [buildPredictGraph(route.spec, values, 1), buildPredictGraph(route.spec, values, 3)];
    const convolutions = (nodes: { op: string }[]) => nodes.filter((node) => node.op === 'Conv2D').length;
    // Three chains and the one-piece endpoint.
    assert.equal(convolutions(chained.nodes), 4 * convolutions(single.nodes), 'each chain has its own layers');
    const run = async (graph: typeof single, rows: number, fetch = graph.fetches.probabilities) => {
      const session = await GraphSession.load(binding, graph.nodes);
      try {
        return session.run(
          [
            { name: graph.feeds.images, shape: [rows, 28, 28, 1], values: unseen.images.subarray(0, rows * 784) },
            { name: graph.feeds.pixelScale, shape: [], values: new Float32Array([255]) },
          ],
          [fetch],
        )[0];
      } finally {
        session.dispose();
      }
    };
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      assert.equal(b.length, a.length);
      return Math.max(...Array.from(a, (p, i) => Math.abs(p - b[i])));
    };
    // 251 rows: pieces of 83, 83 and 85, in order.
    const diff = maxDiff(await run(single, unseen.count), await run(chained, unseen.count));
    assert.ok(diff < 1e-6, `probabilities differ by up to ${diff}`);
    // Fewer rows than chains: the one-piece endpoint.
    assert.equal(chained.fetches.single?.below, 3);
    const few = maxDiff(await run(single, 2), await run(chained, 2, chained.fetches.single!.probabilities));
    assert.ok(few < 1e-6, `two rows: probabilities differ by up to ${few}`);
  });

  it('would notice inference that used the batch statistics\' starting values (the comparison has teeth)', async () => {
    const route = graphRoute(model, metadata);
    assert.ok('spec' in route);
    const read = (weights: tf.LayerVariable[]) => weights.map((w) => w.read().dataSync() as Float32Array);
    const state = read(model.nonTrainableWeights).map((values, i) => values.map(() => (i % 2 === 0 ? 0 : 1)));
    const graph = buildPredictGraph(route.spec, { weights: read(model.trainableWeights), state });
    const session = await GraphSession.load(binding, graph.nodes);
    try {
      const [wrong] = session.run(
        [
          { name: graph.feeds.images, shape: [unseen.count, 28, 28, 1], values: unseen.images },
          { name: graph.feeds.pixelScale, shape: [], values: new Float32Array([255]) },
        ],
        [graph.fetches.probabilities],
      );
      const expected = await predict(model, unseen);
      const maxDiff = Math.max(...Array.from(wrong, (p, i) => Math.abs(p - expected.probabilities[i])));
      assert.ok(maxDiff > 1e-3, `starting statistics change the probabilities by ${maxDiff}`);
    } finally {
      session.dispose();
    }
  });

  it('falls back to tfjs, saying why, without a recorded spec, with one the model does not match, or off the native backend', async () => {
    const expected = await predict(model, unseen);
    const recorded = (metadata!.training as { config: { model: ModelSpec } }).config;
    const withLayers = (layers: unknown[]) => ({ training: { config: { ...recorded, model: { layers } } } });
    const cases: [ModelMetadata | undefined, RegExp][] = [
      [undefined, /records no model spec/],
      [withLayers([{ type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }]), /11 layers, the spec has 2/],
      [withLayers(EVERY_KIND.layers.map((layer, i) => (i === 0 ? { ...layer, activation: 'tanh' } : layer))), /layer 0's activation is "relu", the spec's "tanh"/],
      [withLayers(EVERY_KIND.layers.map((layer, i) => (i === 3 ? { ...layer, padding: 'valid' } : layer))), /layer 3's padding is "same", the spec's "valid"/],
      [withLayers([{ type: 'conv2d', filters: 0, kernelSize: 3, activation: 'relu' }]), /recorded spec is not valid/],
    ];
    for (const [meta, reason] of cases) {
      const { prediction, route } = await predictModel(model, meta, unseen);
      assert.equal(route.via, 'tfjs');
      assert.match((route as { reason: string }).reason, reason);
      assert.deepEqual(prediction, expected, 'tfjs predicts as before');
    }

    await tf.setBackend('cpu');
    try {
      const { prediction, route } = await predictModel(model, metadata, unseen);
      assert.deepEqual(route, { via: 'tfjs', reason: 'the cpu backend has no native TensorFlow session' });
      assert.equal(compare(prediction, expected).argmaxDiffs, 0);
    } finally {
      await tf.setBackend('tensorflow');
    }
  });
});

describe('the evaluate step through the graph', { skip: nativeAddonLoads() ? false : 'tfjs-node is not installed' }, () => {
  let dir: string;

  before(async () => {
    await initBackend('tensorflow');
    dir = await mkdtemp(join(tmpdir(), 'fmnist-graph-evaluate-'));
    await writeFile(join(dir, 'train.csv'), syntheticKaggleCsv(120, 1).text);
    await writeFile(join(dir, 'test.csv'), syntheticKaggleCsv(300, 2).text);
    await ingestDataset({ train: [localFile(join(dir, 'train.csv'))], test: [localFile(join(dir, 'test.csv'))], outDir: join(dir, 'dataset') });
    const config = parseTrainConfig({ epochs: 1, batchSize: 16, model: EVERY_KIND, backend: 'tensorflow' });
    await runTrainStep({ datasetDir: join(dir, 'dataset'), modelDir: join(dir, 'model'), config, runId: 'graph-evaluate-test' });
    // The same weights without the recorded spec: the evaluate step predicts with tfjs as before.
    await cp(join(dir, 'model'), join(dir, 'model-tfjs'), { recursive: true });
    const modelJson = JSON.parse(await readFile(join(dir, 'model-tfjs', MODEL_FILES.model), 'utf8')) as { userDefinedMetadata?: unknown };
    delete modelJson.userDefinedMetadata;
    await writeFile(join(dir, 'model-tfjs', MODEL_FILES.model), JSON.stringify(modelJson));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the report tfjs predictions write: the same classes, report, matrices and charts', async () => {
    const routeOf = async (modelDir: string) => {
      const { model, metadata } = await loadModel(modelDir);
      try {
        return 'reason' in graphRoute(model, metadata) ? 'tfjs' : 'graph';
      } finally {
        model.dispose();
      }
    };
    assert.equal(await routeOf(join(dir, 'model')), 'graph');
    assert.equal(await routeOf(join(dir, 'model-tfjs')), 'tfjs');

    const viaGraph = await runEvaluateStep({ datasetDir: join(dir, 'dataset'), modelDir: join(dir, 'model'), reportDir: join(dir, 'report-graph') });
    const viaTfjs = await runEvaluateStep({ datasetDir: join(dir, 'dataset'), modelDir: join(dir, 'model-tfjs'), reportDir: join(dir, 'report-tfjs') });
    const { modelSha256: _a, loss: lossGraph, ...graphMetrics } = viaGraph;
    const { modelSha256: _b, loss: lossTfjs, ...tfjsMetrics } = viaTfjs;
    assert.deepEqual(graphMetrics, tfjsMetrics);
    assert.ok(Math.abs(lossGraph - lossTfjs) < 1e-6, `test loss ${lossGraph} vs ${lossTfjs}`);

    // The page and the model card name the model files' hashes, which differ by construction (model.json lost its metadata).
    const differByHash: string[] = [REPORT_FILES.indexHtml, REPORT_FILES.modelCard, REPORT_FILES.metrics];
    const files = (await readdir(join(dir, 'report-graph'))).filter((name) => !differByHash.includes(name)).sort();
    assert.deepEqual(files, (await readdir(join(dir, 'report-tfjs'))).filter((name) => !differByHash.includes(name)).sort());
    assert.ok(files.includes(REPORT_FILES.predictions) && files.includes(REPORT_FILES.confusionMatrixPng) && files.includes(REPORT_FILES.misclassifiedPng));
    for (const name of files) {
      assert.deepEqual(await readFile(join(dir, 'report-graph', name)), await readFile(join(dir, 'report-tfjs', name)), name);
    }
  });
});
