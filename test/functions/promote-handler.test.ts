import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { createPromoteHandler } from '../../functions/promote/handler.ts';
import { ConfigError } from '../../lib/data/errors.ts';
import { CHAMPION_KEY } from '../../lib/workflow/promotion.ts';
import { FakeS3 } from '../support/fake-s3.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
const at = new Date('2026-11-29T14:00:00.000Z');

const candidate = (runId: string, accuracy: number, datasetId = 'ds-a') => ({
  runId,
  datasetId,
  accuracy,
  macroF1: accuracy - 0.01,
  modelPrefix: `runs/${runId}/model/`,
  reportPrefix: `runs/${runId}/report/`,
});

describe('promote handler against a mocked S3', () => {
  const s3 = new FakeS3();
  const promote = createPromoteHandler({ s3: s3.client, bucket: s3.bucket, logger: silent, now: () => at });
  const champion = () => JSON.parse(s3.objects.get(CHAMPION_KEY)!.toString());

  beforeEach(() => {
    s3.objects.clear();
    s3.putOrder.length = 0;
    for (const runId of ['run-1', 'run-2', 'run-3']) s3.put(`runs/${runId}/model/model.json`, '{}');
  });
  after(() => s3.restore());

  test('writes champion.json when there is none', async () => {
    const result = await promote({ candidate: candidate('run-1', 0.8) });
    assert.equal(result.promoted, true);
    assert.deepEqual(s3.putOrder, [CHAMPION_KEY]);
    assert.deepEqual(champion(), { ...candidate('run-1', 0.8), promotedAt: at.toISOString() });
    assert.deepEqual(result.champion, champion());
  });

  test('replaces the champion only with a better model on the same dataset', async () => {
    await promote({ candidate: candidate('run-1', 0.8) });
    const worse = await promote({ candidate: candidate('run-2', 0.7) });
    assert.equal(worse.promoted, false);
    assert.equal(worse.champion?.runId, 'run-1');
    assert.equal(champion().runId, 'run-1');
    const better = await promote({ candidate: candidate('run-3', 0.85) });
    assert.equal(better.promoted, true);
    assert.equal(champion().runId, 'run-3');
    assert.equal(s3.putOrder.length, 2);
  });

  test('keeps the champion for another dataset unless forced', async () => {
    await promote({ candidate: candidate('run-1', 0.8, 'ds-a') });
    const other = await promote({ candidate: candidate('run-2', 0.95, 'ds-b') });
    assert.equal(other.promoted, false);
    assert.match(other.reason, /not comparable/);
    const forced = await promote({ candidate: candidate('run-2', 0.95, 'ds-b'), mode: 'always' });
    assert.equal(forced.promoted, true);
    assert.equal(champion().datasetId, 'ds-b');
  });

  test('refuses to point at a model that is not there', async () => {
    s3.objects.delete('runs/run-1/model/model.json');
    await assert.rejects(promote({ candidate: candidate('run-1', 0.8) }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /model\.json does not exist/);
      return true;
    });
    assert.equal(s3.objects.has(CHAMPION_KEY), false);
  });

  test('fails on a malformed champion.json instead of overwriting it', async () => {
    s3.put(CHAMPION_KEY, JSON.stringify({ runId: 'x' }));
    await assert.rejects(promote({ candidate: candidate('run-1', 0.8) }), /champion\.json is malformed/);
    assert.deepEqual(s3.putOrder, []);
  });

  test('rejects a bad event with the field named', async () => {
    await assert.rejects(promote({ candidate: { ...candidate('run-1', 1.5) } }), /candidate\.accuracy/);
    await assert.rejects(promote({ candidate: candidate('run-1', 0.5), mode: 'sometimes' }), /mode/);
    await assert.rejects(promote({ candidate: candidate('run-1', 0.5), extra: 1 }), /extra|Unrecognized/);
    await assert.rejects(
      promote({ candidate: { ...candidate('run-1', 0.9), modelPrefix: 'runs/run-2/model/' } }),
      /candidate\.modelPrefix: must be "runs\/run-1\/model\/" \(the prefix of run run-1\)/,
    );
    assert.deepEqual(s3.putOrder, []);
  });
});
