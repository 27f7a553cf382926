import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { createTriggerHandler } from '../../functions/trigger/handler.ts';
import { counterpartKeys, executionName, latestPair, splitOf } from '../../lib/workflow/raw-pairs.ts';
import { datasetKeyOf, selectDataset } from '../../lib/workflow/raw-datasets.ts';

const bucket = 'data-bucket';
const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:fmnist';

describe('raw upload pairing', () => {
  test('a split is the word train or test in the file name, under raw/, .csv or .csv.gz', () => {
    assert.equal(splitOf('raw/fmnist/train.csv'), 'train');
    assert.equal(splitOf('raw/fashion-mnist_test.csv'), 'test');
    assert.equal(splitOf('raw/a/TRAIN-part.csv.gz'), 'train');
    assert.equal(splitOf('raw/a/contest.csv'), undefined);
    assert.equal(splitOf('raw/a/training.csv'), undefined);
    assert.equal(splitOf('raw/a/train-vs-test.csv'), undefined);
    assert.equal(splitOf('raw/train/data.csv'), undefined, 'the word must be in the file name');
    assert.equal(splitOf('datasets/x/train.csv'), undefined);
    assert.equal(splitOf('raw/a/train.json'), undefined);
  });

  test('the counterpart swaps the word, same extension first', () => {
    assert.deepEqual(counterpartKeys('raw/fmnist/train.csv'), ['raw/fmnist/test.csv', 'raw/fmnist/test.csv.gz']);
    assert.deepEqual(counterpartKeys('raw/fashion-mnist_test.csv.gz'), [
      'raw/fashion-mnist_train.csv.gz',
      'raw/fashion-mnist_train.csv',
    ]);
    assert.deepEqual(counterpartKeys('raw/a/Train.csv'), ['raw/a/Test.csv', 'raw/a/Test.csv.gz']);
    assert.deepEqual(counterpartKeys('raw/a/notes.csv'), []);
  });

  test('execution names are stable, readable, at most 80 allowed characters', () => {
    const pair = { train: { key: 'raw/fmnist/train.csv', etag: '"a"' }, test: { key: 'raw/fmnist/test.csv', etag: '"b"' } };
    const name = executionName(bucket, pair);
    assert.match(name, /^fmnist-[0-9a-f]{16}$/);
    assert.equal(executionName(bucket, pair), name);
    assert.notEqual(executionName(bucket, { ...pair, test: { ...pair.test, etag: '"c"' } }), name);
    assert.notEqual(executionName('other-bucket', pair), name);
    const long = { train: { key: `raw/${'x y'.repeat(60)}/train.csv`, etag: '1' }, test: { key: 'raw/t/test.csv', etag: '2' } };
    for (const n of [executionName(bucket, long), executionName(bucket, long, '20261129T1400')]) {
      assert.ok(n.length <= 80, n);
      assert.match(n, /^[A-Za-z0-9][A-Za-z0-9_-]*$/);
    }
  });

  test('the latest complete pair is the one whose newer file is most recent', () => {
    const at = (day: number) => new Date(Date.UTC(2026, 0, day));
    const pair = latestPair([
      { key: 'raw/old/train.csv', etag: '1', lastModified: at(1) },
      { key: 'raw/old/test.csv', etag: '2', lastModified: at(2) },
      { key: 'raw/new/train.csv', etag: '3', lastModified: at(3) },
      { key: 'raw/new/test.csv.gz', etag: '4', lastModified: at(4) },
      { key: 'raw/lonely/train.csv', etag: '5', lastModified: at(9) },
    ]);
    assert.deepEqual(pair, { train: { key: 'raw/new/train.csv', etag: '3' }, test: { key: 'raw/new/test.csv.gz', etag: '4' } });
    assert.equal(latestPair([{ key: 'raw/lonely/train.csv', etag: '5', lastModified: at(9) }]), undefined);
  });
});

