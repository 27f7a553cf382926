import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { S3OperationError } from './s3-errors.ts';
import type { S3Location } from './s3-location.ts';

/** One listed object. */
export interface S3ObjectSummary {
  key: string;
  /** Quoted, as S3 sends it; '' if the server sent none. */
  etag: string;
  size: number;
  /** The epoch if the server sent none. */
  lastModified: Date;
}

/**
 * Every object under `prefix`, page by page (ListObjectsV2 with continuation tokens, through the
 * SDK's paginator). The only way this project lists a bucket, so paging, and the error that
 * names the prefix, live in one place.
 */
export async function* listObjects(client: S3Client, bucket: string, prefix: string): AsyncGenerator<S3ObjectSummary> {
  const pages = paginateListObjectsV2({ client, stopOnSameToken: true }, { Bucket: bucket, Prefix: prefix });
  const where: S3Location = { bucket, key: prefix };
  for (;;) {
    let page;
    try {
      page = await pages.next();
    } catch (error) {
      throw new S3OperationError('ListObjectsV2', where, error);
    }
    if (page.done) return;
    for (const object of page.value.Contents ?? []) {
      if (object.Key === undefined) continue;
      yield { key: object.Key, etag: object.ETag ?? '', size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
    }
  }
}

/**
 * The object with exactly this key, or undefined. Asked by listing (Prefix = the key) rather than
 * HEAD: S3 answers HEAD or GET of a missing key with 403 AccessDenied, not 404, unless the
 * caller may list the bucket without a prefix condition, and the functions may only list their
 * own prefixes (s3:ListBucket with a StringLike s3:prefix condition). A prefix lists longer keys
 * too ('a/b' lists 'a/bc'), hence the exact comparison.
 */
export async function findObject(client: S3Client, location: S3Location): Promise<S3ObjectSummary | undefined> {
  for await (const object of listObjects(client, location.bucket, location.key)) {
    if (object.key === location.key) return object;
  }
  return undefined;
}
