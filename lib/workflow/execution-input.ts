import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { oneOf, strictObject } from '../validation.ts';
import { parseTrainConfig } from '../model/config.ts';
import { DATA_CHECK_POLICIES, DataCheckSettings, DataCheckThresholds, DEFAULT_DATA_CHECK_SETTINGS } from '../data/data-check-policy.ts';
import { parseEvent, type IngestEvent } from './events.ts';
import { sourceKeys } from './keys.ts';
import { PROMOTION_MODES, type PromotionMode } from './promotion.ts';
import { newRunId, RUN_ID_PATTERN, RunId } from './run-id.ts';
import { planTrainingMemory, type TrainingMemoryPlan } from './train-memory.ts';
import { planSweep, type SweepPlan } from './sweep/sweep-spec.ts';
import { TrialId } from './sweep/sweep-record.ts';

/**
 * The input of one state machine execution (what `fmnist start`, the S3 trigger, the schedule or
 * a user in the console passes to StartExecution), and the plan the ValidateInput state turns it
 * into. Everything is checked here, before any work: unknown keys, wrong types, source files
 * outside raw/ of the workflow's bucket (keys.ts), out-of-range training settings
 * (parseTrainConfig: epochs 1..1000, batchSize 1..8192, ...) and configs too big for the memory
 * of where they would train (train-memory.ts) fail the execution at once with a ConfigError
 * naming the field.
 */
export const TRAIN_RUNTIMES = ['lambda', 'fargate', 'auto'] as const;
export type TrainRuntime = (typeof TRAIN_RUNTIMES)[number];

