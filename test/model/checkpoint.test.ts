import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CheckpointMismatchError, ConfigError } from '../../lib/errors.ts';
import {
  DEFAULT_CHECKPOINT_EVERY_MS,
  directoryCheckpointStore,
  loadLatestCheckpoint,
  saveCheckpoint,
  type CheckpointStore,
  type TrainingCheckpoint,
} from '../../lib/model/checkpoint/index.ts';
import { parseTrainConfig, type TrainConfig } from '../../lib/model/config.ts';
import { trainModel } from '../../lib/model/train.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';
import { squaresDataset } from './helpers.ts';

/** The store, the file format and its checks, and what a resume refuses. Exact resumes: checkpoint-resume.test.ts. */

const identity = { runId: 'run-a', datasetId: 'squares-120' };
const data = squaresDataset(120);
const config: TrainConfig = parseTrainConfig({ epochs: 3, batchSize: 16, validationSplit: 0.25, learningRate: 0.01, seed: 3, model: TINY_MODEL, backend: 'wasm' });
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let scratch: string;
/** The checkpoints of one run (one per epoch end), in order. */
let checkpoints: TrainingCheckpoint[];

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fmnist-checkpoint-'));
  checkpoints = [];
  const result = await trainModel(data, config, { checkpointing: { identity, everyMs: DEFAULT_CHECKPOINT_EVERY_MS, save: async (c) => void checkpoints.push(c) } });
  result.model.dispose();
  assert.equal(checkpoints.length, 3);
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let stores = 0;
async function storeWithAll(): Promise<{ store: CheckpointStore; dir: string; names: string[] }> {
  const dir = join(scratch, `store-${++stores}`);
  const store = directoryCheckpointStore(dir);
  const names = [];
  for (const checkpoint of checkpoints) names.push(await saveCheckpoint(store, checkpoint, { keep: 3 }));
  return { store, dir, names };
}

describe('checkpoint files', () => {
  it('read back equal to what was written, behind a manifest of sizes and sha256', async () => {
    const { store, dir, names } = await storeWithAll();
    assert.deepEqual(names.map((name) => name.slice(0, 6)), ['000001', '000002', '000003']);
    assert.match(names[2], /^000003-e0004-b000000$/);
    const loaded = await loadLatestCheckpoint(store, { identity, config });
    assert.equal(loaded.name, names[2]);
    assert.deepEqual(loaded.rejected, []);
    assert.deepEqual(loaded.checkpoint, checkpoints[2]);

    const files = (await readdir(join(dir, names[2]))).sort();
    assert.deepEqual(files, ['adam.bin', 'manifest.json', 'order.bin', 'state.json', 'weights.bin']);
    const manifest = JSON.parse(await readFile(join(dir, names[2], 'manifest.json'), 'utf8'));
    assert.equal(manifest.version, 1);
    for (const entry of manifest.files) {
      const bytes = await readFile(join(dir, names[2], entry.name));
      assert.equal(entry.bytes, bytes.byteLength, entry.name);
      assert.equal(entry.sha256, sha256(bytes), entry.name);
    }
    // The big arrays are raw float32 / uint32.
    const weights = checkpoints[2].weights;
    assert.equal((await readFile(join(dir, names[2], 'weights.bin'))).byteLength, 4 * weights.reduce((n, w) => n + w.values.length, 0));
    assert.equal((await readFile(join(dir, names[2], 'order.bin'))).byteLength, 4 * 90);
  });

  const corruptions: { what: string; damage: (dir: string) => Promise<void>; reason: RegExp }[] = [
    {
      what: 'a flipped byte',
      damage: async (dir) => {
        const bytes = await readFile(join(dir, 'weights.bin'));
        bytes[17] ^= 0x01;
        await writeFile(join(dir, 'weights.bin'), bytes);
      },
      reason: /weights\.bin: sha256 [0-9a-f]{64} does not match/,
    },
    { what: 'a deleted file', damage: (dir) => unlink(join(dir, 'adam.bin')), reason: /adam\.bin is missing/ },
    { what: 'a deleted manifest', damage: (dir) => unlink(join(dir, 'manifest.json')), reason: /no manifest\.json/ },
    {
      what: 'a truncated file',
      damage: async (dir) => writeFile(join(dir, 'order.bin'), (await readFile(join(dir, 'order.bin'))).subarray(4)),
      reason: /order\.bin has 356 bytes, the manifest says 360/,
    },
    {
      what: 'a state that does not add up, with a manifest to match',
      damage: async (dir) => {
        const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
        state.history.pop();
        await rewriteWithManifest(dir, 'state.json', new TextEncoder().encode(JSON.stringify(state)));
      },
      reason: /state\.json: history holds epochs \[1, 2\], expected 1 to 3/,
    },
    {
      what: 'a state of the wrong shape, with a manifest to match',
      damage: async (dir) => {
        const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
        state.optimizer.beta1Power = 'high';
        await rewriteWithManifest(dir, 'state.json', new TextEncoder().encode(JSON.stringify(state)));
      },
      reason: /state\.json: optimizer\.beta1Power/,
    },
    {
      what: 'weights of other shapes, with a manifest to match',
      damage: async (dir) => {
        const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
        state.weights[0].shape = [3, 3, 1, 5];
        await rewriteWithManifest(dir, 'state.json', new TextEncoder().encode(JSON.stringify(state)));
      },
      reason: /weights\.bin has \d+ bytes; the state describes/,
    },
  ];
  for (const { what, damage, reason } of corruptions) {
    it(`skips a checkpoint with ${what}, naming it, for the one before`, async () => {
      const { store, dir, names } = await storeWithAll();
      await damage(join(dir, names[2]));
      const loaded = await loadLatestCheckpoint(store, { identity, config });
      assert.equal(loaded.name, names[1]);
      assert.deepEqual(loaded.checkpoint, checkpoints[1]);
      assert.equal(loaded.rejected.length, 1);
      assert.equal(loaded.rejected[0].name, names[2]);
      assert.match(loaded.rejected[0].reason, reason);
    });
  }

  it('finds nothing in an empty or missing store, and names every damaged one', async () => {
    assert.deepEqual(await loadLatestCheckpoint(directoryCheckpointStore(join(scratch, 'none')), { identity, config }), { rejected: [] });
    const { store, dir, names } = await storeWithAll();
    for (const name of names) await unlink(join(dir, name, 'state.json'));
    const loaded = await loadLatestCheckpoint(store, { identity, config });
    assert.equal(loaded.checkpoint, undefined);
    assert.deepEqual(loaded.rejected.map((r) => r.name), [...names].reverse());
  });
});