describe('named datasets that grow (raw/datasets/<name>/train|test/)', () => {
  test('a key is a dataset file only in exactly that layout', () => {
    assert.deepEqual(datasetKeyOf('raw/datasets/fmnist/train/2026-12-01.csv'), { name: 'fmnist', split: 'train' });
    assert.deepEqual(datasetKeyOf('raw/datasets/fmnist/test/yardstick.csv.gz'), { name: 'fmnist', split: 'test' });
    assert.equal(datasetKeyOf('raw/datasets/fmnist/train/sub/a.csv'), undefined, 'no folders below the split');
    assert.equal(datasetKeyOf('raw/datasets/fmnist/validation/a.csv'), undefined);
    assert.equal(datasetKeyOf('raw/datasets/fmnist/train/a.json'), undefined);
    assert.equal(datasetKeyOf('raw/train/0123456789abcdef/fashion-mnist_train.csv'), undefined, "the local CLI's content-addressed uploads are not datasets");
  });

  test('train files in key order (not upload order), the newest test file is the yardstick', () => {
    const at = (day: number) => new Date(Date.UTC(2026, 0, day));
    const choice = selectDataset('d', [
      { key: 'raw/datasets/d/train/2026-01-02.csv', etag: '"b"', lastModified: at(1) },
      { key: 'raw/datasets/d/train/2026-01-01.csv', etag: '"a"', lastModified: at(5) },
      { key: 'raw/datasets/d/test/old.csv', etag: '"t1"', lastModified: at(2) },
      { key: 'raw/datasets/d/test/new.csv', etag: '"t2"', lastModified: at(3) },
      { key: 'raw/datasets/other/train/x.csv', etag: '"x"', lastModified: at(9) },
    ]);
    assert.ok('selection' in choice);
    assert.deepEqual(choice.selection.train.map((file) => file.key), ['raw/datasets/d/train/2026-01-01.csv', 'raw/datasets/d/train/2026-01-02.csv']);
    assert.equal(choice.selection.test.key, 'raw/datasets/d/test/new.csv');
    assert.deepEqual(choice.selection.lastModified, at(5));
    const noTest = selectDataset('d', [{ key: 'raw/datasets/d/train/a.csv', etag: '"a"', lastModified: at(1) }]);
    assert.ok('waiting' in noTest && /no test file/.test(noTest.waiting));
  });
});

