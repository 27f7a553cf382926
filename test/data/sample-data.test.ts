import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { readExamples } from '../../lib/data/examples.ts';
import { localFile } from '../../lib/data/input-file.ts';
import { collect } from './helpers.ts';

const SAMPLE = fileURLToPath(new URL('../../data/sample/', import.meta.url));
const IDX = '/usr/share/datasets/fashion-mnist/';

/** The first `count` examples of an input list, stopping the read there. */
async function firstExamples(files: string[], count: number): Promise<{ labels: Uint8Array; pixels: Uint8Array }> {
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  let have = 0;
  for await (const batch of readExamples(files.map(localFile))) {
    const take = Math.min(batch.count, count - have);
    labels.set(batch.labels.subarray(0, take), have);
    pixels.set(batch.pixels.subarray(0, take * PIXELS_PER_IMAGE), have * PIXELS_PER_IMAGE);
    have += take;
    if (have === count) break;
  }
  assert.equal(have, count);
  return { labels, pixels };
}

describe('data/sample', () => {
  const samples = [
    { file: 'fashion-mnist_train-sample.csv.gz', rows: 6000, idx: 'train' },
    { file: 'fashion-mnist_test-sample.csv.gz', rows: 1000, idx: 't10k' },
  ];

  it('is small and holds every class', async () => {
    let bytes = 0;
    for (const sample of samples) {
      bytes += (await stat(SAMPLE + sample.file)).size;
      const got = await collect([localFile(SAMPLE + sample.file)]);
      assert.equal(got.count, sample.rows);
      assert.deepEqual([...new Set(got.labels)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    assert.ok(bytes < 5_000_000, `${bytes} bytes`);
  });

  for (const sample of samples) {
    it(`${sample.file} holds the first ${sample.rows} images of the original ${sample.idx} set`, { skip: !existsSync(IDX) && `${IDX} not installed` }, async () => {
      const original = await firstExamples([`${IDX}${sample.idx}-images-idx3-ubyte.gz`, `${IDX}${sample.idx}-labels-idx1-ubyte.gz`], sample.rows);
      const got = await collect([localFile(SAMPLE + sample.file)]);
      assert.deepEqual(got.labels, original.labels);
      assert.deepEqual(got.pixels, original.pixels);
    });
  }
});
