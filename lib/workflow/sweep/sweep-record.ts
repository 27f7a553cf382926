import { z } from 'zod';
import { S3Prefix, TestSetId } from '../ids.ts';
import { RunId } from '../run-id.ts';
import { PREFIXES } from '../layout.ts';

/**
 * A hyperparameter sweep's record, sweeps/<sweepId>/sweep.json: its trials (each a run of its
 * own, runs/<trial runId>/), the rounds they were trained in (one round without successive
 * halving), and the best trial. Written by the sweep function after every round (status
 * "running"), then once more when the sweep ends ("complete" or "failed"); `fmnist sweep status`
 * and the sweep's report page (sweeps/<sweepId>/index.html) read it.
 *
 * Trials are ranked by validation accuracy (the last epoch trained; the test split is the
 * yardstick of promotion and is never used to choose), then by lower validation loss, then by
 * their order in the sweep (the first listed wins): RANKING below, quoted on the report page.
 */
export const SWEEPS_PREFIX = PREFIXES.sweeps;
export const sweepPrefix = (sweepId: string) => `${SWEEPS_PREFIX}${sweepId}/`;
export const sweepRecordKey = (sweepId: string) => `${sweepPrefix(sweepId)}sweep.json`;
export const sweepPageKey = (sweepId: string) => `${sweepPrefix(sweepId)}index.html`;

export const RANKING = 'highest validation accuracy (last epoch trained), then lowest validation loss, then the earlier trial';

/** t01, t02, ...: a trial's id within its sweep; its run id is `<sweepId>-<trialId>`. */
export const TrialId = z.string().regex(/^t\d{2,3}$/, 'must be t01, t02, ...');
export const trialRunId = (sweepId: string, trialId: string) => `${sweepId}-${trialId}`;

const fraction = z.number().min(0).max(1);

/** What one round of training left of a trial. */
export const TrialRoundResult = z.strictObject({
  trialId: TrialId,
  runId: RunId,
  status: z.enum(['trained', 'failed']),
  /** Epochs trained in total when the round ended (its budget, or fewer with early stopping). */
  epochs: z.int().min(0).optional(),
  valAccuracy: fraction.optional(),
  valLoss: z.number().min(0).optional(),
  /** Training seconds of this round (this trial). */
  seconds: z.number().min(0).optional(),
  /** The error and cause of the state that failed, when status is "failed". */
  error: z.strictObject({ Error: z.string(), Cause: z.string() }).optional(),
});
export type TrialRoundResult = z.infer<typeof TrialRoundResult>;

export const SweepRound = z.strictObject({
  index: z.int().min(0),
  /** Epochs every trial of this round has trained when the round ends (the config's epochs in the last round). */
  epochBudget: z.int().min(1),
  /** The last round trains to the end, evaluates on the test split and registers each trial. */
  final: z.boolean(),
  results: z.array(TrialRoundResult),
});
export type SweepRound = z.infer<typeof SweepRound>;

export const SweepTrial = z.strictObject({
  trialId: TrialId,
  runId: RunId,
  /** The trial's config overrides (merged over the defaults by the train step), as the sweep made them. */
  config: z.record(z.string(), z.unknown()),
  /**
   * "complete": trained to the end, evaluated and registered; "stopped": dropped by successive
   * halving after round `stoppedAfterRound`; "failed": its error is in the round it failed in;
   * "pending": not finished yet (a running sweep).
   */
  status: z.enum(['pending', 'complete', 'stopped', 'failed']),
  stoppedAfterRound: z.int().min(0).optional(),
  /** Of the last round the trial trained in. */
  epochs: z.int().min(0).optional(),
  valAccuracy: fraction.optional(),
  valLoss: z.number().min(0).optional(),
  /** Training seconds over all rounds. */
  seconds: z.number().min(0).optional(),
  /** Test-split figures and where the run's files are, for trials that completed. */
  evaluation: z
    .strictObject({
      accuracy: fraction,
      macroF1: fraction,
      modelPrefix: S3Prefix,
      reportPrefix: S3Prefix,
    })
    .optional(),
});
export type SweepTrial = z.infer<typeof SweepTrial>;

export const SweepRecord = z.strictObject({
  sweepId: RunId,
  executionName: z.string().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  status: z.enum(['running', 'complete', 'failed']),
  datasetId: z.string().min(1),
  datasetPrefix: S3Prefix,
  testSetId: TestSetId,
  /** How the trials were made: "grid", "random" (with its seed) or "list" (given one by one). */
  source: z.strictObject({ kind: z.enum(['grid', 'random', 'list']), seed: z.int().optional() }),
  ranking: z.string(),
  /** Successive halving: keep the best 1/eta of the trials after each round (absent: one round). */
  halving: z.strictObject({ eta: z.int().min(2), epochBudgets: z.array(z.int().min(1)) }).optional(),
  trials: z.array(SweepTrial).min(1),
  rounds: z.array(SweepRound),
  /** The best trial (by RANKING, among the trials that completed); null while running or when all failed. */
  best: z.strictObject({ trialId: TrialId, runId: RunId }).nullable(),
  /** Why the sweep failed (every trial failed), when status is "failed". */
  failure: z.string().optional(),
  /** Seconds of training summed over every trial and round (what the sweep cost in compute). */
  trainingSeconds: z.number().min(0),
});
export type SweepRecord = z.infer<typeof SweepRecord>;

