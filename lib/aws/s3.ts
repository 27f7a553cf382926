import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { InputFile } from '../data/input-file.ts';
import { ConfigError } from '../errors.ts';
import { s3Call } from './s3-errors.ts';
import { findObject, listObjects } from './s3-list.ts';
import { s3Url, type S3Location } from './s3-location.ts';
import { readObject, readObjectBytes } from './s3-read.ts';
import { getObjectVersion, putObjectOnce } from './s3-write-once.ts';
import type { z } from 'zod';
import { parseJsonWith } from '../validation.ts';

export { parseS3Location, parseS3Url, s3Url, type S3Location } from './s3-location.ts';
export { S3OperationError } from './s3-errors.ts';
export { findObject, listObjects, type S3ObjectSummary } from './s3-list.ts';
export { readObject } from './s3-read.ts';
export { getObjectVersion, isPreconditionFailed, putObjectIf, putObjectOnce, sha256Hex, type ObjectVersion } from './s3-write-once.ts';

/** Joins key parts with single slashes; prefixes we hand around always end in '/'. */
export function joinKey(prefix: string, ...parts: string[]): string {
  return [prefix.replace(/\/+$/, ''), ...parts.map((part) => part.replace(/^\/+|\/+$/g, ''))]
    .filter((part) => part.length > 0)
    .join('/');
}

/** An S3 object as a data input: streamed, never held whole in memory, resumed if the connection breaks. */
export function s3InputFile(client: S3Client, location: S3Location): InputFile {
  return {
    name: s3Url(location),
    async open() {
      return Readable.from(readObject(client, location), { objectMode: false });
    },
  };
}

export async function getObjectBytes(client: S3Client, location: S3Location): Promise<Buffer> {
  return readObjectBytes(client, location);
}

export async function getJson(client: S3Client, location: S3Location): Promise<unknown> {
  const bytes = await getObjectBytes(client, location);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ConfigError(`${s3Url(location)} is not valid JSON: ${(error as Error).message}`);
  }
}

/** JSON object, or undefined when the key does not exist (asked by listing: see findObject). */
export async function getJsonIfExists(client: S3Client, location: S3Location): Promise<unknown | undefined> {
  if (!(await findObject(client, location))) return undefined;
  return getJson(client, location);
}

/**
 * A JSON object checked against `schema`, or undefined when the key does not exist; bad JSON or a
 * field that does not fit is a ConfigError naming the object (s3://...) and the field.
 */
export async function getJsonWith<S extends z.ZodType>(client: S3Client, location: S3Location, schema: S): Promise<z.output<S> | undefined> {
  const stored = await getObjectVersion(client, location);
  if (stored === undefined) return undefined;
  return parseJsonWith(schema, stored.bytes.toString('utf8'), s3Url(location));
}

/** Whether an object has exactly this key (asked by listing: see findObject). */
export async function objectExists(client: S3Client, location: S3Location): Promise<boolean> {
  return (await findObject(client, location)) !== undefined;
}

export async function putObject(
  client: S3Client,
  location: S3Location,
  body: Buffer | string,
  contentType = 'application/octet-stream',
): Promise<void> {
  await s3Call('PutObject', location, () =>
    client.send(new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: body, ContentType: contentType })),
  );
}

export async function putJson(client: S3Client, location: S3Location, value: unknown): Promise<void> {
  await putObject(client, location, JSON.stringify(value, null, 2) + '\n', 'application/json');
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

export function contentTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[fileName.slice(dot)]) || 'application/octet-stream';
}

export interface UploadOptions {
  /**
   * Every file with If-None-Match: * (putObjectOnce): an object already there with the same bytes
   * counts as written (a retried step), one with other bytes fails the upload (run outputs are
   * write-once). Files before the refused one stay uploaded: the set stays incomplete, which a
   * reader tells by its `last` file being absent.
   */
  writeOnce?: boolean;
}

/**
 * Uploads every file under `dir` to `prefix`. Files named in `last` go after all others, so a
 * reader that waits for them (a manifest, a model.json) never sees a half-written set.
 */
export async function uploadDirectory(
  client: S3Client,
  dir: string,
  target: S3Location,
  last: readonly string[] = [],
  options: UploadOptions = {},
): Promise<string[]> {
  const files = await listFilesRecursively(dir);
  const ordered = [...files.filter((file) => !last.includes(file)), ...files.filter((file) => last.includes(file))];
  const keys: string[] = [];
  for (const file of ordered) {
    const key = joinKey(target.key, file);
    const body = await readFile(join(dir, file));
    if (options.writeOnce) await putObjectOnce(client, { bucket: target.bucket, key }, body, contentTypeFor(file));
    else await putObject(client, { bucket: target.bucket, key }, body, contentTypeFor(file));
    keys.push(key);
  }
  return keys;
}

/** Downloads every object under `source.key` (a prefix) into `dir`, keeping relative paths. */
export async function downloadPrefix(client: S3Client, source: S3Location, dir: string): Promise<string[]> {
  const prefix = source.key.endsWith('/') ? source.key : `${source.key}/`;
  const written: string[] = [];
  for await (const object of listObjects(client, source.bucket, prefix)) {
    const relativeKey = object.key.slice(prefix.length);
    if (relativeKey.length === 0 || relativeKey.endsWith('/')) continue;
    const path = join(dir, ...relativeKey.split('/'));
    if (relative(dir, path).startsWith('..')) throw new ConfigError(`refusing S3 key outside prefix: ${object.key}`);
    await mkdir(dirname(path), { recursive: true });
    await pipeline(Readable.from(readObject(client, { bucket: source.bucket, key: object.key }), { objectMode: false }), createWriteStream(path));
    written.push(relativeKey);
  }
  if (written.length === 0) throw new ConfigError(`nothing found under ${s3Url({ bucket: source.bucket, key: prefix })}`);
  return written;
}

async function listFilesRecursively(dir: string, base = dir): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFilesRecursively(path, base)));
    else if (entry.isFile()) files.push(relative(base, path).split(sep).join('/'));
  }
  return files;
}

