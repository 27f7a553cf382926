import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type ExecutionStatus,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { awsCall, explainAwsError } from './clients.ts';
import { errorWithCause, formatClock, formatDuration, readableCause, truncate } from './format.ts';

export interface FollowOptions {
  sfn: SFNClient;
  executionArn: string;
  /** One line of progress. */
  write: (line: string) => void;
  sleep: (ms: number) => Promise<void>;
  /** First poll interval, and the interval after new events (default 2 s). */
  minIntervalMs?: number;
  /** The interval grows ×1.5 while nothing happens, up to this (default 15 s). */
  maxIntervalMs?: number;
  /** Consecutive transient GetExecutionHistory failures tolerated (default 8). */
  maxConsecutiveErrors?: number;
  /**
   * Follow only the events after this one (a redriven execution: its history keeps the events of
   * the failed attempt, ending in the old ExecutionFailed). Default: from the start.
   */
  afterEventId?: number;
}

export interface FollowResult {
  status: ExecutionStatus;
  startDate?: Date;
  stopDate?: Date;
  /** The execution's output document (SUCCEEDED). */
  output?: unknown;
  error?: string;
  cause?: string;
}

const TERMINAL_EVENTS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

const TRANSIENT = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNREFUSED',
  'EAI_AGAIN',
]);

export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const fault = (error as { $fault?: string }).$fault;
  const code = (error as { code?: string }).code;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return TRANSIENT.has(error.name) || (code !== undefined && TRANSIENT.has(code)) || fault === 'server' || status === 429;
}

/**
 * Follows an execution state by state until it ends: polls GetExecutionHistory (newest first,
 * only the events not seen yet) with backoff, prints every state entered and exited with the
 * time since the start, failed attempts and retries, and the execution's failure. Then reads the
 * final status and output with DescribeExecution.
 */
export async function followExecution(options: FollowOptions): Promise<FollowResult> {
  const { sfn, executionArn, write, sleep } = options;
  const minInterval = options.minIntervalMs ?? 2000;
  const maxInterval = options.maxIntervalMs ?? 15000;
  const maxErrors = options.maxConsecutiveErrors ?? 8;
  const printer = new HistoryPrinter(write);
  let lastId = options.afterEventId ?? 0;
  let interval = minInterval;
  let errors = 0;
  let ended = false;
  while (!ended) {
    let events: HistoryEvent[];
    try {
      events = await newEvents(sfn, executionArn, lastId);
      errors = 0;
    } catch (error) {
      if (!isTransientAwsError(error) || ++errors > maxErrors) throw explainAwsError(error, `following ${executionArn}`);
      const wait = Math.min(maxInterval * 2, minInterval * 2 ** errors);
      write(`  (GetExecutionHistory: ${(error as Error).name}; retrying in ${formatDuration(wait)})`);
      await sleep(wait);
      continue;
    }
    for (const event of events) {
      printer.print(event);
      lastId = Math.max(lastId, event.id ?? 0);
      if (TERMINAL_EVENTS.has(event.type ?? '')) ended = true;
    }
    if (ended) break;
    interval = events.length > 0 ? minInterval : Math.min(maxInterval, Math.round(interval * 1.5));
    await sleep(interval);
  }
  const described = await awsCall(`describing ${executionArn}`, () =>
    sfn.send(new DescribeExecutionCommand({ executionArn })),
  );
  let output: unknown;
  if (described.output) {
    try {
      output = JSON.parse(described.output);
    } catch {
      output = described.output;
    }
  }
  return {
    status: described.status ?? 'FAILED',
    startDate: described.startDate,
    stopDate: described.stopDate,
    output,
    error: described.error ?? printer.failure?.error,
    cause: described.cause ?? printer.failure?.cause,
  };
}

/** The events after `afterId`, oldest first: pages newest-first until it reaches seen ones. */
async function newEvents(sfn: SFNClient, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, nextToken }),
    );
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= afterId) return oldestFirst(fresh);
      fresh.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return oldestFirst(fresh);
}

