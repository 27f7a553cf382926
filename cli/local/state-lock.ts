import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ConfigError } from '../../lib/errors.ts';
import { processIsAlive } from '../../lib/data/leftovers.ts';

/**
 * A lock between processes on one machine: a file created exclusively (O_EXCL), holding who took
 * it (pid, host, when, what for). A holder that is gone (same host, pid not running) left a stale
 * lock, which is taken over; a live holder is waited for, and past `waitMs` the error names it.
 * Used where two local runs on one state directory would otherwise interleave (the local S3's
 * conditional writes: the check and the write of one key).
 */
export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  purpose: string;
}

export interface LockOptions {
  purpose: string;
  /** How long to wait for a live holder. Default 30 s. */
  waitMs?: number;
  /** Poll interval while waiting. Default 10 ms. */
  pollMs?: number;
}

export async function withFileLock<T>(path: string, options: LockOptions, task: () => Promise<T>): Promise<T> {
  const release = await acquireFileLock(path, options);
  try {
    return await task();
  } finally {
    await release();
  }
}

export async function acquireFileLock(path: string, options: LockOptions): Promise<() => Promise<void>> {
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), purpose: options.purpose };
  const deadline = Date.now() + (options.waitMs ?? 30_000);
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const seen = await readFile(path, 'utf8').catch(() => undefined);
    const holder = await readHolder(path);
    if (holder === 'gone') continue;
    if (holder === 'unreadable' || (holder.host === me.host && !processIsAlive(holder.pid))) {
      // Stale: its owner died holding it (or while writing it). Removed only if it is still the
      // record we judged (another taker may have replaced it meanwhile), then the exclusive
      // create is retried, so at most one taker wins.
      const now = await readFile(path, 'utf8').catch(() => undefined);
      if (now !== undefined && now === seen) await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new ConfigError(
        `${path} is locked by process ${holder.pid} on ${holder.host} (${holder.purpose}, since ${holder.startedAt}); ` +
          'wait for it to finish, or remove the file if that process is gone',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 10));
  }
}

/** The lock's holder; 'gone' if released meanwhile; 'unreadable' if not a holder record. */
export async function readHolder(path: string): Promise<LockHolder | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && typeof holder.host === 'string') {
      return { pid: holder.pid, host: holder.host, startedAt: String(holder.startedAt), purpose: String(holder.purpose) };
    }
  } catch {
    // Written but not yet complete, or damaged: see below.
  }
  // A file being written this very moment reads empty; only treat it as stale once it stays so.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const again = await readFile(path, 'utf8').catch(() => undefined);
  if (again === undefined) return 'gone';
  return again === text ? 'unreadable' : readHolder(path);
}
