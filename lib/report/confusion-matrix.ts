import { NUM_CLASSES } from '../data/classes.ts';
import { assertLabelPairs } from './labels.ts';

/**
 * Counts of (true class, predicted class) pairs. Rows are the true class and columns the
 * predicted class, as in sklearn.metrics.confusion_matrix, so row sums are class supports.
 */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  numClasses: number = NUM_CLASSES,
): number[][] {
  assertLabelPairs(yTrue, yPred, numClasses);
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    matrix[yTrue[i]][yPred[i]] += 1;
  }
  return matrix;
}

/**
 * Each row divided by its sum: cell (t, p) becomes the share of class t predicted as p, so
 * the diagonal is per-class recall. A class with no examples gets a row of zeros rather
 * than NaN, which would poison JSON output and colour scales.
 */
export function normalizeRows(matrix: number[][]): number[][] {
  return matrix.map((row) => {
    const total = row.reduce((sum, count) => sum + count, 0);
    return row.map((count) => (total === 0 ? 0 : count / total));
  });
}
