import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { S3_MAX_ATTEMPTS } from './clients.ts';
import { S3OperationError } from './s3-errors.ts';
import { findObject } from './s3-list.ts';
import type { S3Location } from './s3-location.ts';

export interface ReadObjectOptions {
  /** GET requests per object, the first included; default S3_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** Wait before the n-th resume: retryDelayMs x 2^(n-1). Default 200 ms. */
  retryDelayMs?: number;
}

/**
 * An object's bytes as one stream that survives broken connections. The SDK retries a request
 * that fails before its response starts, not a body that breaks halfway (a connection reset, a
 * stalled socket timing out), and a multi-gigabyte read is long enough for that to happen. So
 * when the body fails, or ends short of its Content-Length, the read resumes with a Range GET
 * from the byte reached, with If-Match on the first response's ETag: a replaced object fails
 * the read (412) instead of splicing two versions together. At most `maxAttempts` GETs; the
 * last failure names the object, the operation and the attempts.
 */
export async function* readObject(client: S3Client, location: S3Location, options: ReadObjectOptions = {}): AsyncGenerator<Buffer> {
  const maxAttempts = options.maxAttempts ?? S3_MAX_ATTEMPTS;
  const retryDelayMs = options.retryDelayMs ?? 200;
  let offset = 0;
  let total: number | undefined;
  let etag: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const resuming = attempt > 1;
    let response: GetObjectCommandOutput;
    try {
      response = await client.send(
        new GetObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          ...(resuming ? { Range: `bytes=${offset}-`, IfMatch: etag } : {}),
        }),
      );
    } catch (error) {
      if (isPreconditionFailed(error)) {
        throw new S3OperationError('GetObject', location, changedWhileRead(etag!, offset), attempt);
      }
      if (!resuming && isAccessDenied(error) && (await isMissing(client, location))) {
        throw new S3OperationError('GetObject', location, missingBehindAccessDenied(error));
      }
      throw new S3OperationError('GetObject', location, error, resuming ? attempt : undefined);
    }
    const body = response.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
    let failure: unknown;
    try {
      if (resuming) checkResumedAt(response, offset, location, attempt);
      else {
        total = response.ContentLength;
        etag = response.ETag;
      }
      const chunks = body[Symbol.asyncIterator]();
      for (;;) {
        // Only the body's own failures are caught: an error the consumer throws in at `yield`
        // (a stream destroyed with an error) must end the read, not resume it.
        let next: IteratorResult<Uint8Array>;
        try {
          next = await chunks.next();
        } catch (error) {
          failure = error;
          break;
        }
        if (next.done) {
          if (total === undefined || offset >= total) return;
          failure = new Error(`the connection closed after ${offset} of ${total} bytes`);
          break;
        }
        const chunk = next.value;
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        offset += buffer.length;
        yield buffer;
      }
    } finally {
      body.destroy?.();
    }
    // Without an ETag a resumed read could mix two versions of the object: fail instead.
    if (attempt >= maxAttempts || etag === undefined) throw new S3OperationError('GetObject', location, failure, attempt);
    await sleep(retryDelayMs * 2 ** (attempt - 1));
  }
}

/** Reads a whole (small) object into memory: JSON documents, manifests. */
export async function readObjectBytes(client: S3Client, location: S3Location, options?: ReadObjectOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of readObject(client, location, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * S3 answers GET of a missing key with 403 AccessDenied, not 404, to a caller that may not list
 * the bucket unconditionally (these functions may list only their prefixes). A listing of the
 * key tells a missing key (a typo in the execution input) from a real denial; if the listing is
 * denied too, the original error stands.
 */
async function isMissing(client: S3Client, location: S3Location): Promise<boolean> {
  try {
    return (await findObject(client, location)) === undefined;
  } catch {
    return false;
  }
}

function isAccessDenied(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'AccessDenied' || e?.$metadata?.httpStatusCode === 403;
}

function missingBehindAccessDenied(error: unknown): Error {
  const denial = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(`no object has this key (S3 answered AccessDenied: ${denial}; a listing of the key finds nothing)`), {
    name: 'NoSuchKey',
  });
}

function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}

function changedWhileRead(etag: string, offset: number): Error {
  return Object.assign(new Error(`the object was replaced while being read (ETag ${etag} no longer matches after ${offset} bytes); start again`), {
    name: 'PreconditionFailed',
  });
}

/** A server that ignored the Range header would send the object from its start again. */
function checkResumedAt(response: GetObjectCommandOutput, offset: number, location: S3Location, attempt: number): void {
  if (offset === 0) return;
  const range = /^bytes (\d+)-/.exec(response.ContentRange ?? '');
  if (!range || Number(range[1]) !== offset) {
    const answered = response.ContentRange ? `Content-Range "${response.ContentRange}"` : 'no Content-Range';
    throw new S3OperationError('GetObject', location, new Error(`asked to resume at byte ${offset}, the server answered with ${answered}`), attempt);
  }
}
