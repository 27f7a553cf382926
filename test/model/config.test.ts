import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../lib/errors.ts';
import { DEFAULT_TRAIN_CONFIG, parseTrainConfig } from '../../lib/model/config.ts';
import { WALKTHROUGH_CNN, type LayerSpec } from '../../lib/model/spec.ts';

const FLATTEN_TO_OUTPUT: LayerSpec[] = [
  { type: 'flatten' },
  { type: 'dense', units: 10, activation: 'softmax' },
];

function rejects(input: unknown, message: RegExp, source?: string): void {
  assert.throws(
    () => parseTrainConfig(input, source),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('parseTrainConfig', () => {
  it('gives the walkthrough settings when given nothing', () => {
    for (const empty of [undefined, null, {}]) {
      assert.deepEqual(parseTrainConfig(empty), {
        epochs: 10,
        batchSize: 64,
        validationSplit: 0.2,
        learningRate: 0.001,
        seed: 42,
        model: WALKTHROUGH_CNN,
        backend: 'auto',
      });
    }
  });

  it('merges given fields over the defaults', () => {
    const config = parseTrainConfig({ epochs: 3, validationSplit: 0, backend: 'wasm' });
    assert.equal(config.epochs, 3);
    assert.equal(config.validationSplit, 0);
    assert.equal(config.backend, 'wasm');
    assert.equal(config.batchSize, 64);
    assert.deepEqual(config.model, WALKTHROUGH_CNN);
  });

  it('replaces the model whole and keeps optional layer fields only when given', () => {
    const layers: LayerSpec[] = [
      { type: 'conv2d', filters: 8, kernelSize: 5, activation: 'relu', strides: 2, padding: 'same' },
      { type: 'batchNormalization' },
      { type: 'maxPool2d', poolSize: 2, strides: 1 },
      { type: 'dropout', rate: 0.1 },
      ...FLATTEN_TO_OUTPUT,
    ];
    assert.deepEqual(parseTrainConfig({ model: { layers } }).model, { layers });
  });

  it('cannot be used to change the defaults', () => {
    const config = parseTrainConfig({});
    assert.throws(() => {
      (config.model.layers[0] as { filters: number }).filters = 1;
    }, TypeError);
    assert.equal((DEFAULT_TRAIN_CONFIG.model.layers[0] as { filters: number }).filters, 32);
  });

  it('names the source and the field in errors', () => {
    rejects({ epochs: 0 }, /^train\.json: epochs: must be an integer from 1 to 1000, got 0$/, 'train.json');
    rejects({ epochs: 2.5 }, /epochs: must be an integer/);
    rejects({ epochs: 1001 }, /epochs/);
    rejects({ batchSize: 0 }, /batchSize/);
    rejects({ batchSize: 8193 }, /batchSize/);
    rejects({ batchSize: '64' }, /batchSize: .* got "64"/);
    rejects({ validationSplit: 1 }, /validationSplit: .*\(exclusive\)/);
    rejects({ validationSplit: -0.1 }, /validationSplit/);
    rejects({ learningRate: 0 }, /learningRate: must be a number above 0/);
    rejects({ learningRate: Number.NaN }, /learningRate/);
    rejects({ seed: -1 }, /seed/);
    rejects({ backend: 'gpu' }, /backend: must be one of "auto", "tensorflow", "wasm", "cpu", got "gpu"/);
    rejects([], /^training config: must be an object, got an array$/);
  });

  it('rejects unknown keys, suggesting the likely one', () => {
    rejects({ epoch: 3 }, /epoch: unknown key \(did you mean "epochs"\?\)/);
    rejects({ model: { layers: [{ type: 'dense', units: 10, activation: 'softmax', unit: 3 }] } }, /model\.layers\[0\]\.unit: unknown key/);
    rejects({ model: { layers: FLATTEN_TO_OUTPUT, extra: 1 } }, /model\.extra: unknown key/);
  });

  it('validates each layer with its path', () => {
    const conv = { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' };
    rejects({ model: { layers: [{ ...conv, filters: 0 }, ...FLATTEN_TO_OUTPUT] } }, /model\.layers\[0\]\.filters/);
    rejects({ model: { layers: [{ ...conv, activation: 'gelu' }, ...FLATTEN_TO_OUTPUT] } }, /model\.layers\[0\]\.activation/);
    rejects({ model: { layers: [{ ...conv, padding: 'full' }, ...FLATTEN_TO_OUTPUT] } }, /model\.layers\[0\]\.padding/);
    rejects({ model: { layers: [{ type: 'pool' }, ...FLATTEN_TO_OUTPUT] } }, /model\.layers\[0\]\.type: must be one of/);
    rejects({ model: { layers: [{ type: 'dropout', rate: 1 }, ...FLATTEN_TO_OUTPUT] } }, /model\.layers\[0\]\.rate/);
    rejects({ model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 0, activation: 'relu' }, FLATTEN_TO_OUTPUT[1]] } }, /model\.layers\[1\]\.units/);
    rejects({ model: { layers: 'conv' } }, /model\.layers: must be an array/);
    rejects({ model: { layers: [] } }, /model\.layers: needs at least one layer/);
  });

  it('rejects layer stacks that cannot be built', () => {
    // The last layer must give one probability per class.
    rejects({ model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 9, activation: 'softmax' }] } }, /model\.layers\[1\]: the last layer must be/);
    rejects({ model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10, activation: 'relu' }] } }, /model\.layers\[1\]: the last layer/);
    rejects({ model: { layers: [{ type: 'flatten' }] } }, /model\.layers\[0\]: the last layer/);
    // A dense layer on an image, a conv on a flat vector.
    rejects({ model: { layers: [{ type: 'dense', units: 10, activation: 'softmax' }] } }, /model\.layers\[0\]\.type: dense needs a flat input .* add \{ "type": "flatten" \}/);
    rejects(
      { model: { layers: [{ type: 'flatten' }, { type: 'conv2d', filters: 2, kernelSize: 3, activation: 'relu' }, ...FLATTEN_TO_OUTPUT] } },
      /model\.layers\[1\]\.type: conv2d needs an image input/,
    );
    // 28 -> 13 -> 6 -> 2: the third 5x5 valid conv no longer fits.
    const shrinking = { type: 'conv2d', filters: 2, kernelSize: 5, strides: 2, activation: 'relu' };
    rejects({ model: { layers: [shrinking, shrinking, shrinking, ...FLATTEN_TO_OUTPUT] } }, /model\.layers\[2\]\.kernelSize: window 5 is larger than its 4-pixel input/);
    // ... but fits with 'same' padding.
    const same = { ...shrinking, padding: 'same' };
    assert.equal(parseTrainConfig({ model: { layers: [same, same, same, ...FLATTEN_TO_OUTPUT] } }).model.layers.length, 5);
    // Too many parameters to train in memory.
    rejects(
      { model: { layers: [{ type: 'conv2d', filters: 1024, kernelSize: 1, activation: 'relu' }, { type: 'flatten' }, { type: 'dense', units: 65536, activation: 'relu' }, FLATTEN_TO_OUTPUT[1]] } },
      /model\.layers: has \d+ parameters, more than the 50000000 allowed/,
    );
  });
});
