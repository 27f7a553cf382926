import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { createPromoteHandler, PROMOTE_MAX_ATTEMPTS } from '../../functions/promote/handler.ts';
import { ConfigError } from '../../lib/errors.ts';
import { fetchChampionFiles } from '../../lib/workflow/champion-store.ts';
import { championKey } from '../../lib/workflow/promotion.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import type { ChampionChangeDetail } from '../../lib/workflow/registry-events.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
const at = new Date('2026-11-29T14:00:00.000Z');
const SPLIT = 'a'.repeat(64);
const OTHER_SPLIT = 'b'.repeat(64);
const KEY = championKey(SPLIT);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const modelJson = (runId: string) => `{"run":"${runId}"}`;
const weights = (runId: string) => `weights of ${runId}`;

const candidate = (runId: string, accuracy: number, options: { datasetId?: string; testSetId?: string } = {}) => ({
  runId,
  datasetId: options.datasetId ?? 'ds-a',
  testSetId: options.testSetId ?? SPLIT,
  accuracy,
  macroF1: accuracy - 0.01,
  modelPrefix: `runs/${runId}/model/`,
  reportPrefix: `runs/${runId}/report/`,
  modelSha256: { 'model.json': sha256(modelJson(runId)), 'weights.bin': sha256(weights(runId)) },
});

/** What Train and Evaluate leave for Promote to register: training.json and the classification report, figures equal to the candidate's. */
function seedRun(s3: FakeS3, c: ReturnType<typeof candidate>): void {
  const training = { config: { epochs: 1 }, backend: { name: 'tensorflow' }, trainExamples: 100, seconds: 2, imagesPerSecond: 50 };
  s3.put(`${c.modelPrefix}training.json`, JSON.stringify(training));
  const weighted = c.macroF1 + 0.001;
  const report = { accuracy: c.accuracy, 'macro avg': { 'f1-score': c.macroF1 }, 'weighted avg': { 'f1-score': weighted } };
  s3.put(`${c.reportPrefix}classification_report.json`, JSON.stringify(report));
}

/** A Promote handler over `s3` whose events are kept, and whose candidate's run files are seeded first. */
function promoteHandler(s3: FakeS3) {
  const events: { detailType: string; detail: ChampionChangeDetail }[] = [];
  const handler = createPromoteHandler({
    s3: s3.client,
    bucket: s3.bucket,
    logger: silent,
    now: () => at,
    env: { FMNIST_CODE_VERSION: '0.1.0+abc1234' },
    publish: async (detailType, detail) => {
      events.push({ detailType, detail });
    },
  });
  const promote = (event: Record<string, unknown> & { candidate: ReturnType<typeof candidate> }) => {
    if (!s3.objects.has(`${event.candidate.reportPrefix}classification_report.json`)) seedRun(s3, event.candidate);
    return handler(event);
  };
  return { promote, events };
}

/** The champion keys written, in order (Promote also writes the registry and the champion history). */
const championPuts = (s3: FakeS3) => s3.putOrder.filter((key) => key.startsWith('models/champions/'));

