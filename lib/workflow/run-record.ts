import { isDeepStrictEqual } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { getObjectVersion, isPreconditionFailed, putObjectIf, s3Url } from '../aws/s3.ts';
import { ConfigError } from '../errors.ts';
import { formatIssues } from '../validation.ts';
import { RunInput } from './execution-input.ts';
import { RunId } from './run-id.ts';
import { runRecordKey } from './layout.ts';

/**
 * runs/<runId>/run.json: the claim on a run id. ValidateInput writes it with If-None-Match: *
 * before any work, so a second execution given the same run id fails there, naming the run,
 * and nothing under runs/<runId>/ is touched; an execution with `resume: true` instead reads it
 * and must bring the same data and config (`fmnist resume <runId>` starts
 * {...record.input, runId, resume: true}). Written once, never updated.
 */
export const RunRecord = z.strictObject({
  runId: RunId,
  /** The execution that claimed the run (absent when started without a name). */
  executionName: z.string().optional(),
  createdAt: z.iso.datetime(),
  /** The validated execution input as given (without runId and resume). */
  input: RunInput,
});
export type RunRecord = z.infer<typeof RunRecord>;

/** The fields a resumed execution must repeat: they decide what the run computes. */
export const RESUME_FIELDS = ['train', 'test', 'limit', 'config'] as const;

/**
 * Claims `record.runId` in `bucket`. A run id already claimed is refused with a ConfigError
 * naming it, its record and its creator, unless the record is this very execution's (a retried
 * ValidateInput whose first attempt wrote it): then the claim stands.
 */
export async function claimRun(s3: S3Client, bucket: string, record: RunRecord): Promise<void> {
  const location = { bucket, key: runRecordKey(record.runId) };
  try {
    await putObjectIf(s3, location, JSON.stringify(record, null, 2) + '\n', { ifNoneMatch: '*' }, 'application/json');
    return;
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
  }
  const stored = await readRunRecord(s3, bucket, record.runId);
  if (stored && record.executionName !== undefined && stored.executionName === record.executionName && isDeepStrictEqual(stored.input, record.input)) return;
  const by = stored ? `, created ${stored.createdAt}${stored.executionName ? ` by execution ${stored.executionName}` : ''}` : '';
  throw new ConfigError(
    `run id "${record.runId}" already exists (${s3Url(location)}${by}); choose another runId, or resume it with resume: true`,
  );
}

/**
 * The stored record of `runId`, or undefined when there is none. One reader for ValidateInput and
 * `fmnist resume` (local and deployed): a record that is not JSON, does not fit RunRecord or names
 * another run is an error naming the object and the field.
 */
export async function readRunRecord(s3: S3Client, bucket: string, runId: string): Promise<RunRecord | undefined> {
  const location = { bucket, key: runRecordKey(runId) };
  const stored = await getObjectVersion(s3, location);
  if (stored === undefined) return undefined;
  const where = s3Url(location);
  let json: unknown;
  try {
    json = JSON.parse(stored.bytes.toString('utf8'));
  } catch (error) {
    throw new ConfigError(`${where} is not a run record: not valid JSON (${(error as Error).message})`);
  }
  const parsed = RunRecord.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${where} is not a run record: ${formatIssues(parsed.error.issues).join('; ')}`);
  if (parsed.data.runId !== runId) throw new ConfigError(`${where} names run ${parsed.data.runId}, not ${runId}`);
  return parsed.data;
}

/**
 * Checks that a resumed execution continues `runId` as it was started: the record exists, and
 * train, test, limit and config are equal to the stored ones (the message names the first field
 * that differs and both values). trainOn and promote may change.
 */
export async function checkResume(s3: S3Client, bucket: string, runId: string, input: RunInput): Promise<RunRecord> {
  const stored = await readRunRecord(s3, bucket, runId);
  if (stored === undefined) {
    throw new ConfigError(
      `cannot resume run "${runId}": ${s3Url({ bucket, key: runRecordKey(runId) })} does not exist (no run with this id was started); leave out resume to start it`,
    );
  }
  const difference = resumeDifference(stored.input, input);
  if (difference) throw new ConfigError(`cannot resume run "${runId}": ${difference}`);
  return stored;
}

/** Why `given` does not continue the run started with `stored`, or undefined when it does. */
export function resumeDifference(stored: RunInput, given: RunInput): string | undefined {
  for (const field of RESUME_FIELDS) {
    // A config left out and an empty one train the same (the defaults).
    const normal = (input: RunInput) => (field === 'config' ? (input.config ?? {}) : input[field]);
    const [was, is] = [normal(stored), normal(given)];
    if (!isDeepStrictEqual(was, is)) {
      return `"${field}" differs from the run's: the run has ${show(was)}, this execution ${show(is)}`;
    }
  }
  return undefined;
}

function show(value: unknown): string {
  if (value === undefined) return 'none';
  const text = JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
