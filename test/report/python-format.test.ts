import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { numpySum } from '../../lib/report/numpy-sum.ts';
import { formatFixed } from '../../lib/report/python-format.ts';

describe('formatFixed (Python format(x, ".Nf"))', () => {
  it('rounds exact binary ties half to even, unlike toFixed', () => {
    // 0.125, 0.375, 0.625, 0.875 are exactly representable, so they are true ties.
    assert.equal(formatFixed(0.125, 2), '0.12');
    assert.equal(formatFixed(0.375, 2), '0.38');
    assert.equal(formatFixed(0.625, 2), '0.62');
    assert.equal(formatFixed(0.875, 2), '0.88');
    assert.equal(formatFixed(2.5, 0), '2');
    assert.equal(formatFixed(3.5, 0), '4');
  });

  it('rounds non-ties by the exact binary value', () => {
    // 1.005 is stored as 1.00499999999999989..., 0.675 as 0.67500000000000004...
    assert.equal(formatFixed(1.005, 2), '1.00');
    assert.equal(formatFixed(0.675, 2), '0.68');
    assert.equal(formatFixed(2 / 3, 2), '0.67');
    assert.equal(formatFixed(2 / 3, 4), '0.6667');
  });

  it('pads, keeps signs and never switches to exponent notation', () => {
    assert.equal(formatFixed(0, 3), '0.000');
    assert.equal(formatFixed(1, 2), '1.00');
    assert.equal(formatFixed(-0.5, 0), '-0');
    assert.equal(formatFixed(-1.25, 1), '-1.2');
    assert.equal(formatFixed(1e21, 1), '1000000000000000000000.0');
    assert.equal(formatFixed(5e-7, 6), '0.000000');
    assert.equal(formatFixed(Number.NaN, 2), 'nan');
  });
});

describe('numpySum (numpy pairwise summation order)', () => {
  it('adds ten values in numpy order, not left to right', () => {
    // 2^53 + nine ones. Left to right every +1 is rounded away (2^53 + 1 is a tie that rounds to
    // even). numpy adds the first eight pairwise, ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)) = 2^53 + 6,
    // then a8 -> 2^53 + 7, a tie that rounds to 2^53 + 8, then a9 -> 2^53 + 9 -> 2^53 + 8.
    // (Checked against np.sum: 8 above 2^53.)
    const values = [2 ** 53, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    assert.equal(numpySum(values), 2 ** 53 + 8);
  });

  it('adds fewer than eight values left to right', () => {
    assert.equal(numpySum([2 ** 53, 1, 1, 1, 1, 1]), 2 ** 53);
    assert.equal(numpySum([]), 0);
    assert.equal(numpySum([0.5, 0.25]), 0.75);
  });

  it('splits long inputs and still sums exactly representable values exactly', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    assert.equal(numpySum(values), (999 * 1000) / 2);
  });
});
