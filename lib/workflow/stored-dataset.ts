import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { listObjects, s3Url } from '../aws/s3.ts';
import { MANIFEST_FILE, type Manifest } from '../data/manifest.ts';

/**
 * Whether `datasets/<id>/` in the bucket holds, intact, the dataset just built in `localDir`: a
 * dataset whose manifest is listed is only reused if every file is there with the right size and
 * content. A crash could once leave a 0-byte manifest or shard there (objects written in place by
 * the local S3), and one reported as reused failed every later run at Train.
 *
 * Checked by listing, which ingest may do (it may not read datasets/: infra/data-access.ts):
 * a shard's ETag is the MD5 of its bytes (single-part PutObject, SSE-S3), compared with the MD5 of
 * the same shard built locally, which the local manifest's sha256 describes; the same data gives
 * the same shards byte for byte. The stored manifest may differ from the local one (its
 * `createdAt`, and the source names: the same bytes uploaded under another key), so it is only
 * checked to be there and not truncated to nothing; S3 itself never shows a partial object, and
 * the local S3 no longer does either (cli/local/s3/atomic-store.ts). Reading it back would need
 * s3:GetObject on datasets/, which ingest is not granted.
 */
/** The fixed part of any manifest (format, shape, class names, two splits) is longer than this. */
const MIN_MANIFEST_BYTES = 400;

export type StoredDataset = { state: 'absent' } | { state: 'intact' } | { state: 'damaged'; problem: string };

export async function checkStoredDataset(
  s3: S3Client,
  bucket: string,
  prefix: string,
  localDir: string,
  manifest: Manifest,
): Promise<StoredDataset> {
  const stored = new Map<string, { etag: string; size: number }>();
  for await (const object of listObjects(s3, bucket, prefix)) stored.set(object.key.slice(prefix.length), { etag: object.etag, size: object.size });
  if (!stored.has(MANIFEST_FILE)) return { state: 'absent' };
  const url = (file: string) => s3Url({ bucket, key: prefix + file });

  const manifestObject = stored.get(MANIFEST_FILE)!;
  if (manifestObject.size < MIN_MANIFEST_BYTES) {
    return { state: 'damaged', problem: `${url(MANIFEST_FILE)} is ${manifestObject.size} bytes, too short for a manifest` };
  }
  for (const shard of [...manifest.splits.train.shards, ...manifest.splits.test.shards]) {
    const object = stored.get(shard.file);
    if (!object) return { state: 'damaged', problem: `${url(shard.file)} is missing` };
    if (object.size !== shard.bytes) return { state: 'damaged', problem: `${url(shard.file)} is ${object.size} bytes, the manifest says ${shard.bytes}` };
    const md5 = await md5Of(join(localDir, shard.file));
    if (object.etag.replace(/"/g, '') !== md5) {
      return { state: 'damaged', problem: `${url(shard.file)} has other content (ETag ${object.etag}, expected MD5 ${md5})` };
    }
  }
  return { state: 'intact' };
}

async function md5Of(path: string): Promise<string> {
  const md5 = createHash('md5');
  await pipeline(createReadStream(path), md5);
  return md5.digest('hex');
}
