import { Option, type Command } from 'commander';
import { TRAIN_RUNTIMES } from '../../workflow/execution-input.ts';
import { PROMOTION_MODES } from '../../workflow/promotion.ts';
import { addTrainingOptions, positiveInteger } from '../options.ts';
import type { AwsCommandDeps } from './clients.ts';
import { DEFAULT_STACK_NAME, STACK_ENV } from './stack.ts';
import { startCommand, type StartFlags } from './start.ts';
import { DEFAULT_STATUS_LIMIT, statusCommand, type StatusFlags } from './status.ts';

function withConnectionOptions(command: Command): Command {
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
    addTrainingOptions(program.command('start'), { backend: false })
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
      .addOption(
        new Option('--promote <mode>', 'replace models/champion.json: if-better (same test set, higher accuracy), always, never').choices(
          PROMOTION_MODES,
        ),
      )
      .option('--limit <n>', 'keep only the first N examples of each split', positiveInteger)
      .option('--run-id <id>', 'names runs/<run id>/ (default: the execution name)')
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
