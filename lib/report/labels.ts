/**
 * Checks a pair of label sequences before any metric is computed from them, so a bad
 * evaluation run fails loudly instead of producing a plausible-looking report.
 */
export function assertLabelPairs(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  }
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`yTrue and yPred differ in length: ${yTrue.length} vs ${yPred.length}`);
  }
  // Same as scikit-learn, which refuses empty input rather than reporting 0/0 metrics.
  if (yTrue.length === 0) {
    throw new RangeError('yTrue and yPred are empty: there is nothing to evaluate');
  }
  assertLabelsInRange(yTrue, numClasses, 'yTrue');
  assertLabelsInRange(yPred, numClasses, 'yPred');
}

export function assertLabelsInRange(labels: ArrayLike<number>, numClasses: number, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new RangeError(`${what}[${i}] = ${label} is not a class index in 0..${numClasses - 1}`);
    }
  }
}
