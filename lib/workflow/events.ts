import { z } from 'zod';
import { ConfigError } from '../data/errors.ts';

/**
 * The small JSON documents Step Functions passes between the steps: S3 keys, counts and
 * metrics, never tensors (state payloads are limited to 256 KiB).
 */
const s3KeyOrUrl = z.string().min(1).max(1024);
const prefix = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[^/].*\/$/, 'must be an S3 key prefix ending in "/"');
const runId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/, "1-80 letters, digits, '.', '_' or '-'");

export const IngestEvent = z.strictObject({
  train: z.array(s3KeyOrUrl).min(1),
  test: z.array(s3KeyOrUrl).min(1),
  limit: z.int().min(1).optional(),
});
export type IngestEvent = z.infer<typeof IngestEvent>;

const splitSummary = z.strictObject({ examples: z.int(), labelHistogram: z.array(z.int()) });
export const IngestResult = z.strictObject({
  datasetId: z.string(),
  datasetPrefix: prefix,
  reused: z.boolean(),
  train: splitSummary,
  test: splitSummary,
});
export type IngestResult = z.infer<typeof IngestResult>;

export const TrainEvent = z.strictObject({
  datasetPrefix: prefix,
  runId: runId.optional(),
  /** Training config overrides, validated by parseTrainConfig (it names the offending field). */
  config: z.record(z.string(), z.unknown()).optional(),
});
export type TrainEvent = z.infer<typeof TrainEvent>;

export interface TrainResult {
  runId: string;
  datasetPrefix: string;
  modelPrefix: string;
  backend: string;
  seconds: number;
  imagesPerSecond: number;
  epochs: number;
  valAccuracy?: number;
}

export const EvaluateEvent = z.strictObject({
  runId,
  datasetPrefix: prefix,
  modelPrefix: prefix,
});
export type EvaluateEvent = z.infer<typeof EvaluateEvent>;

export interface EvaluateResult {
  runId: string;
  reportPrefix: string;
  accuracy: number;
  loss: number;
  macroF1: number;
  weightedF1: number;
}

/** Parses an event or throws a ConfigError that lists every problem with its field path. */
export function parseEvent<T>(schema: z.ZodType<T>, event: unknown, what: string): T {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
  throw new ConfigError(`invalid ${what} event: ${problems.join('; ')}`);
}
