import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_NAMES, PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import type { LabeledImages } from '../../lib/data/dataset.ts';
import { formatSummary, summarize } from '../../lib/data/summary.ts';

/** 500 pseudo-random examples; label 6 never occurs, so "unique" really has to look. */
function sampleData(): LabeledImages {
  let state = 42;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) >>> 24;
  const count = 500;
  const labels = Uint8Array.from({ length: count }, () => {
    const label = next() % 10;
    return label === 6 ? 7 : label;
  });
  const images = Uint8Array.from({ length: count * PIXELS_PER_IMAGE }, () => (next() < 128 ? 0 : next()));
  return { images, labels, count };
}

describe('summarize', () => {
  const data = sampleData();
  const summary = summarize(data);

  it('counts rows, unique labels and examples per class like an independent count', () => {
    const present = [0, 1, 2, 3, 4, 5, 7, 8, 9];
    assert.equal(summary.rows, 500);
    assert.deepEqual(summary.labels, present);
    assert.deepEqual(
      summary.perClass,
      present.map((label) => ({ label, name: CLASS_NAMES[label], count: [...data.labels].filter((l) => l === label).length })),
    );
    assert.equal(summary.perClass.reduce((sum, c) => sum + c.count, 0), 500);
  });

  it('describes the first rows like train_df.head()', () => {
    assert.equal(summary.head.length, 5);
    summary.head.forEach((row, i) => {
      const image = [...data.images.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)];
      assert.equal(row.label, data.labels[i]);
      assert.equal(row.name, CLASS_NAMES[data.labels[i]]);
      assert.deepEqual(row.pixels, image.slice(0, row.pixels.length));
      assert.ok(row.pixels.length >= 5);
      assert.equal(row.nonZero, image.filter((v) => v > 0).length);
      assert.ok(Math.abs(row.mean - image.reduce((a, b) => a + b, 0) / image.length) < 1e-9);
    });
    assert.equal(summarize(data, 2).head.length, 2);
    assert.equal(summarize({ images: data.images.subarray(0, PIXELS_PER_IMAGE), labels: data.labels.subarray(0, 1), count: 1 }).head.length, 1);
  });

  it('formats a readable report naming every class present with its count', () => {
    const text = formatSummary('Training set', summary);
    assert.match(text, /^Training set: 500 rows/);
    assert.match(text, /unique labels: \[0, 1, 2, 3, 4, 5, 7, 8, 9\]/);
    for (const { name, count } of summary.perClass) assert.match(text, new RegExp(`${name.replace('/', '\\/')}\\s+${count}\\b`));
    assert.doesNotMatch(text, /Shirt\b(?!\/)/, 'label 6 (Shirt) is absent from the data');
    assert.equal(text.split('\n').length, 2 + 1 + 1 + 1 + 9 + 1 + 1 + 1 + 5);
  });
});
