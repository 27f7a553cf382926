import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { beforeEach, test } from 'node:test';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { REPORT_FILES } from '../../lib/workflow/files.ts';
import { modelPrefix, modelVersionKey, reportPrefix, stepCacheKey } from '../../lib/workflow/layout.ts';
import type { ModelVersion } from '../../lib/workflow/registry/model-version.ts';
import { newRunId } from '../../lib/workflow/run-id.ts';
import { findReusableRun, recordCompletedRun, stepCacheKeyOf } from '../../lib/workflow/step-cache.ts';
import { FakeS3 } from '../support/fake-s3.ts';

/**
 * Step caching against an in-memory bucket: a registered run recorded by Promote is found by the
 * same dataset, resolved config and code version, and by nothing else; a run whose model files
 * are not the pinned ones, or whose report is incomplete, is not reused.
 */
const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const config = parseTrainConfig({ epochs: 1 }) as unknown as Record<string, unknown>;
const datasetId = '0123456789abcdef';
const testSetId = 'f'.repeat(64);
const codeVersion = '0.1.0+abcdef012345';
let s3: FakeS3;
let runId: string;

function put(key: string, body: Buffer | string): void {
  s3.objects.set(key, Buffer.from(body));
}

beforeEach(async () => {
  s3 = new FakeS3();
  runId = newRunId();
  const model = Buffer.from('{"modelTopology":{}}');
  const weights = Buffer.from([1, 2, 3, 4]);
  put(modelPrefix(runId) + 'model.json', model);
  put(modelPrefix(runId) + 'weights.bin', weights);
  for (const file of Object.values(REPORT_FILES)) put(reportPrefix(runId) + file, 'x');
  const version: ModelVersion = {
    runId,
    testSetId,
    datasetId,
    registeredAt: '2026-12-03T10:00:00.000Z',
    model: { prefix: modelPrefix(runId), files: { 'model.json': { versionId: null, sha256: sha(model) }, 'weights.bin': { versionId: null, sha256: sha(weights) } } },
    reportPrefix: reportPrefix(runId),
    metrics: { accuracy: 0.9, macroF1: 0.9, weightedF1: 0.9 },
    training: { config, backend: { name: 'cpu' }, trainExamples: 10, seconds: 1, imagesPerSecond: 10 },
    codeVersion,
  };
  put(modelVersionKey(testSetId, runId), JSON.stringify(version));
  const recorded = await recordCompletedRun(s3.client, s3.bucket, version, new Date('2026-12-03T10:00:01Z'));
  assert.equal(recorded, stepCacheKey(stepCacheKeyOf({ datasetId, config, codeVersion })));
});

test('the same dataset, resolved config and code version find the completed run', async () => {
  // Key order is not part of the identity (the config passes through JSON between steps).
  const reordered = Object.fromEntries(Object.entries(config).reverse());
  const found = await findReusableRun(s3.client, s3.bucket, { datasetId, config: reordered, codeVersion });
  assert.equal(found.runId, runId);
});

test('another dataset, config or code version finds nothing', async () => {
  for (const inputs of [
    { datasetId: 'fedcba9876543210', config, codeVersion },
    { datasetId, config: { ...config, epochs: 2 }, codeVersion },
    { datasetId, config, codeVersion: '0.1.0+000000000000' },
  ]) {
    const found = await findReusableRun(s3.client, s3.bucket, inputs);
    assert.equal(found.runId, null);
    assert.match(found.reason, /no completed run with this dataset, config and code version/);
  }
});

test('a code version that does not name its code is never cached', async () => {
  for (const version of ['unknown', `${codeVersion}.dirty`]) {
    const found = await findReusableRun(s3.client, s3.bucket, { datasetId, config, codeVersion: version });
    assert.equal(found.runId, null);
    assert.match(found.reason, /does not name its code exactly/);
  }
});

test('a run whose model is not the pinned one, or whose report is incomplete, is not reused', async () => {
  put(modelPrefix(runId) + 'weights.bin', Buffer.from([9, 9]));
  const changed = await findReusableRun(s3.client, s3.bucket, { datasetId, config, codeVersion });
  assert.equal(changed.runId, null);
  assert.match(changed.reason, new RegExp(`run ${runId} is not reused: run ${runId}: s3://test-bucket/runs/${runId}/model/weights.bin has sha256 [0-9a-f]{64}, the registry record pins`));

  s3.objects.delete(modelPrefix(runId) + 'weights.bin');
  assert.match((await findReusableRun(s3.client, s3.bucket, { datasetId, config, codeVersion })).reason, /weights\.bin does not exist/);
});

test('a run whose report lacks a file is not reused', async () => {
  s3.objects.delete(reportPrefix(runId) + REPORT_FILES.indexHtml);
  const found = await findReusableRun(s3.client, s3.bucket, { datasetId, config, codeVersion });
  assert.equal(found.runId, null);
  assert.match(found.reason, /its report lacks index\.html/);
});
