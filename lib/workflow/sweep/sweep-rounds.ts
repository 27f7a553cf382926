import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import { S3Prefix, TestSetId } from '../ids.ts';
import { DatasetPrefix } from '../keys.ts';
import { RunId } from '../run-id.ts';
import { TRAIN_RUNTIMES, type PlannedSweep, type PlannedTrial } from '../execution-input.ts';
import { RANKING, sweepPageKey, sweepRecordKey, TrialId, type SweepRecord, type SweepRound, type SweepTrial, type TrialRoundResult } from './sweep-record.ts';
import { survivorsOf } from './sweep-spec.ts';
import { trialCounts } from '../../report/sweep-trials.ts';

/**
 * The sweep function's decisions, without S3: the record a sweep starts with, what a finished
 * round does to it (SweepRound, the trials' standing), which trials go on (successive halving:
 * the best ceil(n / eta) by RANKING) and which trial is best. functions/sweep reads and writes
 * the record around these.
 */

export const PlannedTrialSchema = z.strictObject({
  trialId: TrialId,
  runId: RunId,
  config: z.record(z.string(), z.unknown()),
  trainOn: z.enum(TRAIN_RUNTIMES),
  lambdaMaxTrainExamples: z.int().min(0),
});

export const PlannedSweepSchema = z.strictObject({
  sweepId: RunId,
  source: z.strictObject({ kind: z.enum(['grid', 'random', 'list']), seed: z.int().optional() }),
  trials: z.array(PlannedTrialSchema).min(1),
  maxConcurrency: z.int().min(1),
  epochBudgets: z.array(z.int().min(1)).min(1),
  eta: z.int().min(2).optional(),
});

/** The part of Ingest's result a sweep keeps. */
export const SweepDataset = z.looseObject({ datasetId: z.string().min(1), datasetPrefix: DatasetPrefix, testSetId: TestSetId });

export const RoundPlan = z.strictObject({
  index: z.int().min(0),
  epochBudget: z.int().min(1),
  final: z.boolean(),
  trials: z.array(PlannedTrialSchema).min(1),
});
export type RoundPlan = z.infer<typeof RoundPlan>;

/** What the train step answered, as far as ranking needs it (TrainResult or the epoch budget's answer). */
const TrainingOutcome = z.looseObject({
  status: z.enum(['complete', 'budget']),
  runId: RunId,
  datasetPrefix: z.string(),
  modelPrefix: S3Prefix.optional(),
  epochs: z.int().min(0),
  valAccuracy: z.number().min(0).max(1).optional(),
  valLoss: z.number().min(0).optional(),
  seconds: z.number().min(0),
});
const Evaluation = z.looseObject({
  runId: RunId,
  reportPrefix: S3Prefix,
  accuracy: z.number().min(0).max(1),
  macroF1: z.number().min(0).max(1),
});

/** One Map iteration's result: TrialTrained / TrialEvaluated, or TrialFailed. */
export const IterationResult = z.discriminatedUnion('status', [
  z.strictObject({ trialId: TrialId, runId: RunId, status: z.literal('trained'), training: TrainingOutcome, evaluation: Evaluation.optional() }),
  z.strictObject({ trialId: TrialId, runId: RunId, status: z.literal('failed'), error: z.looseObject({ Error: z.string(), Cause: z.string().default('') }) }),
]);
export type IterationResult = z.infer<typeof IterationResult>;

export function startRecord(sweep: z.infer<typeof PlannedSweepSchema>, dataset: z.infer<typeof SweepDataset>, at: Date, executionName?: string): SweepRecord {
  return {
    sweepId: sweep.sweepId,
    ...(executionName !== undefined ? { executionName } : {}),
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    status: 'running',
    datasetId: dataset.datasetId,
    datasetPrefix: dataset.datasetPrefix,
    testSetId: dataset.testSetId,
    source: sweep.source,
    ranking: RANKING,
    ...(sweep.eta !== undefined ? { halving: { eta: sweep.eta, epochBudgets: sweep.epochBudgets } } : {}),
    trials: sweep.trials.map((trial) => ({ trialId: trial.trialId, runId: trial.runId, config: trial.config, status: 'pending' })),
    rounds: [],
    best: null,
    trainingSeconds: 0,
  };
}

export function firstRound(sweep: z.infer<typeof PlannedSweepSchema>): RoundPlan {
  return { index: 0, epochBudget: sweep.epochBudgets[0], final: sweep.epochBudgets.length === 1, trials: sweep.trials };
}

/** Better first: RANKING (validation accuracy, then validation loss, then trial order). */
export function compareTrials(a: TrialRoundResult, b: TrialRoundResult): number {
  const accuracy = (b.valAccuracy ?? -1) - (a.valAccuracy ?? -1);
  if (accuracy !== 0) return accuracy;
  const loss = (a.valLoss ?? Infinity) - (b.valLoss ?? Infinity);
  if (loss !== 0 && !Number.isNaN(loss)) return loss;
  return a.trialId.localeCompare(b.trialId);
}

function roundResult(result: IterationResult): TrialRoundResult {
  if (result.status === 'failed') {
    return { trialId: result.trialId, runId: result.runId, status: 'failed', error: { Error: result.error.Error, Cause: result.error.Cause } };
  }
  const { training } = result;
  return {
    trialId: result.trialId,
    runId: result.runId,
    status: 'trained',
    epochs: training.epochs,
    ...(training.valAccuracy !== undefined ? { valAccuracy: training.valAccuracy } : {}),
    ...(training.valLoss !== undefined ? { valLoss: training.valLoss } : {}),
    seconds: training.seconds,
  };
}

