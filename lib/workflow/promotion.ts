import { z } from 'zod';
import { MODEL_FILES } from './files.ts';
import { S3Prefix, Sha256, TestSetId } from './ids.ts';
import { ownRunPrefixes } from './keys.ts';
import { RunId } from './run-id.ts';
import { championKey, modelPrefix, reportPrefix } from './layout.ts';

/**
 * Champion promotion: which trained model is the best so far on a test split.
 *
 * One champion per test split, at `models/champions/<testSetId>.json` (testSetId: the sha256 of
 * the test split's content, lib/data/test-set-id.ts). Rule: a candidate replaces the champion
 * of the test split it was evaluated on when its test accuracy is strictly higher; ties keep the
 * incumbent. Only the test split matters, not the training data: a model retrained on new
 * training data and judged on the same test split is compared, and promoted when better. A
 * candidate judged on another test split goes to that split's champion. `promote: "always"`
 * replaces the champion regardless, `"never"` leaves it alone.
 *
 * The update is a compare-and-swap (functions/promote/handler.ts): the champion is read with
 * its ETag, the decision made, and the new record written with If-Match on that ETag (or
 * If-None-Match: * when there was none); a 412 means another execution promoted in between, so
 * the champion is read again and the decision made again. Two executions promoting at once
 * leave the better model.
 *
 * The record pins the exact model files: their version ids (the bucket is versioned on AWS; null
 * where it is not) and sha256, which every consumer checks (champion-files.ts).
 */
export { championKey };

export const PROMOTION_MODES = ['if-better', 'always', 'never'] as const;
export type PromotionMode = (typeof PROMOTION_MODES)[number];

const WEIGHTS_BIN = MODEL_FILES.weights;

/** The files a champion pins: the model a consumer loads. */
export const CHAMPION_FILES = [MODEL_FILES.model, WEIGHTS_BIN] as const;
export type ChampionFile = (typeof CHAMPION_FILES)[number];

const metric = z.number().min(0).max(1);

/** sha256 of each model file, as the evaluate step read them. */
export const ModelSha256 = z.strictObject({ [MODEL_FILES.model]: Sha256, [WEIGHTS_BIN]: Sha256 });
export type ModelSha256 = z.infer<typeof ModelSha256>;

/** The run to promote: its model and report prefixes must be its own (the champion points there). */
export const Candidate = z
  .strictObject({
    runId: RunId,
    datasetId: z.string().min(1),
    testSetId: TestSetId,
    accuracy: metric,
    macroF1: metric,
    modelPrefix: z.string(),
    reportPrefix: z.string(),
    /** What Evaluate evaluated: Promote refuses to point at files that differ. */
    modelSha256: ModelSha256,
  })
  .superRefine(ownRunPrefixes({ modelPrefix, reportPrefix }));
export type Candidate = z.infer<typeof Candidate>;

/** A model file pinned: its version id (null where the bucket is not versioned) and sha256. */
export const PinnedFile = z.strictObject({ versionId: z.string().min(1).nullable(), sha256: Sha256 });
const pinnedFile = PinnedFile;

/** What models/champions/<testSetId>.json holds. */
export const Champion = z.strictObject({
  runId: z.string().min(1),
  datasetId: z.string().min(1),
  testSetId: TestSetId,
  accuracy: metric,
  macroF1: metric,
  modelPrefix: S3Prefix,
  reportPrefix: S3Prefix,
  promotedAt: z.iso.datetime(),
  files: z.strictObject({ [MODEL_FILES.model]: pinnedFile, [WEIGHTS_BIN]: pinnedFile }),
  /** The run this one replaced, or null. */
  previous: z.string().min(1).nullable(),
  /** Why it was promoted. */
  reason: z.string(),
  /** Who or what made the change: "workflow (execution …)", "fmnist models promote (user …)"; absent in older records. */
  by: z.string().optional(),
  /** How it became champion: a promotion, or a rollback to it; absent (a promotion) in older records. */
  change: z.enum(['promotion', 'rollback']).optional(),
});
export type Champion = z.infer<typeof Champion>;
export type PinnedFiles = Champion['files'];

