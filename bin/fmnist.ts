#!/usr/bin/env -S node --import tsx
/**
 * fmnist: the whole Fashion-MNIST workflow from a terminal.
 *   npm run fmnist -- <command> --help   for each command's flags.
 */
// First: silences start-up notices before any module that would print one loads.
import '../cli/quiet-start.ts';
import { Command, Option } from 'commander';
import { ConfigError, UserError } from '../lib/errors.ts';
import { defaultDataset } from '../cli/default-dataset.ts';
import { evaluateCommand, ingestCommand, reportCommand, runCommand, trainCommand } from '../cli/commands.ts';
import { registerAwsCommands, registerResumeCommand } from '../cli/deployed/index.ts';
import { registerModelsCommands } from '../cli/registry/models-commands.ts';
import { addApprovalCommands } from '../cli/registry/approval-commands.ts';
import { registerRunsCommands } from '../cli/registry/runs-commands.ts';
import { registerSweepCommands } from '../cli/sweep/sweep-commands.ts';
import { resumeCommand } from '../cli/resume.ts';
import { addTrainingOptions, addWorkflowOptions, positiveInteger, wholeNumber } from '../cli/options.ts';
import { sweepCommand } from '../cli/sweep/sweep-run.ts';
import { exitCodeFor, installSignalHandlers, interruption } from '../cli/signals.ts';
import { fileProblem } from '../lib/data/input-file.ts';
import { DATA_CHECK_POLICIES } from '../lib/data/data-check-policy.ts';

const FILE_PROBLEMS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM']);

const program = new Command('fmnist')
  .description('Train and evaluate a Fashion-MNIST CNN: locally, or as the serverless workflow deployed to AWS.')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true })
  // A group that takes flags itself (`sweep --grid ...`) and has subcommands (`sweep status`):
  // a flag after the subcommand is the subcommand's (commander needs this on the root too).
  .enablePositionalOptions();

const withTrainingOptions = (command: Command) => addTrainingOptions(command, { backend: true });

program
  .command('ingest')
  .description('validate Kaggle-format CSVs (label,pixel1..pixel784; .csv or .csv.gz) or IDX .gz files and write tensor shards + manifest')
  .requiredOption('--train <files...>', 'training data files')
  .requiredOption('--test <files...>', 'test data files')
  .requiredOption('--out <dir>', 'dataset directory to write')
  .option('--limit <n>', 'keep only the first N examples of each split', positiveInteger)
  .option('--replace', 'replace another dataset already in --out (a dataset with the same content is always replaced)')
  .addOption(
    new Option('--data-checks <policy>', 'fail: a data check over its threshold (duplicates, a train/test leak, label conflicts, a file given twice) stops the ingest; warn (default): it is reported').choices(
      DATA_CHECK_POLICIES,
    ),
  )
  .option('--json', 'print a one-line JSON summary as the last line of stdout')
  .action(async (flags) => {
  await ingestCommand(flags);
});

withTrainingOptions(
  program
    .command('train')
    .description('train the CNN on a dataset directory written by `ingest`')
    .requiredOption('--data <dir>', 'dataset directory (from `ingest`)')
    .requiredOption('--out <dir>', 'model directory to write'),
).action(async (flags) => {
  await trainCommand(flags);
});

program
  .command('evaluate')
  .description('predict the test split and write the classification report, confusion matrix and charts')
  .requiredOption('--data <dir>', 'dataset directory (from `ingest`)')
  .requiredOption('--model <dir>', 'model directory (from `train`)')
  .requiredOption('--out <dir>', 'report directory to write')
  .action(async (flags) => {
  await evaluateCommand(flags);
});

program
  .command('report')
  .description('classification report and confusion matrix from two files of one label (0-9) per line')
  .requiredOption('--labels <file>', 'true labels')
  .requiredOption('--predictions <file>', 'predicted labels, same order')
  .requiredOption('--out <dir>', 'report directory to write')
  .action(async (flags) => {
  await reportCommand(flags);
});

