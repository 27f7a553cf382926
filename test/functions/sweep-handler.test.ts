import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@aws-lambda-powertools/logger';
import { createSweepHandler, SweepFailedError } from '../../functions/sweep/handler.ts';
import { ConfigError } from '../../lib/errors.ts';
import { SweepRecord, sweepPageKey, sweepRecordKey } from '../../lib/workflow/sweep/sweep-record.ts';
import { writeSweepPage } from '../../lib/workflow/sweep/sweep-page-writer.ts';
import { FakeS3 } from '../support/fake-s3.ts';

const silent = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
const dataset = { datasetId: 'c'.repeat(16), datasetPrefix: `datasets/${'c'.repeat(16)}/`, testSetId: 'd'.repeat(64), reused: false, trainExamples: 100, testExamples: 20 };
const trial = (n: number) => ({ trialId: `t0${n}`, runId: `sw-t0${n}`, config: { seed: n }, trainOn: 'auto', lambdaMaxTrainExamples: 1000 });
const sweep = { sweepId: 'sw', source: { kind: 'grid' }, trials: [trial(1), trial(2)], maxConcurrency: 2, epochBudgets: [1, 3], eta: 2 };
const training = (n: number, status: 'budget' | 'complete', valAccuracy: number) => ({
  status, runId: `sw-t0${n}`, datasetPrefix: dataset.datasetPrefix, epochs: status === 'budget' ? 1 : 3, valAccuracy, valLoss: 0.4, seconds: 5,
  ...(status === 'complete' ? { modelPrefix: `runs/sw-t0${n}/model/` } : {}),
});

