import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { endRound, firstRound, startRecord, sweepSummary, type IterationResult, type RoundPlan } from '../../lib/workflow/sweep/sweep-rounds.ts';
import { SweepRecord } from '../../lib/workflow/sweep/sweep-record.ts';
import { planSweep } from '../../lib/workflow/sweep/sweep-spec.ts';

const dataset = { datasetId: 'a'.repeat(16), datasetPrefix: `datasets/${'a'.repeat(16)}/`, testSetId: 'b'.repeat(64) };
const at = new Date('2026-12-03T10:00:00Z');
const planned = (spec: unknown, base = { epochs: 8 }) => {
  const plan = planSweep(spec, 'sw', base, 2);
  return { ...plan, trials: plan.trials.map(({ trainConfig: _trainConfig, ...trial }) => ({ ...trial, trainOn: 'auto' as const, lambdaMaxTrainExamples: 1000 })) };
};

/** A trial's iteration result: trained to `epochs` with these validation figures, evaluated in the last round. */
function trained(round: RoundPlan, trialId: string, valAccuracy: number, valLoss: number, seconds = 10): IterationResult {
  const runId = `sw-${trialId}`;
  const training = { status: round.final ? 'complete' : 'budget', runId, datasetPrefix: dataset.datasetPrefix, epochs: round.epochBudget, valAccuracy, valLoss, seconds, ...(round.final ? { modelPrefix: `runs/${runId}/model/` } : {}) } as const;
  const evaluation = { runId, reportPrefix: `runs/${runId}/report/`, accuracy: valAccuracy - 0.01, macroF1: valAccuracy - 0.02, loss: 0.3 };
  return { trialId, runId, status: 'trained', training, ...(round.final ? { evaluation } : {}) };
}
const failed = (trialId: string, Error = 'Sandbox.Timedout', Cause = 'Task timed out after 900 seconds'): IterationResult => ({ trialId, runId: `sw-${trialId}`, status: 'failed', error: { Error, Cause } });

