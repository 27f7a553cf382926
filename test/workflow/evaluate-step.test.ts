import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { localFile } from '../../lib/data/input-file.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { type EvaluationMetrics, runEvaluateStep } from '../../lib/workflow/evaluate-step.ts';
import { runTrainStep } from '../../lib/workflow/train-step.ts';
import { syntheticKaggleCsv, unbalancedKaggleCsv } from '../support/kaggle-csv.ts';
import { TINY_MODEL } from '../support/tiny-model.ts';

/**
 * The evaluate step's metrics are the classification report's, each under its own name: checked on
 * a test set with unequal class supports, where macro F1 and weighted F1 differ (on a balanced one
 * a weighted F1 reported as macro F1 goes unseen).
 */
interface Scores {
  'f1-score': number;
  support: number;
}
type Report = Record<string, Scores | number>;

let dir: string;
let testLabels: number[];
let metrics: EvaluationMetrics;
const readJson = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fmnist-evaluate-step-'));
  const testSet = unbalancedKaggleCsv(100, 2);
  testLabels = testSet.labels;
  await writeFile(join(dir, 'train.csv'), syntheticKaggleCsv(100, 1).text);
  await writeFile(join(dir, 'test.csv'), testSet.text);
  const datasetDir = join(dir, 'dataset');
  await ingestDataset({ train: [localFile(join(dir, 'train.csv'))], test: [localFile(join(dir, 'test.csv'))], outDir: datasetDir });
  const config = parseTrainConfig({ epochs: 1, batchSize: 16, model: TINY_MODEL });
  await runTrainStep({ datasetDir, modelDir: join(dir, 'model'), config, runId: 'evaluate-step-test' });
  metrics = await runEvaluateStep({ datasetDir, modelDir: join(dir, 'model'), reportDir: join(dir, 'report') });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Per-class F1 from labels and predictions, then averaged both ways: independent of lib/report. */
function f1Averages(labels: number[], predicted: number[]): { macro: number; weighted: number } {
  const classes = [...new Set(labels)];
  const f1 = classes.map((c) => {
    const tp = labels.filter((label, i) => label === c && predicted[i] === c).length;
    const predictedC = predicted.filter((p) => p === c).length;
    const actualC = labels.filter((label) => label === c).length;
    const precision = predictedC === 0 ? 0 : tp / predictedC;
    const recall = tp / actualC;
    return { f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall), support: actualC };
  });
  return {
    macro: f1.reduce((sum, { f1: score }) => sum + score, 0) / f1.length,
    weighted: f1.reduce((sum, { f1: score, support }) => sum + score * support, 0) / labels.length,
  };
}

describe('runEvaluateStep: metrics tied to the classification report of the same run', () => {
  test('accuracy, macroF1 and weightedF1 (returned and in metrics.json) are the report\'s "accuracy", "macro avg" and "weighted avg" f1-score', async () => {
    const report = await readJson<Report>(join(dir, 'report', 'classification_report.json'));
    const macro = (report['macro avg'] as Scores)['f1-score'];
    const weighted = (report['weighted avg'] as Scores)['f1-score'];
    assert.notEqual(macro, weighted, 'the test set is unbalanced enough for the two averages to differ');

    const stored = await readJson<EvaluationMetrics>(join(dir, 'report', 'metrics.json'));
    for (const [where, values] of [['returned', metrics], ['metrics.json', stored]] as const) {
      assert.equal(values.accuracy, report.accuracy, `${where}: accuracy`);
      assert.equal(values.macroF1, macro, `${where}: macroF1 is the report's macro avg f1-score`);
      assert.equal(values.weightedF1, weighted, `${where}: weightedF1 is the report's weighted avg f1-score`);
    }
  });

  test('the report itself agrees with the run\'s predictions and the test labels', async () => {
    const report = await readJson<Report>(join(dir, 'report', 'classification_report.json'));
    const predicted = (await readFile(join(dir, 'report', 'predictions.txt'), 'utf8')).trim().split('\n').map(Number);
    assert.equal(predicted.length, testLabels.length);
    const expected = f1Averages(testLabels, predicted);
    assert.equal(report.accuracy, predicted.filter((p, i) => p === testLabels[i]).length / testLabels.length);
    assert.ok(Math.abs((report['macro avg'] as Scores)['f1-score'] - expected.macro) < 1e-12, `macro ${expected.macro}`);
    assert.ok(Math.abs((report['weighted avg'] as Scores)['f1-score'] - expected.weighted) < 1e-12, `weighted ${expected.weighted}`);
    assert.equal(metrics.examples, testLabels.length);
  });
});
