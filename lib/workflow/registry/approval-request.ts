import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { getJsonWith, putObject } from '../../aws/s3.ts';
import { TestSetId } from '../ids.ts';
import { approvalKey } from '../layout.ts';
import { RunId } from '../run-id.ts';

/**
 * A run waiting for a person (models/approvals/<runId>.json): the task token of its
 * AwaitApproval state, which `fmnist models approve`/`reject` answer with SendTaskSuccess, and
 * what the person needs to decide (the run's figures and the champion's). Written by the
 * request-approval function each time the state starts; a resumed run's new request replaces the
 * old one, whose token died with its execution.
 */
export const ApprovalRequest = z.strictObject({
  runId: RunId,
  testSetId: TestSetId,
  executionName: z.string().optional(),
  taskToken: z.string().min(1).max(2048),
  requestedAt: z.iso.datetime(),
  /** When AwaitApproval times out (its TimeoutSeconds). */
  expiresAt: z.iso.datetime(),
  accuracy: z.number(),
  macroF1: z.number(),
  reportPrefix: z.string(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** The event of the request-approval function (infra: the AwaitApproval state's payload). */
export const ApprovalRequestEvent = ApprovalRequest.omit({ requestedAt: true, expiresAt: true }).extend({
  timeoutSeconds: z.int().min(1),
});

/** Files the request (replacing an older one of the run: its token is dead); returns its key. */
export async function writeApprovalRequest(s3: S3Client, bucket: string, request: ApprovalRequest): Promise<string> {
  const key = approvalKey(request.runId);
  await putObject(s3, { bucket, key }, JSON.stringify(request, null, 2) + '\n', 'application/json');
  return key;
}

export async function readApprovalRequest(s3: S3Client, bucket: string, runId: string): Promise<ApprovalRequest | undefined> {
  return getJsonWith(s3, { bucket, key: approvalKey(runId) }, ApprovalRequest);
}
