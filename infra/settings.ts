import type { Node } from 'constructs';

/**
 * Deploy-time settings, read from CDK context (cdk.json "context", or `-c key=value`).
 * Context from the command line arrives as strings, from cdk.json as JSON values: both work.
 */
export interface FmnistSettings {
  /** `-c destroyOnRemoval=true` for dev stacks: buckets (emptied) and log groups go with the stack. Default false: RETAIN. */
  readonly destroyOnRemoval: boolean;
  /** EventBridge schedule expression for retraining on the latest raw data, e.g. "rate(7 days)". Off when empty. */
  readonly retrainSchedule?: string;
  /** Days to keep Lambda, ECS and state machine logs. */
  readonly logRetentionDays: number;
  /** LOG_LEVEL for the functions (Powertools). */
  readonly logLevel: string;
  /** See LAMBDA_TRAIN_MAX_IMAGES. */
  readonly lambdaTrainMaxImages: number;
  /** How often the train Lambda may answer "continue" in one execution (see DEFAULT_MAX_TRAIN_LOOPS). */
  readonly maxTrainLoops: number;
  /** Email address subscribed to the alarm topic; the topic and the alarms exist either way. */
  readonly alarmEmail?: string;
  /**
   * The training image's base, pinned by digest (`<registry/repository>[:<tag>]@sha256:<64 hex>`);
   * passed to functions/train/Dockerfile as BASE_IMAGE. Unset: the Dockerfile's default tag.
   */
  readonly trainBaseImage?: string;
  /** Reserved concurrency of the train Lambda (see TRAIN_RESERVED_CONCURRENCY); undefined = none reserved. */
  readonly trainReservedConcurrency?: number;
}

/**
 * trainOn "auto" sends a job to Fargate when epochs x train examples exceeds this. Default:
 * 1,000 images/s x 780 s = 780,000 image-passes. 1,000 images/s is what tfjs-node's op-by-op
 * step reaches on a 2-core shared machine, the step that still trains models the graph step
 * cannot express (batchNormalization); the graph step runs ~4x faster (bench/README.md) and the
 * Lambda has 6 vCPUs, so it is conservative; 780 s leaves 120 s of the 15-minute limit for cold start,
 * backend init, shard download and model upload. The whole train split counts (validation
 * included), which adds margin. Fashion-MNIST's 60,000 examples x 10 epochs = 600,000: Lambda.
 */
export const LAMBDA_TRAIN_IMAGES_PER_SECOND = 1_000;
export const LAMBDA_TRAIN_SECONDS_BUDGET = 780;
export const LAMBDA_TRAIN_MAX_IMAGES = LAMBDA_TRAIN_IMAGES_PER_SECOND * LAMBDA_TRAIN_SECONDS_BUDGET;

/**
 * Default cap on TrainOnLambda's "continue" answers in one execution: 20 more invocations of up
 * to 15 minutes, 5 h 15 min of Lambda training in all (routing sends anything near that long to
 * Fargate: infra/README.md), against a run that loops for ever on a bug.
 */
export const DEFAULT_MAX_TRAIN_LOOPS = 20;

/**
 * At most this many train Lambdas at once: each can hold 10,240 MB for 15 minutes (~$0.15), so a
 * burst of uploads or a script starting runs in a loop is capped here instead of taking that many
 * times the account's concurrency and cost; a run over the cap waits in TrainOnLambda's throttling
 * retry (infra/workflow-definition.ts). Two, not one: an upload-started run and a manual one
 * can train side by side. Lambda refuses a reservation that leaves the account fewer than its
 * minimum unreserved executions (new accounts with a concurrency quota of 10 cannot reserve
 * any): deploy there with `-c trainReservedConcurrency=none`.
 */
export const TRAIN_RESERVED_CONCURRENCY = 2;

export const DEFAULT_SETTINGS: FmnistSettings = {
  destroyOnRemoval: false,
  logRetentionDays: 30,
  logLevel: 'INFO',
  lambdaTrainMaxImages: LAMBDA_TRAIN_MAX_IMAGES,
  maxTrainLoops: DEFAULT_MAX_TRAIN_LOOPS,
  trainReservedConcurrency: TRAIN_RESERVED_CONCURRENCY,
};

/**
 * An image reference pinned by digest: `<registry>/<repository>[:<tag>]@sha256:<64 hex>`. The
 * registry host is required (Docker Hub shorthand like `node:22` is not what the Dockerfile is
 * built for) and the tag, when present, only documents what the digest was looked up from.
 */
const PINNED_IMAGE =
  /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}$/;

export function asPinnedImage(value: unknown, key: string): string {
  if (typeof value !== 'string' || !PINNED_IMAGE.test(value.trim())) {
    throw new Error(
      `context "${key}" must be an image pinned by digest, <registry/repository>:<tag>@sha256:<64 hex> or ` +
        `<registry/repository>@sha256:<64 hex> (look it up with "docker buildx imagetools inspect public.ecr.aws/lambda/nodejs:22"), ` +
        `got ${JSON.stringify(value)}`,
    );
  }
  return value.trim();
}

function asBoolean(value: unknown, key: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`context "${key}" must be true or false, got ${JSON.stringify(value)}`);
}

function asPositiveInt(value: unknown, key: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) {
    throw new Error(`context "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** Not given, or an empty string (cdk.json's way of leaving a key unset). */
function isUnset(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && value.trim() === '');
}

function asOptionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A positive integer, or "none" for no reservation; unset keeps the default. */
function reservedConcurrency(value: unknown, fallback: number | undefined): number | undefined {
  if (isUnset(value)) return fallback;
  if (value === 'none') return undefined;
  try {
    return asPositiveInt(value, 'trainReservedConcurrency');
  } catch {
    throw new Error(`context "trainReservedConcurrency" must be a positive integer or "none", got ${JSON.stringify(value)}`);
  }
}

export function settingsFromContext(node: Node): FmnistSettings {
  const get = (key: string) => node.tryGetContext(key) as unknown;
  const d = DEFAULT_SETTINGS;
  const schedule = asOptionalString(get('retrainSchedule'));
  if (schedule !== undefined && !/^(rate|cron)\(.+\)$/.test(schedule)) {
    throw new Error(`context "retrainSchedule" must be rate(...) or cron(...), got "${schedule}"`);
  }
  return {
    destroyOnRemoval: get('destroyOnRemoval') === undefined ? d.destroyOnRemoval : asBoolean(get('destroyOnRemoval'), 'destroyOnRemoval'),
    retrainSchedule: schedule,
    logRetentionDays:
      get('logRetentionDays') === undefined ? d.logRetentionDays : asPositiveInt(get('logRetentionDays'), 'logRetentionDays'),
    logLevel: asOptionalString(get('logLevel')) ?? d.logLevel,
    lambdaTrainMaxImages:
      get('lambdaTrainMaxImages') === undefined
        ? d.lambdaTrainMaxImages
        : asPositiveInt(get('lambdaTrainMaxImages'), 'lambdaTrainMaxImages'),
    maxTrainLoops: isUnset(get('maxTrainLoops')) ? d.maxTrainLoops : asPositiveInt(get('maxTrainLoops'), 'maxTrainLoops'),
    alarmEmail: asOptionalString(get('alarmEmail')),
    trainBaseImage: isUnset(get('trainBaseImage')) ? undefined : asPinnedImage(get('trainBaseImage'), 'trainBaseImage'),
    trainReservedConcurrency: reservedConcurrency(get('trainReservedConcurrency'), d.trainReservedConcurrency),
  };
}
