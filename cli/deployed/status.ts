import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  type ExecutionListItem,
  type ExecutionStatus,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { ConfigError } from '../../lib/errors.ts';
import { listObjects, s3Url } from '../../lib/aws/s3.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { readChampion } from '../../lib/workflow/champion-store.ts';
import { TestSetId } from '../../lib/workflow/ids.ts';
import { CHAMPIONS_PREFIX } from '../../lib/workflow/layout.ts';
import { type Champion, championKey } from '../../lib/workflow/promotion.ts';
import {
  awsCall,
  cloudFormationClient,
  s3ClientFor,
  sfnClient,
  type AwsCommandDeps,
  type AwsConnectionFlags,
} from './clients.ts';
import {
  colour,
  errorWithCause,
  formatDuration,
  formatPercent,
  formatTable,
  formatTime,
  isColourTerminal,
  readableCause,
  truncate,
  type Colour,
} from './format.ts';
import { runIdOfInput, runOutcome, testSetIdOfOutput } from './run-output.ts';
import { resolveTargets } from './stack.ts';
import { mapLimit } from '../../lib/concurrency.ts';

export interface StatusFlags extends AwsConnectionFlags {
  /** How many of the most recent executions (default 10). */
  limit?: number;
  json?: boolean;
}

export interface ExecutionSummary {
  name: string;
  executionArn: string;
  status: ExecutionStatus;
  startDate?: string;
  stopDate?: string;
  /** Until now for a running execution. */
  durationSeconds?: number;
  runId?: string;
  /** The test split it was judged on (SUCCEEDED): which champion it competes with. */
  testSetId?: string;
  /** Test accuracy (SUCCEEDED). */
  accuracy?: number;
  macroF1?: number;
  promoted?: boolean;
  /** Error and readable cause (FAILED, TIMED_OUT, ABORTED). */
  error?: string;
  cause?: string;
  /** This run is the current champion of its test split. */
  isChampion: boolean;
  /** FAILED, TIMED_OUT, ABORTED: whether Step Functions can redrive it (DescribeExecution), and why not. */
  redriveStatus?: string;
  redriveStatusReason?: string;
  /** The latest unfinished execution of its run: the command that finishes the run. */
  resumeCommand?: string;
}

export interface StatusResult {
  stateMachineArn: string;
  bucket?: string;
  executions: ExecutionSummary[];
  /**
   * The champions of the test splits the listed runs were judged on (models/champions/<testSetId>.json),
   * or every champion when no listed run names its test split; newest run's split first.
   */
  champions: Champion[];
  /** The first of `champions` (the champion of the newest listed run's test split); null when none. */
  champion: Champion | null;
  /** Why a champion could not be shown (none yet, malformed, no bucket). */
  championNote?: string;
}

export const DEFAULT_STATUS_LIMIT = 10;
const DESCRIBE_CONCURRENCY = 4;

/**
 * `fmnist status`: the most recent executions (ListExecutions, newest first) with their
 * duration, test accuracy or failure (DescribeExecution), and the champions of the test splits
 * those runs were judged on (models/champions/<testSetId>.json). A table, or `--json`.
 */
export async function statusCommand(flags: StatusFlags, deps: AwsCommandDeps = {}): Promise<StatusResult> {
  const limit = flags.limit ?? DEFAULT_STATUS_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new ConfigError(`--limit: expected a whole number >= 1, got ${limit}`);
  const out = deps.out ?? process.stdout;
  const now = deps.now?.() ?? new Date();
  const targets = await resolveTargets(flags, () => cloudFormationClient(flags, deps), { bucket: 'optional', env: deps.env });
  const { stateMachineArn, bucket } = targets;
  const sfn = sfnClient(flags, deps, stateMachineArn);

  const listed = await listExecutions(sfn, stateMachineArn, limit);
  const executions = await mapLimit(listed, DESCRIBE_CONCURRENCY, (item) => summarize(sfn, item, now));

  let champions: Champion[] = [];
  let championNote: string | undefined;
  if (bucket) {
    const s3 = s3ClientFor(flags, deps, stateMachineArn);
    ({ champions, note: championNote } = await readChampions(s3, bucket, executions));
  } else {
    championNote = 'champion not shown: pass --bucket (or let the stack lookup find it)';
  }
  for (const execution of executions) {
    execution.isChampion = champions.some((champion) => champion.runId === execution.runId && champion.testSetId === execution.testSetId);
  }
  addResumeCommands(executions, flags);

  const result: StatusResult = {
    stateMachineArn,
    ...(bucket ? { bucket } : {}),
    executions,
    champions,
    champion: champions[0] ?? null,
    ...(championNote ? { championNote } : {}),
  };
  if (flags.json) out.write(JSON.stringify(result, null, 2) + '\n');
  else out.write(formatStatus(result, isColourTerminal(out, deps.env ?? process.env)) + '\n');
  return result;
}

