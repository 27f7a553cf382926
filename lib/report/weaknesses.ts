import type { ClassificationReport, ClassScores } from './classification-report.ts';

/** One class's scores, by name, in the report's class order. */
export interface ClassRow extends ClassScores {
  name: string;
}

/** One off-diagonal cell of a confusion matrix: `count` examples of `trueClass` predicted as `predictedClass`. */
export interface Confusion {
  trueClass: string;
  predictedClass: string;
  count: number;
  /** count / the true class's support (0 for a class with no examples). */
  shareOfClass: number;
}

const SUMMARY_KEYS: readonly string[] = ['accuracy', 'micro avg', 'macro avg', 'weighted avg'];

/** The per-class rows of a classification report, in its key order (the class order). */
export function classRows(report: ClassificationReport): ClassRow[] {
  return Object.entries(report)
    .filter((entry): entry is [string, ClassScores] => typeof entry[1] === 'object' && !SUMMARY_KEYS.includes(entry[0]))
    .map(([name, scores]) => ({ name, ...scores }));
}

/** The `count` classes with the lowest F1, lowest first; ties keep the class order. */
export function weakestClasses(report: ClassificationReport, count = 3): ClassRow[] {
  return classRows(report)
    .map((row, index) => ({ row, index }))
    .sort((a, b) => a.row['f1-score'] - b.row['f1-score'] || a.index - b.index)
    .slice(0, count)
    .map(({ row }) => row);
}

/**
 * The `count` most frequent confusions (off-diagonal cells, rows = true class), largest first;
 * ties in row-major order. Cells of zero are never listed.
 */
export function topConfusions(matrix: readonly (readonly number[])[], classNames: readonly string[], count = 5): Confusion[] {
  if (matrix.length !== classNames.length || matrix.some((row) => row.length !== classNames.length)) {
    throw new RangeError(`confusion matrix is not ${classNames.length}x${classNames.length}, one row and column per class`);
  }
  const cells: Confusion[] = [];
  matrix.forEach((row, t) => {
    const support = row.reduce((sum, n) => sum + n, 0);
    row.forEach((n, p) => {
      if (t !== p && n > 0) cells.push({ trueClass: classNames[t], predictedClass: classNames[p], count: n, shareOfClass: support === 0 ? 0 : n / support });
    });
  });
  // Array.prototype.sort is stable, so equal counts stay in row-major order.
  return cells.sort((a, b) => b.count - a.count).slice(0, count);
}
