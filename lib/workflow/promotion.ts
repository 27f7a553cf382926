import { z } from 'zod';
import { ownRunPrefixes, RunId } from './keys.ts';
import { modelPrefix, PREFIXES, reportPrefix } from './layout.ts';

/**
 * Champion promotion: which trained model `models/champion.json` points at.
 *
 * Rule: a candidate replaces the champion only when both were evaluated on the SAME test set
 * (same datasetId: the id hashes the content of the train and test inputs) and the candidate's
 * test accuracy is strictly higher. Ties keep the incumbent. Metrics measured on different test
 * sets are not comparable, so a candidate from another dataset never replaces the champion on its
 * own; a user who wants to move the champion to new data starts a run with `promote: "always"`
 * (and `promote: "never"` trains and evaluates without touching the pointer). Re-evaluating the
 * champion on the new test set would also work, but it costs another evaluate step and would
 * overwrite the champion's own report, so it is left out on purpose.
 */
export const CHAMPION_KEY = `${PREFIXES.models}champion.json`;

export const PROMOTION_MODES = ['if-better', 'always', 'never'] as const;
export type PromotionMode = (typeof PROMOTION_MODES)[number];

const prefix = z.string().regex(/^[^/].*\/$/, 'must be an S3 key prefix ending in "/"');
const metric = z.number().min(0).max(1);

/** The run to promote: its model and report prefixes must be its own (the champion points there). */
export const Candidate = z
  .strictObject({
    runId: RunId,
    datasetId: z.string().min(1),
    accuracy: metric,
    macroF1: metric,
    modelPrefix: z.string(),
    reportPrefix: z.string(),
  })
  .superRefine(ownRunPrefixes({ modelPrefix, reportPrefix }));
export type Candidate = z.infer<typeof Candidate>;

/** What models/champion.json holds. Unknown extra keys are tolerated (older or newer writers). */
export const Champion = z.looseObject({
  runId: z.string().min(1),
  datasetId: z.string().min(1),
  accuracy: metric,
  macroF1: metric,
  modelPrefix: prefix,
  reportPrefix: prefix,
  promotedAt: z.string(),
});
export type Champion = z.infer<typeof Champion>;

export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

const pct = (value: number) => `${(value * 100).toFixed(2)}%`;

export function decide(
  current: Champion | undefined,
  candidate: Candidate,
  mode: PromotionMode = 'if-better',
): PromotionDecision {
  if (mode === 'never') return { promote: false, reason: 'promotion disabled for this run (promote: "never")' };
  if (current !== undefined && current.runId === candidate.runId) {
    return { promote: false, reason: `run ${candidate.runId} is already the champion` };
  }
  if (mode === 'always') {
    return { promote: true, reason: 'promotion forced for this run (promote: "always")' };
  }
  if (current === undefined) return { promote: true, reason: 'no champion yet' };
  if (current.datasetId !== candidate.datasetId) {
    return {
      promote: false,
      reason:
        `not comparable: the champion (${current.runId}) was evaluated on dataset ${current.datasetId}, ` +
        `the candidate on ${candidate.datasetId}; start a run with promote: "always" to adopt the new data`,
    };
  }
  if (candidate.accuracy > current.accuracy) {
    return {
      promote: true,
      reason: `accuracy ${pct(candidate.accuracy)} beats the champion's ${pct(current.accuracy)} on the same test set`,
    };
  }
  return {
    promote: false,
    reason: `accuracy ${pct(candidate.accuracy)} does not beat the champion's ${pct(current.accuracy)} (${current.runId})`,
  };
}

export function championFrom(candidate: Candidate, promotedAt: Date): Champion {
  return {
    runId: candidate.runId,
    datasetId: candidate.datasetId,
    accuracy: candidate.accuracy,
    macroF1: candidate.macroF1,
    modelPrefix: candidate.modelPrefix,
    reportPrefix: candidate.reportPrefix,
    promotedAt: promotedAt.toISOString(),
  };
}