function oldestFirst(events: HistoryEvent[]): HistoryEvent[] {
  return events.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

interface Failure {
  error?: string;
  cause?: string;
}

/** Step Functions history events as one line each. Single-branch workflows (no Map/Parallel). */
export class HistoryPrinter {
  private startedAt?: number;
  private state?: { name: string; enteredAt: number; attempts: number; failed?: Failure };
  /** The execution's failure, when it failed. */
  failure?: Failure;

  constructor(private readonly write: (line: string) => void) {}

  print(event: HistoryEvent): void {
    const at = event.timestamp?.getTime() ?? Date.now();
    this.startedAt ??= at;
    const clock = `[${formatClock(at - this.startedAt).padStart(5)}]`;
    const line = (text: string) => this.write(`${clock} ${text}`);
    const type = event.type ?? '';
    if (type === 'ExecutionStarted') {
      line('execution started');
    } else if (type === 'ExecutionRedriven') {
      line(`execution redriven (redrive ${event.executionRedrivenEventDetails?.redriveCount ?? '?'}): from the failed state on`);
    } else if (type.endsWith('StateEntered')) {
      const name = event.stateEnteredEventDetails?.name ?? '?';
      this.state = { name, enteredAt: at, attempts: 0 };
      line(`▶ ${name}`);
    } else if (type.endsWith('StateExited')) {
      const name = event.stateExitedEventDetails?.name ?? this.state?.name ?? '?';
      const took = this.state && this.state.name === name ? ` ${formatDuration(at - this.state.enteredAt)}` : '';
      if (this.state?.failed) line(`✗ ${name}${took} (failed; caught)`);
      else line(`✓ ${name}${took}`);
      this.state = undefined;
    } else if (type === 'TaskScheduled' || type === 'LambdaFunctionScheduled' || type === 'ActivityScheduled') {
      if (this.state) {
        this.state.attempts += 1;
        if (this.state.attempts > 1) line(`  ↻ ${this.state.name}: retry ${this.state.attempts - 1}`);
        this.state.failed = undefined;
      }
    } else if (type === 'TaskSubmitted' && event.taskSubmittedEventDetails?.resourceType === 'ecs') {
      line(`  ${this.state?.name ?? 'task'}: Fargate task started, waiting for it to report back`);
    } else if (type === 'TaskSucceeded' || type === 'LambdaFunctionSucceeded' || type === 'ActivitySucceeded') {
      if (this.state) this.state.failed = undefined;
    } else if (isAttemptFailure(type)) {
      const failure = failureOf(event);
      if (this.state) this.state.failed = failure;
      const cause = readableCause(failure.cause);
      line(`  ! ${this.state?.name ?? 'task'}: ${describeFailure(type, failure.error, cause, 400)}`);
    } else if (type === 'ExecutionSucceeded') {
      line(`SUCCEEDED in ${formatDuration(at - this.startedAt)}`);
    } else if (type === 'ExecutionFailed' || type === 'ExecutionTimedOut' || type === 'ExecutionAborted') {
      const failure = failureOf(event);
      this.failure = failure;
      const status = { ExecutionFailed: 'FAILED', ExecutionTimedOut: 'TIMED_OUT', ExecutionAborted: 'ABORTED' }[type];
      line(`${status} after ${formatDuration(at - this.startedAt)}${failure.error ? `: ${failure.error}` : ''}`);
      const cause = readableCause(failure.cause);
      if (cause) this.write(`        cause: ${cause}`);
    }
  }
}

function isAttemptFailure(type: string): boolean {
  return /^(Task|LambdaFunction|Activity)(Failed|TimedOut|StartFailed|ScheduleFailed|SubmitFailed)$/.test(type);
}

function describeFailure(type: string, error: string | undefined, cause: string | undefined, max: number): string {
  return truncate(errorWithCause(error ?? type, cause), max);
}

function failureOf(event: HistoryEvent): Failure {
  const details =
    event.taskFailedEventDetails ??
    event.taskTimedOutEventDetails ??
    event.taskStartFailedEventDetails ??
    event.taskSubmitFailedEventDetails ??
    event.lambdaFunctionFailedEventDetails ??
    event.lambdaFunctionTimedOutEventDetails ??
    event.lambdaFunctionStartFailedEventDetails ??
    event.lambdaFunctionScheduleFailedEventDetails ??
    event.activityFailedEventDetails ??
    event.activityTimedOutEventDetails ??
    event.executionFailedEventDetails ??
    event.executionTimedOutEventDetails ??
    event.executionAbortedEventDetails;
  return { error: details?.error, cause: details?.cause };
}
