import type { PauseProgress } from '../../lib/model/train.ts';

/**
 * When the train Lambda stops to checkpoint and hand over to its next invocation ("continue").
 *
 * Before each slice of work (one batch; for the last batch of an epoch, that batch plus the
 * epoch end's validation and checkpoint) training goes on only if, after the slice, there would
 * still be time to checkpoint (or, when the slice finishes training, to upload the model, which is
 * smaller than a checkpoint) and return:
 *
 *     remaining > SAFETY x (slice + checkpoint) + reserve
 *
 * - slice and checkpoint are measured in this invocation (msPerBatch, msLastValidation,
 *   msLastCheckpoint); before the first checkpoint of an invocation its cost is assumed to be
 *   min(UNMEASURED_CHECKPOINT_MS, UNMEASURED_CHECKPOINT_FRACTION of the budget): 1 s on AWS, a
 *   tenth of a scaled-down local budget (counted twice, it would otherwise eat a 3-second
 *   budget whole). Measured costs are wall-clock: they include whatever does not scale
 *   with the time budget (S3 round trips, a process's own pace), so they hold in the local cloud too.
 * - SAFETY covers batches slower than the average (GC pauses, a noisy neighbour, an S3 retry).
 * - reserve = min(RESERVE_FRACTION of the invocation's budget, RESERVE_CAP_MS): on AWS (900 s) 20 s
 *   for the response and the unexpected, 2 % of the slice; in the local cloud, where timeScale
 *   shrinks the deadline but not process starts or S3 calls, the fraction keeps a few-second budget
 *   usable (1.6 s of 8 s) instead of a fixed reserve that would leave nothing to train in. A fifth,
 *   not less: on a loaded machine a process may stall for a second (5 % timed out in tests).
 *
 * Each invocation runs at least one slice, whatever the estimate: a budget smaller than the work
 * of one slice must not loop on "continue" without progress. If that slice then does not fit,
 * the Lambda times out and the state machine's timeout fallback resumes from the last checkpoint.
 */
export const SAFETY = 1.5;
export const RESERVE_FRACTION = 0.2;
export const RESERVE_CAP_MS = 20_000;
export const UNMEASURED_CHECKPOINT_MS = 1_000;
export const UNMEASURED_CHECKPOINT_FRACTION = 0.1;

export interface TimeBudget {
  /** For TrainHooks.pauseWhen. */
  pauseWhen(progress: PauseProgress): boolean;
  /** The reserve kept for this invocation, ms. */
  readonly reserveMs: number;
}

/**
 * `remainingMs` is the Lambda context's getRemainingTimeInMillis; `budgetMs` what it said when the
 * invocation started.
 */
export function timeBudget(remainingMs: () => number, budgetMs: number): TimeBudget {
  const reserveMs = Math.min(RESERVE_FRACTION * budgetMs, RESERVE_CAP_MS);
  const unmeasuredCheckpointMs = Math.min(UNMEASURED_CHECKPOINT_MS, UNMEASURED_CHECKPOINT_FRACTION * budgetMs);
  let asked = 0;
  return {
    reserveMs,
    pauseWhen({ position, msPerBatch, msLastValidation, msLastCheckpoint }) {
      // The first slice always runs (see above).
      if (asked++ === 0) return false;
      const checkpointMs = msLastCheckpoint > 0 ? msLastCheckpoint : unmeasuredCheckpointMs;
      const endsEpoch = position.batch === position.batches - 1;
      const sliceMs = msPerBatch + (endsEpoch ? msLastValidation + checkpointMs : 0);
      return remainingMs() <= SAFETY * (sliceMs + checkpointMs) + reserveMs;
    },
  };
}
