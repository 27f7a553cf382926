import type { Node } from 'constructs';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';
import { closest, fieldPath } from '../lib/validation.ts';
import { APPROVAL_MODES, type ApprovalMode } from '../lib/workflow/execution-input.ts';
import { DEFAULT_MIN_ACCURACY } from '../lib/workflow/promotion.ts';
import { DATA_CHECK_POLICIES, DEFAULT_DATA_CHECK_SETTINGS, type DataCheckPolicy, type DataCheckThresholds } from '../lib/data/data-check-policy.ts';

/**
 * Deploy-time settings, read from CDK context (cdk.json "context", or `-c key=value`).
 * Context from the command line arrives as strings, from cdk.json as JSON values: both work.
 * Each key is a zod schema (SettingsContext); a bad value fails the synth naming the key, and a
 * misspelt key suggests the one meant (`-c destroyOnRemval=true` would otherwise do nothing).
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
  /** Email address told when a run ends and when a champion is promoted or rolled back (infra/notifications.ts); unset: no notifications. */
  readonly notifyEmail?: string;
  /**
   * The training image's base, pinned by digest (`<registry/repository>[:<tag>]@sha256:<64 hex>`);
   * passed to functions/train/Dockerfile as BASE_IMAGE. Unset: the Dockerfile's default tag.
   */
  readonly trainBaseImage?: string;
  /** Reserved concurrency of the train Lambda (see TRAIN_RESERVED_CONCURRENCY); undefined = none reserved. */
  readonly trainReservedConcurrency?: number;
  /** Approval for executions whose input does not choose: "auto" (the promotion rule) or "manual" (a person answers). */
  readonly approval: ApprovalMode;
  /** How long AwaitApproval waits for `fmnist models approve`/`reject` before the model is left unpromoted. */
  readonly approvalTimeoutHours: number;
  /** The promotion floor (lib/workflow/promotion.ts PromotionPolicy). */
  readonly promotionMinAccuracy: number;
  readonly promotionMinMacroF1?: number;
  /** The data checks' policy for executions whose input does not choose: "warn" (reported) or "fail" (the run stops at Ingest). */
  readonly dataChecks: DataCheckPolicy;
  /** The data checks' thresholds (lib/data/data-check-policy.ts), each overridable per execution. */
  readonly dataCheckThresholds: DataCheckThresholds;
  /** Trials a sweep trains at once when its input does not say (SWEEP_MAX_CONCURRENCY). */
  readonly sweepMaxConcurrency: number;
}

/** A week: long enough for a reviewer's weekend, short of Step Functions' one-year execution limit. */
export const DEFAULT_APPROVAL_TIMEOUT_HOURS = 168;

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

/**
 * A sweep trains this many trials at once unless its input says otherwise: twice the train
 * Lambda's reserved concurrency (TRAIN_RESERVED_CONCURRENCY), so that trials routed to Fargate
 * run beside those on Lambda, and those on Lambda wait in TrainOnLambda's throttling retry
 * rather than take the account's concurrency.
 */
export const SWEEP_MAX_CONCURRENCY = 4;

export const DEFAULT_SETTINGS: FmnistSettings = {
  destroyOnRemoval: false,
  logRetentionDays: 30,
  logLevel: 'INFO',
  lambdaTrainMaxImages: LAMBDA_TRAIN_MAX_IMAGES,
  maxTrainLoops: DEFAULT_MAX_TRAIN_LOOPS,
  trainReservedConcurrency: TRAIN_RESERVED_CONCURRENCY,
  approval: 'auto',
  approvalTimeoutHours: DEFAULT_APPROVAL_TIMEOUT_HOURS,
  promotionMinAccuracy: DEFAULT_MIN_ACCURACY,
  dataChecks: DEFAULT_DATA_CHECK_SETTINGS.policy,
  dataCheckThresholds: DEFAULT_DATA_CHECK_SETTINGS.thresholds,
  sweepMaxConcurrency: SWEEP_MAX_CONCURRENCY,
};

/**
 * An image reference pinned by digest: `<registry>/<repository>[:<tag>]@sha256:<64 hex>`. The
 * registry host is required (Docker Hub shorthand like `node:22` is not what the Dockerfile is
 * built for) and the tag, when present, only documents what the digest was looked up from.
 */
