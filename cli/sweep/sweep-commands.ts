import type { Command } from 'commander';
import { withRegistry, withRegistryOptions, type RegistryDeps, type RegistryFlags } from '../registry/target.ts';
import { formatSweepStatus } from './sweep-format.ts';
import { readSweepStatus, type SweepStatus } from './sweep-status.ts';

/**
 * `fmnist sweep ...`: hyperparameter sweeps, in the local bucket (default) or the deployed
 * stack's (--aws). `registerSweepCommands` adds the `sweep` group and returns it, so other
 * subcommands (starting a sweep) join the same group; each `add...` function adds one.
 */

export type SweepStatusFlags = RegistryFlags;

/** `fmnist sweep status <sweepId>`: the sweep's record as text, or with --json one JSON document. */
export async function sweepStatusCommand(sweepId: string, flags: SweepStatusFlags, deps: RegistryDeps = {}): Promise<SweepStatus> {
  const status = await withRegistry(flags, deps, (target) => readSweepStatus(target, sweepId));
  (deps.out ?? process.stdout).write(flags.json ? JSON.stringify(status, null, 2) + '\n' : formatSweepStatus(status));
  return status;
}

export function addSweepStatusCommand(sweep: Command, deps: RegistryDeps = {}): Command {
  withRegistryOptions(
    sweep
      .command('status')
      .description('a sweep\'s trials (the config fields that vary, status, validation and test accuracy, seconds), its best trial and where its page is')
      .argument('<sweepId>', 'the sweep (sweeps/<sweepId>/sweep.json)'),
  ).action(async (sweepId: string, flags: SweepStatusFlags) => {
    await sweepStatusCommand(sweepId, flags, deps);
  });
  return sweep;
}

/** Adds the `sweep` group with its `status` command to the CLI and returns the group; `deps` is for tests. */
export function registerSweepCommands(program: Command, deps: RegistryDeps = {}): Command {
  const sweep = program.command('sweep').description('hyperparameter sweeps: many trials on one dataset, the best promoted (local bucket, or the deployed stack\'s with --aws)');
  return addSweepStatusCommand(sweep, deps);
}
