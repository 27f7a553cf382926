// TEMPORARY STUB of helper A's checkpoint API (issue 9): replaced by the real module when
// "Training checkpoints:" lands on main (take theirs on merge). Types as in the contract.
import type { TrainConfig } from '../config.ts';
import type { EpochLog } from '../history.ts';

export interface CheckpointIdentity { runId: string; datasetId: string }
export interface TrainingPosition { epoch: number; batch: number; epochs: number; batches: number }
export interface TrainingCheckpoint {
  readonly identity: CheckpointIdentity;
  readonly config: TrainConfig;
  readonly position: TrainingPosition;
  readonly history: EpochLog[];
}
export interface CheckpointStore {
  list(): Promise<string[]>;
  read(name: string, file: string): Promise<Uint8Array | undefined>;
  write(name: string, file: string, bytes: Uint8Array): Promise<void>;
  remove(name: string): Promise<void>;
}
export function directoryCheckpointStore(_dir: string): CheckpointStore {
  throw new Error('stub');
}
export async function saveCheckpoint(_store: CheckpointStore, _checkpoint: TrainingCheckpoint, _options?: { keep?: number }): Promise<string> {
  throw new Error('stub');
}
export async function loadLatestCheckpoint(
  store: CheckpointStore,
  _expected: { identity: CheckpointIdentity; config: TrainConfig },
): Promise<{ checkpoint?: TrainingCheckpoint; name?: string; rejected: { name: string; reason: string }[] }> {
  await store.list();
  return { rejected: [] };
}
export const DEFAULT_CHECKPOINT_EVERY_MS = 5 * 60_000;
export interface PauseProgress { position: TrainingPosition; msPerBatch: number; msLastValidation: number; msLastCheckpoint: number }