const PINNED_IMAGE =
  /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}$/;

const PINNED_IMAGE_EXPECTED =
  'must be an image pinned by digest, <registry/repository>:<tag>@sha256:<64 hex> or ' +
  '<registry/repository>@sha256:<64 hex> (look it up with "docker buildx imagetools inspect public.ecr.aws/lambda/nodejs:22")';

/** One message for a whole value schema, whichever of its forms failed: `must be …, got <value as given>`. */
const got = (expected: string) => ({ error: (issue: { input?: unknown }) => `${expected}, got ${JSON.stringify(issue.input)}` });

const PinnedImage = z.string(got(PINNED_IMAGE_EXPECTED)).trim().regex(PINNED_IMAGE, got(PINNED_IMAGE_EXPECTED));

/** `true`/`false`, as JSON or as command-line text. */
const Bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((text) => text === 'true')], got('must be true or false'));

/** A positive integer, as JSON or as command-line text ("7"). */
const positiveInt = (expected = 'must be a positive integer') => {
  const message = got(expected);
  const int = z.int(message).min(1, message);
  return z.union([int, z.string(message).trim().regex(/^[1-9][0-9]*$/, message).transform(Number).pipe(int)], message);
};

/** A fraction in [0, 1], as JSON or as command-line text ("0.8"). */
const fraction = z.union([z.number(), z.string().trim().regex(/^[0-9.]+$/).transform(Number)], got('must be a number from 0 to 1')).pipe(
  z.number(got('must be a number from 0 to 1')).min(0, got('must be a number from 0 to 1')).max(1, got('must be a number from 0 to 1')),
);

/** A pixel-value shift in [0, 255], as JSON or as command-line text ("20"). */
const pixelShift = z.union([z.number(), z.string().trim().regex(/^[0-9.]+$/).transform(Number)], got('must be a number from 0 to 255')).pipe(
  z.number(got('must be a number from 0 to 255')).min(0, got('must be a number from 0 to 255')).max(255, got('must be a number from 0 to 255')),
);

/** Not given, or an empty string (cdk.json's way of leaving a key unset): undefined. */
const unsetIsUndefined = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), schema.optional());

/** A string setting; anything else (or empty) is unset, as it always was. */
const optionalText = z.unknown().transform((value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined));

/** An e-mail address (what SNS accepts as an email endpoint), or unset. */
const optionalEmail = optionalText.pipe(z.email(got('must be an e-mail address like me@example.com')).optional());

/** The context keys this app reads, each as given (undefined when not given). */
export const SettingsContext = z.object({
  destroyOnRemoval: Bool.optional(),
  retrainSchedule: optionalText.pipe(z.string().regex(/^(rate|cron)\(.+\)$/, got('must be rate(...) or cron(...)')).optional()),
  logRetentionDays: positiveInt().optional(),
  logLevel: optionalText,
  lambdaTrainMaxImages: positiveInt().optional(),
  maxTrainLoops: unsetIsUndefined(positiveInt()),
  alarmEmail: optionalEmail,
  notifyEmail: optionalEmail,
  trainBaseImage: unsetIsUndefined(PinnedImage),
  /** "none": no reservation (undefined); unset keeps the default (null here). */
  trainReservedConcurrency: unsetIsUndefined(
    z.union([z.literal('none').transform(() => null), positiveInt('must be a positive integer or "none"')], got('must be a positive integer or "none"')),
  ),
  approval: unsetIsUndefined(z.enum(APPROVAL_MODES, got('must be "auto" or "manual"'))),
  approvalTimeoutHours: unsetIsUndefined(positiveInt()),
  promotionMinAccuracy: unsetIsUndefined(fraction),
  promotionMinMacroF1: unsetIsUndefined(fraction),
  dataChecks: unsetIsUndefined(z.enum(DATA_CHECK_POLICIES, got('must be "warn" or "fail"'))),
  dataCheckMaxDuplicateShare: unsetIsUndefined(fraction),
  dataCheckMaxLeakShare: unsetIsUndefined(fraction),
  dataCheckMaxLabelConflictShare: unsetIsUndefined(fraction),
  dataCheckMaxLabelDistance: unsetIsUndefined(fraction),
  dataCheckMaxClassMeanShift: unsetIsUndefined(pixelShift),
  sweepMaxConcurrency: unsetIsUndefined(positiveInt().pipe(z.int().max(40, got('must be at most 40 (an inline Map runs at most 40 iterations at once)')))),
});