/** At most this many champions when every champion is listed (no run names its test split). */
const MAX_CHAMPIONS_SHOWN = 10;

/**
 * The champions of the listed runs' test splits (newest run first), or, when no run names its
 * test split (none succeeded among those listed), every champion in the bucket. A missing or
 * malformed record becomes a note, not a failure.
 */
async function readChampions(s3: S3Client, bucket: string, executions: ExecutionSummary[]): Promise<{ champions: Champion[]; note?: string }> {
  const notes: string[] = [];
  let testSetIds = [...new Set(executions.flatMap((execution) => (execution.testSetId ? [execution.testSetId] : [])))];
  if (testSetIds.length === 0) {
    const prefix = { bucket, key: CHAMPIONS_PREFIX };
    const listed = await awsCall(`listing ${s3Url(prefix)}`, async () => {
      const keys: string[] = [];
      for await (const object of listObjects(s3, bucket, CHAMPIONS_PREFIX)) keys.push(object.key);
      return keys;
    });
    testSetIds = listed.flatMap(championTestSetId).slice(0, MAX_CHAMPIONS_SHOWN);
    if (testSetIds.length === 0) return { champions: [], note: `no champion yet (nothing under ${s3Url(prefix)})` };
  }
  const champions: Champion[] = [];
  for (const testSetId of testSetIds) {
    const location = { bucket, key: championKey(testSetId) };
    try {
      const { champion } = await awsCall(`reading ${s3Url(location)}`, () => readChampion(s3, bucket, testSetId));
      if (champion) champions.push(champion);
      else notes.push(`no champion yet (${s3Url(location)} does not exist)`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      notes.push(error.message);
    }
  }
  return { champions, ...(notes.length > 0 ? { note: notes.join('; ') } : {}) };
}

async function listExecutions(sfn: SFNClient, stateMachineArn: string, limit: number): Promise<ExecutionListItem[]> {
  const items: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await awsCall(`listing the executions of ${stateMachineArn}`, () =>
      sfn.send(
        new ListExecutionsCommand({ stateMachineArn, maxResults: Math.min(1000, limit - items.length), nextToken }),
      ),
    );
    items.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken && items.length < limit);
  return items.slice(0, limit);
}

async function summarize(sfn: SFNClient, item: ExecutionListItem, now: Date): Promise<ExecutionSummary> {
  const status = item.status ?? 'RUNNING';
  const start = item.startDate;
  const stop = item.stopDate;
  const summary: ExecutionSummary = {
    name: item.name ?? item.executionArn?.split(':').at(-1) ?? '?',
    executionArn: item.executionArn ?? '',
    status,
    ...(start ? { startDate: start.toISOString() } : {}),
    ...(stop ? { stopDate: stop.toISOString() } : {}),
    ...(start ? { durationSeconds: Math.round(((stop ?? now).getTime() - start.getTime()) / 100) / 10 } : {}),
    isChampion: false,
  };
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE' || !item.executionArn) return summary;
  const described = await awsCall(`describing ${item.executionArn}`, () =>
    sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn })),
  );
  if (status === 'SUCCEEDED') {
    const outcome = runOutcome(described.output);
    summary.runId = outcome.runId;
    const testSetId = testSetIdOfOutput(described.output);
    if (testSetId) summary.testSetId = testSetId;
    summary.accuracy = outcome.accuracy;
    summary.macroF1 = outcome.macroF1;
    summary.promoted = outcome.promoted;
  } else {
    summary.runId = runIdOfInput(described.input) ?? undefined;
    summary.error = described.error;
    summary.cause = readableCause(described.cause);
    if (described.redriveStatus) summary.redriveStatus = described.redriveStatus;
    if (described.redriveStatusReason) summary.redriveStatusReason = described.redriveStatusReason;
  }
  return summary;
}

