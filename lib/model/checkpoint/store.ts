import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainConfig } from '../config.ts';
import { assertCheckpointMatches, type CheckpointIdentity, type TrainingCheckpoint } from './checkpoint.ts';
import { CheckpointCorruptError, decodeCheckpoint, encodeCheckpoint, MANIFEST_FILE } from './format.ts';

/** Where checkpoints live: a folder per checkpoint name with files in it (a local dir, or runs/<runId>/checkpoint/ in S3). */
export interface CheckpointStore {
  /** Checkpoint names present (any order, complete or not). */
  list(): Promise<string[]>;
  /** undefined when the file does not exist. */
  read(name: string, file: string): Promise<Uint8Array | undefined>;
  write(name: string, file: string, bytes: Uint8Array): Promise<void>;
  /** The whole checkpoint folder. */
  remove(name: string): Promise<void>;
}

/** Checkpoints kept by default: the newest, and the one before in case the newest turns out damaged. */
export const DEFAULT_CHECKPOINTS_KEPT = 2;

/**
 * Names: a sequence number, then the position for people reading a listing
 * (`000012-e0003-b000150`). They sort in creation order, even when a run resumed from an older
 * checkpoint writes positions it had passed before.
 */
const NAME = /^(\d{6,})-e\d+-b\d+$/;

function sequenceOf(name: string): number | undefined {
  const match = NAME.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** Checkpoint names of this format, oldest first (other entries are not ours and are left alone). */
function ours(names: readonly string[]): string[] {
  return names.filter((name) => sequenceOf(name) !== undefined).sort((a, b) => sequenceOf(a)! - sequenceOf(b)!);
}

/**
 * Writes every file, then the manifest LAST; then removes all but the newest `keep` complete
 * checkpoints and any older incomplete ones. Returns the new checkpoint's name.
 */
export async function saveCheckpoint(store: CheckpointStore, checkpoint: TrainingCheckpoint, options: { keep?: number } = {}): Promise<string> {
  const keep = options.keep ?? DEFAULT_CHECKPOINTS_KEPT;
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be an integer >= 1, got ${keep}`);
  const existing = ours(await store.list());
  const sequence = existing.length === 0 ? 1 : sequenceOf(existing.at(-1)!)! + 1;
  const { epoch, batch } = checkpoint.position;
  const name = `${String(sequence).padStart(6, '0')}-e${String(epoch).padStart(4, '0')}-b${String(batch).padStart(6, '0')}`;
  const { files, manifest } = encodeCheckpoint(checkpoint);
  for (const [file, bytes] of files) await store.write(name, file, bytes);
  await store.write(name, MANIFEST_FILE, manifest);

  // Newest first: the new one counts as the first kept.
  let complete = 1;
  for (const older of existing.reverse()) {
    const finished = (await store.read(older, MANIFEST_FILE)) !== undefined;
    if (finished && complete < keep) complete++;
    else await store.remove(older);
  }
  return name;
}

export interface LoadedCheckpoint {
  checkpoint?: TrainingCheckpoint;
  name?: string;
  /** Newer checkpoints that could not be used, newest first, each with why. */
  rejected: { name: string; reason: string }[];
}

/**
 * The newest complete, intact checkpoint. Damaged or incomplete ones are skipped and listed in
 * `rejected`. If the newest intact one belongs to another run, other data or another training
 * config, throws CheckpointMismatchError naming the differing fields with both values: a
 * checkpoint is never silently ignored in favour of an older one, nor loaded into another model.
 */
export async function loadLatestCheckpoint(
  store: CheckpointStore,
  expected: { identity: CheckpointIdentity; config: TrainConfig },
): Promise<LoadedCheckpoint> {
  const rejected: { name: string; reason: string }[] = [];
  for (const name of ours(await store.list()).reverse()) {
    let checkpoint: TrainingCheckpoint;
    try {
      checkpoint = await decodeCheckpoint((file) => store.read(name, file));
    } catch (error) {
      if (!(error instanceof CheckpointCorruptError)) throw error;
      rejected.push({ name, reason: error.message });
      continue;
    }
    assertCheckpointMatches(checkpoint, expected, name);
    return { checkpoint, name, rejected };
  }
  return { rejected };
}

/** Checkpoints as folders of files under `dir` (created on the first write). Files are written whole or not at all (temporary name, then rename). */
export function directoryCheckpointStore(dir: string): CheckpointStore {
  const path = (name: string, file?: string) => {
    for (const part of file === undefined ? [name] : [name, file]) {
      if (part === '' || part === '.' || part === '..' || /[/\\]/.test(part)) throw new RangeError(`not a plain file or folder name: "${part}"`);
    }
    return file === undefined ? join(dir, name) : join(dir, name, file);
  };
  return {
    async list() {
      try {
        return (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    },
    async read(name, file) {
      try {
        return new Uint8Array(await readFile(path(name, file)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async write(name, file, bytes) {
      const target = path(name, file);
      await mkdir(path(name), { recursive: true });
      const temporary = `${target}.partial-${process.pid}`;
      await writeFile(temporary, bytes);
      await rename(temporary, target);
    },
    async remove(name) {
      await rm(path(name), { recursive: true, force: true });
    },
  };
}
