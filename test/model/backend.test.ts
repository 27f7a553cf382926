import { availableParallelism } from 'node:os';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../lib/errors.ts';
import { initBackend } from '../../lib/model/backend.ts';
import { BACKEND_ENV_VAR, parseBackendChoice, parseTrainStep, trainingChoicesFrom } from '../../lib/model/choices.ts';
import './helpers.ts';

/** Decided apart from the code under test: can this install load tfjs-node's native addon at all? */
function nativeAddonLoads(): boolean {
  const probe = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { cwd: process.cwd(), stdio: 'ignore' });
  return probe.status === 0;
}

/** Before the backend loads (it sets a default). */
const INTRA_OP_AT_START = process.env.TF_NUM_INTRAOP_THREADS;

describe('initBackend', () => {
  it("selects the cpu backend on request", async () => {
    const info = await initBackend('cpu');
    assert.equal(info.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(info.tfjsVersion, tf.version.tfjs);
    assert.equal(info.fallbackReason, undefined);
  });

  it('selects wasm on request, with the training kernels registered and the thread count recorded', async () => {
    const info = await initBackend('wasm');
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'the missing kernel is registered');
    assert.ok(Number.isInteger(info.threads) && info.threads! >= 1);
    assert.equal(await initBackend('wasm'), info, 'a second call returns the same info');
  });

  it(`ignores ${BACKEND_ENV_VAR}: the edges parse it and pass the choice in`, async () => {
    process.env[BACKEND_ENV_VAR] = 'cpu';
    try {
      assert.equal((await initBackend('wasm')).name, 'wasm');
    } finally {
      delete process.env[BACKEND_ENV_VAR];
    }
  });

  it('parses the operator choices the edges read from the environment, naming the variable', () => {
    assert.deepEqual(trainingChoicesFrom({}), { trainStep: 'auto' });
    assert.deepEqual(trainingChoicesFrom({ FMNIST_BACKEND: 'cpu', FMNIST_TRAIN_STEP: 'eager' }), { trainStep: 'eager', backend: 'cpu' });
    assert.deepEqual(trainingChoicesFrom({ FMNIST_BACKEND: '', FMNIST_TRAIN_STEP: '' }), { trainStep: 'auto' });
    assert.throws(
      () => trainingChoicesFrom({ FMNIST_BACKEND: 'gpu' }),
      (error: unknown) => error instanceof ConfigError && error.message === 'FMNIST_BACKEND: must be one of auto, tensorflow, wasm, cpu, got "gpu"',
    );
    assert.throws(
      () => trainingChoicesFrom({ FMNIST_TRAIN_STEP: 'graf' }),
      (error: unknown) => error instanceof ConfigError && error.message === 'FMNIST_TRAIN_STEP: must be auto, graph or eager, got "graf"',
    );
    assert.equal(parseTrainStep('graph', 'x'), 'graph');
    assert.equal(parseBackendChoice(undefined, 'x'), undefined);
  });

  it('auto takes native TensorFlow when its addon loads, else wasm with the reason, warning once', async (t) => {
    const warn = t.mock.fn((_message: string) => undefined);
    const native = nativeAddonLoads();
    const info = await initBackend('auto', { warn });
    if (native) {
      assert.equal(info.name, 'tensorflow');
      assert.equal(tf.getBackend(), 'tensorflow');
      assert.match(info.tensorflowVersion ?? '', /^\d+\.\d+/);
      // TensorFlow's pools: its variables when set to a positive count, else every CPU.
      const pool = (name: string) => (Number(process.env[name]) > 0 ? Number(process.env[name]) : availableParallelism());
      assert.deepEqual(info.tensorflowThreads, { intraOp: pool('TF_NUM_INTRAOP_THREADS'), interOp: pool('TF_NUM_INTEROP_THREADS') });
      // Unless told otherwise, one intra-op thread: the graph step runs a chain per inter-op thread.
      if (INTRA_OP_AT_START === undefined) assert.equal(info.tensorflowThreads?.intraOp, 1);
      else assert.equal(process.env.TF_NUM_INTRAOP_THREADS, INTRA_OP_AT_START, 'a setting given is kept');
      assert.equal(info.fallbackReason, undefined);
      assert.equal(warn.mock.callCount(), 0);
    } else {
      assert.equal(info.name, 'wasm');
      assert.equal(tf.getBackend(), 'wasm');
      assert.match(info.fallbackReason ?? '', /native TensorFlow unavailable: .+/);
      assert.equal(warn.mock.callCount(), 1);
      assert.match(String(warn.mock.calls[0].arguments[0]), /npm run setup:native/);
      await assert.rejects(initBackend('tensorflow'), /native TensorFlow backend is unavailable.*npm run setup:native/);
      await initBackend('cpu');
      await initBackend('auto', { warn });
      assert.equal(warn.mock.callCount(), 1, 'warns once per process');
    }
  });
});
