import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { learningRateAt } from '../../lib/model/learning-rate.ts';
import { ConfigError } from '../../lib/errors.ts';

describe('learning-rate schedules', () => {
  it('keeps the rate constant without a schedule or with "constant"', () => {
    for (const step of [0, 7, 100]) {
      assert.equal(learningRateAt(undefined, 0.001, step, 100), 0.001);
      assert.equal(learningRateAt('constant', 0.001, step, 100), 0.001);
    }
  });

  it("follows Keras' CosineDecay (alpha 0) over every step of the run", () => {
    // Keras: lr * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)); values written out
    // from cos(0) = 1, cos(pi / 4) = sqrt(2) / 2, cos(pi / 2) = 0, cos(pi) = -1.
    const T = 400;
    assert.equal(learningRateAt('cosine', 0.002, 0, T), 0.002);
    assert.ok(Math.abs(learningRateAt('cosine', 0.002, 100, T) - 0.001 * (1 + Math.SQRT1_2)) < 1e-15);
    assert.ok(Math.abs(learningRateAt('cosine', 0.002, 200, T) - 0.001) < 1e-15);
    assert.ok(Math.abs(learningRateAt('cosine', 0.002, 400, T)) < 1e-18);
    assert.ok(Math.abs(learningRateAt('cosine', 0.002, 401, T)) < 1e-18, 'past the end it stays at 0');
    let previous = Infinity;
    for (let step = 0; step <= T; step++) {
      const rate = learningRateAt('cosine', 0.002, step, T);
      assert.ok(rate <= previous, `falls at step ${step}`);
      previous = rate;
    }
  });

  it('is a config field: optional, and checked', () => {
    assert.equal(parseTrainConfig({}).learningRateSchedule, undefined);
    assert.equal(parseTrainConfig({ learningRateSchedule: 'cosine' }).learningRateSchedule, 'cosine');
    assert.throws(() => parseTrainConfig({ learningRateSchedule: 'linear' }, 'strong.json'), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /strong\.json.*learningRateSchedule/s);
      return true;
    });
  });
});
