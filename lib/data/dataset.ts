import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from './classes.ts';
import { DataValidationError } from '../errors.ts';
import { MANIFEST_FILE, parseManifest, type Manifest } from './manifest.ts';
import { decodeShard, type Split } from './shard.ts';

/**
 * `count` 28x28 grayscale images (row-major bytes, 0 = black, 255 = white) and their labels, in
 * the same order: a whole split in memory, what trains, what a report shows.
 */
export interface LabeledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DataValidationError(path, 'no manifest: this directory holds no ingested dataset (run ingest first)');
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataValidationError(path, `not valid JSON (${(error as Error).message})`);
  }
  return parseManifest(json, path);
}

/**
 * Loads one split, checking every shard against the manifest (size, sha256, example count) and
 * the labels against its histogram, so a damaged or swapped shard is never trained on.
 */
export async function loadSplit(dir: string, split: Split, manifest?: Manifest): Promise<LabeledImages> {
  const { splits } = manifest ?? (await readManifest(dir));
  const expected = splits[split];
  const images = new Uint8Array(expected.examples * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(expected.examples);
  let count = 0;
  for (const shard of expected.shards) {
    const path = join(dir, shard.file);
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new DataValidationError(path, 'shard listed in the manifest is missing') : error;
    });
    if (bytes.length !== shard.bytes) {
      throw new DataValidationError(path, `shard is ${bytes.length} bytes, the manifest says ${shard.bytes}`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== shard.sha256) {
      throw new DataValidationError(path, `shard checksum mismatch: sha256 ${sha256}, the manifest says ${shard.sha256}`);
    }
    const decoded = decodeShard(bytes, path);
    if (decoded.count !== shard.examples) {
      throw new DataValidationError(path, `shard holds ${decoded.count} examples, the manifest says ${shard.examples}`);
    }
    labels.set(decoded.labels, count);
    images.set(decoded.pixels, count * PIXELS_PER_IMAGE);
    count += decoded.count;
  }
  const histogram = new Array<number>(NUM_CLASSES).fill(0);
  for (const label of labels) histogram[label]++;
  const differs = histogram.findIndex((n, label) => n !== expected.labelHistogram[label]);
  if (differs >= 0) {
    throw new DataValidationError(join(dir, MANIFEST_FILE), `${split} has ${histogram[differs]} examples of label ${differs}, the manifest says ${expected.labelHistogram[differs]}`);
  }
  return { images, labels, count };
}
