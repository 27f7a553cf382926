/**
 * CSV ingest throughput: lib/data ingestDataset (validate the Kaggle CSV and write uint8 shards
 * plus a manifest) on the 133 MB training CSV, against `pandas.read_csv` of the same file (the
 * walkthrough's first step), each in a fresh process, alternating, with each process's peak RSS.
 *
 *   node --import tsx bench/ingest.ts [--rounds 3] [--python python3]
 *
 * The test split ingestDataset insists on is a 10-row CSV, so the figure is the training file's.
 * MB/s counts the CSV's bytes (1 MB = 10^6 bytes).
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CACHE_DIR, kaggleCsvs } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, runQuietly, summarise } from './harness.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    python: { type: 'string', default: process.env.FMNIST_PYTHON ?? 'python3' },
    // internal: run one measurement in this process and print it as JSON
    child: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
  },
});

interface Measurement {
  seconds: number;
  peakRssMB: number;
  rows: number;
}

if (values.child === 'ours') {
  const { ingestDataset } = await import('../lib/data/ingest.ts');
  const { localFile } = await import('../lib/data/input-file.ts');
  const out = await mkdtemp(join(tmpdir(), 'fmnist-ingest-bench-'));
  try {
    const started = performance.now();
    const manifest = await ingestDataset({ train: [localFile(values.train!)], test: [localFile(values.test!)], outDir: join(out, 'dataset') });
    const seconds = (performance.now() - started) / 1000;
    const result: Measurement = { seconds, peakRssMB: process.resourceUsage().maxRSS / 1024, rows: manifest.splits.train.examples };
    console.log(JSON.stringify(result));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  process.exit(0);
}

const PANDAS = `
import json, resource, sys, time
import pandas as pd
started = time.perf_counter()
df = pd.read_csv(sys.argv[1])
seconds = time.perf_counter() - started
print(json.dumps({'seconds': seconds, 'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'rows': len(df)}))
`;

async function measure(command: string, args: string[]): Promise<Measurement> {
  const { stdout } = await runQuietly(command, args);
  return JSON.parse(stdout.trim().split('\n').pop()!) as Measurement;
}

const csv = await kaggleCsvs();
const tinyTest = join(CACHE_DIR, 'fashion-mnist_test-10.csv');
const { readFile } = await import('node:fs/promises');
const testLines = (await readFile(csv.test, 'latin1')).split('\n', 11);
await writeFile(tinyTest, testLines.join('\n') + '\n');
const bytes = (await stat(csv.train)).size;
const rounds = countFlag(values.rounds, 'rounds');

console.log(`machine: ${describeMachine()}`);
console.log(`${csv.train}: ${(bytes / 1e6).toFixed(1)} MB; ${rounds} round(s), alternating ours, pandas\n`);
const results: Record<'ours' | 'pandas', Measurement[]> = { ours: [], pandas: [] };
for (let round = 1; round <= rounds; round++) {
  const contenders = {
    ours: () => measure(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', 'ours', '--train', csv.train, '--test', tinyTest]),
    pandas: () => measure(values.python!, ['-c', PANDAS, csv.train]),
  };
  for (const [name, run] of Object.entries(contenders) as ['ours' | 'pandas', () => Promise<Measurement>][]) {
    const load = currentLoad();
    const m = await run();
    results[name].push(m);
    console.log(
      `round ${round} ${name.padEnd(6)} ${(bytes / 1e6 / m.seconds).toFixed(1).padStart(6)} MB/s (${m.seconds.toFixed(2)} s, ${m.rows} rows), peak RSS ${m.peakRssMB.toFixed(0)} MB, load before ${load.toFixed(2)}`,
    );
  }
}
console.log('\nsummary (median and range)');
const rate: Record<string, number> = {};
for (const [name, runs] of Object.entries(results)) {
  const s = summarise(runs.map((m) => bytes / 1e6 / m.seconds));
  const rss = summarise(runs.map((m) => m.peakRssMB));
  rate[name] = s.median;
  console.log(`${name.padEnd(6)} ${s.median.toFixed(1)} MB/s (${s.min.toFixed(1)}-${s.max.toFixed(1)}), peak RSS ${rss.median.toFixed(0)} MB (${rss.min.toFixed(0)}-${rss.max.toFixed(0)})`);
}
console.log(`\nours / pandas: ${(rate.ours / rate.pandas).toFixed(2)}x MB/s`);
