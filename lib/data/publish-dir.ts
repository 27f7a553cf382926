import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, DataValidationError } from './errors.ts';
import { MANIFEST_FILE, parseManifest, type Manifest } from './manifest.ts';

/*
 * All-or-nothing output: a dataset is built in a hidden staging directory next to `outDir` (same
 * filesystem, so rename is atomic) and renamed into place only when complete. A failed ingest
 * removes its staging directory, and any parent directories it had to create, leaving no trace.
 */

export interface Staging {
  dir: string;
  discard(): Promise<void>;
}

export async function createStaging(outDir: string): Promise<Staging> {
  const target = resolve(outDir);
  const parent = dirname(target);
  const firstCreated = await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, `.${basename(target)}.staging-`));
  // mkdtemp makes it private (0700); the published dataset should be as readable as a mkdir'd one.
  await chmod(dir, 0o755);
  return {
    dir,
    async discard() {
      await rm(dir, { recursive: true, force: true });
      if (firstCreated) await removeEmptyDirs(parent, firstCreated);
    },
  };
}

/** rmdir only removes empty directories, so anything someone else put there meanwhile survives. */
async function removeEmptyDirs(from: string, upTo: string): Promise<void> {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    if (dir === upTo || dirname(dir) === dir) return;
  }
}

/**
 * What `outDir` holds now: nothing (missing or empty), or a dataset with a valid manifest.
 * Anything else is refused before any work is done: it is not ours to replace.
 */
export async function existingDataset(outDir: string): Promise<Manifest | 'none'> {
  let entries: string[];
  try {
    if (!(await stat(outDir)).isDirectory()) throw new ConfigError(`${outDir} exists and is not a directory`);
    entries = await readdir(outDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw error;
  }
  if (entries.length === 0) return 'none';
  const manifestPath = join(outDir, MANIFEST_FILE);
  try {
    return parseManifest(JSON.parse(await readFile(manifestPath, 'utf8')), manifestPath);
  } catch (error) {
    const known = error instanceof SyntaxError || error instanceof DataValidationError || (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (!known) throw error;
    throw new ConfigError(`${outDir} is not empty and holds no valid dataset manifest: refusing to replace it`);
  }
}

/**
 * Moves the finished staging directory to `outDir`. An existing dataset there is replaced when it
 * has the same id (same content) or when `replaceOther` is set. The old one is moved aside first
 * and deleted after, so `outDir` only ever holds a complete dataset (it is briefly absent: Node
 * has no atomic directory exchange).
 */
export async function publish(stagingDir: string, outDir: string, datasetId: string, replaceOther: boolean): Promise<void> {
  const existing = await existingDataset(outDir);
  if (existing === 'none') {
    // rename() replaces an empty directory atomically and fails if one appeared with content.
    await rename(stagingDir, outDir);
    return;
  }
  if (existing.datasetId !== datasetId && !replaceOther) {
    throw new ConfigError(
      `${outDir} already holds dataset ${existing.datasetId}, not this one (${datasetId}): choose another output directory, remove it, or ask to replace it`,
    );
  }
  const aside = join(dirname(resolve(outDir)), `.${basename(resolve(outDir))}.old-${randomBytes(4).toString('hex')}`);
  await rename(outDir, aside);
  try {
    await rename(stagingDir, outDir);
  } catch (error) {
    await rename(aside, outDir);
    throw error;
  }
  await rm(aside, { recursive: true, force: true });
}
