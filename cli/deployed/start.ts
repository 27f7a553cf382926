import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { StartExecutionCommand, type ExecutionStatus } from '@aws-sdk/client-sfn';
import { ConfigError } from '../../lib/errors.ts';
import { downloadPrefix, s3Url } from '../../lib/aws/s3.ts';
import type { ExecutionInput } from '../../lib/workflow/execution-input.ts';
import { reportPrefix } from '../../lib/workflow/layout.ts';
import {
  awsCall,
  cloudFormationClient,
  parseStateMachineArn,
  s3ClientFor,
  sfnClient,
  sleep as realSleep,
  type AwsCommandDeps,
} from './clients.ts';
import { followExecution, type FollowResult } from './follow.ts';
import { formatDuration, formatPercent } from './format.ts';
import { reusedRunLine } from '../run-summary.ts';
import { runOutcome, type RunOutcome } from './run-output.ts';
import { requireLatestRawPair, resolveSources } from './sources.ts';
import { resolveTargets } from './stack.ts';
import { planStart, validateExecutionInput, type StartFlags } from './start-input.ts';
import { executionNameFor } from '../../lib/workflow/run-id.ts';

export type { StartFlags } from './start-input.ts';

export interface StartResult extends SettledExecution {
  executionArn: string;
  executionName: string;
  runId: string;
  stateMachineArn: string;
  bucket: string;
  input: ExecutionInput;
  consoleUrl: string;
  /** RUNNING when not waited for. */
  status: ExecutionStatus;
  /** 0: started (or, with --wait, SUCCEEDED); 1: FAILED, TIMED_OUT or ABORTED. */
  exitCode: number;
}