/** The test set id a listed key is the champion record of (`[]` for any other key). */
function championTestSetId(key: string): string[] {
  const id = TestSetId.safeParse(key.slice(CHAMPIONS_PREFIX.length).replace(/\.json$/, ''));
  return id.success && championKey(id.data) === key ? [id.data] : [];
}

const UNFINISHED = new Set<string>(['FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * `fmnist resume` for each run whose latest listed execution did not succeed (a run retried since
 * has a newer execution, listed first): with --redrive where Step Functions can redrive it.
 */
function addResumeCommands(executions: ExecutionSummary[], flags: StatusFlags): void {
  const connection = [
    ...(flags.stack ? [`--stack ${flags.stack}`] : []),
    ...(flags.stateMachineArn ? [`--state-machine-arn ${flags.stateMachineArn}`] : []),
    ...(flags.bucket ? [`--bucket ${flags.bucket}`] : []),
    ...(flags.region ? [`--region ${flags.region}`] : []),
    ...(flags.profile ? [`--profile ${flags.profile}`] : []),
  ];
  const seen = new Set<string>();
  for (const execution of executions) {
    if (!execution.runId || seen.has(execution.runId)) continue;
    seen.add(execution.runId);
    if (!UNFINISHED.has(execution.status)) continue;
    const redrive = execution.redriveStatus === 'REDRIVABLE' ? ['--redrive'] : [];
    execution.resumeCommand = ['fmnist resume', execution.runId, '--aws', ...redrive, ...connection].join(' ');
  }
}

const STATUS_COLOUR: Partial<Record<string, Colour>> = {
  SUCCEEDED: 'green',
  FAILED: 'red',
  TIMED_OUT: 'red',
  ABORTED: 'yellow',
  RUNNING: 'yellow',
};

/** The table, then the champion. */
export function formatStatus(result: StatusResult, useColour = false): string {
  const lines: string[] = [];
  if (result.executions.length === 0) {
    lines.push(`no executions of ${result.stateMachineArn} yet (start one with: fmnist start)`);
  } else {
    lines.push(
      formatTable(result.executions, [
        { header: 'NAME', value: (row) => row.name },
        {
          header: 'STATUS',
          value: (row) => row.status,
          style: (row, cell) => {
            const name = STATUS_COLOUR[row.status];
            return name ? colour(useColour, name, cell) : cell;
          },
        },
        { header: 'STARTED (UTC)', value: (row) => formatTime(row.startDate ? new Date(row.startDate) : undefined) },
        { header: 'STOPPED (UTC)', value: (row) => formatTime(row.stopDate ? new Date(row.stopDate) : undefined) },
        {
          header: 'DURATION',
          align: 'right',
          value: (row) => (row.durationSeconds === undefined ? '-' : formatDuration(row.durationSeconds * 1000)),
        },
        { header: 'ACCURACY', align: 'right', value: (row) => formatPercent(row.accuracy) },
        { header: 'NOTE', value: note },
      ]),
    );
  }
  const resumable = result.executions.filter((row) => row.resumeCommand);
  if (resumable.length > 0) {
    lines.push('', 'to finish a run that did not succeed:');
    for (const row of resumable) {
      const redrive =
        row.redriveStatus === 'REDRIVABLE'
          ? 'redrivable (drop --redrive for a new execution instead)'
          : `not redrivable${row.redriveStatusReason ? `: ${row.redriveStatusReason}` : ''}; a new execution reuses what it stored`;
      lines.push(`  ${row.name}: ${row.resumeCommand}`, `    ${redrive}`);
    }
  }
  lines.push('');
  for (const champion of result.champions) {
    lines.push(
      `champion: ${champion.runId}  accuracy ${formatPercent(champion.accuracy)}  macro F1 ${champion.macroF1.toFixed(4)}  ` +
        `promoted ${champion.promotedAt}`,
    );
    const where = result.bucket ? `s3://${result.bucket}/` : '';
    lines.push(
      `  test split ${champion.testSetId.slice(0, 12)}  dataset ${champion.datasetId}  model ${where}${champion.modelPrefix}  report ${where}${champion.reportPrefix}`,
    );
  }
  if (result.champions.length === 0) lines.push(`champion: none${result.championNote ? ` (${result.championNote})` : ''}`);
  else if (result.championNote) lines.push(`  note: ${result.championNote}`);
  return lines.join('\n');
}

function note(row: ExecutionSummary): string {
  if (row.isChampion) return 'champion';
  if (row.error) return truncate(errorWithCause(row.error, row.cause), 100);
  return '';
}
