import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fillKeepMultipliers, fillUniform, firstKeptDraw } from '../../lib/model/uniform-noise.ts';
import { SeededDropout } from '../../lib/model/seeded-dropout.ts';

describe('uniform noise for dropout', () => {
  it('is a function of the seed: the same values again, other values for the next seed', () => {
    const a = fillUniform(new Float32Array(1000), 42);
    assert.deepEqual(fillUniform(new Float32Array(1000), 42), a);
    const b = fillUniform(new Float32Array(1000), 43);
    assert.ok(a.filter((v, i) => v === b[i]).length < 3, 'neighbouring seeds share (almost) no values');
  });

  it('draws float32 multiples of 2^-24 in [0, 1), uniformly (chi-square over 100 bins)', () => {
    const values = fillUniform(new Float32Array(1_000_000), 7);
    const bins = new Array(100).fill(0);
    for (const v of values) {
      assert.ok(v >= 0 && v < 1 && Number.isInteger(v * 2 ** 24));
      bins[Math.floor(v * 100)]++;
    }
    const expected = values.length / 100;
    const chi2 = bins.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    // 99 degrees of freedom: P(chi2 > 148) < 0.001 for a uniform source.
    assert.ok(chi2 < 148, `chi-square ${chi2.toFixed(1)}`);
  });

  it('leaves consecutive draws and neighbouring seeds uncorrelated', () => {
    const n = 200_000;
    const [a, b] = [fillUniform(new Float32Array(n), 1000), fillUniform(new Float32Array(n), 1001)];
    const correlation = (x: ArrayLike<number>, y: ArrayLike<number>, count: number) => {
      let sx = 0, sy = 0, sxy = 0, sxx = 0, syy = 0;
      for (let i = 0; i < count; i++) {
        sx += x[i]; sy += y[i]; sxy += x[i] * y[i]; sxx += x[i] * x[i]; syy += y[i] * y[i];
      }
      return (sxy - (sx * sy) / count) / Math.sqrt((sxx - (sx * sx) / count) * (syy - (sy * sy) / count));
    };
    // |r| of independent samples has a standard deviation of 1 / sqrt(n), about 0.0022 here.
    assert.ok(Math.abs(correlation(a, b, n)) < 0.01, 'seed 1000 vs 1001');
    assert.ok(Math.abs(correlation(a, a.subarray(1), n - 1)) < 0.01, 'draw i vs draw i + 1');
  });

  it("gives the graph step the multipliers tfjs' float32 ops compute from the same noise, bit for bit", () => {
    // 2^22 draws cover a quarter of the 2^24 possible values, so the draws next to each rate's
    // threshold (where float32 rounding decides) come up.
    const multipliers = (u: number[], rate: number) =>
      tf.tidy(() => Array.from(tf.div(tf.floor(tf.add(tf.tensor1d(u), tf.scalar(1 - rate, 'float32'))), tf.scalar(1 - rate, 'float32')).dataSync()));
    for (const rate of [0.5, 0.25, 0.3, 0.1, 0.9, 1 / 3, 0]) {
      // Where float32 rounding decides: the last draw dropped and the first kept.
      const first = firstKeptDraw(rate);
      const [dropped, kept] = multipliers([(first - 1) * 2 ** -24, first * 2 ** -24], rate);
      assert.ok(rate === 0 ? first === 0 : dropped === 0 && kept > 1, `rate ${rate}: draw ${first} is the first kept (${dropped}, ${kept})`);
      const u = fillUniform(new Float32Array(2 ** 20), 5);
      const expected = tf.tidy(() => {
        const keep = tf.scalar(1 - rate, 'float32');
        return tf.div(tf.floor(tf.add(tf.tensor1d(u), keep)), keep).dataSync() as Float32Array;
      });
      assert.deepEqual(fillKeepMultipliers(new Float32Array(u.length), 5, rate), expected, `rate ${rate}`);
    }
  });

  it("drops about `rate` of the units in SeededDropout and scales the rest as tf.dropout does", () => {
    const layer = new SeededDropout({ rate: 0.3, seed: 5 });
    const input = tf.ones([200, 100]);
    const output = layer.apply(input, { training: true }) as tf.Tensor;
    const values = output.dataSync();
    const kept = values.filter((v) => v !== 0);
    assert.ok(Math.abs(kept.length / values.length - 0.7) < 0.01, `kept ${kept.length} of ${values.length}`);
    assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
    const again = (layer.apply(input, { training: true }) as tf.Tensor).dataSync();
    assert.notDeepEqual(again, values, 'the next call draws another mask');
    tf.dispose([input, output]);
  });
});
