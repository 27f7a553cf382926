import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { createIngestHandler } from '../../functions/ingest/handler.ts';
import { parseManifest } from '../../lib/data/manifest.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { syntheticKaggleCsv } from '../support/kaggle-csv.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

describe('ingest reuses a stored dataset only when it is intact', () => {
  const s3 = new FakeS3();
  const deps = { s3: s3.client, bucket: s3.bucket, logger: silent };
  const ingest = () => createIngestHandler(deps)({ train: ['raw/train.csv'], test: ['raw/test.csv'] });
  s3.put('raw/train.csv', syntheticKaggleCsv(60, 5).text);
  s3.put('raw/test.csv', syntheticKaggleCsv(20, 6).text);
  after(() => s3.restore());

  test('intact: reused, nothing written; a 0-byte manifest, a truncated or a missing shard: written again, not reused', async () => {
    const first = await ingest();
    assert.equal(first.reused, false);
    const prefix = first.datasetPrefix;
    const original = new Map(s3.keys(prefix).map((key) => [key, s3.objects.get(key)!]));
    const shard = s3.keys(prefix).find((key) => key.endsWith('.bin'))!;

    const puts = s3.putOrder.length;
    assert.equal((await ingest()).reused, true);
    assert.equal(s3.putOrder.length, puts, 'an intact dataset is not written again');

    for (const damage of [
      () => s3.put(`${prefix}manifest.json`, ''),
      () => s3.put(shard, original.get(shard)!.subarray(0, 100)),
      () => s3.put(shard, Buffer.from(original.get(shard)!).fill(0, 16, 32)),
      () => s3.objects.delete(shard),
    ]) {
      damage();
      const again = await ingest();
      assert.equal(again.reused, false);
      assert.equal(again.datasetId, first.datasetId);
      assert.deepEqual(s3.objects.get(shard), original.get(shard), 'the shard is whole again');
      const manifest = parseManifest(JSON.parse(s3.objects.get(`${prefix}manifest.json`)!.toString()), 'manifest');
      assert.equal(manifest.datasetId, first.datasetId);
      assert.equal(s3.putOrder.at(-1), `${prefix}manifest.json`, 'the manifest goes last');
      assert.equal((await ingest()).reused, true);
    }
  });
});
