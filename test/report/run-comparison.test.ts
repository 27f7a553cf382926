import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../lib/errors.ts';
import { classificationReport } from '../../lib/report/classification-report.ts';
import { renderComparisonPage } from '../../lib/report/run-comparison-page.ts';
import { compareRuns, diffValues, formatRunComparison, type RunArtifacts, type RunTraining } from '../../lib/report/run-comparison.ts';
import { buildReportFiles } from '../../lib/report/write-report.ts';
import { parseRunArtifacts, runArtifactKeys } from '../../lib/workflow/run-artifacts.ts';

const CLASSES = ['cat', 'dog', 'fox'];

/** Rows are the true class, columns the predicted class. */
const MATRIX_A = [
  [8, 2, 0],
  [1, 6, 3],
  [0, 1, 9],
];
const MATRIX_B = [
  [9, 0, 1],
  [1, 8, 1],
  [2, 0, 8],
];

/** The label pairs a confusion matrix counts, so the report is computed by the real code from them. */
function labelsOf(matrix: number[][]): { yTrue: number[]; yPred: number[] } {
  const yTrue: number[] = [];
  const yPred: number[] = [];
  matrix.forEach((row, t) => row.forEach((count, p) => {
    for (let i = 0; i < count; i++) {
      yTrue.push(t);
      yPred.push(p);
    }
  }));
  return { yTrue, yPred };
}

