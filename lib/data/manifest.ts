import { z } from 'zod';
import { IMAGE_HEIGHT, IMAGE_WIDTH, NUM_CLASSES } from './classes.ts';
import { DataValidationError } from '../errors.ts';
import { describe, formatIssues } from '../validation.ts';
import { ManifestChecks } from './manifest-checks.ts';
import { shardBytes, type Split } from './shard.ts';

export const MANIFEST_FILE = 'manifest.json';

/*
 * manifest.json describes one ingested dataset directory. It is written last, so its presence
 * means the shards are complete. Manifests may come from a bucket, so nothing is trusted: in
 * particular shard file names must be plain names, never paths. Unknown keys are dropped (the
 * parse returns a clean copy); the messages say what was expected and what was found.
 */

const expected = (what: string) => (issue: { input?: unknown }) => `expected ${what}, found ${describe(issue.input)}`;

const object = <Shape extends z.ZodRawShape>(shape: Shape) => z.object(shape, { error: expected('an object') });
const array = <T extends z.ZodType>(element: T) => z.array(element, { error: expected('an array') });

const text = z.string({ error: expected('a non-empty string') }).min(1, { error: expected('a non-empty string') });

/** A whole number >= 0 (counts and sizes). */
const count = z
  .number({ error: expected('a whole number >= 0') })
  .refine((value) => Number.isSafeInteger(value) && value >= 0, { error: expected('a whole number >= 0') });

function matching(pattern: RegExp, what: string) {
  return text.refine((value) => pattern.test(value), { error: expected(what) });
}

const sha256 = matching(/^[0-9a-f]{64}$/, '64 lowercase hex characters');

function splitManifest(split: Split) {
  const shardFile = matching(new RegExp(`^${split}-[0-9]{5}\\.bin$`), `a file name like ${split}-00000.bin`);
  const shard = object({ file: shardFile, examples: count, bytes: count, sha256 }).superRefine((value, ctx) => {
    const size = shardBytes(value.examples);
    if (value.bytes !== size) {
      ctx.addIssue({ code: 'custom', path: ['bytes'], message: `a shard of ${value.examples} examples is ${size} bytes, found ${value.bytes}` });
    }
  });
  return object({
    examples: count,
    /** Examples per label, index = label; sums to `examples`. */
    labelHistogram: array(count),
    /** The inputs as stored (compressed size and checksum if gzip), in the order they were read. */
    sources: array(object({ name: text, bytes: count, sha256 })),
    shards: array(shard),
  }).superRefine((value, ctx) => {
    const { examples, labelHistogram, shards } = value;
    if (labelHistogram.length !== NUM_CLASSES) {
      ctx.addIssue({ code: 'custom', path: ['labelHistogram'], message: `expected ${NUM_CLASSES} counts, found ${labelHistogram.length}` });
    }
    const histogramTotal = labelHistogram.reduce((sum, n) => sum + n, 0);
    if (histogramTotal !== examples) {
      ctx.addIssue({ code: 'custom', path: ['labelHistogram'], message: `counts sum to ${histogramTotal}, but examples is ${examples}` });
    }
    const seen = new Set<string>();
    shards.forEach((shard, i) => {
      if (seen.has(shard.file)) ctx.addIssue({ code: 'custom', path: ['shards', i, 'file'], message: `${shard.file} is listed twice` });
      seen.add(shard.file);
    });
    const shardTotal = shards.reduce((sum, shard) => sum + shard.examples, 0);
    if (shardTotal !== examples) {
      ctx.addIssue({ code: 'custom', path: ['shards'], message: `shards hold ${shardTotal} examples, but examples is ${examples}` });
    }
  });
}

const IMAGE_SHAPE = [IMAGE_HEIGHT, IMAGE_WIDTH, 1] as const;

const datasetId = matching(/^[0-9a-f]{16,64}$/, '16 to 64 lowercase hex characters');

/**
 * Where a dataset comes from: its uploads in the order they were read (train first), and the
 * dataset it grew from. `parent` is the largest dataset already stored whose train sources are a
 * strict prefix of this one's, with the same test sources and limit (lineage.ts); null when there
 * is none (the first upload of a dataset, a replaced test set, or an ingest with no bucket to look
 * in). `fromParent` is how many of the train uploads the parent had: the rest are new.
 */
export const Lineage = object({
  parent: datasetId.nullable(),
  fromParent: count,
  uploads: array(object({ split: z.enum(['train', 'test']), name: text, sha256 })),
});
export type Lineage = z.output<typeof Lineage>;

export const Manifest = object({
  formatVersion: z.literal(1, { error: expected('1') }),
  /** Derived from the inputs' content (see dataset-id.ts): same data, same id. */
  datasetId,
  createdAt: text.refine((value) => !Number.isNaN(Date.parse(value)), { error: (issue) => `not a date: ${describe(issue.input)}` }),
  imageShape: z.custom<[28, 28, 1]>(
    (value) => Array.isArray(value) && value.length === IMAGE_SHAPE.length && IMAGE_SHAPE.every((n, i) => value[i] === n),
    { error: (issue) => `expected [${IMAGE_SHAPE.join(', ')}], found ${JSON.stringify(issue.input)}` },
  ),
  classNames: array(text).refine((names) => names.length === NUM_CLASSES, {
    error: (issue) => `expected ${NUM_CLASSES} names, found ${(issue.input as unknown[]).length}`,
  }),
  splits: object({ train: splitManifest('train'), test: splitManifest('test') }),
  /** The data checks (manifest-checks.ts); absent in manifests written before them. */
  checks: ManifestChecks.optional(),
  /** Uploads and parent dataset (Lineage); absent in manifests written before it. */
  lineage: Lineage.optional(),
});
export type Manifest = z.output<typeof Manifest>;
export type SplitManifest = Manifest['splits']['train'];

/** Validates a parsed manifest.json (from file `name`) and returns a clean copy. */
export function parseManifest(json: unknown, name: string): Manifest {
  const result = Manifest.safeParse(json);
  if (result.success) return result.data;
  throw new DataValidationError(name, `invalid manifest: ${formatIssues(result.error.issues).join('; ')}`);
}
