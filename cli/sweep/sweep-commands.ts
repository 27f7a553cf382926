import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../lib/errors.ts';
import { withRegistry, withRegistryOptions, type RegistryDeps, type RegistryFlags } from '../registry/target.ts';
import { formatSweepStatus } from './sweep-format.ts';
import { sweepPageOf } from '../../lib/workflow/sweep/sweep-page-writer.ts';
import { readSweepStatus, type SweepStatus } from './sweep-status.ts';

/**
 * `fmnist sweep ...`: hyperparameter sweeps, in the local bucket (default) or the deployed
 * stack's (--aws). `registerSweepCommands` adds the `sweep` group and returns it, so other
 * subcommands (starting a sweep) join the same group; each `add...` function adds one.
 */

export interface SweepStatusFlags extends RegistryFlags {
  /** Also render the sweep's page from the bucket (record and histories) into this file. */
  html?: string;
}

/**
 * `fmnist sweep status <sweepId>`: the sweep's record as text, or with --json one JSON document;
 * with --html the page rendered now into a file (where it went is said on stderr under --json).
 */
export async function sweepStatusCommand(sweepId: string, flags: SweepStatusFlags, deps: RegistryDeps = {}): Promise<SweepStatus> {
  if (flags.html !== undefined && flags.html.trim() === '') throw new ConfigError('--html: give the file to write the page to');
  const { html: htmlFile, ...registryFlags } = flags;
  const log = deps.log ?? process.stderr;
  const { status, page } = await withRegistry(registryFlags, deps, async (target) => {
    const status = await readSweepStatus(target, sweepId);
    if (htmlFile === undefined) return { status, page: undefined };
    const { html, warnings } = await sweepPageOf(target.s3, target.bucket, status.record);
    for (const warning of warnings) log.write(`warning: ${warning}\n`);
    return { status, page: html };
  });
  const out = deps.out ?? process.stdout;
  out.write(flags.json ? JSON.stringify(status, null, 2) + '\n' : formatSweepStatus(status));
  if (htmlFile !== undefined && page !== undefined) {
    const path = resolve(htmlFile);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, page);
    (flags.json ? log : out).write(`sweep page written to ${path} (its links to the trials' pages are relative to the bucket's layout)\n`);
  }
  return status;
}

export function addSweepStatusCommand(sweep: Command, deps: RegistryDeps = {}): Command {
  withRegistryOptions(
    sweep
      .command('status')
      .description('a sweep\'s trials (the config fields that vary, status, validation and test accuracy, seconds), its best trial and where its page is')
      .argument('<sweepId>', 'the sweep (sweeps/<sweepId>/sweep.json)')
      .option('--html <file>', 'also render the sweep\'s page from the bucket now (record and training histories) into this file'),
  ).action(async (sweepId: string, flags: SweepStatusFlags) => {
    await sweepStatusCommand(sweepId, flags, deps);
  });
  return sweep;
}

/** Adds the `sweep` group with its `status` command to the CLI and returns the group; `deps` is for tests. */
export function registerSweepCommands(program: Command, deps: RegistryDeps = {}): Command {
  // `sweep` itself takes the flags that start a sweep (bin/fmnist.ts); with positional options a
  // flag after `status` (its --state-dir, --json, ...) is the subcommand's, not the parent's
  // (the root command needs them enabled too).
  const sweep = program.command('sweep').enablePositionalOptions().description('hyperparameter sweeps: many trials on one dataset, the best promoted (local bucket, or the deployed stack\'s with --aws)');
  return addSweepStatusCommand(sweep, deps);
}
