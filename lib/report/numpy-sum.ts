/**
 * Sum of float64 values in the exact order numpy's `np.sum` adds them (pairwise summation
 * with eight accumulators). Floating-point addition is not associative, so this is what lets
 * the macro and weighted averages match scikit-learn bit for bit rather than to ~1e-16, and
 * keeps a half-way value like 0.125 from flipping a rounded digit in the text report.
 * Mirrors `pairwise_sum` in numpy/_core/src/umath/loops_utils.h.src.
 */
export function numpySum(values: ArrayLike<number>): number {
  return pairwiseSum(values, 0, values.length);
}

const BLOCK_SIZE = 128;

function pairwiseSum(values: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[start + i];
    return sum;
  }
  if (n <= BLOCK_SIZE) {
    const acc = new Array<number>(8);
    for (let j = 0; j < 8; j++) acc[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) acc[j] += values[start + i + j];
    }
    // prettier-ignore
    let sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, n - half);
}