export type RoundOutcome =
  | { done: false; record: SweepRecord; round: RoundPlan }
  | { done: true; record: SweepRecord; best: { trialId: string; runId: string; training: unknown; evaluation: unknown } }
  | { done: 'failed'; record: SweepRecord; failure: string };

/**
 * Applies a finished round to the record: its results, each trial's standing, and then either
 * the next round (the best ceil(n / eta) of the trials that trained, at the next budget), the
 * best trial (the last round), or the failure (no trial of the round trained).
 */
export function endRound(record: SweepRecord, sweep: z.infer<typeof PlannedSweepSchema>, round: RoundPlan, results: IterationResult[], at: Date): RoundOutcome {
  const planned = new Set(round.trials.map((trial) => trial.trialId));
  const given = results.map((result) => result.trialId);
  if (given.length !== planned.size || given.some((id) => !planned.has(id))) {
    throw new ConfigError(`invalid end-round event: results for ${given.join(', ')}; round ${round.index} trained ${[...planned].join(', ')}`);
  }
  const resultsOfRound = results.map(roundResult);
  const thisRound: SweepRound = { index: round.index, epochBudget: round.epochBudget, final: round.final, results: resultsOfRound };
  // A retried EndSweepRound replaces the round it recorded before.
  const rounds = [...record.rounds.filter((recorded) => recorded.index !== round.index), thisRound].sort((a, b) => a.index - b.index);
  const ranked = resultsOfRound.filter((result) => result.status === 'trained').sort(compareTrials);
  const trainingSeconds = rounds.reduce((sum, recorded) => sum + recorded.results.reduce((s, result) => s + (result.seconds ?? 0), 0), 0);
  const byId = new Map(results.map((result) => [result.trialId, result]));
  const survivors = round.final ? ranked : ranked.slice(0, survivorsOf(ranked.length, sweep.eta ?? 2));
  const surviving = new Set(survivors.map((result) => result.trialId));

  const trials: SweepTrial[] = record.trials.map((trial) => {
    if (!planned.has(trial.trialId)) return trial;
    const result = resultsOfRound.find((candidate) => candidate.trialId === trial.trialId)!;
    const seconds = rounds.reduce((sum, recorded) => sum + (recorded.results.find((r) => r.trialId === trial.trialId)?.seconds ?? 0), 0);
    const figures = {
      ...(result.epochs !== undefined ? { epochs: result.epochs } : {}),
      ...(result.valAccuracy !== undefined ? { valAccuracy: result.valAccuracy } : {}),
      ...(result.valLoss !== undefined ? { valLoss: result.valLoss } : {}),
      seconds,
    };
    const base = { trialId: trial.trialId, runId: trial.runId, config: trial.config };
    if (result.status === 'failed') return { ...base, status: 'failed', ...figures };
    if (!surviving.has(trial.trialId)) return { ...base, status: 'stopped', stoppedAfterRound: round.index, ...figures };
    if (!round.final) return { ...base, status: 'pending', ...figures };
    const iteration = byId.get(trial.trialId);
    if (iteration?.status !== 'trained' || !iteration.evaluation || !iteration.training.modelPrefix) {
      throw new ConfigError(`invalid end-round event: trial ${trial.trialId} trained in the last round without an evaluation and a model`);
    }
    const { evaluation } = iteration;
    return {
      ...base,
      status: 'complete',
      ...figures,
      evaluation: { accuracy: evaluation.accuracy, macroF1: evaluation.macroF1, modelPrefix: iteration.training.modelPrefix, reportPrefix: evaluation.reportPrefix },
    };
  });
  const updated: SweepRecord = { ...record, updatedAt: at.toISOString(), trials, rounds, trainingSeconds };

  if (ranked.length === 0) {
    const errors = resultsOfRound.map((result) => `${result.trialId}: ${result.error?.Error ?? 'failed'}: ${causeMessage(result.error?.Cause ?? '')}`);
    const failure = `every trial of round ${round.index} failed (${errors.join('; ')})`;
    return { done: 'failed', record: { ...updated, status: 'failed', failure }, failure };
  }
  if (!round.final) {
    const next = round.index + 1;
    const trialsById = new Map<string, PlannedTrial>(round.trials.map((trial) => [trial.trialId, trial]));
    return {
      done: false,
      record: updated,
      round: { index: next, epochBudget: sweep.epochBudgets[next], final: next === sweep.epochBudgets.length - 1, trials: survivors.map((result) => trialsById.get(result.trialId)!) },
    };
  }
  const winner = byId.get(ranked[0].trialId)!;
  if (winner.status !== 'trained') throw new Error('unreachable: the best trial trained');
  return {
    done: true,
    record: { ...updated, status: 'complete', best: { trialId: winner.trialId, runId: winner.runId } },
    best: { trialId: winner.trialId, runId: winner.runId, training: winner.training, evaluation: winner.evaluation },
  };
}

/**
 * The message of a state's Cause, one line: a Lambda function's error arrives as its error
 * document ({"errorType","errorMessage","trace"}), anything else as text.
 */
function causeMessage(cause: string): string {
  let text = cause;
  try {
    const document = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof document?.errorMessage === 'string') text = document.errorMessage;
  } catch {
    // not JSON: the cause as given
  }
  const line = text.split('\n')[0];
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** What the execution's output says of the sweep (UseBestTrial puts it at $.sweep). */
export function sweepSummary(record: SweepRecord) {
  const counts = trialCounts(record);
  return {
    sweepId: record.sweepId,
    record: sweepRecordKey(record.sweepId),
    page: sweepPageKey(record.sweepId),
    trials: record.trials.length,
    complete: counts.complete,
    stopped: counts.stopped,
    failed: counts.failed,
    rounds: record.rounds.length,
    best: record.best,
    trainingSeconds: record.trainingSeconds,
  };
}

export type { PlannedSweep };
