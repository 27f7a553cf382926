import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { readExamples } from '../../lib/data/examples.ts';
import type { InputFile } from '../../lib/data/input-file.ts';
import { HEADER, assertRejects, collect, csvLine, idxImages, idxLabels, memoryFile } from './helpers.ts';

/** Five known images: pixel j of image i is (i * 50 + j) % 256; labels 3, 1, 4, 1, 5. */
const LABELS = [3, 1, 4, 1, 5];
const PIXELS = Uint8Array.from({ length: LABELS.length * PIXELS_PER_IMAGE }, (_, k) => {
  const image = Math.floor(k / PIXELS_PER_IMAGE);
  return (image * 50 + (k % PIXELS_PER_IMAGE)) % 256;
});
const imagesFile = (name = 'train-images-idx3-ubyte', chunkSize?: number) => memoryFile(name, idxImages(LABELS.length, PIXELS), chunkSize);
const labelsFile = (name = 'train-labels-idx1-ubyte') => memoryFile(name, idxLabels(LABELS));

async function readAll(files: InputFile[]): Promise<void> {
  for await (const batch of readExamples(files)) void batch;
}

describe('IDX reader', () => {
  it('gives the same examples as the CSV reader on the same images', async () => {
    const csvText = [HEADER, ...LABELS.map((label, i) => csvLine(label, PIXELS.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)))].join('\n');
    const fromCsv = await collect([memoryFile('same.csv', csvText)]);
    const fromIdx = await collect([imagesFile(), labelsFile()]);
    assert.deepEqual([...fromIdx.labels], LABELS);
    assert.deepEqual(fromIdx.pixels, PIXELS);
    assert.deepEqual(fromIdx, fromCsv);
  });

  it('reads gzipped IDX, in any chunking, with the labels file listed first or last', async () => {
    for (const chunkSize of [1, 7, 100_000]) {
      const images = memoryFile('t10k-images-idx3-ubyte.gz', gzipSync(idxImages(LABELS.length, PIXELS)), chunkSize);
      const labels = memoryFile('t10k-labels-idx1-ubyte.gz', gzipSync(idxLabels(LABELS)), chunkSize);
      for (const order of [[images, labels], [labels, images]]) {
        const got = await collect(order, 2);
        assert.deepEqual([...got.labels], LABELS);
        assert.deepEqual(got.pixels, PIXELS);
        assert.equal(got.batches, 3);
      }
    }
  });

  it('pairs several IDX sets by name and keeps the order of the images files', async () => {
    const train = { images: imagesFile('data/train-images-idx3-ubyte.gz'), labels: labelsFile('data/train-labels-idx1-ubyte.gz') };
    const otherLabels = [9, 8];
    const otherPixels = new Uint8Array(2 * PIXELS_PER_IMAGE).fill(200);
    const extra = {
      images: memoryFile('s3://bucket/extra-images-idx3-ubyte', idxImages(2, otherPixels)),
      labels: memoryFile('s3://bucket/extra-labels-idx1-ubyte', idxLabels(otherLabels)),
    };
    const got = await collect([extra.labels, train.images, extra.images, train.labels]);
    assert.deepEqual([...got.labels], [...LABELS, ...otherLabels]);
    assert.deepEqual(got.pixels.subarray(LABELS.length * PIXELS_PER_IMAGE), otherPixels);
  });

  it('pairs one images file with one labels file whatever their names', async () => {
    const got = await collect([memoryFile('a.bin', idxImages(LABELS.length, PIXELS)), memoryFile('b.bin', idxLabels(LABELS))]);
    assert.deepEqual([...got.labels], LABELS);
  });

  it('can mix CSV and IDX inputs', async () => {
    const csvText = `${HEADER}\n${csvLine(7, new Uint8Array(PIXELS_PER_IMAGE).fill(1))}\n`;
    const got = await collect([memoryFile('one.csv', csvText), imagesFile(), labelsFile()]);
    assert.deepEqual([...got.labels], [7, ...LABELS]);
  });

  it('rejects an images file without its labels file', async () => {
    await assertRejects(readAll([imagesFile()]), { file: 'train-images-idx3-ubyte', reason: /without a labels file/ });
  });

  it('rejects a labels file without its images file', async () => {
    await assertRejects(readAll([labelsFile()]), { file: 'train-labels-idx1-ubyte', reason: /without an images file/ });
  });

  it('rejects unmatched names when there are several sets', async () => {
    const files = [imagesFile('train-images-idx3-ubyte'), labelsFile('train-labels-idx1-ubyte'), imagesFile('t10k-images-idx3-ubyte'), labelsFile('other-labels-idx1-ubyte')];
    await assertRejects(readAll(files), { file: 't10k-images-idx3-ubyte', reason: /without a labels file/ });
  });

  it('rejects different image and label counts, naming both files', async () => {
    const labels = memoryFile('train-labels-idx1-ubyte', idxLabels(LABELS.slice(0, 4)));
    const error = await assertRejects(readAll([imagesFile(), labels]), { file: 'train-images-idx3-ubyte', reason: /5 images but its labels file train-labels-idx1-ubyte holds 4 labels/ });
    assert.match(error.message, /^train-images-idx3-ubyte: /);
  });

  it('rejects a bad magic number in a file named like IDX', async () => {
    const images = memoryFile('train-images-idx3-ubyte', idxImages(LABELS.length, PIXELS, { magic: 0x0000_0804 }));
    await assertRejects(readAll([images, labelsFile()]), { file: 'train-images-idx3-ubyte', reason: /bad IDX magic: found magic number 0x00000804/ });
    const garbage = memoryFile('train-labels-idx1-ubyte.gz', Buffer.from('label,pixel1\n'));
    await assertRejects(readAll([imagesFile(), garbage]), { file: 'train-labels-idx1-ubyte.gz', reason: /bad IDX magic: found magic number 0x6c616265/ });
  });

  it('rejects a bad magic number in content that starts like IDX', async () => {
    const images = memoryFile('mystery.bin', idxImages(LABELS.length, PIXELS, { magic: 0x0000_0903 }));
    await assertRejects(readAll([images]), { file: 'mystery.bin', reason: /bad IDX magic/ });
  });

  it('rejects images that are not 28x28', async () => {
    const images = memoryFile('train-images-idx3-ubyte', idxImages(1, new Uint8Array(32 * 32), { rows: 32, columns: 32 }));
    await assertRejects(readAll([images, memoryFile('train-labels-idx1-ubyte', idxLabels([1]))]), {
      file: 'train-images-idx3-ubyte',
      reason: /images are 32x32, expected 28x28/,
    });
  });

  it('rejects truncated pixel data', async () => {
    const cut = idxImages(LABELS.length, PIXELS).subarray(0, 16 + 3 * PIXELS_PER_IMAGE + 10);
    await assertRejects(readAll([memoryFile('train-images-idx3-ubyte', cut, 1000), labelsFile()]), {
      file: 'train-images-idx3-ubyte',
      reason: /truncated: the header announces 5 images, the file holds 3 whole images/,
    });
  });

  it('rejects a truncated header', async () => {
    const cut = idxImages(LABELS.length, PIXELS).subarray(0, 10);
    await assertRejects(readAll([memoryFile('train-images-idx3-ubyte', cut), labelsFile()]), { file: 'train-images-idx3-ubyte', reason: /shorter than the 16-byte IDX images header/ });
  });

  it('rejects data beyond the announced count', async () => {
    const long = Buffer.concat([idxImages(LABELS.length, PIXELS), new Uint8Array(PIXELS_PER_IMAGE)]);
    await assertRejects(readAll([memoryFile('train-images-idx3-ubyte', long), labelsFile()]), { file: 'train-images-idx3-ubyte', reason: /more data than the 5 images/ });
  });

  it('rejects truncated labels', async () => {
    const labels = memoryFile('train-labels-idx1-ubyte', idxLabels(LABELS.slice(0, 3), { count: 5 }));
    await assertRejects(readAll([imagesFile(), labels]), { file: 'train-labels-idx1-ubyte', reason: /announces 5 labels, the file holds 3/ });
  });

  it('rejects labels above 9, naming the example', async () => {
    const labels = memoryFile('train-labels-idx1-ubyte', idxLabels([3, 1, 12, 1, 5]));
    await assertRejects(readAll([imagesFile(), labels]), { file: 'train-labels-idx1-ubyte', reason: /label 12 of example 3 \(byte offset 10\) is out of range 0\.\.9/ });
  });
});
