import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../lib/errors.ts';
import { parseTrainConfig, type TrainConfig } from '../../lib/model/config.ts';
import { EarlyStopping, EarlyStoppingConfig } from '../../lib/model/early-stopping.ts';
import { loadLatestCheckpoint, saveCheckpoint, type CheckpointStore } from '../../lib/model/checkpoint/index.ts';
import type { EpochLog } from '../../lib/model/history.ts';
import { trainModel as train, type TrainHooks, type TrainResult } from '../../lib/model/train.ts';
import { nativeAddonLoads, squaresDataset } from './helpers.ts';

/**
 * Early stopping as Keras 3's EarlyStopping callback decides it (keras/src/callbacks/early_stopping.py),
 * first on given sequences of monitored values, then in training: the epoch it stops after, the
 * history and the result saying so, the best epoch's weights restored, and a resumed run stopping
 * where an unbroken one does.
 */

/** The epochs a run of `values` trains: Keras' rule applied epoch by epoch. */
function epochsRun(values: number[], options: Record<string, unknown>): { epochs: number; stopping: EarlyStopping<string> } {
  const stopping = new EarlyStopping<string>(EarlyStoppingConfig.parse(options));
  for (const [i, value] of values.entries()) {
    const log: EpochLog = { epoch: i + 1, loss: value, accuracy: value, val_loss: value, val_accuracy: value, seconds: 0 };
    if (stopping.observe(log, () => `weights of epoch ${i + 1}`) !== undefined) return { epochs: i + 1, stopping };
  }
  return { epochs: values.length, stopping };
}

describe('EarlyStopping: Keras semantics', () => {
  it('stops after `patience` epochs without improvement (Keras docs: constant loss, patience 3: only 4 epochs run)', () => {
    assert.equal(epochsRun([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], { monitor: 'loss', patience: 3 }).epochs, 4);
  });

  it('patience 0 stops at the first epoch that does not improve; an improvement resets the wait', () => {
    assert.equal(epochsRun([1, 0.9, 0.8, 0.85, 0.7], { patience: 0 }).epochs, 4);
    assert.equal(epochsRun([1, 0.9, 0.95, 0.8, 0.85, 0.86, 0.7], { patience: 2 }).epochs, 6);
  });

  it('an improvement must exceed minDelta', () => {
    // 0.95 is 0.05 better than 1.0: not more than minDelta 0.05.
    const { epochs, stopping } = epochsRun([1, 0.95, 0.9, 0.5], { patience: 1, minDelta: 0.05 });
    assert.equal(epochs, 2);
    assert.deepEqual({ ...stopping.record(true), reason: undefined }, {
      monitor: 'val_loss',
      minDelta: 0.05,
      patience: 1,
      restoreBestWeights: false,
      mode: 'min',
      best: 1,
      bestEpoch: 1,
      stoppedEpoch: 2,
      reason: undefined,
      restoredEpoch: null,
    });
    assert.equal(epochsRun([1, 0.9, 0.8, 0.7], { patience: 0, minDelta: 0.05 }).epochs, 4);
  });

  it('accuracies must rise (mode inferred from the name): an equal value is no improvement', () => {
    const { epochs, stopping } = epochsRun([0.5, 0.6, 0.6, 0.7], { monitor: 'val_accuracy', patience: 1 });
    assert.equal(epochs, 3);
    assert.equal(stopping.mode, 'max');
    assert.equal(stopping.record(true).best, 0.6);
    assert.equal(stopping.record(true).bestEpoch, 2);
  });

  it('a NaN first value never counts as the best (Keras starts from +Infinity)', () => {
    const { epochs, stopping } = epochsRun([Number.NaN, 0.5, 0.4], { patience: 0 });
    // Epoch 1 (NaN) does not improve, but Keras never stops after the first epoch; epochs 2 and 3 improve.
    assert.equal(epochs, 3);
    assert.equal(stopping.record(true).stoppedEpoch, null);
    assert.equal(stopping.record(true).bestEpoch, 3);
  });

  it("restoreBestWeights keeps the best epoch's weights; before any improvement, the first epoch's (as Keras)", () => {
    const best = epochsRun([1, 0.5, 0.7, 0.6], { patience: 2, restoreBestWeights: true }).stopping;
    assert.equal(best.weightsToRestore(), 'weights of epoch 2');
    assert.equal(best.record(true).restoredEpoch, 2);
    assert.equal(best.record(false).restoredEpoch, null, 'a paused run has restored nothing');
    const diverged = epochsRun([Number.NaN, Number.NaN, Number.NaN], { patience: 1, restoreBestWeights: true });
    assert.equal(diverged.epochs, 2);
    assert.equal(diverged.stopping.weightsToRestore(), 'weights of epoch 1');
    assert.equal(diverged.stopping.record(true).bestEpoch, 1);
    assert.equal(epochsRun([1, 0.5], { patience: 2 }).stopping.weightsToRestore(), undefined, 'nothing kept without restoreBestWeights');
  });
});

