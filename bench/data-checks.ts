/**
 * The data checks on the real Fashion-MNIST (the four IDX .gz files): their figures (duplicates
 * within and across the splits, label conflicts, per-class pixel statistics), and what they cost:
 * ingestDataset of all 70,000 images in a fresh process (wall time, peak RSS), and the checks'
 * own pass (DataCheckCollector over the images in memory) timed alone.
 *
 *   node --import tsx bench/data-checks.ts [--rounds 3] [--lib <other checkout>/lib]
 *
 * --lib runs the ingest of another checkout (e.g. the commit before the checks) in the same
 * harness, for the "without checks" figure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { IDX_DIR, loadIdx } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, runQuietly, summarise } from './harness.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    lib: { type: 'string' },
    // internal: run one ingest in this process and print it as JSON
    child: { type: 'boolean', default: false },
  },
});

const LIB = resolve(values.lib ?? join(import.meta.dirname, '..', 'lib'));
const IDX_FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'],
};

interface Measurement {
  seconds: number;
  peakRssMB: number;
  checks?: unknown;
}

if (values.child) {
  const { ingestDataset } = await import(join(LIB, 'data', 'ingest.ts'));
  const { localFile } = await import(join(LIB, 'data', 'input-file.ts'));
  const out = await mkdtemp(join(tmpdir(), 'fmnist-checks-bench-'));
  try {
    const files = (names: string[]) => names.map((name) => localFile(join(IDX_DIR, name)));
    const started = performance.now();
    const manifest = await ingestDataset({ train: files(IDX_FILES.train), test: files(IDX_FILES.test), outDir: join(out, 'dataset') });
    const seconds = (performance.now() - started) / 1000;
    const result: Measurement = { seconds, peakRssMB: process.resourceUsage().maxRSS / 1024, checks: manifest.checks };
    console.log(JSON.stringify(result));
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  process.exit(0);
}

/** The drift seam on the real data: the train split against itself inverted, and without class 3 (Dress). */
async function driftExamples(): Promise<void> {
  const { DataCheckCollector } = await import('../lib/data/data-checks.ts');
  const { dataDrift } = await import('../lib/data/data-drift.ts');
  const { PIXELS_PER_IMAGE } = await import('../lib/data/classes.ts');
  const train = await loadIdx('train');
  const figures = (labels: Uint8Array, images: Uint8Array, count: number) => {
    const collector = new DataCheckCollector();
    collector.add('train', labels, images, count);
    return collector.finish({ train: [], test: [] });
  };
  const reference = figures(train.labels, train.images, train.count);
  const inverted = dataDrift(reference, figures(train.labels, train.images.map((v) => 255 - v), train.count));
  const kept = [...train.labels.keys()].filter((i) => train.labels[i] !== 3);
  const images = new Uint8Array(kept.length * PIXELS_PER_IMAGE);
  kept.forEach((i, k) => images.set(train.images.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE), k * PIXELS_PER_IMAGE));
  const removed = dataDrift(reference, figures(Uint8Array.from(kept, (i) => train.labels[i]), images, kept.length));
  console.log(`drift, train inverted: label distance ${inverted.labelDistance.toFixed(4)}, largest class mean shift ${inverted.maxMeanShift.toFixed(1)}`);
  console.log(`drift, train without class 3: label distance ${removed.labelDistance.toFixed(4)}, missing classes [${removed.missingClasses.join(', ')}], largest class mean shift ${removed.maxMeanShift.toFixed(1)}`);
}

async function collectorSeconds(): Promise<number> {
  const { DataCheckCollector } = await import('../lib/data/data-checks.ts');
  const [train, test] = [await loadIdx('train'), await loadIdx('t10k')];
  const started = performance.now();
  const collector = new DataCheckCollector();
  collector.add('train', train.labels, train.images, train.count);
  collector.add('test', test.labels, test.images, test.count);
  collector.finish({ train: [], test: [] });
  return (performance.now() - started) / 1000;
}

const rounds = countFlag(values.rounds, 'rounds');
console.log(`machine: ${describeMachine()}`);
console.log(`ingest of ${IDX_DIR} (70,000 images) with ${LIB}; ${rounds} round(s)\n`);
const runs: Measurement[] = [];
for (let round = 1; round <= rounds; round++) {
  const load = currentLoad();
  const { stdout } = await runQuietly(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', ...(values.lib ? ['--lib', values.lib] : [])]);
  const m = JSON.parse(stdout.trim().split('\n').pop()!) as Measurement;
  runs.push(m);
  console.log(`round ${round}: ingest ${m.seconds.toFixed(2)} s, peak RSS ${m.peakRssMB.toFixed(0)} MB, load before ${load.toFixed(2)}`);
}
const s = summarise(runs.map((m) => m.seconds));
const rss = summarise(runs.map((m) => m.peakRssMB));
console.log(`\ningest: ${s.median.toFixed(2)} s (${s.min.toFixed(2)}-${s.max.toFixed(2)}), peak RSS ${rss.median.toFixed(0)} MB (${rss.min.toFixed(0)}-${rss.max.toFixed(0)})`);
if (!values.lib) {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) times.push(await collectorSeconds());
  const alone = summarise(times);
  console.log(`the checks' pass alone (70,000 images in memory): ${alone.median.toFixed(2)} s (${alone.min.toFixed(2)}-${alone.max.toFixed(2)})`);
  await driftExamples();
}
if (runs[0].checks) {
  const { formatDataChecks } = await import('../lib/data/data-checks-summary.ts');
  console.log(`\n${formatDataChecks(runs[0].checks as Parameters<typeof formatDataChecks>[0])}`);
  console.log(`\nfigures: ${JSON.stringify((runs[0].checks as { figures: unknown }).figures)}`);
}
