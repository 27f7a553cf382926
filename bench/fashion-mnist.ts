/**
 * The real Fashion-MNIST for benchmarks: the IDX files Debian ships, read with lib/data, and the
 * Kaggle CSVs the Keras walkthrough reads, generated once from them into bench/.cache/.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { PIXELS_PER_IMAGE } from '../lib/data/classes.ts';
import { csvChunks } from '../lib/data/csv-writer.ts';
import type { LabeledImages } from '../lib/data/dataset.ts';
import { readExamples, type ExampleBatch } from '../lib/data/examples.ts';
import { localFile, type InputFile } from '../lib/data/input-file.ts';

export const IDX_DIR = process.env.FMNIST_IDX_DIR ?? '/usr/share/datasets/fashion-mnist';
export const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '.cache');

export type Split = 'train' | 't10k';

function idxFiles(split: Split) {
  return [localFile(join(IDX_DIR, `${split}-images-idx3-ubyte.gz`)), localFile(join(IDX_DIR, `${split}-labels-idx1-ubyte.gz`))];
}

/** One split, whole, in memory (60,000 or 10,000 examples). */
export function loadIdx(split: Split): Promise<LabeledImages> {
  return loadExamples(idxFiles(split));
}

/** Every example of the files (CSV or an IDX pair), whole, in memory. */
export async function loadExamples(files: InputFile[]): Promise<LabeledImages> {
  const batches: ExampleBatch[] = [];
  for await (const batch of readExamples(files)) batches.push(batch);
  const count = batches.reduce((sum, batch) => sum + batch.count, 0);
  const images = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const batch of batches) {
    images.set(batch.pixels.subarray(0, batch.count * PIXELS_PER_IMAGE), at * PIXELS_PER_IMAGE);
    labels.set(batch.labels.subarray(0, batch.count), at);
    at += batch.count;
  }
  return { images, labels, count };
}

/** The Kaggle CSVs (fashion-mnist_train.csv, fashion-mnist_test.csv), written once from the IDX files. */
export async function kaggleCsvs(): Promise<{ train: string; test: string }> {
  await mkdir(CACHE_DIR, { recursive: true });
  const paths = { train: join(CACHE_DIR, 'fashion-mnist_train.csv'), test: join(CACHE_DIR, 'fashion-mnist_test.csv') };
  for (const [split, path] of [['train', paths.train], ['t10k', paths.test]] as const) {
    if (existsSync(path)) continue;
    const partial = `${path}.partial`;
    await pipeline(Readable.from(csvChunks(readExamples(idxFiles(split)))), createWriteStream(partial));
    await rename(partial, path);
  }
  return paths;
}
