import { s3Url, type S3Location } from './s3-location.ts';

/**
 * An S3 request that failed for good (after the SDK's retries, or after resuming a broken
 * download): the message names the object (or prefix), the operation and, when it took more
 * than one, the attempts, e.g. `s3://bucket/key: GetObject failed after 4 attempts: read
 * ECONNRESET`. `name` stays S3's error code where there is one (NoSuchKey, AccessDenied, ...),
 * which is what Step Functions shows as the state's Error; plain network errors become
 * `S3OperationError`. Not a UserError (lib/errors.ts): its name must stay S3's code; a caller
 * that knows a case is the user's to fix (a missing training event, say) throws a ConfigError.
 */
export class S3OperationError extends Error {
  /** S3's error code (NoSuchKey, AccessDenied, PreconditionFailed) or Node's (ECONNRESET). */
  readonly code: string | undefined;
  /** The SDK's response metadata, kept so callers that look at it (status code) still can. */
  readonly $metadata: { httpStatusCode?: number; attempts?: number } | undefined;

  constructor(
    readonly operation: string,
    readonly location: S3Location,
    cause: unknown,
    readonly attempts = attemptsOf(cause),
  ) {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    const code = codeOf(error);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(`${s3Url(location)}: ${operation} failed${tries}: ${describe(error, code)}`, { cause });
    this.name = error.name && error.name !== 'Error' ? error.name : 'S3OperationError';
    this.code = code;
    this.$metadata = (error as { $metadata?: S3OperationError['$metadata'] }).$metadata;
  }
}

/** Runs one S3 request and names the object in its failure. */
export async function s3Call<T>(operation: string, location: S3Location, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof S3OperationError ? error : new S3OperationError(operation, location, error);
  }
}

function attemptsOf(error: unknown): number {
  return (error as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts ?? 1;
}

function codeOf(error: Error): string | undefined {
  const code = (error as { Code?: unknown; code?: unknown }).Code ?? (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return '$metadata' in error && error.name !== 'Error' ? error.name : undefined;
}

function describe(error: Error, code: string | undefined): string {
  if ((code === 'NoSuchKey' || error.name === 'NoSuchKey') && (!error.message || /specified key does not exist/i.test(error.message))) {
    return 'NoSuchKey: no object has this key';
  }
  if (code === 'NoSuchBucket' || error.name === 'NoSuchBucket') return 'NoSuchBucket: the bucket does not exist';
  // S3's own message for service errors (AccessDenied: "Access Denied", ...), Node's for network errors.
  const label = error.name && error.name !== 'Error' && !error.message.startsWith(error.name) ? `${error.name}: ` : '';
  return `${label}${error.message || code || 'unknown error'}`;
}
