/**
 * Cold start: seconds from process start to the first training step, in fresh processes.
 *
 *   node --import tsx bench/cold-start.ts [--rounds 3] [--only image-fargate,image-lambda,source-fargate,npm-start]
 *
 * - image-fargate: the training image's Fargate entry as the image runs it: the esbuild bundle
 *   (scripts/train-image/bundle.mjs) with the pruned node_modules (prune.mjs --link) under plain
 *   node, the TrainEvent as its argument, S3 a local s3rver holding the ingested dataset;
 * - image-lambda: the image's Lambda handler, imported and invoked by bench/cold-start/lambda-driver.mjs
 *   (the Lambda runtime's own start is not counted);
 * - source-fargate: the same entry from source through tsx, as the local runtime's ECS runs it;
 * - npm-start: `fmnist run --no-cache --epochs 1` (what `npm start` runs) with a fresh state
 *   directory; the first step is timed at the model summary line (printed when the model is
 *   built, just before training starts; its graph is built right after), from outside.
 *
 * The processes in the first three are timed from inside: bench/cold-start/mark.mjs, preloaded,
 * notes performance.now() (ms since the process started) when the first epoch begins (backend up,
 * dataset downloaded and loaded, model and training graph built) and ends the process. Every line
 * a process writes that is not a JSON log record is counted and shown: a clean start has none.
 * --baseline DIR also times another checkout (e.g. a worktree of the commit before a change), alternating
 * with this one in every round, so that load from other jobs falls on both.
 * --cpu-prof DIR writes a V8 CPU profile of each of those processes into DIR (open in Chrome's DevTools).
 * Data: the full Fashion-MNIST where Debian installs it, else the sample (cli/default-dataset.ts).
 */
import '../cli/quiet-start.ts';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3 } from '../cli/local/local-s3.ts';
import { defaultDataset } from '../cli/default-dataset.ts';
import { createIngestHandler } from '../functions/ingest/handler.ts';
import { CACHE_DIR } from './fashion-mnist.ts';
import { countFlag, currentLoad, describeMachine, runQuietly, summarise } from './harness.ts';

const VARIANTS = ['image-fargate', 'image-lambda', 'source-fargate', 'npm-start'] as const;
type Variant = (typeof VARIANTS)[number];
const MARK_PREFIX = 'cold-start-mark ';
const MARK = join(import.meta.dirname, 'cold-start', 'mark.mjs');
const LAMBDA_DRIVER = join(import.meta.dirname, 'cold-start', 'lambda-driver.mjs');
const ROOT = join(import.meta.dirname, '..');

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, only: { type: 'string' }, 'cpu-prof': { type: 'string' }, baseline: { type: 'string' } } });
const rounds = countFlag(values.rounds, 'rounds');
const variants = (values.only?.split(',') ?? [...VARIANTS]) as Variant[];
for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`--only: unknown "${v}" (one of ${VARIANTS.join(', ')})`);

interface Sample {
  seconds: number;
  /** CPU seconds the process used to get there (the processes timed from inside only). */
  cpuSeconds?: number;
  /** Lines that are not JSON log records (notices that reached the console). */
  strays: string[];
}

/** Runs `args` with `env` until the mark line (or the end); its first step in seconds from its own start. */
function timeToFirstStep(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const profile = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
    const child = spawn(process.execPath, [...profile, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let seconds: number | undefined;
    let cpuSeconds: number | undefined;
    const strays: string[] = [];
    const onLine = (line: string) => {
      if (line.startsWith(MARK_PREFIX)) {
        const mark = JSON.parse(line.slice(MARK_PREFIX.length)) as { firstStepMs: number; cpuMs: number };
        seconds = mark.firstStepMs / 1000;
        cpuSeconds = mark.cpuMs / 1000;
      }
      else if (line.trim() !== '' && !line.startsWith('{')) strays.push(line);
    };
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.on('data', (chunk: Buffer) => {
        output += chunk;
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        lines.forEach(onLine);
      });
      stream.on('end', () => rest && onLine(rest));
    }
    child.on('error', reject);
    child.on('close', (code) => {
      if (seconds === undefined) reject(new Error(`${args.join(' ')} ended (${code}) before training began:\n${output.slice(-4000)}`));
      else resolve({ seconds, cpuSeconds, strays });
    });
  });
}

