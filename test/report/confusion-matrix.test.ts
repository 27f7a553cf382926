import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confusionMatrix, normalizeRows } from '../../lib/report/confusion-matrix.ts';
import { loadSklearnFixtures } from './fixtures.ts';

describe('confusionMatrix', () => {
  it('counts (true, predicted) pairs with rows = true class, columns = predicted class', () => {
    // true 0 -> predicted 0 and 1; true 1 -> 1; true 2 -> 2, 0, 2
    const matrix = confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3);
    assert.deepEqual(matrix, [
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 2],
    ]);
  });

  it('defaults to the 10 Fashion-MNIST classes', () => {
    const matrix = confusionMatrix([9, 3], [9, 4]);
    assert.equal(matrix.length, 10);
    assert.ok(matrix.every((row) => row.length === 10));
    assert.equal(matrix[9][9], 1);
    assert.equal(matrix[3][4], 1);
    assert.equal(matrix.flat().reduce((a, b) => a + b, 0), 2);
  });

  it('accepts typed arrays', () => {
    assert.deepEqual(confusionMatrix(Uint8Array.from([1, 0]), Int32Array.from([1, 1]), 2), [
      [0, 1],
      [0, 1],
    ]);
  });

  for (const fixture of loadSklearnFixtures()) {
    it(`equals sklearn.metrics.confusion_matrix: ${fixture.case}`, () => {
      assert.deepEqual(confusionMatrix(fixture.yTrue, fixture.yPred, fixture.classNames.length), fixture.confusionMatrix);
    });
  }

  it('rejects inputs of different lengths', () => {
    assert.throws(() => confusionMatrix([0, 1], [0], 2), /differ in length: 2 vs 1/);
  });

  it('rejects empty input, as sklearn does', () => {
    assert.throws(() => confusionMatrix([], [], 2), /empty/);
  });

  it('rejects labels that are not class indices, naming the position', () => {
    assert.throws(() => confusionMatrix([0, 10], [0, 0]), /yTrue\[1\] = 10/);
    assert.throws(() => confusionMatrix([0, 0], [-1, 0]), /yPred\[0\] = -1/);
    assert.throws(() => confusionMatrix([0.5], [0]), /yTrue\[0\] = 0.5/);
    assert.throws(() => confusionMatrix([Number.NaN], [0]), /yTrue\[0\] = NaN/);
  });
});

describe('normalizeRows', () => {
  it('divides each row by its total, so the diagonal is per-class recall', () => {
    const normalized = normalizeRows([
      [1, 1, 0],
      [0, 4, 0],
      [1, 0, 2],
    ]);
    assert.deepEqual(normalized[0], [0.5, 0.5, 0]);
    assert.deepEqual(normalized[1], [0, 1, 0]);
    assert.deepEqual(normalized[2], [1 / 3, 0, 2 / 3]);
  });

  it('turns a row with no examples into zeros instead of NaN', () => {
    assert.deepEqual(normalizeRows([[0, 0], [3, 1]]), [
      [0, 0],
      [0.75, 0.25],
    ]);
  });

  it('does not modify its input', () => {
    const matrix = [[2, 2]];
    normalizeRows(matrix);
    assert.deepEqual(matrix, [[2, 2]]);
  });
});
