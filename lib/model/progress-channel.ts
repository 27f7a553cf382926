import diagnostics_channel from 'node:diagnostics_channel';
import type { EpochLog } from './history.ts';
import type { ModelSummary } from './summary.ts';

/**
 * Training progress as node:diagnostics_channel messages, for observers that cannot pass hooks
 * to trainModel (the local runtime's sandbox processes run the unchanged handlers and draw
 * progress bars from these). trainModel publishes only while the channel has subscribers, so
 * nobody listening costs nothing, in particular no read-back of the running loss.
 */
export const TRAINING_PROGRESS_CHANNEL = 'fmnist:training-progress';

export type TrainingProgress =
  /** epoch is 1-based; batches per epoch. */
  | { kind: 'epochBegin'; epoch: number; epochs: number; batches: number }
  /** `batch` batches of the epoch done (1-based) and the epoch's running means; at most every PROGRESS_INTERVAL_MS and after the last batch. */
  | { kind: 'batchEnd'; epoch: number; batch: number; batches: number; loss: number; accuracy: number }
  | { kind: 'epochEnd'; log: EpochLog }
  /** Once the model is built, when training starts from the beginning (not on a resume). */
  | { kind: 'modelSummary'; summary: ModelSummary };

const channel = diagnostics_channel.channel(TRAINING_PROGRESS_CHANNEL);

/** Whether anyone listens: check before computing a message that costs something. */
export function progressWanted(): boolean {
  return channel.hasSubscribers;
}

export function publishProgress(message: TrainingProgress): void {
  if (channel.hasSubscribers) channel.publish(message);
}

/** Subscribes `listener` to every training's progress in this process; returns the unsubscribe function. */
export function subscribeToTrainingProgress(listener: (message: TrainingProgress) => void): () => void {
  const onMessage = (message: unknown) => listener(message as TrainingProgress);
  diagnostics_channel.subscribe(TRAINING_PROGRESS_CHANNEL, onMessage);
  return () => {
    diagnostics_channel.unsubscribe(TRAINING_PROGRESS_CHANNEL, onMessage);
  };
}
