import type { Command } from 'commander';
import { ConfigError } from '../../lib/errors.ts';
import { explainAwsError } from '../deployed/clients.ts';
import { changedBy, promoteModel, publisherFor, rollbackModel, type ChampionChangeResult, type ChangeContext } from './models-change.ts';
import { formatChange, formatDetails, formatListing } from './models-format.ts';
import { listModels, showModel } from './models.ts';
import { withRegistry, withRegistryOptions, type RegistryDeps, type RegistryFlags, type RegistryTarget } from './target.ts';

/**
 * `fmnist models list|show|promote|rollback`: the model registry, in the local bucket (default) or
 * the deployed stack's (--aws). Each action opens the bucket, calls models.ts / models-change.ts
 * and prints the result: text, or with --json one JSON document on stdout. User errors are
 * ConfigErrors, thrown to bin/fmnist.ts.
 */

interface ModelsFlags extends RegistryFlags {
  dataset?: string;
  reason?: string;
}

const print = (deps: RegistryDeps, flags: RegistryFlags, result: unknown, text: (result: never) => string) => {
  const out = deps.out ?? process.stdout;
  out.write(flags.json ? JSON.stringify(result, null, 2) + '\n' : text(result as never));
};

function context(target: RegistryTarget, deps: RegistryDeps, command: 'promote' | 'rollback'): ChangeContext {
  return { now: deps.now ?? (() => new Date()), by: changedBy(command), publish: publisherFor(target) };
}

/** A change that stands but was not announced on EventBridge is a warning, not a failure. */
function warnUnpublished(deps: RegistryDeps, target: RegistryTarget, result: ChampionChangeResult): void {
  if (target.kind === 'aws' && !result.event.published) {
    (deps.log ?? process.stderr).write(`fmnist: warning: the change stands, but ${result.event.reason}\n`);
  }
}

/** The connection flags (and --aws, --state-dir) are shared: strip the command's own before opening. */
const registryFlags = ({ dataset: _dataset, reason: _reason, ...flags }: ModelsFlags): RegistryFlags => flags;

/**
 * Runs a command on the bucket. What the user can fix leaves as a ConfigError: AWS setup and
 * permission failures (explainAwsError says what to set) and a champion that kept changing under
 * the compare-and-swap (another writer: trying again is the fix).
 */
async function onRegistry<T>(flags: ModelsFlags, deps: RegistryDeps, what: string, task: (target: RegistryTarget) => Promise<T>): Promise<T> {
  try {
    return await withRegistry(registryFlags(flags), deps, task);
  } catch (error) {
    if ((error as Error).name === 'ChampionContention') throw new ConfigError((error as Error).message);
    throw explainAwsError(error, what);
  }
}

export function registerModelsCommands(program: Command, deps: RegistryDeps = {}): Command {
  const models = program
    .command('models')
    .description('the model registry: every evaluated run, per test set, and its champion (local bucket by default, --aws for the deployed stack)');

  withRegistryOptions(
    models.command('list').description('registered models per test set, newest first, with each test set\'s champion'),
  )
    .option('--dataset <id>', 'only this test set: a test set id or dataset id, or a unique prefix (8+ hex digits)')
    .action(async (flags: ModelsFlags) => {
      const result = await onRegistry(flags, deps, 'fmnist models list', (target) => listModels(target, { dataset: flags.dataset }));
      print(deps, flags, result, formatListing);
    });

  withRegistryOptions(
    models.command('show').argument('<runId>', 'a registered run').description('a registered model: its record, whether it is or was champion, and the champion history naming it'),
  ).action(async (runId: string, flags: ModelsFlags) => {
    const result = await onRegistry(flags, deps, 'fmnist models show', (target) => showModel(target, runId));
    print(deps, flags, result, formatDetails);
  });

  withRegistryOptions(
    models
      .command('promote')
      .argument('<runId>', 'a registered run')
      .description('make a registered run champion of its test set by hand (its pinned model files are checked first; no promotion floor)')
      .requiredOption('--reason <text>', 'why: kept in the champion record and the event'),
  ).action(async (runId: string, flags: ModelsFlags) => {
    await onRegistry(flags, deps, 'fmnist models promote', async (target) => {
      const result = await promoteModel(target, runId, flags.reason, context(target, deps, 'promote'));
      warnUnpublished(deps, target, result);
      print(deps, flags, result, formatChange);
    });
  });

  withRegistryOptions(
    models
      .command('rollback')
      .description('back to the champion before the latest promotion still in effect; again to go further back')
      .option('--dataset <id>', 'the test set (needed when several have a champion): test set id or dataset id, or a unique prefix')
      .option('--reason <text>', 'why: kept in the champion record and the event'),
  ).action(async (flags: ModelsFlags) => {
    await onRegistry(flags, deps, 'fmnist models rollback', async (target) => {
      const result = await rollbackModel(target, { dataset: flags.dataset, reason: flags.reason }, context(target, deps, 'rollback'));
      warnUnpublished(deps, target, result);
      print(deps, flags, result, formatChange);
    });
  });
  return models;
}
