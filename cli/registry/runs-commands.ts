import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../lib/errors.ts';
import { renderComparisonPage } from '../../lib/report/run-comparison-page.ts';
import { DEFAULT_TOP_CONFUSIONS, formatRunComparison } from '../../lib/report/run-comparison.ts';
import { RUN_ID_PATTERN } from '../../lib/workflow/run-id.ts';
import { positiveInteger } from '../options.ts';
import { compareStoredRuns, DEFAULT_RUNS_LIMIT, listRuns, type RunList, type StoredComparison } from './runs.ts';
import { formatRunList } from './runs-format.ts';
import { withRegistry, withRegistryOptions, type RegistryDeps, type RegistryFlags } from './target.ts';

export interface RunsListFlags extends RegistryFlags {
  limit?: number;
}

export interface RunsCompareFlags extends RegistryFlags {
  html?: string;
  top?: number;
}

/** `fmnist runs list`: the runs in the bucket, newest first; warnings (skipped objects) on stderr. */
export async function runsListCommand(flags: RunsListFlags, deps: RegistryDeps = {}): Promise<RunList> {
  const limit = checkCount('--limit', flags.limit ?? DEFAULT_RUNS_LIMIT);
  const list = await withRegistry(flags, deps, (target) => listRuns(target, { limit }));
  const log = deps.log ?? process.stderr;
  for (const warning of list.warnings) log.write(`warning: ${warning}\n`);
  (deps.out ?? process.stdout).write(flags.json ? JSON.stringify(list, null, 2) + '\n' : formatRunList(list));
  return list;
}

/**
 * `fmnist runs compare <a> <b>`: b against a (deltas b − a) as text or --json, and with --html a
 * self-contained page written to a file (where it went is said on stderr under --json).
 */
export async function runsCompareCommand(runA: string, runB: string, flags: RunsCompareFlags, deps: RegistryDeps = {}): Promise<StoredComparison> {
  for (const runId of [runA, runB]) {
    if (!RUN_ID_PATTERN.test(runId)) throw new ConfigError(`runs compare: "${runId}" is not a run id (1-80 letters, digits, '.', '_' or '-', starting with a letter or digit)`);
  }
  if (runA === runB) throw new ConfigError(`runs compare: run ${runA} given twice: name two different runs`);
  const topConfusions = checkCount('--top', flags.top ?? DEFAULT_TOP_CONFUSIONS);
  if (flags.html !== undefined && flags.html.trim() === '') throw new ConfigError('--html: give the file to write the page to');

  const result = await withRegistry(flags, deps, (target) => compareStoredRuns(target, runA, runB, { topConfusions }));
  const out = deps.out ?? process.stdout;
  out.write(flags.json ? JSON.stringify(result.comparison, null, 2) + '\n' : formatRunComparison(result.comparison));
  if (flags.html !== undefined) {
    const path = resolve(flags.html);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, renderComparisonPage(result.comparison));
    (flags.json ? (deps.log ?? process.stderr) : out).write(`comparison page: ${path}\n`);
  }
  return result;
}

/** Adds the `runs` group (`list`, `compare`) to the CLI; `deps` is for tests. */
export function registerRunsCommands(program: Command, deps: RegistryDeps = {}): Command {
  const runs = program.command('runs').description('the runs in the bucket (local, or the deployed stack\'s with --aws): list them, compare two');
  withRegistryOptions(
    runs
      .command('list')
      .description('every run with a run.json, newest first: when, what started it, data and config, test accuracy and macro F1, registered or champion')
      .option('--limit <n>', `how many of the newest runs (default ${DEFAULT_RUNS_LIMIT})`, positiveInteger),
  ).action(async (flags: RunsListFlags) => {
    await runsListCommand(flags, deps);
  });
  withRegistryOptions(
    runs
      .command('compare')
      .description('run B against run A: config differences, metrics, per-class scores and the confusions that changed (deltas B - A)')
      .argument('<runA>', 'the run compared against')
      .argument('<runB>', 'the run compared')
      .option('--html <file>', 'also write the comparison as a self-contained HTML page to this file')
      .option('--top <n>', `how many changed confusions to show (default ${DEFAULT_TOP_CONFUSIONS})`, positiveInteger),
  ).action(async (runA: string, runB: string, flags: RunsCompareFlags) => {
    await runsCompareCommand(runA, runB, flags, deps);
  });
  return program;
}

/** A count given to a function directly (commander checks the flags' form). */
function checkCount(flag: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${flag}: expected a whole number >= 1, got ${value}`);
  return value;
}
