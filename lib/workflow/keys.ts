import { z } from 'zod';
import { parseS3Url } from '../aws/s3-location.ts';
import { ConfigError } from '../errors.ts';
import { DATASET_ID_LENGTH } from '../data/dataset-id.ts';
import { PREFIXES } from './layout.ts';

/**
 * Which S3 keys each event may name: one home for the rules, so an execution input or a handler
 * event can only point where its step is meant to work (and where IAM lets it), and a mistake
 * fails at once with the field named instead of as AccessDenied minutes later, or worse, as a
 * download of everything under datasets/.
 *
 *   source files (execution input, IngestEvent)  raw/<...> of the workflow's own bucket, bare
 *                                                or as s3://<that bucket>/raw/<...>; one object
 *                                                each (no prefix), normalised to the bare key
 *   a data set                                   datasets/<datasetId>/ exactly
 *   a run's model and report                     runs/<runId>/model/, runs/<runId>/report/ of
 *                                                the event's own runId
 */

/** S3's own limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * Source files per split. Fashion-MNIST comes as one CSV or two IDX files per split; 50 leaves
 * room for data uploaded in parts while keeping the plan small: 2 x 50 keys of at most 1 KiB is
 * under 100 KiB, well inside Step Functions' 256 KiB per state document (the plan travels in it
 * from ValidateInput to the end).
 */
export const MAX_SOURCES_PER_SPLIT = 50;

const DATASET_PREFIX = new RegExp(`^${PREFIXES.datasets}[0-9a-f]{${DATASET_ID_LENGTH}}/$`);

/** `datasets/<datasetId>/`: what the ingest step wrote, and nothing above or beside it. */
export const DatasetPrefix = z
  .string()
  .regex(DATASET_PREFIX, `must be "${PREFIXES.datasets}<datasetId>/" (${DATASET_ID_LENGTH} lowercase hex digits)`);

/** Why `key` cannot be a source file's key, or undefined if it can. */
export function sourceKeyProblem(key: string): string | undefined {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `is ${bytes} bytes long; S3 keys are at most ${MAX_KEY_BYTES}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'contains a control character';
  if (!key.startsWith(PREFIXES.raw)) return `is not under ${PREFIXES.raw}: the workflow reads source files only from ${PREFIXES.raw} of its data bucket`;
  if (key.endsWith('/')) return 'ends in "/": name each file, not a folder';
  const segments = key.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) return 'has a "." or ".." path segment';
  if (segments.includes('')) return 'has an empty path segment ("//")';
  return undefined;
}

/**
 * One source file: `raw/...` or `s3://<dataBucket>/raw/...`, turned into the bare key. Without
 * `dataBucket` (checking input before the bucket is known, as `fmnist start` does) any bucket
 * passes and the value is kept as given.
 */
export function sourceKey(dataBucket?: string) {
  return z.string().transform((value, ctx) => {
    const shown = JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
    let key = value;
    try {
      const url = parseS3Url(value);
      if (url) {
        if (dataBucket !== undefined && url.bucket !== dataBucket) {
          ctx.addIssue({ code: 'custom', message: `${shown} is in bucket "${url.bucket}"; the workflow reads only its data bucket "${dataBucket}"` });
          return z.NEVER;
        }
        key = url.key;
      }
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      ctx.addIssue({ code: 'custom', message: `${shown} is not an s3://bucket/key URL` });
      return z.NEVER;
    }
    const problem = sourceKeyProblem(key);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `${shown} ${problem}` });
      return z.NEVER;
    }
    return dataBucket === undefined ? value : key;
  });
}

export function sourceKeys(dataBucket?: string) {
  return z
    .array(sourceKey(dataBucket))
    .min(1, 'needs at least one file')
    .max(MAX_SOURCES_PER_SPLIT, `at most ${MAX_SOURCES_PER_SPLIT} files per split`);
}

/**
 * Checks that prefix fields of an event are exactly its own run's (`runs/<runId>/model/`, ...):
 * a step must not read or publish another run's files. For `.superRefine()` on an object with
 * a `runId`.
 */
export function ownRunPrefixes(expected: Record<string, (runId: string) => string>) {
  return (value: { runId: string }, ctx: z.RefinementCtx): void => {
    for (const [field, prefixFor] of Object.entries(expected)) {
      const want = prefixFor(value.runId);
      const got = (value as Record<string, unknown>)[field];
      if (got !== want) {
        ctx.addIssue({ code: 'custom', path: [field], message: `must be "${want}" (the prefix of run ${value.runId}), got ${JSON.stringify(got)}` });
      }
    }
  };
}
