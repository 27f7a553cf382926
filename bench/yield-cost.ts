/**
 * What trainModel's yields to the event loop (lib/model/cooperative.ts) cost: the default config
 * (the walkthrough CNN) on the real Fashion-MNIST train split, one epoch per round, rounds
 * alternating between yielding every YIELD_INTERVAL_MS and never yielding, in one process (the
 * data loaded once, one warm-up epoch first). Prints training images/s of every round.
 *
 *   node --import tsx bench/yield-cost.ts [--rounds 3] [--limit N]
 *
 * FMNIST_BACKEND and FMNIST_TRAIN_STEP choose how it trains (default: native, graph step).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_TRAIN_CONFIG } from '../lib/model/config.ts';
import { trainingChoicesFrom } from '../lib/model/choices.ts';
import { trainModel, YIELD_INTERVAL_MS } from '../lib/model/train.ts';
import { PIXELS_PER_IMAGE } from '../lib/data/classes.ts';
import type { LabeledImages } from '../lib/data/dataset.ts';
import { loadIdx } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, summarise } from './harness.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, limit: { type: 'string' } } });
const rounds = countFlag(values.rounds, 'rounds');
const all = await loadIdx('train');
const count = values.limit ? Math.min(countFlag(values.limit, 'limit'), all.count) : all.count;
const data: LabeledImages = { images: all.images.subarray(0, count * PIXELS_PER_IMAGE), labels: all.labels.subarray(0, count), count };
const config = { ...DEFAULT_TRAIN_CONFIG, epochs: 1 };

async function epoch(yieldEveryMs: number): Promise<{ imagesPerSecond: number; step: string }> {
  const result = await trainModel(data, config, { ...trainingChoicesFrom(process.env), yieldEveryMs });
  result.model.dispose();
  return { imagesPerSecond: result.imagesPerSecond, step: `${result.backend.name}/${result.backend.trainingStep}` };
}

console.log(describeMachine());
console.log(`${count} examples, 1 epoch of the default config per round, yielding every ${YIELD_INTERVAL_MS} ms vs never`);
const warmUp = await epoch(Infinity);
console.log(`warm-up (${warmUp.step}): ${warmUp.imagesPerSecond.toFixed(0)} images/s`);
const figures = { yielding: [] as number[], never: [] as number[] };
for (let round = 1; round <= rounds; round++) {
  for (const mode of round % 2 ? (['never', 'yielding'] as const) : (['yielding', 'never'] as const)) {
    const load = currentLoad();
    const { imagesPerSecond } = await epoch(mode === 'yielding' ? YIELD_INTERVAL_MS : Infinity);
    figures[mode].push(imagesPerSecond);
    console.log(`round ${round} ${mode.padEnd(8)} ${imagesPerSecond.toFixed(0)} images/s (load ${load.toFixed(2)} before)`);
  }
}
const [yielding, never] = [summarise(figures.yielding), summarise(figures.never)];
console.log(
  `median images/s: yielding ${yielding.median.toFixed(0)} (${yielding.min.toFixed(0)}-${yielding.max.toFixed(0)}), ` +
    `never ${never.median.toFixed(0)} (${never.min.toFixed(0)}-${never.max.toFixed(0)}); ` +
    `cost ${((1 - yielding.median / never.median) * 100).toFixed(2)} %; ${describeMachine()}`,
);

// The cost of one yield with nothing due, the part of the above that noise cannot hide.
const yields = 20_000;
const t0 = performance.now();
for (let i = 0; i < yields; i++) await new Promise((resolve) => setImmediate(resolve));
const microseconds = ((performance.now() - t0) * 1000) / yields;
console.log(`one yield: ${microseconds.toFixed(1)} µs, i.e. ${((microseconds / 1000 / YIELD_INTERVAL_MS) * 100).toFixed(3)} % of ${YIELD_INTERVAL_MS} ms of work`);
