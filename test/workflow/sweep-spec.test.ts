import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../lib/errors.ts';
import { halvingBudgets, MAX_SWEEP_TRIALS, planSweep, survivorsOf } from '../../lib/workflow/sweep/sweep-spec.ts';

const refuses = (spec: unknown, pattern: RegExp, base: Record<string, unknown> = {}) =>
  assert.throws(() => planSweep(spec, 'sw', base, 4), (error: Error) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, pattern);
    return true;
  });

describe('sweep specs: grid, random draws and lists', () => {
  test('a grid is every combination, the first field varying slowest, each over the base config', () => {
    const plan = planSweep({ grid: { learningRate: [0.001, 0.0005], batchSize: [32, 64, 128] } }, 'sw', { epochs: 3 }, 4);
    const expected: Record<string, unknown>[] = [];
    for (const learningRate of [0.001, 0.0005]) for (const batchSize of [32, 64, 128]) expected.push({ epochs: 3, learningRate, batchSize });
    assert.deepEqual(plan.trials.map((trial) => trial.config), expected);
    assert.deepEqual(plan.trials.map((trial) => trial.trialId), ['t01', 't02', 't03', 't04', 't05', 't06']);
    assert.deepEqual(plan.trials.map((trial) => trial.runId), ['sw-t01', 'sw-t02', 'sw-t03', 'sw-t04', 'sw-t05', 'sw-t06']);
    assert.deepEqual(plan.epochBudgets, [3], 'one round without halving');
    assert.equal(plan.maxConcurrency, 4, "the stack's default");
    assert.deepEqual(plan.source, { kind: 'grid' });
  });

  test('random draws are seeded: the same seed the same trials, inside the ranges, log scale in log space', () => {
    const spec = { random: { count: 200, seed: 7, space: { learningRate: { min: 1e-4, max: 1e-2, scale: 'log' }, batchSize: [32, 64], epochs: { min: 1, max: 3, integer: true } } } };
    const a = planSweep({ ...spec, random: { ...spec.random, count: 20 } }, 'sw', {}, 2);
    const b = planSweep({ ...spec, random: { ...spec.random, count: 20 } }, 'sw', {}, 2);
    assert.deepEqual(a.trials, b.trials);
    assert.deepEqual(a.source, { kind: 'random', seed: 7 });
    const other = planSweep({ ...spec, random: { ...spec.random, count: 20, seed: 8 } }, 'sw', {}, 2);
    assert.notDeepEqual(a.trials.map((t) => t.config), other.trials.map((t) => t.config));
    for (const { config } of a.trials) {
      const rate = config.learningRate as number;
      assert.ok(rate >= 1e-4 && rate <= 1e-2, String(rate));
      assert.ok([32, 64].includes(config.batchSize as number));
      assert.ok([1, 2, 3].includes(config.epochs as number));
    }
    // Log-uniform: about half the draws fall below the geometric mean 1e-3 (a linear draw would put ~9 %).
    const many = planSweep({ random: { count: MAX_SWEEP_TRIALS, seed: 1, space: { learningRate: { min: 1e-4, max: 1e-2, scale: 'log' } } } }, 'sw', {}, 2);
    const below = many.trials.filter((t) => (t.config.learningRate as number) < 1e-3).length;
    assert.ok(below >= 8 && below <= 24, `${below} of ${MAX_SWEEP_TRIALS} below 1e-3`);
  });

  test('a list is taken as given', () => {
    const plan = planSweep({ trials: [{ learningRate: 0.01 }, { batchSize: 16 }] }, 'sw', { seed: 1 }, 4);
    assert.deepEqual(plan.trials.map((trial) => trial.config), [{ seed: 1, learningRate: 0.01 }, { seed: 1, batchSize: 16 }]);
  });

  test('refuses an empty, too large, ambiguous or invalid sweep before any work, naming the trial and the field', () => {
    refuses({}, /give exactly one of "grid", "random" or "trials" \(got none\)/);
    refuses({ grid: { epochs: [1] }, trials: [{}] }, /exactly one .* \(got "grid" and "trials"\)/);
    refuses({ grid: {} }, /sweep\.grid: names no config field/);
    refuses({ grid: { learningRate: [] } }, /sweep\.grid\.learningRate: needs at least one value/);
    refuses({ trials: [] }, /sweep\.trials: needs at least one trial/);
    refuses({ grid: { learningRat: [0.1] } }, /sweep\.grid\.learningRat/);
    refuses({ grid: { learningRate: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], batchSize: [1, 2, 3, 4, 5, 6] } }, /makes 36 trials \(6 x 6\); at most 32/);
    refuses({ random: { count: 33, space: { seed: [1] } } }, /sweep\.random\.count/);
    refuses({ trials: [{ learningRate: 0.01 }, { batchSize: -4 }] }, /sweep trial t02 .*batchSize/);
    refuses({ grid: { epochs: [1, 2] }, halving: true }, /every trial must train the same number of epochs.*t01 has 1, t02 2/);
    refuses({ grid: { seed: [1, 2] }, maxConcurrency: 41 }, /sweep\.maxConcurrency/);
    refuses({ random: { count: 2, space: { learningRate: { min: 0, max: 1, scale: 'log' } } } }, /log scale needs min > 0/);
  });
});

describe('successive halving', () => {
  test('budgets: one round per halving until one trial is left, each eta times shorter, the last the full epochs', () => {
    assert.deepEqual(halvingBudgets(8, 8, 2), [1, 2, 4, 8]);
    assert.deepEqual(halvingBudgets(4, 10, 2), [2, 5, 10]);
    assert.deepEqual(halvingBudgets(9, 9, 3), [1, 3, 9]);
    assert.deepEqual(halvingBudgets(8, 2, 2), [1, 2], 'budgets that would repeat are merged');
    assert.deepEqual(halvingBudgets(1, 10, 2), [10]);
    assert.equal(survivorsOf(5, 2), 3);
    assert.equal(survivorsOf(4, 3), 2);
  });

  test("no epoch is trained twice: a halving sweep trains at most half a grid's epochs (8 trials x 8 epochs)", () => {
    const budgets = halvingBudgets(8, 8, 2);
    let trials = 8;
    let epochs = 0;
    let done = 0;
    for (const budget of budgets) {
      epochs += trials * (budget - done);
      done = budget;
      trials = survivorsOf(trials, 2);
    }
    assert.equal(epochs, 8 * 1 + 4 * 1 + 2 * 2 + 1 * 4);
    assert.ok(epochs <= (8 * 8) / 2);
  });

  test('a halving plan keeps eta and the budgets; early stopping does not combine with it', () => {
    const plan = planSweep({ grid: { learningRate: [1e-3, 5e-4, 2e-3, 1e-2] }, halving: { eta: 2 } }, 'sw', { epochs: 10 }, 4);
    assert.equal(plan.eta, 2);
    assert.deepEqual(plan.epochBudgets, [2, 5, 10]);
    refuses({ grid: { seed: [1, 2] }, halving: true }, /earlyStopping and successive halving/, { earlyStopping: { patience: 2 } });
  });
});
