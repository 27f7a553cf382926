/**
 * Successive halving against the full grid: the same configs as one `fmnist sweep` each, on the
 * full Fashion-MNIST (Debian's IDX files), fresh processes, alternating, wall time measured from
 * outside. Prints, per sweep: trials, epochs trained (summed over trials and rounds, from the
 * sweep record), training seconds, wall time, the best trial and its validation and test
 * accuracy.
 *
 *   node --import tsx bench/halving.ts [--grid bench/halving-grid.json] [--rounds 1] [--epochs 10] [--limit N]
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SweepRecord } from '../lib/workflow/sweep/sweep-record.ts';
import { countFlag, currentLoad, describeMachine, runQuietly } from './harness.ts';

const { values } = parseArgs({
  options: {
    grid: { type: 'string', default: join(import.meta.dirname, 'halving-grid.json') },
    rounds: { type: 'string', default: '1' },
    epochs: { type: 'string', default: '10' },
    limit: { type: 'string' },
  },
});
const root = join(import.meta.dirname, '..');
const dir = process.env.FMNIST_IDX_DIR ?? '/usr/share/datasets/fashion-mnist';
const data = ['--train', join(dir, 'train-images-idx3-ubyte.gz'), join(dir, 'train-labels-idx1-ubyte.gz'), '--test', join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz')];
const scratch = await mkdtemp(join(tmpdir(), 'fmnist-halving-'));

async function sweep(halving: boolean) {
  const out = join(scratch, `${halving ? 'halving' : 'grid'}-${Date.now()}`);
  const args = ['--import', 'tsx', 'bin/fmnist.ts', 'sweep', '--fresh', '--out', out, '--grid', values.grid!, '--epochs', values.epochs!, ...data];
  if (values.limit) args.push('--limit', values.limit);
  if (halving) args.push('--halving');
  const { seconds } = await runQuietly(process.execPath, args, { cwd: root });
  const record = SweepRecord.parse(JSON.parse(await readFile(join(out, 'sweep', 'sweep.json'), 'utf8')));
  // Epochs trained: each round adds (its budget - the previous round's) for every trial in it.
  let epochs = 0;
  let before = 0;
  for (const round of record.rounds) {
    epochs += round.results.filter((result) => result.status === 'trained').reduce((sum, result) => sum + (result.epochs ?? round.epochBudget) - before, 0);
    before = round.epochBudget;
  }
  const best = record.trials.find((trial) => trial.trialId === record.best?.trialId);
  return { seconds, trials: record.trials.length, epochs, training: record.trainingSeconds, best: best?.trialId, config: best?.config, valAccuracy: best?.valAccuracy, testAccuracy: best?.evaluation?.accuracy, load: currentLoad() };
}

console.log(describeMachine());
console.log(`grid ${values.grid}: ${await readFile(values.grid!, 'utf8')}`);
const rounds = countFlag(values.rounds, '--rounds');
for (let round = 1; round <= rounds; round++) {
  for (const halving of round % 2 === 1 ? [false, true] : [true, false]) {
    const result = await sweep(halving);
    console.log(
      `${halving ? 'halving' : 'grid   '}  trials ${result.trials}  epochs trained ${result.epochs}  training ${result.training.toFixed(1)} s  wall ${result.seconds.toFixed(1)} s  ` +
        `best ${result.best} ${JSON.stringify(result.config)}  val acc ${result.valAccuracy?.toFixed(4)}  test acc ${result.testAccuracy?.toFixed(4)}  load ${result.load.toFixed(2)}`,
    );
  }
}
