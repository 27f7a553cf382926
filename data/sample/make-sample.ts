/**
 * Makes the sample CSVs in this directory from the original Fashion-MNIST IDX files, as installed
 * by Debian's dataset-fashion-mnist package:
 *
 *   npx tsx data/sample/make-sample.ts [idx-dir] [train-rows] [test-rows]
 *
 * defaults: /usr/share/datasets/fashion-mnist, 6000, 1000. The rows are the first ones of each
 * original split, in order, in the Kaggle CSV layout (label,pixel1..pixel784), gzipped.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip, constants } from 'node:zlib';
import type { ExampleBatch } from '../../lib/data/batch.ts';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { csvChunks } from '../../lib/data/csv-writer.ts';
import { readExamples } from '../../lib/data/examples.ts';
import { localFile } from '../../lib/data/input-file.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const [idxDir = '/usr/share/datasets/fashion-mnist', trainRows = '6000', testRows = '1000'] = process.argv.slice(2);

async function* firstExamples(batches: AsyncIterable<ExampleBatch>, wanted: number): AsyncGenerator<ExampleBatch> {
  let kept = 0;
  for await (const batch of batches) {
    const take = Math.min(batch.count, wanted - kept);
    yield take === batch.count ? batch : { labels: batch.labels.slice(0, take), pixels: batch.pixels.slice(0, take * PIXELS_PER_IMAGE), count: take };
    kept += take;
    if (kept === wanted) return;
  }
  throw new Error(`only ${kept} examples available, ${wanted} wanted`);
}

async function writeSample(idxPrefix: string, rows: number, output: string): Promise<void> {
  const files = [`${idxPrefix}-images-idx3-ubyte.gz`, `${idxPrefix}-labels-idx1-ubyte.gz`].map((name) => localFile(join(idxDir, name)));
  const csv = csvChunks(firstExamples(readExamples(files), rows));
  await pipeline(Readable.from(csv), createGzip({ level: constants.Z_BEST_COMPRESSION }), createWriteStream(join(here, output)));
  console.log(`${output}: first ${rows} examples of ${idxPrefix}`);
}

await writeSample('train', Number(trainRows), 'fashion-mnist_train-sample.csv.gz');
await writeSample('t10k', Number(testRows), 'fashion-mnist_test-sample.csv.gz');
