import { createHash } from 'node:crypto';
import { GetObjectCommand, type GetObjectCommandOutput, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../errors.ts';
import { s3Call, S3OperationError } from './s3-errors.ts';
import { findObject } from './s3-list.ts';
import { s3Url, type S3Location } from './s3-location.ts';

/**
 * Writes that never replace what is stored: S3's conditional writes (If-None-Match: *, If-Match:
 * <etag>; the local S3 honours both, cli/local/s3/conditional-writes.ts).
 */

/** What a write or a read saw of an object: its ETag and, in a versioned bucket, its version id. */
export interface ObjectVersion {
  etag: string | null;
  /** Null where the bucket is not versioned (the local S3). */
  versionId: string | null;
}

export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** S3 refused a conditional write: 412 PreconditionFailed. */
export function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'PreconditionFailed' || e?.code === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}

/**
 * A conditional PutObject. A refused condition throws the S3OperationError with name
 * PreconditionFailed (test with isPreconditionFailed); If-Match on a key that has no object
 * throws NoSuchKey, as S3 does.
 */
export async function putObjectIf(
  client: S3Client,
  location: S3Location,
  body: Buffer | string,
  condition: WriteCondition,
  contentType = 'application/octet-stream',
): Promise<ObjectVersion> {
  const response = await s3Call('PutObject', location, () =>
    client.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: location.key,
        Body: body,
        ContentType: contentType,
        ...('ifNoneMatch' in condition ? { IfNoneMatch: condition.ifNoneMatch } : { IfMatch: condition.ifMatch }),
      }),
    ),
  );
  return { etag: response.ETag ?? null, versionId: response.VersionId ?? null };
}

/**
 * Writes an object that must never change once written (a run's model and report files, a run's
 * claim): PutObject with If-None-Match: *. When the key is taken, the stored bytes are compared
 * with `body`: the same content is a retried write that already landed (`written: false`),
 * other content is refused with a ConfigError naming the object; nothing is replaced either way.
 */
export async function putObjectOnce(
  client: S3Client,
  location: S3Location,
  body: Buffer | string,
  contentType = 'application/octet-stream',
): Promise<{ written: boolean } & ObjectVersion> {
  try {
    return { written: true, ...(await putObjectIf(client, location, body, { ifNoneMatch: '*' }, contentType)) };
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
  }
  const stored = await getObjectVersion(client, location);
  const want = sha256Hex(body);
  if (stored !== undefined && sha256Hex(stored.bytes) === want) return { written: false, etag: stored.etag, versionId: stored.versionId };
  const got = stored === undefined ? 'was deleted after refusing the write' : `sha256 ${sha256Hex(stored.bytes)}, this write ${want}`;
  throw new ConfigError(`${s3Url(location)} already exists with different content (${got}): run outputs are write-once`);
}

/**
 * An object's bytes with its ETag and version id (one GET; small objects only: JSON records,
 * model files), or undefined when no object has the key. A 403 for a missing key (a caller that
 * may not list the bucket unconditionally) is told apart by listing the key, as readObject does.
 */
export async function getObjectVersion(
  client: S3Client,
  location: S3Location,
  versionId?: string,
): Promise<({ bytes: Buffer } & ObjectVersion) | undefined> {
  let response: GetObjectCommandOutput | undefined;
  for (let attempt = 1; response === undefined; attempt++) {
    try {
      response = await client.send(
        new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ...(versionId ? { VersionId: versionId } : {}) }),
      );
    } catch (error) {
      if (isMissing(error)) return undefined;
      if (!isAccessDenied(error) || versionId) throw new S3OperationError('GetObject', location, error);
      const listed = await findObject(client, location).catch(() => 'denied' as const);
      if (listed === undefined) return undefined;
      // Listed now, so it was created between the GET and the listing (another writer): read
      // it again. Listed every time, or the listing denied too: the denial is real.
      if (listed === 'denied' || attempt >= MISSING_KEY_ATTEMPTS) throw new S3OperationError('GetObject', location, error);
    }
  }
  const etag = response.ETag ?? null;
  const length = response.ContentLength;
  const bytes = Buffer.from(await response.Body!.transformToByteArray());
  // A body cut short is never taken for the object.
  if (length !== undefined && bytes.length !== length) {
    throw new S3OperationError('GetObject', location, new Error(`the connection closed after ${bytes.length} of ${length} bytes`));
  }
  return { bytes, etag, versionId: response.VersionId ?? null };
}

/** GETs of a key that a 403 said was missing while a listing said it exists. */
const MISSING_KEY_ATTEMPTS = 3;

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound';
}

function isAccessDenied(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'AccessDenied' || e?.$metadata?.httpStatusCode === 403;
}
