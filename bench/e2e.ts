/**
 * End to end: the project's whole local workflow (`fmnist run`, what `npm start` runs: ingest,
 * train 10 epochs, evaluate with report and charts, promote) against the walkthrough's Keras
 * script from reading its CSVs to its classification report, alternating, fresh processes,
 * wall time measured from outside.
 *
 *   node --import tsx bench/e2e.ts [--rounds 3] [--python python3] [--idx] [--bfloat16] [--warm]
 *
 * Both read the same Kaggle CSVs; --idx adds a third contender, `fmnist run` on the IDX .gz
 * files (exactly `npm start` where Debian's dataset is installed); --bfloat16 `fmnist run --precision
 * bfloat16` on the CSVs (an opt-in, lib/model/precision.ts; not the comparison).
 *
 * Cold by default, as a user's first `npm start` after `npm ci`: before each of our runs the
 * workflow-definition cache (node_modules/.cache/fmnist-local: the synthesized template) and
 * tsx's compile cache are removed. --warm keeps them (every run after the first).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DEFINITION_CACHE_DIR } from '../cli/local/definition.ts';
import { kaggleCsvs } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, runQuietly, summarise } from './harness.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    warm: { type: 'boolean', default: false },
    python: { type: 'string', default: process.env.FMNIST_PYTHON ?? 'python3' },
    idx: { type: 'boolean', default: false },
    bfloat16: { type: 'boolean', default: false },
  },
});
const root = join(import.meta.dirname, '..');

const csv = await kaggleCsvs();
const scratch = await mkdtemp(join(tmpdir(), 'fmnist-e2e-'));
/** What a first run after `npm ci` has not got yet: the synthesized template and tsx's compiled modules. */
async function dropCaches(): Promise<void> {
  if (values.warm) return;
  await rm(DEFAULT_DEFINITION_CACHE_DIR, { recursive: true, force: true });
  await rm(join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`), { recursive: true, force: true });
}
const fmnistRun = (train: string[], test: string[], flags: string[] = []) => async () => {
  await dropCaches();
  const out = join(scratch, `run-${Date.now()}`);
  const { seconds } = await runQuietly(process.execPath, ['--import', 'tsx', 'bin/fmnist.ts', 'run', '--fresh', '--out', out, '--train', ...train, '--test', ...test, ...flags], { cwd: root });
  const metrics = JSON.parse(await readFile(join(out, 'report', 'metrics.json'), 'utf8')) as { accuracy: number };
  const run = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { trainingSeconds?: number };
  return { seconds, accuracy: metrics.accuracy, training: run.trainingSeconds };
};
const idx = (name: string) => join(process.env.FMNIST_IDX_DIR ?? '/usr/share/datasets/fashion-mnist', name);
const contenders: Record<string, () => Promise<{ seconds: number; accuracy: number; training?: number }>> = {
  'fmnist run (CSV)': fmnistRun([csv.train], [csv.test]),
  keras: async () => {
    const json = join(scratch, 'keras.json');
    const { seconds } = await runQuietly(values.python!, ['bench/keras/walkthrough.py', csv.train, csv.test, '--json', json], { cwd: root });
    const result = JSON.parse(await readFile(json, 'utf8')) as { testAccuracy: number; fitSeconds: number };
    return { seconds, accuracy: result.testAccuracy, training: result.fitSeconds };
  },
  ...(values.idx
    ? { 'fmnist run (IDX)': fmnistRun([idx('train-images-idx3-ubyte.gz'), idx('train-labels-idx1-ubyte.gz')], [idx('t10k-images-idx3-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz')]) }
    : {}),
  ...(values.bfloat16 ? { 'fmnist run (bf16)': fmnistRun([csv.train], [csv.test], ['--precision', 'bfloat16']) } : {}),
};

console.log(`machine: ${describeMachine()}; ${values.warm ? 'warm caches' : 'cold: definition and tsx caches dropped before each of our runs'}`);
const results: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
try {
  for (let round = 1; round <= countFlag(values.rounds, 'rounds'); round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const load = currentLoad();
      const r = await run();
      results[name].push(r.seconds);
      console.log(
        `round ${round} ${name.padEnd(18)} ${r.seconds.toFixed(1)} s end to end (training ${r.training?.toFixed(1)} s), test accuracy ${r.accuracy.toFixed(4)}, load before ${load.toFixed(2)}`,
      );
    }
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
console.log('\nmedian end to end:');
for (const [name, seconds] of Object.entries(results)) {
  const s = summarise(seconds);
  console.log(`${name.padEnd(18)} ${s.median.toFixed(1)} s (${s.min.toFixed(1)}-${s.max.toFixed(1)})`);
}
