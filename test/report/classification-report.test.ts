import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_NAMES } from '../../lib/data/classes.ts';
import { classificationReport, formatClassificationReport } from '../../lib/report/classification-report.ts';
import type { ClassificationReport, ClassScores } from '../../lib/report/classification-report.ts';
import { loadSklearnFixtures } from './fixtures.ts';

const TOLERANCE = 1e-12;

function assertReportsClose(actual: ClassificationReport, expected: ClassificationReport): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected), 'same keys in the same order');
  for (const [key, expectedValue] of Object.entries(expected)) {
    const actualValue = actual[key];
    if (typeof expectedValue === 'number') {
      assert.equal(typeof actualValue, 'number', key);
      assert.ok(Math.abs((actualValue as number) - expectedValue) <= TOLERANCE, `${key}: ${actualValue} vs ${expectedValue}`);
      continue;
    }
    assert.equal(typeof actualValue, 'object', key);
    assert.deepEqual(Object.keys(actualValue), Object.keys(expectedValue), `${key}: same fields in the same order`);
    for (const [field, value] of Object.entries(expectedValue)) {
      const got = (actualValue as ClassScores)[field as keyof ClassScores];
      assert.ok(Math.abs(got - value) <= TOLERANCE, `${key}.${field}: ${got} vs ${value}`);
    }
  }
}

describe('classificationReport against scikit-learn (committed fixtures)', () => {
  for (const fixture of loadSklearnFixtures()) {
    it(`${fixture.case}: same keys, key order and values as classification_report(output_dict=True)`, () => {
      assertReportsClose(classificationReport(fixture.yTrue, fixture.yPred, fixture.classNames), fixture.report);
    });
    it(`${fixture.case}: same text as classification_report(digits=2) and digits=4`, () => {
      const report = classificationReport(fixture.yTrue, fixture.yPred, fixture.classNames);
      assert.equal(formatClassificationReport(report), fixture.text);
      assert.equal(formatClassificationReport(report, 4), fixture.textDigits4);
    });
  }
});

describe('classificationReport from first principles', () => {
  // true:      0 0 1 2 2 2
  // predicted: 0 1 1 2 0 2
  // a: tp 1, predicted 2, support 2 | b: tp 1, predicted 2, support 1 | c: tp 2, predicted 2, support 3
  const report = classificationReport([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], ['a', 'b', 'c']);

  it('computes per-class precision, recall, F1 and support', () => {
    assertReportsClose(report, {
      a: { precision: 1 / 2, recall: 1 / 2, 'f1-score': 1 / 2, support: 2 },
      b: { precision: 1 / 2, recall: 1, 'f1-score': 2 / 3, support: 1 },
      c: { precision: 1, recall: 2 / 3, 'f1-score': 4 / 5, support: 3 },
      accuracy: 4 / 6,
      'macro avg': { precision: 2 / 3, recall: 13 / 18, 'f1-score': 59 / 90, support: 6 },
      'weighted avg': { precision: 3 / 4, recall: 2 / 3, 'f1-score': 61 / 90, support: 6 },
    });
  });

  it('formats the table with sklearn column layout', () => {
    const expected = [
      '              precision    recall  f1-score   support',
      '',
      '           a       0.50      0.50      0.50         2',
      '           b       0.50      1.00      0.67         1',
      '           c       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.67         6',
      '   macro avg       0.67      0.72      0.66         6',
      'weighted avg       0.75      0.67      0.68         6',
      '',
    ].join('\n');
    assert.equal(formatClassificationReport(report), expected);
  });

  it('gives 0, not NaN, for a class never predicted and never present', () => {
    const sparse = classificationReport([0, 0], [0, 0], ['x', 'y']);
    assert.deepEqual(sparse['y'], { precision: 0, recall: 0, 'f1-score': 0, support: 0 });
    // The empty class still counts in the macro average: (1 + 0) / 2.
    assert.equal((sparse['macro avg'] as { precision: number }).precision, 0.5);
  });

  it('uses the Fashion-MNIST class names by default', () => {
    const defaults = classificationReport([0, 9], [0, 9]);
    assert.deepEqual(Object.keys(defaults), [...CLASS_NAMES, 'accuracy', 'macro avg', 'weighted avg']);
  });

  it('rejects bad input', () => {
    assert.throws(() => classificationReport([0, 1], [0], ['a', 'b']), /differ in length/);
    assert.throws(() => classificationReport([], [], ['a', 'b']), /empty/);
    assert.throws(() => classificationReport([0, 2], [0, 1], ['a', 'b']), /yTrue\[1\] = 2/);
    assert.throws(() => classificationReport([0], [0], ['a', 'a']), /appears twice/);
    assert.throws(() => classificationReport([0], [0], ['a', 'accuracy']), /clashes/);
    assert.throws(() => classificationReport([0], [0], []), /empty/);
  });
});

describe('formatClassificationReport', () => {
  it('widens the name column for long class names and honours digits', () => {
    const text = formatClassificationReport(classificationReport([0, 1], [0, 0], ['short', 'a much longer name']), 3);
    const lines = text.split('\n');
    assert.equal(lines[0], ' '.repeat(18) + '  precision    recall  f1-score   support');
    assert.equal(lines[2], '             short      0.500     1.000     0.667         1');
    assert.equal(lines[3], 'a much longer name      0.000     0.000     0.000         1');
  });
});
