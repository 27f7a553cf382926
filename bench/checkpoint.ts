/**
 * What checkpoints cost training: the default model on the full Fashion-MNIST training split,
 * checkpointing into a directory store at the default interval (every epoch end, and every
 * DEFAULT_CHECKPOINT_EVERY_MS of training inside an epoch), as the train step does.
 *
 *   node --import tsx bench/checkpoint.ts [--epochs 2] [--every-ms 60000] [--rounds 1]
 *
 * Per checkpoint it reports the time training stood still for it (reading the state back from
 * the backend and copying it, then encoding and hashing the files: all on the training thread)
 * and the whole save (file writes overlap training). Cost = the sum of the whole saves over the
 * training time: an upper bound, since writes overlap training. Each round alternates a run
 * without checkpoints, for the end-to-end difference (noisy on a shared machine).
 * FMNIST_TRAIN_STEP / FMNIST_BACKEND choose how it trains.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CHECKPOINT_EVERY_MS, directoryCheckpointStore, saveCheckpoint } from '../lib/model/checkpoint/index.ts';
import { parseTrainConfig } from '../lib/model/config.ts';
import { trainingChoicesFrom } from '../lib/model/choices.ts';
import { trainModel, type TrainResult } from '../lib/model/train.ts';
import { loadIdx } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, summarise } from './harness.ts';

const { values } = parseArgs({
  options: { epochs: { type: 'string', default: '2' }, 'every-ms': { type: 'string', default: String(DEFAULT_CHECKPOINT_EVERY_MS) }, rounds: { type: 'string', default: '1' } },
});
const epochs = countFlag(values.epochs, 'epochs');
const everyMs = countFlag(values['every-ms'], 'every-ms');
const rounds = countFlag(values.rounds, 'rounds');

console.log(describeMachine());
const data = await loadIdx('train');
const config = parseTrainConfig({ epochs }, 'command line');
console.log(`${data.count} examples, default model, ${epochs} epochs, checkpoints every ${everyMs} ms of training and at each epoch end`);

interface Measured {
  result: TrainResult;
  seconds: number;
  saves: { position: string; stalledMs: number; saveMs: number; wholeMs: number }[];
}

async function run(checkpoints: boolean): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'fmnist-bench-checkpoint-'));
  const store = directoryCheckpointStore(dir);
  const saves: Measured['saves'] = [];
  let saveStarted = 0;
  let encodeMs = 0;
  let lastWhole = -1;
  const started = performance.now();
  try {
    const result = await trainModel(data, config, checkpoints
      ? {
          ...trainingChoicesFrom(process.env),
          checkpointing: {
            identity: { runId: 'bench', datasetId: 'fashion-mnist-train' },
            everyMs,
            save: async (checkpoint) => {
              saveStarted = performance.now();
              // saveCheckpoint encodes and hashes synchronously before its first write.
              const saving = saveCheckpoint(store, checkpoint);
              encodeMs = performance.now() - saveStarted;
              await saving;
              saves.push({ position: `${checkpoint.position.epoch}:${checkpoint.position.batch}`, stalledMs: encodeMs, saveMs: performance.now() - saveStarted, wholeMs: NaN });
            },
          },
          // Never pauses: only reads how long the last checkpoint took, capture included.
          pauseWhen: ({ msLastCheckpoint }) => {
            if (msLastCheckpoint !== lastWhole && saves.length > 0) {
              const last = saves.at(-1)!;
              if (Number.isNaN(last.wholeMs)) {
                last.wholeMs = msLastCheckpoint;
                last.stalledMs += msLastCheckpoint - last.saveMs;
              }
              lastWhole = msLastCheckpoint;
            }
            return false;
          },
        }
      : trainingChoicesFrom(process.env));
    return { result, seconds: (performance.now() - started) / 1000, saves };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (let round = 1; round <= rounds; round++) {
  for (const checkpoints of [true, false]) {
    console.log(`\nround ${round}, ${checkpoints ? 'with' : 'without'} checkpoints (load ${currentLoad().toFixed(2)})`);
    const { result, seconds, saves } = await run(checkpoints);
    const training = result.history.reduce((sum, log) => sum + log.seconds, 0);
    console.log(`  ${result.backend.name}, ${result.backend.trainingStep} step: ${seconds.toFixed(1)} s, epochs ${result.history.map((l) => l.seconds.toFixed(1)).join(' / ')} s, val_accuracy ${result.history.at(-1)?.val_accuracy?.toFixed(4)}`);
    result.model.dispose();
    if (!checkpoints) continue;
    for (const save of saves) {
      console.log(`  checkpoint at ${save.position}: training stalled ${save.stalledMs.toFixed(1)} ms, save ${save.saveMs.toFixed(1)} ms, capture to saved ${Number.isNaN(save.wholeMs) ? '?' : save.wholeMs.toFixed(1)} ms`);
    }
    const whole = saves.map((s) => (Number.isNaN(s.wholeMs) ? s.saveMs : s.wholeMs));
    const stalled = saves.map((s) => s.stalledMs);
    const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);
    console.log(
      `  ${saves.length} checkpoints; stalled median ${summarise(stalled).median.toFixed(1)} ms; ` +
        `cost: stalled ${((100 * sum(stalled)) / 1000 / training).toFixed(2)} %, whole saves ${((100 * sum(whole)) / 1000 / training).toFixed(2)} % of ${training.toFixed(1)} s of training`,
    );
  }
}