describe('earlyStopping config', () => {
  const base = { model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }] } };
  const refused = (earlyStopping: unknown, extra: Record<string, unknown> = {}) => {
    try {
      parseTrainConfig({ ...base, ...extra, earlyStopping }, 'config.json');
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail(`accepted ${JSON.stringify(earlyStopping)}`);
  };

  it("fills in Keras' defaults and is absent unless asked for", () => {
    assert.equal(parseTrainConfig(base).earlyStopping, undefined);
    assert.deepEqual(parseTrainConfig({ ...base, earlyStopping: {} }).earlyStopping, { monitor: 'val_loss', minDelta: 0, patience: 0, restoreBestWeights: false });
  });

  it('refuses bad values naming the field', () => {
    assert.equal(refused({ monitor: 'val_acc' }), 'config.json: earlyStopping.monitor: must be one of "val_loss", "val_accuracy", "loss", "accuracy", got "val_acc"');
    assert.equal(refused({ patience: -1 }), 'config.json: earlyStopping.patience: must be an integer from 0 to 1000, got -1');
    assert.equal(refused({ patience: 1.5 }), 'config.json: earlyStopping.patience: must be an integer from 0 to 1000, got 1.5');
    assert.equal(refused({ minDelta: -0.1 }), 'config.json: earlyStopping.minDelta: must be a number >= 0, got -0.1');
    assert.equal(refused({ restoreBestWeights: 'yes' }), 'config.json: earlyStopping.restoreBestWeights: must be true or false, got "yes"');
    assert.match(refused({ restoreBestWeight: true }), /^config\.json: earlyStopping\.restoreBestWeight: unknown key \(did you mean "restoreBestWeights"\?\)/);
    assert.equal(refused(5), 'config.json: earlyStopping: must be an object, got 5');
  });

  it('refuses a validation metric without a validation split', () => {
    assert.match(refused({ monitor: 'val_accuracy' }, { validationSplit: 0 }), /^config\.json: earlyStopping\.monitor: "val_accuracy" is only logged with a validation split/);
    assert.equal(parseTrainConfig({ ...base, validationSplit: 0, earlyStopping: { monitor: 'loss' } }).earlyStopping?.monitor, 'loss');
  });
});

const TINY = {
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.2 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};
const data = squaresDataset(120);

const steps: { step: 'graph' | 'eager'; backend: 'tensorflow' | 'wasm' }[] = nativeAddonLoads()
  ? [{ step: 'graph', backend: 'tensorflow' }, { step: 'eager', backend: 'wasm' }]
  : [{ step: 'eager', backend: 'wasm' }];

const sha256 = (values: Float32Array) => createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex');

/** Each weight's bytes, hashed; disposes the model. */
function weightsOf(model: tf.LayersModel): string[] {
  try {
    return model.getWeights().map((w) => sha256(w.dataSync() as Float32Array));
  } finally {
    model.dispose();
  }
}

const withoutSeconds = (history: EpochLog[]) => history.map(({ seconds: _seconds, ...log }) => log);

function memoryStore(): CheckpointStore {
  const folders = new Map<string, Map<string, Uint8Array>>();
  return {
    list: async () => [...folders.keys()],
    read: async (name, file) => folders.get(name)?.get(file)?.slice(),
    write: async (name, file, bytes) => void folders.set(name, (folders.get(name) ?? new Map()).set(file, bytes.slice())),
    remove: async (name) => void folders.delete(name),
  };
}

