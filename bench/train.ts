/**
 * Training throughput: the project's training (lib/model trainModel, run by bench/train-ours.ts)
 * against the walkthrough's Keras script (bench/keras/walkthrough.py), on the same Fashion-MNIST
 * CSVs, same epochs and batch size, each run in a fresh process, alternating: ours, keras, ours,
 * keras, … for --rounds rounds, so load from other jobs falls on both.
 *
 *   node --import tsx bench/train.ts [--epochs 10] [--rounds 3] [--batch-size 64] [--eager] [--preset strong] [--early-stopping-patience N] [--bfloat16] [--python python3]
 *
 * images/s is counted as the Keras script counts it: training examples (48,000) / epoch wall
 * time, the epoch's validation pass included. --eager adds a third contender each round: ours
 * with FMNIST_TRAIN_STEP=eager (tfjs op by op, the way training ran before the graph step).
 * --preset adds ours with that preset (lib/model/presets.ts, its own batch size), and
 * --early-stopping-patience ours with early stopping on val_loss, restoring the best epoch's weights,
 * --bfloat16 ours with precision "bfloat16" (lib/model/precision.ts; an opt-in, not the comparison).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CACHE_DIR, kaggleCsvs } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, runQuietly, summarise } from './harness.ts';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '64' },
    eager: { type: 'boolean', default: false },
    preset: { type: 'string' },
    'early-stopping-patience': { type: 'string' },
    bfloat16: { type: 'boolean', default: false },
    python: { type: 'string', default: process.env.FMNIST_PYTHON ?? 'python3' },
  },
});
const epochs = countFlag(values.epochs, 'epochs');
const rounds = countFlag(values.rounds, 'rounds');
const batchSize = countFlag(values['batch-size'], 'batch-size');

interface RunSummary {
  tool: string;
  csvLoadSeconds: number;
  fitSeconds: number;
  epochSeconds: number[];
  imagesPerSecond: number[];
  testAccuracy: number;
  totalSeconds: number;
  peakRssMB?: number;
}

interface Contender {
  name: string;
  command: (csv: { train: string; test: string }, json: string) => [string, string[], NodeJS.ProcessEnv];
}

const ours = (name: string, step: 'graph' | 'eager' | undefined, extra: string[] = ['--batch-size', String(batchSize)]): Contender => ({
  name,
  command: (csv, json) => [
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'train-ours.ts'), csv.train, csv.test, '--epochs', String(epochs), ...extra, '--json', json],
    step === undefined ? process.env : { ...process.env, FMNIST_TRAIN_STEP: step },
  ],
});
const keras: Contender = {
  name: 'keras',
  command: (csv, json) => [
    values.python!,
    [join(import.meta.dirname, 'keras', 'walkthrough.py'), csv.train, csv.test, '--epochs', String(epochs), '--batch-size', String(batchSize), '--json', json],
    process.env,
  ],
};
const contenders = [
  ours('ours', undefined),
  keras,
  ...(values.eager ? [ours('ours (eager)', 'eager')] : []),
  ...(values.preset ? [ours(`ours (${values.preset})`, undefined, ['--preset', values.preset])] : []),
  ...(values['early-stopping-patience'] ? [ours('ours (early stop)', undefined, ['--early-stopping-patience', values['early-stopping-patience']])] : []),
  ...(values.bfloat16 ? [ours('ours (bfloat16)', undefined, ['--precision', 'bfloat16'])] : []),
];

const csv = await kaggleCsvs();
console.log(`machine: ${describeMachine()}`);
console.log(`${epochs} epoch(s), batch ${batchSize}, ${rounds} round(s), alternating ${contenders.map((c) => c.name).join(', ')}\n`);

const results = new Map<string, (RunSummary & { wallSeconds: number; load: number })[]>(contenders.map((c) => [c.name, []]));
for (let round = 1; round <= rounds; round++) {
  for (const contender of contenders) {
    const json = join(CACHE_DIR, `train-${process.pid}-${contender.name.replace(/\W+/g, '_')}.json`);
    const load = currentLoad();
    const [command, args, env] = contender.command(csv, json);
    const { seconds: wallSeconds } = await runQuietly(command, args, { env });
    const summary = JSON.parse(await readFile(json, 'utf8')) as RunSummary;
    await rm(json, { force: true });
    results.get(contender.name)!.push({ ...summary, wallSeconds, load });
    const rate = summarise(summary.imagesPerSecond);
    console.log(
      `round ${round} ${contender.name.padEnd(12)} ${rate.median.toFixed(0).padStart(5)} images/s (epochs ${rate.min.toFixed(0)}-${rate.max.toFixed(0)}), ` +
        `${summary.epochSeconds.length} epochs, fit ${summary.fitSeconds.toFixed(1)} s, process ${wallSeconds.toFixed(1)} s, test accuracy ${summary.testAccuracy.toFixed(4)}, load before ${load.toFixed(2)}`,
    );
  }
}

console.log('\nsummary (median and range over all epochs of all rounds; seconds: median over rounds)');
const medians = new Map<string, number>();
for (const [name, runs] of results) {
  const rate = summarise(runs.flatMap((r) => r.imagesPerSecond));
  medians.set(name, rate.median);
  const median = (pick: (r: (typeof runs)[number]) => number) => summarise(runs.map(pick)).median;
  console.log(
    `${name.padEnd(12)} ${rate.median.toFixed(0).padStart(5)} images/s (${rate.min.toFixed(0)}-${rate.max.toFixed(0)}); ` +
      `test accuracy ${runs.map((r) => r.testAccuracy.toFixed(4)).join(', ')}; ` +
      `CSV load ${median((r) => r.csvLoadSeconds).toFixed(1)} s, fit ${median((r) => r.fitSeconds).toFixed(1)} s, ` +
      `process ${median((r) => r.wallSeconds).toFixed(1)} s` +
      (runs[0].peakRssMB === undefined ? '' : `, peak RSS ${median((r) => r.peakRssMB!).toFixed(0)} MB`) +
      `  [${runs[0].tool}]`,
  );
}
const [oursRate, kerasRate] = [medians.get('ours')!, medians.get('keras')!];
console.log(`\nours / keras: ${(oursRate / kerasRate).toFixed(2)}x images/s`);
const fitOf = (name: string) => summarise(results.get(name)!.map((r) => r.fitSeconds)).median;
for (const name of results.keys()) {
  if (name.startsWith('ours (') && name !== 'ours (eager)') console.log(`${name} / ours: ${(fitOf(name) / fitOf('ours')).toFixed(2)}x the fit time`);
}
if (medians.has('ours (eager)')) console.log(`graph step / eager step: ${(oursRate / medians.get('ours (eager)')!).toFixed(2)}x images/s`);
