import type { S3Client } from '@aws-sdk/client-s3';
import { s3Url } from '../lib/aws/s3.ts';
import { ConfigError } from '../lib/errors.ts';
import type { ExecutionInput } from '../lib/workflow/execution-input.ts';
import { runRecordKey } from '../lib/workflow/layout.ts';
import { readRunRecord, type RunRecord } from '../lib/workflow/run-record.ts';
import { validateRunId } from '../lib/workflow/run-id.ts';

/**
 * A run as the bucket knows it: `runs/<runId>/run.json`, written by ValidateInput when the run
 * id was claimed (read by lib/workflow/run-record.ts). `fmnist resume` (local and deployed)
 * starts from it; `where` names the bucket for the message when there is none.
 */
export async function storedRun(s3: S3Client, bucket: string, runId: string, where: string): Promise<RunRecord> {
  validateRunId(runId);
  const record = await readRunRecord(s3, bucket, runId);
  if (record === undefined) {
    throw new ConfigError(
      `no run ${runId} in ${where} (${s3Url({ bucket, key: runRecordKey(runId) })} does not exist): nothing to resume ` +
        `(a run that failed before ValidateInput claimed its id has nothing stored: start it again)`,
    );
  }
  return record;
}

/** The execution input that finishes a run: the stored one, marked as a resume (ValidateInput checks it matches). */
export function resumeInput(record: RunRecord): ExecutionInput {
  return { ...record.input, runId: record.runId, resume: true };
}
