import { AsyncLocalStorage } from 'node:async_hooks';
import { StateMachine } from 'aws-local-stepfunctions';
import type { ExecutionEvent } from '../progress.ts';

/**
 * The executions aws-local-stepfunctions runs inside one of ours: the root, and one for each
 * Map iteration and Parallel branch (the library starts a fresh StateMachine for each, with the
 * root's run options). Each is a thread here, with what Step Functions keeps per iteration:
 *
 * - its own `$$.State` (Name, EnteredTime, RetryCount), tracked from its own event log, which
 *   the library writes synchronously as its states start: concurrent iterations never see each
 *   other's. (The library forwards nested events to the root's log only asynchronously, one
 *   `for await` per iteration, too late for the state that is running; that forwarding is
 *   switched off and every thread's events are observed at the source instead, in order.)
 * - its place: the Map or Parallel state that started it and its index (iterations start in
 *   item order: the library queues them with p-limit, first in first out);
 * - admission: a Map's iterations wait for one of its slots (see ExecutionRuntime.slotsFor);
 * - the asynchronous context its Task handlers run in (`currentThread()`), so that a handler
 *   knows which iteration it serves.
 *
 * The hook is on StateMachine.prototype.execute, the library's internal method every run goes
 * through (pinned version 3.0.0; the Map tests fail if it stops seeing nested runs). It acts only
 * on runs whose options carry RUNTIME, so other users of the library are untouched.
 */
export interface Thread {
  readonly parent?: Thread;
  /** Where it runs: the Map (iteration index) or Parallel (branch number) state of its parent. */
  readonly origin?: { type: 'Map' | 'Parallel'; name: string; index: number };
  /** `$$.State` of the state it is running. */
  readonly current: { name: string; type: string; enteredTime: string; retryCount: number; input?: unknown };
  /** The Map or Parallel state it is running now, whose iterations or branches are its children. */
  fanOut?: FanOut;
  /** Whether its execution began (an iteration queued behind the concurrency bound has not). */
  started: boolean;
  /** Task tokens its states took (closed if it is aborted). */
  readonly tokens: Set<string>;
  /** The id of its latest history event (previousEventId of its next). */
  lastEventId: number;
}

export interface FanOut {
  type: 'Map' | 'Parallel';
  name: string;
  /** Children begun so far: the next one's index. */
  begun: number;
  /** Limits how many children run at once (Map only). */
  slots?: Slots;
  failed: boolean;
}

export interface ExecutionRuntime {
  /** A thread's own events, as the library dispatches them (synchronously). May throw: the thread's state then fails. */
  observe(thread: Thread, event: ExecutionEvent): void;
  /** The concurrency bound of one run of a Map state (undefined: none beyond the library's). */
  slotsFor(fanOut: FanOut): Slots | undefined;
}

/** Run options key under which runExecution hands its runtime to the hook. */
export const RUNTIME = Symbol('fmnist.local.runtime');
const PARENT = Symbol('fmnist.local.parentThread');

const threads = new AsyncLocalStorage<Thread>();

/** The thread whose state is running (in a Task handler: the iteration it serves). */
export function currentThread(): Thread | undefined {
  return threads.getStore();
}

/** A counting semaphore, first come first served. */
export class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly size: number) {
    this.#free = size;
  }
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

interface Logger {
  dispatch(event: ExecutionEvent): void;
  forwardNestedMapEvent(...args: unknown[]): void;
  forwardNestedParallelEvent(...args: unknown[]): void;
  isLoggerClosed: boolean;
}
interface ExecuteOptions {
  runOptions?: Record<string | symbol, unknown> & { context?: Record<string, unknown> };
  eventLogger: Logger;
  abortSignal: AbortSignal;
}
type Execute = (this: unknown, input: unknown, options: ExecuteOptions, cleanup: () => void) => Promise<unknown>;

let installed = false;

/** Installs the hook (once per process). */
export function installThreadHook(): void {
  if (installed) return;
  installed = true;
  const prototype = StateMachine.prototype as unknown as { execute: Execute };
  const original = prototype.execute;
  prototype.execute = function (input, options, cleanup) {
    const runtime = options.runOptions?.[RUNTIME] as ExecutionRuntime | undefined;
    if (!runtime) return original.call(this, input, options, cleanup);
    const parent = options.runOptions![PARENT] as Thread | undefined;
    const thread = newThread(parent);
    const current = thread.current;
    options.runOptions = {
      ...options.runOptions,
      [PARENT]: thread,
      context: {
        ...options.runOptions!.context,
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
      },
    };
    const logger = options.eventLogger;
    const dispatch = logger.dispatch.bind(logger);
    logger.dispatch = (event) => {
      // A closed log (the thread ended or was aborted) drops events; so does the observer.
      if (logger.isLoggerClosed) return;
      dispatch(event);
      trackState(thread, event);
      runtime.observe(thread, event);
    };
    logger.forwardNestedMapEvent = () => {};
    logger.forwardNestedParallelEvent = () => {};
    const start = () => {
      thread.started = true;
      return threads.run(thread, () => original.call(this, input, options, cleanup));
    };
    const slots = parent?.fanOut && runtime.slotsFor(parent.fanOut);
    if (!slots) return start();
    return slots.acquire().then((release) => {
      // Aborted while queued (the Map failed): it never starts, as in AWS.
      if (options.abortSignal.aborted) {
        release();
        cleanup();
        return null;
      }
      return start().finally(release);
    });
  };
}

function newThread(parent: Thread | undefined): Thread {
  const fanOut = parent?.fanOut;
  const origin = fanOut ? { type: fanOut.type, name: fanOut.name, index: fanOut.begun++ } : undefined;
  return {
    parent,
    origin,
    current: { name: '', type: '', enteredTime: new Date().toISOString(), retryCount: 0 },
    started: false,
    tokens: new Set(),
    lastEventId: parent?.lastEventId ?? 0,
  };
}

/** `$$.State` and the fan-out of Map and Parallel states, from the thread's own events. */
function trackState(thread: Thread, event: ExecutionEvent): void {
  const state = event.state;
  if (!state) return;
  if (event.type === 'StateEntered') {
    Object.assign(thread.current, { name: state.name, type: state.type, enteredTime: new Date(event.timestamp).toISOString(), retryCount: 0, input: state.input });
    thread.fanOut = state.type === 'Map' || state.type === 'Parallel' ? { type: state.type, name: state.name, begun: 0, failed: false } : undefined;
  } else if (event.type === 'StateRetried') {
    thread.current.retryCount++;
    // A retried Map or Parallel starts its iterations or branches again, from index 0.
    if (thread.fanOut) thread.fanOut = { ...thread.fanOut, begun: 0, slots: undefined, failed: false };
  } else if (event.type === 'StateFailed' && thread.fanOut) {
    thread.fanOut.failed = true;
  }
}
