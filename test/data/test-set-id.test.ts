import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { TEST_SET_ID_PATTERN, testSetIdOf } from '../../lib/data/test-set-id.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';
import { memoryFile } from './helpers.ts';

/** The test split's identity: the same test examples give the same id, whatever the training data. */
describe('testSetIdOf', () => {
  let root: string;
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fmnist-test-set-id-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const ingest = (train: string, test: string, names = { train: 'train.csv', test: 'test.csv' }, limit?: number) =>
    ingestDataset({
      train: [memoryFile(names.train, train)],
      test: [memoryFile(names.test, test)],
      outDir: join(root, `ds-${n++}`),
      ...(limit ? { limit: { train: limit, test: limit } } : {}),
    });

  test('same test split, other training data or file names: other dataset id, same test set id', async () => {
    const test1 = syntheticKaggleCsv(30, 7).text;
    const a = await ingest(syntheticKaggleCsv(40, 1).text, test1);
    const b = await ingest(syntheticKaggleCsv(50, 2).text, test1, { train: 'new-train.csv', test: 'renamed-test.csv' });
    assert.notEqual(a.datasetId, b.datasetId);
    assert.equal(testSetIdOf(a), testSetIdOf(b));
    assert.match(testSetIdOf(a), TEST_SET_ID_PATTERN);
  });

  test('another test split, or fewer of its examples (a limit), is another test set', async () => {
    const train = syntheticKaggleCsv(40, 1).text;
    const a = await ingest(train, syntheticKaggleCsv(30, 7).text);
    const other = await ingest(train, syntheticKaggleCsv(30, 8).text);
    const limited = await ingest(train, syntheticKaggleCsv(30, 7).text, undefined, 20);
    assert.notEqual(testSetIdOf(a), testSetIdOf(other));
    assert.notEqual(testSetIdOf(a), testSetIdOf(limited));
  });

  test('it hashes the test shards (count and sha256, in order) and nothing else', () => {
    const shard = (examples: number, c: string) => ({ file: 'test-00000.bin', examples, bytes: 0, sha256: c.repeat(64) });
    const manifest = (shards: ReturnType<typeof shard>[]) =>
      ({ splits: { test: { shards }, train: { shards: [] } } }) as unknown as Parameters<typeof testSetIdOf>[0];
    const one = testSetIdOf(manifest([shard(10, 'a'), shard(5, 'b')]));
    assert.equal(one, testSetIdOf(manifest([shard(10, 'a'), shard(5, 'b')])));
    assert.notEqual(one, testSetIdOf(manifest([shard(5, 'b'), shard(10, 'a')])));
    assert.notEqual(one, testSetIdOf(manifest([shard(10, 'a'), shard(6, 'b')])));
  });
});
