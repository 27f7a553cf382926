import type { S3Client } from '@aws-sdk/client-s3';
import { putObject } from '../../aws/s3.ts';
import { renderSweepPage } from '../../report/sweep-page.ts';
import { sweepPageKey, type SweepRecord } from './sweep-record.ts';
import { readSweepHistories } from './sweep-histories.ts';

export type SweepPageWriter = (s3: S3Client, bucket: string, record: SweepRecord, warn?: (message: string) => void) => Promise<void>;

/**
 * sweeps/<sweepId>/index.html: the sweep's page (lib/report/sweep-page.ts), with the learning
 * curves of every trial that trained to the end (their runs/<runId>/model/history.json; a
 * malformed one is warned about and that trial drawn from its rounds' figures).
 */
export const writeSweepPage: SweepPageWriter = async (s3, bucket, record, warn = () => {}) => {
  const { html, warnings } = await sweepPageOf(s3, bucket, record);
  for (const warning of warnings) warn(warning);
  await putObject(s3, { bucket, key: sweepPageKey(record.sweepId) }, html, 'text/html; charset=utf-8');
};

/** The sweep's page rendered now from the bucket (the record and the trials' histories), for the sweep function and `fmnist sweep status --html`. */
export async function sweepPageOf(s3: S3Client, bucket: string, record: SweepRecord): Promise<{ html: string; warnings: string[] }> {
  const { histories, warnings } = await readSweepHistories(s3, bucket, record);
  return { html: renderSweepPage(record, histories), warnings };
}
