import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExampleBatch } from './batch.ts';
import { PIXELS_PER_IMAGE } from './classes.ts';
import type { SourceDigest } from './content.ts';
import type { InputFile } from './input-file.ts';
import type { SplitManifest } from './manifest.ts';
import { decodeShard } from './shard.ts';

/**
 * The examples of source files an earlier ingest parsed, so that a dataset of N + 1 files parses
 * only the new one (data that grows: lib/workflow/raw-datasets.ts). Parsing and validating the
 * CSV is most of an ingest's time; a kept source is its examples as uint8 shards, exactly what the
 * parse produced, plus its size and sha256 for the manifest. Where they are kept is the caller's
 * (lib/aws/s3-source-cache.ts: the data bucket); ingest only asks and offers.
 *
 * Only splits whose inputs are all named .csv / .csv.gz take part: an IDX images file is labelled
 * from its paired labels file, so IDX inputs are read together, as before.
 */
export interface CachedSource {
  digest: SourceDigest;
  examples: number;
  /** The examples in order; a kept source that turns out damaged throws, naming it. */
  read(): AsyncIterable<ExampleBatch>;
}

export interface SourceToKeep {
  digest: SourceDigest;
  examples: number;
  /** The examples in order (read back from the shards just written: no second copy in /tmp). */
  read(): AsyncIterable<ExampleBatch>;
}

export interface SourceCache {
  find(file: InputFile): Promise<CachedSource | undefined>;
  keep(file: InputFile, source: SourceToKeep): Promise<void>;
}

const CSV_NAME = /\.csv(\.gz)?$/i;

/** Whether a split's inputs may use the cache (see above). */
export function cacheable(files: InputFile[]): boolean {
  return files.every((file) => CSV_NAME.test(file.name));
}

/**
 * Examples [start, start + count) of a split whose shards are in `dir`, one batch per shard
 * touched: a kept source is a run of the dataset's own examples.
 */
export async function* readShardRange(dir: string, shards: SplitManifest['shards'], start: number, count: number): AsyncGenerator<ExampleBatch> {
  let offset = 0;
  const end = start + count;
  for (const shard of shards) {
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + shard.examples);
    if (from < to) {
      const decoded = decodeShard(await readFile(join(dir, shard.file)), shard.file);
      const first = from - offset;
      const n = to - from;
      yield {
        labels: decoded.labels.slice(first, first + n),
        pixels: decoded.pixels.slice(first * PIXELS_PER_IMAGE, (first + n) * PIXELS_PER_IMAGE),
        count: n,
      };
    }
    offset += shard.examples;
    if (offset >= end) return;
  }
}
