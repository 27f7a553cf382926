import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { formatIssues } from '../validation.ts';
import { DataCheckSettings } from '../data/data-check-policy.ts';
import { S3Prefix, TestSetId } from './ids.ts';
import { DatasetPrefix, ownRunPrefixes, sourceKeys } from './keys.ts';
import { RunId } from './run-id.ts';
import { modelPrefix } from './layout.ts';

/**
 * The small JSON documents Step Functions passes between the steps: S3 keys, counts and
 * metrics, never tensors (state payloads are limited to 256 KiB). Which keys each may name is
 * decided in keys.ts.
 */

/**
 * The ingest step's event, for the function whose data bucket is `dataBucket`: source files
 * under raw/ of that bucket (s3:// URLs only for it), given back as bare keys.
 */
export function ingestEventSchema(dataBucket: string) {
  return z.strictObject({
    train: sourceKeys(dataBucket),
    test: sourceKeys(dataBucket),
    limit: z.int().min(1).optional(),
    /** The data checks' policy and thresholds (the plan fills them from the input and the stack); default "warn" with default thresholds. */
    dataChecks: DataCheckSettings.optional(),
    /** Step caching (step-cache.ts): look for a completed run of this fully resolved training config. Absent: train. */
    reuse: z.strictObject({ config: z.record(z.string(), z.unknown()) }).optional(),
  });
}
export interface IngestEvent {
  /** Bare keys under raw/ (the plan normalises s3:// forms). */
  train: string[];
  test: string[];
  limit?: number;
  dataChecks?: DataCheckSettings;
  reuse?: { config: Record<string, unknown> };
}

const splitSummary = z.strictObject({ examples: z.int(), labelHistogram: z.array(z.int()) });
export const IngestResult = z.strictObject({
  datasetId: z.string(),
  datasetPrefix: S3Prefix,
  /** sha256 of the test split's content (lib/data/test-set-id.ts): champions are kept per test split. */
  testSetId: TestSetId,
  reused: z.boolean(),
  /** The dataset this one grew from (manifest lineage), null when none. */
  parent: z.string().nullable(),
  /** Source files read from the ingest's source cache instead of parsed (lib/data/source-cache.ts). */
  sourcesFromCache: z.int().min(0),
  /** The completed run with this dataset, config and code version (step caching), or null: train. */
  reusedRun: z.string().nullable(),
  train: splitSummary,
  test: splitSummary,
});
export type IngestResult = z.infer<typeof IngestResult>;

export const TrainEvent = z.strictObject({
  datasetPrefix: DatasetPrefix,
  runId: RunId.optional(),
  /** Training config overrides, validated by parseTrainConfig (it names the offending field). */
  config: z.record(z.string(), z.unknown()).optional(),
  /**
   * Train until this many epochs are done in total (earlier invocations of the run included),
   * then checkpoint and answer TrainBudgetReached (a sweep's successive halving). Not part of the
   * config: a run may resume with another budget or none. At or above config.epochs: no effect.
   */
  epochBudget: z.int().min(1).optional(),
});
export type TrainEvent = z.infer<typeof TrainEvent>;

/** Where training stands: the next batch to run (lib/model/checkpoint; {epochs + 1, 0} is done). */
export interface TrainPosition {
  epoch: number;
  batch: number;
  epochs: number;
  batches: number;
}

/** The train step finished: the model is under modelPrefix. */
export interface TrainResult {
  status: 'complete';
  runId: string;
  datasetPrefix: string;
  modelPrefix: string;
  backend: string;
  seconds: number;
  imagesPerSecond: number;
  /** Epochs trained: the config's, or fewer when early stopping ended training. */
  epochs: number;
  valAccuracy?: number;
  /** The last epoch's validation loss (a sweep's tie-break). */
  valLoss?: number;
  /** Where this invocation started: absent for a fresh start, the checkpoint's position on a resume. */
  resumedFrom?: TrainPosition;
  /** The model was already there (a retried or resumed invocation): returned as stored, nothing trained. */
  reused?: boolean;
}

/**
 * The train Lambda ran short of time and checkpointed: the state machine invokes it again with the
 * same TrainEvent, and it resumes from runs/<runId>/checkpoint/.
 */
export interface TrainContinuation {
  status: 'continue';
  runId: string;
  datasetPrefix: string;
  /** The next batch to run. */
  position: TrainPosition;
  /** Where this invocation started (absent: from scratch). */
  resumedFrom?: TrainPosition;
  /** Seconds this invocation trained. */
  seconds: number;
}

/**
 * The event's epochBudget is reached and checkpointed (runs/<runId>/checkpoint/): the same run
 * invoked again with a larger budget (or none) continues from there. Training that ended first
 * (config.epochs, early stopping) answers TrainResult instead.
 */
export interface TrainBudgetReached {
  status: 'budget';
  runId: string;
  datasetPrefix: string;
  /** Epochs done, earlier invocations included: the budget, or more when they were already done. */
  epochs: number;
  /** The last trained epoch's validation figures; absent without a validation split. */
  valAccuracy?: number;
  valLoss?: number;
  /** Seconds this invocation trained (0 when the checkpoint was already at the budget). */
  seconds: number;
  /** Where this invocation started (absent: from scratch). */
  resumedFrom?: TrainPosition;
}

export type TrainOutcome = TrainResult | TrainContinuation | TrainBudgetReached;

export const EvaluateEvent = z
  .strictObject({
    runId: RunId,
    datasetPrefix: DatasetPrefix,
    modelPrefix: z.string(),
  })
  .superRefine(ownRunPrefixes({ modelPrefix }));
export type EvaluateEvent = z.infer<typeof EvaluateEvent>;

export interface EvaluateResult {
  runId: string;
  reportPrefix: string;
  accuracy: number;
  loss: number;
  macroF1: number;
  weightedF1: number;
  /** sha256 of the model files evaluated (model.json, weights.bin): Promote pins exactly these. */
  modelSha256: { 'model.json': string; 'weights.bin': string };
  /** True when the run's report was already complete (a resumed run) and was returned as stored. */
  reused: boolean;
}

/** Parses an event or throws a ConfigError that lists every problem with its field path. */
export function parseEvent<T>(schema: z.ZodType<T>, event: unknown, what: string): T {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = formatIssues(result.error.issues.map((issue) => (issue.path.length > 0 || issue.code === 'unrecognized_keys' ? issue : { ...issue, path: ['(event)'] })));
  throw new ConfigError(`invalid ${what} event: ${problems.join('; ')}`);
}
