import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { listObjects } from '../aws/s3-list.ts';
import { MAX_SOURCES_PER_SPLIT } from './keys.ts';
import { isRawDatasetKey, RAW_DATASETS_PREFIX } from './layout.ts';
import type { ListedObject, RawObject, Split } from './raw-pairs.ts';
import { MAX_EXECUTION_NAME_LENGTH } from './run-id.ts';

/**
 * Named datasets that grow: the upload layout for retraining on appended training data with a
 * fixed yardstick (the README's "Retraining on data that grows").
 *
 *   raw/datasets/<name>/train/<file>.csv[.gz]   every file here is training data, all of it used
 *   raw/datasets/<name>/test/<file>.csv[.gz]    the newest file here is the test set
 *
 * A file landing under train/ starts a retrain on every train file of the dataset, in key order,
 * with the current test file: the yardstick stays fixed, so the new model is compared with the
 * champion of the same test set. Key order, not upload time: the key is the user's choice (date
 * prefixes give time order: 2026-12-03-batch.csv), does not change when the same bytes are
 * uploaded again, and has no ties; S3's LastModified has one-second resolution and moves on every
 * re-upload, which would reorder the sources and so change the content-derived dataset id of the
 * same files. A file landing under test/ replaces the yardstick on purpose: the newest test file
 * (LastModified, then key) is the test set from then on, a new test set id with its own champion;
 * older test files stay as a record and are not used.
 *
 * The layout lives under raw/datasets/, apart from raw/train/<sha>/ and raw/test/<sha>/ (the local
 * CLI's content-addressed uploads) and from the train/test pair convention (raw-pairs.ts), which
 * keeps working for keys outside raw/datasets/.
 */

/** A dataset name: one path segment a person would type. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DATA_FILE = /\.csv(\.gz)?$/i;

export interface DatasetKey {
  name: string;
  split: Split;
}

/** The dataset and split of `raw/datasets/<name>/<train|test>/<file>.csv[.gz]`, or undefined for any other key. */
export function datasetKeyOf(key: string): DatasetKey | undefined {
  if (!isRawDatasetKey(key) || !DATA_FILE.test(key)) return undefined;
  const parts = key.slice(RAW_DATASETS_PREFIX.length).split('/');
  if (parts.length !== 3) return undefined;
  const [name, split, file] = parts;
  if (!NAME.test(name) || (split !== 'train' && split !== 'test') || file === '' || file.startsWith('.')) return undefined;
  return { name, split };
}

export const datasetFilesPrefix = (name: string, split?: Split) => `${RAW_DATASETS_PREFIX}${name}/${split ? `${split}/` : ''}`;

/** What a run of a named dataset trains and tests on. */
export interface DatasetSelection {
  name: string;
  /** Every train file, by key. */
  train: RawObject[];
  /** The newest test file. */
  test: RawObject;
  /** The newest upload of either split: the schedule retrains the dataset that changed last. */
  lastModified: Date;
}

export type DatasetChoice = { selection: DatasetSelection } | { waiting: string };

/** The selection from a listing of the dataset's files (others are ignored), or why there is none yet. */
export function selectDataset(name: string, objects: ListedObject[]): DatasetChoice {
  const ofSplit = (split: Split) => objects.filter((object) => datasetKeyOf(object.key)?.name === name && datasetKeyOf(object.key)?.split === split);
  const train = ofSplit('train').sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const tests = ofSplit('test').sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || (a.key < b.key ? -1 : 1));
  if (train.length === 0) return { waiting: `dataset "${name}" has no training file under ${datasetFilesPrefix(name, 'train')}` };
  if (tests.length === 0) return { waiting: `dataset "${name}" has no test file under ${datasetFilesPrefix(name, 'test')}: waiting for its yardstick` };
  if (train.length > MAX_SOURCES_PER_SPLIT) {
    return { waiting: `dataset "${name}" has ${train.length} training files; an execution takes at most ${MAX_SOURCES_PER_SPLIT}: combine some of them` };
  }
  const test = tests[tests.length - 1];
  const lastModified = new Date(Math.max(...[...train, test].map((object) => object.lastModified.getTime())));
  const plain = ({ key, etag }: RawObject): RawObject => ({ key, etag });
  return { selection: { name, train: train.map(plain), test: plain(test), lastModified } };
}

/** The dataset's files as they are now, listed under raw/datasets/<name>/ (listing is all the trigger may do). */
export async function currentDataset(s3: S3Client, bucket: string, name: string): Promise<DatasetChoice> {
  const objects: ListedObject[] = [];
  for await (const object of listObjects(s3, bucket, datasetFilesPrefix(name))) objects.push(object);
  return selectDataset(name, objects);
}

/** Among listed raw objects, the named dataset whose newest file is the most recent (the schedule's choice). */
export function latestDataset(objects: ListedObject[]): DatasetSelection | undefined {
  const names = new Set(objects.map((object) => datasetKeyOf(object.key)?.name).filter((name) => name !== undefined));
  let best: DatasetSelection | undefined;
  for (const name of names) {
    const choice = selectDataset(name, objects);
    if ('selection' in choice && (!best || choice.selection.lastModified > best.lastModified)) best = choice.selection;
  }
  return best;
}

/**
 * The execution name of a dataset's files: the dataset name + a hash of bucket, keys and ETags, so
 * the same files always give the same name (a duplicate event starts nothing) and one more file a
 * new one. `suffix` (the schedule's tick) makes one name per tick.
 */
export function datasetExecutionName(bucket: string, selection: DatasetSelection, suffix?: string): string {
  const files = [...selection.train.map((object) => ['train', object.key, object.etag]), ['test', selection.test.key, selection.test.etag]];
  const hash = createHash('sha256').update(JSON.stringify([bucket, selection.name, files])).digest('hex').slice(0, 16);
  const tail = suffix ? `-${hash}-${suffix}` : `-${hash}`;
  const slug = selection.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, MAX_EXECUTION_NAME_LENGTH - tail.length);
  return (slug + tail).slice(0, MAX_EXECUTION_NAME_LENGTH);
}
