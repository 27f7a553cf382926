import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  paginateListExecutions,
  RedriveExecutionCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  type ExecutionStatus,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { objectExists, s3Url } from '../../lib/aws/s3.ts';
import { ConfigError } from '../../lib/errors.ts';
import type { ExecutionInput } from '../../lib/workflow/execution-input.ts';
import { REPORT_FILES } from '../../lib/workflow/files.ts';
import { reportPrefix } from '../../lib/workflow/layout.ts';
import type { RunRecord } from '../../lib/workflow/run-record.ts';
import { executionNameFor, GENERATED_RUN_ID_SOURCE, MAX_NAME_SLUG_LENGTH, slugOf, validateRunId } from '../../lib/workflow/run-id.ts';
import { resumeInput, storedRun } from '../stored-run.ts';
import {
  awsCall,
  cloudFormationClient,
  parseStateMachineArn,
  s3ClientFor,
  sfnClient,
  sleep as realSleep,
  type AwsCommandDeps,
  type AwsConnectionFlags,
} from './clients.ts';
import { followExecution } from './follow.ts';
import { formatTime } from './format.ts';
import { resolveTargets } from './stack.ts';
import { executionConsoleUrl, settleFollowed, type SettledExecution } from './start.ts';
import { inputRunIdField } from './run-output.ts';
import { validateExecutionInput } from './start-input.ts';

/** `fmnist resume <runId> --aws` flags (commander's camelCase names). */
export interface ResumeFlags extends AwsConnectionFlags {
  /** Redrive the failed execution (Step Functions redrive) instead of starting a new one. */
  redrive?: boolean;
  /** Follow the execution to its end and download the report (default true; --no-wait). */
  wait?: boolean;
  /** Where the report goes (default runs/<run id>/report). */
  out?: string;
  json?: boolean;
}

/** The run's most recent execution, as DescribeExecution tells it. */
export interface PreviousExecution {
  name: string;
  executionArn: string;
  status: ExecutionStatus;
  startDate?: string;
  stopDate?: string;
  redriveStatus?: string;
  redriveStatusReason?: string;
  error?: string;
}

export interface ResumeResult extends SettledExecution {
  runId: string;
  /** "redrive": the failed execution redriven; "start": a new execution with `resume: true`. */
  action: 'redrive' | 'start';
  previousExecution?: PreviousExecution;
  executionArn: string;
  executionName: string;
  stateMachineArn: string;
  bucket: string;
  consoleUrl: string;
  /** The new execution's input (action "start"). */
  input?: ExecutionInput;
}

const UNFINISHED: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];
/** The first execution starts before ValidateInput writes run.json: look this far before createdAt. */
const START_MARGIN_MS = 60 * 60 * 1000;
/** ListExecutions is read newest first until the run's creation, and never further than this. */
const MAX_LISTED = 2000;

/**
 * `fmnist resume <runId> --aws`: finishes a run of the deployed workflow that did not succeed.
 * Reads runs/<runId>/run.json, finds the run's last execution, refuses a run still running or
 * already succeeded, then either redrives the failed execution (`--redrive`, when Step Functions
 * says it is redrivable) or starts a new execution with the stored input and `resume: true`
 * (ingest reused by dataset id, training from its checkpoint, then evaluate and promote), and
 * follows it like `start --wait`. Never calls process.exit.
 */
