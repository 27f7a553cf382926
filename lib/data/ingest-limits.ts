import { PIXELS_PER_IMAGE } from './classes.ts';
import { DataValidationError } from '../errors.ts';
import { shardBytes } from './shard.ts';

/**
 * How much an ingest may take in, checked while the inputs stream, so an input that would not
 * fit where the ingest runs (a gzip bomb: a few MB of repeated rows expanding to gigabytes) is
 * stopped before it expands, not when the function runs out of memory or /tmp.
 *
 * - examples: the shards must fit in /tmp, and the ingest function later loads each split
 *   whole (the dataset summary), so all the examples must fit in its memory too;
 * - decompressed bytes: examples bound what is kept, but not what is read: a stream of blank
 *   lines, or rows padded with leading zeros, could run for hours producing nothing. A Kaggle
 *   row written plainly is at most 3,139 bytes (a label, 784 values of up to 3 digits, commas,
 *   CRLF), an IDX example 785: CONTENT_BYTES_PER_EXAMPLE per example allowed leaves room.
 */
export interface IngestLimits {
  /** Examples kept, train and test together. */
  maxExamples: number;
  /** Bytes read after decompression, every input together. */
  maxContentBytes: number;
  /** Where the limits come from, for messages: `2048 MiB of memory and 2048 MiB of /tmp`. */
  source: string;
}

export const CONTENT_BYTES_PER_EXAMPLE = 4096;
/** The CSV headers (6.9 KB each) and IDX headers, whatever the example limit. */
const CONTENT_ALLOWANCE_BYTES = 1 << 20;

/**
 * Resident memory of the ingest function before it holds any examples: Node, the AWS SDK, the
 * logger, the shard writer's 10,000-example buffer, a parse batch, gunzip and S3 read buffers
 * and one shard read back. Measured (process.resourceUsage().maxRSS around the handler, in
 * process with a mocked S3, tsx): 114 MiB for 100 examples, 147 MiB for the 6,000-example
 * sample (.csv.gz); rounded up for the Lambda runtime's own share.
 */
export const INGEST_RUNTIME_MIB = 256;
/** /tmp kept free for anything else that lands there. */
export const TMP_RESERVE_MIB = 64;
/**
 * What the ingest function holds per example: the split loaded for its summary, and an IDX label.
 * The data checks' map of image hashes (data-checks.ts, ~100-200 bytes per distinct image) lives
 * only while the inputs stream (unreachable once ingestDataset returns, before a split is loaded), so it does not add to this
 * peak (the full Fashion-MNIST: peak RSS 147 MB without the checks, 157 MB with them).
 */
const MEMORY_BYTES_PER_EXAMPLE = PIXELS_PER_IMAGE + 2;

const MiB = 2 ** 20;

export function limitsForExamples(maxExamples: number, source: string): IngestLimits {
  return { maxExamples, maxContentBytes: maxExamples * CONTENT_BYTES_PER_EXAMPLE + CONTENT_ALLOWANCE_BYTES, source };
}

/**
 * The limits for a function with this much memory and /tmp (MiB); none when neither is known
 * (the CLI on a laptop). Lambda's /tmp is 512 MiB unless configured otherwise.
 */
export function ingestLimitsFor(resources: { memoryMiB?: number; ephemeralStorageMiB?: number }): IngestLimits | undefined {
  const { memoryMiB } = resources;
  if (memoryMiB === undefined && resources.ephemeralStorageMiB === undefined) return undefined;
  const storageMiB = resources.ephemeralStorageMiB ?? 512;
  const byStorage = Math.floor(((storageMiB - TMP_RESERVE_MIB) * MiB) / shardBytes(1));
  const byMemory = memoryMiB === undefined ? Infinity : Math.floor(((memoryMiB - INGEST_RUNTIME_MIB) * MiB) / MEMORY_BYTES_PER_EXAMPLE);
  const source = [memoryMiB !== undefined ? `${memoryMiB} MiB of memory` : undefined, `${storageMiB} MiB of /tmp`].filter(Boolean).join(' and ');
  return limitsForExamples(Math.max(0, Math.min(byStorage, byMemory)), `this ingest's ${source}`);
}

/** Counts what an ingest takes in against its limits; throws a DataValidationError naming the file when one is passed. */
export class IngestBudget {
  private examples = 0;
  private contentBytes = 0;
  private readonly fileBytes = new Map<string, number>();

  constructor(readonly limits?: IngestLimits) {}

  /** Decompressed bytes read from `file`. */
  addContent(file: string, bytes: number): void {
    this.contentBytes += bytes;
    this.fileBytes.set(file, (this.fileBytes.get(file) ?? 0) + bytes);
    const limits = this.limits;
    if (limits && this.contentBytes > limits.maxContentBytes) {
      throw this.tooLarge(file, `more than ${formatCount(limits.maxContentBytes)} bytes of content after decompression`);
    }
  }

  /** Whether `count` more examples fit; throws when they do not. */
  addExamples(file: string, count: number): void {
    const limits = this.limits;
    if (limits && this.examples + count > limits.maxExamples) {
      throw this.tooLarge(file, `more than ${formatCount(limits.maxExamples)} examples`);
    }
    this.examples += count;
  }

  /** Room for an input that announces `count` examples up front (an IDX header), before anything is allocated for them. */
  checkAnnounced(file: string, count: number): void {
    const limits = this.limits;
    if (limits && this.examples + count > limits.maxExamples) {
      throw this.tooLarge(file, `its header announces ${formatCount(count)} examples, more than the ${formatCount(limits.maxExamples - this.examples)} still allowed`);
    }
  }

  private tooLarge(file: string, what: string): DataValidationError {
    const limits = this.limits!;
    const read = this.fileBytes.get(file) ?? 0;
    return new DataValidationError(
      file,
      `too large to ingest here: ${what} (train and test together), the most ${limits.source} can hold; ` +
        `stopped after ${formatCount(this.examples)} examples, ${formatCount(read)} bytes of this file decompressed`,
    );
  }
}

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}
