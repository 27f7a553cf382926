import { Option, type Command } from 'commander';
import { ConfigError } from '../../lib/errors.ts';
import { TRAIN_RUNTIMES } from '../../lib/workflow/execution-input.ts';
import { addTrainingOptions, addWorkflowOptions, positiveInteger } from '../options.ts';
import type { AwsCommandDeps } from './clients.ts';
import { resumeCommand, type ResumeFlags } from './resume.ts';
import { DEFAULT_STACK_NAME, STACK_ENV } from './stack.ts';
import { startCommand, type StartFlags } from './start.ts';
import { DEFAULT_STATUS_LIMIT, statusCommand, type StatusFlags } from './status.ts';

/** The flags that say which deployed stack, bucket and account: shared by every --aws command. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option('--stack <name>', `CloudFormation stack whose outputs name the state machine and bucket (default: $${STACK_ENV}, else ${DEFAULT_STACK_NAME})`)
    .option('--state-machine-arn <arn>', 'the training state machine (with --bucket: no stack lookup)')
    .option('--bucket <name>', 'the data bucket (with --state-machine-arn: no stack lookup)')
    .option('--region <region>', 'AWS region (default: AWS_REGION or the profile\'s; the state machine ARN\'s for Step Functions and S3)')
    .option('--profile <name>', 'AWS named profile (default: AWS_PROFILE)');
}

/**
 * Adds `fmnist start` and `fmnist status` (the deployed workflow) to the CLI. `deps` is for tests;
 * the actions set process.exitCode (1 when a followed execution did not succeed) and let
 * ConfigErrors through to the caller's handler.
 */
export function registerAwsCommands(program: Command, deps: AwsCommandDeps = {}): Command {
  withConnectionOptions(
    addWorkflowOptions(addTrainingOptions(program.command('start'), { backend: false }))
      .description(
        'start the deployed training workflow (Step Functions) on data in the bucket or local files; ' +
          'with no data flags, the latest complete train/test pair under raw/',
      )
      .option('--train <sources...>', 'training data: s3://<bucket>/raw/... URLs, raw/... keys, or local files (uploaded to raw/uploads/)')
      .option('--test <sources...>', 'test data, same forms as --train')
      .addOption(
        new Option('--train-on <where>', 'training runtime; auto: Fargate when the job would not fit a 15-minute Lambda').choices(
          TRAIN_RUNTIMES,
        ),
      )
      .option('--limit <n>', 'keep only the first N examples of each split', positiveInteger)
      .option('--run-id <id>', 'names runs/<run id>/ (default: the execution name)')
      .option('--sweep <file>', 'a sweep instead of one run: JSON { "grid" | "random" | "trials": ..., "halving"?: true, "maxConcurrency"?: n } (see the README)')
      .option('--wait', 'follow the execution state by state, then download its report')
      .option('--out <dir>', 'with --wait: where the report goes (default runs/<run id>/report)')
      .option('--json', 'print one JSON summary line on stdout (progress goes to stderr)'),
  ).action(async (flags: StartFlags) => {
    const result = await startCommand(flags, deps);
    if (result.exitCode !== 0) process.exitCode = result.exitCode;
  });

  withConnectionOptions(
    program
      .command('status')
      .description('recent executions of the deployed workflow (status, duration, test accuracy) and the current champion')
      .option('--limit <n>', `how many of the most recent executions (default ${DEFAULT_STATUS_LIMIT})`, positiveInteger)
      .option('--json', 'machine-readable output'),
  ).action(async (flags: StatusFlags) => {
    await statusCommand(flags, deps);
  });
  return program;
}

/** `fmnist resume` on this machine (cli/resume.ts), given by the caller: cli/deployed does not load the local runtime. */
export type LocalResume = (runId: string, flags: { stateDir?: string; out?: string }) => Promise<unknown>;

interface ResumeCommandFlags extends ResumeFlags {
  aws?: boolean;
  stateDir?: string;
}

/** The flags that only mean something for the deployed workflow, as typed. */
const AWS_ONLY: [keyof ResumeCommandFlags, string][] = [
  ['redrive', '--redrive'],
  ['json', '--json'],
  ['stack', '--stack'],
  ['stateMachineArn', '--state-machine-arn'],
  ['bucket', '--bucket'],
  ['region', '--region'],
  ['profile', '--profile'],
];

/**
 * Adds `fmnist resume <runId>`: a local run (the default, like `run`) or, with --aws, a run of the
 * deployed workflow (like `start`/`status`: the same stack and bucket discovery). Sets
 * process.exitCode 1 when a followed execution did not succeed; ConfigErrors go to the caller.
 */
export function registerResumeCommand(program: Command, resumeLocally: LocalResume, deps: AwsCommandDeps = {}): Command {
  withConnectionOptions(
    program
      .command('resume')
      .argument('<runId>', 'the run to finish (`run` prints it first; `fmnist status` lists deployed ones)')
      .description(
        'finish a run that did not succeed (killed, failed, timed out) reusing what it stored: its dataset, training ' +
          'checkpoint, model and report. Local by default (the bucket in --state-dir); --aws for the deployed workflow',
      )
      .option('--state-dir <dir>', 'local: the state directory the run used (default runs/.local-s3)')
      .option('--out <dir>', 'local: output directory (default: where the run wrote); --aws: where the report goes (default runs/<run id>/report)')
      .option('--aws', 'resume a run of the deployed workflow (Step Functions)')
      .option('--redrive', '--aws: redrive the failed execution from the state that failed, instead of starting a new execution')
      .option('--no-wait', '--aws: start (or redrive) and return without following')
      .option('--json', '--aws: print one JSON summary line on stdout (progress goes to stderr)'),
  ).action(async (runId: string, flags: ResumeCommandFlags) => {
    if (flags.aws) {
      if (flags.stateDir !== undefined) throw new ConfigError('--state-dir is for local runs: drop it, or drop --aws');
      const { aws: _aws, stateDir: _stateDir, ...awsFlags } = flags;
      const result = await resumeCommand(runId, awsFlags, deps);
      if (result.exitCode !== 0) process.exitCode = result.exitCode;
      return;
    }
    const awsOnly = AWS_ONLY.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
    if (flags.wait === false) awsOnly.push('--no-wait');
    if (awsOnly.length > 0) throw new ConfigError(`${awsOnly.join(', ')}: for a run of the deployed workflow; add --aws`);
    await resumeLocally(runId, { stateDir: flags.stateDir, out: flags.out });
  });
  return program;
}
