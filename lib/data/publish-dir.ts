import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, DataValidationError } from '../errors.ts';
import { ownerPid, processIsAlive, trackLeftover } from './leftovers.ts';
import { MANIFEST_FILE, parseManifest, type Manifest } from './manifest.ts';

/*
 * All-or-nothing output: a dataset is built in a hidden staging directory next to `outDir` (same
 * filesystem, so rename is atomic) and renamed into place only when complete. A failed ingest
 * removes its staging directory, and any parent directories it had to create, leaving no trace.
 */

export interface Staging {
  dir: string;
  discard(): Promise<void>;
  /** The staging directory became the output: nothing to clean up any more. */
  published(): void;
}

/*
 * Leftovers are named after their process: `.<out>.staging-<pid>-<random>` while a dataset is
 * built, `.<out>.old-<pid>-<random>` while it replaces another. SIGINT and SIGTERM clean them up
 * (./leftovers.ts); after SIGKILL, recoverInterruptedPublish() on the next start puts a replaced
 * dataset back if the kill came between its two renames, and removes the rest.
 */
const stagingPrefix = (base: string) => `.${base}.staging-`;
const asidePrefix = (base: string) => `.${base}.old-`;

export async function createStaging(outDir: string): Promise<Staging> {
  const target = resolve(outDir);
  const parent = dirname(target);
  const firstCreated = await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, `${stagingPrefix(basename(target))}${process.pid}-`));
  const untrack = trackLeftover(dir);
  // mkdtemp makes it private (0700); the published dataset should be as readable as a mkdir'd one.
  await chmod(dir, 0o755);
  return {
    dir,
    async discard() {
      await rm(dir, { recursive: true, force: true });
      untrack();
      if (firstCreated) await removeEmptyDirs(parent, firstCreated);
    },
    published: untrack,
  };
}

/**
 * Cleans up after a process killed while writing `outDir` (SIGKILL runs no cleanup): a dataset
 * moved aside for a replacement goes back if `outDir` is missing; staging and set-aside folders
 * whose process is gone are removed. Folders of a live process are left alone. Returns what it did.
 */
export async function recoverInterruptedPublish(outDir: string): Promise<{ restored?: string; removed: string[] }> {
  const target = resolve(outDir);
  const parent = dirname(target);
  const base = basename(target);
  const entries = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  let restored: string | undefined;
  const stale = (name: string, prefix: string) => {
    const pid = ownerPid(name, prefix);
    return pid !== undefined && !processIsAlive(pid);
  };
  for (const name of entries.filter((entry) => stale(entry, asidePrefix(base)))) {
    const aside = join(parent, name);
    if (restored === undefined && !(await exists(target))) {
      await rename(aside, target);
      restored = aside;
    } else {
      await rm(aside, { recursive: true, force: true });
      removed.push(aside);
    }
  }
  for (const name of entries.filter((entry) => stale(entry, stagingPrefix(base)))) {
    await rm(join(parent, name), { recursive: true, force: true });
    removed.push(join(parent, name));
  }
  return { restored, removed };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
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
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `${manifestPath} is missing`
        : error instanceof SyntaxError
          ? `${manifestPath} is not valid JSON (${error.message})`
          : error instanceof DataValidationError
            ? error.message
            : undefined;
    if (why === undefined) throw error;
    throw new ConfigError(`${outDir} is not empty and holds no valid dataset (${why}): refusing to replace it; remove it or choose another output directory`);
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
      `${outDir} already holds dataset ${existing.datasetId}, not this one (${datasetId}): choose another output directory, remove it, or replace it (\`fmnist ingest --replace\`; the option \`replace\` of ingestDataset)`,
    );
  }
  const target = resolve(outDir);
  const aside = join(dirname(target), `${asidePrefix(basename(target))}${process.pid}-${randomBytes(4).toString('hex')}`);
  // Interrupted between the two renames, the old dataset goes back where it was.
  const untrack = trackLeftover(aside, () => {
    if (existsSync(target)) rmSync(aside, { recursive: true, force: true });
    else renameSync(aside, target);
  });
  await rename(outDir, aside);
  try {
    await rename(stagingDir, outDir);
  } catch (error) {
    await rename(aside, outDir);
    untrack();
    throw error;
  }
  await rm(aside, { recursive: true, force: true });
  untrack();
}
