import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { annotationColorOn, blues, relativeLuminance, toCss } from '../../lib/report/charts/blues.ts';

describe('blues colormap (matplotlib "Blues")', () => {
  it('starts and ends at the first and last ColorBrewer stops', () => {
    assert.equal(toCss(blues(0)), 'rgb(247, 251, 255)'); // #f7fbff
    assert.equal(toCss(blues(1)), 'rgb(8, 48, 107)'); // #08306b
  });

  it('samples a 256-entry table like matplotlib', () => {
    // 0.5 -> entry floor(0.5 * 256) = 128, at 128/255 along the map = 0.0157 of the way
    // from stop 4 (#6baed6 = 107,174,214) to stop 5 (#4292c6 = 66,146,198).
    assert.equal(toCss(blues(0.5)), 'rgb(106, 174, 214)');
    // 0.25 -> entry 64, 0.0078 of the way from #c6dbef (198,219,239) to #9ecae1.
    assert.equal(toCss(blues(0.25)), 'rgb(198, 219, 239)');
  });

  it('clips values outside 0..1', () => {
    assert.deepEqual(blues(-3), blues(0));
    assert.deepEqual(blues(7), blues(1));
  });
});

describe('annotation colour', () => {
  it('is white on the dark end and near-black on the light end', () => {
    assert.equal(annotationColorOn(blues(1)), '#ffffff');
    assert.equal(annotationColorOn(blues(0.9)), '#ffffff');
    assert.equal(annotationColorOn(blues(0)), '#262626');
    assert.equal(annotationColorOn(blues(0.2)), '#262626');
  });

  it('uses WCAG relative luminance', () => {
    assert.equal(relativeLuminance([1, 1, 1]), 1);
    assert.equal(relativeLuminance([0, 0, 0]), 0);
    assert.ok(Math.abs(relativeLuminance([0, 1, 0]) - 0.7152) < 1e-12);
  });
});
