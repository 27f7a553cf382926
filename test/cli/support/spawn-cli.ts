import { spawn, type ChildProcess } from 'node:child_process';

const CLI = new URL('../../../bin/fmnist.ts', import.meta.url).pathname;
export const REPO = new URL('../../../', import.meta.url).pathname;

export interface CliRun {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `fmnist <args>` as a user would (node --import tsx bin/fmnist.ts), without waiting. */
export function startCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO,
    env: { ...process.env, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

export async function fmnist(args: string[], env: Record<string, string> = {}) {
  return startCli(args, env).done;
}

/** The lines of stderr without Node's own warnings (the AWS SDK's Node-version notice). */
export function errorLines(stderr: string): string[] {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  const warning = lines.findIndex((line) => /\(node:\d+\) Warning/.test(line));
  if (warning < 0) return lines;
  const end = lines.findIndex((line, i) => i > warning && /trace-warnings/.test(line));
  return [...lines.slice(0, warning), ...lines.slice(end + 1)];
}

/** A pid no process has any more: a short-lived child's, after it exited. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}
