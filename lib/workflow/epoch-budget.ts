import { trainingFinished, type TrainingCheckpoint, type TrainingPosition } from '../model/checkpoint/index.ts';
import type { PauseProgress } from '../model/train.ts';

/**
 * An epoch budget (TrainEvent.epochBudget): train a run until this many epochs are done in total,
 * earlier invocations of the same run included, then checkpoint and stop. Successive halving
 * trains every trial to a first budget, keeps the best, and continues the survivors from their
 * checkpoints with a larger one; the pause machinery of lib/model/train.ts keeps that exact (the
 * same weights as one uninterrupted run).
 *
 * The budget is checked only at epoch ends: a trial is ranked by a whole epoch's validation.
 */

/** Epochs done when training stands at `position` (the next batch to run). */
export function epochsDoneAt(position: TrainingPosition): number {
  return position.epoch - 1;
}

/**
 * True at an epoch end once `budget` epochs are done. trainModel asks pauseWhen at an epoch end
 * with the next epoch's batch 0, and between batches always with a batch above 0.
 */
export function budgetReachedAt(position: TrainingPosition, budget: number): boolean {
  return position.batch === 0 && epochsDoneAt(position) >= budget;
}

/**
 * A checkpoint already at or past the budget (a retried invocation, or a budget not larger than
 * what is done): there is nothing to train for it. A finished checkpoint is not: its run resumes
 * to the complete model whatever the budget.
 */
export function budgetSpentBy(checkpoint: TrainingCheckpoint, budget: number): boolean {
  return !trainingFinished(checkpoint) && checkpoint.history.length >= budget;
}

/** `pauseWhen` (a time budget, say) that also pauses at the epoch end where the budget is reached. */
export function pauseAtEpochBudget(budget: number, pauseWhen?: (progress: PauseProgress) => boolean): (progress: PauseProgress) => boolean {
  return (progress) => budgetReachedAt(progress.position, budget) || (pauseWhen?.(progress) ?? false);
}

/** Refuses a budget that is not a whole number of epochs >= 1 (the event schema refuses it first; this guards other callers). */
export function checkEpochBudget(budget: number): void {
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`epochBudget must be an integer >= 1, got ${budget}`);
}
