import * as crypto from 'node:crypto';
import { NUM_CLASSES, PIXELS_PER_IMAGE } from './classes.ts';
import type { Split } from './shard.ts';

/**
 * What an ingest learns about the data itself, beyond validating it: per-class counts and pixel
 * statistics, exact duplicate images within each split and across train and test (a test image
 * also in train is a leak: the model is scored on what it learnt), the same image under two
 * labels, and the same source file given twice. These are facts of the data (the same data gives
 * the same figures); what is acceptable is decided apart, by the policy (data-check-policy.ts).
 *
 * Images are compared by the first 132 bits of the sha256 of their 784 bytes (22 base64
 * characters): no collision is expected among fewer than 10^19 images, so "same hash" is "same
 * bytes". Memory: one Map entry per distinct image (~200 bytes with its key), a quarter of what
 * the image itself takes when a split is loaded, and freed before that happens.
 */

/** One example, where the user can find it: its split and its 0-based row in that split. */
export interface ExampleRef {
  split: Split;
  row: number;
  label: number;
}

export interface ClassStats {
  label: number;
  count: number;
  /** Mean and population standard deviation of every pixel (0..255) of the class's images; 0 when it has none. */
  pixelMean: number;
  pixelStd: number;
}

export interface DuplicateFigures {
  /** Examples that repeat an image seen before (a pair counts 1, three copies count 2). */
  extraCopies: number;
  /** Distinct images seen more than once. */
  images: number;
}

/** One image seen several times: its first occurrences (up to MAX_REFS_PER_GROUP). */
export type DuplicateGroup = ExampleRef[];

export interface DataChecks {
  perClass: Record<Split, ClassStats[]>;
  duplicates: {
    train: DuplicateFigures;
    test: DuplicateFigures;
    /** Test examples whose image is also in train, and how many distinct images that is. */
    acrossSplits: { testExamples: number; images: number };
  };
  /** Distinct images seen under more than one label (within or across splits), and the examples holding them. */
  labelConflicts: { images: number; examples: number };
  /** Source files given more than once (same sha256), in a split or in both. */
  duplicateSources: { sha256: string; files: { split: Split; name: string }[] }[];
  /** A few examples of each, in the order their repeats are met, to find them in the sources (rows are 0-based within the split). */
  samples: { train: DuplicateGroup[]; test: DuplicateGroup[]; acrossSplits: DuplicateGroup[]; labelConflicts: DuplicateGroup[] };
}

export const MAX_SAMPLE_GROUPS = 5;
const MAX_REFS_PER_GROUP = 4;

interface Seen {
  refs: ExampleRef[];
  /** Occurrences, beyond what refs keeps. */
  train: number;
  test: number;
  /** Bit per label seen. */
  labels: number;
}

/**
 * An image seen once is a number in `once` (its first occurrence packed: row, split, label), not
 * an object: most images are seen once, and 70,000 objects cost more than the hashing. A second
 * sighting moves it to `repeated`.
 */
const pack = (ref: ExampleRef) => (ref.row * 2 + (ref.split === 'test' ? 1 : 0)) * 256 + ref.label;
const unpack = (packed: number): ExampleRef => {
  const label = packed % 256;
  const rest = (packed - label) / 256;
  return { split: rest % 2 === 1 ? 'test' : 'train', row: Math.floor(rest / 2), label };
};

/** Accumulates the checks while the examples stream by (train first, then test). */
export class DataCheckCollector {
  private readonly once = new Map<string, number>();
  private readonly repeated = new Map<string, Seen>();
  private readonly sums: Record<Split, { count: number[]; sum: number[]; squares: number[] }> = {
    train: classSums(),
    test: classSums(),
  };
  private readonly rows: Record<Split, number> = { train: 0, test: 0 };