/** The data and local-bucket flags `run` and `sweep` share. */
const withRunData = (command: Command) =>
  command
    .option('--train <files...>', 'training data files')
    .option('--test <files...>', 'test data files')
    .option('--out <dir>', 'output directory (default runs/<run id>)')
    .option('--limit <n>', 'keep only the first N examples of each split', positiveInteger)
    .option('--state-dir <dir>', 'where the embedded S3 server keeps the bucket between runs (default runs/.local-s3)')
    .option('--fresh', 'use a throw-away bucket: no champion from earlier runs, nothing kept');

/** --train/--test as given, or the default dataset when neither is. */
function dataOf(flags: { train?: string[]; test?: string[] }) {
  if (Boolean(flags.train) !== Boolean(flags.test)) {
    throw new ConfigError('give both --train and --test, or neither to use the default dataset');
  }
  const fallback = flags.train ? undefined : defaultDataset();
  return { train: flags.train ?? fallback!.train, test: flags.test ?? fallback!.test, datasetDescription: fallback?.description };
}

withTrainingOptions(
  withRunData(addWorkflowOptions(program.command('run'))).description(
    'ingest, train, evaluate and promote end to end on this machine: the deployed workflow run locally (with no data flags: the full Fashion-MNIST if installed, else the bundled sample)',
  ),
).action(async (flags) => {
  await runCommand({ ...flags, ...dataOf(flags) });
});

// `fmnist sweep --grid FILE ...` starts a sweep locally; `fmnist sweep status <id>` (cli/sweep) reads one, local or --aws.
withTrainingOptions(
  withRunData(addWorkflowOptions(registerSweepCommands(program)))
    .description(
      'train many configs on the same data as one local execution (a Map state), register every trial and promote the best (by validation accuracy); the training flags are the base every trial starts from. `sweep status <id>`: a sweep\'s trials and best',
    )
    .option('--grid <file>', 'JSON { "<config field>": [values, ...], ... }: every combination')
    .option('--random <n>', 'N seeded random draws from --space', positiveInteger)
    .option('--space <file>', 'JSON { "<field>": [values, ...] | { "min": .., "max": .., "scale": "log", "integer": true } } for --random')
    .option('--random-seed <n>', 'seed of the --random draws (default 0; --seed is the training seed)', wholeNumber)
    .option('--trials <file>', 'JSON [ { config overrides }, ... ]: one trial each')
    .option('--halving', 'successive halving: train all for a short budget, keep the best 1/eta, continue those from their checkpoints')
    .option('--eta <n>', 'with --halving: keep the best 1/eta after each round (default 2)', positiveInteger)
    .option('--max-concurrency <n>', 'trials trained at once (default: the stack\'s 4; locally also at most the cores)', positiveInteger),
).action(async (flags) => {
  await sweepCommand({ ...flags, ...dataOf(flags) });
});

registerAwsCommands(program);

// `fmnist models list|show|promote|rollback|approve|reject`: the model registry, local or --aws.
addApprovalCommands(registerModelsCommands(program));
// `fmnist runs list|compare`: the runs in the local bucket, or with --aws the deployed stack's.
registerRunsCommands(program);

// `fmnist resume <runId>`: locally (cli/resume.ts), or with --aws on the deployed workflow.
registerResumeCommand(program, resumeCommand);

installSignalHandlers();
try {
  await program.parseAsync();
} catch (error) {
  const signal = interruption();
  const message = userFacingMessage(error);
  if (message !== undefined) process.stderr.write(`fmnist: ${message}\n`);
  // A command stopped by Ctrl-C or SIGTERM exits with the signal's code, whatever it failed with.
  if (signal) process.exit(exitCodeFor(signal));
  if (message !== undefined) process.exit(1);
  throw error;
}
if (interruption()) process.exit(exitCodeFor(interruption()!));

/**
 * One line for what the user can fix: a UserError (lib/errors.ts), and file-system errors that name a path
 * (a path given on the command line that is missing, unreadable or a directory). Anything else
 * is a bug and keeps its stack trace.
 */
function userFacingMessage(error: unknown): string | undefined {
  if (error instanceof UserError) return error.message;
  const failure = error as NodeJS.ErrnoException;
  if (typeof failure?.path === 'string' && FILE_PROBLEMS.has(failure.code ?? '')) return fileProblem(failure.path, failure);
  return undefined;
}
