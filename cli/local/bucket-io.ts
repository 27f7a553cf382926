import { createHash } from 'node:crypto';
import { mkdir, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { downloadPrefix, getObjectBytes } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import { fileProblem, openReadableFile } from '../../lib/data/input-file.ts';
import { MANIFEST_FILE, parseManifest } from '../../lib/data/manifest.ts';
import { testSetIdOf } from '../../lib/data/test-set-id.ts';
import { championKey, datasetPrefix, modelPrefix, reportPrefix } from '../../lib/workflow/layout.ts';
import { sweepPrefix } from '../../lib/workflow/sweep/sweep-record.ts';

/**
 * A local run's bucket I/O: its input files checked, uploaded to the bucket (as a user would, with
 * the account owner's credentials), the outputs copied back out of it, and the run's own JSON
 * files written next to them.
 */
export interface InputFile {
  split: 'train' | 'test';
  path: string;
  bytes: number;
  /** Hex digests of the content: sha256 names the key, md5 is what S3's ETag of it will be. */
  sha256: string;
  md5: string;
}

export interface Upload extends InputFile {
  key: string;
}

/**
 * Checks every input is a readable file (a directory, a missing or unreadable file is refused
 * with its path, before any work) and reads it once for its checksums.
 */
export async function checkInputs(train: string[], test: string[]): Promise<InputFile[]> {
  if (train.length === 0 || test.length === 0) throw new ConfigError('the local run needs at least one train and one test file');
  const files: InputFile[] = [];
  for (const [split, paths] of [
    ['train', train],
    ['test', test],
  ] as const) {
    for (const path of paths) {
      const handle = await openReadableFile(path, { regularOnly: true });
      try {
        const { bytes, sha256, md5 } = await digest(handle, path);
        files.push({ split, path: resolve(path), bytes, sha256, md5 });
      } finally {
        await handle.close();
      }
    }
  }
  return files;
}

async function digest(handle: FileHandle, path: string): Promise<{ bytes: number; sha256: string; md5: string }> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let bytes = 0;
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false, start: 0, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      sha256.update(chunk);
      md5.update(chunk);
      bytes += chunk.length;
    }
  } catch (error) {
    throw new ConfigError(fileProblem(path, error));
  }
  return { bytes, sha256: sha256.digest('hex'), md5: md5.digest('hex') };
}

/** raw/<split>/<first 16 hex digits of the sha256>/<file name>. */
export function inputKey(file: Pick<InputFile, 'split' | 'path' | 'sha256'>): string {
  return `raw/${file.split}/${file.sha256.slice(0, 16)}/${basename(file.path)}`;
}

/**
 * Uploads each input under a key named by its content (inputKey): the same bytes always map to the
 * same key and other bytes never share one, so runs sharing a state directory never replace a
 * file another run is reading. An object already there is kept after its ETag confirms the
 * content; a new one is written with If-None-Match: * (which the local S3 enforces across runs),
 * so of two runs uploading it at once one writes and the other keeps it. Names are kept: IDX
 * files pair by name.
 */
export async function uploadInputs(s3: S3Client, bucket: string, files: InputFile[]): Promise<Upload[]> {
  const uploads: Upload[] = [];
  for (const file of files) {
    const key = inputKey(file);
    const location = `s3://${bucket}/${key}`;
    const stored = await storedEtag(s3, bucket, key);
    if (stored !== undefined) {
      if (bareEtag(stored) !== file.md5) throw damagedInput(location, file, stored);
      uploads.push({ ...file, key });
      continue;
    }
    const handle = await openReadableFile(file.path, { regularOnly: true });
    let etag: string | undefined;
    try {
      // Streamed: the full train CSV is ~130 MB. Works with s3rver because the client computes no
      // streaming checksum (WHEN_REQUIRED); ContentLength spares the SDK a length probe.
      const body = handle.createReadStream({ autoClose: false, start: 0, highWaterMark: 1 << 20 });
      const sent = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: file.bytes, IfNoneMatch: '*' }));
      etag = sent.ETag;
    } catch (error) {
      // Another run uploaded the same bytes meanwhile.
      if (!isPreconditionFailed(error)) throw error;
      etag = await storedEtag(s3, bucket, key);
      if (bareEtag(etag) !== file.md5) throw damagedInput(location, file, etag);
    } finally {
      await handle.close();
    }
    if (bareEtag(etag) !== file.md5) {
      // The file changed between its checksum and its upload: the key would lie about its content.
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      throw new ConfigError(`${file.path} changed while it was being uploaded: run again once nothing writes to it`);
    }
    uploads.push({ ...file, key });
  }
  return uploads;
}

/** The ETag of the object at `key`, or undefined if there is none. */
async function storedEtag(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag ?? '';
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw error;
  }
}

function damagedInput(location: string, file: InputFile, etag: string | undefined): ConfigError {
  return new ConfigError(
    `${location} holds other bytes than ${file.path} (ETag ${etag}, expected ${file.md5}): the state directory is damaged; remove that object's files or use another --state-dir`,
  );
}

function isPreconditionFailed(error: unknown): boolean {
  const failure = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return failure.name === 'PreconditionFailed' || failure.$metadata?.httpStatusCode === 412;
}

const bareEtag = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/** Copies what the run produced from the bucket (whatever exists: a failed run has less). */
export async function copyOutputs(
  s3: S3Client,
  bucket: string,
  learned: { runId?: string; datasetId?: string; sweepId?: string },
  outDir: string,
): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  const copyObject = async (key: string, target: string): Promise<Buffer | undefined> => {
    try {
      const bytes = await getObjectBytes(s3, { bucket, key });
      await mkdir(join(outDir, target, '..'), { recursive: true });
      await writeFile(join(outDir, target), bytes);
      files.push(target);
      return bytes;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') missing.push(key);
      else throw error;
      return undefined;
    }
  };
  const copyPrefix = async (prefix: string, target: string) => {
    try {
      const written = await downloadPrefix(s3, { bucket, key: prefix }, join(outDir, target));
      files.push(...written.map((file) => `${target}/${file}`));
    } catch (error) {
      if (error instanceof ConfigError && /nothing found/.test(error.message)) missing.push(prefix);
      else throw error;
    }
  };
  const manifestKey = learned.datasetId ? datasetPrefix(learned.datasetId) + MANIFEST_FILE : undefined;
  const manifest = manifestKey ? await copyObject(manifestKey, `dataset/${MANIFEST_FILE}`) : undefined;
  if (learned.runId) {
    await copyPrefix(modelPrefix(learned.runId), 'model');
    await copyPrefix(reportPrefix(learned.runId), 'report');
  }
  // A sweep's record and page; model/ and report/ above are its best trial's (the run it promotes).
  if (learned.sweepId) await copyPrefix(sweepPrefix(learned.sweepId), 'sweep');
  // The champion of the test split this run was judged on (champions are kept per test split).
  if (manifest) {
    const testSetId = testSetIdOf(parseManifest(JSON.parse(manifest.toString('utf8')), `s3://${bucket}/${manifestKey}`));
    await copyObject(championKey(testSetId), 'champion.json');
  }
  return { files, missing };
}

export async function writeJsonFile(dir: string, name: string, value: unknown): Promise<string> {
  await writeFile(join(dir, name), JSON.stringify(value ?? null, null, 2) + '\n');
  return name;
}