  /** The next `count` examples of `split`, in order. */
  add(split: Split, labels: Uint8Array, pixels: Uint8Array, count: number): void {
    const sums = this.sums[split];
    for (let i = 0; i < count; i++) {
      const image = pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);
      const label = labels[i];
      let sum = 0;
      let squares = 0;
      for (let p = 0; p < PIXELS_PER_IMAGE; p++) {
        const value = image[p];
        sum += value;
        squares += value * value;
      }
      sums.count[label]++;
      sums.sum[label] += sum;
      sums.squares[label] += squares;
      this.remember(imageKey(image), { split, row: this.rows[split]++, label });
    }
  }

  private remember(key: string, ref: ExampleRef): void {
    const seen = this.repeated.get(key);
    if (seen) {
      if (seen.refs.length < MAX_REFS_PER_GROUP) seen.refs.push(ref);
      seen[ref.split]++;
      seen.labels |= 1 << ref.label;
      return;
    }
    const first = this.once.get(key);
    if (first === undefined) {
      this.once.set(key, pack(ref));
      return;
    }
    this.once.delete(key);
    const earlier = unpack(first);
    const counts = { train: 0, test: 0 };
    counts[earlier.split]++;
    counts[ref.split]++;
    this.repeated.set(key, { refs: [earlier, ref], ...counts, labels: (1 << earlier.label) | (1 << ref.label) });
  }

  finish(sources: Record<Split, { name: string; sha256: string }[]>): DataChecks {
    const checks: DataChecks = {
      perClass: { train: classStats(this.sums.train), test: classStats(this.sums.test) },
      duplicates: { train: { extraCopies: 0, images: 0 }, test: { extraCopies: 0, images: 0 }, acrossSplits: { testExamples: 0, images: 0 } },
      labelConflicts: { images: 0, examples: 0 },
      duplicateSources: duplicateSources(sources),
      samples: { train: [], test: [], acrossSplits: [], labelConflicts: [] },
    };
    const sample = (kind: keyof DataChecks['samples'], refs: ExampleRef[]) => {
      if (checks.samples[kind].length < MAX_SAMPLE_GROUPS) checks.samples[kind].push(refs);
    };
    for (const seen of this.repeated.values()) {
      for (const split of ['train', 'test'] as const) {
        if (seen[split] > 1) {
          checks.duplicates[split].extraCopies += seen[split] - 1;
          checks.duplicates[split].images++;
          sample(split, seen.refs.filter((ref) => ref.split === split));
        }
      }
      if (seen.train > 0 && seen.test > 0) {
        checks.duplicates.acrossSplits.testExamples += seen.test;
        checks.duplicates.acrossSplits.images++;
        sample('acrossSplits', seen.refs);
      }
      if ((seen.labels & (seen.labels - 1)) !== 0) {
        checks.labelConflicts.images++;
        checks.labelConflicts.examples += seen.train + seen.test;
        sample('labelConflicts', seen.refs);
      }
    }
    return checks;
  }
}

/** crypto.hash (Node.js 20.12+) is three times as fast as createHash for 784 bytes: the checks' main cost. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'base64') => string }).hash;

function imageKey(image: Uint8Array): string {
  const digest = oneShotHash ? oneShotHash('sha256', image, 'base64') : crypto.createHash('sha256').update(image).digest('base64');
  return digest.slice(0, 22);
}

function classSums() {
  const zeros = () => new Array<number>(NUM_CLASSES).fill(0);
  return { count: zeros(), sum: zeros(), squares: zeros() };
}

/** Sums stay exact in doubles: 10^6 images x 784 pixels x 255^2 is 5 x 10^13 < 2^53. */
function classStats(sums: { count: number[]; sum: number[]; squares: number[] }): ClassStats[] {
  return sums.count.map((count, label) => {
    const n = count * PIXELS_PER_IMAGE;
    if (n === 0) return { label, count, pixelMean: 0, pixelStd: 0 };
    const mean = sums.sum[label] / n;
    const variance = Math.max(0, sums.squares[label] / n - mean * mean);
    return { label, count, pixelMean: mean, pixelStd: Math.sqrt(variance) };
  });
}

function duplicateSources(sources: Record<Split, { name: string; sha256: string }[]>): DataChecks['duplicateSources'] {
  const bySha = new Map<string, { split: Split; name: string }[]>();
  for (const split of ['train', 'test'] as const) {
    for (const source of sources[split]) bySha.set(source.sha256, [...(bySha.get(source.sha256) ?? []), { split, name: source.name }]);
  }
  return [...bySha].filter(([, files]) => files.length > 1).map(([sha256, files]) => ({ sha256, files }));
}