export async function resumeCommand(runId: string, flags: ResumeFlags, deps: AwsCommandDeps = {}): Promise<ResumeResult> {
  validateRunId(runId);
  const wait = flags.wait ?? true;
  if (flags.out !== undefined && !wait) throw new ConfigError('--out is where the report goes once the execution ends: drop --no-wait');
  const now = deps.now?.() ?? new Date();
  const stdout = deps.out ?? process.stdout;
  const progress = flags.json ? (deps.log ?? process.stderr) : stdout;
  const say = (line = '') => progress.write(line + '\n');

  const targets = await resolveTargets(flags, () => cloudFormationClient(flags, deps), { bucket: 'required', env: deps.env });
  const bucket = targets.bucket!;
  const { stateMachineArn } = targets;
  parseStateMachineArn(stateMachineArn);
  if (targets.stackName) say(`stack ${targets.stackName}: state machine ${stateMachineArn}, bucket ${bucket}`);
  const s3 = s3ClientFor(flags, deps, stateMachineArn);
  const sfn = sfnClient(flags, deps, stateMachineArn);

  const record = await awsCall(`reading run ${runId}`, () => storedRun(s3, bucket, runId, `s3://${bucket}/`));
  const previous = await lastExecutionOf(sfn, stateMachineArn, record);
  if (previous) {
    say(`run ${runId}: last execution ${previous.name} ${previous.status} (started ${formatTime(previous.startDate ? new Date(previous.startDate) : undefined)} UTC)`);
    refuseUnlessUnfinished(runId, previous);
  } else {
    // Executions are listed for 90 days after they end; the report says whether the run got that far.
    const report = { bucket, key: reportPrefix(runId) + REPORT_FILES.metrics };
    if (await awsCall(`reading ${s3Url(report)}`, () => objectExists(s3, report))) {
      throw new ConfigError(`run ${runId} has a report (${s3Url(report)}) and no execution of it is listed any more: nothing to resume`);
    }
    say(`run ${runId}: no execution of it is listed (since ${record.createdAt}); starting a new one`);
  }

  let executionArn: string;
  let executionName: string;
  let afterEventId: number | undefined;
  let input: ExecutionInput | undefined;
  let action: ResumeResult['action'];
  if (flags.redrive) {
    if (!previous) throw new ConfigError(`--redrive: run ${runId} has no execution to redrive; resume without --redrive to start a new one`);
    if (previous.redriveStatus !== 'REDRIVABLE') {
      throw new ConfigError(
        `--redrive: execution ${previous.name} is ${previous.redriveStatus ?? 'not redrivable'}` +
          `${previous.redriveStatusReason ? ` (${previous.redriveStatusReason})` : ''}; ` +
          `resume without --redrive to start a new execution that reuses what the run stored`,
      );
    }
    afterEventId = await lastEventId(sfn, previous.executionArn);
    await awsCall(`redriving ${previous.executionArn}`, () => sfn.send(new RedriveExecutionCommand({ executionArn: previous.executionArn })));
    executionArn = previous.executionArn;
    executionName = previous.name;
    action = 'redrive';
    say(`redriven ${executionName}: it goes on from the state that failed`);
  } else {
    input = resumeInput(record);
    validateExecutionInput(input);
    // Execution names are unique per state machine for 90 days: never the failed one's.
    executionName = executionNameFor(runId, now);
    const started = await awsCall(`starting ${stateMachineArn}`, () =>
      sfn.send(new StartExecutionCommand({ stateMachineArn, name: executionName, input: JSON.stringify(input) })),
    );
    if (!started.executionArn) throw new ConfigError('StartExecution returned no executionArn');
    executionArn = started.executionArn;
    action = 'start';
    say(`started ${executionName} (run ${runId}, resumed: stored dataset, checkpoint, model and report are reused)`);
  }
  const consoleUrl = executionConsoleUrl(executionArn);
  say(`  execution: ${executionArn}`);
  say(`  console:   ${consoleUrl}`);

  const result: ResumeResult = {
    runId,
    action,
    ...(previous ? { previousExecution: previous } : {}),
    executionArn,
    executionName,
    stateMachineArn,
    bucket,
    consoleUrl,
    ...(input ? { input } : {}),
    status: 'RUNNING',
    exitCode: 0,
  };
  if (wait) {
    say('following the execution (Ctrl-C stops following, not the execution)');
    const followed = await followExecution({ sfn, executionArn, write: say, sleep: deps.sleep ?? realSleep, afterEventId });
    Object.assign(result, await settleFollowed(followed, { s3, bucket, runId, out: flags.out, consoleUrl, say }));
  } else {
    say('follow it with: fmnist status');
  }

  if (flags.json) {
    const { stateMachineArn: _machine, bucket: _bucket, exitCode: _exit, ...summary } = result;
    stdout.write(JSON.stringify(dropUndefined(summary)) + '\n');
  }
  return result;
}

