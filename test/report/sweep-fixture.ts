import type { EpochLog } from '../../lib/model/history.ts';
import { RANKING, SweepRecord, trialRunId, type SweepTrial } from '../../lib/workflow/sweep/sweep-record.ts';

/**
 * Sweep records for the page and `fmnist sweep status` tests, built from a few plain facts
 * (each trial's config and figures) and parsed with the real schema, so a fixture that drifts
 * from the contract fails here rather than passing against a shape nobody writes.
 */

export const SWEEP_ID = 'sweep-20261203';
export const DATASET_ID = 'a'.repeat(16);
export const TEST_SET_ID = 'c'.repeat(64);

const reportPrefix = (runId: string) => `runs/${runId}/report/`;
const modelPrefix = (runId: string) => `runs/${runId}/model/`;

/**
 * Successive halving, eta 2, budgets 1 then 3 epochs. Six trials over learning rate (three
 * decades: a log axis), batch size and model preset (absent in some: "default"); epochs and
 * seed are the same everywhere, so they are not columns. t04 fails in round 1; t02 and t06
 * are dropped after round 1; t01, t03 and t05 train to the end; t05 is the best.
 */
export function halvingSweep(): SweepRecord {
  const trial = (id: string, config: Record<string, unknown>): { trialId: string; runId: string; config: Record<string, unknown> } => ({
    trialId: id,
    runId: trialRunId(SWEEP_ID, id),
    config: { epochs: 3, seed: 7, ...config },
  });
  const t = {
    t01: trial('t01', { learningRate: 0.0001, batchSize: 32 }),
    t02: trial('t02', { learningRate: 0.001, batchSize: 32, model: { preset: 'small' } }),
    t03: trial('t03', { learningRate: 0.01, batchSize: 32 }),
    t04: trial('t04', { learningRate: 0.1, batchSize: 64, model: { preset: 'small' } }),
    t05: trial('t05', { learningRate: 0.001, batchSize: 64 }),
    t06: trial('t06', { learningRate: 0.01, batchSize: 64, model: { preset: 'small' } }),
  };
  const round0 = {
    index: 0,
    epochBudget: 1,
    final: false,
    results: [
      { trialId: 't01', runId: t.t01.runId, status: 'trained', epochs: 1, valAccuracy: 0.71, valLoss: 0.82, seconds: 10.5 },
      { trialId: 't02', runId: t.t02.runId, status: 'trained', epochs: 1, valAccuracy: 0.655, valLoss: 0.95, seconds: 8.5 },
      { trialId: 't03', runId: t.t03.runId, status: 'trained', epochs: 1, valAccuracy: 0.78, valLoss: 0.61, seconds: 10 },
      { trialId: 't04', runId: t.t04.runId, status: 'failed', error: { Error: 'States.TaskFailed', Cause: 'loss became NaN after epoch 1 <diverged>' } },
      { trialId: 't05', runId: t.t05.runId, status: 'trained', epochs: 1, valAccuracy: 0.8, valLoss: 0.58, seconds: 6 },
      { trialId: 't06', runId: t.t06.runId, status: 'trained', epochs: 1, valAccuracy: 0.6, valLoss: 1.1, seconds: 5.5 },
    ],
  };
  const round1 = {
    index: 1,
    epochBudget: 3,
    final: true,
    results: [
      { trialId: 't01', runId: t.t01.runId, status: 'trained', epochs: 3, valAccuracy: 0.79, valLoss: 0.6, seconds: 21 },
      { trialId: 't03', runId: t.t03.runId, status: 'trained', epochs: 3, valAccuracy: 0.845, valLoss: 0.44, seconds: 20 },
      { trialId: 't05', runId: t.t05.runId, status: 'trained', epochs: 3, valAccuracy: 0.862, valLoss: 0.4, seconds: 12 },
    ],
  };
  const complete = (base: (typeof t)['t01'], last: (typeof round1.results)[number], firstSeconds: number, accuracy: number, macroF1: number): SweepTrial => ({
    ...base,
    status: 'complete',
    epochs: last.epochs,
    valAccuracy: last.valAccuracy,
    valLoss: last.valLoss,
    seconds: firstSeconds + last.seconds,
    evaluation: { accuracy, macroF1, modelPrefix: modelPrefix(base.runId), reportPrefix: reportPrefix(base.runId) },
  });
  const stopped = (base: (typeof t)['t01'], result: (typeof round0.results)[number]): SweepTrial => ({
    ...base,
    status: 'stopped',
    stoppedAfterRound: 0,
    epochs: result.epochs,
    valAccuracy: result.valAccuracy,
    valLoss: result.valLoss,
    seconds: result.seconds,
  });
  const trials: SweepTrial[] = [
    complete(t.t01, round1.results[0], 10.5, 0.781, 0.775),
    stopped(t.t02, round0.results[1]),
    complete(t.t03, round1.results[1], 10, 0.8375, 0.8312),
    { ...t.t04, status: 'failed' },
    complete(t.t05, round1.results[2], 6, 0.8588, 0.8541),
    stopped(t.t06, round0.results[5]),
  ];
  const trainingSeconds = [...round0.results, ...round1.results].reduce((sum, r) => sum + (r.seconds ?? 0), 0);
  return SweepRecord.parse({
    sweepId: SWEEP_ID,
    executionName: SWEEP_ID,
    createdAt: '2026-12-03T09:00:00.000Z',
    updatedAt: '2026-12-03T09:20:00.000Z',
    status: 'complete',
    datasetId: DATASET_ID,
    datasetPrefix: `datasets/${DATASET_ID}/`,
    testSetId: TEST_SET_ID,
    source: { kind: 'grid' },
    ranking: RANKING,
    halving: { eta: 2, epochBudgets: [1, 3] },
    trials,
    rounds: [round0, round1],
    best: { trialId: 't05', runId: t.t05.runId },
    trainingSeconds,
  });
}

