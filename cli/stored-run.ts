import type { S3Client } from '@aws-sdk/client-s3';
import { getJsonIfExists, s3Url } from '../lib/aws/s3.ts';
import { ConfigError } from '../lib/errors.ts';
import type { ExecutionInput } from '../lib/workflow/execution-input.ts';
import { runRecordKey } from '../lib/workflow/layout.ts';
import { RunRecord } from '../lib/workflow/run-record.ts';
import { validateRunId } from '../lib/workflow/run-id.ts';

/**
 * A run as the bucket knows it: `runs/<runId>/run.json`, written by ValidateInput when the run
 * id was claimed. `fmnist resume` (local and deployed) starts from it.
 */
export async function readRunRecord(s3: S3Client, bucket: string, runId: string, where: string): Promise<RunRecord> {
  validateRunId(runId);
  const location = { bucket, key: runRecordKey(runId) };
  const stored = await getJsonIfExists(s3, location);
  if (stored === undefined) {
    throw new ConfigError(
      `no run ${runId} in ${where} (${s3Url(location)} does not exist): nothing to resume ` +
        `(a run that failed before ValidateInput claimed its id has nothing stored: start it again)`,
    );
  }
  const parsed = RunRecord.safeParse(stored);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${s3Url(location)} is not a run record: ${issue?.path.join('.') || '(record)'}: ${issue?.message}`);
  }
  if (parsed.data.runId !== runId) {
    throw new ConfigError(`${s3Url(location)} names run ${parsed.data.runId}, not ${runId}`);
  }
  return parsed.data;
}

/** The execution input that finishes a run: the stored one, marked as a resume (ValidateInput checks it matches). */
export function resumeInput(record: RunRecord): ExecutionInput {
  return { ...record.input, runId: record.runId, resume: true };
}