describe('sweep handler', () => {
  const s3 = new FakeS3('fmnist-data');
  after(() => s3.restore());
  beforeEach(() => s3.objects.clear());
  const pages: string[] = [];
  const handler = createSweepHandler({ s3: s3.client, bucket: 'fmnist-data', logger: silent, now: () => new Date('2026-12-03T10:00:00Z'), writePage: async (_s3, _bucket, record) => void pages.push(record.status) });
  const stored = () => SweepRecord.parse(JSON.parse(s3.objects.get(sweepRecordKey('sw'))!.toString()));

  test('start files the record (every trial pending) and answers round 0; a retried start goes on, another sweep under the id is refused', async () => {
    const round = await handler({ action: 'start', sweep, dataset, executionName: 'exec' });
    assert.deepEqual(round, { index: 0, epochBudget: 1, final: false, trials: sweep.trials });
    assert.deepEqual(stored().trials.map((t) => t.status), ['pending', 'pending']);
    assert.deepEqual(await handler({ action: 'start', sweep, dataset, executionName: 'exec' }), round);
    await assert.rejects(handler({ action: 'start', sweep, dataset, executionName: 'other' }), (error: Error) => error instanceof ConfigError && /sweep "sw" already exists/.test(error.message));
  });

  test('end-round: the survivors for the next round, then the best trial with the summary; the page is written at the end', async () => {
    pages.length = 0;
    const round0 = await handler({ action: 'start', sweep, dataset, executionName: 'exec' });
    const next = (await handler({
      action: 'end-round', sweep, dataset, executionName: 'exec', round: round0,
      results: [{ trialId: 't01', runId: 'sw-t01', status: 'trained', training: training(1, 'budget', 0.7) }, { trialId: 't02', runId: 'sw-t02', status: 'trained', training: training(2, 'budget', 0.8) }],
    })) as { done: false; round: { index: number; epochBudget: number; final: boolean; trials: { trialId: string }[] } };
    assert.equal(next.done, false);
    assert.deepEqual([next.round.index, next.round.epochBudget, next.round.final, next.round.trials.map((t) => t.trialId)], [1, 3, true, ['t02']]);
    assert.deepEqual(pages, [], 'no page before the end');
    const evaluation = { runId: 'sw-t02', reportPrefix: 'runs/sw-t02/report/', accuracy: 0.79, macroF1: 0.78, loss: 0.5, weightedF1: 0.78, modelSha256: { 'model.json': 'a'.repeat(64), 'weights.bin': 'b'.repeat(64) }, reused: false };
    const end = (await handler({ action: 'end-round', sweep, dataset, executionName: 'exec', round: next.round, results: [{ trialId: 't02', runId: 'sw-t02', status: 'trained', training: training(2, 'complete', 0.82), evaluation }] })) as {
      done: true; best: { trialId: string; training: unknown; evaluation: unknown }; summary: { best: unknown; stopped: number };
    };
    assert.equal(end.done, true);
    assert.equal(end.best.trialId, 't02');
    assert.deepEqual(end.best.evaluation, evaluation, 'handed to Promote as Evaluate answered it');
    assert.deepEqual(end.best.training, training(2, 'complete', 0.82));
    assert.deepEqual(end.summary.best, { trialId: 't02', runId: 'sw-t02' });
    assert.equal(end.summary.stopped, 1);
    assert.equal(stored().status, 'complete');
    assert.deepEqual(pages, ['complete']);
  });

  test('every trial failed: the record says so, the page is written, and the step fails with SweepFailed naming each error', async () => {
    pages.length = 0;
    const round0 = await handler({ action: 'start', sweep, dataset, executionName: 'exec' });
    const error = { Error: 'States.Timeout', Cause: 'slow' };
    await assert.rejects(
      handler({ action: 'end-round', sweep, dataset, executionName: 'exec', round: round0, results: [{ trialId: 't01', runId: 'sw-t01', status: 'failed', error }, { trialId: 't02', runId: 'sw-t02', status: 'failed', error }] }),
      (thrown: Error) => thrown instanceof SweepFailedError && thrown.name === 'SweepFailed' && /t01: States\.Timeout: slow; t02: States\.Timeout: slow/.test(thrown.message),
    );
    assert.equal(stored().status, 'failed');
    assert.deepEqual(pages, ['failed']);
  });

  test('bad events are refused naming the field; an end-round without a record names the key', async () => {
    await assert.rejects(handler({ action: 'finish', sweep, dataset }), /invalid sweep event: action/);
    await assert.rejects(handler({ action: 'start', sweep: { ...sweep, trials: [] }, dataset }), /sweep\.trials/);
    await assert.rejects(handler({ action: 'end-round', sweep, dataset, round: { index: 0, epochBudget: 1, final: false, trials: sweep.trials }, results: [] }), /sweep "sw" has no record \(s3:\/\/fmnist-data\/sweeps\/sw\/sweep\.json\)/);
  });

  test('the page writer reads the learning curves of the trials that completed and writes sweeps/<id>/index.html', async () => {
    const round0 = await handler({ action: 'start', sweep: { ...sweep, epochBudgets: [3], eta: undefined }, dataset, executionName: 'exec' });
    const evaluation = (n: number) => ({ runId: `sw-t0${n}`, reportPrefix: `runs/sw-t0${n}/report/`, accuracy: 0.7, macroF1: 0.7 });
    for (const n of [1, 2]) s3.put(`runs/sw-t0${n}/model/history.json`, JSON.stringify([{ epoch: 1, loss: 1, accuracy: 0.5, val_loss: 1.1, val_accuracy: 0.4 + n / 10, seconds: 1 }]));
    const page = createSweepHandler({ s3: s3.client, bucket: 'fmnist-data', logger: silent, writePage: writeSweepPage });
    await page({
      action: 'end-round', sweep: { ...sweep, epochBudgets: [3], eta: undefined }, dataset, round: round0,
      results: [1, 2].map((n) => ({ trialId: `t0${n}`, runId: `sw-t0${n}`, status: 'trained', training: training(n, 'complete', 0.5), evaluation: evaluation(n) })),
    });
    const html = s3.objects.get(sweepPageKey('sw'))!.toString();
    // Both trials' rows, and a learning curve from each history.json (t02's last val_accuracy is 0.6).
    assert.match(html, /^<!doctype html>/i);
    for (const trialId of ['t01', 't02']) assert.match(html, new RegExp(`>${trialId}<`));
    assert.equal((html.match(/<polyline class="curve[^"]*" data-trial="t0[12]"/g) ?? []).length, 2, 'one curve per history.json');
    assert.match(html, /t02: validation accuracy 0\.6000 after epoch 1/);
  });
});