describe('keeping checkpoints', () => {
  it('keeps the newest two complete ones, drops older incomplete ones, and leaves foreign folders alone', async () => {
    const dir = join(scratch, 'keep');
    const store = directoryCheckpointStore(dir);
    await mkdir(join(dir, 'notes'), { recursive: true });
    const first = await saveCheckpoint(store, checkpoints[0]);
    // An older, never completed checkpoint (as a crash leaves one).
    await store.write('000000-e0001-b000003', 'weights.bin', new Uint8Array(8));
    const second = await saveCheckpoint(store, checkpoints[1]);
    assert.deepEqual((await store.list()).sort(), [first, second, 'notes'].sort());
    const third = await saveCheckpoint(store, checkpoints[2]);
    assert.deepEqual((await store.list()).sort(), [second, third, 'notes'].sort());
    assert.ok(third > second && second > first, 'names sort in creation order');
    const one = await saveCheckpoint(store, checkpoints[2], { keep: 1 });
    assert.deepEqual((await store.list()).sort(), [one, 'notes'].sort());
  });

  it('names a new checkpoint after the newest, even when resuming went back to an older position', async () => {
    const store = directoryCheckpointStore(join(scratch, 'order'));
    await saveCheckpoint(store, checkpoints[2]);
    const older = await saveCheckpoint(store, checkpoints[0]);
    assert.match(older, /^000002-e0002-b000000$/);
    assert.equal((await loadLatestCheckpoint(store, { identity, config })).name, older);
  });
});

