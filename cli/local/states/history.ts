import { ServiceError, type Operation } from '../cloud/control-plane.ts';
import type { IamAuthorizer } from '../cloud/iam.ts';
import type { Thread } from './threads.ts';

/**
 * An execution's history as GetExecutionHistory returns it, for code that reads it (the
 * stop-training function finds the Fargate tasks an execution started there). Built from
 * aws-local-stepfunctions' event log plus what the local integrations record themselves
 * (TaskSubmitted: the RunTask response of an ECS state), in AWS's event shapes: ids from 1,
 * previousEventId, `<Type>StateEntered` / `<Type>StateExited`, TaskSubmitted, TaskFailed and the
 * Execution* events; for a Map, MapStateStarted (mapStateStartedEventDetails.length),
 * MapIterationStarted / Succeeded / Failed / Aborted (mapIteration…EventDetails: the Map's name
 * and the iteration's index), the iterations' own state events, MapStateSucceeded or
 * MapStateFailed, then MapStateExited; for a Parallel, ParallelStateStarted / Succeeded / Failed
 * (AWS records no per-branch events). A nested event's previousEventId is the previous event of
 * its own iteration (the first: MapIterationStarted, whose own is the Map's latest event), so
 * concurrent iterations interleave in the list as they happened and still chain as in AWS.
 * Other AWS event types (TaskScheduled, LambdaFunction*, ...) are not produced.
 */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

interface LibraryEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  Error?: string;
  Cause?: unknown;
  input?: unknown;
  output?: unknown;
}

export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];
  /** Where events without a thread chain (the root's, before the hook knew threads). */
  readonly #rootLane = { lastEventId: 0 };
  #ended = false;

  constructor(
    readonly executionArn: string,
    readonly roleArn: string,
  ) {}

  #add(type: string, timestamp: number, details: Record<string, unknown> = {}, lane: { lastEventId: number } = this.#rootLane): void {
    // An execution's history ends with its Execution* terminal event (iterations aborted by it record nothing after).
    if (this.#ended) return;
    const id = this.events.length + 1;
    this.events.push({ id, previousEventId: lane.lastEventId, timestamp, type, ...details });
    lane.lastEventId = id;
  }

  /** Records an event of one thread of the execution (./threads.ts), in AWS's shape. */
  record(event: LibraryEvent, thread?: Thread): void {
    const json = (value: unknown) => JSON.stringify(value ?? null);
    const state = event.state;
    const lane = thread ?? this.#rootLane;
    const origin = thread?.origin;
    if (origin && event.type.startsWith('Execution')) return this.#iteration(event, thread!);
    switch (event.type) {
      case 'ExecutionStarted':
        return this.#add('ExecutionStarted', event.timestamp, { executionStartedEventDetails: { input: json(event.input), roleArn: this.roleArn } }, lane);
      case 'ExecutionSucceeded':
        this.#add('ExecutionSucceeded', event.timestamp, { executionSucceededEventDetails: { output: json(event.output) } }, lane);
        break;
      case 'ExecutionFailed':
        this.#add('ExecutionFailed', event.timestamp, { executionFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? '') } }, lane);
        break;
      case 'ExecutionAborted':
        this.#add('ExecutionAborted', event.timestamp, { executionAbortedEventDetails: {} }, lane);
        break;
      case 'ExecutionTimeout':
        this.#add('ExecutionTimedOut', event.timestamp, { executionTimedOutEventDetails: {} }, lane);
        break;
      case 'StateEntered':
        return this.#add(`${state!.type}StateEntered`, event.timestamp, { stateEnteredEventDetails: { name: state!.name, input: json(state!.input) } }, lane);
      case 'StateExited':
        if (thread?.fanOut && !thread.fanOut.failed) this.#add(`${state!.type}StateSucceeded`, event.timestamp, {}, lane);
        return this.#add(`${state!.type}StateExited`, event.timestamp, { stateExitedEventDetails: { name: state!.name, output: json(state!.output) } }, lane);
      case 'StateFailed':
        if (state?.type === 'Map' || state?.type === 'Parallel') return this.#add(`${state.type}StateFailed`, event.timestamp, {}, lane);
        if (state?.type !== 'Task') return;
        return this.#add('TaskFailed', event.timestamp, { taskFailedEventDetails: { error: event.Error, cause: String(event.Cause ?? '') } }, lane);
      default:
        return;
    }
    this.#ended = true;
  }

  /** MapStateStarted (with the number of items, when known) or ParallelStateStarted. */
  fanOutStarted(thread: Thread, type: 'Map' | 'Parallel', length: number | undefined): void {
    this.#add(`${type}StateStarted`, Date.now(), type === 'Map' ? { mapStateStartedEventDetails: length === undefined ? {} : { length } } : {}, thread);
  }

  /** A Map iteration's start and end (a Parallel branch has none in AWS). */
  #iteration(event: LibraryEvent, thread: Thread): void {
    const origin = thread.origin!;
    if (origin.type !== 'Map') return;
    const details = { name: origin.name, index: origin.index };
    const parent = thread.parent!;
    switch (event.type) {
      case 'ExecutionStarted':
        thread.lastEventId = parent.lastEventId;
        return this.#add('MapIterationStarted', event.timestamp, { mapIterationStartedEventDetails: details }, thread);
      case 'ExecutionSucceeded':
        this.#add('MapIterationSucceeded', event.timestamp, { mapIterationSucceededEventDetails: details }, thread);
        break;
      case 'ExecutionFailed':
        this.#add('MapIterationFailed', event.timestamp, { mapIterationFailedEventDetails: details }, thread);
        break;
      case 'ExecutionAborted':
        if (!thread.started) return;
        this.#add('MapIterationAborted', event.timestamp, { mapIterationAbortedEventDetails: details }, thread);
        break;
      default:
        return;
    }
    // The Map's own next event (MapStateSucceeded / MapStateFailed) follows its latest iteration's end.
    parent.lastEventId = thread.lastEventId;
  }

  /** What Step Functions records when a service integration's request was accepted (in the thread whose state made it). */
  taskSubmitted(resourceType: string, resource: string, output: unknown, thread?: Thread): void {
    this.#add('TaskSubmitted', Date.now(), { taskSubmittedEventDetails: { resourceType, resource, output: JSON.stringify(output) } }, thread ?? this.#rootLane);
  }
}

/** GetExecutionHistory over the executions of this local cloud. */
export function historyOperations(authorizer: IamAuthorizer, executions: () => ExecutionHistory[]): Record<string, Operation> {
  return {
    'AWSStepFunctions.GetExecutionHistory': async (caller, input) => {
      const executionArn = String(input.executionArn ?? '');
      await authorizer.authorize(caller, { action: 'states:GetExecutionHistory', resource: executionArn });
      const history = executions().find((candidate) => candidate.executionArn === executionArn);
      if (!history) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
      const maxResults = Math.min(Math.max(Number(input.maxResults ?? 100) || 100, 1), 1000);
      const events = input.reverseOrder === true ? [...history.events].reverse() : history.events;
      const start = input.nextToken === undefined ? 0 : Number(input.nextToken);
      if (!Number.isInteger(start) || start < 0 || start > events.length) throw new ServiceError('InvalidToken', 'Invalid Token');
      const page = events.slice(start, start + maxResults).map((event) => ({ ...event, timestamp: event.timestamp / 1000 }));
      const next = start + maxResults < events.length ? String(start + maxResults) : undefined;
      return { events: page, ...(next ? { nextToken: next } : {}) };
    },
  };
}