describe('a sweep\'s rounds', () => {
  test('one round: every trial that trained is complete and evaluated; the best by validation accuracy wins, not by test accuracy', () => {
    const sweep = planned({ grid: { learningRate: [0.001, 0.002, 0.003] } });
    const record = startRecord(sweep, dataset, at, 'exec');
    assert.doesNotThrow(() => SweepRecord.parse(record));
    const round = firstRound(sweep);
    assert.deepEqual({ index: round.index, epochBudget: round.epochBudget, final: round.final }, { index: 0, epochBudget: 8, final: true });
    const results = [trained(round, 't01', 0.88, 0.3), trained(round, 't02', 0.91, 0.25), trained(round, 't03', 0.9, 0.2)];
    // t03's test accuracy is made the highest: the ranking must not look at it.
    (results[2] as { evaluation: { accuracy: number } }).evaluation.accuracy = 0.99;
    const outcome = endRound(record, sweep, round, results, at);
    assert.equal(outcome.done, true);
    if (outcome.done !== true) return;
    assert.equal(outcome.best.trialId, 't02');
    assert.deepEqual(outcome.record.best, { trialId: 't02', runId: 'sw-t02' });
    assert.equal(outcome.record.status, 'complete');
    assert.deepEqual(outcome.record.trials.map((trial) => trial.status), ['complete', 'complete', 'complete']);
    assert.deepEqual(outcome.record.trials[2].evaluation, { accuracy: 0.99, macroF1: 0.88, modelPrefix: 'runs/sw-t03/model/', reportPrefix: 'runs/sw-t03/report/' });
    assert.equal(outcome.record.trainingSeconds, 30);
    assert.doesNotThrow(() => SweepRecord.parse(outcome.record));
    assert.deepEqual(sweepSummary(outcome.record), {
      sweepId: 'sw', record: 'sweeps/sw/sweep.json', page: 'sweeps/sw/index.html', trials: 3, complete: 3, stopped: 0, failed: 0, rounds: 1, best: { trialId: 't02', runId: 'sw-t02' }, trainingSeconds: 30,
    });
  });

  test('ties: equal validation accuracy goes to the lower validation loss, then to the earlier trial', () => {
    const sweep = planned({ grid: { seed: [1, 2, 3] } });
    const round = firstRound(sweep);
    const pick = (results: IterationResult[]) => {
      const outcome = endRound(startRecord(sweep, dataset, at), sweep, round, results, at);
      assert.equal(outcome.done, true);
      return outcome.done === true ? outcome.best.trialId : undefined;
    };
    assert.equal(pick([trained(round, 't01', 0.9, 0.3), trained(round, 't02', 0.9, 0.2), trained(round, 't03', 0.9, 0.25)]), 't02');
    assert.equal(pick([trained(round, 't01', 0.9, 0.2), trained(round, 't02', 0.9, 0.2), trained(round, 't03', 0.89, 0.1)]), 't01');
  });

  test('successive halving: each round keeps the best ceil(n/eta) for the next budget, the others stop; the last picks the best', () => {
    const sweep = planned({ grid: { learningRate: [0.001, 0.002, 0.003, 0.004, 0.005] }, halving: true });
    assert.deepEqual(sweep.epochBudgets, [1, 2, 4, 8]);
    let record = startRecord(sweep, dataset, at);
    let round = firstRound(sweep);
    const accuracyOf: Record<string, number> = { t01: 0.7, t02: 0.9, t03: 0.8, t04: 0.85, t05: 0.6 };
    const seen: string[][] = [];
    for (;;) {
      seen.push(round.trials.map((trial) => trial.trialId));
      const outcome = endRound(record, sweep, round, round.trials.map((trial) => trained(round, trial.trialId, accuracyOf[trial.trialId], 0.3)), at);
      record = outcome.record;
      if (outcome.done !== false) break;
      round = outcome.round;
    }
    assert.deepEqual(seen, [['t01', 't02', 't03', 't04', 't05'], ['t02', 't04', 't03'], ['t02', 't04'], ['t02']]);
    assert.deepEqual(record.rounds.map((r) => [r.index, r.epochBudget, r.final]), [[0, 1, false], [1, 2, false], [2, 4, false], [3, 8, true]]);
    const status = Object.fromEntries(record.trials.map((trial) => [trial.trialId, [trial.status, trial.stoppedAfterRound]]));
    assert.deepEqual(status, { t01: ['stopped', 0], t02: ['complete', undefined], t03: ['stopped', 1], t04: ['stopped', 2], t05: ['stopped', 0] });
    assert.deepEqual(record.best, { trialId: 't02', runId: 'sw-t02' });
    // t02 trained in all four rounds at 10 s each.
    assert.equal(record.trials.find((trial) => trial.trialId === 't02')!.seconds, 40);
    assert.equal(record.trainingSeconds, 10 * (5 + 3 + 2 + 1));
    assert.doesNotThrow(() => SweepRecord.parse(record));
  });

  test('a failed trial does not fail the others; it is recorded with its error and leaves the race', () => {
    const sweep = planned({ grid: { learningRate: [0.001, 0.002, 0.003, 0.004] }, halving: true });
    const record = startRecord(sweep, dataset, at);
    const round = firstRound(sweep);
    const outcome = endRound(record, sweep, round, [failed('t01'), trained(round, 't02', 0.8, 0.3), trained(round, 't03', 0.9, 0.3), trained(round, 't04', 0.7, 0.3)], at);
    assert.equal(outcome.done, false);
    if (outcome.done !== false) return;
    assert.deepEqual(outcome.round.trials.map((trial) => trial.trialId), ['t03', 't02'], 'the best 2 of the 3 that trained');
    assert.equal(outcome.record.trials[0].status, 'failed');
    assert.deepEqual(outcome.record.rounds[0].results[0].error, { Error: 'Sandbox.Timedout', Cause: 'Task timed out after 900 seconds' });
  });

  test('every trial failed: the sweep fails naming each trial\'s error', () => {
    const sweep = planned({ trials: [{ seed: 1 }, { seed: 2 }] });
    const round = firstRound(sweep);
    const lambdaError = JSON.stringify({ errorType: 'ConfigError', errorMessage: 'bad layer', trace: ['ConfigError: bad layer', '    at x'] });
    const outcome = endRound(startRecord(sweep, dataset, at), sweep, round, [failed('t01', 'ConfigError', lambdaError), failed('t02', 'States.Runtime', 'first line\nsecond')], at);
    assert.equal(outcome.done, 'failed');
    if (outcome.done !== 'failed') return;
    // A Lambda's error document is reduced to its message; other causes to their first line.
    assert.equal(outcome.failure, 'every trial of round 0 failed (t01: ConfigError: bad layer; t02: States.Runtime: first line)');
    assert.equal(outcome.record.status, 'failed');
    assert.equal(outcome.record.best, null);
  });

  test('results that are not the round\'s trials are refused', () => {
    const sweep = planned({ trials: [{ seed: 1 }, { seed: 2 }] });
    const round = firstRound(sweep);
    assert.throws(() => endRound(startRecord(sweep, dataset, at), sweep, round, [trained(round, 't01', 0.9, 0.1)], at), /results for t01; round 0 trained t01, t02/);
  });

  test('a retried EndSweepRound replaces the round it recorded', () => {
    const sweep = planned({ grid: { seed: [1, 2] }, halving: true });
    const round = firstRound(sweep);
    const results = [trained(round, 't01', 0.9, 0.1), trained(round, 't02', 0.8, 0.1)];
    const once = endRound(startRecord(sweep, dataset, at), sweep, round, results, at);
    const twice = endRound(once.record, sweep, round, results, at);
    assert.deepEqual(twice.record.rounds, once.record.rounds);
    assert.equal(twice.record.trainingSeconds, once.record.trainingSeconds);
  });
});