describe('a checkpoint of another run or config', () => {
  const others: { field: string; expected: () => { identity: typeof identity; config: TrainConfig }; values: RegExp }[] = [
    { field: 'runId', expected: () => ({ identity: { ...identity, runId: 'run-b' }, config }), values: /"run-a" in the checkpoint, "run-b" here/ },
    { field: 'datasetId', expected: () => ({ identity: { ...identity, datasetId: 'other' }, config }), values: /"squares-120" in the checkpoint, "other" here/ },
    { field: 'seed', expected: () => ({ identity, config: { ...config, seed: 4 } }), values: /seed is 3 in the checkpoint, 4 here/ },
    { field: 'batchSize', expected: () => ({ identity, config: { ...config, batchSize: 32 } }), values: /batchSize is 16 in the checkpoint, 32 here/ },
    { field: 'epochs', expected: () => ({ identity, config: { ...config, epochs: 5 } }), values: /epochs is 3 in the checkpoint, 5 here/ },
    {
      field: 'model.layers',
      expected: () => ({ identity, config: parseTrainConfig({ ...config, model: { layers: [{ type: 'flatten' }, { type: 'dense', units: 10, activation: 'softmax' }] } }) }),
      values: /model\.layers is \[.*"conv2d".*\] in the checkpoint, \[\{"type":"flatten"\}.*\] here/,
    },
  ];
  for (const { field, expected, values } of others) {
    it(`is refused when the ${field} differs, naming it with both values`, async () => {
      const { store, names } = await storeWithAll();
      await assert.rejects(loadLatestCheckpoint(store, expected()), (error: unknown) => {
        assert.ok(error instanceof CheckpointMismatchError && error instanceof ConfigError);
        assert.deepEqual(error.fields, [field]);
        assert.ok(error.message.includes(names[2]), error.message);
        assert.match(error.message, values);
        return true;
      });
      // trainModel refuses it too, before any work.
      const { identity: otherIdentity, config: otherConfig } = expected();
      await assert.rejects(
        trainModel(data, otherConfig, { resumeFrom: checkpoints[1], checkpointing: { identity: otherIdentity, everyMs: 1000, save: async () => {} } }),
        (error: unknown) => error instanceof CheckpointMismatchError && error.fields.includes(field),
      );
    });
  }

  it('is refused for other data, and for weights that do not fit the model', async () => {
    const fewer = squaresDataset(100);
    await assert.rejects(trainModel(fewer, config, { resumeFrom: checkpoints[1] }), (error: unknown) => {
      return error instanceof CheckpointMismatchError && /trained on 120 examples; this data has 100/.test(error.message);
    });
    const reshaped = { ...checkpoints[1], weights: checkpoints[1].weights.map((w, i) => (i === 0 ? { ...w, shape: [9, 4], values: w.values } : w)) };
    await assert.rejects(trainModel(data, config, { resumeFrom: reshaped }), (error: unknown) => {
      return error instanceof CheckpointMismatchError && /weights \(\[9,4\]/.test(error.message);
    });
  });

  it('is not refused for another backend', async () => {
    const { store } = await storeWithAll();
    const loaded = await loadLatestCheckpoint(store, { identity, config: { ...config, backend: 'cpu' } });
    assert.ok(loaded.checkpoint);
  });
});

/** Replaces a checkpoint file and updates the manifest to match, as a forger (or a bug) would. */
async function rewriteWithManifest(dir: string, file: string, bytes: Uint8Array): Promise<void> {
  await writeFile(join(dir, file), bytes);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  for (const entry of manifest.files) {
    if (entry.name === file) Object.assign(entry, { bytes: bytes.byteLength, sha256: sha256(bytes) });
  }
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

describe('checkpoint files with early stopping', () => {
  // The loss never falls by more than 100: epoch 1 stays the best; patience 1 stops training after epoch 2 of 3.
  const stoppingConfig = parseTrainConfig({ ...config, earlyStopping: { monitor: 'loss', minDelta: 100, patience: 1, restoreBestWeights: true } });
  let saved: TrainingCheckpoint[];
  before(async () => {
    saved = [];
    const result = await trainModel(data, stoppingConfig, { checkpointing: { identity, everyMs: DEFAULT_CHECKPOINT_EVERY_MS, save: async (c) => void saved.push(c) } });
    result.model.dispose();
  });

  async function stored(): Promise<{ store: CheckpointStore; dir: string; names: string[] }> {
    const dir = join(scratch, `store-${++stores}`);
    const store = directoryCheckpointStore(dir);
    const names = [];
    for (const checkpoint of saved) names.push(await saveCheckpoint(store, checkpoint, { keep: 3 }));
    return { store, dir, names };
  }

  it('keep the state and the best weights, read back equal', async () => {
    assert.deepEqual(saved.map((c) => c.position.epoch), [2, 3], 'an epoch-end checkpoint after each epoch, the last after the stop');
    const last = saved[1];
    assert.deepEqual({ ...last.earlyStopping, bestWeights: undefined }, { best: last.history[0].loss, bestEpoch: 1, wait: 1, stoppedEpoch: 2, bestWeights: undefined });
    assert.deepEqual(last.earlyStopping?.bestWeights, saved[0].weights, "the best weights are epoch 1's, as its checkpoint holds them");
    const { store, dir, names } = await stored();
    assert.deepEqual((await readdir(join(dir, names[1]))).sort(), ['adam.bin', 'best-weights.bin', 'manifest.json', 'order.bin', 'state.json', 'weights.bin']);
    const loaded = await loadLatestCheckpoint(store, { identity, config: stoppingConfig });
    assert.deepEqual(loaded.checkpoint, last);
  });

  const damages: { what: string; damage: (dir: string) => Promise<void>; reason: RegExp }[] = [
    {
      what: 'no best weights',
      damage: async (dir) => {
        await unlink(join(dir, 'best-weights.bin'));
        const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
        manifest.files = manifest.files.filter((entry: { name: string }) => entry.name !== 'best-weights.bin');
        await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
      },
      reason: /state\.json: no best-weights\.bin, which restoreBestWeights needs/,
    },
    {
      what: 'no early stopping state',
      damage: async (dir) => {
        const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
        delete state.earlyStopping;
        await rewriteWithManifest(dir, 'state.json', new TextEncoder().encode(JSON.stringify(state)));
      },
      reason: /state\.json: no early stopping state, but the config stops early/,
    },
    {
      what: 'a stop at another epoch than the last',
      damage: async (dir) => {
        const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
        state.earlyStopping.stoppedEpoch = 1;
        await rewriteWithManifest(dir, 'state.json', new TextEncoder().encode(JSON.stringify(state)));
      },
      reason: /state\.json: training stopped early after epoch 1, yet the position is epoch 3 batch 0/,
    },
  ];
  for (const { what, damage, reason } of damages) {
    it(`skips a checkpoint with ${what}, naming it`, async () => {
      const { store, dir, names } = await stored();
      await damage(join(dir, names[1]));
      const loaded = await loadLatestCheckpoint(store, { identity, config: stoppingConfig });
      assert.equal(loaded.name, names[0]);
      assert.match(loaded.rejected[0]?.reason ?? '', reason);
    });
  }
});
