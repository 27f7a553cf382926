import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RESERVE_CAP_MS, RESERVE_FRACTION, SAFETY, timeBudget, UNMEASURED_CHECKPOINT_MS } from '../../functions/train/time-budget.ts';

const at = (epoch: number, batch: number) => ({ epoch, batch, epochs: 10, batches: 100 });

describe('the train Lambda’s time budget: pause when the next slice and a checkpoint may not fit', () => {
  test('the reserve is 20 % of the invocation’s budget, at most 20 s: 20 s of AWS’s 900 s, 600 ms of a 3-second local budget', () => {
    assert.equal(timeBudget(() => 0, 900_000).reserveMs, RESERVE_CAP_MS);
    assert.equal(RESERVE_CAP_MS, 20_000);
    assert.equal(timeBudget(() => 0, 3_000).reserveMs, RESERVE_FRACTION * 3_000);
    assert.equal(timeBudget(() => 0, 3_000).reserveMs, 600);
  });

  test('mid-epoch: a batch plus a checkpoint, with the safety factor, plus the reserve', () => {
    let remaining = 0;
    const budget = timeBudget(() => remaining, 900_000);
    const progress = { position: at(2, 10), msPerBatch: 40, msLastValidation: 2_000, msLastCheckpoint: 600 };
    budget.pauseWhen(progress); // the first slice always runs
    const threshold = SAFETY * (40 + 600) + 20_000;
    remaining = threshold + 1;
    assert.equal(budget.pauseWhen(progress), false);
    remaining = threshold;
    assert.equal(budget.pauseWhen(progress), true);
  });

  test('before the last batch of an epoch the slice includes the validation and the epoch-end checkpoint', () => {
    let remaining = 0;
    const budget = timeBudget(() => remaining, 900_000);
    const last = { position: at(2, 99), msPerBatch: 40, msLastValidation: 2_000, msLastCheckpoint: 600 };
    budget.pauseWhen(last);
    remaining = SAFETY * (40 + 600) + 20_000 + 1; // enough for a batch mid-epoch...
    assert.equal(budget.pauseWhen(last), true); // ...not for the epoch end
    remaining = SAFETY * (40 + 2_000 + 600 + 600) + 20_000 + 1;
    assert.equal(budget.pauseWhen(last), false);
  });

  test('a checkpoint not yet measured in this invocation counts as 1 s on AWS, a tenth of a smaller budget', () => {
    let small = 0;
    const local = timeBudget(() => small, 3_000);
    const first = { position: at(1, 5), msPerBatch: 10, msLastValidation: 0, msLastCheckpoint: 0 };
    local.pauseWhen(first);
    small = SAFETY * (10 + 300) + RESERVE_FRACTION * 3_000;
    assert.equal(local.pauseWhen(first), true);
    small += 1;
    assert.equal(local.pauseWhen(first), false);

    let remaining = 0;
    const budget = timeBudget(() => remaining, 900_000);
    const progress = { position: at(1, 5), msPerBatch: 10, msLastValidation: 0, msLastCheckpoint: 0 };
    budget.pauseWhen(progress);
    remaining = SAFETY * (10 + UNMEASURED_CHECKPOINT_MS) + 20_000;
    assert.equal(budget.pauseWhen(progress), true);
    remaining += 1;
    assert.equal(budget.pauseWhen(progress), false);
  });

  test('the first slice of an invocation always runs, however little time is left: no "continue" without progress', () => {
    const budget = timeBudget(() => 1, 3_000);
    const progress = { position: at(3, 0), msPerBatch: 500, msLastValidation: 500, msLastCheckpoint: 500 };
    assert.equal(budget.pauseWhen(progress), false);
    assert.equal(budget.pauseWhen({ ...progress, position: at(3, 1) }), true);
  });
});
