import type { ExampleBatch } from './batch.ts';
import { PIXELS_PER_IMAGE } from './classes.ts';
import { CSV_HEADER } from './csv-columns.ts';

const MAX_ROW_BYTES = (PIXELS_PER_IMAGE + 1) * 4 + 1;

/**
 * Writes examples in the Kaggle CSV layout (LF line endings, header first). Used to make the sample
 * data and benchmark inputs from the IDX files; the reader never depends on it.
 */
export async function* csvChunks(batches: AsyncIterable<ExampleBatch>): AsyncGenerator<Buffer> {
  yield Buffer.from(`${CSV_HEADER}\n`, 'latin1');
  for await (const batch of batches) yield csvRows(batch);
}

export function csvRows(batch: ExampleBatch): Buffer {
  const out = Buffer.allocUnsafe(batch.count * MAX_ROW_BYTES);
  let pos = 0;
  for (let row = 0; row < batch.count; row++) {
    pos = writeDecimal(out, pos, batch.labels[row]);
    const base = row * PIXELS_PER_IMAGE;
    for (let i = 0; i < PIXELS_PER_IMAGE; i++) {
      out[pos++] = 0x2c;
      pos = writeDecimal(out, pos, batch.pixels[base + i]);
    }
    out[pos++] = 0x0a;
  }
  return out.subarray(0, pos);
}

/** Digits of a byte value straight into the buffer: no string per field. */
function writeDecimal(out: Buffer, pos: number, value: number): number {
  if (value >= 100) out[pos++] = 0x30 + Math.floor(value / 100);
  if (value >= 10) out[pos++] = 0x30 + (Math.floor(value / 10) % 10);
  out[pos++] = 0x30 + (value % 10);
  return pos;
}
