import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../lib/errors.ts';
import { formatIssues } from '../lib/validation.ts';
import { RunId } from '../lib/workflow/run-id.ts';

/**
 * What only the machine knows about a local run, kept beside the local bucket (never in it: the
 * bucket is what AWS would hold): where `fmnist run` writes its outputs, and which process runs
 * it. `fmnist resume` reads it to write into the same place and to refuse a run still going.
 *
 * A file at the top of the state directory: s3rver treats directories there as buckets and
 * ignores files.
 */
export const LocalRunNote = z.strictObject({
  runId: RunId,
  /** Absolute path of the run's output directory. */
  outDir: z.string().min(1),
  /** The process running it now (or last): a live one means the run is still going. */
  pid: z.int().min(1),
  host: z.string(),
  startedAt: z.string(),
  /**
   * The local cloud's control plane while the run goes on (http://127.0.0.1:<port>): where
   * `fmnist models approve`/`reject` answer its task tokens. Absent until the cloud is up.
   */
  controlPlane: z.url({ protocol: /^http$/ }).optional(),
});
export type LocalRunNote = z.infer<typeof LocalRunNote>;

export const localRunNotePath = (stateDir: string, runId: string) => join(stateDir, `fmnist-run.${runId}.json`);

/**
 * Written whole (temporary file, then rename): a kill never leaves half a note. `startedAt`:
 * when this process started the run, given again when the note is rewritten (the control plane's
 * endpoint added); default now.
 */
export async function writeLocalRunNote(
  stateDir: string,
  note: Omit<LocalRunNote, 'pid' | 'host' | 'startedAt'> & { startedAt?: string },
): Promise<LocalRunNote> {
  const full: LocalRunNote = { ...note, pid: process.pid, host: hostname(), startedAt: note.startedAt ?? new Date().toISOString() };
  await mkdir(stateDir, { recursive: true });
  const path = localRunNotePath(stateDir, note.runId);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(full, null, 2) + '\n');
  await rename(temporary, path);
  return full;
}

/** The note, or undefined when the run has none (run with --fresh, or before notes existed). */
export async function readLocalRunNote(stateDir: string, runId: string): Promise<LocalRunNote | undefined> {
  const path = localRunNotePath(stateDir, runId);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
  const remedy = "remove it, and pass --out to say where the run's outputs go";
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON (${(error as Error).message}): ${remedy}`);
  }
  const note = LocalRunNote.safeParse(parsed);
  if (!note.success) {
    throw new ConfigError(`${path} is not a note of run ${runId} (${formatIssues(note.error.issues).join('; ')}): ${remedy}`);
  }
  if (note.data.runId !== runId) throw new ConfigError(`${path} is not a note of run ${runId} (it names run ${note.data.runId}): ${remedy}`);
  return note.data;
}

/** Whether the note's process is alive on this machine (and is not this one). */
export function isRunning(note: LocalRunNote): boolean {
  return note.pid !== process.pid && isAlive(note);
}

/** Whether the note's process is alive on this machine (this one included). */
export function isAlive(note: LocalRunNote): boolean {
  if (note.host !== hostname()) return false;
  if (note.pid === process.pid) return true;
  try {
    process.kill(note.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
