import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { findObject, listObjects } from '../aws/s3-list.ts';
import { isRawDatasetKey, PREFIXES } from './layout.ts';
import { MAX_EXECUTION_NAME_LENGTH, slugOf } from './run-id.ts';

/**
 * The upload convention the S3 trigger (functions/trigger) and `fmnist aws start` without
 * --train/--test understand (see the README's "Triggers"):
 *
 *   raw/<anything>/<name with the word "train">.csv[.gz]   e.g. raw/fmnist/train.csv, raw/fashion-mnist_train.csv
 *   raw/<anything>/<same name with "test">.csv[.gz]        e.g. raw/fmnist/test.csv,  raw/fashion-mnist_test.csv
 *
 * A file is a split by the word "train" or "test" in its file name, delimited by anything but a
 * letter ("contest.csv" is neither). Its counterpart is the same key with the other word (either
 * extension). Whichever of the two arrives last starts the run; the first one finds no
 * counterpart and is ignored. Both events may see both files when they arrive together: they
 * build the same execution name, so the second StartExecution is a harmless duplicate.
 */
export type Split = 'train' | 'test';

const DATA_FILE = /\.csv(\.gz)?$/i;
const SPLIT_WORD = /(?<![A-Za-z])(train|test)(?![A-Za-z])/gi;

export function isRawDataKey(key: string): boolean {
  return key.startsWith(PREFIXES.raw) && DATA_FILE.test(key);
}

function fileName(key: string): { dir: string; name: string } {
  const slash = key.lastIndexOf('/');
  return { dir: key.slice(0, slash + 1), name: key.slice(slash + 1) };
}

/** The split a raw key holds, or undefined when the name has no (or both) split words. */
export function splitOf(key: string): Split | undefined {
  if (!isRawDataKey(key)) return undefined;
  const words = [...fileName(key).name.matchAll(SPLIT_WORD)].map((match) => match[1].toLowerCase());
  if (words.length !== 1) return undefined;
  return words[0] as Split;
}

function matchCase(word: string, like: string): string {
  if (like === like.toUpperCase()) return word.toUpperCase();
  if (like[0] === like[0].toUpperCase()) return word[0].toUpperCase() + word.slice(1);
  return word;
}

/** Keys that would be the other split's file, the same extension first. */
export function counterpartKeys(key: string): string[] {
  const split = splitOf(key);
  if (!split) return [];
  const { dir, name } = fileName(key);
  const other: Split = split === 'train' ? 'test' : 'train';
  const swapped = name.replace(SPLIT_WORD, (word) => matchCase(other, word));
  const gz = /\.gz$/i.test(swapped);
  const alternative = gz ? swapped.replace(/\.gz$/i, '') : `${swapped}.gz`;
  return [dir + swapped, dir + alternative];
}

export interface RawObject {
  key: string;
  etag: string;
}

export interface RawPair {
  train: RawObject;
  test: RawObject;
}

/**
 * The raw object with exactly this key and its ETag, or undefined. Asked by listing: HEAD of a
 * missing key answers 403 to a caller that may list only raw/ (the trigger function).
 */
export async function findRawObject(s3: S3Client, bucket: string, key: string): Promise<RawObject | undefined> {
  const found = await findObject(s3, { bucket, key });
  return found && { key, etag: found.etag };
}

/** A readable part for names: the train key without raw/, extension and split word. */
export function pairSlug(pair: RawPair, maxLength = 40): string {
  return slugOf(pair.train.key, maxLength, 'raw');
}

/**
 * The execution name for a pair: readable slug + a hash of bucket, keys and ETags, so the same
 * data (same content, as S3 reports it) always gives the same name and a duplicate event cannot
 * start a second run. Allowed characters only ([A-Za-z0-9_-]), at most 80. `suffix` (for the
 * schedule) makes one name per tick.
 */
export function executionName(bucket: string, pair: RawPair, suffix?: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([bucket, pair.train.key, pair.train.etag, pair.test.key, pair.test.etag]))
    .digest('hex')
    .slice(0, 16);
  const tail = suffix ? `-${hash}-${suffix}` : `-${hash}`;
  const name = pairSlug(pair, MAX_EXECUTION_NAME_LENGTH - tail.length) + tail;
  return name.slice(0, MAX_EXECUTION_NAME_LENGTH);
}

export interface ListedObject extends RawObject {
  lastModified: Date;
}

/** The complete pair whose newer file is the most recent, among listed raw objects. */
export function latestPair(objects: ListedObject[]): RawPair | undefined {
  const byKey = new Map(objects.map((object) => [object.key, object]));
  let best: { pair: RawPair; at: number } | undefined;
  for (const object of objects) {
    if (splitOf(object.key) !== 'train') continue;
    const test = counterpartKeys(object.key)
      .map((key) => byKey.get(key))
      .find((found) => found !== undefined);
    if (!test) continue;
    const at = Math.max(object.lastModified.getTime(), test.lastModified.getTime());
    if (!best || at > best.at) {
      best = { pair: { train: { key: object.key, etag: object.etag }, test: { key: test.key, etag: test.etag } }, at };
    }
  }
  return best?.pair;
}

/**
 * The most recently completed train/test pair under raw/ of `bucket` (`fmnist start`'s default),
 * or undefined when there is none; files of named datasets (raw/datasets/, raw-datasets.ts) are
 * not pairs. Lists every raw/ object; S3 errors propagate as
 * S3OperationError naming the prefix.
 */
export async function latestRawPair(s3: S3Client, bucket: string): Promise<RawPair | undefined> {
  const objects: ListedObject[] = [];
  for await (const object of listObjects(s3, bucket, PREFIXES.raw)) if (!isRawDatasetKey(object.key)) objects.push(object);
  return latestPair(objects);
}
