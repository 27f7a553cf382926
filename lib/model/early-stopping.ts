import { z } from 'zod';
import { atLeast, boolean, integerIn, oneOf, strictObject } from '../validation.ts';
import type { EpochLog } from './history.ts';

/**
 * Keras' `EarlyStopping(monitor, min_delta, patience, restore_best_weights)` callback, with Keras 3's
 * semantics to the letter (keras/src/callbacks/early_stopping.py):
 * - the direction comes from the monitor's name (`mode="auto"`): losses must fall, accuracies rise;
 * - an epoch improves when it beats the best so far by MORE than `minDelta` (the best starts at
 *   +/-Infinity, so the first epoch improves unless its value is NaN);
 * - after each epoch without improvement the wait grows; training stops after the epoch where it reaches `patience`;
 * - `restoreBestWeights` puts the best epoch's weights back when training ends, whether it stopped
 *   early or ran all its epochs (Keras 3; Keras 2 restored only after an early stop).
 * Not offered: Keras' `baseline` and `start_from_epoch` (unused by the walkthrough).
 */

/** What an epoch logs (lib/model/history.ts): the values early stopping can watch. */
export const EARLY_STOPPING_MONITORS = ['val_loss', 'val_accuracy', 'loss', 'accuracy'] as const;
export type EarlyStoppingMonitor = (typeof EARLY_STOPPING_MONITORS)[number];

export const EarlyStoppingConfig = strictObject({
  monitor: oneOf(EARLY_STOPPING_MONITORS).default('val_loss'),
  /** The least change that counts as an improvement (Keras' `min_delta`). */
  minDelta: atLeast(0).default(0),
  /** Epochs without improvement after which training stops. */
  patience: integerIn(0, 1000).default(0),
  restoreBestWeights: boolean().default(false),
});
export type EarlyStoppingConfig = z.output<typeof EarlyStoppingConfig>;

/** Keras' mode "auto": a name holding "loss" falls, an accuracy rises. */
export function monitorMode(monitor: EarlyStoppingMonitor): 'min' | 'max' {
  return monitor.endsWith('loss') ? 'min' : 'max';
}

/** What early stopping carries from epoch to epoch (in checkpoints, so a resumed run stops where an unbroken one does). */
export interface EarlyStoppingState<Weights> {
  /** The best monitored value so far: Infinity (min) or -Infinity (max) before an improvement. */
  best: number;
  /** 1-based; 0 before the first epoch. */
  bestEpoch: number;
  /** Epochs since the best one (Keras' `wait`). */
  wait: number;
  /** The epoch after which training stopped early; 0 while it goes on. */
  stoppedEpoch: number;
  /** The best epoch's weights (model.weights order), kept only with restoreBestWeights. */
  bestWeights?: Weights;
}

/** How early stopping went, for training.json. */
export interface EarlyStoppingRecord extends EarlyStoppingConfig {
  mode: 'min' | 'max';
  /** Infinity or -Infinity when no epoch improved (JSON: null). */
  best: number;
  bestEpoch: number;
  /** The epoch after which training stopped early; null when it ran all its epochs. */
  stoppedEpoch: number | null;
  /** Why it stopped; null when it did not. */
  reason: string | null;
  /** The epoch whose weights the model holds when restoreBestWeights put them back; null otherwise. */
  restoredEpoch: number | null;
}

/** Keeps the best epoch's weights as `Weights` (a checkpoint's copies), whatever they are: it only hands them back. */
export class EarlyStopping<Weights> {
  readonly mode: 'min' | 'max';
  private state: EarlyStoppingState<Weights>;
  private reason: string | null = null;

  constructor(
    readonly config: EarlyStoppingConfig,
    state?: EarlyStoppingState<Weights>,
    /** The log of the epoch it stopped after, when resuming a run that had stopped. */
    history: readonly EpochLog[] = [],
  ) {
    this.mode = monitorMode(config.monitor);
    this.state = state === undefined ? { best: this.mode === 'min' ? Infinity : -Infinity, bestEpoch: 0, wait: 0, stoppedEpoch: 0 } : { ...state };
    if (this.state.stoppedEpoch > 0) this.reason = history[this.state.stoppedEpoch - 1]?.stopped ?? null;
  }

  get stopped(): boolean {
    return this.state.stoppedEpoch > 0;
  }

  /**
   * Keras' on_epoch_end. `readWeights` is called only when the epoch is the best so far and the
   * weights are to be restored. Returns why training stops after this epoch, or undefined.
   */
  observe(log: EpochLog, readWeights: () => Weights): string | undefined {
    const { monitor, minDelta, patience, restoreBestWeights } = this.config;
    const current = log[monitor];
    if (current === undefined) throw new Error(`early stopping monitors ${monitor}, which epoch ${log.epoch} did not log`);
    const state = this.state;
    const improved = this.improves(current);
    if (restoreBestWeights && state.bestWeights === undefined && !improved) {
      // As Keras: until an epoch improves, the first epoch's weights count as the best.
      state.bestWeights = readWeights();
      state.bestEpoch = log.epoch;
    }
    state.wait++;
    if (improved) {
      state.best = current;
      state.bestEpoch = log.epoch;
      state.wait = 0;
      if (restoreBestWeights) state.bestWeights = readWeights();
      return undefined;
    }
    if (state.wait >= patience && log.epoch > 1) {
      state.stoppedEpoch = log.epoch;
      this.reason =
        `${monitor} did not improve on its best, ${Number(state.best.toPrecision(6))} at epoch ${state.bestEpoch}, by more than ${minDelta} ` +
        `for ${state.wait} epoch${state.wait === 1 ? '' : 's'} (patience ${patience})`;
      return this.reason;
    }
    return undefined;
  }

  /** Keras' `monitor_op(current - min_delta, best)`, min_delta negated for "min". */
  private improves(current: number): boolean {
    const best = this.state.best;
    return this.mode === 'min' ? current + this.config.minDelta < best : current - this.config.minDelta > best;
  }

  /** The weights to put back when training ends (restoreBestWeights), if any epoch was seen. */
  weightsToRestore(): Weights | undefined {
    return this.config.restoreBestWeights ? this.state.bestWeights : undefined;
  }

  /** A copy for a checkpoint (the best weights are never modified, so they are shared). */
  capture(): EarlyStoppingState<Weights> {
    return { ...this.state };
  }

  record(completed: boolean): EarlyStoppingRecord {
    const { best, bestEpoch, stoppedEpoch } = this.state;
    const restored = completed && this.weightsToRestore() !== undefined;
    return {
      ...this.config,
      mode: this.mode,
      best,
      bestEpoch,
      stoppedEpoch: stoppedEpoch > 0 ? stoppedEpoch : null,
      reason: this.reason,
      restoredEpoch: restored ? bestEpoch : null,
    };
  }
}
