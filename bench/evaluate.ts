/**
 * Evaluation time, warm and in-process: the workflow's evaluate step (lib/workflow/evaluate-step.ts
 * runEvaluateStep: load the model, predict the 10,000 test images, write the classification
 * report, confusion matrix and charts) on a trained model, and its parts on their own, predicting
 * both ways (through the inference graph, as the step does on native TensorFlow, and with tfjs).
 * The step in a fresh process, as a run's evaluate Lambda starts it: bench/evaluate-cold.ts.
 *
 *   node --import tsx bench/evaluate.ts [--rounds 5] [--epochs 1]
 *
 * The first run ingests the IDX files into bench/.cache/dataset and trains a model for
 * --epochs into bench/.cache/eval-model (reused afterwards; delete them to start over).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSplit, readManifest } from '../lib/data/dataset.ts';
import { ingestDataset } from '../lib/data/ingest.ts';
import { localFile } from '../lib/data/input-file.ts';
import { initBackend } from '../lib/model/backend.ts';
import { trainingChoicesFrom } from '../lib/model/choices.ts';
import { parseTrainConfig } from '../lib/model/config.ts';
import { loadModel } from '../lib/model/io.ts';
import { GraphPredictor, graphRoute } from '../lib/model/graph/graph-predictor.ts';
import { predict } from '../lib/model/predict.ts';
import { buildReportFiles } from '../lib/report/write-report.ts';
import { runEvaluateStep } from '../lib/workflow/evaluate-step.ts';
import { runTrainStep } from '../lib/workflow/train-step.ts';
import { CACHE_DIR, IDX_DIR } from './fashion-mnist.ts';
import { countFlag, describeMachine, summarise } from './harness.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, epochs: { type: 'string', default: '1' } } });
const rounds = countFlag(values.rounds, 'rounds');
const datasetDir = join(CACHE_DIR, 'dataset');
const modelDir = join(CACHE_DIR, 'eval-model');
const reportDir = join(CACHE_DIR, 'eval-report');

const backend = await initBackend(trainingChoicesFrom(process.env).backend ?? 'auto', { warn: (message) => console.warn(message) });
if (!existsSync(join(datasetDir, 'manifest.json'))) {
  const idx = (name: string) => localFile(join(IDX_DIR, name));
  await ingestDataset({
    train: [idx('train-images-idx3-ubyte.gz'), idx('train-labels-idx1-ubyte.gz')],
    test: [idx('t10k-images-idx3-ubyte.gz'), idx('t10k-labels-idx1-ubyte.gz')],
    outDir: datasetDir,
  });
}
if (!existsSync(join(modelDir, 'model.json'))) {
  console.log(`training a model for ${values.epochs} epoch(s) to evaluate…`);
  await runTrainStep({ datasetDir, modelDir, runId: 'bench-evaluate', config: parseTrainConfig({ epochs: countFlag(values.epochs, 'epochs') }) });
}

console.log(`machine: ${describeMachine()}; backend ${backend.name}`);
const timings = { step: [] as number[], load: [] as number[], graph: [] as number[], predict: [] as number[], report: [] as number[] };
// CPU seconds of the process (every thread) for the two ways to predict: steadier than wall time on a shared machine.
const cpu = { graph: [] as number[], predict: [] as number[] };
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const test = await loadSplit(datasetDir, 'test', await readManifest(datasetDir));
let accuracy = NaN;
for (let round = 0; round < rounds; round++) {
  await rm(reportDir, { recursive: true, force: true });
  let t = performance.now();
  accuracy = (await runEvaluateStep({ datasetDir, modelDir, reportDir })).accuracy;
  timings.step.push((performance.now() - t) / 1000);

  t = performance.now();
  const { model, metadata } = await loadModel(modelDir);
  timings.load.push((performance.now() - t) / 1000);
  const route = graphRoute(model, metadata);
  if ('reason' in route) {
    if (round === 0) console.log(`the step predicts with tfjs: ${route.reason}`);
  } else {
    // Building the graph and loading its session counted: the step does both each time.
    t = performance.now();
    const c = cpuSeconds();
    const predictor = await GraphPredictor.create(route.binding, route.spec, model);
    predictor.predict(test);
    predictor.dispose();
    timings.graph.push((performance.now() - t) / 1000);
    cpu.graph.push(cpuSeconds() - c);
  }
  t = performance.now();
  const c = cpuSeconds();
  const prediction = await predict(model, test);
  timings.predict.push((performance.now() - t) / 1000);
  cpu.predict.push(cpuSeconds() - c);
  model.dispose();
  t = performance.now();
  buildReportFiles({ yTrue: test.labels, yPred: prediction.predicted, images: test });
  timings.report.push((performance.now() - t) / 1000);
}
const line = (name: string, seconds: number[]) => {
  const s = summarise(seconds);
  return `${name.padEnd(44)} ${s.median.toFixed(3)} s (${s.min.toFixed(3)}-${s.max.toFixed(3)})`;
};
console.log(`${rounds} rounds, test accuracy ${accuracy.toFixed(4)}`);
console.log(line('runEvaluateStep (load, predict, report, PNGs)', timings.step));
console.log(line('  loadModel', timings.load));
if (timings.graph.length > 0) console.log(line(`  predict ${test.count} images, inference graph`, timings.graph));
console.log(line(`  predict ${test.count} images, tfjs`, timings.predict));
console.log(line('  report files in memory (JSON, text, PNGs)', timings.report));
const cpuLine = (what: string, seconds: number[]) => (seconds.length > 0 ? `${what} ${summarise(seconds).median.toFixed(3)} s` : '');
console.log(`CPU time (all threads), median: ${[cpuLine('graph', cpu.graph), cpuLine('tfjs', cpu.predict)].filter(Boolean).join(', ')}`);
const rate = (seconds: number[]) => summarise(seconds.map((s) => test.count / s)).median.toFixed(0);
console.log(`predict: ${timings.graph.length > 0 ? `${rate(timings.graph)} images/s through the graph, ` : ''}${rate(timings.predict)} images/s with tfjs`);
