import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ENV, processEnv, requiredEnv as requiredIn, type Env } from '../env.ts';

/**
 * Attempts per S3 request (the SDK's standard retry strategy: exponential backoff with jitter on
 * throttling, 5xx, timeouts and connection errors such as ECONNRESET), and GETs per object when
 * a download breaks halfway (lib/aws/s3-read.ts resumes it). Four: one network blip, or a short
 * burst of them, does not fail a workflow step; a real outage still fails within seconds.
 */
export const S3_MAX_ATTEMPTS = 4;

/**
 * A socket that sends nothing for this long is dropped; the SDK retries the request, or a
 * download resumes where it stopped. S3 streams a healthy body continuously, so a minute of
 * silence is a dead connection, not a slow one.
 */
export const S3_SOCKET_TIMEOUT_MS = 60_000;

/**
 * An S3 client with this project's settings. The endpoint comes from the SDK's own settings
 * (AWS_ENDPOINT_URL_S3, which the SDK reads from the process environment itself), so the same
 * code talks to AWS or to a local S3-compatible server; `env` says whether one is set.
 * Checksums only when required: some S3-compatible servers mishandle the SDK's default
 * streaming checksums.
 */
export function createS3Client(overrides: S3ClientConfig = {}, env: Env = processEnv()): S3Client {
  return new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    forcePathStyle: env[ENV.s3Endpoint] !== undefined,
    retryMode: 'standard',
    maxAttempts: S3_MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: 10_000, socketTimeout: S3_SOCKET_TIMEOUT_MS },
    ...overrides,
  });
}

/** One S3 client per container (created lazily, reused across invocations). */
let shared: S3Client | undefined;

export function s3Client(overrides: S3ClientConfig = {}): S3Client {
  shared ??= createS3Client(overrides);
  return shared;
}

/** A variable the caller must have (lib/env.ts's requiredEnv, of the process environment by default). */
export function requiredEnv(name: string, env: Env = processEnv()): string {
  return requiredIn(env, name);
}
