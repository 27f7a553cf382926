import type { S3Client } from '@aws-sdk/client-s3';
import { getJsonWith, isPreconditionFailed, putObject, putObjectIf, s3Url } from '../../aws/s3.ts';
import { ConfigError } from '../../errors.ts';
import { SweepRecord, sweepRecordKey } from './sweep-record.ts';

/**
 * sweeps/<sweepId>/sweep.json in the data bucket. The first write claims the sweep (If-None-Match):
 * a retried StartSweep finds its own record with no round yet and goes on; any other record
 * under that id is refused. Later writes replace it: only the sweep's own execution writes it,
 * one state at a time.
 */
const json = (record: SweepRecord) => JSON.stringify(record, null, 2) + '\n';

export async function claimSweepRecord(s3: S3Client, bucket: string, record: SweepRecord): Promise<SweepRecord> {
  const location = { bucket, key: sweepRecordKey(record.sweepId) };
  try {
    await putObjectIf(s3, location, json(record), { ifNoneMatch: '*' }, 'application/json');
    return record;
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
  }
  const stored = await readSweepRecord(s3, bucket, record.sweepId);
  if (stored && stored.rounds.length === 0 && stored.executionName === record.executionName) return stored;
  throw new ConfigError(`sweep "${record.sweepId}" already exists (${s3Url(location)}, created ${stored?.createdAt ?? 'earlier'}); start the sweep under another runId`);
}

export async function readSweepRecord(s3: S3Client, bucket: string, sweepId: string): Promise<SweepRecord | undefined> {
  return getJsonWith(s3, { bucket, key: sweepRecordKey(sweepId) }, SweepRecord);
}

export async function writeSweepRecord(s3: S3Client, bucket: string, record: SweepRecord): Promise<void> {
  await putObject(s3, { bucket, key: sweepRecordKey(record.sweepId) }, json(record), 'application/json');
}
