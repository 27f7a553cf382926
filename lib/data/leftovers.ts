import { rmSync } from 'node:fs';

/**
 * Work in progress that must not outlive its process: staging directories, temporary buckets.
 * Their names carry the owner's pid (see ownerPid), so a process killed with SIGKILL, which runs
 * no code, leaves something the next start can recognise as stale and sweep; a process stopped
 * by SIGINT or SIGTERM removes what it tracks here before it exits (the CLI's signal handlers
 * call removeTrackedLeftovers).
 */
const tracked = new Map<string, () => void>();

/**
 * Tracks `path` for removal on a signal (or for `cleanup`, e.g. putting a folder back, which must
 * be synchronous); call the returned function once it is published or gone.
 */
export function trackLeftover(path: string, cleanup: () => void = () => rmSync(path, { recursive: true, force: true })): () => void {
  tracked.set(path, cleanup);
  return () => {
    tracked.delete(path);
  };
}

/** Synchronous: it runs in a signal handler right before the process exits. Newest first. */
export function removeTrackedLeftovers(): string[] {
  const paths = [...tracked.keys()].reverse();
  for (const path of paths) {
    try {
      tracked.get(path)?.();
    } catch {
      // Best effort: what cannot be removed now is swept by the next start (its owner is gone then).
    }
    tracked.delete(path);
  }
  return paths;
}

/** The pid in a leftover's name `<prefix><pid>-...`, if it has that shape. */
export function ownerPid(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const match = /^(\d+)-/.exec(name.slice(prefix.length));
  return match ? Number(match[1]) : undefined;
}

/**
 * Whether a process with this pid runs on this machine (signal 0 checks without signalling).
 * EPERM: it exists but belongs to someone else, so it is alive. A reused pid reads as alive: the
 * leftover then waits for a later sweep, which is the safe side.
 */
export function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
