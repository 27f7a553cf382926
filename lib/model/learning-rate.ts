import { oneOf } from '../validation.ts';

/**
 * How the learning rate moves over a run. "constant" (the default, the walkthrough's): Adam's
 * learningRate at every step. "cosine": Keras' `CosineDecay(learningRate, decay_steps = every
 * step of the run)`: the rate falls from learningRate at the first step along half a cosine
 * towards 0 after the last, so the last epochs take small steps and the weights settle.
 */
export const LEARNING_RATE_SCHEDULES = ['constant', 'cosine'] as const;
export type LearningRateSchedule = (typeof LEARNING_RATE_SCHEDULES)[number];
export const learningRateScheduleSchema = oneOf(LEARNING_RATE_SCHEDULES);

/**
 * The rate of optimiser step `step` (0-based, counted over the whole run, resumed calls
 * included) of `totalSteps`. A function of the step alone, so a run resumed from a checkpoint
 * takes exactly the steps of one never interrupted.
 */
export function learningRateAt(schedule: LearningRateSchedule | undefined, learningRate: number, step: number, totalSteps: number): number {
  if (schedule === undefined || schedule === 'constant') return learningRate;
  const progress = Math.min(step, totalSteps) / totalSteps;
  return learningRate * 0.5 * (1 + Math.cos(Math.PI * progress));
}
