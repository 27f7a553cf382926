import { findObject, getJsonWith, s3Url } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import { sweepTable } from '../../lib/report/sweep-trials.ts';
import { RUN_ID_PATTERN } from '../../lib/workflow/run-id.ts';
import { SweepRecord, sweepPageKey, sweepRecordKey } from '../../lib/workflow/sweep/sweep-record.ts';
import type { RegistryTarget } from '../registry/target.ts';

/**
 * `fmnist sweep status` as an operation over a bucket (local or deployed): the sweep's record
 * (sweeps/<sweepId>/sweep.json, read against its schema), the config fields its trials differ
 * in, and where its page is. sweep-commands.ts parses the flags and prints.
 */

export interface SweepStatus {
  /** "the local bucket at <dir>" or "s3://<bucket>". */
  where: string;
  bucket: string;
  /** s3:// URL of sweep.json. */
  recordUrl: string;
  record: SweepRecord;
  /** The config fields whose values differ between trials (the columns of the page's table). */
  varyingFields: string[];
  page: SweepPageLocation;
}

export interface SweepPageLocation {
  /** s3:// URL of sweeps/<sweepId>/index.html (in the local bucket: its name there). */
  url: string;
  /** Whether the page exists yet (the sweep function writes it after each round and at the end). */
  written: boolean;
}

export async function readSweepStatus(target: RegistryTarget, sweepId: string): Promise<SweepStatus> {
  if (!RUN_ID_PATTERN.test(sweepId)) throw new ConfigError(`sweep status: "${sweepId}" is not a sweep id (1-80 letters, digits, '.', '_' or '-', starting with a letter or digit)`);
  const location = { bucket: target.bucket, key: sweepRecordKey(sweepId) };
  // A malformed record is a ConfigError naming the object and the field (lib/validation.ts).
  const record = await getJsonWith(target.s3, location, SweepRecord);
  if (record === undefined) {
    throw new ConfigError(`no sweep ${sweepId} in ${target.where}: ${s3Url(location)} does not exist (was it started with another --state-dir, or on the other side of --aws?)`);
  }
  if (record.sweepId !== sweepId) throw new ConfigError(`${s3Url(location)}: sweepId: names sweep ${record.sweepId}, not ${sweepId}`);
  const pageLocation = { bucket: target.bucket, key: sweepPageKey(sweepId) };
  return {
    where: target.where,
    bucket: target.bucket,
    recordUrl: s3Url(location),
    record,
    varyingFields: sweepTable(record).fields,
    page: { url: s3Url(pageLocation), written: (await findObject(target.s3, pageLocation)) !== undefined },
  };
}
