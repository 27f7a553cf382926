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
  /** Email address subscribed to the workflow's alarms; no notifications when empty. */
  readonly alarmEmail?: string;
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

export const DEFAULT_SETTINGS: FmnistSettings = {
  destroyOnRemoval: false,
  logRetentionDays: 30,
  logLevel: 'INFO',
  lambdaTrainMaxImages: LAMBDA_TRAIN_MAX_IMAGES,
};

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

function asOptionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
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
    alarmEmail: asOptionalString(get('alarmEmail')),
  };
}
