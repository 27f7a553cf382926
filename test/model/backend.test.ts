import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../lib/errors.ts';
import { BACKEND_ENV_VAR, initBackend } from '../../lib/model/backend.ts';
import './helpers.ts';

/** Decided apart from the code under test: can this install load tfjs-node's native addon at all? */
function nativeAddonLoads(): boolean {
  const probe = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { cwd: process.cwd(), stdio: 'ignore' });
  return probe.status === 0;
}

describe('initBackend', () => {
  afterEach(() => {
    delete process.env[BACKEND_ENV_VAR];
  });

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

  it(`lets ${BACKEND_ENV_VAR} override the requested backend, and rejects unknown values`, async () => {
    process.env[BACKEND_ENV_VAR] = 'cpu';
    assert.equal((await initBackend('wasm')).name, 'cpu');
    process.env[BACKEND_ENV_VAR] = 'gpu';
    await assert.rejects(initBackend('cpu'), (error: unknown) => error instanceof ConfigError && /FMNIST_BACKEND/.test(error.message));
  });

  it('auto takes native TensorFlow when its addon loads, else wasm with the reason, warning once', async (t) => {
    const warn = t.mock.method(console, 'warn', () => undefined);
    const native = nativeAddonLoads();
    const info = await initBackend('auto');
    if (native) {
      assert.equal(info.name, 'tensorflow');
      assert.equal(tf.getBackend(), 'tensorflow');
      assert.match(info.tensorflowVersion ?? '', /^\d+\.\d+/);
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
      await initBackend('auto');
      assert.equal(warn.mock.callCount(), 1, 'warns once per process');
    }
  });
});
