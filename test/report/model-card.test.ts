import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_NAMES } from '../../lib/data/classes.ts';
import { classificationReport } from '../../lib/report/classification-report.ts';
import { confusionMatrix } from '../../lib/report/confusion-matrix.ts';
import { renderModelCard } from '../../lib/report/model-card.ts';
import { topConfusions, weakestClasses } from '../../lib/report/weaknesses.ts';
import { buildReportFiles } from '../../lib/report/write-report.ts';
import { realisticPageInputs } from './page-fixture.ts';

/**
 * A confusion matrix built by hand: ten examples per class, all right except Shirt (4 taken for
 * T-shirt/top) and Pullover (3 taken for Coat), so the F1 scores follow by hand:
 * Shirt 2·6/(10+6) = 0.7500, Pullover 2·7/(10+7) = 0.8235, T-shirt/top 2·10/(10+14) = 0.8333,
 * Coat 2·10/(10+13) = 0.8696, every other class 1.
 */
const SHIRT = 6, TSHIRT = 0, PULLOVER = 2, COAT = 4;
const matrix: number[][] = CLASS_NAMES.map((_, t) => CLASS_NAMES.map((__, p) => (t === p ? 10 : 0)));
matrix[SHIRT][SHIRT] = 6;
matrix[SHIRT][TSHIRT] = 4;
matrix[PULLOVER][PULLOVER] = 7;
matrix[PULLOVER][COAT] = 3;
const yTrue: number[] = [];
const yPred: number[] = [];
matrix.forEach((row, t) => row.forEach((n, p) => { for (let i = 0; i < n; i++) { yTrue.push(t); yPred.push(p); } }));
const report = classificationReport(yTrue, yPred);

describe('weak classes from the confusion matrix', () => {
  it('the labels rebuild the hand-made matrix', () => {
    assert.deepEqual(confusionMatrix(yTrue, yPred), matrix);
  });

  it('lists the lowest F1 first, with the hand-computed scores', () => {
    const weak = weakestClasses(report, 4);
    assert.deepEqual(weak.map((r) => r.name), ['Shirt', 'Pullover', 'T-shirt/top', 'Coat']);
    assert.deepEqual(weak.map((r) => Number(r['f1-score'].toFixed(4))), [0.75, 0.8235, 0.8333, 0.8696]);
  });

  it('lists the most frequent confusions, largest first, with their share of the true class', () => {
    assert.deepEqual(topConfusions(matrix, CLASS_NAMES), [
      { trueClass: 'Shirt', predictedClass: 'T-shirt/top', count: 4, shareOfClass: 0.4 },
      { trueClass: 'Pullover', predictedClass: 'Coat', count: 3, shareOfClass: 0.3 },
    ]);
    assert.deepEqual(topConfusions([[0, 2, 2], [2, 0, 0], [0, 0, 5]], ['a', 'b', 'c'], 2).map((c) => `${c.trueClass}>${c.predictedClass}`), ['a>b', 'a>c'], 'ties in row-major order');
    assert.throws(() => topConfusions([[1, 0]], ['a', 'b']), /not 2x2/);
  });
});

describe('renderModelCard', () => {
  const card = renderModelCard({ report, matrix, classNames: CLASS_NAMES, loss: 0.25 });

  it('names the weak classes and confusions with their numbers', () => {
    const weakSection = card.slice(card.indexOf('## Known weak classes'), card.indexOf('## Training'));
    assert.match(weakSection, /- Shirt: F1 0\.7500 \(precision 1\.0000, recall 0\.6000\)\n- Pullover: F1 0\.8235 \(precision 1\.0000, recall 0\.7000\)\n- T-shirt\/top: F1 0\.8333 \(precision 0\.7143, recall 1\.0000\)/);
    assert.match(weakSection, /- Shirt -> T-shirt\/top: 4 images \(40\.00 % of Shirt\)\n- Pullover -> Coat: 3 images \(30\.00 % of Pullover\)\n/);
  });

  it('has every section and a metrics row per class', () => {
    for (const heading of ['## Intended use', '## Data', '## Metrics', '### By class', '## Known weak classes', '## Training', '## Limits']) {
      assert.ok(card.includes(`\n${heading}\n`), heading);
    }
    for (const name of CLASS_NAMES) assert.match(card, new RegExp(`^\\| ${name.replace('/', '\\/')} \\| \\d\\.\\d{4} \\| \\d\\.\\d{4} \\| \\d\\.\\d{4} \\| 10 \\|$`, 'm'));
    assert.match(card, /^\| Shirt \| 1\.0000 \| 0\.6000 \| 0\.7500 \| 10 \|$/m);
    assert.match(card, /- Accuracy: 0\.9300 \(93\.00 %\)/); // 93 of 100 right
    assert.match(card, /- Loss: 0\.2500/);
    assert.match(card, /- Not recorded \(no training\.json/);
  });

  it('from the report writer: training config, lineage and a table-safe hostile name', () => {
    const inputs = realisticPageInputs();
    const classNames = [...CLASS_NAMES.slice(0, 9), 'Ankle | boot\nnew line'];
    const written = buildReportFiles({ ...inputs, classNames })['model_card.md'] as string;
    assert.match(written, /^# Model card: Fashion-MNIST classifier \(run run-2026-12-02-abc\)$/m);
    assert.match(written, /- Epochs: 3, batch size: 64, learning rate \(Adam\): 0\.001, validation split: 0\.2, seed: 42/);
    assert.match(written, /training step: graph/);
    assert.match(written, /- test source: `t10k-labels-idx1-ubyte\.gz` \(5148 bytes, sha256 `d{64}`\)/);
    assert.match(written, /^\| Ankle \\\| boot new line \| /m);
  });
});
