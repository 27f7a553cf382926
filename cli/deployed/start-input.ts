import { stat } from 'node:fs/promises';
import { readJsonFlagFile, trainConfigOverrides, type TrainFlags } from '../options.ts';
import { ConfigError } from '../../lib/errors.ts';
import { parseTrainConfig } from '../../lib/model/config.ts';
import { parseS3Location } from '../../lib/aws/s3.ts';
import { ExecutionInput, type ApprovalMode, type TrainRuntime } from '../../lib/workflow/execution-input.ts';
import { PREFIXES } from '../../lib/workflow/layout.ts';
import { planSweep } from '../../lib/workflow/sweep/sweep-spec.ts';
import type { DataCheckPolicy } from '../../lib/data/data-check-policy.ts';
import { type PromotionMode } from '../../lib/workflow/promotion.ts';
import type { AwsConnectionFlags } from './clients.ts';
import { validateConnectionFlags } from './stack.ts';

/** `fmnist start` flags (commander's camelCase names). */
export interface StartFlags extends AwsConnectionFlags, Omit<TrainFlags, 'backend'> {
  /** s3://<data bucket>/raw/... URLs, raw/... keys in the data bucket, or local files (uploaded). */
  train?: string[];
  test?: string[];
  trainOn?: TrainRuntime;
  promote?: PromotionMode;
  /** "manual": the execution waits after Evaluate for `fmnist models approve`/`reject` (default: the stack's setting). */
  approval?: ApprovalMode;
  /** "fail": a data check over its threshold stops the execution at Ingest (default: the stack's setting dataChecks). */
  dataChecks?: DataCheckPolicy;
  /** false (--no-cache): train even when a completed run with the same dataset, config and code version could be reused. */
  cache?: boolean;
  /** Keep only the first N examples of each split. */
  limit?: number;
  runId?: string;
  /** Follow the execution to its end, then download the report. */
  wait?: boolean;
  /** Where the report goes with --wait (default runs/<runId>/report). */
  out?: string;
  /** One JSON summary line on stdout; progress goes to stderr. */
  json?: boolean;
  /** A JSON file holding the execution input's `sweep` (lib/workflow/sweep/sweep-spec.ts): a sweep instead of one run. */
  sweep?: string;
}

export type DataSource =
  | { kind: 's3'; text: string; bucket: string; key: string }
  | { kind: 'key'; text: string; key: string }
  | { kind: 'local'; text: string; path: string; size: number };

/** What the flags say, checked before any AWS call. */
export interface StartPlan {
  /** Undefined: use the latest complete train/test pair under raw/. */
  sources?: { train: DataSource[]; test: DataSource[] };
  /** Everything of the execution input but train and test. */
  settings: Omit<ExecutionInput, 'train' | 'test'>;
  now: Date;
}

const FLAG_OF: Record<string, string> = {
  train: '--train',
  test: '--test',
  limit: '--limit',
  runId: '--run-id',
  trainOn: '--train-on',
  promote: '--promote',
  approval: '--approval',
  dataChecks: '--data-checks',
  cache: '--no-cache',
  config: '--config / training flags',
  sweep: '--sweep',
};

/**
 * Validates every flag the way the workflow's ValidateInput state will (the same zod schema and
 * parseTrainConfig), so a typo fails here and not minutes later in the cloud.
 */
export async function planStart(flags: StartFlags, now = new Date()): Promise<StartPlan> {
  validateConnectionFlags(flags);
  if (Boolean(flags.train?.length) !== Boolean(flags.test?.length)) {
    throw new ConfigError('give both --train and --test, or neither to use the latest complete pair under raw/');
  }
  if (flags.out !== undefined && !flags.wait) {
    throw new ConfigError('--out is where --wait downloads the report: add --wait');
  }
  const config = await trainConfigOverrides(flags);
  const settings: StartPlan['settings'] = {
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.runId !== undefined ? { runId: flags.runId } : {}),
    ...(Object.keys(config).length > 0 ? { config } : {}),
    ...(flags.trainOn !== undefined ? { trainOn: flags.trainOn } : {}),
    ...(flags.promote !== undefined ? { promote: flags.promote } : {}),
    ...(flags.approval !== undefined ? { approval: flags.approval } : {}),
    ...(flags.dataChecks !== undefined ? { dataChecks: flags.dataChecks } : {}),
    ...(flags.cache === false ? { cache: false } : {}),
    ...(flags.sweep !== undefined ? { sweep: await readSweepFile(flags.sweep) } : {}),
  };
  // The schema with placeholder data: names the flag of any bad setting.
  validateExecutionInput({ train: ['raw/placeholder.csv'], test: ['raw/placeholder.csv'], ...settings });
  // Every trial's config too, as ValidateInput will check them (the run id is a placeholder).
  if (settings.sweep) planSweep(settings.sweep, 'sweep-check', config, 1);
  if (!flags.train?.length) return { settings, now };
  const sources = {
    train: await Promise.all(flags.train.map((text) => classifySource(text, '--train'))),
    test: await Promise.all(flags.test!.map((text) => classifySource(text, '--test'))),
  };
  return { sources, settings, now };
}

async function readSweepFile(path: string): Promise<Record<string, unknown>> {
  const spec = await readJsonFlagFile(path, 'the --sweep file');
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ConfigError(`--sweep ${path}: expected a JSON object like { "grid": { "learningRate": [0.001, 0.0005] } }`);
  return spec as Record<string, unknown>;
}

/** Throws a ConfigError naming the flag behind each problem. */
export function validateExecutionInput(input: ExecutionInput): void {
  const result = ExecutionInput.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return `${FLAG_OF[field] ?? (issue.path.join('.') || '(input)')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid execution input: ${problems.join('; ')}`);
  }
  parseTrainConfig(input.config ?? {}, 'training config (--config and training flags)');
}

/** s3://bucket/key, a local file (uploaded later), or a raw/... key of the data bucket. */
export async function classifySource(text: string, flag: string): Promise<DataSource> {
  if (text.startsWith('s3://')) {
    const { bucket, key } = parseS3Location(text);
    return { kind: 's3', text, bucket, key };
  }
  const info = await stat(text).catch(() => undefined);
  if (info?.isFile()) return { kind: 'local', text, path: text, size: info.size };
  if (info) throw new ConfigError(`${flag} ${text}: not a regular file`);
  if (text.startsWith(PREFIXES.raw) && text.length > PREFIXES.raw.length) return { kind: 'key', text, key: text };
  throw new ConfigError(
    `${flag} ${text}: no such local file (give a local file, an s3://<data bucket>/raw/... URL, or a raw/... key of the data bucket)`,
  );
}
