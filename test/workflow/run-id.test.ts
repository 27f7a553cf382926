import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  executionNameFor,
  GENERATED_RUN_ID_LENGTH,
  GENERATED_RUN_ID_SOURCE,
  MAX_EXECUTION_NAME_LENGTH,
  MAX_NAME_SLUG_LENGTH,
  newRunId,
  RUN_ID_PATTERN,
  slugOf,
} from '../../lib/workflow/run-id.ts';
import { pairSlug } from '../../lib/workflow/raw-pairs.ts';

test('a generated run id has the length the name budget assumes, and is a run id', () => {
  const id = newRunId(new Date(Date.UTC(2026, 10, 29, 14, 5, 12)));
  assert.equal(id.length, GENERATED_RUN_ID_LENGTH);
  assert.match(id, new RegExp(`^${GENERATED_RUN_ID_SOURCE}$`));
  assert.match(id, /^20261129T140512Z-[0-9a-f]{6}$/);
  assert.match(id, RUN_ID_PATTERN);
  assert.equal(MAX_NAME_SLUG_LENGTH, 56);
});

test('one slug rule for sources, run ids and raw pairs', () => {
  assert.equal(slugOf('s3://bucket/raw/fmnist/fashion-mnist_train.csv.gz'), 'fmnist-fashion-mnist');
  assert.equal(slugOf('raw/my data/test.csv'), 'my-data');
  assert.equal(slugOf('/home/me/data/fashion-mnist_train.csv'), 'fashion-mnist');
  assert.equal(slugOf('nightly.run_7'), 'nightly-run_7');
  assert.equal(slugOf('train.csv'), 'fmnist');
  assert.equal(slugOf('raw/train.csv', 40, 'raw'), 'raw');
  assert.equal(slugOf('abc-def', 4), 'abc');
  const pair = { train: { key: 'raw/new/fashion-mnist_train.csv', etag: '1' }, test: { key: 'raw/new/fashion-mnist_test.csv', etag: '2' } };
  assert.equal(pairSlug(pair), slugOf(pair.train.key));
});

test('execution names fit Step Functions’ limit, however long the run id', () => {
  const now = new Date();
  for (const source of ['x', 'a'.repeat(80), `${'long-'.repeat(30)}run`]) {
    const name = executionNameFor(source, now);
    assert.ok(name.length <= MAX_EXECUTION_NAME_LENGTH, name);
    assert.match(name, new RegExp(`^${slugOf(source, MAX_NAME_SLUG_LENGTH)}-${GENERATED_RUN_ID_SOURCE}$`));
  }
  assert.equal(executionNameFor('a'.repeat(80), now).length, MAX_EXECUTION_NAME_LENGTH);
});
