/**
 * Training checkpoints: what training needs to continue exactly where it stood (checkpoint.ts),
 * as files with a manifest (format.ts), kept in a store of folders (store.ts). trainModel
 * (lib/model/train.ts) takes them (hooks.checkpointing) and resumes from them (hooks.resumeFrom).
 */
export {
  assertCheckpointMatches,
  type CheckpointIdentity,
  type CheckpointOptimizer,
  type CheckpointWeight,
  type TrainingCheckpoint,
  type TrainingPosition,
  trainingFinished,
} from './checkpoint.ts';
export { CHECKPOINT_DATA_FILES, CheckpointCorruptError, MANIFEST_FILE } from './format.ts';
export { DEFAULT_CHECKPOINTS_KEPT, directoryCheckpointStore, loadLatestCheckpoint, saveCheckpoint, type CheckpointStore, type LoadedCheckpoint } from './store.ts';

/**
 * Default milliseconds of training between two checkpoints inside an epoch (every epoch end
 * takes one too). A checkpoint of the default model costs well under 3 % of a minute of
 * training (bench/checkpoint.ts), and a crash loses at most this much work.
 */
export const DEFAULT_CHECKPOINT_EVERY_MS = 60_000;