/** The Step Functions console page of an execution. */
export function executionConsoleUrl(executionArn: string): string {
  const [, partition, , region] = executionArn.split(':');
  const host =
    partition === 'aws-cn'
      ? `${region}.console.amazonaws.cn`
      : partition === 'aws-us-gov'
        ? 'console.amazonaws-us-gov.com'
        : `${region}.console.aws.amazon.com`;
  return `https://${host}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/**
 * `fmnist start`: validates the flags (no AWS call before that), finds the stack's state machine
 * and bucket, uploads local data files, starts an execution with a readable name and, with
 * --wait, follows it state by state and downloads its report. Never calls process.exit: the
 * caller sets the exit code from `exitCode`.
 */
export async function startCommand(flags: StartFlags, deps: AwsCommandDeps = {}): Promise<StartResult> {
  const now = deps.now?.() ?? new Date();
  const plan = await planStart(flags, now);
  const stdout = deps.out ?? process.stdout;
  const progress = flags.json ? (deps.log ?? process.stderr) : stdout;
  const say = (line = '') => progress.write(line + '\n');

  const targets = await resolveTargets(flags, () => cloudFormationClient(flags, deps), {
    bucket: 'required',
    env: deps.env,
  });
  const bucket = targets.bucket!;
  const { stateMachineArn } = targets;
  parseStateMachineArn(stateMachineArn);
  if (targets.stackName) say(`stack ${targets.stackName}: state machine ${stateMachineArn}, bucket ${bucket}`);
  const s3 = s3ClientFor(flags, deps, stateMachineArn);
  const sfn = sfnClient(flags, deps, stateMachineArn);

  let train: string[];
  let test: string[];
  let slugSource: string;
  if (plan.sources) {
    ({ train, test } = await resolveSources(s3, bucket, plan.sources, say));
    slugSource = plan.sources.train[0].text;
  } else {
    const pair = await requireLatestRawPair(s3, bucket);
    train = [pair.train.key];
    test = [pair.test.key];
    slugSource = pair.train.key;
    say(`data: the latest complete pair under raw/: ${pair.train.key} + ${pair.test.key}`);
  }

  const executionName = executionNameFor(plan.settings.runId ?? slugSource, now);
  const runId = plan.settings.runId ?? executionName;
  const input: ExecutionInput = { train, test, ...plan.settings, runId };
  validateExecutionInput(input);

  const started = await awsCall(`starting ${stateMachineArn}`, () =>
    sfn.send(new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(input) })),
  );
  const executionArn = started.executionArn;
  if (!executionArn) throw new ConfigError('StartExecution returned no executionArn');
  const consoleUrl = executionConsoleUrl(executionArn);
  say(`started ${executionName} (run ${runId})`);
  say(`  execution: ${executionArn}`);
  say(`  console:   ${consoleUrl}`);
  const result: StartResult = {
    executionArn,
    executionName,
    runId,
    stateMachineArn,
    bucket,
    input,
    consoleUrl,
    status: 'RUNNING',
    exitCode: 0,
  };

  if (flags.wait) {
    say('following the execution (Ctrl-C stops following, not the execution)');
    const followed = await followExecution({
      sfn,
      executionArn,
      write: say,
      sleep: deps.sleep ?? realSleep,
    });
    Object.assign(result, await settleFollowed(followed, { s3, bucket, runId, out: flags.out, consoleUrl, say }));
  } else {
    say(`follow it with: fmnist status (or start with --wait to follow and fetch the report)`);
  }

  if (flags.json) {
    stdout.write(
      JSON.stringify({
        executionArn,
        executionName,
        runId,
        status: result.status,
        consoleUrl,
        input,
        ...(result.outcome ? { outcome: result.outcome } : {}),
        ...(result.error ? { error: result.error, cause: result.cause } : {}),
        ...(result.reportDir ? { reportDir: result.reportDir, reportFiles: result.reportFiles } : {}),
      }) + '\n',
    );
  }
  return result;
}

/** What a followed execution ended as, for the command's result (and its exit code). */
export interface SettledExecution {
  status: ExecutionStatus;
  exitCode: number;
  outcome?: RunOutcome;
  error?: string;
  cause?: string;
  /** With success: where the report went, and its files. */
  reportDir?: string;
  reportFiles?: string[];
}

/**
 * After following an execution to its end: on success the summary line, the champion decision
 * and the report downloaded to `out` (default runs/<run id>/report); otherwise the failure.
 * Shared by `start --wait` and `resume`.
 */
export async function settleFollowed(
  followed: FollowResult,
  context: { s3: S3Client; bucket: string; runId: string; out?: string; consoleUrl: string; say: (line?: string) => void },
): Promise<SettledExecution> {
  const { s3, bucket, say } = context;
  const settled: SettledExecution = { status: followed.status, exitCode: 0, error: followed.error, cause: followed.cause };
  if (followed.status !== 'SUCCEEDED') {
    settled.exitCode = 1;
    say(`execution ${followed.status}${followed.error ? `: ${followed.error}` : ''}`);
    say(`  see ${context.consoleUrl}`);
    return settled;
  }
  const outcome = runOutcome(followed.output);
  settled.outcome = outcome;
  const finalRunId = outcome.runId ?? context.runId;
  if (outcome.reusedRun) say(reusedRunLine(outcome.reusedRun));
  else say(summaryLine(outcome));
  if (outcome.promotionReason !== undefined) {
    say(`champion: ${outcome.promoted ? 'promoted' : 'kept'} (${outcome.promotionReason})`);
  }
  const prefix = outcome.reportPrefix ?? reportPrefix(finalRunId);
  const dir = context.out ?? join('runs', finalRunId, 'report');
  const files = await awsCall(`downloading ${s3Url({ bucket, key: prefix })}`, () =>
    downloadPrefix(s3, { bucket, key: prefix }, dir),
  );
  settled.reportDir = dir;
  settled.reportFiles = files;
  const pngs = files.filter((file) => file.endsWith('.png'));
  say(`report: ${files.length} files from ${s3Url({ bucket, key: prefix })} in ${dir}`);
  if (pngs.length > 0) say(`  charts: ${pngs.join(', ')}`);
  return settled;
}

function summaryLine(outcome: RunOutcome): string {
  const parts = [`test accuracy ${formatPercent(outcome.accuracy)}`];
  if (outcome.macroF1 !== undefined) parts.push(`macro F1 ${outcome.macroF1.toFixed(4)}`);
  if (outcome.trainSeconds !== undefined) {
    const epochs = outcome.epochs !== undefined ? `${outcome.epochs} epochs ` : '';
    const backend = outcome.backend !== undefined ? ` (tfjs ${outcome.backend})` : '';
    parts.push(`trained ${epochs}in ${formatDuration(outcome.trainSeconds * 1000)}${backend}`);
  }
  return parts.join(', ');
}