/** Histories of the trials that completed: validation accuracy rising to the record's last-round figure. */
export function halvingHistories(record: SweepRecord): Record<string, EpochLog[]> {
  const histories: Record<string, EpochLog[]> = {};
  for (const trial of record.trials.filter((t) => t.status === 'complete')) {
    const last = trial.valAccuracy!;
    histories[trial.trialId] = [1, 2, 3].map((epoch) => ({
      epoch,
      loss: 1 / epoch,
      accuracy: last - 0.01 * (3 - epoch),
      val_loss: trial.valLoss! + 0.1 * (3 - epoch),
      val_accuracy: last - 0.04 * (3 - epoch),
      seconds: 5,
    }));
  }
  return histories;
}

/** One round, random search over the learning rate only (a scatter chart on a linear axis: 6x from least to most), seed 42. */
export function learningRateSweep(): SweepRecord {
  const sweepId = 'lr-sweep';
  const facts = [
    { trialId: 't01', learningRate: 0.003, valAccuracy: 0.83, valLoss: 0.47, seconds: 30, accuracy: 0.821, macroF1: 0.815 },
    { trialId: 't02', learningRate: 0.0005, valAccuracy: 0.805, valLoss: 0.52, seconds: 31.5, accuracy: 0.8, macroF1: 0.79 },
    { trialId: 't03', learningRate: 0.001, valAccuracy: 0.83, valLoss: 0.45, seconds: 29, accuracy: 0.826, macroF1: 0.82 },
  ];
  return SweepRecord.parse({
    sweepId,
    createdAt: '2026-12-03T10:00:00.000Z',
    updatedAt: '2026-12-03T10:05:00.000Z',
    status: 'complete',
    datasetId: DATASET_ID,
    datasetPrefix: `datasets/${DATASET_ID}/`,
    testSetId: TEST_SET_ID,
    source: { kind: 'random', seed: 42 },
    ranking: RANKING,
    trials: facts.map((f) => {
      const runId = trialRunId(sweepId, f.trialId);
      return {
        trialId: f.trialId,
        runId,
        config: { learningRate: f.learningRate },
        status: 'complete',
        epochs: 2,
        valAccuracy: f.valAccuracy,
        valLoss: f.valLoss,
        seconds: f.seconds,
        evaluation: { accuracy: f.accuracy, macroF1: f.macroF1, modelPrefix: modelPrefix(runId), reportPrefix: reportPrefix(runId) },
      };
    }),
    rounds: [
      {
        index: 0,
        epochBudget: 2,
        final: true,
        results: facts.map((f) => ({ trialId: f.trialId, runId: trialRunId(sweepId, f.trialId), status: 'trained', epochs: 2, valAccuracy: f.valAccuracy, valLoss: f.valLoss, seconds: f.seconds })),
      },
    ],
    // t01 and t03 tie on validation accuracy; t03's lower validation loss wins (RANKING).
    best: { trialId: 't03', runId: trialRunId(sweepId, 't03') },
    trainingSeconds: facts.reduce((sum, f) => sum + f.seconds, 0),
  });
}
