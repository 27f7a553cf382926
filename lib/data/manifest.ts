import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from './classes.ts';
import { DataValidationError } from '../errors.ts';
import { shardBytes, type Split } from './shard.ts';

export const MANIFEST_FILE = 'manifest.json';

/** Describes one ingested dataset directory. Written last, so its presence means the shards are complete. */
export interface Manifest {
  formatVersion: 1;
  /** Derived from the inputs' content (see dataset-id.ts): same data, same id. */
  datasetId: string;
  createdAt: string;
  imageShape: [28, 28, 1];
  classNames: string[];
  splits: { train: SplitManifest; test: SplitManifest };
}

export interface SplitManifest {
  examples: number;
  /** Examples per label, index = label; sums to `examples`. */
  labelHistogram: number[];
  /** The inputs as stored (compressed size and checksum if gzip), in the order they were read. */
  sources: { name: string; bytes: number; sha256: string }[];
  shards: { file: string; examples: number; bytes: number; sha256: string }[];
}

const SHA256 = /^[0-9a-f]{64}$/;
const DATASET_ID = /^[0-9a-f]{16,64}$/;

/**
 * Validates a parsed manifest.json and returns a clean copy. Manifests may come from a bucket, so
 * nothing is trusted: in particular shard file names must be plain names, never paths.
 */
export function parseManifest(json: unknown, name: string): Manifest {
  const fail = (path: string, reason: string): never => {
    throw new DataValidationError(name, `invalid manifest: ${path}: ${reason}`);
  };
  const at = new Reader(fail);
  const root = at.object(json, '(root)');
  if (root.formatVersion !== 1) fail('formatVersion', `expected 1, found ${JSON.stringify(root.formatVersion)}`);
  const datasetId = at.matching(root.datasetId, 'datasetId', DATASET_ID, '16 to 64 lowercase hex characters');
  const createdAt = at.string(root.createdAt, 'createdAt');
  if (Number.isNaN(Date.parse(createdAt))) fail('createdAt', `not a date: ${JSON.stringify(createdAt)}`);
  const shape = root.imageShape;
  if (!Array.isArray(shape) || shape.length !== 3 || shape[0] !== IMAGE_HEIGHT || shape[1] !== IMAGE_WIDTH || shape[2] !== 1) {
    fail('imageShape', `expected [${IMAGE_HEIGHT}, ${IMAGE_WIDTH}, 1], found ${JSON.stringify(shape)}`);
  }
  const classNames = at.array(root.classNames, 'classNames').map((value, i) => at.string(value, `classNames[${i}]`));
  if (classNames.length !== NUM_CLASSES) fail('classNames', `expected ${NUM_CLASSES} names, found ${classNames.length}`);
  const splits = at.object(root.splits, 'splits');
  return {
    formatVersion: 1,
    datasetId,
    createdAt,
    imageShape: [IMAGE_HEIGHT, IMAGE_WIDTH, 1] as [28, 28, 1],
    classNames,
    splits: { train: parseSplit(at, splits.train, 'train'), test: parseSplit(at, splits.test, 'test') },
  };
}

function parseSplit(at: Reader, json: unknown, split: Split): SplitManifest {
  const path = `splits.${split}`;
  const value = at.object(json, path);
  const examples = at.count(value.examples, `${path}.examples`);
  const labelHistogram = at.array(value.labelHistogram, `${path}.labelHistogram`).map((n, i) => at.count(n, `${path}.labelHistogram[${i}]`));
  if (labelHistogram.length !== NUM_CLASSES) at.fail(`${path}.labelHistogram`, `expected ${NUM_CLASSES} counts, found ${labelHistogram.length}`);
  const histogramTotal = labelHistogram.reduce((sum, n) => sum + n, 0);
  if (histogramTotal !== examples) at.fail(`${path}.labelHistogram`, `counts sum to ${histogramTotal}, but examples is ${examples}`);

  const sources = at.array(value.sources, `${path}.sources`).map((item, i) => {
    const where = `${path}.sources[${i}]`;
    const source = at.object(item, where);
    return {
      name: at.string(source.name, `${where}.name`),
      bytes: at.count(source.bytes, `${where}.bytes`),
      sha256: at.matching(source.sha256, `${where}.sha256`, SHA256, '64 lowercase hex characters'),
    };
  });

  const shardName = new RegExp(`^${split}-[0-9]{5}\\.bin$`);
  const seen = new Set<string>();
  const shards = at.array(value.shards, `${path}.shards`).map((item, i) => {
    const where = `${path}.shards[${i}]`;
    const shard = at.object(item, where);
    const file = at.matching(shard.file, `${where}.file`, shardName, `a file name like ${split}-00000.bin`);
    if (seen.has(file)) at.fail(`${where}.file`, `${file} is listed twice`);
    seen.add(file);
    const shardExamples = at.count(shard.examples, `${where}.examples`);
    const bytes = at.count(shard.bytes, `${where}.bytes`);
    if (bytes !== shardBytes(shardExamples)) at.fail(`${where}.bytes`, `a shard of ${shardExamples} examples is ${shardBytes(shardExamples)} bytes, found ${bytes}`);
    return { file, examples: shardExamples, bytes, sha256: at.matching(shard.sha256, `${where}.sha256`, SHA256, '64 lowercase hex characters') };
  });
  const shardTotal = shards.reduce((sum, shard) => sum + shard.examples, 0);
  if (shardTotal !== examples) at.fail(`${path}.shards`, `shards hold ${shardTotal} examples, but examples is ${examples}`);
  return { examples, labelHistogram, sources, shards };
}

/** Small typed accessors that report the JSON path of whatever is wrong. */
class Reader {
  constructor(readonly fail: (path: string, reason: string) => never) {}

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `expected an object, found ${describe(value)}`);
    return value as Record<string, unknown>;
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) this.fail(path, `expected an array, found ${describe(value)}`);
    return value as unknown[];
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string' || value === '') this.fail(path, `expected a non-empty string, found ${describe(value)}`);
    return value as string;
  }

  count(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) this.fail(path, `expected a whole number >= 0, found ${describe(value)}`);
    return value as number;
  }

  matching(value: unknown, path: string, pattern: RegExp, expected: string): string {
    const text = this.string(value, path);
    if (!pattern.test(text)) this.fail(path, `expected ${expected}, found ${JSON.stringify(text)}`);
    return text;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}