/**
 * The floor a model must reach to become champion by the accuracy rule (`if-better`), the first
 * champion of a test split included: without it a 17 %-accuracy model becomes champion when there
 * is none. `always` and a person's promotion or approval are not held to it.
 */
export const PromotionPolicy = z.strictObject({
  minAccuracy: z.number().min(0).max(1).default(0),
  minMacroF1: z.number().min(0).max(1).optional(),
});
export type PromotionPolicy = z.input<typeof PromotionPolicy>;

/** The stack's default floor (setting promotionMinAccuracy): well above chance (0.1), below any real run. */
export const DEFAULT_MIN_ACCURACY = 0.5;

export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

const pct = (value: number) => `${(value * 100).toFixed(2)}%`;

export function decide(
  current: Champion | undefined,
  candidate: Pick<Candidate, 'runId' | 'testSetId' | 'accuracy' | 'macroF1'>,
  mode: PromotionMode = 'if-better',
  policy: PromotionPolicy = {},
): PromotionDecision {
  if (mode === 'never') return { promote: false, reason: 'promotion disabled for this run (promote: "never")' };
  if (current !== undefined && current.testSetId !== candidate.testSetId) {
    // Cannot happen through championKey(candidate.testSetId); a record under the wrong key is not trusted.
    throw new Error(`the champion record of test set ${candidate.testSetId} is for test set ${current.testSetId}`);
  }
  if (current !== undefined && current.runId === candidate.runId) {
    return { promote: false, reason: `run ${candidate.runId} is already the champion` };
  }
  if (mode === 'always') {
    return { promote: true, reason: 'promotion forced for this run (promote: "always")' };
  }
  const floor = belowFloor(candidate, policy);
  if (floor) return { promote: false, reason: floor };
  if (current === undefined) return { promote: true, reason: 'no champion yet' };
  if (candidate.accuracy > current.accuracy) {
    return {
      promote: true,
      reason: `accuracy ${pct(candidate.accuracy)} beats the champion's ${pct(current.accuracy)} (${current.runId}) on the same test set`,
    };
  }
  return {
    promote: false,
    reason: `accuracy ${pct(candidate.accuracy)} does not beat the champion's ${pct(current.accuracy)} (${current.runId})`,
  };
}

function belowFloor(candidate: Pick<Candidate, 'accuracy' | 'macroF1'>, policy: PromotionPolicy): string | undefined {
  const minAccuracy = policy.minAccuracy ?? 0;
  if (candidate.accuracy < minAccuracy) {
    return `accuracy ${pct(candidate.accuracy)} is below the promotion floor ${pct(minAccuracy)} (setting promotionMinAccuracy; promote it by hand with \`fmnist models promote\`)`;
  }
  if (policy.minMacroF1 !== undefined && candidate.macroF1 < policy.minMacroF1) {
    return `macro F1 ${candidate.macroF1.toFixed(4)} is below the promotion floor ${policy.minMacroF1.toFixed(4)} (setting promotionMinMacroF1)`;
  }
  return undefined;
}

export function championFrom(
  candidate: Candidate,
  files: PinnedFiles,
  previous: Champion | undefined,
  reason: string,
  promotedAt: Date,
  by?: string,
): Champion {
  return {
    runId: candidate.runId,
    datasetId: candidate.datasetId,
    testSetId: candidate.testSetId,
    accuracy: candidate.accuracy,
    macroF1: candidate.macroF1,
    modelPrefix: candidate.modelPrefix,
    reportPrefix: candidate.reportPrefix,
    promotedAt: promotedAt.toISOString(),
    files,
    previous: previous?.runId ?? null,
    reason,
    ...(by ? { by } : {}),
    change: 'promotion',
  };
}
