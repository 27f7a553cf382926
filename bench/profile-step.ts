/**
 * Where the graph training step's time goes, op by op: builds the step's graph for a preset
 * (lib/model/graph/train-graph.ts, exactly what training loads), writes it as a SavedModel, and
 * has TensorFlow's own tracer time every kernel (bench/profile-step.py: Python's TensorFlow 2.21,
 * the same version as the native addon, because tfjs-node's binding cannot pass RunOptions).
 *
 *   node --import tsx bench/profile-step.ts [--preset walkthrough|strong] [--precision float32|bfloat16] [--chains N] [--config FILE] [--steps 200] [--python python3]
 *
 * Prints the step's wall time untraced and traced, and the kernels by total time per step.
 * --chains: the pieces a batch runs in (default: as training picks them, lib/model/graph/chains.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { parseTrainConfig } from '../lib/model/config.ts';
import { encodeSavedModel } from '../lib/model/graph/proto.ts';
import { buildTrainGraph } from '../lib/model/graph/train-graph.ts';
import { graphChains } from '../lib/model/graph/chains.ts';
import { tensorflowThreadsFor } from '../lib/model/backend.ts';
import { presetFields } from '../lib/model/presets.ts';
import { ADAM } from '../lib/model/build.ts';
import { countFlag, describeMachine } from './harness.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'walkthrough' },
    steps: { type: 'string', default: '200' },
    precision: { type: 'string' },
    chains: { type: 'string' },
    config: { type: 'string' },
    python: { type: 'string', default: process.env.FMNIST_PYTHON ?? 'python3' },
  },
});
const probe = values.config === undefined ? {} : (JSON.parse(await readFile(values.config, 'utf8')) as Record<string, unknown>);
const config = parseTrainConfig({ ...presetFields(values.preset!), ...probe, ...(values.precision !== undefined && { precision: values.precision }) }, `preset ${values.preset}`);
// TensorFlow's pools as training sizes them (one intra-op thread unless told).
const threads = tensorflowThreadsFor(process.env);
const chains = values.chains === undefined ? graphChains(config.batchSize, threads) : countFlag(values.chains, 'chains');
const graph = buildTrainGraph(config.model, ADAM, { horizontalFlip: config.augmentation?.horizontalFlip === true, precision: config.precision, chains });
const dir = await mkdtemp(join(tmpdir(), 'fmnist-profile-'));
try {
  await writeFile(join(dir, 'saved_model.pb'), encodeSavedModel(graph.nodes, ['serve']));
  await writeFile(join(dir, 'names.json'), JSON.stringify({ feeds: graph.feeds, fetches: graph.fetches, dropouts: graph.dropouts, weightShapes: graph.weightShapes, stateShapes: graph.stateShapes }));
  console.log(`${describeMachine()}; preset ${values.preset}, batch ${config.batchSize}, precision ${config.precision ?? 'float32'}, ${graph.chains} chain(s), threads intra-op ${threads.intraOp} inter-op ${threads.interOp}`);
  const child = spawn(values.python!, [join(import.meta.dirname, 'profile-step.py'), dir, String(countFlag(values.steps, 'steps')), String(config.batchSize), String(config.learningRate)], {
    stdio: ['ignore', 'inherit', 'ignore'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', TF_NUM_INTRAOP_THREADS: String(threads.intraOp), TF_NUM_INTEROP_THREADS: String(threads.interOp) },
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${values.python} bench/profile-step.py exited with ${code}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
