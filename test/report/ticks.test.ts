import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTicks, niceTicks, tickDecimals } from '../../lib/report/charts/ticks.ts';

describe('niceTicks', () => {
  it('picks round steps inside the range', () => {
    assert.deepEqual(niceTicks(0, 977, 7, true), [0, 200, 400, 600, 800]);
    assert.deepEqual(niceTicks(0, 1, 7), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0.71, 0.92, 7), [0.75, 0.8, 0.85, 0.9]);
  });

  it('keeps integer axes (epochs, counts) on whole numbers', () => {
    assert.deepEqual(niceTicks(1, 10, 11, true), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(niceTicks(1, 3, 11, true), [1, 2, 3]);
    assert.deepEqual(niceTicks(0, 50, 6, true), [0, 10, 20, 30, 40, 50]);
  });

  it('returns the single value of a flat range and rejects a reversed one', () => {
    assert.deepEqual(niceTicks(4, 4), [4]);
    assert.throws(() => niceTicks(2, 1), /invalid tick range/);
  });
});

describe('tick labels', () => {
  it('use as many decimals as the step needs, the same for every tick', () => {
    assert.equal(tickDecimals(0.25), 2);
    assert.equal(tickDecimals(200), 0);
    assert.deepEqual(formatTicks([0, 0.2, 0.4]), ['0.0', '0.2', '0.4']);
    assert.deepEqual(formatTicks([0.75, 0.8, 0.85]), ['0.75', '0.80', '0.85']);
    assert.deepEqual(formatTicks([0, 200, 400]), ['0', '200', '400']);
  });
});