describe('promote handler: compare-and-swap of the champion of a test split', () => {
  const s3 = new FakeS3();
  const { promote, events } = promoteHandler(s3);
  const champion = (key = KEY) => JSON.parse(s3.objects.get(key)!.toString());

  beforeEach(() => {
    s3.objects.clear();
    s3.putOrder.length = 0;
    s3.refusedPuts.length = 0;
    s3.beforePut = undefined;
    events.length = 0;
    for (const runId of ['run-1', 'run-2', 'run-3']) {
      s3.put(`runs/${runId}/model/model.json`, modelJson(runId));
      s3.put(`runs/${runId}/model/weights.bin`, weights(runId));
    }
  });
  after(() => s3.restore());

  test('writes the champion record, with the pinned files, when there is none', async () => {
    const result = await promote({ candidate: candidate('run-1', 0.8) });
    assert.equal(result.promoted, true);
    assert.deepEqual(result.saw, { runId: null, etag: null });
    assert.equal(result.attempts, 1);
    const registryKey = `models/registry/${SPLIT}/run-1.json`;
    const historyKey = `models/history/${SPLIT}/20261129T140000000Z-run-1.json`;
    const [registered, cached, ...decided] = s3.putOrder;
    assert.deepEqual([registered, ...decided], [registryKey, KEY, historyKey], 'registered before the decision; filed in the history after it');
    assert.match(cached, /^models\/step-cache\/[0-9a-f]{64}\.json$/, 'recorded for step caching once registered');
    assert.equal(result.registered, registryKey);
    const { modelSha256, ...rest } = candidate('run-1', 0.8);
    const files = {
      'model.json': { versionId: null, sha256: modelSha256['model.json'] },
      'weights.bin': { versionId: null, sha256: modelSha256['weights.bin'] },
    };
    const by = 'workflow (execution unnamed)';
    assert.deepEqual(champion(), { ...rest, promotedAt: at.toISOString(), files, previous: null, reason: 'no champion yet', by, change: 'promotion' });
    assert.deepEqual(result.champion, champion());
    assert.deepEqual(JSON.parse(s3.objects.get(historyKey)!.toString()), champion());
    const version = JSON.parse(s3.objects.get(registryKey)!.toString());
    assert.deepEqual(version.metrics, { accuracy: 0.8, macroF1: 0.8 - 0.01, weightedF1: 0.8 - 0.01 + 0.001 });
    assert.deepEqual(version.model, { prefix: 'runs/run-1/model/', files });
    assert.equal(version.codeVersion, '0.1.0+abc1234');
    assert.equal(version.trigger, 'manual');
    assert.equal(result.eventPublished, true);
    assert.deepEqual(events, [
      {
        detailType: 'Champion Promoted',
        detail: { runId: 'run-1', testSetId: SPLIT, datasetId: 'ds-a', accuracy: 0.8, macroF1: 0.8 - 0.01, modelPrefix: rest.modelPrefix, reportPrefix: rest.reportPrefix, previous: null, reason: 'no champion yet', by, bucket: s3.bucket },
      },
    ]);
  });

  test('replaces the champion only with a better model, and says what it saw', async () => {
    await promote({ candidate: candidate('run-1', 0.8) });
    const worse = await promote({ candidate: candidate('run-2', 0.7) });
    assert.equal(worse.promoted, false);
    assert.equal(worse.saw.runId, 'run-1');
    assert.equal(champion().runId, 'run-1');
    const better = await promote({ candidate: candidate('run-3', 0.85) });
    assert.equal(better.promoted, true);
    assert.equal(better.saw.runId, 'run-1');
    assert.match(better.saw.etag!, /^"[0-9a-f]{32}"$/);
    assert.equal(champion().runId, 'run-3');
    assert.equal(champion().previous, 'run-1');
    assert.equal(championPuts(s3).length, 2);
    assert.deepEqual(events.map((event) => event.detail.runId), ['run-1', 'run-3'], 'an event per promotion, none when kept');
    assert.ok(s3.objects.has(`models/registry/${SPLIT}/run-2.json`), 'the model kept out is registered too');
  });

  test('a model trained on other data, judged on the same test split, is compared and promoted when better', async () => {
    await promote({ candidate: candidate('run-1', 0.8, { datasetId: 'ds-a' }) });
    const worse = await promote({ candidate: candidate('run-2', 0.75, { datasetId: 'ds-b' }) });
    assert.equal(worse.promoted, false);
    assert.match(worse.reason, /does not beat the champion's 80\.00% \(run-1\)/);
    const better = await promote({ candidate: candidate('run-3', 0.9, { datasetId: 'ds-b' }) });
    assert.equal(better.promoted, true);
    assert.deepEqual([champion().runId, champion().datasetId], ['run-3', 'ds-b']);
  });

  test('another test split has its own champion', async () => {
    await promote({ candidate: candidate('run-1', 0.9) });
    const other = await promote({ candidate: candidate('run-2', 0.5, { testSetId: OTHER_SPLIT }) });
    assert.equal(other.promoted, true);
    assert.equal(champion().runId, 'run-1');
    assert.equal(champion(championKey(OTHER_SPLIT)).runId, 'run-2');
  });

  test('a competing promotion between the read and the write: 412, read again, decide again', async () => {
    await promote({ candidate: candidate('run-1', 0.8) });
    // run-3 (0.95) lands after run-2 read the champion (run-1) and before run-2 writes.
    let raced = false;
    s3.beforePut = async (key) => {
      if (raced || key !== KEY) return;
      raced = true;
      s3.beforePut = undefined;
      const competitor = await promote({ candidate: candidate('run-3', 0.95) });
      assert.equal(competitor.promoted, true);
    };
    const result = await promote({ candidate: candidate('run-2', 0.9) });
    assert.deepEqual(s3.refusedPuts.filter((key) => key === KEY), [KEY], 'run-2\'s write was refused');
    assert.equal(result.promoted, false, 'run-2 re-decided against run-3');
    assert.equal(result.attempts, 2);
    assert.equal(result.saw.runId, 'run-3');
    assert.equal(champion().runId, 'run-3');
  });

  test('the same race with a worse competitor: the re-decision still promotes', async () => {
    await promote({ candidate: candidate('run-1', 0.8) });
    s3.beforePut = async (key) => {
      if (key !== KEY) return;
      s3.beforePut = undefined;
      await promote({ candidate: candidate('run-3', 0.85) });
    };
    const result = await promote({ candidate: candidate('run-2', 0.9) });
    assert.equal(result.promoted, true);
    assert.equal(result.attempts, 2);
    assert.equal(result.saw.runId, 'run-3');
    assert.deepEqual([champion().runId, champion().previous], ['run-2', 'run-3']);
  });

  test(`gives up after ${PROMOTE_MAX_ATTEMPTS} lost rounds, naming the record`, async () => {
    await promote({ candidate: candidate('run-1', 0.5) });
    let n = 0;
    s3.beforePut = (key) => {
      if (key === KEY) s3.put(KEY, JSON.stringify({ ...champion(), accuracy: 0.5, promotedAt: new Date(++n * 1000).toISOString() }));
    };
    await assert.rejects(promote({ candidate: candidate('run-2', 0.9) }), (error: Error) => {
      assert.equal(error.name, 'ChampionContention');
      assert.match(error.message, new RegExp(`${KEY}.*${PROMOTE_MAX_ATTEMPTS} compare-and-swap attempts`));
      return true;
    });
    assert.equal(s3.refusedPuts.filter((key) => key === KEY).length, PROMOTE_MAX_ATTEMPTS);
  });

  test('a person\'s answer decides instead of the rule: approved promotes a worse model, rejected and expired keep the champion', async () => {
    await promote({ candidate: candidate('run-1', 0.9) });
    const answer = (decision: string) => ({ decision, by: 'ana@laptop', at: at.toISOString(), reason: 'checked the confusions' });
    const rejected = await promote({ candidate: candidate('run-2', 0.95), approval: answer('rejected') });
    assert.deepEqual([rejected.promoted, rejected.reason], [false, 'rejected by ana@laptop: checked the confusions']);
    const expired = await promote({ candidate: candidate('run-3', 0.97), approval: answer('expired') });
    assert.deepEqual([expired.promoted, expired.reason], [false, 'approval expired: nobody answered: checked the confusions']);
    assert.equal(champion().runId, 'run-1');
    s3.put('runs/run-4/model/model.json', modelJson('run-4'));
    s3.put('runs/run-4/model/weights.bin', weights('run-4'));
    const approved = await promote({ candidate: candidate('run-4', 0.6), approval: answer('approved'), executionName: 'exec-4' });
    assert.equal(approved.promoted, true);
    assert.deepEqual([champion().runId, champion().reason, champion().by], ['run-4', 'approved by ana@laptop: checked the confusions', 'workflow (execution exec-4)']);
    const version = JSON.parse(s3.objects.get(`models/registry/${SPLIT}/run-2.json`)!.toString());
    assert.deepEqual(version.approval, answer('rejected'), 'the registry keeps the answer');
    const notRequired = await promote({ candidate: candidate('run-3', 0.97), approval: { decision: 'not-required' } });
    assert.equal(notRequired.promoted, true, 'without a person the rule decides again');
  });

  test('the promotion floor keeps a weak first model out; an event EventBridge refuses leaves the promotion standing', async () => {
    const floor = await promote({ candidate: candidate('run-1', 0.4), policy: { minAccuracy: 0.5 } });
    assert.equal(floor.promoted, false);
    assert.match(floor.reason, /accuracy 40\.00% is below the promotion floor 50\.00%/);
    assert.equal(s3.objects.has(KEY), false);
    const failing = createPromoteHandler({ s3: s3.client, bucket: s3.bucket, logger: silent, now: () => at, publish: async () => { throw new Error('events down'); } });
    seedRun(s3, candidate('run-2', 0.8));
    const result = await failing({ candidate: candidate('run-2', 0.8), policy: { minAccuracy: 0.5 } });
    assert.deepEqual([result.promoted, result.eventPublished, champion().runId], [true, false, 'run-2']);
  });

  test('refuses to point at a model that is not there, or not the one evaluated', async () => {
    s3.objects.delete('runs/run-1/model/model.json');
    await assert.rejects(promote({ candidate: candidate('run-1', 0.8) }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /runs\/run-1\/model\/model\.json does not exist/);
      return true;
    });
    s3.put('runs/run-2/model/weights.bin', 'changed after evaluation');
    await assert.rejects(
      promote({ candidate: candidate('run-2', 0.8) }),
      new RegExp(`weights\\.bin: sha256 ${sha256('changed after evaluation')} is not the evaluated model's ${sha256(weights('run-2'))}`),
    );
    assert.equal(s3.objects.has(KEY), false);
  });

  test('fails on a malformed champion record instead of overwriting it', async () => {
    s3.put(KEY, JSON.stringify({ runId: 'x' }));
    await assert.rejects(promote({ candidate: candidate('run-1', 0.8) }), /champions\/a{64}\.json is malformed/);
    assert.deepEqual(championPuts(s3), []);
  });

  test('rejects a bad event with the field named', async () => {
    await assert.rejects(promote({ candidate: { ...candidate('run-1', 1.5) } }), /candidate\.accuracy/);
    await assert.rejects(promote({ candidate: candidate('run-1', 0.5), mode: 'sometimes' }), /mode/);
    await assert.rejects(promote({ candidate: candidate('run-1', 0.5), extra: 1 }), /extra|Unrecognized/);
    await assert.rejects(promote({ candidate: { ...candidate('run-1', 0.5), testSetId: 'ds-a' } }), /candidate\.testSetId/);
    await assert.rejects(
      promote({ candidate: { ...candidate('run-1', 0.9), modelPrefix: 'runs/run-2/model/' } }),
      /candidate\.modelPrefix: must be "runs\/run-1\/model\/" \(the prefix of run run-1\)/,
    );
    assert.deepEqual(s3.putOrder, []);
  });
});

describe('consumers of the champion verify the files it pins', () => {
  const s3 = new FakeS3();
  const { promote } = promoteHandler(s3);
  after(() => s3.restore());

  test('the pinned files load; a file replaced since fails, naming it and both hashes', async () => {
    s3.put('runs/run-1/model/model.json', modelJson('run-1'));
    s3.put('runs/run-1/model/weights.bin', weights('run-1'));
    const { champion } = await promote({ candidate: candidate('run-1', 0.8) });
    const files = await fetchChampionFiles(s3.client, s3.bucket, champion!);
    assert.equal(files['weights.bin'].toString(), weights('run-1'));
    s3.put('runs/run-1/model/weights.bin', 'tampered');
    await assert.rejects(fetchChampionFiles(s3.client, s3.bucket, champion!), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`champion run-1: s3://test-bucket/runs/run-1/model/weights\\.bin has sha256 ${sha256('tampered')}, the champion record pins ${sha256(weights('run-1'))}`));
      return true;
    });
  });
});