const SETTING_KEYS = Object.keys(SettingsContext.shape);

function contextError(issues: readonly z.core.$ZodIssue[]): ConfigError {
  return new ConfigError(issues.map((issue) => `context "${fieldPath(issue.path)}" ${issue.message}`).join('; '));
}

export function asPinnedImage(value: unknown, key: string): string {
  const parsed = PinnedImage.safeParse(value);
  if (!parsed.success) throw contextError(parsed.error.issues.map((issue) => ({ ...issue, path: [key] })));
  return parsed.data;
}

/**
 * A context key that looks like one of ours misspelt (`destroyOnRemval`), with the one meant.
 * Only plain camelCase keys are considered: CDK's own (`@aws-cdk/...`, `aws:cdk:...`) never are.
 */
function misspeltKey(context: Record<string, unknown>): [string, string] | undefined {
  for (const key of Object.keys(context)) {
    if (SETTING_KEYS.includes(key) || !/^[A-Za-z][A-Za-z0-9]*$/.test(key)) continue;
    const meant = closest(key, SETTING_KEYS);
    if (meant) return [key, meant];
  }
  return undefined;
}

export function settingsFromContext(node: Node): FmnistSettings {
  const misspelt = misspeltKey(node.getAllContext());
  if (misspelt) {
    throw new ConfigError(`context "${misspelt[0]}": unknown key (did you mean "${misspelt[1]}"?); this app reads: ${SETTING_KEYS.join(', ')}`);
  }
  const given = Object.fromEntries(SETTING_KEYS.map((key) => [key, node.tryGetContext(key) as unknown]));
  const result = SettingsContext.safeParse(given);
  if (!result.success) throw contextError(result.error.issues);
  const context = result.data;
  const d = DEFAULT_SETTINGS;
  return {
    destroyOnRemoval: context.destroyOnRemoval ?? d.destroyOnRemoval,
    retrainSchedule: context.retrainSchedule,
    logRetentionDays: context.logRetentionDays ?? d.logRetentionDays,
    logLevel: context.logLevel ?? d.logLevel,
    lambdaTrainMaxImages: context.lambdaTrainMaxImages ?? d.lambdaTrainMaxImages,
    maxTrainLoops: context.maxTrainLoops ?? d.maxTrainLoops,
    alarmEmail: context.alarmEmail,
    notifyEmail: context.notifyEmail,
    trainBaseImage: context.trainBaseImage,
    trainReservedConcurrency:
      context.trainReservedConcurrency === undefined
        ? d.trainReservedConcurrency
        : (context.trainReservedConcurrency ?? undefined),
    approval: context.approval ?? d.approval,
    approvalTimeoutHours: context.approvalTimeoutHours ?? d.approvalTimeoutHours,
    promotionMinAccuracy: context.promotionMinAccuracy ?? d.promotionMinAccuracy,
    promotionMinMacroF1: context.promotionMinMacroF1,
    dataChecks: context.dataChecks ?? d.dataChecks,
    dataCheckThresholds: {
      maxDuplicateShare: context.dataCheckMaxDuplicateShare ?? d.dataCheckThresholds.maxDuplicateShare,
      maxLeakShare: context.dataCheckMaxLeakShare ?? d.dataCheckThresholds.maxLeakShare,
      maxLabelConflictShare: context.dataCheckMaxLabelConflictShare ?? d.dataCheckThresholds.maxLabelConflictShare,
      maxLabelDistance: context.dataCheckMaxLabelDistance ?? d.dataCheckThresholds.maxLabelDistance,
      maxClassMeanShift: context.dataCheckMaxClassMeanShift ?? d.dataCheckThresholds.maxClassMeanShift,
    },
    sweepMaxConcurrency: context.sweepMaxConcurrency ?? d.sweepMaxConcurrency,
  };
}
