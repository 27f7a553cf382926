import { z } from 'zod';
import { ConfigError } from '../data/errors.ts';
import { parseTrainConfig } from '../model/config.ts';
import { IngestEvent, parseEvent } from './events.ts';
import { PROMOTION_MODES, type PromotionMode } from './promotion.ts';
import { newRunId } from './run-id.ts';

/**
 * The input of one state machine execution (what `fmnist start`, the S3 trigger, the schedule or
 * a user in the console passes to StartExecution), and the plan the ValidateInput state turns it
 * into. Everything is checked here, before any work: unknown keys, wrong types and out-of-range
 * training settings (parseTrainConfig: epochs 1..1000, batchSize 1..8192, ...) fail the
 * execution at once with a ConfigError naming the field.
 */
export const TRAIN_RUNTIMES = ['lambda', 'fargate', 'auto'] as const;
export type TrainRuntime = (typeof TRAIN_RUNTIMES)[number];

export const ExecutionInput = z.strictObject({
  ...IngestEvent.shape,
  /** Names the run (runs/<runId>/); defaults to the execution name when that is a valid run id. */
  runId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/, "1-80 letters, digits, '.', '_' or '-'")
    .optional(),
  /** Training config overrides (lib/model/config.ts). */
  config: z.record(z.string(), z.unknown()).optional(),
  /** Where to train; "auto" picks Fargate when the job would not fit a 15-minute Lambda. */
  trainOn: z.enum(TRAIN_RUNTIMES).default('auto'),
  /** "if-better" (default): replace the champion only with a better model on the same test set. */
  promote: z.enum(PROMOTION_MODES).default('if-better'),
});
export type ExecutionInput = z.input<typeof ExecutionInput>;

/** What ValidateInput outputs: the states after it read only this. */
export interface ExecutionPlan {
  ingest: IngestEvent;
  runId: string;
  /** The user's overrides, validated; the train step merges them over the defaults again. */
  config: Record<string, unknown>;
  trainOn: TrainRuntime;
  promote: PromotionMode;
  epochs: number;
  /**
   * The largest train split that still trains on Lambda when trainOn is "auto":
   * floor(lambdaTrainMaxImages / epochs). The Choice state compares the ingested train split's
   * example count against it (Step Functions' JSONPath has no multiplication).
   */
  lambdaMaxTrainExamples: number;
}

/** The ValidateInput task's payload: the execution input plus what the state machine knows. */
export const ValidateEvent = z.strictObject({
  input: z.unknown(),
  executionName: z.string().optional(),
  lambdaTrainMaxImages: z.int().min(1),
});
export type ValidateEvent = z.infer<typeof ValidateEvent>;

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

export function planExecution(event: unknown, now = new Date()): ExecutionPlan {
  const { input, executionName, lambdaTrainMaxImages } = parseEvent(ValidateEvent, event, 'validate');
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigError('invalid execution input: (input): must be a JSON object with "train" and "test"');
  }
  const parsed = parseEvent(ExecutionInput, input, 'execution input');
  const config = parsed.config ?? {};
  const { epochs } = parseTrainConfig(config, 'execution input "config"');
  const runId = parsed.runId ?? (executionName && RUN_ID.test(executionName) ? executionName : newRunId(now));
  return {
    ingest: { train: parsed.train, test: parsed.test, ...(parsed.limit !== undefined ? { limit: parsed.limit } : {}) },
    runId,
    config,
    trainOn: parsed.trainOn,
    promote: parsed.promote,
    epochs,
    lambdaMaxTrainExamples: Math.floor(lambdaTrainMaxImages / epochs),
  };
}
