import { PIXELS_PER_IMAGE } from '../data/classes.ts';
import type { LabeledImages } from '../data/dataset.ts';

export function assertLabeledImages(data: LabeledImages): void {
  if (!Number.isInteger(data.count) || data.count < 0) throw new RangeError(`image count must be a non-negative integer, got ${data.count}`);
  if (data.images.length !== data.count * PIXELS_PER_IMAGE) {
    throw new RangeError(`expected ${data.count} images of ${PIXELS_PER_IMAGE} pixels (${data.count * PIXELS_PER_IMAGE} bytes), got ${data.images.length} bytes`);
  }
  if (data.labels.length !== data.count) throw new RangeError(`expected ${data.count} labels, got ${data.labels.length}`);
}

/** The pixels of image `index`, without copying. */
export function imageAt(data: LabeledImages, index: number): Uint8Array {
  return data.images.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE);
}
