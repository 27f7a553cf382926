import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES, PIXELS_PER_IMAGE } from './classes.ts';
import { DataValidationError } from '../errors.ts';

/*
 * Shard file `<split>-<nnnnn>.bin`: one self-describing block of examples, little-endian.
 *
 *   offset  size            field
 *   0       4               magic "FMNS" (Fashion-MNIST shard)
 *   4       2               format version, 1
 *   6       2               image height, 28
 *   8       2               image width, 28
 *   10      2               reserved, 0
 *   12      4               count: examples in this shard
 *   16      count           labels, one byte each (0..9)
 *   16+count  count*h*w     pixels, one byte each (0..255), image after image, row-major
 *
 * Labels come first so a reader can take them without touching the pixels. Pixels stay raw bytes:
 * normalising to [0, 1] floats happens when batching, which keeps shards 4x smaller than float32.
 */
export const SHARD_MAGIC = 'FMNS';
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 16;

export type Split = 'train' | 'test';

export function shardFileName(split: Split, index: number): string {
  return `${split}-${String(index).padStart(5, '0')}.bin`;
}

export function shardBytes(count: number): number {
  return SHARD_HEADER_BYTES + count * (1 + PIXELS_PER_IMAGE);
}

/** The shard's three parts, ready to write one after the other (no copy of the pixels). */
export function encodeShard(labels: Uint8Array, pixels: Uint8Array, count: number): Uint8Array[] {
  if (labels.length < count || pixels.length < count * PIXELS_PER_IMAGE) {
    throw new RangeError(`shard of ${count} examples given ${labels.length} labels and ${pixels.length} pixel bytes`);
  }
  const header = Buffer.alloc(SHARD_HEADER_BYTES);
  header.write(SHARD_MAGIC, 0, 'latin1');
  header.writeUInt16LE(SHARD_VERSION, 4);
  header.writeUInt16LE(IMAGE_HEIGHT, 6);
  header.writeUInt16LE(IMAGE_WIDTH, 8);
  header.writeUInt32LE(count, 12);
  return [header, labels.subarray(0, count), pixels.subarray(0, count * PIXELS_PER_IMAGE)];
}

export interface DecodedShard {
  labels: Uint8Array;
  pixels: Uint8Array;
  count: number;
}

/** Checks the structure of a shard and returns views into it. `name` is used in errors. */
export function decodeShard(bytes: Uint8Array, name: string): DecodedShard {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < SHARD_HEADER_BYTES) throw new DataValidationError(name, `shard too short for its ${SHARD_HEADER_BYTES}-byte header`);
  const magic = buffer.toString('latin1', 0, 4);
  if (magic !== SHARD_MAGIC) throw new DataValidationError(name, `not a shard: magic ${JSON.stringify(magic)}, expected "${SHARD_MAGIC}"`);
  const version = buffer.readUInt16LE(4);
  if (version !== SHARD_VERSION) throw new DataValidationError(name, `unsupported shard version ${version}, expected ${SHARD_VERSION}`);
  const height = buffer.readUInt16LE(6);
  const width = buffer.readUInt16LE(8);
  if (height !== IMAGE_HEIGHT || width !== IMAGE_WIDTH) {
    throw new DataValidationError(name, `shard images are ${height}x${width}, expected ${IMAGE_HEIGHT}x${IMAGE_WIDTH}`);
  }
  const count = buffer.readUInt32LE(12);
  if (buffer.length !== shardBytes(count)) {
    throw new DataValidationError(name, `shard of ${count} examples should be ${shardBytes(count)} bytes, found ${buffer.length}`);
  }
  const labels = buffer.subarray(SHARD_HEADER_BYTES, SHARD_HEADER_BYTES + count);
  const bad = labels.findIndex((label) => label >= NUM_CLASSES);
  if (bad >= 0) throw new DataValidationError(name, `label ${labels[bad]} of example ${bad + 1} is out of range 0..${NUM_CLASSES - 1}`);
  return { labels, pixels: buffer.subarray(SHARD_HEADER_BYTES + count), count };
}
