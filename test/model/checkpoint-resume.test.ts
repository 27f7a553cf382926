import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTrainConfig, type TrainConfig } from '../../lib/model/config.ts';
import {
  directoryCheckpointStore,
  loadLatestCheckpoint,
  saveCheckpoint,
  type CheckpointStore,
  type TrainingCheckpoint,
} from '../../lib/model/checkpoint/index.ts';
import { saveModel, WEIGHTS_BIN } from '../../lib/model/io.ts';
import { trainModel, type TrainHooks, type TrainResult } from '../../lib/model/train.ts';
import { nativeAddonLoads, squaresDataset } from './helpers.ts';

/**
 * Interrupted training, resumed from its latest checkpoint, ends with the same weights (bit for
 * bit) and the same history as training never interrupted: between epochs, mid-epoch, during a
 * checkpoint write, and when paused on purpose; for the graph step and the eager step.
 */

const SMALL = {
  layers: [
    { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' },
    // Moving statistics: state besides the weights and Adam's, updated by every step.
    { type: 'batchNormalization', momentum: 0.9 },
    { type: 'maxPool2d', poolSize: 2 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};
const identity = { runId: 'run-resume', datasetId: 'squares-300' };
const data = squaresDataset(300);

const native = nativeAddonLoads();
const steps: { step: 'graph' | 'eager'; backend: 'tensorflow' | 'wasm' }[] = native
  ? [{ step: 'graph', backend: 'tensorflow' }, { step: 'eager', backend: 'tensorflow' }]
  : [{ step: 'eager', backend: 'wasm' }];

interface Fingerprint {
  weights: string[];
  weightsBin: string;
  history: Omit<TrainResult['history'][number], 'seconds'>[];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fmnist-checkpoint-resume-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** What must be equal between runs: each weight's bytes, weights.bin as saved, the history without timings. Disposes the model. */
async function fingerprint(result: TrainResult): Promise<Fingerprint> {
  try {
    const weights = result.model.getWeights().map((w) => {
      // A view's own bytes: a restored weight may be a view into one larger buffer.
      const values = w.dataSync() as Float32Array;
      return sha256(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    });
    const dir = await mkdtemp(join(scratch, 'model-'));
    await saveModel(result.model, dir);
    const weightsBin = sha256(await readFile(join(dir, WEIGHTS_BIN)));
    return { weights, weightsBin, history: result.history.map(({ seconds: _seconds, ...log }) => log) };
  } finally {
    result.model.dispose();
  }
}

for (const { step, backend } of steps) {
  describe(`resuming the ${step} step (${backend})`, () => {
    // A cosine schedule and mirrored examples: each step's rate and flips depend on the step count, which a resumed run must carry on from.
    const config: TrainConfig = parseTrainConfig({ epochs: 3, batchSize: 16, validationSplit: 0.2, learningRate: 0.01, learningRateSchedule: 'cosine', augmentation: { horizontalFlip: true }, seed: 5, model: SMALL, backend });
    let reference: Fingerprint;
    let storeCount = 0;

    async function train(hooks: TrainHooks): Promise<TrainResult> {
      const result = await trainModel(data, config, { ...hooks, trainStep: step });
      assert.equal(result.backend.trainingStep, step);
      return result;
    }

    function newStore(): CheckpointStore {
      return directoryCheckpointStore(join(scratch, `${step}-${++storeCount}`));
    }

    /**
     * A store in memory: its saves end within a batch or two (a directory's take an event-loop
     * turn per file operation, longer than an epoch of this tiny model), so checkpoints come
     * mid-epoch and the interruption lands where the test wants it.
     */
    function memoryStore(): CheckpointStore {
      const folders = new Map<string, Map<string, Uint8Array>>();
      return {
        list: async () => [...folders.keys()],
        read: async (name, file) => folders.get(name)?.get(file)?.slice(),
        write: async (name, file, bytes) => void folders.set(name, (folders.get(name) ?? new Map()).set(file, bytes.slice())),
        remove: async (name) => void folders.delete(name),
      };
    }

    /**
     * Checkpointing into `store`. `onSave` runs as each save starts: an abort there stops training
     * at its next batch, so the checkpoint being saved is the last one (trainModel awaits it).
     */
    function checkpointing(store: CheckpointStore, everyMs: number, onSave: (checkpoint: TrainingCheckpoint) => void = () => {}): TrainHooks['checkpointing'] {
      return {
        identity,
        everyMs,
        save: (checkpoint) => {
          onSave(checkpoint);
          return saveCheckpoint(store, checkpoint).then(() => {});
        },
      };
    }

    async function resume(store: CheckpointStore): Promise<{ result: TrainResult; name: string; rejected: { name: string; reason: string }[] }> {
      const { checkpoint, name, rejected } = await loadLatestCheckpoint(store, { identity, config });
      assert.ok(checkpoint, 'a checkpoint to resume from');
      return { result: await train({ resumeFrom: checkpoint, checkpointing: checkpointing(store, 60_000) }), name: name!, rejected };
    }

    before(async () => {
      const result = await train({});
      assert.equal(result.status, 'complete');
      assert.deepEqual(result.position, { epoch: 4, batch: 0, epochs: 3, batches: 15 });
      reference = await fingerprint(result);
    });

    it('takes checkpoints without changing the result', async () => {
      const saved: TrainingCheckpoint[] = [];
      const result = await train({ checkpointing: { identity, everyMs: 1, save: async (c) => void saved.push(c) } });
      assert.deepEqual(await fingerprint(result), reference);
      const positions = saved.map((c) => `${c.position.epoch}:${c.position.batch}`);
      for (const epochEnd of ['2:0', '3:0', '4:0']) assert.ok(positions.includes(epochEnd), `an epoch-end checkpoint at ${epochEnd}: ${positions}`);
      assert.ok(saved.some((c) => c.position.batch > 0), `mid-epoch checkpoints: ${positions}`);
      assert.equal(saved.at(-1)!.history.length, 3);
    });

    it('continues exactly after an interruption between epochs', async () => {
      const store = newStore();
      const controller = new AbortController();
      await assert.rejects(
        train({ signal: controller.signal, checkpointing: checkpointing(store, 60_000, (c) => c.position.epoch === 2 && controller.abort(new Error('killed'))) }),
        /killed/,
      );
      const { result, name } = await resume(store);
      assert.match(name, /-e0002-b000000$/);
      assert.deepEqual(await fingerprint(result), reference);
    });

    it('continues exactly after an interruption mid-epoch', async () => {
      const store = memoryStore();
      const controller = new AbortController();
      const abortAt = (c: TrainingCheckpoint) => c.position.epoch === 2 && c.position.batch >= 5 && controller.abort(new Error('killed'));
      await assert.rejects(train({ signal: controller.signal, checkpointing: checkpointing(store, 1, abortAt) }), /killed/);
      const { result, name } = await resume(store);
      assert.match(name, /-e0002-b0000(0[5-9]|1[0-4])$/);
      assert.deepEqual(await fingerprint(result), reference);
    });

    it('continues exactly from the checkpoint before one whose write died before its manifest', async () => {
      const dir = memoryStore();
      let manifests = 0;
      // The third checkpoint's manifest never gets written, as when the process dies there.
      const dying: CheckpointStore = {
        ...dir,
        write: async (name, file, bytes) => {
          if (file === 'manifest.json' && ++manifests === 3) throw new Error('died while writing a checkpoint');
          await dir.write(name, file, bytes);
        },
      };
      await assert.rejects(train({ checkpointing: checkpointing(dying, 1) }), /died while writing a checkpoint/);
      const { result, name, rejected } = await resume(dir);
      assert.equal(rejected.length, 1);
      assert.match(rejected[0].reason, /no manifest\.json/);
      assert.match(rejected[0].name, /^000003-/);
      assert.match(name, /^000002-/);
      assert.deepEqual(await fingerprint(result), reference);
    });

    it('pauses when asked, and continues to the same weights over several calls', async () => {
      const store = newStore();
      const seen: string[] = [];
      let calls = 0;
      let checkpoint: TrainingCheckpoint | undefined;
      let result: TrainResult;
      // Pause every 7 batches: at positions inside epochs, before a validation and at epoch ends.
      do {
        let asked = 0;
        result = await train({
          resumeFrom: checkpoint,
          checkpointing: checkpointing(store, 60_000),
          pauseWhen: ({ position, msPerBatch }) => {
            assert.ok(msPerBatch > 0 && Number.isFinite(msPerBatch), `msPerBatch ${msPerBatch}`);
            seen.push(`${position.epoch}:${position.batch}`);
            return ++asked >= 7;
          },
        });
        calls++;
        if (result.status === 'paused') {
          assert.equal(result.model.getWeights().length, 8, 'kernels, biases, gamma, beta and the moving statistics');
          result.model.dispose();
          const loaded = await loadLatestCheckpoint(store, { identity, config });
          assert.deepEqual(loaded.checkpoint!.position, result.position, 'the pause left its checkpoint');
          checkpoint = loaded.checkpoint;
        }
      } while (result.status === 'paused' && calls < 20);
      assert.equal(result.status, 'complete');
      assert.ok(calls >= 5, `${calls} calls`);
      assert.ok(seen.includes('1:15') || seen.includes('2:15') || seen.includes('3:15'), 'asked before a validation');
      assert.deepEqual(await fingerprint(result), reference);

      // A complete checkpoint resumes to the final model without training.
      const done = await loadLatestCheckpoint(store, { identity, config });
      assert.deepEqual(done.checkpoint!.position, { epoch: 4, batch: 0, epochs: 3, batches: 15 });
      const again = await train({ resumeFrom: done.checkpoint });
      assert.equal(again.status, 'complete');
      assert.equal(again.imagesPerSecond, 0);
      assert.deepEqual(await fingerprint(again), reference);
    });
  });
}
