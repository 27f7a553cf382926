import { createReadStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { downloadPrefix, getObjectBytes } from '../aws/s3.ts';
import { ConfigError } from '../data/errors.ts';
import { MANIFEST_FILE, parseManifest } from '../data/manifest.ts';
import { testSetIdOf } from '../data/test-set-id.ts';
import { championKey, datasetPrefix, modelPrefix, reportPrefix } from '../workflow/layout.ts';

/**
 * A local run's files: the inputs it uploads to the bucket (as a user would, with the account
 * owner's credentials) and the outputs it copies back out of it.
 */
export interface InputFile {
  split: 'train' | 'test';
  path: string;
  bytes: number;
}

export interface Upload extends InputFile {
  key: string;
}

export async function checkInputs(train: string[], test: string[]): Promise<InputFile[]> {
  if (train.length === 0 || test.length === 0) throw new ConfigError('the local run needs at least one train and one test file');
  const files: InputFile[] = [];
  for (const [split, paths] of [
    ['train', train],
    ['test', test],
  ] as const) {
    for (const path of paths) {
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) throw new ConfigError(`${path}: no such file`);
      files.push({ split, path: resolve(path), bytes: info.size });
    }
  }
  return files;
}

/** raw/<split>/<file name> (names kept: IDX files pair by name); a repeated name goes one level down. */
export async function uploadInputs(s3: S3Client, bucket: string, files: InputFile[]): Promise<Upload[]> {
  const used = new Set<string>();
  const uploads: Upload[] = [];
  for (const file of files) {
    let key = `raw/${file.split}/${basename(file.path)}`;
    for (let n = 2; used.has(key); n++) key = `raw/${file.split}/${n}/${basename(file.path)}`;
    used.add(key);
    // Streamed: the full train CSV is ~130 MB. Works with s3rver because the client computes no
    // streaming checksum (WHEN_REQUIRED); ContentLength spares the SDK a length probe.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(file.path), ContentLength: file.bytes }));
    uploads.push({ ...file, key });
  }
  return uploads;
}

/** Copies what the run produced from the bucket (whatever exists: a failed run has less). */
export async function copyOutputs(
  s3: S3Client,
  bucket: string,
  learned: { runId?: string; datasetId?: string },
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