function training(runId: string, overrides: { epochs?: number; units?: number; extraLayer?: boolean; dropActivation?: boolean; threads?: number; seconds?: number; usd?: number } = {}): RunTraining {
  const layers: Record<string, unknown>[] = [
    overrides.dropActivation ? { type: 'conv2d', filters: 32, kernelSize: 3 } : { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
    { type: 'flatten' },
    { type: 'dense', units: overrides.units ?? 64, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ];
  if (overrides.extraLayer) layers.push({ type: 'dropout', rate: 0.5 });
  return {
    runId,
    datasetId: 'd1',
    createdAt: '2026-12-02T18:00:00.000Z',
    backend: { name: 'tensorflow', tfjsVersion: '4.22.0', threads: overrides.threads ?? 2 },
    config: { epochs: overrides.epochs ?? 3, batchSize: 64, validationSplit: 0.2, learningRate: 0.001, seed: 42, model: { layers } },
    trainExamples: 48,
    validationExamples: 12,
    seconds: overrides.seconds ?? 100,
    imagesPerSecond: 480,
    ...(overrides.usd === undefined ? {} : { cost: { usd: overrides.usd } }),
  };
}

function run(runId: string, matrix: number[][], extra: Partial<RunArtifacts> = {}): RunArtifacts {
  const { yTrue, yPred } = labelsOf(matrix);
  return { runId, classificationReport: classificationReport(yTrue, yPred, CLASSES), confusionMatrix: matrix, classNames: CLASSES, ...extra };
}

const close = (actual: number | undefined, expected: number, what: string) => {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);
};

test('metrics and per-class deltas match the values worked out by hand from the two matrices', () => {
  const c = compareRuns(run('run-a', MATRIX_A, { training: training('run-a', { seconds: 100, usd: 0.02 }) }), run('run-b', MATRIX_B, { training: training('run-b', { seconds: 80, usd: 0.016 }) }));
  const metric = (name: string) => c.metrics.find((m) => m.name === name)!;
  // A: diagonal 8+6+9 = 23 of 30; B: 9+8+8 = 25 of 30.
  close(metric('Accuracy').a, 23 / 30, 'accuracy a');
  close(metric('Accuracy').delta, 2 / 30, 'accuracy delta');
  // F1 = 2·tp / (row sum + column sum). A columns: 9, 9, 12; B columns: 12, 8, 10; every row 10.
  const f1A = [16 / 19, 12 / 19, 18 / 22];
  const f1B = [18 / 22, 16 / 18, 16 / 20];
  close(metric('Macro F1').delta, (f1B[0] + f1B[1] + f1B[2]) / 3 - (f1A[0] + f1A[1] + f1A[2]) / 3, 'macro F1 delta');
  // Equal supports: weighted F1 is the macro F1 here.
  close(metric('Weighted F1').delta, (f1B[0] + f1B[1] + f1B[2]) / 3 - (f1A[0] + f1A[1] + f1A[2]) / 3, 'weighted F1 delta');
  close(metric('Training seconds').delta, -20, 'seconds delta');
  close(metric('Training seconds').relativeDelta, -0.2, 'seconds relative');
  close(metric('Training cost (USD, estimate)').delta, 0.016 - 0.02, 'cost delta');
  assert.equal(c.metrics.some((m) => m.name === 'Test loss'), false, 'no loss row when neither run recorded one');

  assert.deepEqual(c.classes.map((k) => k.name), CLASSES);
  const precisionA = [8 / 9, 6 / 9, 9 / 12];
  const precisionB = [9 / 12, 8 / 8, 8 / 10];
  const recallA = [0.8, 0.6, 0.9];
  const recallB = [0.9, 0.8, 0.8];
  c.classes.forEach((k, i) => {
    close(k.delta.f1, f1B[i] - f1A[i], `${k.name} f1`);
    close(k.delta.precision, precisionB[i] - precisionA[i], `${k.name} precision`);
    close(k.delta.recall, recallB[i] - recallA[i], `${k.name} recall`);
    assert.equal(k.a.support, 10);
  });
});

test('confusions that changed: counts on the same test set, largest change first, ties in row-major order', () => {
  const c = compareRuns(run('run-a', MATRIX_A), run('run-b', MATRIX_B));
  assert.equal(c.confusionBasis, 'counts');
  assert.equal(c.testSet.sameClassSizes, true);
  // Off-diagonal changes: cat→dog 2→0, cat→fox 0→1, dog→cat 1→1 (unchanged), dog→fox 3→1, fox→cat 0→2, fox→dog 1→0.
  assert.deepEqual(
    c.confusions.map((x) => [x.trueClass, x.predictedClass, x.a.count, x.b.count, x.countDelta]),
    [
      ['cat', 'dog', 2, 0, -2],
      ['dog', 'fox', 3, 1, -2],
      ['fox', 'cat', 0, 2, 2],
      ['cat', 'fox', 0, 1, 1],
      ['fox', 'dog', 1, 0, -1],
    ],
  );
  assert.equal(c.changedConfusionCount, 5);
  const top2 = compareRuns(run('run-a', MATRIX_A), run('run-b', MATRIX_B), { topConfusions: 2 });
  assert.equal(top2.confusions.length, 2);
  assert.equal(top2.changedConfusionCount, 5);
  assert.match(formatRunComparison(top2), /top 2 of 5/);
});

test('different test sets: confusions compared as shares of the true class, and the reader is told', () => {
  // B's fox class has 20 images: the same share of fox→cat errors would double the count.
  const matrixC = [
    [9, 0, 1],
    [1, 8, 1],
    [4, 0, 16],
  ];
  const c = compareRuns(run('run-a', MATRIX_A), run('run-c', matrixC));
  assert.equal(c.confusionBasis, 'rates');
  assert.equal(c.testSet.sameClassSizes, false);
  assert.deepEqual(c.testSet.examples, { a: 30, b: 40 });
  assert.match(c.notes.join('\n'), /differ in size \(30 and 40 images/);
  const foxCat = c.confusions.find((x) => x.trueClass === 'fox' && x.predictedClass === 'cat')!;
  close(foxCat.shareDelta, 4 / 20 - 0 / 10, 'fox→cat share');
  // fox→dog: 1/10 → 0/20.
  close(c.confusions.find((x) => x.trueClass === 'fox' && x.predictedClass === 'dog')!.shareDelta, -0.1, 'fox→dog share');
  // Sorted by |share change|: dog→fox 0.3→0.1 and cat→dog 0.2→0 and fox→cat 0→0.2 all 0.2, in row-major order.
  assert.deepEqual(c.confusions.slice(0, 3).map((x) => `${x.trueClass}>${x.predictedClass}`), ['cat>dog', 'dog>fox', 'fox>cat']);

  const ids = compareRuns(run('run-a', MATRIX_A, { evaluation: { testSetId: 'a'.repeat(64) } }), run('run-b', MATRIX_B, { evaluation: { testSetId: 'b'.repeat(64) } }));
  assert.equal(ids.testSet.sameId, false);
  assert.equal(ids.confusionBasis, 'rates', 'same class sizes on another test set are still another test set');
  assert.match(ids.notes[0], /different test sets/);
  const same = compareRuns(run('run-a', MATRIX_A, { evaluation: { testSetId: 'a'.repeat(64) } }), run('run-b', MATRIX_B, { evaluation: { testSetId: 'a'.repeat(64) } }));
  assert.equal(same.testSet.sameId, true);
  assert.equal(same.confusionBasis, 'counts');
  assert.deepEqual(same.notes, ['Run run-a has no training record (training.json): no config, timings or cost to compare.', 'Run run-b has no training record (training.json): no config, timings or cost to compare.']);
});

test('config diff: nested changes by path with both values, fields on one side only, equal fields left out', () => {
  const c = compareRuns(
    run('run-a', MATRIX_A, { training: training('run-a') }),
    run('run-b', MATRIX_B, { training: training('run-b', { epochs: 5, units: 128, extraLayer: true, dropActivation: true, threads: 4 }) }),
  );
  assert.deepEqual(c.configDifferences, [
    { path: 'epochs', a: 3, b: 5 },
    { path: 'model.layers[0].activation', a: 'relu' },
    { path: 'model.layers[2].units', a: 64, b: 128 },
    { path: 'model.layers[4]', b: { type: 'dropout', rate: 0.5 } },
  ]);
  assert.deepEqual(c.backendDifferences, [{ path: 'threads', a: 2, b: 4 }]);
  assert.deepEqual(compareRuns(run('run-a', MATRIX_A, { training: training('run-a') }), run('run-b', MATRIX_B, { training: training('run-b') })).configDifferences, []);
  assert.equal(compareRuns(run('run-a', MATRIX_A, { training: training('run-a') }), run('run-b', MATRIX_B)).configDifferences, undefined);
  // A value that changes kind is one difference; NaN equals NaN.
  assert.deepEqual(diffValues({ x: [1, 2], y: Number.NaN }, { x: { 0: 1 }, y: Number.NaN }), [{ path: 'x', a: [1, 2], b: { 0: 1 } }]);
});

test('text output: aligned tables holding the right rows, signed deltas', () => {
  const c = compareRuns(
    run('run-a', MATRIX_A, { training: training('run-a'), evaluation: { loss: 0.5 } }),
    run('run-b', MATRIX_B, { training: training('run-b', { units: 128 }), evaluation: { loss: 0.375 } }),
  );
  const text = formatRunComparison(c);
  // 23/30 = 0.7667, 25/30 = 0.8333, delta 2/30 = 0.0667.
  assert.match(text, /^ {2}Accuracy +0\.7667 +0\.8333 +\+0\.0667$/m);
  assert.match(text, /^ {2}Test loss +0\.5000 +0\.3750 +-0\.1250$/m);
  assert.match(text, /^ {2}Training seconds +100\.0 +100\.0 +0\.0 \(0\.0 %\)$/m);
  assert.match(text, /^ {2}model\.layers\[2\]\.units +64 +128$/m);
  // dog: F1 12/19 = 0.6316 → 16/18 = 0.8889, +0.2573; precision 6/9 → 1, +0.3333; recall +0.2000.
  assert.match(text, /^ {2}dog +0\.6316 +0\.8889 +\+0\.2573 +\+0\.3333 +\+0\.2000 +10 +10$/m);
  assert.match(text, /^ {2}cat -> dog +2 +0 +-2$/m);
  assert.match(text, /identical backend/);
  // Columns aligned: every row of the metrics table as wide as its header up to the last column's end.
  const metricLines = text.split('\n').slice(text.split('\n').indexOf('Metrics') + 1, text.split('\n').indexOf('Metrics') + 6);
  const headerEnd = metricLines[0].indexOf('B - A') + 'B - A'.length;
  for (const line of metricLines.slice(1)) assert.ok(line.length >= headerEnd, line);
});

test('different class labels are refused, not compared', () => {
  const other = { ...run('run-b', MATRIX_B), classNames: ['cat', 'dog', 'owl'] };
  assert.throws(() => compareRuns(run('run-a', MATRIX_A), other), /label different classes/);
});

test('the page: real tables with captions and scoped headers, escaped text, no script and no external reference', () => {
  const names = ['a<b', 'dog', 'fox'];
  const withNames = (r: RunArtifacts): RunArtifacts => {
    const { yTrue, yPred } = labelsOf(r.confusionMatrix as number[][]);
    return { ...r, classNames: names, classificationReport: classificationReport(yTrue, yPred, names) };
  };
  const c = compareRuns(withNames(run('run-a', MATRIX_A, { training: training('run-a') })), withNames(run('run-b', MATRIX_B, { training: training('run-b', { units: 128 }) })));
  const html = renderComparisonPage(c);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.equal((html.match(/<table/g) ?? []).length, 5);
  assert.equal((html.match(/<caption>/g) ?? []).length, 5);
  assert.match(html, /<th scope="row">a&lt;b<\/th>/);
  assert.doesNotMatch(html, /a<b/);
  assert.doesNotMatch(html, /<script|https?:\/\/|<link|@import|url\(/i);
  assert.match(html, /<th scope="row">Accuracy<\/th><td>0\.7667<\/td><td>0\.8333<\/td><td class="better">\+0\.0667<\/td>/);
  // a<b→dog shrank 2 → 0: better, shown with a real minus sign.
  assert.match(html, /<th scope="row">a&lt;b → dog<\/th><td>2<\/td><td>0<\/td><td class="better">−2<\/td>/);
  assert.match(html, /<code>model\.layers\[2\]\.units<\/code><\/th><td><code>64<\/code><\/td><td><code>128<\/code>/);
  assert.equal(renderComparisonPage(c), html, 'same comparison, same bytes');
});

test('parseRunArtifacts reads the files the report writer writes and compares them', () => {
  const filesA = filesOf(MATRIX_A);
  const parsed = parseRunArtifacts('run-a', {
    ...filesA,
    training: JSON.stringify({ ...training('run-a', { usd: 0.5 }), finalEpoch: { epoch: 3 } }),
    metrics: JSON.stringify(metricsOf(MATRIX_A, { testSetId: 'c'.repeat(64), loss: 0.25 })),
  });
  assert.deepEqual(parsed.classNames, CLASSES);
  assert.deepEqual(parsed.confusionMatrix, MATRIX_A);
  assert.deepEqual(parsed.evaluation, { loss: 0.25, datasetId: 'd1', testSetId: 'c'.repeat(64) });
  assert.equal(parsed.training?.cost?.usd, 0.5);
  const c = compareRuns(parsed, parseRunArtifacts('run-b', filesOf(MATRIX_B)));
  close(c.metrics[0].delta, 2 / 30, 'accuracy delta from parsed files');
  assert.deepEqual(runArtifactKeys('run-a'), {
    classificationReport: 'runs/run-a/report/classification_report.json',
    confusionMatrix: 'runs/run-a/report/confusion_matrix.json',
    training: 'runs/run-a/model/training.json',
    metrics: 'runs/run-a/report/metrics.json',
  });
});

test('parseRunArtifacts refuses a bad or mismatched file, naming the file and the field', () => {
  const good = filesOf(MATRIX_A);
  const refuses = (texts: Parameters<typeof parseRunArtifacts>[1], pattern: RegExp) =>
    assert.throws(() => parseRunArtifacts('run-a', texts, (file) => `s3://bucket/${runArtifactKeys('run-a')[file]}`), (error: unknown) => error instanceof ConfigError && pattern.test(error.message));

  const shortRow = JSON.stringify({ classNames: CLASSES, matrix: [[8, 2, 0], [1, 6], [0, 1, 9]] });
  refuses({ ...good, confusionMatrix: shortRow }, /^s3:\/\/bucket\/runs\/run-a\/report\/confusion_matrix\.json: matrix\[1\]: must have 3 columns/);
  const report = JSON.parse(good.classificationReport);
  report.dog.recall = 'high';
  refuses({ ...good, classificationReport: JSON.stringify(report) }, /classification_report\.json: dog\.recall: /);
  refuses({ ...good, classificationReport: '{' }, /classification_report\.json: not valid JSON/);
  const moreDogs = filesOf([[8, 2, 0], [1, 6, 4], [0, 1, 9]]).confusionMatrix;
  refuses({ ...good, confusionMatrix: moreDogs }, /classification_report\.json: dog\.support: is 10 but row 1 of .*confusion_matrix\.json sums to 11/);
  refuses({ ...good, training: JSON.stringify(training('run-z')) }, /training\.json: runId: is "run-z", not the run "run-a"/);
  const { seconds: _seconds, ...noSeconds } = training('run-a');
  refuses({ ...good, training: JSON.stringify(noSeconds) }, /training\.json: seconds: /);
  // The bug planted in issue 11: the weighted F1 reported as the macro F1.
  const planted = metricsOf(MATRIX_A);
  planted.macroF1 = planted.weightedF1 + 0.01;
  refuses({ ...good, metrics: JSON.stringify(planted) }, /metrics\.json: macroF1: is .* but .*classification_report\.json gives /);
  refuses({ ...good, metrics: JSON.stringify({ ...metricsOf(MATRIX_A), testSetId: 'nope' }) }, /metrics\.json: testSetId: must be a test set id/);
});

/** classification_report.json and confusion_matrix.json exactly as lib/report/write-report.ts writes them. */
function filesOf(matrix: number[][]): { classificationReport: string; confusionMatrix: string } {
  const { yTrue, yPred } = labelsOf(matrix);
  const files = buildReportFiles({ yTrue, yPred, classNames: CLASSES });
  return { classificationReport: files['classification_report.json'] as string, confusionMatrix: files['confusion_matrix.json'] as string };
}

/** metrics.json's figures as the evaluate step writes them (from the classification report). */
function metricsOf(matrix: number[][], extra: Record<string, unknown> = {}) {
  const { yTrue, yPred } = labelsOf(matrix);
  const report = classificationReport(yTrue, yPred, CLASSES);
  const f1 = (key: string) => (report[key] as { 'f1-score': number })['f1-score'];
  return { datasetId: 'd1', examples: yTrue.length, accuracy: report['accuracy'] as number, loss: 0.3, macroF1: f1('macro avg'), weightedF1: f1('weighted avg'), ...extra };
}
