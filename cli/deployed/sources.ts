import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../../lib/errors.ts';
import { objectExists, s3Url } from '../../lib/aws/s3.ts';
import { PREFIXES } from '../../lib/workflow/layout.ts';
import { latestRawPair, type RawPair } from '../../lib/workflow/raw-pairs.ts';
import { awsCall } from './clients.ts';
import type { DataSource } from './start-input.ts';

/**
 * Local files go to raw/uploads/<hash>/<file name>: one folder per file (the hash covers the split
 * and the content), so the raw/ upload trigger never finds a train/test pair among them and
 * does not start a second run; the same file is uploaded once.
 */
export const UPLOAD_PREFIX = `${PREFIXES.raw}uploads/`;

export interface ResolvedSources {
  train: string[];
  test: string[];
  /** Local files that were uploaded now (already there: skipped). */
  uploaded: string[];
}

/**
 * Turns the sources into keys of the data bucket, the only place the workflow may read
 * (its ingest function can read <bucket>/raw/* and nothing else): checks that S3 sources exist
 * there and uploads local files.
 */
export async function resolveSources(
  s3: S3Client,
  bucket: string,
  sources: { train: DataSource[]; test: DataSource[] },
  say: (line: string) => void,
): Promise<ResolvedSources> {
  const uploaded: string[] = [];
  const resolveOne = async (source: DataSource, split: 'train' | 'test'): Promise<string> => {
    if (source.kind === 'local') {
      const key = await uploadKey(source.path, split);
      const exists = await awsCall(`checking ${s3Url({ bucket, key })}`, () => objectExists(s3, { bucket, key }));
      if (exists) {
        say(`${source.path}: already uploaded as ${s3Url({ bucket, key })}`);
      } else {
        say(`uploading ${source.path} (${(source.size / 1e6).toFixed(1)} MB) to ${s3Url({ bucket, key })}`);
        await awsCall(`uploading ${source.path}`, () =>
          s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: createReadStream(source.path),
              ContentLength: source.size,
              ContentType: /\.gz$/i.test(source.path) ? 'application/gzip' : 'text/csv',
            }),
          ),
        );
        uploaded.push(source.path);
      }
      return key;
    }
    const key = source.key;
    if (source.kind === 's3' && source.bucket !== bucket) {
      throw new ConfigError(
        `${source.text}: the workflow reads only its data bucket (${bucket}, under ${PREFIXES.raw}); ` +
          `copy the file to s3://${bucket}/${PREFIXES.raw}... or pass the local file`,
      );
    }
    if (!key.startsWith(PREFIXES.raw)) {
      throw new ConfigError(
        `${source.text}: the workflow reads only keys under ${PREFIXES.raw} of its data bucket; ` +
          `copy it to s3://${bucket}/${PREFIXES.raw}...`,
      );
    }
    const exists = await awsCall(`checking ${s3Url({ bucket, key })}`, () => objectExists(s3, { bucket, key }));
    if (!exists) throw new ConfigError(`${source.text}: s3://${bucket}/${key} does not exist`);
    return key;
  };
  // One at a time: uploads are big and progress lines stay in order.
  const train: string[] = [];
  for (const source of sources.train) train.push(await resolveOne(source, 'train'));
  const test: string[] = [];
  for (const source of sources.test) test.push(await resolveOne(source, 'test'));
  return { train, test, uploaded };
}

async function uploadKey(path: string, split: 'train' | 'test'): Promise<string> {
  const hash = createHash('sha256').update(`${split}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const name = basename(path).replace(/[^A-Za-z0-9._-]+/g, '-');
  return `${UPLOAD_PREFIX}${hash.digest('hex').slice(0, 16)}/${name}`;
}

/** The most recently completed train/test pair under raw/ (the schedule's choice, lib/workflow/raw-pairs.ts), or a ConfigError. */
export async function requireLatestRawPair(s3: S3Client, bucket: string): Promise<RawPair> {
  const pair = await awsCall(`listing s3://${bucket}/${PREFIXES.raw}`, () => latestRawPair(s3, bucket));
  if (!pair) {
    throw new ConfigError(
      `no complete train/test pair under s3://${bucket}/${PREFIXES.raw} (e.g. raw/fmnist/train.csv + raw/fmnist/test.csv): ` +
        `upload one, or pass --train and --test`,
    );
  }
  return pair;
}