for (const { step, backend } of steps) describe(`trainModel with early stopping (${step} step, ${backend})`, () => {
  const config = (overrides: Record<string, unknown> = {}): TrainConfig =>
    parseTrainConfig({ epochs: 6, batchSize: 16, validationSplit: 0.25, learningRate: 0.01, seed: 3, model: TINY, backend, ...overrides });
  const trainModel = async (...[data, config, hooks]: Parameters<typeof train>) => {
    const result = await train(data, config, { ...hooks, trainStep: step });
    assert.equal(result.backend.trainingStep, step);
    return result;
  };

  // The loss never falls by more than 100: epoch 1 is the best, and patience 2 ends training after epoch 3.
  const stopsAfter3 = { monitor: 'loss', minDelta: 100, patience: 2 };

  it('stops after the epoch the rule says, and the history and the result say when and why', async () => {
    const result = await trainModel(data, config({ earlyStopping: stopsAfter3 }));
    try {
      assert.equal(result.status, 'complete');
      assert.deepEqual(result.history.map((log) => log.epoch), [1, 2, 3]);
      assert.equal(result.history[0].stopped, undefined);
      assert.equal(result.history[1].stopped, undefined);
      assert.match(result.history[2].stopped ?? '', /^loss did not improve on its best, [\d.]+ at epoch 1, by more than 100 for 2 epochs \(patience 2\)$/);
      assert.equal(result.earlyStopping?.stoppedEpoch, 3);
      assert.equal(result.earlyStopping?.bestEpoch, 1);
      assert.equal(result.earlyStopping?.best, result.history[0].loss);
      assert.equal(result.earlyStopping?.reason, result.history[2].stopped);
      assert.equal(result.earlyStopping?.restoredEpoch, null);
    } finally {
      result.model.dispose();
    }
  });

  it('restoreBestWeights gives the best epoch its weights, whether patience ran out or not', async () => {
    const oneEpoch = weightsOf((await trainModel(data, config({ epochs: 1 }))).model);
    const threeEpochs = weightsOf((await trainModel(data, config({ epochs: 3 }))).model);
    assert.notDeepEqual(oneEpoch, threeEpochs, 'training on changes the weights');

    const stopped = await trainModel(data, config({ earlyStopping: { ...stopsAfter3, restoreBestWeights: true } }));
    assert.equal(stopped.history.length, 3);
    assert.equal(stopped.earlyStopping?.restoredEpoch, 1);
    assert.deepEqual(weightsOf(stopped.model), oneEpoch);

    // Keras 3 restores at the end of training even when patience never ran out.
    const ranOut = await trainModel(data, config({ epochs: 3, earlyStopping: { ...stopsAfter3, patience: 5, restoreBestWeights: true } }));
    assert.equal(ranOut.history.length, 3);
    assert.equal(ranOut.earlyStopping?.stoppedEpoch, null);
    assert.equal(ranOut.earlyStopping?.restoredEpoch, 1);
    assert.deepEqual(weightsOf(ranOut.model), oneEpoch);

    // Without restoring, the model keeps the last epoch's weights.
    const kept = await trainModel(data, config({ earlyStopping: stopsAfter3 }));
    assert.deepEqual(weightsOf(kept.model), threeEpochs);
  });

  it('a run resumed from a mid-way checkpoint stops at the same epoch with the same weights', async () => {
    const stopping = { ...stopsAfter3, restoreBestWeights: true };
    const identity = { runId: 'early-stop', datasetId: 'squares-120' };
    const reference = await trainModel(data, config({ earlyStopping: stopping }));
    const expected = { history: withoutSeconds(reference.history), record: reference.earlyStopping, weights: weightsOf(reference.model) };

    const fingerprint = (result: TrainResult) => ({ history: withoutSeconds(result.history), record: result.earlyStopping, weights: weightsOf(result.model) });
    const checkpointing = (store: CheckpointStore): TrainHooks['checkpointing'] => ({
      identity,
      everyMs: 60_000,
      save: (checkpoint) => saveCheckpoint(store, checkpoint).then(() => {}),
    });
    const resume = async (store: CheckpointStore) => {
      const { checkpoint } = await loadLatestCheckpoint(store, { identity, config: config({ earlyStopping: stopping }) });
      assert.ok(checkpoint);
      return { checkpoint, result: await trainModel(data, config({ earlyStopping: stopping }), { resumeFrom: checkpoint, checkpointing: checkpointing(store) }) };
    };

    // Paused in epoch 3 (as the Lambda continuation loop does), after epoch 1 set the best and epoch 2 did not improve.
    const store = memoryStore();
    const paused = await trainModel(data, config({ earlyStopping: stopping }), {
      checkpointing: checkpointing(store),
      pauseWhen: ({ position }) => position.epoch === 3 && position.batch === 3,
    });
    assert.equal(paused.status, 'paused');
    assert.equal(paused.earlyStopping?.restoredEpoch, null, 'nothing restored before training ends');
    paused.model.dispose();
    const midway = await resume(store);
    assert.deepEqual(midway.checkpoint.position, { epoch: 3, batch: 3, epochs: 6, batches: 6 });
    assert.deepEqual({ ...midway.checkpoint.earlyStopping, bestWeights: undefined }, { best: reference.history[0].loss, bestEpoch: 1, wait: 1, stoppedEpoch: 0, bestWeights: undefined });
    assert.deepEqual(fingerprint(midway.result), expected);

    // The checkpoint taken after the stop: nothing left to train, the best weights put back again.
    const after = await resume(store);
    assert.deepEqual(after.checkpoint.position, { epoch: 4, batch: 0, epochs: 6, batches: 6 });
    assert.equal(after.checkpoint.earlyStopping?.stoppedEpoch, 3);
    assert.deepEqual(fingerprint(after.result), expected);
  });

  it('refuses to resume a checkpoint taken with other early stopping settings', async () => {
    const store = memoryStore();
    const identity = { runId: 'early-stop-other', datasetId: 'squares-120' };
    const result = await trainModel(data, config({ epochs: 1, earlyStopping: stopsAfter3 }), {
      checkpointing: { identity, everyMs: 60_000, save: (c) => saveCheckpoint(store, c).then(() => {}) },
    });
    result.model.dispose();
    await assert.rejects(loadLatestCheckpoint(store, { identity, config: config({ epochs: 1, earlyStopping: { ...stopsAfter3, patience: 3 } }) }), /earlyStopping is .*"patience":2.* in the checkpoint, .*"patience":3.* here/);
  });
});
