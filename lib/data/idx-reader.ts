import { BatchBuilder, DEFAULT_BATCH_SIZE, type ExampleBatch } from './batch.ts';
import { peek } from './chunks.ts';
import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES, PIXELS_PER_IMAGE } from './classes.ts';
import { DataValidationError } from '../errors.ts';

/*
 * The original Fashion-MNIST distribution format (IDX, as for MNIST): a big-endian header, then
 * raw unsigned bytes.
 *   labels: magic 0x00000801, count n,                       then n label bytes
 *   images: magic 0x00000803, count n, rows 28, columns 28,  then n*28*28 pixel bytes
 */
export const IDX_LABELS_MAGIC = 0x00000801;
export const IDX_IMAGES_MAGIC = 0x00000803;
const LABELS_HEADER_BYTES = 8;
const IMAGES_HEADER_BYTES = 16;

export function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/**
 * Reads a whole labels file. It is held in memory (one byte per example, 60 KB for the training
 * set) so the images file, the big one, can stream past it.
 */
export async function readIdxLabels(
  name: string,
  chunks: AsyncIterable<Buffer>,
  /** Sees the announced count before the labels are allocated; throws to refuse it. */
  onCount?: (count: number) => void,
): Promise<Uint8Array> {
  const { header, body } = await splitHeader(name, chunks, LABELS_HEADER_BYTES, 'labels');
  checkMagic(name, header, IDX_LABELS_MAGIC, 'labels');
  const count = header.readUInt32BE(4);
  onCount?.(count);
  const labels = new Uint8Array(count);
  let filled = 0;
  for await (const chunk of body) {
    if (filled + chunk.length > count) {
      throw new DataValidationError(name, `more data than the ${count} labels its header announces`);
    }
    labels.set(chunk, filled);
    filled += chunk.length;
  }
  if (filled < count) {
    throw new DataValidationError(name, `truncated: the header announces ${count} labels, the file holds ${filled}`);
  }
  const bad = labels.findIndex((label) => label >= NUM_CLASSES);
  if (bad >= 0) {
    throw new DataValidationError(
      name,
      `label ${labels[bad]} of example ${bad + 1} (byte offset ${LABELS_HEADER_BYTES + bad}) is out of range 0..${NUM_CLASSES - 1}`,
    );
  }
  return labels;
}

/** Streams an images file in batches, each image paired with its label from the labels file. */
export async function* readIdxImages(
  name: string,
  chunks: AsyncIterable<Buffer>,
  labels: Uint8Array,
  labelsName: string,
  batchSize = DEFAULT_BATCH_SIZE,
): AsyncGenerator<ExampleBatch> {
  const { header, body } = await splitHeader(name, chunks, IMAGES_HEADER_BYTES, 'images');
  checkMagic(name, header, IDX_IMAGES_MAGIC, 'images');
  const count = header.readUInt32BE(4);
  const rows = header.readUInt32BE(8);
  const columns = header.readUInt32BE(12);
  if (rows !== IMAGE_HEIGHT || columns !== IMAGE_WIDTH) {
    throw new DataValidationError(name, `images are ${rows}x${columns}, expected ${IMAGE_HEIGHT}x${IMAGE_WIDTH}`);
  }
  if (count !== labels.length) {
    throw new DataValidationError(name, `holds ${count} images but its labels file ${labelsName} holds ${labels.length} labels`);
  }

  const expectedBytes = count * PIXELS_PER_IMAGE;
  const batch = new BatchBuilder(batchSize);
  const batchBytes = batchSize * PIXELS_PER_IMAGE;
  let total = 0;
  let inBatch = 0;
  let emitted = 0;
  const emit = (): ExampleBatch => {
    batch.count = inBatch / PIXELS_PER_IMAGE;
    batch.labels.set(labels.subarray(emitted, emitted + batch.count));
    emitted += batch.count;
    inBatch = 0;
    return batch.take();
  };

  for await (const chunk of body) {
    if (total + chunk.length > expectedBytes) {
      throw new DataValidationError(name, `more data than the ${count} images its header announces`);
    }
    total += chunk.length;
    let pos = 0;
    while (pos < chunk.length) {
      const take = Math.min(chunk.length - pos, batchBytes - inBatch);
      batch.pixels.set(chunk.subarray(pos, pos + take), inBatch);
      inBatch += take;
      pos += take;
      if (inBatch === batchBytes) yield emit();
    }
  }
  if (total < expectedBytes) {
    const whole = Math.floor(total / PIXELS_PER_IMAGE);
    throw new DataValidationError(name, `truncated: the header announces ${count} images, the file holds ${whole} whole images (${total} of ${expectedBytes} pixel bytes)`);
  }
  if (inBatch > 0) yield emit();
}

async function splitHeader(
  name: string,
  chunks: AsyncIterable<Buffer>,
  headerBytes: number,
  kind: string,
): Promise<{ header: Buffer; body: AsyncGenerator<Buffer> }> {
  const peeked = await peek(chunks, headerBytes);
  if (peeked.head.length < headerBytes) {
    await peeked.close();
    throw new DataValidationError(name, `truncated: ${peeked.head.length} bytes, shorter than the ${headerBytes}-byte IDX ${kind} header`);
  }
  async function* body(): AsyncGenerator<Buffer> {
    let skip = headerBytes;
    for await (const chunk of peeked.chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      yield skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
    }
  }
  return { header: Buffer.from(peeked.head), body: body() };
}

function checkMagic(name: string, header: Buffer, expected: number, kind: string): void {
  const magic = header.readUInt32BE(0);
  if (magic !== expected) {
    throw new DataValidationError(name, `bad IDX magic number ${hex32(magic)}, expected ${hex32(expected)} for ${kind}`);
  }
}
