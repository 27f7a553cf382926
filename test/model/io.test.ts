import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/model/backend.ts';
import { buildModel } from '../../lib/model/build.ts';
import {
  filesToModelArtifacts,
  loadModel,
  MODEL_JSON,
  modelFromFiles,
  modelToFiles,
  saveModel,
  WEIGHTS_BIN,
} from '../../lib/model/io.ts';
import { predict } from '../../lib/model/predict.ts';
import type { ModelSpec } from '../../lib/model/spec.ts';
import { squaresDataset } from './helpers.ts';

const SPEC: ModelSpec = {
  layers: [
    { type: 'conv2d', filters: 3, kernelSize: 3, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'batchNormalization' },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.5 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};

let dir: string;
before(async () => {
  await initBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'fmnist-model-io-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model files', () => {
  it('save and load round-trip weights, predictions and metadata', async () => {
    const data = squaresDataset(12);
    const model = buildModel(SPEC, { learningRate: 0.001, seed: 9 });
    const metadata = { runId: 'r1', history: [{ epoch: 1, loss: 0.5 }] };
    const written = await saveModel(model, join(dir, 'a'), metadata);
    assert.deepEqual(written, [join(dir, 'a', WEIGHTS_BIN), join(dir, 'a', MODEL_JSON)]);
    assert.deepEqual((await readdir(join(dir, 'a'))).sort(), [MODEL_JSON, WEIGHTS_BIN]);

    const loaded = await loadModel(join(dir, 'a'));
    assert.deepEqual(loaded.metadata, metadata);
    const before = await predict(model, data);
    const after = await predict(loaded.model, data);
    assert.deepEqual(after.probabilities, before.probabilities);
    // Loaded compiled, ready for evaluate.
    assert.equal(loaded.model.loss, 'categoricalCrossentropy');
    // The standard tfjs layers format: what tf.loadLayersModel and the Python converter read.
    const json = JSON.parse(await readFile(join(dir, 'a', MODEL_JSON), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.deepEqual(json.weightsManifest[0].paths, [WEIGHTS_BIN]);
    assert.ok(json.modelTopology.config.layers.some((layer: { class_name: string }) => layer.class_name === 'Dropout'));
    tf.dispose([model, loaded.model].flatMap((m) => m.getWeights()));
  });

  it('turns a model into files and back in memory (for S3)', async () => {
    const model = buildModel(SPEC, { learningRate: 0.001, seed: 9 });
    const files = await modelToFiles(model);
    assert.deepEqual(Object.keys(files).sort(), [MODEL_JSON, WEIGHTS_BIN]);
    // 4 bytes per parameter, moving batch-norm statistics included.
    assert.equal(files[WEIGHTS_BIN].byteLength, 4 * model.countParams());
    const { model: copy, metadata } = await modelFromFiles(files);
    assert.equal(metadata, undefined);
    const [original, restored] = await Promise.all([model, copy].map((m) => Promise.all(m.getWeights().map((w) => w.data()))));
    assert.deepEqual(restored, original);
  });

  it('refuses weights that do not match model.json, and files that are not a model', async () => {
    const model = buildModel(SPEC, { learningRate: 0.001, seed: 9 });
    const files = await modelToFiles(model);
    assert.throws(() => filesToModelArtifacts({ ...files, [WEIGHTS_BIN]: files[WEIGHTS_BIN].subarray(4) }), /weights\.bin has \d+ bytes/);
    assert.throws(() => filesToModelArtifacts({ ...files, [MODEL_JSON]: new TextEncoder().encode('{') }), /not valid JSON/);
    assert.throws(() => filesToModelArtifacts({ ...files, [MODEL_JSON]: new TextEncoder().encode('{}') }), /not a tfjs layers model/);
    await assert.rejects(loadModel(join(dir, 'missing')), /ENOENT/);
  });
});
