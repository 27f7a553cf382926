import { DEFAULT_BATCH_SIZE, type ExampleBatch } from './batch.ts';
import { countChunks, peek } from './chunks.ts';
import { openContent, type SourceDigest } from './content.ts';
import { readCsvExamples } from './csv-reader.ts';
import { DataValidationError } from '../errors.ts';
import { readIdxImages, readIdxLabels } from './idx-reader.ts';
import { detectFormat, FORMAT_SIGNATURE_BYTES, type InputFormat } from './input-format.ts';
import type { InputFile } from './input-file.ts';
import { pairIdxFiles } from './idx-pairing.ts';
import type { IngestBudget } from './ingest-limits.ts';

export type { ExampleBatch } from './batch.ts';
export type { SourceDigest } from './content.ts';

export interface ReadExamplesOptions {
  /** Examples per yielded batch (the last one may be smaller). */
  batchSize?: number;
  /** Called once per input after it has been read to the end, with the stored file's size and sha256. */
  onSource?: (file: InputFile, digest: SourceDigest) => void;
  /**
   * Counts the decompressed bytes read (IDX labels files and every input's main read; the first
   * bytes peeked to learn a format are not counted twice) and the examples an IDX labels file
   * announces, before they are allocated. Throws to stop the read.
   */
  budget?: IngestBudget;
}

/**
 * Streams the examples of several inputs, in order, validating as it goes. Each input's format
 * (CSV, plain or gzip; IDX images or labels, plain or gzip) is read from its content. IDX images
 * come out at their own position in `files`, labelled from their paired labels file.
 */
export async function* readExamples(files: InputFile[], options: ReadExamplesOptions = {}): AsyncGenerator<ExampleBatch> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const report = options.onSource ?? (() => {});
  const budget = options.budget;
  const counter = (file: InputFile) => (budget ? (bytes: number) => budget.addContent(file.name, bytes) : undefined);
  const announced = (file: InputFile) => (budget ? (count: number) => budget.checkAnnounced(file.name, count) : undefined);

  // First pass: learn every format, and read labels files whole, since an images file may come
  // before its labels file in the list.
  const formats = new Map<InputFile, InputFormat>();
  const labels = new Map<InputFile, Uint8Array>();
  for (const file of files) {
    const content = await openContent(file);
    try {
      const { head, chunks } = await peek(content.chunks, FORMAT_SIGNATURE_BYTES);
      const format = detectFormat(file.name, head);
      formats.set(file, format);
      if (format === 'idx-labels') {
        const onContent = counter(file);
        labels.set(file, await readIdxLabels(file.name, onContent ? countChunks(chunks, onContent) : chunks, announced(file)));
        report(file, content.digest());
      }
    } finally {
      await content.close();
    }
  }
  const imagesFiles = files.filter((file) => formats.get(file) === 'idx-images');
  const labelsFor = pairIdxFiles(imagesFiles, [...labels.keys()]);

  for (const file of files) {
    const expected = formats.get(file);
    if (expected === 'idx-labels') continue;
    const content = await openContent(file, counter(file));
    try {
      const { head, chunks } = await peek(content.chunks, FORMAT_SIGNATURE_BYTES);
      if (detectFormat(file.name, head) !== expected) throw new DataValidationError(file.name, 'the file changed while being read');
      if (expected === 'csv') {
        yield* readCsvExamples(file.name, chunks, batchSize);
      } else {
        const labelsFile = labelsFor.get(file)!;
        yield* readIdxImages(file.name, chunks, labels.get(labelsFile)!, labelsFile.name, batchSize);
      }
      report(file, content.digest());
    } finally {
      await content.close();
    }
  }
}
