import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flipFlags } from '../../lib/model/augmentation.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';

describe('augmentation: horizontal flips', () => {
  it('flags about half of the examples, the same ones for the same seed and step, others for the next step', () => {
    const a = flipFlags(new Float32Array(10_000), 42, 7);
    assert.ok(a.every((f) => f === 0 || f === 1));
    const share = a.reduce((sum, f) => sum + f, 0) / a.length;
    assert.ok(Math.abs(share - 0.5) < 0.02, `share ${share}`);
    assert.deepEqual(flipFlags(new Float32Array(10_000), 42, 7), a);
    const next = flipFlags(new Float32Array(10_000), 42, 8);
    const same = a.filter((f, i) => f === next[i]).length / a.length;
    assert.ok(Math.abs(same - 0.5) < 0.02, `steps 7 and 8 agree on ${same} of the examples: independent flags agree on about half`);
    const otherSeed = flipFlags(new Float32Array(10_000), 43, 7);
    assert.ok(Math.abs(a.filter((f, i) => f === otherSeed[i]).length / a.length - 0.5) < 0.02);
  });

  it('is a config field, checked', () => {
    assert.deepEqual(parseTrainConfig({ augmentation: { horizontalFlip: true } }).augmentation, { horizontalFlip: true });
    assert.equal(parseTrainConfig({}).augmentation, undefined);
    assert.throws(() => parseTrainConfig({ augmentation: { verticalFlip: true } }, 'c.json'), /c\.json.*augmentation/s);
  });
});
