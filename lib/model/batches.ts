import * as tf from '@tensorflow/tfjs';
import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES, PIXELS_PER_IMAGE } from '../data/classes.ts';

/** The walkthrough's `X / 255.0`, one float per byte value (float64 division, then rounded once to float32). */
export const UNIT_PIXEL = Float32Array.from({ length: 256 }, (_, value) => value / 255);

/**
 * Turns raw examples into model-ready tensors one batch at a time, so the data set stays one
 * byte per pixel and only a batch ever exists as floats. The float buffers are reused from
 * batch to batch: callers must dispose a batch's tensors before asking for the next one (the
 * cpu backend may keep using the buffer as the tensor's storage).
 */
export class BatchBuffers {
  private readonly pixels: Float32Array;
  private readonly oneHot: Float32Array;

  constructor(readonly capacity: number) {
    this.pixels = new Float32Array(capacity * PIXELS_PER_IMAGE);
    this.oneHot = new Float32Array(capacity * NUM_CLASSES);
  }

  /** Images number `order[from]`…`order[to - 1]`, scaled to [0, 1], as [n, 28, 28, 1]. */
  imagesAt(images: Uint8Array, order: ArrayLike<number>, from: number, to: number): tf.Tensor4D {
    const n = this.checkCount(from, to);
    for (let i = 0; i < n; i++) this.copyImage(images, order[from + i], i);
    return this.imageTensor(n);
  }

  /** Images number `from`…`to - 1`, scaled to [0, 1], as [n, 28, 28, 1]. */
  imagesInRange(images: Uint8Array, from: number, to: number): tf.Tensor4D {
    const n = this.checkCount(from, to);
    for (let i = 0; i < n; i++) this.copyImage(images, from + i, i);
    return this.imageTensor(n);
  }

  /** Labels number `order[from]`…`order[to - 1]`, one-hot, as [n, 10] (Keras' `to_categorical`). */
  oneHotAt(labels: Uint8Array, order: ArrayLike<number>, from: number, to: number): tf.Tensor2D {
    const n = this.checkCount(from, to);
    const oneHot = this.oneHot.subarray(0, n * NUM_CLASSES);
    oneHot.fill(0);
    for (let i = 0; i < n; i++) oneHot[i * NUM_CLASSES + labels[order[from + i]]] = 1;
    return tf.tensor2d(oneHot, [n, NUM_CLASSES], 'float32');
  }

  private copyImage(images: Uint8Array, example: number, slot: number): void {
    const source = example * PIXELS_PER_IMAGE;
    const target = slot * PIXELS_PER_IMAGE;
    for (let p = 0; p < PIXELS_PER_IMAGE; p++) this.pixels[target + p] = UNIT_PIXEL[images[source + p]];
  }

  private imageTensor(n: number): tf.Tensor4D {
    return tf.tensor4d(this.pixels.subarray(0, n * PIXELS_PER_IMAGE), [n, IMAGE_HEIGHT, IMAGE_WIDTH, 1], 'float32');
  }

  private checkCount(from: number, to: number): number {
    const n = to - from;
    if (n < 1 || n > this.capacity) throw new RangeError(`a batch of ${n} examples does not fit buffers for ${this.capacity}`);
    return n;
  }
}
