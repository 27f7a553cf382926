/**
 * One run of the project's training as the walkthrough's script runs Keras: read the Kaggle
 * CSVs, fit with validation_split 0.2, then predict the test set. Prints (and with --json
 * writes) timings in the shape bench/keras/walkthrough.py writes, for bench/train.ts.
 *
 *   node --import tsx bench/train-ours.ts TRAIN_CSV TEST_CSV [--epochs 10] [--batch-size 64] [--preset NAME] [--early-stopping-patience N] [--precision float32|bfloat16] [--config FILE] [--json OUT]
 *
 * --config: a JSON training config merged over the preset (a probe of another recipe).
 *
 * FMNIST_TRAIN_STEP=eager|graph and FMNIST_BACKEND choose how it trains.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { LabeledImages } from '../lib/data/dataset.ts';
import { localFile } from '../lib/data/input-file.ts';
import { parseTrainConfig } from '../lib/model/config.ts';
import { presetFields } from '../lib/model/presets.ts';
import { evaluateLossAccuracy, predict } from '../lib/model/predict.ts';
import { trainingChoicesFrom } from '../lib/model/choices.ts';
import { trainModel } from '../lib/model/train.ts';
import { loadExamples } from './fashion-mnist.ts';
import { countFlag } from './harness.ts';

const tStart = performance.now();
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    epochs: { type: 'string', default: '10' },
    'batch-size': { type: 'string' },
    preset: { type: 'string', default: 'walkthrough' },
    'early-stopping-patience': { type: 'string' },
    precision: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'string' },
  },
});
if (positionals.length !== 2) throw new Error('usage: train-ours.ts TRAIN_CSV TEST_CSV [--epochs N] [--batch-size N] [--json OUT]');

function readCsv(path: string): Promise<LabeledImages> {
  return loadExamples([localFile(path)]);
}

const tLoad = performance.now();
const [train, test] = [await readCsv(positionals[0]), await readCsv(positionals[1])];
const tLoaded = performance.now();
const patience = values['early-stopping-patience'];
const config = parseTrainConfig(
  {
    ...presetFields(values.preset!),
    ...(values.config !== undefined && (JSON.parse(await readFile(values.config, 'utf8')) as Record<string, unknown>)),
    epochs: countFlag(values.epochs, 'epochs'),
    ...(values['batch-size'] !== undefined && { batchSize: countFlag(values['batch-size'], 'batch-size') }),
    ...(patience !== undefined && { earlyStopping: { patience: Number(patience), restoreBestWeights: true } }),
    ...(values.precision !== undefined && { precision: values.precision }),
  },
  'command line',
);
const tFit = performance.now();
const result = await trainModel(train, config, {
  ...trainingChoicesFrom(process.env),
  warn: (message) => console.warn(message),
  onEpochEnd: (log) =>
    console.log(
      `epoch ${log.epoch}: ${log.seconds.toFixed(1)}s loss ${log.loss.toFixed(4)} accuracy ${log.accuracy.toFixed(4)} ` +
        `val_loss ${log.val_loss?.toFixed(4)} val_accuracy ${log.val_accuracy?.toFixed(4)}`,
    ),
});
const fitSeconds = (performance.now() - tFit) / 1000;
const tEval = performance.now();
const { probabilities } = await predict(result.model, test);
const evaluation = evaluateLossAccuracy(probabilities, test.labels);
const evaluateSeconds = (performance.now() - tEval) / 1000;
result.model.dispose();
console.log(`Test accuracy: ${evaluation.accuracy.toFixed(4)}`);

const summary = {
  tool: `tfjs ${result.backend.tfjsVersion} / ${result.backend.name}${result.backend.tensorflowVersion ? ` (TensorFlow ${result.backend.tensorflowVersion})` : ''}, ${result.backend.trainingStep} step`,
  threads: { intra: process.env.TF_NUM_INTRAOP_THREADS ?? 'default', inter: process.env.TF_NUM_INTEROP_THREADS ?? 'default' },
  epochs: config.epochs,
  batchSize: config.batchSize,
  trainImages: result.trainExamples,
  csvLoadSeconds: (tLoaded - tLoad) / 1000,
  importSeconds: (tLoad - tStart) / 1000,
  fitSeconds,
  preset: values.preset,
  precision: config.precision ?? 'float32',
  earlyStopping: result.earlyStopping,
  epochSeconds: result.history.map((log) => log.seconds),
  imagesPerSecond: result.history.map((log) => result.trainExamples / log.seconds),
  stepImagesPerSecond: result.imagesPerSecond,
  evaluateSeconds,
  testAccuracy: evaluation.accuracy,
  testLoss: evaluation.loss,
  valAccuracy: result.history.map((log) => log.val_accuracy),
  peakRssMB: process.resourceUsage().maxRSS / 1024,
  totalSeconds: (performance.now() - tStart) / 1000,
};
if (values.json) await writeFile(values.json, JSON.stringify(summary, null, 2));
