import type { S3Client } from '@aws-sdk/client-s3';
import { getObjectBytes, putObject } from '../../lib/aws/s3.ts';

/**
 * Sets the test accuracy of an evaluated run, for tests that need one model to be the better: in
 * the stored classification report, which Promote checks the candidate's figures against before
 * registering it. Evaluate's result must be given the same figure (the caller's double does).
 */
export async function setReportedAccuracy(s3: S3Client, bucket: string, reportPrefix: string, accuracy: number): Promise<void> {
  const location = { bucket, key: `${reportPrefix}classification_report.json` };
  const report = JSON.parse((await getObjectBytes(s3, location)).toString('utf8'));
  await putObject(s3, location, JSON.stringify({ ...report, accuracy }), 'application/json');
}
