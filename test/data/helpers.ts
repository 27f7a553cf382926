import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { PIXELS_PER_IMAGE } from '../../lib/data/classes.ts';
import { DataValidationError } from '../../lib/errors.ts';
import { readExamples } from '../../lib/data/examples.ts';
import type { InputFile } from '../../lib/data/input-file.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/data/', import.meta.url));

/** The fixture formula (see test/fixtures/data/README.md). */
export const FIXTURE_LABELS = [0, 9, 4];
export function fixturePixel(row: number, j: number): number {
  return (j * 37 + row * 101) % 256;
}
export function fixturePixels(rows: number): Uint8Array {
  const pixels = new Uint8Array(rows * PIXELS_PER_IMAGE);
  for (let r = 0; r < rows; r++) for (let j = 0; j < PIXELS_PER_IMAGE; j++) pixels[r * PIXELS_PER_IMAGE + j] = fixturePixel(r, j);
  return pixels;
}

export const HEADER = ['label', ...Array.from({ length: PIXELS_PER_IMAGE }, (_, i) => `pixel${i + 1}`)].join(',');

/** A CSV row as text, written plainly here so the tests do not depend on the library's writer. */
export function csvLine(label: number | string, pixels: ArrayLike<number | string>): string {
  return [label, ...Array.from(pixels)].join(',');
}

/** A valid row whose pixels are all `value` (for building bad cases by editing one field). */
export function rowFields(label: number, fill = 7): string[] {
  return [String(label), ...Array.from({ length: PIXELS_PER_IMAGE }, () => String(fill))];
}

/** An in-memory input delivered in chunks of `chunkSize` bytes, to exercise chunk boundaries. */
export function memoryFile(name: string, content: string | Uint8Array, chunkSize = 64 * 1024): InputFile & { opened: number } {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  const file = {
    name,
    size: bytes.length,
    opened: 0,
    async open() {
      file.opened++;
      function* chunks() {
        for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
      }
      return Readable.from(chunks(), { objectMode: false });
    },
  };
  return file;
}

export interface Collected {
  labels: Uint8Array;
  pixels: Uint8Array;
  count: number;
  batches: number;
}

export async function collect(files: InputFile[], batchSize?: number): Promise<Collected> {
  const labels: number[] = [];
  const pixelParts: Uint8Array[] = [];
  let batches = 0;
  for await (const batch of readExamples(files, { batchSize })) {
    assert.equal(batch.labels.length, batch.count);
    assert.equal(batch.pixels.length, batch.count * PIXELS_PER_IMAGE);
    labels.push(...batch.labels);
    pixelParts.push(batch.pixels);
    batches++;
  }
  return { labels: Uint8Array.from(labels), pixels: new Uint8Array(Buffer.concat(pixelParts)), count: labels.length, batches };
}

/** Asserts a DataValidationError naming exactly this file, line and column, with a reason matching `reason`. */
export async function assertRejects(
  work: Promise<unknown>,
  expected: { file: string; line?: number; column?: string; reason: RegExp },
): Promise<DataValidationError> {
  let caught: unknown;
  try {
    await work;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DataValidationError, `expected a DataValidationError, got ${String(caught)}`);
  assert.equal(caught.file, expected.file, caught.message);
  assert.equal(caught.line, expected.line, caught.message);
  assert.equal(caught.column, expected.column, caught.message);
  assert.match(caught.reason, expected.reason, caught.message);
  return caught;
}

// IDX files, built from bytes here (big-endian header, then raw bytes).
export function idxImages(count: number, pixels: Uint8Array, options: { magic?: number; rows?: number; columns?: number } = {}): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(options.magic ?? 0x803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(options.rows ?? 28, 8);
  header.writeUInt32BE(options.columns ?? 28, 12);
  return Buffer.concat([header, pixels]);
}

export function idxLabels(labels: ArrayLike<number>, options: { magic?: number; count?: number } = {}): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(options.magic ?? 0x801, 0);
  header.writeUInt32BE(options.count ?? labels.length, 4);
  return Buffer.concat([header, Uint8Array.from(labels)]);
}
