import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hostname } from 'node:os';
import { processIsAlive } from '../../../lib/data/leftovers.ts';
import { readHolder } from '../state-lock.ts';

const require = createRequire(import.meta.url);
/** s3rver's error class: its error handler renders instances as S3 error XML with their status. */
const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail?: Record<string, string>) => Error;
/** The metadata s3rver keeps besides x-amz-meta-* (lib/models/object.js). */
const ALLOWED_METADATA = (require('s3rver/lib/models/object') as { ALLOWED_METADATA: string[] }).ALLOWED_METADATA;

/**
 * Atomic objects for s3rver's FilesystemStore (lib/stores/filesystem.js, 3.7). s3rver writes an
 * object's file in place (createWriteStream on `<name>._S3rver_object`), so a process killed
 * mid-write, or a client that dies mid-body, leaves a truncated object where the previous one
 * was: seen as a 0-byte champion.json and a 0-byte dataset manifest. S3 never shows a partial
 * object: a PUT either replaces the whole object or changes nothing.
 *
 * Here every whole-object write (PutObject, and through it CompleteMultipartUpload; CopyObject;
 * UploadPart's part file) goes to a temporary file in the same directory and is renamed into
 * place once complete. A body shorter (or longer) than its declared length is refused with S3's
 * IncompleteBody and stored nowhere. The object's three files are committed in an order that
 * keeps its ETag true at every instant: the old `.md5` is removed first (s3rver recomputes a
 * missing one from the content), then metadata, content and the new `.md5` are renamed in. Only
 * the metadata (content type, x-amz-meta-*) can be the previous object's for that instant.
 *
 * This is safety against a crashed process, not against power loss (no fsync).
 *
 * The store instance is patched (s3rver's app and every request context share it), so s3rver's
 * own putObjectMultipart, which calls `this.putObject`, goes through the atomic write too.
 */
export interface FilesystemStoreInternals {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown> & { etag: string }>;
  putObject(object: { bucket: string; key: string; content: NodeJS.ReadableStream; metadata: Record<string, unknown> }): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: NodeJS.ReadableStream): Promise<{ size: number; md5: string }>;
  copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacementMetadata: Record<string, unknown> | null): Promise<unknown>;
}

/** Temporary files carry this mark and the writer's pid, so a sweep can tell whose they are. */
export const PARTIAL_MARK = '.fmnist-partial-';
/** A key's lock between servers on one directory (./conditional-writes.ts), next to its object. */
export const KEY_LOCK_SUFFIX = '.fmnist-lock';
const PARTIAL_NAME = /\.fmnist-partial-(\d+)-[0-9a-f]+$/;

export function makeStoreAtomic(store: FilesystemStoreInternals): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const content = partialPath(objectPath);
    try {
      const written = await writeBody(object.content, content);
      await commit(objectPath, content, written.md5, metadataJson(object.metadata));
      return written;
    } finally {
      await rm(content, { force: true });
    }
  };

  store.putPart = async (bucket, uploadId, partNumber, body) => {
    const partPath = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    await mkdir(dirname(partPath), { recursive: true });
    const content = partialPath(partPath);
    try {
      const written = await writeBody(body, content);
      await writeFile(`${partPath}.md5`, written.md5);
      await rename(content, partPath);
      return written;
    } finally {
      await rm(content, { force: true });
    }
  };

  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, replacementMetadata) => {
    const source = store.getResourcePath(srcBucket, srcKey, 'object');
    const target = store.getResourcePath(destBucket, destKey, 'object');
    const metadata = replacementMetadata
      ? metadataJson(replacementMetadata)
      : await readFile(store.getResourcePath(srcBucket, srcKey, 'metadata.json'), 'utf8').catch(ignoreMissing);
    if (source === target) {
      // Metadata only (x-amz-metadata-directive REPLACE onto itself).
      if (metadata !== undefined) await replaceFile(store.getResourcePath(destBucket, destKey, 'metadata.json'), metadata);
      return store.getMetadata(destBucket, destKey);
    }
    await mkdir(dirname(target), { recursive: true });
    const content = partialPath(target);
    try {
      await copyFile(source, content);
      await commit(target, content, await md5Of(content), metadata);
    } finally {
      await rm(content, { force: true });
    }
    return store.getMetadata(destBucket, destKey);
  };
}

/**
 * Removes temporary files and key locks whose process is gone (killed mid-write), under
 * `directory`. Those of a live process (another server on the same directory) are left alone.
 */
export async function sweepPartialFiles(directory: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(directory, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const owner = PARTIAL_NAME.exec(entry)?.[1];
    if (owner !== undefined && !processIsAlive(Number(owner))) {
      await rm(join(directory, entry), { force: true });
      removed.push(entry);
    } else if (entry.endsWith(KEY_LOCK_SUFFIX)) {
      // A key lock of a killed server: the next writer would take it over anyway; tidier gone.
      const holder = await readHolder(join(directory, entry));
      if (holder !== 'gone' && holder !== 'unreadable' && holder.host === hostname() && !processIsAlive(holder.pid)) {
        await rm(join(directory, entry), { force: true });
        removed.push(entry);
      }
    }
  }
  return removed;
}

function partialPath(path: string): string {
  return `${path}${PARTIAL_MARK}${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The body's declared length: Content-Length of a plain request body (aws-chunked checks its own). */
function declaredLength(content: NodeJS.ReadableStream): number | undefined {
  const headers = (content as Partial<IncomingMessage>).headers;
  if (!headers || headers['x-amz-decoded-content-length'] !== undefined) return undefined;
  const value = headers['content-length'];
  return value === undefined ? undefined : Number(value);
}

const incompleteBody = () => new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');

async function writeBody(body: NodeJS.ReadableStream, path: string): Promise<{ size: number; md5: string }> {
  const declared = declaredLength(body);
  const md5 = createHash('md5');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    await pipeline(body, measure, createWriteStream(path, { flags: 'wx' }));
  } catch (error) {
    // A client that went away mid-body: its request stream errors ("aborted") or closes early.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') throw incompleteBody();
    throw error;
  }
  if (declared !== undefined && size !== declared) throw incompleteBody();
  return { size, md5: md5.digest('hex') };
}

/** Renames a finished content file into place with its metadata and ETag (see the order above). */
async function commit(objectPath: string, content: string, md5: string, metadata: string | undefined): Promise<void> {
  const md5Path = `${objectPath}.md5`;
  const md5Partial = partialPath(md5Path);
  await writeFile(md5Partial, md5);
  try {
    await unlink(md5Path).catch(ignoreMissing);
    if (metadata !== undefined) await replaceFile(metadataPathOf(objectPath), metadata);
    await rename(content, objectPath);
    await rename(md5Partial, md5Path);
  } finally {
    await rm(md5Partial, { force: true });
  }
}

async function replaceFile(path: string, text: string): Promise<void> {
  const partial = partialPath(path);
  try {
    await writeFile(partial, text);
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
}

/** `<name>._S3rver_object` -> `<name>._S3rver_metadata.json` (s3rver's resource naming). */
function metadataPathOf(objectPath: string): string {
  return objectPath.replace(/object$/, 'metadata.json');
}

/** What s3rver's putMetadata stores: the allowed headers and x-amz-meta-*. */
function metadataJson(metadata: Record<string, unknown>): string {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(metadata)) {
    if (ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) kept[name] = value;
  }
  return JSON.stringify(kept, null, 2);
}

async function md5Of(path: string): Promise<string> {
  const md5 = createHash('md5');
  await pipeline(createReadStream(path), md5);
  return md5.digest('hex');
}

function ignoreMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}