function refuseUnlessUnfinished(runId: string, previous: PreviousExecution): void {
  if (previous.status === 'SUCCEEDED') {
    throw new ConfigError(`run ${runId} already succeeded (execution ${previous.name}): nothing to resume`);
  }
  if (!UNFINISHED.includes(previous.status)) {
    throw new ConfigError(
      `run ${runId} is still ${previous.status === 'PENDING_REDRIVE' ? 'being redriven' : 'running'} (execution ${previous.name}): ` +
        `wait for it to end (fmnist status), or stop it first`,
    );
  }
}

/**
 * The run's most recent execution: the executions listed (newest first, back to just before the
 * run was created) whose name is the run's (run.json's executionName, the run id, or a name
 * `start`/`resume` derive from the run id), confirmed by the run id of their input. An execution
 * started by hand under an unrelated name is not found.
 */
export async function lastExecutionOf(sfn: SFNClient, stateMachineArn: string, record: RunRecord): Promise<PreviousExecution | undefined> {
  const since = Date.parse(record.createdAt) - START_MARGIN_MS;
  const derived = new RegExp(`^${escapeRegExp(slugOf(record.runId, MAX_NAME_SLUG_LENGTH))}-${GENERATED_RUN_ID_SOURCE}$`);
  const isNamedForRun = (name: string) => name === record.executionName || name === record.runId || derived.test(name);

  // Newest first: the listing stops at the first execution started before the run was created.
  const candidates = await awsCall(`listing the executions of ${stateMachineArn}`, async () => {
    const found: ExecutionListItem[] = [];
    let listed = 0;
    for await (const page of paginateListExecutions({ client: sfn, pageSize: 100 }, { stateMachineArn })) {
      for (const item of page.executions ?? []) {
        if (item.startDate && item.startDate.getTime() < since) return found;
        if (item.name && item.executionArn && isNamedForRun(item.name)) found.push(item);
      }
      listed += page.executions?.length ?? 0;
      if (listed >= MAX_LISTED) break;
    }
    return found;
  });

  let latest: { at: number; execution: PreviousExecution } | undefined;
  for (const item of candidates) {
    const described = await awsCall(`describing ${item.executionArn}`, () =>
      sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn })),
    );
    if (!belongsToRun(described, item.name!, record)) continue;
    const at = (described.redriveDate ?? item.redriveDate ?? described.startDate ?? item.startDate)?.getTime() ?? 0;
    if (latest && latest.at >= at) continue;
    latest = {
      at,
      execution: {
        name: item.name!,
        executionArn: item.executionArn!,
        status: described.status ?? item.status ?? 'RUNNING',
        ...(described.startDate ?? item.startDate ? { startDate: (described.startDate ?? item.startDate)!.toISOString() } : {}),
        ...(described.stopDate ? { stopDate: described.stopDate.toISOString() } : {}),
        ...(described.redriveStatus ? { redriveStatus: described.redriveStatus } : {}),
        ...(described.redriveStatusReason ? { redriveStatusReason: described.redriveStatusReason } : {}),
        ...(described.error ? { error: described.error } : {}),
      },
    };
  }
  return latest?.execution;
}

/** Its input names the run; or, with no run id in it, its name is the run id (ValidateInput's default). */
function belongsToRun(described: DescribeExecutionCommandOutput, name: string, record: RunRecord): boolean {
  const inputRunId = inputRunIdField(described.input);
  return inputRunId === undefined ? name === record.runId : inputRunId === record.runId;
}

async function lastEventId(sfn: SFNClient, executionArn: string): Promise<number> {
  const page = await awsCall(`reading the history of ${executionArn}`, () =>
    sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1 })),
  );
  return page.events?.[0]?.id ?? 0;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