describe('trigger handler', () => {
  const s3 = mockClient(S3Client);
  const sfn = mockClient(SFNClient);
  const objects = new Map<string, { etag: string; lastModified: Date }>();
  const handler = createTriggerHandler({
    s3: new S3Client({ region: 'us-east-1' }),
    sfn: new SFNClient({ region: 'us-east-1' }),
    stateMachineArn,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  });
  // The trigger may list raw/ only (s3:ListBucket with an s3:prefix condition): HEAD of a missing
  // key would answer 403, so it must ask by listing.
  s3.on(HeadObjectCommand).rejects(new Error('HEAD is not allowed: ask by listing'));
  s3.on(ListObjectsV2Command).callsFake((input) => {
    if (input.Bucket !== bucket || !input.Prefix?.startsWith('raw/')) throw new Error(`AccessDenied: list ${input.Bucket}/${input.Prefix}`);
    return {
      Contents: [...objects]
        .filter(([key]) => key.startsWith(input.Prefix!))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([Key, o]) => ({ Key, ETag: o.etag, LastModified: o.lastModified })),
      IsTruncated: false,
    };
  });
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution', startDate: new Date() });
  const created = (key: string) => ({
    'detail-type': 'Object Created' as const,
    detail: { bucket: { name: bucket }, object: { key } },
  });

  afterEach(() => {
    objects.clear();
    sfn.resetHistory();
  });

  test('the first file of a pair waits; the second starts one execution named after the data', async () => {
    objects.set('raw/fmnist/train.csv', { etag: '"t1"', lastModified: new Date() });
    const first = await handler(created('raw/fmnist/train.csv'));
    assert.equal(first.started, false);
    assert.match(first.reason, /waiting for the test split/);
    assert.equal(sfn.commandCalls(StartExecutionCommand).length, 0);

    objects.set('raw/fmnist/test.csv', { etag: '"t2"', lastModified: new Date() });
    const second = await handler(created('raw/fmnist/test.csv'));
    assert.equal(second.started, true);
    const calls = sfn.commandCalls(StartExecutionCommand);
    assert.equal(calls.length, 1);
    const { name, input } = calls[0].args[0].input;
    const expectedHash = createHash('sha256')
      .update(JSON.stringify([bucket, 'raw/fmnist/train.csv', '"t1"', 'raw/fmnist/test.csv', '"t2"']))
      .digest('hex')
      .slice(0, 16);
    assert.equal(name, `fmnist-${expectedHash}`);
    assert.equal(calls[0].args[0].input.stateMachineArn, stateMachineArn);
    assert.deepEqual(JSON.parse(input!), { train: ['raw/fmnist/train.csv'], test: ['raw/fmnist/test.csv'], trigger: 'new-data' }, 'the run records what started it');
  });

  test('a duplicate event is a success that starts nothing new', async () => {
    objects.set('raw/a/train.csv', { etag: '"1"', lastModified: new Date() });
    objects.set('raw/a/test.csv', { etag: '"2"', lastModified: new Date() });
    sfn.on(StartExecutionCommand).rejectsOnce(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const result = await handler(created('raw/a/train.csv'));
    assert.equal(result.started, false);
    assert.equal(result.duplicate, true);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution', startDate: new Date() });
  });

  test('a URL-encoded key in the event is decoded when the raw form does not exist', async () => {
    objects.set('raw/my data/train.csv', { etag: '"1"', lastModified: new Date() });
    objects.set('raw/my data/test.csv', { etag: '"2"', lastModified: new Date() });
    const result = await handler(created('raw/my+data/test.csv'));
    assert.equal(result.started, true);
    assert.deepEqual(result.input, { train: ['raw/my data/train.csv'], test: ['raw/my data/test.csv'], trigger: 'new-data' });
    assert.match(result.executionName!, /^my-data-[0-9a-f]{16}$/);
  });

  test('a counterpart is found by its exact key, not by a longer key it prefixes', async () => {
    objects.set('raw/b/train.csv', { etag: '"1"', lastModified: new Date() });
    objects.set('raw/b/test.csv.bak', { etag: '"2"', lastModified: new Date() });
    const result = await handler(created('raw/b/train.csv'));
    assert.equal(result.started, false);
    assert.match(result.reason, /waiting for the test split/);
    assert.equal(s3.commandCalls(HeadObjectCommand).length, 0);
  });

  test('keys outside the convention are ignored', async () => {
    const result = await handler(created('raw/a/notes.csv'));
    assert.equal(result.started, false);
    assert.equal(sfn.commandCalls(StartExecutionCommand).length, 0);
  });

  test('an event that is neither an upload nor a tick fails, naming the field; nothing starts', async () => {
    await assert.rejects(handler({ 'detail-type': 'Object Deleted', detail: {} }), {
      name: 'ConfigError',
      message: 'invalid trigger event: detail-type: must be one of "Object Created", "Scheduled Event", got "Object Deleted"',
    });
    await assert.rejects(handler({ 'detail-type': 'Object Created', detail: { bucket: {}, object: { key: 'raw/a/train.csv' } } }), /invalid trigger event: detail\.bucket\.name: /);
    await assert.rejects(handler({ 'detail-type': 'Scheduled Event', time: 'tomorrow' }), /invalid trigger event: time: /);
    assert.equal(sfn.commandCalls(StartExecutionCommand).length, 0);
  });

  test('a training file landing alone retrains on every train file of its dataset, with the same test file', async () => {
    objects.set('raw/datasets/fmnist/train/2026-12-01.csv', { etag: '"a"', lastModified: new Date('2026-12-01') });
    const noYardstick = await handler(created('raw/datasets/fmnist/train/2026-12-01.csv'));
    assert.equal(noYardstick.started, false);
    assert.match(noYardstick.reason, /no test file under raw\/datasets\/fmnist\/test\//);

    objects.set('raw/datasets/fmnist/test/yardstick.csv', { etag: '"t"', lastModified: new Date('2026-12-01') });
    const first = await handler(created('raw/datasets/fmnist/test/yardstick.csv'));
    assert.equal(first.started, true);
    assert.deepEqual(first.input, { train: ['raw/datasets/fmnist/train/2026-12-01.csv'], test: ['raw/datasets/fmnist/test/yardstick.csv'], trigger: 'new-data' });

    // The appended file is named so that it sorts last; the test file stays.
    objects.set('raw/datasets/fmnist/train/2026-12-03.csv', { etag: '"b"', lastModified: new Date('2026-12-03') });
    const retrain = await handler(created('raw/datasets/fmnist/train/2026-12-03.csv'));
    assert.equal(retrain.started, true);
    assert.deepEqual(retrain.input, {
      train: ['raw/datasets/fmnist/train/2026-12-01.csv', 'raw/datasets/fmnist/train/2026-12-03.csv'],
      test: ['raw/datasets/fmnist/test/yardstick.csv'],
      trigger: 'new-data',
    });
    const expectedHash = createHash('sha256')
      .update(JSON.stringify([bucket, 'fmnist', [['train', 'raw/datasets/fmnist/train/2026-12-01.csv', '"a"'], ['train', 'raw/datasets/fmnist/train/2026-12-03.csv', '"b"'], ['test', 'raw/datasets/fmnist/test/yardstick.csv', '"t"']]]))
      .digest('hex')
      .slice(0, 16);
    assert.equal(retrain.executionName, `fmnist-${expectedHash}`);
    assert.notEqual(retrain.executionName, first.executionName, 'one more file, another execution');
    assert.equal(sfn.commandCalls(StartExecutionCommand).length, 2);

    // The same event again (EventBridge delivers at least once) names the same execution.
    sfn.resetHistory();
    sfn.on(StartExecutionCommand).rejectsOnce(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const again = await handler(created('raw/datasets/fmnist/train/2026-12-03.csv'));
    assert.equal(again.duplicate, true);
    assert.equal(again.executionName, retrain.executionName);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution', startDate: new Date() });
  });

  test('a file in a dataset folder named like a pair is not paired: only the dataset layout applies', async () => {
    objects.set('raw/datasets/d/train/part_train.csv', { etag: '"a"', lastModified: new Date('2026-12-01') });
    objects.set('raw/datasets/d/train/part_test.csv', { etag: '"b"', lastModified: new Date('2026-12-01') });
    const result = await handler(created('raw/datasets/d/train/part_train.csv'));
    assert.equal(result.started, false);
    assert.match(result.reason, /dataset "d" has no test file/);
    const outside = await handler(created('raw/datasets/d/notes/part_train.csv'));
    assert.equal(outside.started, false);
    assert.match(outside.reason, /is not raw\/datasets\/<name>\/train\/<file>/);
  });

  test('a new test file replaces the yardstick; an older one landing late starts nothing', async () => {
    objects.set('raw/datasets/d/train/a.csv', { etag: '"a"', lastModified: new Date('2026-12-01') });
    objects.set('raw/datasets/d/test/v1.csv', { etag: '"t1"', lastModified: new Date('2026-12-01') });
    objects.set('raw/datasets/d/test/v2.csv', { etag: '"t2"', lastModified: new Date('2026-12-02') });
    const replaced = await handler(created('raw/datasets/d/test/v2.csv'));
    assert.equal(replaced.started, true);
    assert.deepEqual(replaced.input?.test, ['raw/datasets/d/test/v2.csv']);
    const stale = await handler(created('raw/datasets/d/test/v1.csv'));
    assert.equal(stale.started, false);
    assert.match(stale.reason, /not the newest test file/);
  });

  test('the schedule retrains the named dataset that changed last, one execution per tick', async () => {
    process.env.DATA_BUCKET = bucket;
    try {
      objects.set('raw/pair/train.csv', { etag: '"1"', lastModified: new Date('2026-01-01') });
      objects.set('raw/pair/test.csv', { etag: '"2"', lastModified: new Date('2026-01-02') });
      objects.set('raw/datasets/d/train/a.csv', { etag: '"a"', lastModified: new Date('2026-01-03') });
      objects.set('raw/datasets/d/test/t.csv', { etag: '"t"', lastModified: new Date('2026-01-01') });
      const result = await handler({ 'detail-type': 'Scheduled Event' as const, time: '2026-11-29T14:00:00Z' });
      assert.equal(result.started, true);
      assert.match(result.executionName!, /^d-[0-9a-f]{16}-20261129T1400$/);
      assert.deepEqual(result.input, { train: ['raw/datasets/d/train/a.csv'], test: ['raw/datasets/d/test/t.csv'], trigger: 'schedule' });
    } finally {
      delete process.env.DATA_BUCKET;
    }
  });

  test('the schedule retrains on the latest complete pair, one execution per tick', async () => {
    process.env.DATA_BUCKET = bucket;
    try {
      objects.set('raw/old/train.csv', { etag: '"1"', lastModified: new Date('2026-01-01') });
      objects.set('raw/old/test.csv', { etag: '"2"', lastModified: new Date('2026-01-01') });
      objects.set('raw/new/fashion-mnist_train.csv', { etag: '"3"', lastModified: new Date('2026-02-01') });
      objects.set('raw/new/fashion-mnist_test.csv', { etag: '"4"', lastModified: new Date('2026-02-02') });
      const tick = { 'detail-type': 'Scheduled Event' as const, time: '2026-11-29T14:00:00Z' };
      const result = await handler(tick);
      assert.equal(result.started, true);
      assert.match(result.executionName!, /^new-fashion-mnist-[0-9a-f]{16}-20261129T1400$/);
      assert.deepEqual(result.input, { train: ['raw/new/fashion-mnist_train.csv'], test: ['raw/new/fashion-mnist_test.csv'], trigger: 'schedule' });
      objects.clear();
      const empty = await handler(tick);
      assert.equal(empty.started, false);
      assert.match(empty.reason, /no complete train\/test pair or named dataset/);
    } finally {
      delete process.env.DATA_BUCKET;
    }
  });
});
