import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, lstat, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../../infra/paths.ts';
import { boundThreads } from './thread-bound.ts';

/**
 * One process standing in for a Lambda execution environment or a Fargate container: the code
 * runs in its own Node.js process with exactly the environment the template gives it (nothing
 * inherited from the CLI's shell but PATH; thread counts capped at this machine's cores, see
 * ./thread-bound.ts), its own /tmp (TMPDIR), and two watchdogs that do
 * what the platform does when a limit is crossed: memory (the process's resident set, polled)
 * and scratch space (the bytes under its /tmp, polled). The process can be killed like a sandbox
 * at a timeout, or sent SIGTERM like an ECS task being stopped.
 *
 * TypeScript sources run through tsx, whose transform cache is shared (a symlink inside each
 * /tmp that the scratch measurement does not follow), so a cold start costs what importing the
 * code costs, not a recompilation.
 */
export interface SandboxLimits {
  memoryBytes: number;
  scratchBytes: number;
}

export type LimitBreach = { kind: 'memory'; bytes: number; limit: number } | { kind: 'scratch'; bytes: number; limit: number };

export interface SandboxProcessOptions {
  /** Repository-relative module to run, and its arguments. */
  module: string;
  args?: string[];
  env: Record<string, string>;
  /** The sandbox's /tmp; created, and removed by cleanup(). */
  tmpDir: string;
  limits: SandboxLimits;
  onLine: (line: string, stream: 'stdout' | 'stderr') => void;
  onBreach: (breach: LimitBreach) => void;
  /** IPC channel (Lambda containers talk to the runtime emulation through it; training progress comes through it). */
  ipc?: boolean;
  /** Repository-relative modules loaded before `module` (`node --import`), e.g. ./progress-relay.ts. */
  preload?: string[];
  /** Milliseconds between watchdog polls. */
  pollMs?: number;
}

export interface SandboxProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Highest resident set seen (bytes). */
  peakMemoryBytes(): number;
  peakScratchBytes(): number;
  kill(signal?: NodeJS.Signals): void;
  cleanup(): Promise<void>;
}

/** Variables every sandbox needs from the host to start at all; nothing else is inherited. */
const HOST_VARIABLES = ['PATH', 'SYSTEMROOT'];

export async function startSandboxProcess(options: SandboxProcessOptions): Promise<SandboxProcess> {
  await mkdir(options.tmpDir, { recursive: true });
  await shareTsxCache(options.tmpDir);
  const env: Record<string, string> = {};
  for (const name of HOST_VARIABLES) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  Object.assign(env, boundThreads(options.env), { TMPDIR: options.tmpDir });
  const preload = (options.preload ?? []).flatMap((module) => ['--import', pathToFileURL(join(REPO_ROOT, module)).href]);
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload, join(REPO_ROOT, options.module), ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
    serialization: 'json',
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream]!, crlfDelay: Infinity }).on('line', (line) => options.onLine(line, stream));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });

  let peakMemory = 0;
  let peakScratch = 0;
  let polling = false;
  const poll = async () => {
    if (polling || child.exitCode !== null || child.pid === undefined) return;
    polling = true;
    try {
      const rss = await residentBytes(child.pid);
      if (rss !== undefined) {
        peakMemory = Math.max(peakMemory, rss);
        if (rss > options.limits.memoryBytes) options.onBreach({ kind: 'memory', bytes: rss, limit: options.limits.memoryBytes });
      }
      const scratch = await directoryBytes(options.tmpDir);
      peakScratch = Math.max(peakScratch, scratch);
      if (scratch > options.limits.scratchBytes) options.onBreach({ kind: 'scratch', bytes: scratch, limit: options.limits.scratchBytes });
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), options.pollMs ?? 100);
  timer.unref();
  void exited.then(() => clearInterval(timer));

  return {
    child,
    exited,
    peakMemoryBytes: () => peakMemory,
    peakScratchBytes: () => peakScratch,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    cleanup: async () => {
      clearInterval(timer);
      await rm(options.tmpDir, { recursive: true, force: true });
    },
  };
}

/** Peak resident set of a process (VmHWM, so a spike between two polls still counts), from /proc (Linux); undefined elsewhere. */
async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** Bytes of the regular files under `dir`, not following symbolic links. */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else if (entry.isFile()) total += await lstat(path).then((info) => info.size, () => 0);
  }
  return total;
}

/** tsx keeps its transform cache in $TMPDIR/tsx: point that at the host's cache. */
async function shareTsxCache(tmpDir: string): Promise<void> {
  const shared = join(tmpdir(), 'tsx');
  await mkdir(shared, { recursive: true });
  await symlink(shared, join(tmpDir, 'tsx')).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}
