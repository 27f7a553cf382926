// The training image's self-check: bundled next to the two entries as functions/train/selfcheck.mjs
// (scripts/train-image/bundle.mjs) and run by the image build (`node functions/train/selfcheck.mjs`
// in /var/task, as the image's user). It proves that
//   - the two entries import and export what the contract says (TRAIN_IMAGE in infra/training.ts);
//   - the project's initBackend gets the native backend (an explicit 'tensorflow': it throws
//     instead of falling back) with the addon and both TensorFlow libraries mapped from the
//     tfjs-node beside the bundles, and trainModel trains the default CNN for one step there as
//     one TensorFlow graph (no silent fallback to op by op);
//   - the wasm fallback trains one step too.
// It prints one JSON line and exits 0, or prints the reason and exits 1.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { initBackend, type BackendName, type TrainingStep } from '../../lib/model/backend.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../lib/model/config.ts';
import { trainModel } from '../../lib/model/train.ts';

/** The contract's exports, looked up in the bundles beside this one. */
interface LambdaEntry {
  handler?: unknown;
}
interface FargateEntry {
  runFargateTraining?: unknown;
}

const sibling = (file: string) => new URL(`./${file}`, import.meta.url).href;

/** The addon and the TensorFlow libraries this process mapped: all from the tfjs-node beside the bundles. */
export function nativeFilesLoaded(tfjsNodeDir: string, maps = '/proc/self/maps'): string[] | undefined {
  if (!existsSync(maps)) return undefined;
  const files = new Set<string>();
  for (const line of readFileSync(maps, 'utf8').split('\n')) {
    const file = line.split(/\s+/).slice(5).join(' ');
    if (/libtensorflow|tfjs_binding/.test(file)) files.add(file);
  }
  const outside = [...files].filter((file) => !file.startsWith(`${tfjsNodeDir}/`));
  if (outside.length > 0) throw new Error(`native files loaded from outside ${tfjsNodeDir}: ${outside.join(', ')}`);
  const has = (name: string) => [...files].some((file) => file.includes(name));
  if (!has('libtensorflow_cc') || !has('libtensorflow_framework')) {
    throw new Error(`the TensorFlow libraries are not mapped: ${[...files].join(', ')}`);
  }
  return [...files].sort();
}

/** One batch of 8 made-up images through the project's trainModel on the backend selected. */
async function trainOneStep(backend: BackendName, trainingStep: TrainingStep | undefined) {
  const count = 8;
  const images = Uint8Array.from({ length: count * 784 }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i);
  const config = { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: count, validationSplit: 0, backend };
  // 'graph' on native: no silent fallback to op by op; 'auto' on wasm (eager there).
  const result = await trainModel({ images, labels, count }, config, { trainStep: trainingStep ?? 'auto' });
  result.model.dispose();
  const loss = result.history[0].loss;
  if (!Number.isFinite(loss)) throw new Error(`one training step gave loss ${loss} on ${result.backend.name}`);
  return { loss, trainingStep: result.backend.trainingStep };
}

async function selfcheck() {
  const started = Date.now();
  const lambdaEntry = (await import(sibling('handler.mjs'))) as LambdaEntry;
  if (typeof lambdaEntry.handler !== 'function') throw new Error('handler.mjs does not export a function "handler"');
  const fargateEntry = (await import(sibling('fargate.mjs'))) as FargateEntry;
  if (typeof fargateEntry.runFargateTraining !== 'function') throw new Error('fargate.mjs does not export runFargateTraining');
  const tfjsNodeDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-node/package.json'));
  const native = await initBackend('tensorflow');
  const nativeStep = await trainOneStep('tensorflow', 'graph');
  const loaded = nativeFilesLoaded(tfjsNodeDir);
  const wasm = await initBackend('wasm');
  const wasmStep = await trainOneStep('wasm', undefined);
  return { ok: true, native: { ...native, ...nativeStep, loaded }, wasm: { ...wasm, ...wasmStep }, seconds: (Date.now() - started) / 1000 };
}

// Runs only as the bundled selfcheck.mjs (`node functions/train/selfcheck.mjs`); importing this
// module (tests) runs nothing.
if (import.meta.url.endsWith('/selfcheck.mjs')) {
  try {
    console.log(JSON.stringify(await selfcheck()));
    process.exit(0);
  } catch (error) {
    console.error(`[selfcheck] FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  }
}
