/**
 * The evaluate step cold: `fmnist evaluate` (initBackend, then runEvaluateStep, as a run's
 * evaluate Lambda does after its downloads) in a fresh Node process each round, timed from spawn
 * to the report written (metrics.json, written last, by its modification time) and to the
 * process' exit, with its CPU time (bench/cpu-at-exit.mjs: steadier than wall time on a loaded
 * machine). With --against, another checkout (e.g. the main branch's worktree) runs the
 * same data and model in alternating order, and the two reports are compared byte for byte.
 *
 *   node --import tsx bench/evaluate.ts --rounds 1     # first: the data set and model in bench/.cache
 *   node --import tsx bench/evaluate-cold.ts [--rounds 3] [--against ../main]
 *
 * Both sides run through tsx (its compile cache warm after the first round), not the esbuild
 * bundle a Lambda runs, so the figures carry tsx's start-up cost: compare them with each other.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CACHE_DIR } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, runQuietly, summarise } from './harness.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, against: { type: 'string' } } });
const rounds = countFlag(values.rounds, 'rounds');
const datasetDir = resolve(CACHE_DIR, 'dataset');
const modelDir = resolve(CACHE_DIR, 'eval-model');
for (const [what, file] of [['data set', join(datasetDir, 'manifest.json')], ['model', join(modelDir, 'model.json')]]) {
  if (!existsSync(file)) throw new Error(`no ${what} at ${file}: run \`node --import tsx bench/evaluate.ts --rounds 1\` first`);
}
const here = resolve(import.meta.dirname, '..');
const checkouts = [{ label: 'this checkout', dir: here }];
if (values.against !== undefined) {
  const dir = resolve(values.against);
  if (!existsSync(join(dir, 'bin', 'fmnist.ts'))) throw new Error(`--against ${values.against}: no bin/fmnist.ts there`);
  checkouts.push({ label: `--against ${values.against}`, dir });
}

const outRoot = await mkdtemp(join(tmpdir(), 'fmnist-evaluate-cold-'));
const times = checkouts.map(() => ({ report: [] as number[], exit: [] as number[], cpu: [] as number[] }));
const cpuAtExit = resolve(import.meta.dirname, 'cpu-at-exit.mjs');
console.log(`machine: ${describeMachine()}`);
const evaluateIn = (dir: string, out: string) =>
  runQuietly(process.execPath, ['--import', 'tsx', '--import', cpuAtExit, 'bin/fmnist.ts', 'evaluate', '--data', datasetDir, '--model', modelDir, '--out', out], { cwd: dir });
try {
  // One untimed run each first: tsx compiles changed sources into its cache once, which a bundled Lambda never does.
  for (const [i, { dir }] of checkouts.entries()) await evaluateIn(dir, join(outRoot, `${i}-warm-up`));
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first, so neither always follows the other's page-cache warm-up.
    const order = round % 2 === 0 ? checkouts.map((_, i) => i) : checkouts.map((_, i) => checkouts.length - 1 - i);
    for (const i of order) {
      const out = join(outRoot, `${i}-${round}`);
      const load = currentLoad();
      const started = Date.now();
      const finished = await evaluateIn(checkouts[i].dir, out);
      const reportSeconds = ((await stat(join(out, 'metrics.json'))).mtimeMs - started) / 1000;
      times[i].report.push(reportSeconds);
      times[i].exit.push(finished.seconds);
      const cpu = Number(/cpu-seconds ([\d.]+)/.exec(finished.output)?.[1]);
      times[i].cpu.push(cpu);
      console.log(`round ${round + 1}, ${checkouts[i].label}: report written ${reportSeconds.toFixed(2)} s, exit ${finished.seconds.toFixed(2)} s, CPU ${cpu.toFixed(2)} s (load ${load.toFixed(2)})`);
    }
  }
  console.log(`machine after: ${describeMachine()}`);
  checkouts.forEach(({ label }, i) => {
    const range = (values: number[]) => {
      const s = summarise(values);
      return `${s.median.toFixed(2)} s (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
    };
    console.log(`${label}: median report written ${range(times[i].report)}, exit ${range(times[i].exit)}, CPU ${range(times[i].cpu)}`);
  });
  if (checkouts.length === 2) console.log(await compareReports(join(outRoot, '0-0'), join(outRoot, '1-0')));
} finally {
  await rm(outRoot, { recursive: true, force: true });
}

/** Which report files differ between two report directories, byte for byte. */
async function compareReports(a: string, b: string): Promise<string> {
  const [names, others] = [(await readdir(a)).sort(), (await readdir(b)).sort()];
  if (names.join() !== others.join()) return `reports hold different files: [${names.join(', ')}] vs [${others.join(', ')}]`;
  const differing: string[] = [];
  for (const name of names) {
    const [x, y] = [await readFile(join(a, name)), await readFile(join(b, name))];
    if (x.equals(y)) continue;
    if (!name.endsWith('.json')) {
      differing.push(name);
      continue;
    }
    // Which fields, with both values (the test loss, a sum of logs, may differ in its last digits).
    const [p, q] = [JSON.parse(x.toString()) as Record<string, unknown>, JSON.parse(y.toString()) as Record<string, unknown>];
    const fields = Object.keys({ ...p, ...q }).filter((key) => JSON.stringify(p[key]) !== JSON.stringify(q[key]));
    differing.push(`${name} (${fields.map((key) => `${key}: ${JSON.stringify(p[key])} vs ${JSON.stringify(q[key])}`).join('; ')})`);
  }
  return differing.length === 0 ? `the two reports are identical, byte for byte (${names.length} files)` : `report files that differ: ${differing.join(', ')}`;
}
