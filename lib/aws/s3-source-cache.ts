import { createHash } from 'node:crypto';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { ExampleBatch } from '../data/batch.ts';
import type { InputFile } from '../data/input-file.ts';
import { decodeShard, encodeShard, shardBytes } from '../data/shard.ts';
import type { CachedSource, SourceCache, SourceToKeep } from '../data/source-cache.ts';
import { ConfigError, DataValidationError } from '../errors.ts';
import { sourceCachePrefix } from '../workflow/layout.ts';
import { s3Call } from './s3-errors.ts';
import { listObjects } from './s3-list.ts';
import { parseS3Url, s3Url, type S3Location } from './s3-location.ts';
import { getJsonWith, getObjectBytes, putJson, putObject, sha256Hex } from './s3.ts';

/**
 * The ingest's source cache (lib/data/source-cache.ts) in the data bucket:
 *
 *   datasets/sources/<sourceId>/part-<n>.bin   the source's examples, in the dataset shard format
 *   datasets/sources/<sourceId>/source.json    written last: the raw object, its size and sha256, the parts
 *
 * `sourceId` is a hash of the raw object's key, ETag and size: what can be known before reading it
 * (one HEAD, which s3:GetObject on raw/ allows). S3 gives an object new content only with a new
 * ETag, so the same key, ETag and size is the same bytes; the sha256 the manifest records comes
 * from the parse that kept it. A source is kept only if a second HEAD after the parse still shows
 * the ETag the first one saw (an object replaced during the ingest is not kept), and reused only
 * if every part is listed at its size and has the sha256 source.json gives it; anything else is
 * a miss, and the file is parsed as if it were new.
 */
const PART = /^part-[0-9]{5}\.bin$/;
const SOURCE_FILE = 'source.json';

const KeptSource = z.strictObject({
  formatVersion: z.literal(1),
  key: z.string().min(1),
  etag: z.string().min(1),
  bytes: z.int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  examples: z.int().min(1),
  parts: z.array(z.strictObject({ file: z.string().regex(PART), examples: z.int().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) })).min(1),
});
type KeptSource = z.infer<typeof KeptSource>;

interface Identity {
  location: S3Location;
  etag: string;
  size: number;
}

export function sourceIdOf({ location, etag, size }: Identity): string {
  return createHash('sha256').update(JSON.stringify(['fmnist-source-v1', location.key, etag, size])).digest('hex').slice(0, 32);
}

async function identityOf(s3: S3Client, location: S3Location): Promise<Identity | undefined> {
  const head = await s3Call('HeadObject', location, () => s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key })));
  if (!head.ETag || head.ContentLength === undefined) return undefined;
  return { location, etag: head.ETag, size: head.ContentLength };
}

/** The source cache of `bucket`, for inputs named by their s3:// URL (s3InputFile); other inputs are never cached. */
export function s3SourceCache(s3: S3Client, bucket: string): SourceCache {
  const seen = new Map<InputFile, Identity>();
  return {
    async find(file) {
      const location = parseS3Url(file.name);
      if (!location) return undefined;
      const identity = await identityOf(s3, location);
      if (!identity) return undefined;
      seen.set(file, identity);
      return findKept(s3, bucket, identity);
    },
    async keep(file, source) {
      const before = seen.get(file);
      if (!before) return;
      const now = await identityOf(s3, before.location);
      if (!now || now.etag !== before.etag || now.size !== before.size || source.digest.bytes !== before.size) return;
      await keepSource(s3, bucket, before, source);
    },
  };
}

async function findKept(s3: S3Client, bucket: string, identity: Identity): Promise<CachedSource | undefined> {
  const prefix = sourceCachePrefix(sourceIdOf(identity));
  const listed = new Map<string, number>();
  for await (const object of listObjects(s3, bucket, prefix)) listed.set(object.key.slice(prefix.length), object.size);
  if (!listed.has(SOURCE_FILE)) return undefined;
  // A malformed record is a miss (the parse writes it again); a denial or an S3 failure is not.
  const kept = await getJsonWith(s3, { bucket, key: prefix + SOURCE_FILE }, KeptSource).catch((error: unknown) => {
    if (error instanceof ConfigError) return undefined;
    throw error;
  });
  if (!kept || kept.key !== identity.location.key || kept.etag !== identity.etag || kept.bytes !== identity.size) return undefined;
  if (kept.parts.reduce((sum, part) => sum + part.examples, 0) !== kept.examples) return undefined;
  if (kept.parts.some((part) => listed.get(part.file) !== shardBytes(part.examples))) return undefined;
  return {
    digest: { bytes: kept.bytes, sha256: kept.sha256 },
    examples: kept.examples,
    read: () => readParts(s3, bucket, prefix, kept),
  };
}

async function* readParts(s3: S3Client, bucket: string, prefix: string, kept: KeptSource): AsyncGenerator<ExampleBatch> {
  for (const part of kept.parts) {
    const location = { bucket, key: prefix + part.file };
    const bytes = await getObjectBytes(s3, location);
    const sha256 = sha256Hex(bytes);
    if (sha256 !== part.sha256) {
      throw new DataValidationError(s3Url(location), `kept examples of ${kept.key} have sha256 ${sha256}, ${SOURCE_FILE} says ${part.sha256}: delete ${s3Url({ bucket, key: prefix })} and run again`);
    }
    const decoded = decodeShard(bytes, s3Url(location));
    if (decoded.count !== part.examples) throw new DataValidationError(s3Url(location), `holds ${decoded.count} examples, ${SOURCE_FILE} says ${part.examples}`);
    yield { labels: decoded.labels, pixels: decoded.pixels, count: decoded.count };
  }
}

async function keepSource(s3: S3Client, bucket: string, identity: Identity, source: SourceToKeep): Promise<void> {
  const prefix = sourceCachePrefix(sourceIdOf(identity));
  const parts: KeptSource['parts'] = [];
  for await (const batch of source.read()) {
    const body = Buffer.concat(encodeShard(batch.labels, batch.pixels, batch.count));
    const file = `part-${String(parts.length).padStart(5, '0')}.bin`;
    await putObject(s3, { bucket, key: prefix + file }, body);
    parts.push({ file, examples: batch.count, sha256: sha256Hex(body) });
  }
  const kept: KeptSource = {
    formatVersion: 1,
    key: identity.location.key,
    etag: identity.etag,
    bytes: source.digest.bytes,
    sha256: source.digest.sha256,
    examples: source.examples,
    parts,
  };
  await putJson(s3, { bucket, key: prefix + SOURCE_FILE }, kept);
}