/** `fmnist run` until its model summary line, timed from spawn; the run finishes (1 epoch) so nothing is left behind. */
async function npmStart(root: string, train: string[], test: string[]): Promise<Sample> {
  const scratch = await mkdtemp(join(tmpdir(), 'fmnist-cold-start-'));
  try {
    const args = ['--import', 'tsx', 'bin/fmnist.ts', 'run', '--no-cache', '--epochs', '1', '--train', ...train, '--test', ...test, '--out', join(scratch, 'out'), '--state-dir', join(scratch, 'state')];
    return await new Promise<Sample>((resolve, reject) => {
      const started = performance.now();
      const child = spawn(process.execPath, args, { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let seconds: number | undefined;
      for (const stream of [child.stdout, child.stderr]) {
        stream.on('data', (chunk: Buffer) => {
          output += chunk;
          if (seconds === undefined && output.includes('Layer (type)')) seconds = (performance.now() - started) / 1000;
        });
      }
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0 || seconds === undefined) reject(new Error(`fmnist run exited with ${code}:\n${output.slice(-4000)}`));
        else resolve({ seconds, strays: strayLinesOfRun(output) });
      });
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** What `fmnist run` prints that no part of it wrote on purpose: Node's warnings, native libraries' notices. */
function strayLinesOfRun(output: string): string[] {
  return output.split('\n').filter((line) => /\(node:\d+\)|DEP0\d+|absl::|oneDNN|NodeVersionSupport|Node\.js 20|cpu_feature_guard/.test(line));
}

console.log(describeMachine());
const dataset = defaultDataset();
console.log(`data: ${dataset.description}`);
const sides = [{ name: 'this', root: ROOT }, ...(values.baseline ? [{ name: 'baseline', root: resolve(values.baseline) }] : [])];
const imageDirOf = (side: string) => join(CACHE_DIR, `cold-start-image-${side}`);
if (variants.some((v) => v.startsWith('image-'))) {
  for (const side of sides) {
    // The image's /var/task rehearsed (functions/train/README.md "Checking an image"), bundled afresh from the side's code.
    const imageDir = imageDirOf(side.name);
    await rm(imageDir, { recursive: true, force: true });
    await runQuietly(process.execPath, ['scripts/train-image/prune.mjs', '--outdir', join(imageDir, 'node_modules'), '--link'], { cwd: side.root });
    await runQuietly(process.execPath, ['scripts/train-image/bundle.mjs', '--outdir', join(imageDir, 'functions', 'train')], { cwd: side.root });
  }
}

const s3 = await startLocalS3();
try {
  const splits = { train: dataset.train, test: dataset.test };
  const keys = { train: [] as string[], test: [] as string[] };
  for (const split of ['train', 'test'] as const) {
    for (const file of splits[split]) {
      const key = `raw/${split}/${file.split('/').pop()}`;
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: await readFile(file) }));
      keys[split].push(key);
    }
  }
  const logger = new Logger({ serviceName: 'bench', logLevel: 'SILENT' });
  const { datasetPrefix } = await createIngestHandler({ s3: s3.client, bucket: s3.bucket, logger, metrics: undefined })(keys);
  // The process sees only what the image's environment has: nothing inherited but PATH and HOME.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...s3.env };
  const event = (name: string, round: number) => JSON.stringify({ datasetPrefix, runId: `cold-${name}-${round}-${process.pid}`, config: { epochs: 1 } });
  const argsOf: Record<Exclude<Variant, 'npm-start'>, (side: string, round: number) => string[]> = {
    'image-fargate': (side, round) => ['--import', MARK, join(imageDirOf(side), 'functions/train/fargate.mjs'), event(`image-fargate-${side}`, round)],
    'image-lambda': (side, round) => ['--import', MARK, LAMBDA_DRIVER, join(imageDirOf(side), 'functions/train/handler.mjs'), event(`image-lambda-${side}`, round)],
    'source-fargate': (side, round) => ['--import', 'tsx', '--import', MARK, 'functions/train/fargate.ts', event(`source-fargate-${side}`, round)],
  };

  const results = new Map<string, Sample[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const variant of variants) {
      for (const side of round % 2 ? sides : [...sides].reverse()) {
        const load = currentLoad();
        const sample = variant === 'npm-start' ? await npmStart(side.root, dataset.train, dataset.test) : await timeToFirstStep(side.root, argsOf[variant](side.name, round), env);
        const name = `${variant}${sides.length > 1 ? ` (${side.name})` : ''}`;
        results.set(name, [...(results.get(name) ?? []), sample]);
        const cpu = sample.cpuSeconds === undefined ? '' : `, CPU ${sample.cpuSeconds.toFixed(2)} s`;
        console.log(`round ${round} ${name.padEnd(26)} ${sample.seconds.toFixed(2)} s${cpu} (load ${load.toFixed(2)})${sample.strays.length ? `; ${sample.strays.length} stray line(s)` : ''}`);
      }
    }
  }

  console.log(`\nto the first training step, ${rounds} fresh processes each (load average now ${currentLoad().toFixed(2)}):`);
  for (const [variant, samples] of results) {
    const { median, min, max } = summarise(samples.map((s) => s.seconds));
    const cpu = samples.every((s) => s.cpuSeconds !== undefined) ? summarise(samples.map((s) => s.cpuSeconds!)) : undefined;
    const cpuText = cpu ? `; CPU median ${cpu.median.toFixed(2)} s (${cpu.min.toFixed(2)}-${cpu.max.toFixed(2)})` : '';
    console.log(`  ${variant.padEnd(26)} median ${median.toFixed(2)} s (${min.toFixed(2)}-${max.toFixed(2)})${cpuText}`);
    const strays = [...new Set(samples.flatMap((s) => s.strays))];
    for (const line of strays) console.log(`      printed: ${line.slice(0, 160)}`);
  }
} finally {
  await s3.stop();
}
