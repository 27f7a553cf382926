import '../polyfills.ts';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import type { AslDefinition } from '../cloud/model.ts';
import type { ExecutionEvent } from '../progress.ts';
import { dataLimitExceeded } from './errors.ts';
import type { ExecutionHistory } from './history.ts';
import { STATE_PAYLOAD_LIMIT_BYTES } from './integrations.ts';
import type { JsonValue, TaskTokens } from './task-tokens.ts';

/**
 * One execution of a (localized) definition with aws-local-stepfunctions, and the parts of Step
 * Functions the library leaves out that need to see every event as it happens:
 *
 * - the 256 KiB limit on every state's input and output (not only task results): checked when
 *   the library records StateEntered/StateExited, failing the execution with
 *   States.DataLimitExceeded as AWS does (no Catch applies);
 * - the Context Object's `State` (Name, EnteredTime, RetryCount) and `Task.Token`;
 * - the execution history in AWS's shape (./history.ts), for GetExecutionHistory.
 *
 * The hook sits on the event logger the library passes to StateMachine#execute, the one place
 * every event goes through synchronously. That method is the library's, not a documented API;
 * the version is pinned (3.0.0) and the data-limit tests fail if the hook stops seeing events.
 */
export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
export type { ExecutionEvent };

export interface ExecutionRequest {
  definition: AslDefinition;
  input: JsonValue;
  handlers: Record<string, (input: JsonValue) => Promise<JsonValue>>;
  executionArn: string;
  executionName: string;
  stateMachine: { arn: string; name: string; roleArn: string };
  tokens: TaskTokens;
  history: ExecutionHistory;
  retryIntervalOverrides?: Record<string, number[]>;
  signal?: AbortSignal;
  onEvent?: (event: ExecutionEvent) => void;
}

export interface ExecutionOutcome {
  status: ExecutionStatus;
  output?: unknown;
  error?: string;
  cause?: string;
  events: ExecutionEvent[];
}

interface EventLogger {
  dispatch(event: ExecutionEvent): void;
}

export async function runExecution(request: ExecutionRequest): Promise<ExecutionOutcome> {
  const events: ExecutionEvent[] = [];
  const current = { name: '', enteredTime: new Date().toISOString(), retryCount: 0 };
  const observe = (event: ExecutionEvent) => {
    events.push(event);
    request.history.record(event);
    request.onEvent?.(event);
    const name = event.state?.name ?? '';
    if (event.type === 'StateEntered') {
      Object.assign(current, { name, enteredTime: new Date(event.timestamp).toISOString(), retryCount: 0 });
      checkSize(name, 'input', event.state?.input);
    } else if (event.type === 'StateExited') {
      checkSize(name, 'output', event.state?.output);
    } else if (event.type === 'StateRetried') {
      current.retryCount++;
    }
  };

  // The definition was validated when it was synthesized and loaded; the localized copy holds
  // values asl-validator would refuse (fractional scaled timeouts), so it is not validated again.
  const machine = new StateMachine(request.definition as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });
  const hookable = machine as unknown as { execute: (input: unknown, options: { eventLogger: EventLogger }, cleanup: unknown) => Promise<unknown> };
  const execute = hookable.execute.bind(machine);
  hookable.execute = (input, options, cleanup) => {
    const logger = options.eventLogger;
    const dispatch = logger.dispatch.bind(logger);
    logger.dispatch = (event) => {
      dispatch(event);
      observe(event);
    };
    return execute(input, options, cleanup);
  };

  const runOptions: RunOptions = {
    overrides: { taskResourceLocalHandlers: request.handlers as never, retryIntervalOverrides: request.retryIntervalOverrides },
    context: {
      Execution: { Id: request.executionArn, Name: request.executionName, RoleArn: request.stateMachine.roleArn },
      StateMachine: { Id: request.stateMachine.arn, Name: request.stateMachine.name },
      State: {
        get Name() {
          return current.name;
        },
        get EnteredTime() {
          return current.enteredTime;
        },
        get RetryCount() {
          return current.retryCount;
        },
      },
      Task: request.tokens.contextTask(),
    } as never,
  };

  const execution = machine.run(request.input as never, runOptions);
  const onAbort = () => execution.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  if (request.signal?.aborted) execution.abort();
  // The library's own event stream must be drained, or it holds every event in memory.
  const drained = (async () => {
    for await (const _event of execution.eventLogs) {
      // observed synchronously above
    }
  })();

  let status: ExecutionStatus = 'SUCCEEDED';
  let output: unknown;
  try {
    output = await execution.result;
  } catch (failure) {
    if (failure instanceof ExecutionError) status = 'FAILED';
    else if (failure instanceof ExecutionTimeoutError) status = 'TIMED_OUT';
    else if (failure instanceof ExecutionAbortedError) status = 'ABORTED';
    else throw failure;
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
    request.tokens.closeAll();
  }
  await drained;
  if (status === 'SUCCEEDED') return { status, output, events };
  const failed = events.find((event) => event.type === 'ExecutionFailed');
  return {
    status,
    events,
    error: failed?.Error ?? (status === 'TIMED_OUT' ? 'States.Timeout' : 'ExecutionAborted'),
    cause: failed ? (typeof failed.Cause === 'string' ? failed.Cause : JSON.stringify(failed.Cause)) : undefined,
  };
}

function checkSize(stateName: string, what: 'input' | 'output', value: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
  if (bytes > STATE_PAYLOAD_LIMIT_BYTES) {
    throw dataLimitExceeded(`the ${what} of state ${stateName} is ${bytes} bytes, over the ${STATE_PAYLOAD_LIMIT_BYTES}-byte limit of Step Functions`);
  }
}