/** What started a run: a person (CLI, console), new data under raw/, or the schedule. */
export const TRIGGERS = ['manual', 'new-data', 'schedule'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/**
 * "auto": Promote decides by the promotion rule. "manual": after Evaluate the execution waits
 * (AwaitApproval, a task token) until `fmnist models approve` or `reject` answers, or the wait
 * times out (then the model is registered and not promoted).
 */
export const APPROVAL_MODES = ['auto', 'manual'] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

/** What a run was started with, as stored in runs/<runId>/run.json (run-record.ts) and compared on resume. */
export const RunInput = z.strictObject({
  /** Bare keys under raw/ (normalised by the execution input's schema). */
  train: z.array(z.string()),
  test: z.array(z.string()),
  limit: z.int().min(1).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  trainOn: z.enum(TRAIN_RUNTIMES),
  promote: z.enum(PROMOTION_MODES),
  /** Absent in records of older runs. */
  approval: z.enum(APPROVAL_MODES).optional(),
  trigger: z.enum(TRIGGERS).optional(),
  /** The data checks' policy and thresholds the run ingested under (the stack's filled in); absent in records of older runs. */
  dataChecks: z.enum(DATA_CHECK_POLICIES).optional(),
  dataCheckThresholds: DataCheckThresholds.optional(),
  /** A sweep's own record: its spec as given (lib/workflow/sweep/sweep-spec.ts). */
  sweep: z.record(z.string(), z.unknown()).optional(),
  /** A sweep trial's record: the sweep it belongs to (its config is the trial's). */
  trialOf: z.strictObject({ sweepId: RunId, trialId: TrialId }).optional(),
});
export type RunInput = z.infer<typeof RunInput>;

/**
 * The schema, for the workflow whose data bucket is `dataBucket` (s3:// sources become bare
 * keys). Without it (`ExecutionInput`, for checking flags before the bucket is known) any
 * bucket passes the source check and values stay as given.
 */
export function executionInputSchema(dataBucket?: string) {
  return strictObject({
    train: sourceKeys(dataBucket),
    test: sourceKeys(dataBucket),
    /** Keep only the first N examples of each split. */
    limit: z.int().min(1).optional(),
    /** Names the run (runs/<runId>/); defaults to the execution name when that is a valid run id. */
    runId: RunId.optional(),
    /** Training config overrides (lib/model/config.ts). */
    config: z.record(z.string(), z.unknown()).optional(),
    /** Where to train; "auto" picks Fargate when the job would not fit a 15-minute Lambda, or its memory. */
    trainOn: oneOf(TRAIN_RUNTIMES).default('auto'),
    /** "if-better" (default): replace the champion only with a better model on the same test set. */
    promote: oneOf(PROMOTION_MODES).default('if-better'),
    /** Default: the stack's (setting approval). */
    approval: oneOf(APPROVAL_MODES).optional(),
    /** "fail": a data check over its threshold stops the run at Ingest, before training. Default: the stack's (setting dataChecks). */
    dataChecks: oneOf(DATA_CHECK_POLICIES).optional(),
    /** Overrides of the stack's data check thresholds (lib/data/data-check-policy.ts), e.g. { "maxLeakShare": 0 }. */
    dataCheckThresholds: DataCheckThresholds.partial().strict().optional(),
    /** Set by the trigger function; "manual" otherwise. */
    trigger: oneOf(TRIGGERS).default('manual'),
    /**
     * Continue the run `runId` (which must exist: runs/<runId>/run.json) instead of claiming a new
     * one; train, test, limit and config must be the run's own (lib/workflow/run-record.ts).
     */
    resume: z.boolean().default(false),
    /**
     * false: train even when a run completed with the same dataset, config and code version
     * (step caching, lib/workflow/step-cache.ts); by default such a run is reused.
     */
    cache: z.boolean().default(true),
    /**
     * A hyperparameter sweep (lib/workflow/sweep/sweep-spec.ts): many configs trained on the same
     * ingested data in one execution (a Map state), each a run of its own, the best promoted.
     */
    sweep: z.record(z.string(), z.unknown()).optional(),
  });
}
export const ExecutionInput = executionInputSchema();
export type ExecutionInput = z.input<typeof ExecutionInput>;

/** What ValidateInput outputs: the states after it read only this. */
export interface ExecutionPlan {
  ingest: IngestEvent;
  runId: string;
  /** The user's overrides, validated; the train step merges them over the defaults again. */
  config: Record<string, unknown>;
  trainOn: TrainRuntime;
  promote: PromotionMode;
  approval: ApprovalMode;
  epochs: number;
  /**
   * The largest train split that still trains on Lambda when trainOn is "auto": the smaller of
   * floor(lambdaTrainMaxImages / epochs) (its 15 minutes) and what its memory holds (0 when the
   * model alone does not fit: see `memory.reason`). The Choice state compares the ingested train
   * split's example count against it (Step Functions' JSONPath has no multiplication).
   */
  lambdaMaxTrainExamples: number;
  /** The training memory estimate behind lambdaMaxTrainExamples. */
  memory: TrainingMemoryPlan;
  /** This execution continues an existing run (its run.json was checked, not written). */
  resume: boolean;
  /** A sweep's trials and rounds; absent for a single run. */
  sweep?: PlannedSweep;
}

/** A sweep trial as the Map state gets it: its run, config and where it may train. */
export interface PlannedTrial {
  trialId: string;
  runId: string;
  config: Record<string, unknown>;
  trainOn: TrainRuntime;
  /** As ExecutionPlan.lambdaMaxTrainExamples, for this trial's config. */
  lambdaMaxTrainExamples: number;
}

export interface PlannedSweep extends Omit<SweepPlan, 'trials'> {
  trials: PlannedTrial[];
}

const BucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name');

/** The ValidateInput task's payload: the execution input plus what the state machine knows. */
export const ValidateEvent = z.strictObject({
  input: z.unknown(),
  executionName: z.string().optional(),
  lambdaTrainMaxImages: z.int().min(1),
  /** The workflow's data bucket: the only bucket source files may come from. */
  dataBucket: BucketName,
  /** Memory of the two places training can run, MiB. */
  trainMemoryMiB: z.strictObject({ lambda: z.int().min(128), fargate: z.int().min(512) }),
  /** The stack's approval mode, for executions whose input does not choose. */
  defaultApproval: z.enum(APPROVAL_MODES).default('auto'),
  /** The stack's data check policy and thresholds, for executions whose input does not choose. */
  defaultDataChecks: DataCheckSettings.default(DEFAULT_DATA_CHECK_SETTINGS),
  /** The stack's sweep concurrency (setting sweepMaxConcurrency), for sweeps whose input does not choose. */
  defaultSweepConcurrency: z.int().min(1).max(40).default(4),
});
export type ValidateEvent = z.infer<typeof ValidateEvent>;

/** A checked ValidateInput event: the plan, and what the run's record (run-record.ts) keeps of it. */
export interface CheckedExecution {
  plan: ExecutionPlan;
  /** The execution input as validated (source keys normalised, defaults filled). */
  input: RunInput;
  executionName?: string;
  dataBucket: string;
}

export function planExecution(event: unknown, now = new Date()): ExecutionPlan {
  return checkExecution(event, now).plan;
}

export function checkExecution(event: unknown, now = new Date()): CheckedExecution {
  const { input, executionName, lambdaTrainMaxImages, dataBucket, trainMemoryMiB, defaultApproval, defaultDataChecks, defaultSweepConcurrency } = parseEvent(
    ValidateEvent,
    event,
    'validate',
  );
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError('invalid execution input: (input): must be a JSON object with "train" and "test"');
  }
  const parsed = parseEvent(executionInputSchema(dataBucket), input, 'execution input');
  const config = parsed.config ?? {};
  const source = 'execution input "config"';
  const trainConfig = parseTrainConfig(config, source);
  const memory = planTrainingMemory(trainConfig, parsed.trainOn, trainMemoryMiB, parsed.limit, source);
  if (parsed.resume && parsed.runId === undefined) {
    throw new ConfigError('invalid execution input: runId: required with resume: true (the id of the run to continue)');
  }
  const runId = parsed.runId ?? (executionName && RUN_ID_PATTERN.test(executionName) ? executionName : newRunId(now));
  const lambdaMaxTrainExamplesOf = (epochs: number, plan: TrainingMemoryPlan) => Math.min(Math.floor(lambdaTrainMaxImages / epochs), plan.lambdaMaxTrainExamples);
  let sweep: PlannedSweep | undefined;
  if (parsed.sweep !== undefined) {
    if (parsed.resume) throw new ConfigError('invalid execution input: resume: a sweep cannot be resumed; start it again under a new runId');
    if (!RUN_ID_PATTERN.test(`${runId}-t00`)) throw new ConfigError(`invalid execution input: runId: "${runId}" is too long for a sweep (its trials are "${runId}-t01", ...; at most 76 characters)`);
    const planned = planSweep(parsed.sweep, runId, config, defaultSweepConcurrency);
    sweep = {
      ...planned,
      trials: planned.trials.map((trial) => {
        const trialMemory = planTrainingMemory(trial.trainConfig, parsed.trainOn, trainMemoryMiB, parsed.limit, `sweep trial ${trial.trialId}`);
        return {
          trialId: trial.trialId,
          runId: trial.runId,
          config: trial.config,
          trainOn: parsed.trainOn,
          lambdaMaxTrainExamples: lambdaMaxTrainExamplesOf(trial.trainConfig.epochs, trialMemory),
        };
      }),
    };
  }
  const dataChecks: DataCheckSettings = {
    policy: parsed.dataChecks ?? defaultDataChecks.policy,
    thresholds: { ...defaultDataChecks.thresholds, ...parsed.dataCheckThresholds },
  };
  const plan: ExecutionPlan = {
    ingest: {
      train: parsed.train,
      test: parsed.test,
      ...(parsed.limit !== undefined ? { limit: parsed.limit } : {}),
      dataChecks,
      // Step caching (step-cache.ts): Ingest looks for a completed run of this config; a resumed run
      // finishes itself, and a sweep trains its own trials.
      ...(parsed.cache && !parsed.resume && parsed.sweep === undefined ? { reuse: { config: { ...trainConfig } } } : {}),
    },
    runId,
    config,
    trainOn: parsed.trainOn,
    promote: parsed.promote,
    approval: parsed.approval ?? defaultApproval,
    epochs: trainConfig.epochs,
    lambdaMaxTrainExamples: lambdaMaxTrainExamplesOf(trainConfig.epochs, memory),
    memory,
    resume: parsed.resume,
    ...(sweep ? { sweep } : {}),
  };
  const runInput: RunInput = {
    train: parsed.train,
    test: parsed.test,
    ...(parsed.limit !== undefined ? { limit: parsed.limit } : {}),
    ...(parsed.config !== undefined ? { config: parsed.config } : {}),
    trainOn: parsed.trainOn,
    promote: parsed.promote,
    approval: parsed.approval ?? defaultApproval,
    trigger: parsed.trigger,
    dataChecks: dataChecks.policy,
    dataCheckThresholds: dataChecks.thresholds,
    ...(parsed.sweep !== undefined ? { sweep: parsed.sweep } : {}),
  };
  return { plan, input: runInput, ...(executionName !== undefined ? { executionName } : {}), dataBucket };
}
