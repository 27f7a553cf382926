import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExampleBatch } from './batch.ts';
import { PIXELS_PER_IMAGE } from './classes.ts';
import { encodeShard, shardBytes, shardFileName, type Split } from './shard.ts';
import type { SplitManifest } from './manifest.ts';

/** Collects examples into fixed-size shards and writes each one as soon as it is full. */
export class ShardWriter {
  readonly shards: SplitManifest['shards'] = [];
  private readonly labels: Uint8Array;
  private readonly pixels: Uint8Array;
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly split: Split,
    private readonly examplesPerShard: number,
  ) {
    this.labels = new Uint8Array(examplesPerShard);
    this.pixels = new Uint8Array(examplesPerShard * PIXELS_PER_IMAGE);
  }

  /** Adds the first `take` examples of `batch`. */
  async add(batch: ExampleBatch, take = batch.count): Promise<void> {
    let from = 0;
    while (from < take) {
      const n = Math.min(take - from, this.examplesPerShard - this.count);
      this.labels.set(batch.labels.subarray(from, from + n), this.count);
      this.pixels.set(batch.pixels.subarray(from * PIXELS_PER_IMAGE, (from + n) * PIXELS_PER_IMAGE), this.count * PIXELS_PER_IMAGE);
      this.count += n;
      from += n;
      if (this.count === this.examplesPerShard) await this.flush();
    }
  }

  /** Writes the last, partial shard. */
  async finish(): Promise<SplitManifest['shards']> {
    if (this.count > 0) await this.flush();
    return this.shards;
  }

  private async flush(): Promise<void> {
    const parts = encodeShard(this.labels, this.pixels, this.count);
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    const file = shardFileName(this.split, this.shards.length);
    // No fsync: a shard torn by a crash fails its checksum on load, and the manifest that lists
    // the checksums is only published after every shard is written.
    await writeFile(join(this.dir, file), parts);
    this.shards.push({ file, examples: this.count, bytes: shardBytes(this.count), sha256: hash.digest('hex') });
    this.count = 0;
  }
}
