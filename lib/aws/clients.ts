import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * One S3 client per container (created lazily, reused across invocations). The endpoint comes
 * from the SDK's own settings (AWS_ENDPOINT_URL_S3), so the same code talks to AWS or to a local
 * S3-compatible server. Checksums only when required: some S3-compatible servers mishandle the
 * SDK's default streaming checksums.
 */
let shared: S3Client | undefined;

export function s3Client(overrides: S3ClientConfig = {}): S3Client {
  shared ??= new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined,
    ...overrides,
  });
  return shared;
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
