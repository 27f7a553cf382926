import { PIXELS_PER_IMAGE } from './classes.ts';

/** A run of consecutive examples. `pixels` holds `count` 28x28 images, row-major, one byte per pixel. */
export interface ExampleBatch {
  labels: Uint8Array;
  pixels: Uint8Array;
  count: number;
}

/** A few thousand examples: large enough to amortise per-batch work, small enough to bound memory. */
export const DEFAULT_BATCH_SIZE = 4096;

/**
 * Fills one batch at a time. Each batch gets fresh arrays because consumers may keep a batch
 * after asking for the next one.
 */
export class BatchBuilder {
  labels: Uint8Array;
  pixels: Uint8Array;
  count = 0;

  constructor(readonly capacity: number) {
    this.labels = new Uint8Array(capacity);
    this.pixels = new Uint8Array(capacity * PIXELS_PER_IMAGE);
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Hands over the examples gathered so far and starts a new batch. */
  take(): ExampleBatch {
    const count = this.count;
    const batch =
      count === this.capacity
        ? { labels: this.labels, pixels: this.pixels, count }
        : { labels: this.labels.slice(0, count), pixels: this.pixels.slice(0, count * PIXELS_PER_IMAGE), count };
    this.labels = new Uint8Array(this.capacity);
    this.pixels = new Uint8Array(this.capacity * PIXELS_PER_IMAGE);
    this.count = 0;
    return batch;
  }
}
