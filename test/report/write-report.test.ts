import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import type { EpochLog } from '../../lib/model/history.ts';
import { buildReportFiles, writeReport } from '../../lib/report/write-report.ts';
import { loadSklearnFixture } from './fixtures.ts';
import { pngSize } from './png-helpers.ts';

const ALWAYS = [
  'classification_report.json',
  'classification_report.txt',
  'confusion_matrix.json',
  'confusion_matrix.png',
  'confusion_matrix_normalized.png',
];
/** Written last, from everything above: the report page and the model card. */
const PAGES = ['index.html', 'model_card.md'];

const tiny = loadSklearnFixture('tiny');
const history: EpochLog[] = [
  { epoch: 1, loss: 0.6, accuracy: 0.78, val_loss: 0.45, val_accuracy: 0.84, seconds: 10 },
  { epoch: 2, loss: 0.4, accuracy: 0.85, val_loss: 0.38, val_accuracy: 0.86, seconds: 9 },
];
const images = {
  images: new Uint8Array(tiny.yTrue.length * PIXELS_PER_IMAGE).fill(128),
  labels: Uint8Array.from(tiny.yTrue),
  count: tiny.yTrue.length,
};

describe('buildReportFiles', () => {
  it('builds the metrics files and both confusion matrix charts from labels alone', () => {
    const files = buildReportFiles({ yTrue: tiny.yTrue, yPred: tiny.yPred });
    assert.deepEqual(Object.keys(files), [...ALWAYS, ...PAGES]);
    assert.deepEqual(JSON.parse(files['classification_report.json'] as string), tiny.report);
    assert.equal(files['classification_report.txt'], tiny.text);
    assert.deepEqual(JSON.parse(files['confusion_matrix.json'] as string), {
      classNames: tiny.classNames,
      matrix: tiny.confusionMatrix,
    });
    pngSize(files['confusion_matrix.png'] as Buffer);
    pngSize(files['confusion_matrix_normalized.png'] as Buffer);
    assert.notDeepEqual(files['confusion_matrix.png'], files['confusion_matrix_normalized.png']);
  });

  it('adds learning curves, samples and misclassified grids when given history and images', () => {
    const files = buildReportFiles({ yTrue: tiny.yTrue, yPred: tiny.yPred, history, images });
    assert.deepEqual(Object.keys(files), [...ALWAYS, 'learning_curves.png', 'samples.png', 'misclassified.png', ...PAGES]);
    for (const name of ['learning_curves.png', 'samples.png', 'misclassified.png']) pngSize(files[name] as Buffer);
  });

  it('skips learning curves for an empty history', () => {
    assert.deepEqual(Object.keys(buildReportFiles({ yTrue: tiny.yTrue, yPred: tiny.yPred, history: [] })), [...ALWAYS, ...PAGES]);
  });

  it('uses custom class names throughout', () => {
    const custom = loadSklearnFixture('custom_names_3_classes');
    const files = buildReportFiles({ yTrue: custom.yTrue, yPred: custom.yPred, classNames: custom.classNames });
    assert.equal(files['classification_report.txt'], custom.text);
    assert.deepEqual(JSON.parse(files['confusion_matrix.json'] as string).classNames, custom.classNames);
  });

  it('refuses images that are not the evaluated examples', () => {
    const shuffled = { ...images, labels: Uint8Array.from([...tiny.yTrue].reverse()) };
    assert.throws(() => buildReportFiles({ yTrue: tiny.yTrue, yPred: tiny.yPred, images: shuffled }), /not the same examples/);
    const fewer = { images: images.images.subarray(0, PIXELS_PER_IMAGE), labels: images.labels.subarray(0, 1), count: 1 };
    assert.throws(() => buildReportFiles({ yTrue: tiny.yTrue, yPred: tiny.yPred, images: fewer }), /1 examples but yTrue has 5/);
  });
});

describe('writeReport', () => {
  it('writes every built file into a new directory and returns their names', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fmnist-report-'));
    try {
      const outDir = join(root, 'nested', 'report');
      const inputs = { yTrue: tiny.yTrue, yPred: tiny.yPred, history, images };
      const written = await writeReport(outDir, inputs);
      const expected = buildReportFiles(inputs);
      assert.deepEqual(written, Object.keys(expected));
      assert.deepEqual((await readdir(outDir)).sort(), [...written].sort());
      assert.equal(await readFile(join(outDir, 'classification_report.txt'), 'utf8'), tiny.text);
      assert.deepEqual(await readFile(join(outDir, 'samples.png')), expected['samples.png']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
