import { CLASS_NAMES } from '../data/classes.ts';
import { assertLabelPairs } from './labels.ts';
import { numpySum } from './numpy-sum.ts';
import { formatFixed } from './python-format.ts';

export interface ClassScores {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}

/**
 * The shape of sklearn's `classification_report(..., output_dict=True)`: one entry per class
 * name, then `accuracy` (a bare number), `macro avg` and `weighted avg`, in that key order.
 */
export type ClassificationReport = Record<string, ClassScores | number>;

const AVERAGE_KEYS = ['micro avg', 'macro avg', 'weighted avg'] as const;
const RESERVED_KEYS: readonly string[] = ['accuracy', ...AVERAGE_KEYS];

/**
 * Per-class precision, recall, F1 and support, plus accuracy and the macro and support-weighted
 * averages. Same keys, key order and values as
 * `classification_report(y_true, y_pred, labels=range(len(classNames)), target_names=classNames,
 * output_dict=True, zero_division=0)`: a ratio with a zero denominator (a class never predicted,
 * or absent from yTrue) is 0, and such classes still count in the macro average.
 */
export function classificationReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  classNames: readonly string[] = CLASS_NAMES,
): ClassificationReport {
  assertUsableClassNames(classNames);
  const numClasses = classNames.length;
  assertLabelPairs(yTrue, yPred, numClasses);

  const truePositives = new Array<number>(numClasses).fill(0);
  const predictedCounts = new Array<number>(numClasses).fill(0);
  const supports = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < yTrue.length; i++) {
    supports[yTrue[i]] += 1;
    predictedCounts[yPred[i]] += 1;
    if (yTrue[i] === yPred[i]) truePositives[yTrue[i]] += 1;
  }

  const precision = truePositives.map((tp, c) => divideOrZero(tp, predictedCounts[c]));
  const recall = truePositives.map((tp, c) => divideOrZero(tp, supports[c]));
  // sklearn computes F1 from counts, 2·tp / (support + predicted), not from the rounded-off
  // precision and recall; the two differ in the last bits.
  const f1 = truePositives.map((tp, c) => divideOrZero(2 * tp, supports[c] + predictedCounts[c]));

  const report: ClassificationReport = {};
  classNames.forEach((name, c) => {
    report[name] = { precision: precision[c], recall: recall[c], 'f1-score': f1[c], support: supports[c] };
  });

  const total = yTrue.length;
  report['accuracy'] = numpySum(truePositives) / total;
  report['macro avg'] = {
    precision: numpySum(precision) / numClasses,
    recall: numpySum(recall) / numClasses,
    'f1-score': numpySum(f1) / numClasses,
    support: total,
  };
  const weightedMean = (scores: number[]): number => numpySum(scores.map((score, c) => score * supports[c])) / total;
  report['weighted avg'] = {
    precision: weightedMean(precision),
    recall: weightedMean(recall),
    'f1-score': weightedMean(f1),
    support: total,
  };
  return report;
}

/**
 * The text table sklearn's `classification_report(..., digits=digits)` returns (the string,
 * ending in a newline; `print` would add one more): names right-aligned in a column at least
 * as wide as "weighted avg", 9-wide numeric columns, a blank line after the header and after
 * the class rows.
 */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const classRows = Object.entries(report).filter(
    (entry): entry is [string, ClassScores] => typeof entry[1] === 'object' && !RESERVED_KEYS.includes(entry[0]),
  );
  // sklearn quirk reproduced on purpose: when no prediction at all is correct, it counts with
  // float arrays and prints supports as "100.0" instead of "100".
  const noTruePositives = report['accuracy'] === 0;
  const formatSupport = (support: number): string => (noTruePositives ? pythonFloatRepr(support) : String(support));

  const width = Math.max(...classRows.map(([name]) => codePointLength(name)), 'weighted avg'.length, digits);
  const cell = (text: string): string => ` ${padLeft(text, 9)}`;
  const scoreRow = (name: string, scores: ClassScores): string =>
    `${padLeft(name, width)} ` +
    cell(formatFixed(scores.precision, digits)) +
    cell(formatFixed(scores.recall, digits)) +
    cell(formatFixed(scores['f1-score'], digits)) +
    cell(formatSupport(scores.support)) +
    '\n';

  let text = `${padLeft('', width)} ` + ['precision', 'recall', 'f1-score', 'support'].map(cell).join('') + '\n\n';
  for (const [name, scores] of classRows) text += scoreRow(name, scores);
  text += '\n';

  const accuracy = report['accuracy'];
  if (typeof accuracy === 'number') {
    const totalSupport = classRows.reduce((sum, [, scores]) => sum + scores.support, 0);
    text += `${padLeft('accuracy', width)} ` + cell('') + cell('') + cell(formatFixed(accuracy, digits)) + cell(formatSupport(totalSupport)) + '\n';
  }
  for (const key of AVERAGE_KEYS) {
    const scores = report[key];
    if (typeof scores === 'object') text += scoreRow(key, scores);
  }
  return text;
}

function divideOrZero(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Duplicate or reserved names would silently overwrite each other's entries in the report. */
function assertUsableClassNames(classNames: readonly string[]): void {
  if (classNames.length === 0) throw new RangeError('classNames is empty');
  const seen = new Set<string>();
  for (const name of classNames) {
    if (seen.has(name)) throw new RangeError(`class name "${name}" appears twice`);
    if (RESERVED_KEYS.includes(name)) throw new RangeError(`class name "${name}" clashes with a summary row of the report`);
    seen.add(name);
  }
}

/** Python's str() of a float holding a whole number, e.g. 100.0 -> "100.0". */
function pythonFloatRepr(wholeNumber: number): string {
  return Number.isInteger(wholeNumber) && Math.abs(wholeNumber) < 1e16 ? `${wholeNumber}.0` : String(wholeNumber);
}

/** Python pads by code points, JavaScript's padStart by UTF-16 units. */
function padLeft(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - codePointLength(text))) + text;
}

function codePointLength(text: string): number {
  return [...text].length;
}
