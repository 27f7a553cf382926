/**
 * What every benchmark script needs besides the data: child processes run quietly and timed from
 * outside, a line describing the machine, medians, and checked flags.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export interface Finished {
  /** Wall time from spawn to exit. */
  seconds: number;
  stdout: string;
  /** stdout and stderr interleaved, for errors. */
  output: string;
}

/** Runs a command with its output captured; rejects with the output's tail if it fails. */
export function runQuietly(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-4000)}`));
      resolve({ seconds: (performance.now() - started) / 1000, stdout, output });
    });
  });
}

/** "2 x <cpu model>, 23.5 GiB; load average a b c", printed before the runs. */
export function describeMachine(): string {
  return `${cpus().length} x ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

/** The 1-minute load average, printed before each run. */
export function currentLoad(): number {
  return loadavg()[0];
}

/** Median and range of a list of figures. */
export function summarise(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** A whole-number flag of at least 1, or an error naming it. */
export function countFlag(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: expected a whole number of at least 1, got "${value}"`);
  return n;
}
