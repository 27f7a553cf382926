import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { InputFile } from '../data/input-file.ts';
import { ConfigError } from '../data/errors.ts';

export interface S3Location {
  bucket: string;
  key: string;
}

/** Accepts `s3://bucket/key` or a bare key (resolved against `defaultBucket`). */
export function parseS3Location(value: string, defaultBucket?: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(value);
  if (match) return { bucket: match[1], key: match[2] };
  if (value.startsWith('s3://')) throw new ConfigError(`"${value}" is not an s3://bucket/key URL`);
  if (!defaultBucket) throw new ConfigError(`"${value}" has no bucket and no default bucket is configured`);
  if (value.length === 0 || value.startsWith('/')) throw new ConfigError(`"${value}" is not a valid S3 key`);
  return { bucket: defaultBucket, key: value };
}

export function s3Url({ bucket, key }: S3Location): string {
  return `s3://${bucket}/${key}`;
}

/** Joins key parts with single slashes; prefixes we hand around always end in '/'. */
export function joinKey(prefix: string, ...parts: string[]): string {
  return [prefix.replace(/\/+$/, ''), ...parts.map((part) => part.replace(/^\/+|\/+$/g, ''))]
    .filter((part) => part.length > 0)
    .join('/');
}

/** An S3 object as a data input: streamed, never held whole in memory. */
export function s3InputFile(client: S3Client, location: S3Location): InputFile {
  return {
    name: s3Url(location),
    async open() {
      const response = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return response.Body as Readable;
    },
  };
}

export async function getObjectBytes(client: S3Client, location: S3Location): Promise<Buffer> {
  const response = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

export async function getJson(client: S3Client, location: S3Location): Promise<unknown> {
  const bytes = await getObjectBytes(client, location);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ConfigError(`${s3Url(location)} is not valid JSON: ${(error as Error).message}`);
  }
}

/** JSON object, or undefined when the key does not exist. */
export async function getJsonIfExists(client: S3Client, location: S3Location): Promise<unknown | undefined> {
  try {
    return await getJson(client, location);
  } catch (error) {
    if (error instanceof NoSuchKey || error instanceof NotFound) return undefined;
    throw error;
  }
}

export async function objectExists(client: S3Client, location: S3Location): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
    return true;
  } catch (error) {
    if (error instanceof NotFound || error instanceof NoSuchKey) return false;
    throw error;
  }
}

export async function putObject(
  client: S3Client,
  location: S3Location,
  body: Buffer | string,
  contentType = 'application/octet-stream',
): Promise<void> {
  await client.send(
    new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: body, ContentType: contentType }),
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

/**
 * Uploads every file under `dir` to `prefix`. Files named in `last` go after all others, so a
 * reader that waits for them (a manifest, a model.json) never sees a half-written set.
 */
export async function uploadDirectory(
  client: S3Client,
  dir: string,
  target: S3Location,
  last: readonly string[] = [],
): Promise<string[]> {
  const files = await listFilesRecursively(dir);
  const ordered = [...files.filter((file) => !last.includes(file)), ...files.filter((file) => last.includes(file))];
  const keys: string[] = [];
  for (const file of ordered) {
    const key = joinKey(target.key, file);
    await client.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: key,
        Body: await readFile(join(dir, file)),
        ContentType: contentTypeFor(file),
      }),
    );
    keys.push(key);
  }
  return keys;
}

/** Downloads every object under `source.key` (a prefix) into `dir`, keeping relative paths. */
export async function downloadPrefix(client: S3Client, source: S3Location, dir: string): Promise<string[]> {
  const prefix = source.key.endsWith('/') ? source.key : `${source.key}/`;
  const written: string[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: source.bucket, Prefix: prefix, ContinuationToken: continuationToken }),
    );
    for (const object of page.Contents ?? []) {
      const relativeKey = object.Key!.slice(prefix.length);
      if (relativeKey.length === 0 || relativeKey.endsWith('/')) continue;
      const path = join(dir, ...relativeKey.split('/'));
      if (relative(dir, path).startsWith('..')) throw new ConfigError(`refusing S3 key outside prefix: ${object.Key}`);
      await mkdir(dirname(path), { recursive: true });
      const response = await client.send(new GetObjectCommand({ Bucket: source.bucket, Key: object.Key }));
      await pipeline(response.Body as Readable, createWriteStream(path));
      written.push(relativeKey);
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
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

