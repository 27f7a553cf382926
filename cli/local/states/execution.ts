import '../polyfills.ts';
import { availableParallelism } from 'node:os';
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
import { type AslState, statesOf } from './asl.ts';
import { dataLimitExceeded, StatesError } from './errors.ts';
import { checkMaxConcurrencyPath, effectiveInputOf, itemCount } from './map-state.ts';
import type { ExecutionHistory } from './history.ts';
import { STATE_PAYLOAD_LIMIT_BYTES } from './integrations.ts';
import { INLINE_MAP_MAX_CONCURRENCY } from './localize.ts';
import type { JsonValue, TaskTokens } from './task-tokens.ts';
import { type ExecutionRuntime, type FanOut, installThreadHook, RUNTIME, Slots, type Thread } from './threads.ts';

/**
 * One execution of a (localized) definition with aws-local-stepfunctions, and the parts of Step
 * Functions the library leaves out that need to see every event as it happens, in every thread
 * of the execution (the root, each Map iteration, each Parallel branch: ./threads.ts):
 *
 * - the 256 KiB limit on every state's input and output (not only task results), nested states
 *   included: checked when the library records StateEntered/StateExited, failing the state's
 *   execution with States.DataLimitExceeded as AWS does (no Catch applies, so an iteration's
 *   failure fails its Map and the execution);
 * - the Context Object's `State` (Name, EnteredTime, RetryCount), per thread, and `Task.Token`;
 * - MaxConcurrencyPath resolving to anything but a non-negative integer: States.Runtime with the
 *   service's cause;
 * - how many iterations of a Map run at once: at most 40, as AWS's inline Map, and at most
 *   `mapConcurrency` (default: the machine's cores), a resource bound of this machine only;
 * - the execution history in AWS's shape (./history.ts), for GetExecutionHistory, and the event
 *   log (execution-events.json) with the Map's iterations.
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
  /** Iterations of one Map run at once at most (besides AWS's 40); default os.availableParallelism(). */
  mapConcurrency?: number;
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

export async function runExecution(request: ExecutionRequest): Promise<ExecutionOutcome> {
  const events: ExecutionEvent[] = [];
  installThreadHook();
  const runtime = new ExecutionObserver(request, events);

  // The definition was validated when it was synthesized and loaded; the localized copy holds
  // values asl-validator would refuse (fractional scaled timeouts), so it is not validated again.
  const machine = new StateMachine(request.definition as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });

  // RUNTIME: how the hook (./threads.ts) finds this execution; the library copies its run options into every nested run.
  const runOptions: RunOptions & { [RUNTIME]: ExecutionRuntime } = {
    [RUNTIME]: runtime,
    overrides: { taskResourceLocalHandlers: request.handlers as never, retryIntervalOverrides: request.retryIntervalOverrides },
    context: {
      Execution: { Id: request.executionArn, Name: request.executionName, RoleArn: request.stateMachine.roleArn },
      StateMachine: { Id: request.stateMachine.arn, Name: request.stateMachine.name },
      // State: per thread, set by the hook (./threads.ts).
      Task: request.tokens.contextTask(),
    } as never,
  };

  const execution = machine.run(request.input as never, runOptions);
  const onAbort = () => execution.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  if (request.signal?.aborted) execution.abort();
  // The library's own event stream must be drained, or it holds every event in memory (the
  // nested runs' streams are drained by the library's own forwarding loops).
  const drained = (async () => {
    for await (const _event of execution.eventLogs) {
      // observed synchronously, thread by thread (ExecutionObserver)
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

/** What the execution does with each thread's events (see the module comment). */
class ExecutionObserver implements ExecutionRuntime {
  readonly #states: Map<string, AslState>;
  readonly #mapConcurrency: number;

  constructor(
    readonly request: ExecutionRequest,
    readonly events: ExecutionEvent[],
  ) {
    this.#states = new Map(statesOf(request.definition).map(({ name, state }) => [name, state]));
    this.#mapConcurrency = request.mapConcurrency ?? availableParallelism();
  }

  slotsFor(fanOut: FanOut): Slots | undefined {
    if (fanOut.type !== 'Map') return undefined;
    fanOut.slots ??= new Slots(Math.min(INLINE_MAP_MAX_CONCURRENCY, this.#mapConcurrency));
    return fanOut.slots;
  }

  observe(thread: Thread, event: ExecutionEvent): void {
    const logged = loggedEvent(thread, event);
    if (logged) {
      this.events.push(logged);
      this.request.onEvent?.(logged);
    }
    const { history } = this.request;
    history.record(event, thread);
    const name = event.state?.name ?? '';
    if (event.type === 'StateEntered' || (event.type === 'StateRetried' && thread.fanOut)) {
      const definition = this.#states.get(name) ?? {};
      if (event.type === 'StateEntered') checkSize(name, 'input', event.state?.input);
      if (thread.fanOut) {
        const effectiveInput = effectiveInputOf(definition, thread.current.input);
        if (thread.fanOut.type === 'Map') checkMaxConcurrencyPath(definition, effectiveInput);
        history.fanOutStarted(thread, thread.fanOut.type, thread.fanOut.type === 'Map' ? itemCount(definition, effectiveInput) : undefined);
      }
    } else if (event.type === 'StateExited') {
      checkSize(name, 'output', event.state?.output);
    } else if ((event.type === 'ExecutionAborted' || event.type === 'ExecutionFailed') && thread.origin) {
      // An aborted iteration's waiting states are over: their tokens answer TaskTimedOut from now on.
      for (const token of thread.tokens) this.request.tokens.close(token, new StatesError('States.Runtime', `iteration ${thread.origin.index} of ${thread.origin.name} ended`));
    }
  }
}

/**
 * The event as execution-events.json and the progress display show it: a root thread's as the
 * library logs it; a nested thread's with its `index` and `parentState` (the library's shape for
 * iterations), its start and end as MapIteration* / ParallelBranch* events.
 */
function loggedEvent(thread: Thread, event: ExecutionEvent): ExecutionEvent | undefined {
  const origin = thread.origin;
  if (!origin) return event;
  const where = { index: origin.index, parentState: { type: origin.type, name: origin.name } };
  const unit = origin.type === 'Map' ? 'MapIteration' : 'ParallelBranch';
  switch (event.type) {
    case 'ExecutionStarted':
      return { ...event, type: `${unit}Started`, ...where };
    case 'ExecutionSucceeded':
      return { ...event, type: `${unit}Succeeded`, ...where };
    case 'ExecutionFailed':
      return { ...event, type: `${unit}Failed`, ...where };
    case 'ExecutionAborted':
      return thread.started ? { ...event, type: `${unit}Aborted`, ...where } : undefined;
    case 'ExecutionTimeout':
      return undefined;
    default:
      return { ...event, ...where };
  }
}

function checkSize(stateName: string, what: 'input' | 'output', value: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
  if (bytes > STATE_PAYLOAD_LIMIT_BYTES) {
    throw dataLimitExceeded(`the ${what} of state ${stateName} is ${bytes} bytes, over the ${STATE_PAYLOAD_LIMIT_BYTES}-byte limit of Step Functions`);
  }
}
